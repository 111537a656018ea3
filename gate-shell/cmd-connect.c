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
#include "proc.h"
#include "session.h"
#include "text.h"
#include "when.h"

/* Split "LOGIN@HOST" or "HOST" and check both as plain names. */
static int
parse_target(const char *word, char *login, size_t ll, char *host, size_t hl)
{
	const char *at = strchr(word, '@');
	char safe[80];

	login[0] = '\0';
	if (at) {
		if ((size_t)(at - word) >= ll || at == word)
			return err_set(ERR_USAGE, "bad login in '%s'",
			    text_escape(safe, sizeof(safe), word, strlen(word)));
		memcpy(login, word, (size_t)(at - word));
		login[at - word] = '\0';
		if (name_check_login(login) == -1)
			return -1;
		word = at + 1;
	}
	if (strlen(word) >= hl)
		return err_set(ERR_USAGE, "host name too long");
	if (name_check("host", word) == -1)
		return -1;
	strcpy(host, word);
	return 0;
}

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

int
cmd_connect(struct gsh *g, const struct call *c)
{
	struct host_row h;
	struct session_row x;
	struct egress e;
	struct egress_target t;
	struct proxy_opts po;
	struct proxy_result res;
	char asked[LOGIN_MAX_LEN + 1], login[LOGIN_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1], why[160];
	const char *key;
	int rc, tty;

	if (parse_target(c->argv[0], asked, sizeof(asked), host, sizeof(host)) == -1)
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
	if (e.command)
		text_escape(x.command, sizeof(x.command), e.command,
		    strlen(e.command));
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

	/* A session lasts hours without a query: keep it small meanwhile. */
	store_release_memory(g->st);
	malloc_trim(0);
	po = (struct proxy_opts){ .tty = tty,
	    .max_time = g->cfg->max_session_time, .session_id = x.id,
	    .idle_timeout = g->cfg->idle_timeout,
	    .idle_warn = g->cfg->idle_warn,
	    .idle_input_only = g->cfg->idle_input_only };
	if (proxy_run(&e, &po, &res) == -1) {
		store_session_end(g->st, x.id, "error", -1, 0, 0, err_msg());
		log_err("session %lld: %s", x.id, err_msg());
		rc = -1;
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
	egress_free(&e);
	return rc;
}
