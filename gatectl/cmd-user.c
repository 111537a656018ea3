/*
 * gatectl user: add, del, disable, enable, list.
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
#include "when.h"

#define USAGE "user add NAME [--admin] | user del|disable|enable NAME | " \
	"user list [--json]"

static int
list(struct ctx *c, int json)
{
	struct user_row *u = NULL;
	struct table *t;
	char nk[16], when[WHEN_ISO_LEN];
	size_t n, i;

	if (ctx_store(c) == NULL || store_user_list(c->st, &u, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "name", u[i].name);
			json_kv_bool(stdout, 0, "admin", u[i].is_admin);
			json_kv_bool(stdout, 0, "disabled", u[i].disabled);
			json_kv_int(stdout, 0, "keys", u[i].nkeys);
			json_kv_time(stdout, 0, "created", u[i].created);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(u);
		return 0;
	}
	if ((t = table_new((const char *[]){ "NAME", "ADMIN", "STATE", "KEYS",
	    "CREATED", NULL })) == NULL) {
		free(u);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(nk, sizeof(nk), "%d", u[i].nkeys);
		if (table_row(t, (const char *[]){ u[i].name,
		    u[i].is_admin ? "yes" : "no",
		    u[i].disabled ? "disabled" : "enabled", nk,
		    when_iso(u[i].created, when) }) == -1)
			break;
	}
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(u);
	return i == n ? 0 : -1;
}

int
cmd_user(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "admin", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	const char *sub;
	int ch, admin = 0, json;

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
	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch != 'a' || strcmp(sub, "add") != 0)
			return usage_err(USAGE);
		admin = 1;
	}
	if (argc - optind != 1)
		return usage_err(USAGE);
	if (name_check("user name", argv[optind]) == -1 || ctx_store(c) == NULL)
		return -1;
	if (strcmp(sub, "add") == 0) {
		if (store_user_add(c->st, argv[optind], admin) == -1)
			return -1;
		printf("added user %s%s\n", argv[optind], admin ? " (admin)" : "");
	} else if (strcmp(sub, "del") == 0) {
		if (store_user_del(c->st, argv[optind]) == -1)
			return -1;
		printf("deleted user %s with its keys, memberships and grants\n",
		    argv[optind]);
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		if (store_user_set(c->st, argv[optind], "disabled",
		    sub[0] == 'd') == -1)
			return -1;
		printf("%sd user %s\n", sub, argv[optind]);
	} else {
		return usage_err(USAGE);
	}
	return 0;
}
