/*
 * gatectl session: list and kill sessions, for administrators. The same
 * reaping, killing and watcher listing as gate-shell's `sessions` and
 * `kill` (lib/session), so rows of dead gate-shells are closed as lost
 * before they are shown, and live ones show who is attached.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gatectl.h"
#include "json.h"
#include "name.h"
#include "session.h"
#include "table.h"
#include "when.h"

#define USAGE "session list [--all] [--json] | session kill ID"

static void
print_json(const struct session_row *r, size_t n, const struct attach_row *w,
    size_t nw)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", stdout);
		json_kv_int(stdout, 1, "id", r[i].id);
		json_kv_str(stdout, 0, "user", r[i].user);
		json_kv_str(stdout, 0, "host", r[i].host);
		json_kv_str(stdout, 0, "login", r[i].login);
		json_kv_time(stdout, 0, "started", r[i].started);
		json_kv_time(stdout, 0, "ended", r[i].ended);
		json_kv_str(stdout, 0, "end_reason", r[i].end_reason);
		if (r[i].exit_status >= 0)
			json_kv_int(stdout, 0, "exit_status", r[i].exit_status);
		json_kv_int(stdout, 0, "bytes_in", r[i].bytes_in);
		json_kv_int(stdout, 0, "bytes_out", r[i].bytes_out);
		json_kv_bool(stdout, 0, "tty", r[i].tty);
		json_kv_str(stdout, 0, "command", r[i].command);
		json_kv_str(stdout, 0, "from", r[i].peer);
		json_kv_str(stdout, 0, "message", r[i].message);
		if (!r[i].ended)
			session_watchers_json(stdout, w, nw, r[i].id);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static int
print_table(const struct session_row *r, size_t n, const struct attach_row *w,
    size_t nw)
{
	struct table *t;
	char id[24], start[WHEN_ISO_LEN], end[WHEN_ISO_LEN], st[16],
	    bytes[48], target[NAME_MAX_LEN + LOGIN_MAX_LEN + 2], watch[200];
	size_t i;
	int rc = 0;

	if ((t = table_new((const char *[]){ "ID", "USER", "TARGET", "STARTED",
	    "ENDED", "REASON", "EXIT", "IN/OUT", "WATCHERS", NULL })) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(id, sizeof(id), "%lld", r[i].id);
		snprintf(target, sizeof(target), "%s@%s", r[i].login, r[i].host);
		when_iso(r[i].started, start);
		if (r[i].ended)
			when_iso(r[i].ended, end);
		snprintf(st, sizeof(st), "%d", r[i].exit_status);
		snprintf(bytes, sizeof(bytes), "%lld/%lld", r[i].bytes_in,
		    r[i].bytes_out);
		session_watchers_text(w, r[i].ended ? 0 : nw, r[i].id, watch,
		    sizeof(watch));
		rc = table_row(t, (const char *[]){ id, r[i].user, target,
		    start, r[i].ended ? end : "live",
		    r[i].end_reason[0] ? r[i].end_reason : "-",
		    r[i].exit_status >= 0 ? st : "-", bytes, watch });
	}
	if (rc == 0)
		table_print(t, stdout);
	table_free(t);
	return rc;
}

static int
list(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 } };
	struct session_row *r;
	struct attach_row *w;
	size_t n, nw;
	int ch, json = 0, all = 0, rc;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 'a')
			all = 1;
		else
			return usage_err(USAGE);
	}
	if (optind != argc)
		return usage_err(USAGE);
	if (ctx_store(c) == NULL || session_reap(c->st) == -1 ||
	    store_session_list(c->st, 0, !all, all ? 1000 : 0, &r, &n) == -1)
		return -1;
	if (session_watchers(c->st, &w, &nw) == -1) {
		free(r);
		return -1;
	}
	rc = 0;
	if (json)
		print_json(r, n, w, nw);
	else
		rc = print_table(r, n, w, nw);
	free(w);
	free(r);
	return rc;
}

int
cmd_session(struct ctx *c, int argc, char *argv[])
{
	struct session_row x;
	long long id;
	int found;

	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return list(c, argc - 1, argv + 1);
	if (argc != 3 || strcmp(argv[1], "kill") != 0)
		return usage_err(USAGE);
	if (name_parse_uint("session id", argv[2], 1, 9999999999LL, &id) == -1 ||
	    ctx_store(c) == NULL || session_reap(c->st) == -1 ||
	    (found = store_session_get(c->st, id, &x)) == -1)
		return -1;
	if (found == 0 || x.ended)
		return err_set(ERR_USAGE, "no live session %lld", id);
	if (session_kill(c->st, &x, 5000) == -1)
		return -1;
	printf("session %lld of %s to %s@%s ended\n", id, x.user, x.login,
	    x.host);
	return 0;
}
