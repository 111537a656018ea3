/*
 * cmd-connect: `connect [LOGIN@]HOST [-- COMMAND...]`.
 *
 * Everything is decided before any process starts (decision 5): the
 * words are checked as plain names, the host is looked up, the login is
 * matched exactly against the user's grants (deny by default), the
 * session limit is applied while the row is written. Only then is ssh
 * built from database values and started. Every decision goes to syslog.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "egress.h"
#include "err.h"
#include "gate-shell.h"
#include "id.h"
#include "log.h"
#include "name.h"
#include "policy.h"
#include "proc.h"
#include "recorder.h"
#include "session.h"
#include "share.h"
#include "text.h"
#include "when.h"

/*
 * Pick the login: the one asked for, else the host's default, else the
 * only one granted. It must appear in the user's access list for host.
 * Returns 0, or -1 with ERR_DENIED and *why (for syslog) filled.
 */
static int
decide(struct gsh *g, const struct host_row *h, const char *asked,
    char *login, size_t ll, char *why, size_t wl)
{
	struct access_row *a = NULL;
	size_t n, i, granted = 0;
	const char *only = NULL;
	int ok = 0;

	if (store_access_list(g->st, g->user.id, when_now(), &a, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(a[i].host, h->name) != 0)
			continue;
		granted++;
		only = a[i].login;
		if (asked[0] ? strcmp(a[i].login, asked) == 0 :
		    h->login[0] && strcmp(a[i].login, h->login) == 0)
			ok = 1;
	}
	if (ok)
		snprintf(login, ll, "%s", asked[0] ? asked : h->login);
	else if (!asked[0] && !h->login[0] && granted == 1) {
		snprintf(login, ll, "%s", only);
		ok = 1;
	}
	free(a);
	if (ok)
		return 0;
	if (granted == 0)
		snprintf(why, wl, "no grant for host %s", h->name);
	else if (asked[0])
		snprintf(why, wl, "no grant for login %s on %s", asked, h->name);
	else
		snprintf(why, wl, "no login given and none is the default on %s",
		    h->name);
	return err_set(ERR_DENIED, "access denied");
}

/* A key file gate-shell can read; a clear error names the fix. */
static int
key_usable(const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	log_err("egress key %s: %s", path, strerror(errno));
	return err_set(ERR_SYS, "the gate has no usable egress key; tell its "
	    "administrators (gatectl init creates one)");
}

/*
 * The policy this session's commands go through, and what the session
 * row and syslog may say of the remote command: the same text history
 * keeps (masked), or why there is none. A policy that does not load
 * leaves NULL, and every command is then withheld.
 */
static struct policy *
load_policy(struct gsh *g, const char *words, char *shown, size_t sl)
{
	static struct policy_verdict v;
	struct policy *pol = gsh_policy(g);

	shown[0] = '\0';
	if (words == NULL)
		return pol;
	if (pol == NULL)
		snprintf(shown, sl, "[withheld: the policy did not load]");
	else if (policy_check(pol, words, strlen(words), &v) == -1 ||
	    v.blocked)
		snprintf(shown, sl, "[blocked: %.200s]", v.rule[0] ? v.rule :
		    "the policy could not decide");
	else
		text_escape(shown, sl, v.masked, strlen(v.masked));
	return pol;
}

/*
 * The file the session's recording goes to. Failing does not stop the
 * session unless [recording] required says so; the row and the user are
 * told.
 */
static int
prepare_audit(struct gsh *g, const struct session_row *x,
    struct recorder_file *rf)
{
	if (recorder_open_file(rf, g->cfg->recordings_dir, x->user,
	    x->id) == 0) {
		store_session_recording(g->st, x->id, rf->path, "incomplete: "
		    "the recorder did not finish", 0, 0, 0);
		return 0;
	}
	log_err("session %lld: not recorded: %s", x->id, rf->why);
	store_session_recording(g->st, x->id, "", rf->why, 0, 0, 0);
	if (g->cfg->record_required)
		return err_set(ERR_SYS, "this session cannot be recorded and "
		    "the gate requires recordings (%s); tell its "
		    "administrators", rf->why);
	fprintf(stderr, "gate-shell: warning: this session is not recorded: "
	    "%s\n", rf->why);
	return 0;
}

int
cmd_connect(struct gsh *g, const struct call *c)
{
	static struct recorder rec = { .fd = -1 };
	struct recorder_file rf = { .fd = -1, .dirfd = -1 };
	struct recorder_opts ro;
	struct policy *pol = NULL;
	char *exec_words = NULL;
	struct host_row h;
	struct session_row x;
	struct egress e;
	struct egress_target t;
	struct proxy_opts po;
	struct proxy_result res;
	struct share_opts so;
	char asked[LOGIN_MAX_LEN + 1], login[LOGIN_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1], why[160];
	const char *key;
	int rc, tty;

	if (cmd_parse_target(c->argv[0], asked, sizeof(asked), host, sizeof(host)) == -1)
		return -1;
	if (c->dashdash && c->nrest == 0)
		return err_set(ERR_USAGE, "usage: connect [LOGIN@]HOST "
		    "[-- COMMAND...]: nothing after --");
	if ((rc = store_host_get(g->st, host, &h)) == -1)
		return -1;
	if (rc == 0) {
		/* The same answer as for a host without a grant: no probing. */
		log_notice("user %s from %s: connect %s%s%s denied: no such host",
		    g->user.name, g->peer, asked, asked[0] ? "@" : "", host);
		return err_set(ERR_DENIED, "access denied");
	}
	if (decide(g, &h, asked, login, sizeof(login), why, sizeof(why)) == -1) {
		if (err_kind() == ERR_DENIED)
			log_notice("user %s from %s: connect %s%s%s denied: %s",
			    g->user.name, g->peer, asked, asked[0] ? "@" : "",
			    host, why);
		return -1;
	}
	key = h.egress_key[0] ? h.egress_key : g->cfg->egress_key;
	if (key_usable(key) == -1)
		return -1;

	/* A terminal only when the user has one (ssh -t). */
	tty = g->tty;
	t = (struct egress_target){
		.ssh = g->cfg->ssh, .key = key,
		.known_hosts = g->cfg->known_hosts, .host = h.name,
		.address = h.address, .port = h.port, .login = login,
		.connect_timeout = g->cfg->connect_timeout, .tty = tty };
	if (egress_build(&e, &t, c->rest, c->nrest, getenv("TERM")) == -1)
		return -1;

	memset(&x, 0, sizeof(x));
	x.user_id = g->user.id;
	x.key_id = g->key.id;
	snprintf(x.user, sizeof(x.user), "%s", g->user.name);
	snprintf(x.host, sizeof(x.host), "%s", h.name);
	snprintf(x.login, sizeof(x.login), "%s", login);
	x.started = when_now();
	x.pid = (int)getpid();
	/* Without it the row could not be told from a dead one's: refuse. */
	if (proc_start_time(getpid(), &x.pid_start) == -1) {
		err_set(ERR_SYS, "cannot read this process's start time in "
		    "/proc");
		rc = -1;
		goto out;
	}
	x.tty = tty;
	/* The remote command as history and listings show it. */
	if (c->nrest > 0 && (exec_words = egress_quote(c->rest, c->nrest,
	    EGRESS_QUOTE_MIN)) == NULL) {
		rc = -1;
		goto out;
	}
	/* The row and syslog show the command as history keeps it. */
	pol = load_policy(g, exec_words, x.command, sizeof(x.command));
	snprintf(x.peer, sizeof(x.peer), "%s", g->peer);
	if (session_reap(g->st) == -1)
		log_warn("cannot reap sessions: %s", err_msg());
	rc = store_session_start(g->st, &x, g->cfg->max_sessions_per_user,
	    id_new);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		log_notice("user %s from %s: connect %s@%s refused: %d live "
		    "sessions is the limit (session %lld)", g->user.name,
		    g->peer, login, h.name, g->cfg->max_sessions_per_user, x.id);
		err_set(ERR_DENIED, "you already have %d live sessions, the "
		    "most allowed; end one first (see: sessions, kill ID)",
		    g->cfg->max_sessions_per_user);
		rc = -1;
		goto out;
	}
	log_info("user %s (key %lld) from %s: connect %s@%s (%s:%d) allowed, "
	    "session %lld, %s%s%s", g->user.name, g->key.id, g->peer, login,
	    h.name, h.address, h.port, x.id, tty ? "terminal" : "no terminal",
	    x.command[0] ? ", command " : "", x.command);
	g->session_id = x.id;

	if (prepare_audit(g, &x, &rf) == -1) {
		store_session_end(g->st, x.id, "error", -1, 0, 0, err_msg());
		rc = -1;
		goto out;
	}
	ro = (struct recorder_opts){ .file = &rf,
	    .database = g->cfg->database, .db_timeout_ms = g->cfg->db_timeout_ms,
	    .session_id = x.id, .user_id = g->user.id, .host_id = h.id,
	    .user = x.user, .host = x.host, .login = x.login,
	    .term = e.envp[1] ? e.envp[1] + 5 : NULL, .tty = tty,
	    .record_input = g->cfg->record_input,
	    .max_file = g->cfg->record_max_file, .policy = pol,
	    .policy_error = g->policy_err, .exec = exec_words,
	    .retention_days = g->cfg->retention_days };

	/*
	 * A session lasts hours without a query, and the recorder forked
	 * below opens a database of its own: no SQLite state may cross
	 * that fork, so the connection is closed for the session's length.
	 */
	store_close(g->st);
	g->st = NULL;
	malloc_trim(0);
	so = (struct share_opts){ .runtime_dir = g->cfg->runtime_dir,
	    .database = g->cfg->database, .db_timeout_ms = g->cfg->db_timeout_ms,
	    .max_watchers = g->cfg->max_watchers, .owner_id = g->user.id,
	    .host = h.name, .login = login };
	po = (struct proxy_opts){ .tty = tty,
	    .max_time = g->cfg->max_session_time, .session_id = x.id,
	    .idle_timeout = g->cfg->idle_timeout,
	    .idle_warn = g->cfg->idle_warn,
	    .idle_input_only = g->cfg->idle_input_only,
	    .rec = &rec, .rec_opts = &ro,
	    .share = g->cfg->max_watchers > 0 ? &so : NULL,
	    .owner_id = g->user.id, .owner = g->user.name };
	rc = proxy_run(&e, &po, &res);
	if (rc == -1)
		snprintf(why, sizeof(why), "%s", err_msg());
	if (rec.pid > 0 && recorder_finish(&rec, 10000) == -1)
		log_err("session %lld: %s", x.id, err_msg());
	recorder_file_close(&rf);
	if ((g->st = store_open(g->cfg->database, STORE_NOMIGRATE |
	    STORE_LAZY_SYNC, g->cfg->db_timeout_ms)) == NULL) {
		log_err("session %lld: cannot reopen the database to close "
		    "its row: %s", x.id, err_msg());
		rc = -1;
		goto out;
	}
	if (rc == -1) {
		store_session_end(g->st, x.id, "error", -1, 0, 0, why);
		log_err("session %lld: %s", x.id, why);
		err_set(ERR_SYS, "%s", why);
		goto out;
	}
	if (store_session_end(g->st, x.id, res.reason, res.status,
	    (long long)res.bytes_in, (long long)res.bytes_out,
	    res.message) == -1)
		log_err("session %lld: cannot close its row: %s", x.id,
		    err_msg());
	log_info("session %lld of %s to %s@%s ended: %s, exit %d, %llu bytes "
	    "in, %llu out%s%s", x.id, g->user.name, login, h.name, res.reason,
	    res.status, res.bytes_in, res.bytes_out,
	    res.message[0] ? ": " : "", res.message);
	if (res.message[0])
		fprintf(stderr, "gate-shell: %s\n", res.message);
	g->exit_status = res.status;
	rc = 0;
out:
	recorder_file_close(&rf);
	free(exec_words);
	egress_free(&e);
	return rc;
}

/*
 * The decision connect makes, for verbs that hand out access to be used
 * later (web-token): the same name checks, host lookup and grant match,
 * the same answer for a missing host as for one without a grant.
 */
int
connect_check(struct gsh *g, const char *verb, const char *word,
    struct host_row *h, char *login, size_t ll)
{
	char asked[LOGIN_MAX_LEN + 1], host[NAME_MAX_LEN + 1], why[160];
	int rc;

	if (cmd_parse_target(word, asked, sizeof(asked), host, sizeof(host)) == -1)
		return -1;
	if ((rc = store_host_get(g->st, host, h)) == -1)
		return -1;
	if (rc == 0) {
		log_notice("user %s from %s: %s %s%s%s denied: no such host",
		    g->user.name, g->peer, verb, asked, asked[0] ? "@" : "",
		    host);
		return err_set(ERR_DENIED, "access denied");
	}
	if (decide(g, h, asked, login, ll, why, sizeof(why)) == -1) {
		if (err_kind() == ERR_DENIED)
			log_notice("user %s from %s: %s %s%s%s denied: %s",
			    g->user.name, g->peer, verb, asked,
			    asked[0] ? "@" : "", host, why);
		return -1;
	}
	return 0;
}
