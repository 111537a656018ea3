/*
 * gatectl host: add, del, list. Host names and addresses are checked here
 * so that nothing that looks like an ssh option is ever stored (THREATS
 * row 4).
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

#define USAGE "host add NAME ADDRESS [--port N] [--login LOGIN] | " \
	"host del NAME | host list [--json]"

static int
add(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "login", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 } };
	const char *login = "";
	long long port = 22;
	int ch;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'p') {
			if (name_parse_uint("port", optarg, 1, 65535, &port) == -1)
				return -1;
		} else if (ch == 'l') {
			if (name_check_login(optarg) == -1)
				return -1;
			login = optarg;
		} else {
			return usage_err(USAGE);
		}
	}
	if (argc - optind != 2)
		return usage_err(USAGE);
	if (name_check("host name", argv[optind]) == -1 ||
	    name_check_address(argv[optind + 1]) == -1 || ctx_store(c) == NULL ||
	    store_host_add(c->st, argv[optind], argv[optind + 1], (int)port,
	    login) == -1)
		return -1;
	printf("added host %s (%s port %lld%s%s)\n", argv[optind],
	    argv[optind + 1], port, *login ? ", default login " : "", login);
	return 0;
}

static int
list(struct ctx *c, int argc, char *argv[])
{
	struct host_row *h = NULL;
	struct table *t;
	char port[8];
	size_t n, i;
	int json;

	if (opt_json_only(argc, argv, USAGE, &json) == -1)
		return -1;
	if (optind != argc)
		return usage_err(USAGE);
	if (ctx_store(c) == NULL || store_host_list(c->st, &h, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "name", h[i].name);
			json_kv_str(stdout, 0, "address", h[i].address);
			json_kv_int(stdout, 0, "port", h[i].port);
			json_kv_str(stdout, 0, "login", h[i].login);
			json_kv_time(stdout, 0, "created", h[i].created);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(h);
		return 0;
	}
	if ((t = table_new((const char *[]){ "NAME", "ADDRESS", "PORT",
	    "DEFAULT LOGIN", NULL })) == NULL) {
		free(h);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(port, sizeof(port), "%d", h[i].port);
		if (table_row(t, (const char *[]){ h[i].name, h[i].address, port,
		    h[i].login[0] ? h[i].login : "-" }) == -1)
			break;
	}
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(h);
	return i == n ? 0 : -1;
}

int
cmd_host(struct ctx *c, int argc, char *argv[])
{
	const char *sub;

	if (argc < 2)
		return usage_err(USAGE);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0)
		return add(c, argc, argv);
	if (strcmp(sub, "list") == 0)
		return list(c, argc, argv);
	if (strcmp(sub, "del") != 0 || argc != 2)
		return usage_err(USAGE);
	if (name_check("host name", argv[1]) == -1 || ctx_store(c) == NULL ||
	    store_host_del(c->st, argv[1]) == -1)
		return -1;
	printf("deleted host %s with its memberships and grants\n", argv[1]);
	return 0;
}
