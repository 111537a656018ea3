/*
 * gatectl grant, revoke, grants, access. Access is deny by default: a user
 * reaches a host with a login only through an unexpired grant, given to
 * the user or to one of their groups, for that host or one of its groups.
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

#define GRANT_USAGE "grant USER|@GROUP HOST|@HOSTGROUP [--login LOGIN]... " \
	"[--until DATE]"
#define REVOKE_USAGE "revoke USER|@GROUP HOST|@HOSTGROUP [--login LOGIN]"
#define MAX_LOGINS 16

static int
check_ref(const char *what, const char *ref)
{
	return name_check(what, ref[0] == '@' ? ref + 1 : ref);
}

int
cmd_grant(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "login", required_argument, NULL, 'l' },
		{ "until", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 } };
	const char *logins[MAX_LOGINS];
	time_t until = 0;
	char when[WHEN_ISO_LEN];
	int ch, nl = 0, i;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'l') {
			if (name_check_login(optarg) == -1)
				return -1;
			if (nl == MAX_LOGINS)
				return err_set(ERR_USAGE, "at most %d --login "
				    "options", MAX_LOGINS);
			logins[nl++] = optarg;
		} else if (ch == 'u') {
			if (parse_future(optarg, &until) == -1)
				return -1;
		} else {
			return usage_err(GRANT_USAGE);
		}
	}
	if (argc - optind != 2)
		return usage_err(GRANT_USAGE);
	if (check_ref("user or group", argv[optind]) == -1 ||
	    check_ref("host or group", argv[optind + 1]) == -1)
		return -1;
	if (nl == 0)
		logins[nl++] = "";	/* the host's default login */
	if (ctx_store(c) == NULL || store_begin(c->st) == -1)
		return -1;
	for (i = 0; i < nl; i++)
		if (store_grant_add(c->st, argv[optind], argv[optind + 1],
		    logins[i], until) == -1)
			return -1;
	if (store_commit(c->st) == -1)
		return -1;
	for (i = 0; i < nl; i++)
		printf("granted %s access to %s as %s%s%s\n", argv[optind],
		    argv[optind + 1], *logins[i] ? logins[i] : "the default login",
		    until ? " until " : "", until ? when_iso(until, when) : "");
	return 0;
}

int
cmd_revoke(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "login", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 } };
	const char *login = NULL;
	int ch;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch != 'l' || login)
			return usage_err(REVOKE_USAGE);
		if (name_check_login(optarg) == -1)
			return -1;
		login = optarg;
	}
	if (argc - optind != 2)
		return usage_err(REVOKE_USAGE);
	if (check_ref("user or group", argv[optind]) == -1 ||
	    check_ref("host or group", argv[optind + 1]) == -1 ||
	    ctx_store(c) == NULL ||
	    store_grant_del(c->st, argv[optind], argv[optind + 1], login) == -1)
		return -1;
	printf("revoked %s access to %s%s%s\n", argv[optind], argv[optind + 1],
	    login ? " as " : "", login ? login : "");
	return 0;
}

int
cmd_grants(struct ctx *c, int argc, char *argv[])
{
	struct grant_row *g = NULL;
	struct table *t;
	char when[WHEN_ISO_LEN];
	size_t n, i;
	int json;

	if (opt_json_only(argc, argv, "grants [--json]", &json) == -1)
		return -1;
	if (optind != argc)
		return usage_err("grants [--json]");
	if (ctx_store(c) == NULL || store_grant_list(c->st, &g, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "subject", g[i].subject);
			json_kv_str(stdout, 0, "object", g[i].object);
			json_kv_str(stdout, 0, "login", g[i].login);
			json_kv_time(stdout, 0, "expires", g[i].expires);
			json_kv_time(stdout, 0, "created", g[i].created);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(g);
		return 0;
	}
	if ((t = table_new((const char *[]){ "WHO", "WHERE", "LOGIN", "UNTIL",
	    NULL })) == NULL) {
		free(g);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (table_row(t, (const char *[]){ g[i].subject, g[i].object,
		    g[i].login[0] ? g[i].login : "(default)", g[i].expires ?
		    when_iso(g[i].expires, when) : "-" }) == -1)
			break;
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(g);
	return i == n ? 0 : -1;
}

int
cmd_access(struct ctx *c, int argc, char *argv[])
{
	struct access_row *a = NULL;
	struct user_row u;
	struct table *t;
	char when[WHEN_ISO_LEN], port[8];
	size_t n, i;
	int json;

	if (opt_json_only(argc, argv, "access USER [--json]", &json) == -1)
		return -1;
	if (argc - optind != 1)
		return usage_err("access USER [--json]");
	if (name_check("user name", argv[optind]) == -1 ||
	    ctx_store(c) == NULL ||
	    store_user_get(c->st, argv[optind], &u) == -1 ||
	    store_access_list(c->st, u.id, when_now(), &a, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "host", a[i].host);
			json_kv_str(stdout, 0, "address", a[i].address);
			json_kv_int(stdout, 0, "port", a[i].port);
			json_kv_str(stdout, 0, "login", a[i].login);
			json_kv_time(stdout, 0, "until", a[i].expires);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(a);
		return 0;
	}
	if ((t = table_new((const char *[]){ "HOST", "ADDRESS", "PORT", "LOGIN",
	    "UNTIL", NULL })) == NULL) {
		free(a);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(port, sizeof(port), "%d", a[i].port);
		if (table_row(t, (const char *[]){ a[i].host, a[i].address, port,
		    a[i].login, a[i].expires ? when_iso(a[i].expires, when) :
		    "-" }) == -1)
			break;
	}
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(a);
	return i == n ? 0 : -1;
}
