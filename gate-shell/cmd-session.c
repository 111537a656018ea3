/*
 * cmd-session: `sessions [--all] [--json]` and `kill ID`.
 * A listing shows who watches each session (attach), from the
 * attachments whose gate-shell still lives.
 *
 * A user sees and ends only their own sessions; admins may see all
 * (--all) and end any. For a session that exists but is not the
 * caller's, the answer is word for word the one for an id that does not
 * exist (THREATS row 23). Rows whose gate-shell died are closed as lost
 * before anything is listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate-shell.h"
#include "json.h"
#include "log.h"
#include "name.h"
#include "session.h"
#include "table.h"
#include "when.h"

static void
print_json(FILE *f, const struct session_row *r, size_t n,
    const struct attach_row *w, size_t nw)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", f);
		json_kv_int(f, 1, "id", r[i].id);
		json_kv_str(f, 0, "user", r[i].user);
		json_kv_str(f, 0, "host", r[i].host);
		json_kv_str(f, 0, "login", r[i].login);
		json_kv_time(f, 0, "started", r[i].started);
		json_kv_bool(f, 0, "tty", r[i].tty);
		json_kv_str(f, 0, "command", r[i].command);
		json_kv_str(f, 0, "from", r[i].peer);
		session_watchers_json(f, w, nw, r[i].id);
		fputc('}', f);
	}
	fputs("]\n", f);
}

static int
print_table(FILE *f, const struct session_row *r, size_t n, int all,
    const struct attach_row *w, size_t nw)
{
	struct table *t;
	char id[24], start[WHEN_ISO_LEN], watch[200];
	size_t i;
	int rc = 0;

	t = all ? table_new((const char *[]){ "ID", "USER", "TARGET",
	    "STARTED", "TTY", "FROM", "WATCHERS", "COMMAND", NULL }) :
	    table_new((const char *[]){ "ID", "TARGET", "STARTED", "TTY",
	    "FROM", "WATCHERS", "COMMAND", NULL });
	if (t == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		char target[NAME_MAX_LEN + LOGIN_MAX_LEN + 2];
		snprintf(id, sizeof(id), "%lld", r[i].id);
		snprintf(target, sizeof(target), "%s@%s", r[i].login, r[i].host);
		when_iso(r[i].started, start);
		session_watchers_text(w, nw, r[i].id, watch, sizeof(watch));
		if (all)
			rc = table_row(t, (const char *[]){ id, r[i].user,
			    target, start, r[i].tty ? "yes" : "no",
			    r[i].peer[0] ? r[i].peer : "-", watch,
			    r[i].command[0] ? r[i].command : "-" });
		else
			rc = table_row(t, (const char *[]){ id, target, start,
			    r[i].tty ? "yes" : "no",
			    r[i].peer[0] ? r[i].peer : "-", watch,
			    r[i].command[0] ? r[i].command : "-" });
	}
	if (rc == 0)
		table_print(t, f);
	table_free(t);
	return rc;
}

int
cmd_sessions(struct gsh *g, const struct call *c)
{
	struct session_row *r;
	struct attach_row *w;
	size_t n, nw;
	int rc = 0;

	if (c->all && !g->user.is_admin)
		return err_set(ERR_DENIED, "sessions --all is for "
		    "administrators");
	if (session_reap(g->st) == -1)
		return -1;
	if (store_session_list(g->st, c->all ? 0 : g->user.id, 1, 0, &r,
	    &n) == -1)
		return -1;
	if (session_watchers(g->st, &w, &nw) == -1) {
		free(r);
		return -1;
	}
	if (c->json)
		print_json(g->out, r, n, w, nw);
	else
		rc = print_table(g->out, r, n, c->all, w, nw);
	free(w);
	free(r);
	return rc;
}

int
cmd_kill(struct gsh *g, const struct call *c)
{
	struct session_row x;
	long long id;
	int found;

	/* Ids are decimal integers and nothing else (kill ../1, kill 1x). */
	if (name_parse_uint("session id", c->argv[0], 1, 9999999999LL, &id) == -1)
		return -1;
	if (session_reap(g->st) == -1)
		return -1;
	if ((found = store_session_get(g->st, id, &x)) == -1)
		return -1;
	if (found == 0 || x.ended != 0 ||
	    (x.user_id != g->user.id && !g->user.is_admin)) {
		log_notice("user %s from %s: kill %lld refused: %s",
		    g->user.name, g->peer, id, found == 0 ? "no such session" :
		    x.ended ? "already ended" : "not theirs");
		return err_set(ERR_DENIED, "no live session %lld of yours", id);
	}
	if (session_kill(g->st, &x, 5000) == -1)
		return -1;
	log_notice("user %s from %s: killed session %lld of %s to %s@%s",
	    g->user.name, g->peer, id, x.user, x.login, x.host);
	fprintf(g->out, "session %lld ended\n", id);
	return 0;
}
