/*
 * gatectl recordings, history and policy: what sessions left behind, and
 * the secret-masking policy their commands go through.
 *
 *   recordings [--user U] [--host H] [--limit N] [--json]
 *   history [QUERY] [--user U] [--host H] [--unique] [--limit N]
 *           [--offset N] [--json]
 *   policy check [FILE]		validate a policy file
 *   policy test 'COMMAND'		what would be stored, and why
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "gatectl.h"
#include "history.h"
#include "json.h"
#include "name.h"
#include "policy.h"
#include "table.h"
#include "text.h"
#include "when.h"

#define REC_USAGE "recordings [--user U] [--host H] [--limit N] [--json]"
#define HIST_USAGE "history [QUERY] [--user U] [--host H] [--unique] " \
	"[--limit N] [--offset N] [--json]"
#define POL_USAGE "policy check [FILE] | policy test 'COMMAND'"

static int
user_id(struct ctx *c, const char *name, long long *id)
{
	struct user_row u;

	if (name_check("user", name) == -1 ||
	    store_user_get(c->st, name, &u) == -1)
		return -1;
	*id = u.id;
	return 0;
}

static void
recordings_json(const struct session_row *r, size_t n)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", stdout);
		json_kv_int(stdout, 1, "session", r[i].id);
		json_kv_str(stdout, 0, "user", r[i].user);
		json_kv_str(stdout, 0, "host", r[i].host);
		json_kv_str(stdout, 0, "login", r[i].login);
		json_kv_time(stdout, 0, "started", r[i].started);
		json_kv_time(stdout, 0, "ended", r[i].ended);
		json_kv_str(stdout, 0, "path", r[i].recording);
		json_kv_int(stdout, 0, "files", r[i].rec_files);
		json_kv_int(stdout, 0, "bytes", r[i].rec_bytes);
		json_kv_int(stdout, 0, "lost", r[i].rec_lost);
		json_kv_str(stdout, 0, "status", r[i].rec_status);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static int
recordings_table(const struct session_row *r, size_t n)
{
	struct table *t;
	char id[24], start[WHEN_ISO_LEN], size[64],
	    target[NAME_MAX_LEN + LOGIN_MAX_LEN + 2];
	size_t i;
	int rc = 0;

	if ((t = table_new((const char *[]){ "SESSION", "USER", "TARGET",
	    "STARTED", "SIZE", "STATUS", "PATH", NULL })) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(id, sizeof(id), "%lld", r[i].id);
		snprintf(target, sizeof(target), "%s@%s", r[i].login,
		    r[i].host);
		when_iso(r[i].started, start);
		if (r[i].rec_files > 1)
			snprintf(size, sizeof(size), "%lldK in %d files",
			    (r[i].rec_bytes + 1023) / 1024, r[i].rec_files);
		else
			snprintf(size, sizeof(size), "%lldK",
			    (r[i].rec_bytes + 1023) / 1024);
		rc = table_row(t, (const char *[]){ id, r[i].user, target,
		    start, r[i].ended ? size : "live", r[i].rec_status,
		    r[i].recording });
	}
	if (rc == 0)
		table_print(t, stdout);
	table_free(t);
	return rc;
}

int
cmd_recordings(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "host", required_argument, NULL, 'h' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 } };
	const char *user = NULL, *host = NULL;
	struct session_row *r;
	long long uid = 0, limit = 50;
	size_t n;
	int ch, json = 0, rc;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'u')
			user = optarg;
		else if (ch == 'h')
			host = optarg;
		else if (ch == 'j')
			json = 1;
		else if (ch == 'l') {
			if (name_parse_uint("--limit", optarg, 1, 100000,
			    &limit) == -1)
				return -1;
		} else
			return usage_err(REC_USAGE);
	}
	if (optind != argc)
		return usage_err(REC_USAGE);
	if (host && name_check("host", host) == -1)
		return -1;
	if (ctx_store(c) == NULL)
		return -1;
	if (user && user_id(c, user, &uid) == -1)
		return -1;
	if (store_recording_list(c->st, uid, host, (size_t)limit, &r, &n) ==
	    -1)
		return -1;
	if (json)
		recordings_json(r, n);
	rc = json ? 0 : recordings_table(r, n);
	free(r);
	return rc;
}

int
cmd_history(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "host", required_argument, NULL, 'h' },
		{ "unique", no_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'l' },
		{ "offset", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 } };
	struct history_query q = { 0 };
	struct history_row *rows;
	const char *user = NULL;
	long long v;
	size_t n;
	int ch, json = 0, rc;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		case 'h':
			if (name_check("host", optarg) == -1)
				return -1;
			q.host = optarg;
			break;
		case 'q':
			q.unique = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'l':
		case 'o':
			if (name_parse_uint(ch == 'l' ? "--limit" : "--offset",
			    optarg, ch == 'l', ch == 'l' ? 100000 :
			    1000000, &v) == -1)
				return -1;
			if (ch == 'l')
				q.limit = (size_t)v;
			else
				q.offset = (size_t)v;
			break;
		default:
			return usage_err(HIST_USAGE);
		}
	}
	if (argc - optind > 1)
		return usage_err(HIST_USAGE);
	q.text = optind < argc ? argv[optind] : NULL;
	if (ctx_store(c) == NULL)
		return -1;
	if (user && user_id(c, user, &q.user_id) == -1)
		return -1;
	if (store_history_query(c->st, &q, &rows, &n) == -1)
		return -1;
	rc = 0;
	if (json)
		history_print_json(stdout, rows, n, q.unique);
	else
		rc = history_print_table(stdout, rows, n, 1, q.unique,
		    when_now());
	free(rows);
	return rc;
}

static struct policy *
load(struct ctx *c, const char *file)
{
	enum policy_mode m = c->cfg->history_strict ? POLICY_STRICT :
	    POLICY_PERMISSIVE;

	if (file)
		return policy_load(m, file);
	return c->cfg->policy_file[0] ? policy_load(m, c->cfg->policy_file) :
	    policy_new(m);
}

int
cmd_policy(struct ctx *c, int argc, char *argv[])
{
	static struct policy_verdict v;
	struct policy *p;
	const char *file = NULL;
	char safe[POLICY_MAX_CMD + 64];
	int rc;

	if (argc < 2 || argc > 3)
		return usage_err(POL_USAGE);
	if (strcmp(argv[1], "check") == 0) {
		if (argc == 3)
			file = argv[2];
		if ((p = load(c, file)) == NULL)
			return -1;
		printf("%s: %zu block, %zu allow, %zu mask rule(s) with the "
		    "built-in ones; mode %s; %s\n", file ? file :
		    c->cfg->policy_file[0] ? c->cfg->policy_file : "built-in",
		    policy_count(p, POLICY_BLOCK), policy_count(p, POLICY_ALLOW),
		    policy_count(p, POLICY_MASK), c->cfg->history_strict ?
		    "strict" : "permissive", policy_jit(p) ? "JIT-compiled" :
		    "interpreted (no JIT on this machine)");
		policy_free(p);
		return 0;
	}
	if (strcmp(argv[1], "test") != 0 || argc != 3)
		return usage_err(POL_USAGE);
	if ((p = load(c, NULL)) == NULL)
		return -1;
	rc = policy_check(p, argv[2], strlen(argv[2]), &v);
	policy_free(p);
	if (rc == -1) {
		printf("stored: nothing (blocked: %s)\n", err_msg());
		return 0;
	}
	if (v.blocked) {
		printf("stored: nothing but a marker (blocked: %s)\n", v.reason);
		return 0;
	}
	printf("stored: %s\n", text_escape(safe, sizeof(safe), v.masked,
	    strlen(v.masked)));
	if (v.nmasks)
		printf("masked by: %s\n", v.masks);
	if (c->cfg->history_strict)
		printf("allowed by: %s\n", v.rule);
	if (!v.nmasks && !c->cfg->history_strict)
		printf("why: no block rule matches; no mask rule changed it\n");
	return 0;
}
