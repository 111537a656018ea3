/*
 * cmd-share: `share ID USER [--rw]`, `unshare ID USER` and `attach ID`.
 *
 * The owner of a live terminal session (or an administrator) lets
 * another user watch it, or co-drive it with --rw. `attach` checks the
 * share here, then joins through the session's socket, where the
 * session's own gate-shell checks it again (gate-shell/share.c). For a
 * session that exists but is not the caller's to share or to watch, the
 * answer is word for word the one for an id that does not exist
 * (THREATS row 23). What the session prints reaches the watcher through
 * lib/vtsafe: a target's terminal queries would make the watcher's
 * terminal answer, and a co-driver's answer would be typed into the
 * session (row 29).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"
#include "gate-shell.h"
#include "log.h"
#include "name.h"
#include "proc.h"
#include "session.h"
#include "share.h"
#include "tty.h"
#include "vtsafe.h"
#include "when.h"

#define DETACH_KEY	0x1d	/* Ctrl-], as telnet */
#define READ_SIZE	(16 * 1024)
/* Character set, attributes, main screen, cursor shown. */
#define TERM_RESET	"\017\033(B\033[0m\033[?1049l\033[?25h"

/*
 * The live session ID, if the caller may share it (owner or admin).
 * Returns 0 with *x filled, or -1 (ERR_DENIED: no such session of yours).
 */
static int
own_session(struct gsh *g, const char *word, struct session_row *x)
{
	long long id;
	int found;

	if (name_parse_uint("session id", word, 1, 9999999999LL, &id) == -1)
		return -1;
	if (session_reap(g->st) == -1)
		return -1;
	if ((found = store_session_get(g->st, id, x)) == -1)
		return -1;
	if (found == 0 || x->ended != 0 ||
	    (x->user_id != g->user.id && !g->user.is_admin))
		return err_set(ERR_DENIED, "no live session %lld of yours", id);
	if (g->cfg->max_watchers == 0)
		return err_set(ERR_USAGE, "sharing is off on this gate "
		    "(max_watchers = 0)");
	if (!x->tty)
		return err_set(ERR_USAGE, "session %lld has no terminal; only "
		    "terminal sessions can be shared", id);
	return 0;
}

/*
 * The session's first line to a peer ("sshgate-attach ..."), read within
 * ms into line (NUL-terminated, without the newline). Bytes after it
 * (the start of the screen) are left in line after the NUL: *extra says
 * how many. Returns 0, or -1 when the session said nothing in time.
 */
static int
read_answer(int fd, char *line, size_t size, int ms, size_t *extra)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long end = when_mono_ns() + ms * 1000000LL;
	size_t have = 0;
	ssize_t n;
	char *nl;

	while (have < size - 1) {
		long long left = (end - when_mono_ns()) / 1000000;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if ((n = read(fd, line + have, size - 1 - have)) <= 0)
			return -1;
		have += (size_t)n;
		if ((nl = memchr(line, '\n', have)) != NULL) {
			*nl = '\0';
			*extra = have - (size_t)(nl - line) - 1;
			return strncmp(line, "sshgate-attach ", 15) == 0 ? 0 : -1;
		}
	}
	return -1;
}

/*
 * Make the live session check its watchers against the shares now (an
 * unshare, or --rw taken back), and wait for it to say it did. Returns
 * 0, also when the session does not listen (nobody can be attached);
 * -1 when it did not answer: the watcher is then dropped at the
 * session's next periodic check, within SHARE_RECHECK_MS.
 */
static int
poke(struct gsh *g, long long id)
{
	char hdr[FRAME_HDR], line[128];
	size_t extra;
	int dirfd, fd, rc = 0;

	if ((dirfd = share_dir_open(g->cfg->runtime_dir)) == -1)
		return 0;	/* no session can listen there either */
	if ((fd = share_connect(dirfd, id)) >= 0) {
		frame_header(hdr, FRAME_RECHECK, 0);
		if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
		    read_answer(fd, line, sizeof(line), 3000, &extra) == -1 ||
		    strcmp(line, "sshgate-attach rechecked") != 0)
			rc = -1;
		close(fd);
	}
	close(dirfd);
	if (rc == -1)
		log_warn("session %lld did not confirm a share change", id);
	return rc;
}

/* After a share change that may have to drop someone. */
static int
confirm(struct gsh *g, long long id, const char *user)
{
	if (poke(g, id) == 0)
		return 0;
	return err_set(ERR_SYS, "the share is changed, but session %lld did "
	    "not confirm it: %s may stay attached as before for up to %d "
	    "seconds", id, user, SHARE_RECHECK_MS / 1000);
}

int
cmd_share(struct gsh *g, const struct call *c)
{
	struct session_row x;
	struct user_row u;
	int rw = call_opt(c, "rw") != NULL;

	if (own_session(g, c->argv[0], &x) == -1)
		return -1;
	if (name_check("user", c->argv[1]) == -1 ||
	    store_user_get(g->st, c->argv[1], &u) == -1)
		return -1;
	if (u.id == x.user_id)
		return err_set(ERR_USAGE, "%s owns session %lld", u.name, x.id);
	if (store_share_set(g->st, x.id, u.id, rw, g->user.name) == -1)
		return -1;
	log_notice("user %s from %s: shared session %lld of %s with %s (%s)",
	    g->user.name, g->peer, x.id, x.user, u.name, rw ? "read-write" :
	    "read-only");
	fprintf(g->out, "session %lld shared with %s, %s; they join with: "
	    "attach %lld\n", x.id, u.name, rw ? "read-write (they can type)" :
	    "read-only", x.id);
	return rw ? 0 : confirm(g, x.id, u.name);
}

int
cmd_unshare(struct gsh *g, const struct call *c)
{
	struct session_row x;
	struct user_row u;
	int rc;

	if (own_session(g, c->argv[0], &x) == -1)
		return -1;
	if (name_check("user", c->argv[1]) == -1 ||
	    store_user_get(g->st, c->argv[1], &u) == -1)
		return -1;
	if ((rc = store_share_del(g->st, x.id, u.id)) == -1)
		return -1;
	if (rc == 0)
		return err_set(ERR_USAGE, "session %lld is not shared with %s",
		    x.id, u.name);
	log_notice("user %s from %s: unshared session %lld of %s from %s",
	    g->user.name, g->peer, x.id, x.user, u.name);
	fprintf(g->out, "session %lld is no longer shared with %s\n", x.id,
	    u.name);
	return confirm(g, x.id, u.name);
}

/*
 * May the caller watch session x, and type? The owner may type (a second
 * terminal); a share says how; an administrator may watch. Returns 0
 * with *rw set, or -1 with the missing-session answer.
 */
static int
may_watch(struct gsh *g, long long id, struct session_row *x, int *rw)
{
	int found, srw = 0;

	if (session_reap(g->st) == -1)
		return -1;
	if ((found = store_session_get(g->st, id, x)) == -1)
		return -1;
	if (found == 1 && x->ended == 0) {
		if (x->user_id == g->user.id) {
			*rw = 1;
			return 0;
		}
		if ((found = store_share_get(g->st, id, g->user.id, &srw)) == -1)
			return -1;
		if (found || g->user.is_admin) {
			*rw = found && srw;
			return 0;
		}
	}
	log_notice("user %s from %s: attach %lld refused: %s", g->user.name,
	    g->peer, id, found == 0 ? "no such session" : x->ended ?
	    "already ended" : "not shared with them");
	return err_set(ERR_DENIED, "no live session %lld shared with you", id);
}

struct attach {
	int sock, sigfd, in;	/* in: -1 once stdin is done */
	int rw;
	struct vtsafe vt;
	const char *why;	/* why it ended, for the row */
	char buf[READ_SIZE];
	char out[READ_SIZE + VTSAFE_SLACK];
};

/* Keys: Ctrl-] leaves; a co-driver's go to the session, framed. */
static int
keys(struct attach *a)
{
	char frame[FRAME_HDR + FRAME_MAX];
	ssize_t n = read(0, a->buf, FRAME_MAX);
	char *stop;

	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		a->in = -1;	/* without a terminal: watch on */
		return 0;
	}
	if ((stop = memchr(a->buf, DETACH_KEY, (size_t)n)) != NULL) {
		n = stop - a->buf;
		a->why = "detached";
	}
	if (a->rw && n > 0) {
		frame_header(frame, FRAME_INPUT, (size_t)n);
		memcpy(frame + FRAME_HDR, a->buf, (size_t)n);
		if (tty_write_all(a->sock, frame, FRAME_HDR + (size_t)n) == -1)
			a->why = "the session went away";
	}
	return a->why ? 1 : 0;
}

/* What the session prints, through the filter. Returns 1 at its end. */
static int
screen(struct attach *a)
{
	ssize_t n = read(a->sock, a->buf, sizeof(a->buf));
	size_t k;

	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		a->why = "the session ended or dropped the watcher";
		return 1;
	}
	k = vtsafe_filter(&a->vt, a->buf, (size_t)n, a->out);
	if (tty_write_all(1, a->out, k) == -1) {
		a->why = "the watcher's terminal went away";
		return 1;
	}
	return 0;
}

static void
watch(struct attach *a)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	int np;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = a->sock, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = a->sigfd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = a->in, .events = POLLIN };
		np = a->in >= 0 ? 3 : 2;
		if (poll(pfd, (nfds_t)np, -1) == -1) {
			if (errno == EINTR)
				continue;
			a->why = "poll failed";
			return;
		}
		if (pfd[1].revents) {
			if (read(a->sigfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGWINCH) {
				a->why = si.ssi_signo == SIGHUP ? "the watcher's "
				    "connection was lost" : "ended by a signal";
				return;
			}
		}
		if (pfd[0].revents && screen(a))
			return;
		if (np == 3 && pfd[2].revents && keys(a))
			return;
	}
}

int
cmd_attach(struct gsh *g, const struct call *c)
{
	static struct attach a;
	struct session_row x;
	struct attach_row row = { 0 };
	struct frame_hello hello = { 0 };
	char hdr[FRAME_HDR + FRAME_MAX], msg[300];
	sigset_t mask, old;
	long long id, attach_id = 0;
	size_t extra = 0;
	int dirfd = -1, n, raw = 0, rc = -1;

	if (name_parse_uint("session id", c->argv[0], 1, 9999999999LL, &id) == -1)
		return -1;
	a.sock = a.sigfd = -1;
	a.why = NULL;
	if (may_watch(g, id, &x, &a.rw) == -1)
		return -1;
	if (g->cfg->max_watchers == 0)
		return err_set(ERR_USAGE, "sharing is off on this gate "
		    "(max_watchers = 0)");
	if (!x.tty)
		return err_set(ERR_USAGE, "session %lld has no terminal; only "
		    "terminal sessions can be watched", id);
	if ((dirfd = share_dir_open(g->cfg->runtime_dir)) == -1) {
		log_err("attach %lld: %s", id, err_msg());
		return err_set(ERR_SYS, "sharing is unavailable on this gate; "
		    "tell its administrators");
	}
	a.sock = share_connect(dirfd, id);
	close(dirfd);
	if (a.sock == -1)
		return -1;

	hello.user_id = g->user.id;
	hello.rw = a.rw;
	snprintf(hello.user, sizeof(hello.user), "%s", g->user.name);
	n = frame_hello_format(&hello, hdr + FRAME_HDR, FRAME_MAX);
	frame_header(hdr, FRAME_HELLO, (size_t)n);
	signal(SIGPIPE, SIG_IGN);
	/* The session decides, and says so before anything else. */
	if (tty_write_all(a.sock, hdr, FRAME_HDR + (size_t)n) == -1 ||
	    read_answer(a.sock, a.buf, sizeof(a.buf), 10000, &extra) == -1) {
		close(a.sock);
		return err_set(ERR_DENIED, "session %lld does not accept "
		    "watchers now", id);
	}
	if (strncmp(a.buf, "sshgate-attach ok ", 18) != 0) {
		log_notice("user %s from %s: attach %lld refused by the "
		    "session: %s", g->user.name, g->peer, id, a.buf + 15);
		close(a.sock);
		return err_set(ERR_DENIED, "%s", strncmp(a.buf + 15,
		    "refused ", 8) == 0 ? a.buf + 23 : "refused");
	}
	a.rw = strcmp(a.buf + 18, "rw") == 0;

	row.session_id = id;
	row.user_id = g->user.id;
	snprintf(row.user, sizeof(row.user), "%s", g->user.name);
	row.rw = a.rw;
	row.joined = when_now();
	row.pid = (int)getpid();
	if (proc_start_time(getpid(), &row.pid_start) == -1 ||
	    store_attach_start(g->st, &row, &attach_id) == -1) {
		log_err("attach %lld: cannot record the watcher: %s", id,
		    err_msg());
		close(a.sock);
		return err_set(ERR_SYS, "cannot record this watcher; try again");
	}
	log_notice("user %s from %s: attached to session %lld of %s (%s@%s), "
	    "%s", g->user.name, g->peer, id, x.user, x.login, x.host,
	    a.rw ? "read-write" : "read-only");

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	if ((a.sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1) {
		err_set(ERR_SYS, "signalfd: %s", strerror(errno));
		goto out;
	}
	/* The database waits closed while we watch (hours, maybe). */
	store_close(g->st);
	g->st = NULL;
	if (g->tty) {
		if (tty_raw(0) == -1)
			goto out;
		raw = 1;
	}
	a.in = 0;
	vtsafe_init(&a.vt);
	snprintf(msg, sizeof(msg), "[sshgate] session %lld of %s (%s@%s), %s; "
	    "Ctrl-] leaves\r\n", id, x.user, x.login, x.host, a.rw ?
	    "read-write: your keys reach it" : "read-only");
	(void)!tty_write_all(2, msg, strlen(msg));
	/* Screen bytes that came with the answer. */
	if (extra > 0) {
		size_t k = vtsafe_filter(&a.vt, a.buf + strlen(a.buf) + 1,
		    extra, a.out);
		(void)!tty_write_all(1, a.out, k);
	}
	watch(&a);
	n = (int)vtsafe_finish(&a.vt, a.out);
	(void)!tty_write_all(1, a.out, (size_t)n);
	/* Leave the terminal as the session may not have: modes, screen. */
	if (raw)
		(void)!tty_write_all(1, TERM_RESET, strlen(TERM_RESET));
	snprintf(msg, sizeof(msg), "\r\n[sshgate] left session %lld: %s\r\n",
	    id, a.why ? a.why : "?");
	(void)!tty_write_all(2, msg, strlen(msg));
	rc = 0;
out:
	if (raw)
		tty_restore();
	if (a.sigfd >= 0)
		close(a.sigfd);
	close(a.sock);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (g->st == NULL && (g->st = store_open(g->cfg->database,
	    STORE_NOMIGRATE, g->cfg->db_timeout_ms)) == NULL)
		log_err("attach %lld: cannot reopen the database: %s", id,
		    err_msg());
	if (g->st && store_attach_end(g->st, attach_id, a.why ? a.why :
	    "error") == -1)
		log_err("attach %lld: cannot record the leave: %s", id,
		    err_msg());
	log_notice("user %s: left session %lld of %s: %s", g->user.name, id,
	    x.user, a.why ? a.why : err_msg());
	return rc;
}
