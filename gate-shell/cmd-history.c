/*
 * cmd-history: `history`, the commands typed and run through the gate.
 *
 *   history [QUERY] [--host H | --all-hosts] [--user U] [--unique]
 *           [--limit N] [--offset N] [--json]
 *   history [...] -- QUERY WORDS	(a query that is itself "clear")
 *   history clear --host H		(administrators)
 *   history purge --days N		(administrators)
 *
 * A user sees their own commands; administrators see everyone's, or one
 * user's with --user. Stored text is already masked by the policy; rows
 * without text (blocked, typed with echo off) say why instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate-shell.h"
#include "history.h"
#include "log.h"
#include "name.h"
#include "when.h"

static int
admin_only(struct gsh *g, const char *what)
{
	if (g->user.is_admin)
		return 0;
	log_notice("user %s from %s: %s refused: not an administrator",
	    g->user.name, g->peer, what);
	return err_set(ERR_DENIED, "%s is for administrators", what);
}

/* Options no subcommand takes with it. */
static int
only_opts(const struct call *c, const char *usage, const char *allowed)
{
	int i;

	for (i = 0; i < c->nopt; i++)
		if (!strstr(allowed, c->opt[i].name))
			return err_set(ERR_USAGE, "usage: %s", usage);
	if (c->json || c->dashdash)
		return err_set(ERR_USAGE, "usage: %s", usage);
	return 0;
}

static int
history_clear(struct gsh *g, const struct call *c)
{
	const char *host = call_opt(c, "host");
	long long n;

	if (c->argc != 1 || host == NULL ||
	    only_opts(c, "history clear --host H", "host") == -1)
		return err_set(ERR_USAGE, "usage: history clear --host H");
	if (admin_only(g, "history clear") == -1 ||
	    name_check("host", host) == -1)
		return -1;
	if (store_history_clear(g->st, host, &n) == -1)
		return -1;
	log_notice("user %s from %s: history clear --host %s: %lld "
	    "command(s) deleted", g->user.name, g->peer, host, n);
	fprintf(g->out, "%lld command%s of %s deleted\n", n, n == 1 ? "" : "s",
	    host);
	return 0;
}

static int
history_purge(struct gsh *g, const struct call *c)
{
	const char *days = call_opt(c, "days");
	long long d, n;

	if (c->argc != 1 || days == NULL ||
	    only_opts(c, "history purge --days N", "days") == -1)
		return err_set(ERR_USAGE, "usage: history purge --days N");
	if (admin_only(g, "history purge") == -1 ||
	    name_parse_uint("--days", days, 0, 36500, &d) == -1)
		return -1;
	if (store_history_purge(g->st, when_now() - (time_t)(d * 86400),
	    &n) == -1)
		return -1;
	log_notice("user %s from %s: history purge --days %lld: %lld "
	    "command(s) deleted", g->user.name, g->peer, d, n);
	fprintf(g->out, "%lld command%s older than %lld day%s deleted\n", n,
	    n == 1 ? "" : "s", d, d == 1 ? "" : "s");
	return 0;
}

int
cmd_history(struct gsh *g, const struct call *c)
{
	struct history_query q = { 0 };
	struct history_row *rows = NULL;
	struct user_row u;
	const char *host = call_opt(c, "host"), *user = call_opt(c, "user");
	const char *v;
	char query[1024] = "";
	long long num;
	size_t n, len = 0;
	int i, rc = 0;

	if (c->argc >= 1 && strcmp(c->argv[0], "clear") == 0)
		return history_clear(g, c);
	if (c->argc >= 1 && strcmp(c->argv[0], "purge") == 0)
		return history_purge(g, c);
	if (c->argc > 1 || (c->argc == 1 && c->dashdash) ||
	    call_opt(c, "days"))
		return err_set(ERR_USAGE, "usage: history [QUERY] [--host H | "
		    "--all-hosts] [--user U] [--unique] [--limit N] "
		    "[--offset N] [--json]");
	if (host && call_opt(c, "all-hosts"))
		return err_set(ERR_USAGE, "history: --host and --all-hosts "
		    "exclude each other");
	if (host && name_check("host", host) == -1)
		return -1;
	/* The query: one word, or every word after "--". */
	if (c->argc == 1)
		snprintf(query, sizeof(query), "%s", c->argv[0]);
	for (i = 0; i < c->nrest; i++) {
		int k = snprintf(query + len, sizeof(query) - len, "%s%s",
		    i ? " " : "", c->rest[i]);
		if (k < 0 || (size_t)k >= sizeof(query) - len)
			return err_set(ERR_USAGE, "history: query too long");
		len += (size_t)k;
	}
	q.text = query[0] ? query : NULL;
	q.host = host;
	q.unique = call_opt(c, "unique") != NULL;
	q.user_id = g->user.id;
	if ((v = call_opt(c, "limit")) != NULL) {
		if (name_parse_uint("--limit", v, 1, 1000, &num) == -1)
			return -1;
		q.limit = (size_t)num;
	}
	if ((v = call_opt(c, "offset")) != NULL) {
		if (name_parse_uint("--offset", v, 0, 1000000, &num) == -1)
			return -1;
		q.offset = (size_t)num;
	}
	if (g->user.is_admin)
		q.user_id = 0;
	if (user) {
		if (admin_only(g, "history --user") == -1 ||
		    name_check("user", user) == -1 ||
		    store_user_get(g->st, user, &u) == -1)
			return -1;
		q.user_id = u.id;
	}
	if (store_history_query(g->st, &q, &rows, &n) == -1)
		return -1;
	if (c->json)
		history_print_json(g->out, rows, n, q.unique);
	else
		rc = history_print_table(g->out, rows, n, q.user_id == 0,
		    q.unique, when_now());
	free(rows);
	return rc;
}
