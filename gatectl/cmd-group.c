/*
 * gatectl group: groups of users and groups of hosts. One name space for
 * both; a group's kind is fixed when it is made (--hosts for hosts).
 * Grants name them with a leading '@'.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gatectl.h"
#include "json.h"
#include "name.h"
#include "table.h"

#define USAGE "group add NAME [--hosts] | group del NAME | group list " \
	"[--json] | group show NAME | group member add|del GROUP NAME..."

static int
list(struct ctx *c, int json)
{
	struct group_row *g = NULL;
	struct table *t;
	char nm[16];
	size_t n, i;

	if (ctx_store(c) == NULL || store_group_list(c->st, &g, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "name", g[i].name);
			json_kv_str(stdout, 0, "kind", g[i].is_host ? "hosts" :
			    "users");
			json_kv_int(stdout, 0, "members", g[i].nmembers);
			json_kv_time(stdout, 0, "created", g[i].created);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(g);
		return 0;
	}
	if ((t = table_new((const char *[]){ "NAME", "KIND", "MEMBERS",
	    NULL })) == NULL) {
		free(g);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(nm, sizeof(nm), "%d", g[i].nmembers);
		if (table_row(t, (const char *[]){ g[i].name, g[i].is_host ?
		    "hosts" : "users", nm }) == -1)
			break;
	}
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(g);
	return i == n ? 0 : -1;
}

static int
show(struct ctx *c, const char *name)
{
	char (*m)[NAME_MAX_LEN + 1] = NULL;
	size_t n, i;

	if (name_check("group name", name) == -1 || ctx_store(c) == NULL ||
	    store_group_members(c->st, name, &m, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		printf("%s\n", m[i]);
	free(m);
	return 0;
}

/* All members change or none: one transaction. */
static int
members(struct ctx *c, int argc, char *argv[])
{
	int add, i;

	if (argc < 4 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "del") != 0))
		return usage_err(USAGE);
	add = strcmp(argv[1], "add") == 0;
	if (name_check("group name", argv[2]) == -1)
		return -1;
	for (i = 3; i < argc; i++)
		if (name_check("member name", argv[i]) == -1)
			return -1;
	if (ctx_store(c) == NULL || store_begin(c->st) == -1)
		return -1;
	for (i = 3; i < argc; i++)
		if ((add ? store_group_member_add : store_group_member_del)(c->st,
		    argv[2], argv[i]) == -1)
			return -1;	/* main rolls back */
	if (store_commit(c->st) == -1)
		return -1;
	printf("%s %d member%s %s %s\n", add ? "added" : "removed", argc - 3,
	    argc - 3 == 1 ? "" : "s", add ? "to" : "from", argv[2]);
	return 0;
}

int
cmd_group(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "hosts", no_argument, NULL, 'H' }, { NULL, 0, NULL, 0 } };
	const char *sub;
	int ch, hosts = 0, json;

	if (argc < 2)
		return usage_err(USAGE);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "list") == 0) {
		if (opt_json_only(argc, argv, USAGE, &json) == -1 ||
		    optind != argc)
			return usage_err(USAGE);
		return list(c, json);
	}
	if (strcmp(sub, "member") == 0)
		return members(c, argc, argv);
	if (strcmp(sub, "show") == 0)
		return argc == 2 ? show(c, argv[1]) : usage_err(USAGE);
	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch != 'H' || strcmp(sub, "add") != 0)
			return usage_err(USAGE);
		hosts = 1;
	}
	if (argc - optind != 1)
		return usage_err(USAGE);
	if (name_check("group name", argv[optind]) == -1 || ctx_store(c) == NULL)
		return -1;
	if (strcmp(sub, "add") == 0) {
		if (store_group_add(c->st, argv[optind], hosts) == -1)
			return -1;
		printf("added group of %s %s\n", hosts ? "hosts" : "users",
		    argv[optind]);
	} else if (strcmp(sub, "del") == 0) {
		if (store_group_del(c->st, argv[optind]) == -1)
			return -1;
		printf("deleted group %s with its grants\n", argv[optind]);
	} else {
		return usage_err(USAGE);
	}
	return 0;
}
