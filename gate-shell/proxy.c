/*
 * proxy: the session itself. The egress ssh runs in a terminal gate-shell
 * owns (or on pipes, without one), and one relay loop moves the bytes.
 * With a terminal, ssh reads the user's keys from it and writes what the
 * target sends to a pipe (see spawn.h for why).
 *
 * Signals arrive through a signalfd, so the loop handles them between
 * reads and writes like any other input: SIGWINCH copies the user's
 * window size to our terminal (the kernel then tells ssh, which tells
 * the target), SIGCHLD collects ssh's status, SIGTERM (kill ID) and
 * SIGHUP (the user's connection went away) end the session. Whatever
 * happens, cleanup() restores the terminal, the fd flags, the signal
 * mask, and reaps ssh.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress.h"
#include "idle.h"
#include "log.h"
#include "err.h"
#include "gate-shell.h"
#include "spawn.h"
#include "recorder.h"
#include "relay.h"
#include "share.h"
#include "when.h"
#include "tty.h"

#define GRACE_MS	2000	/* for ssh to go after a hangup */
#define TAIL_SIZE	2048	/* ssh's last words, to explain a failure */

struct proxy {
	const struct proxy_opts *o;
	struct spawn_child child;
	sigset_t oldmask;
	int sigfd;
	int flags[3];		/* fd 0-2 status flags before we set O_NONBLOCK */
	int status;		/* ssh's wait status */
	int reaped;
	size_t tail_len, tail_pos;
	char tail[TAIL_SIZE];	/* the end of ssh's stderr, a ring */
	struct idle_counters *idle;	/* shared with the watcher, or NULL */
	pid_t watcher;
	int idle_warn;		/* the watcher's warning, seconds before the end */
	struct recorder *rec;	/* NULL: nothing recorded */
	struct share_hub *hub;	/* NULL: not shared */
	long long typist;	/* whose keys came last: 0 the owner */
	/*
	 * Last, and never cleared as a whole: its buffers are 256 KiB that
	 * only become resident as far as data actually fills them.
	 */
	struct relay relay;
};

static const int handled[] = {
	SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT,
	SIGUSR1,	/* the idle watcher: end the session, reason idle */
	SIGUSR2,	/* the idle watcher: warn the user */
};

/*
 * Tell the recorder whose keys follow: history rows and the recording
 * carry the co-driver's name for what they type (THREATS row 23).
 */
static void
typist(struct proxy *p, long long id, const char *name)
{
	char who[NAME_MAX_LEN + 24];
	int n;

	p->typist = id;
	n = snprintf(who, sizeof(who), "%lld %s", id ? id : p->o->owner_id,
	    name);
	if (p->rec && n > 0)
		recorder_control(p->rec, 'u', who, (size_t)n);
}

/*
 * Sees every chunk: counts activity for the idle watcher (one relaxed
 * store), hands the chunk to the recorder (one non-blocking writev that
 * drops rather than waits), and keeps the last bytes ssh wrote to
 * stderr (channel 2).
 */
static void
tap(void *arg, int chan, const char *buf, size_t n)
{
	struct proxy *p = arg;

	/* Keys after a co-driver's are the owner's again: say so once. */
	if (chan == 0 && p->typist != 0)
		typist(p, 0, p->o->owner);
	/* Input without a terminal is a data stream: counted, not kept. */
	if (p->rec && (chan != 0 || p->o->tty))
		recorder_feed(p->rec, chan == 0 ? 'i' : 'o', buf, n);
	if (p->hub && chan != 0)
		share_output(p->hub, buf, n);

	if (p->idle) {
		if (chan == 0)
			__atomic_store_n(&p->idle->in, p->idle->in + n,
			    __ATOMIC_RELAXED);
		else
			__atomic_store_n(&p->idle->out, p->idle->out + n,
			    __ATOMIC_RELAXED);
	}
	if (chan != 2)
		return;
	for (; n > 0; n--, buf++) {
		p->tail[p->tail_pos] = *buf;
		p->tail_pos = (p->tail_pos + 1) % TAIL_SIZE;
		if (p->tail_len < TAIL_SIZE)
			p->tail_len++;
	}
}

/*
 * Does a line of the tail start with prefix and contain needle? ssh's
 * own messages have fixed shapes; matching whole lines (not any text)
 * keeps a remote command's stderr from passing for them, mostly: a
 * remote program can still print the same line, and then only its own
 * session's row is wrong.
 */
static int
tail_line(const struct proxy *p, const char *prefix, const char *needle)
{
	char flat[TAIL_SIZE + 1], *line, *nl;
	size_t start = (p->tail_pos + TAIL_SIZE - p->tail_len) % TAIL_SIZE, i;

	for (i = 0; i < p->tail_len; i++) {
		char c = p->tail[(start + i) % TAIL_SIZE];
		flat[i] = c ? c : ' ';
	}
	flat[i] = '\0';
	for (line = flat; line; line = nl ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strncmp(line, prefix, strlen(prefix)) == 0 &&
		    strstr(line, needle) != NULL)
			return 1;
	}
	return 0;
}

/*
 * ssh exits 255 for its own failures (and when the remote command does).
 * Name the usual ones for the user, from the lines ssh prints for them.
 */
static void
explain(const struct proxy *p, struct proxy_result *res)
{
	static const struct {
		const char *prefix, *seen, *say;
	} known[] = {
		{ "@", "REMOTE HOST IDENTIFICATION HAS CHANGED", "the target's "
		  "host key has changed and does not match the key the gate "
		  "pinned; connection refused (administrators: check it, then "
		  "gatectl host pin)" },
		{ "No ", "host key is known for", "the gate has no pinned host "
		  "key for this target; connection refused (administrators: "
		  "gatectl host pin)" },
		{ "Host key verification failed", "", "the target's host key "
		  "could not be verified; connection refused" },
		{ "ssh: connect to host ", "Connection refused", "the target "
		  "refused the connection" },
		{ "ssh: connect to host ", "timed out", "the target did not "
		  "answer (timed out)" },
		{ "ssh: connect to host ", "No route to host", "the target is "
		  "unreachable" },
		{ "ssh: Could not resolve hostname", "", "the target's address "
		  "does not resolve" },
		{ "", ": Permission denied (", "the target refused the gate's "
		  "key (administrators: gatectl egress-key)" },
		/* The target (its sshd, or the host) died mid-session. */
		{ "Connection to ", " closed by remote host", "the target "
		  "closed the connection" },
		{ "Connection closed by ", "", "the target closed the "
		  "connection" },
		{ "Connection reset by ", "", "the connection to the target "
		  "was reset" },
		{ "Read from remote host ", "", "the connection to the target "
		  "was lost" },
		{ "client_loop: send disconnect: ", "", "the connection to the "
		  "target was lost" },
		{ "Timeout, server ", " not responding", "the target stopped "
		  "answering (keepalive timeout)" },
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (tail_line(p, known[i].prefix, known[i].seen)) {
			snprintf(res->message, sizeof(res->message), "%s",
			    known[i].say);
			res->reason = "error";
			return;
		}
}


/* Tell the user something while the relay owns the terminal. */
static void
notice(const struct proxy *p, const char *msg)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "%s[sshgate] %s%s",
	    p->o->tty ? "\r\n" : "", msg, p->o->tty ? "\r\n" : "\n");
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

/* A join or leave: the owner, syslog and the recording hear of it. */
static void
share_event(void *arg, enum share_event what, const struct share_watcher *w,
    const char *why)
{
	struct proxy *p = arg;
	char msg[200];
	const char *user = w && w->user[0] ? w->user : "?";
	int n;

	switch (what) {
	case SHARE_JOIN:
		if (why[0])
			n = snprintf(msg, sizeof(msg), "%s is %s in this "
			    "session", user, why);
		else
			n = snprintf(msg, sizeof(msg), "%s joined this session "
			    "(%s)", user, w->rw ? "read-write: they can type" :
			    "read-only");
		break;
	case SHARE_LEAVE:
		n = snprintf(msg, sizeof(msg), "%s left this session%s%s%s",
		    user, why[0] ? " (" : "", why, why[0] ? ")" : "");
		break;
	case SHARE_DROP:
		n = snprintf(msg, sizeof(msg), "%s was dropped from this "
		    "session (%s)", user, why);
		break;
	default:
		log_warn("session %lld: attach refused: %s",
		    p->o->session_id, why);
		return;
	}
	if (n < 0)
		return;
	log_notice("session %lld of %s: %s", p->o->session_id, p->o->owner,
	    msg);
	notice(p, msg);
	if (p->rec)
		recorder_control(p->rec, 'm', msg, strlen(msg));
}

/* A co-driver's keys: activity, and recorded under their name. */
static void
share_input(void *arg, const struct share_watcher *w, const char *buf,
    size_t n)
{
	struct proxy *p = arg;

	if (p->typist != w->user_id)
		typist(p, w->user_id, w->user);
	if (p->rec)
		recorder_feed(p->rec, 'i', buf, n);
	if (p->idle)
		__atomic_store_n(&p->idle->in, p->idle->in + n,
		    __ATOMIC_RELAXED);
}

/* Start listening for watchers; a failure leaves the session unshared. */
static void
start_sharing(struct proxy *p)
{
	struct share_opts so = *p->o->share;
	char msg[300];

	so.session_id = p->o->session_id;
	so.master = p->child.master;
	so.held = &p->relay.chan[0].len;
	so.event = share_event;
	so.input = share_input;
	so.arg = p;
	if ((p->hub = share_open(&so)) != NULL) {
		p->relay.xfd = share_pollfds(p->hub, &p->relay.nxfd);
		return;
	}
	log_err("session %lld: cannot be shared: %s", p->o->session_id,
	    err_msg());
	snprintf(msg, sizeof(msg), "this session cannot be shared: %s",
	    err_msg());
	notice(p, msg);
}

static void
idle_notice(const struct proxy *p)
{
	char msg[160], a[16], b[16];

	when_span(p->o->idle_timeout - p->idle_warn, a, sizeof(a));
	when_span(p->idle_warn, b, sizeof(b));
	snprintf(msg, sizeof(msg), "idle for %s; closing in %s unless you %s",
	    a, b, p->o->idle_input_only ? "type" : "type or output moves");
	notice(p, msg);
}

static void
copy_winsize(struct proxy *p)
{
	struct winsize ws;

	if (p->child.master >= 0 && tty_winsize(0, &ws) == 0) {
		ioctl(p->child.master, TIOCSWINSZ, &ws);
		if (p->rec)
			recorder_resize(p->rec, ws.ws_col, ws.ws_row);
	}
}

static void
note_exit(struct proxy *p)
{
	int st;

	if (p->reaped)
		return;
	if (waitpid(p->child.pid, &st, WNOHANG) == p->child.pid) {
		p->status = st;
		p->reaped = 1;
	}
}

/* Wait up to ms for ssh to exit (via SIGCHLD on the signalfd). */
static void
wait_exit(struct proxy *p, int ms)
{
	struct signalfd_siginfo si;
	struct pollfd pfd = { .fd = p->sigfd, .events = POLLIN };
	long long end = when_mono_ns() + (long long)ms * 1000000;
	long long left;

	for (note_exit(p); !p->reaped; note_exit(p)) {
		left = (end - when_mono_ns()) / 1000000;
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			break;
		while (read(p->sigfd, &si, sizeof(si)) == sizeof(si))
			;
	}
}

/* Hang up ssh's session, then force it. */
static void
hangup(struct proxy *p)
{
	if (p->reaped)
		return;
	kill(-p->child.pid, SIGHUP);
	if (p->child.master >= 0) {
		close(p->child.master);
		p->child.master = -1;
	}
	wait_exit(p, GRACE_MS);
	if (!p->reaped) {
		kill(-p->child.pid, SIGKILL);
		while (waitpid(p->child.pid, &p->status, 0) == -1 &&
		    errno == EINTR)
			;
		p->reaped = 1;
	}
}

/*
 * Fork the idle watcher (lib/idle). It shares only the counters page:
 * it leaves the session, drops every fd (it must not hold the user's
 * terminal or pipes open), and asks us to warn (SIGUSR2) or to end the
 * session (SIGUSR1); if we do not, it ends our session itself.
 */
static int
start_watcher(struct proxy *p)
{
	struct idle_watch w = { 0 };
	char what[64];
	sigset_t none;
	pid_t pid, parent = getpid();
	int fd;

	if ((p->idle = idle_counters_new()) == NULL)
		return -1;
	snprintf(what, sizeof(what), "session %lld", p->o->session_id);
	w.o.timeout = p->o->idle_timeout;
	/* A warning as long as the timeout itself comes at half-time. */
	w.o.warn = p->idle_warn = p->o->idle_warn < p->o->idle_timeout ?
	    p->o->idle_warn : p->o->idle_timeout / 2;
	w.o.input_only = p->o->idle_input_only;
	w.o.grace = 5;
	w.shared = p->idle;
	w.target = parent;
	w.first_signal = SIGUSR1;
	w.what = what;
	/* Taken here, while we surely are who the watcher will watch. */
	if ((w.pidfd = (int)syscall(SYS_pidfd_open, parent, 0)) == -1 &&
	    errno != ENOSYS)
		return err_set(ERR_SYS, "pidfd_open: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		err_set(ERR_SYS, "fork: %s", strerror(errno));
		if (w.pidfd >= 0)
			close(w.pidfd);
		return -1;
	}
	if (pid > 0) {
		if (w.pidfd >= 0)
			close(w.pidfd);
		p->watcher = pid;
		return 0;
	}
	/* Nothing of the session stays open in the watcher: only the pidfd. */
	closelog();
	if (w.pidfd >= 0 && w.pidfd < 3)
		w.pidfd = fcntl(w.pidfd, F_DUPFD_CLOEXEC, 3);
	if (w.pidfd > 0)
		close_range(0, (unsigned)w.pidfd - 1, 0);
	close_range(w.pidfd >= 0 ? (unsigned)w.pidfd + 1 : 0, ~0U, 0);
	if ((fd = open("/dev/null", O_RDWR)) == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_init("gate-shell", 0);
	if (idle_run(&w) == -1)
		log_err("%s: idle watcher: %s", what, err_msg());
	_exit(0);
}

static void
stop_watcher(struct proxy *p)
{
	if (p->watcher > 0) {
		kill(p->watcher, SIGKILL);
		while (waitpid(p->watcher, NULL, 0) == -1 && errno == EINTR)
			;
		p->watcher = 0;
	}
	idle_counters_free(p->idle);
	p->idle = NULL;
}

static void
cleanup(struct proxy *p)
{
	struct signalfd_siginfo si;
	int i;

	if (p->hub) {
		share_close(p->hub, "the session ended");
		p->hub = NULL;
		p->relay.xfd = NULL;
		p->relay.nxfd = 0;
	}
	if (p->child.pid > 0)
		hangup(p);
	stop_watcher(p);
	spawn_close(&p->child);
	/* The stdin pipe, if the relay did not close it at EOF. */
	if (!p->o->tty && p->relay.nchan > 0 && p->relay.chan[0].out >= 0)
		close(p->relay.chan[0].out);
	for (i = 0; i < 3; i++)
		if (p->flags[i] != -1)
			fcntl(i, F_SETFL, p->flags[i]);
	tty_restore();
	/*
	 * The session is over and gate-shell is about to record it and end.
	 * A second SIGTERM or the SIGHUP of a departing client must not kill
	 * it before the row is written: consume what is pending and ignore
	 * the rest.
	 */
	for (i = 0; i < (int)(sizeof(handled) / sizeof(handled[0])); i++)
		if (handled[i] != SIGCHLD && handled[i] != SIGWINCH)
			signal(handled[i], SIG_IGN);
	if (p->sigfd >= 0) {
		while (read(p->sigfd, &si, sizeof(si)) == sizeof(si))
			;
		close(p->sigfd);
	}
	sigprocmask(SIG_SETMASK, &p->oldmask, NULL);
	signal(SIGPIPE, SIG_DFL);
}

int
proxy_run(const struct egress *e, const struct proxy_opts *o,
    struct proxy_result *res)
{
	struct proxy p;
	struct termios tio;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct signalfd_siginfo si;
	sigset_t mask;
	long long start, warn_at = 0, end_at = 0, deadline, hub_at;
	const char *ended = NULL;
	char msg[200], d[16];
	size_t i;
	int fl, ev;

	memset(&p, 0, offsetof(struct proxy, relay));
	p.relay.nchan = 0;
	p.relay.xfd = NULL;
	p.relay.nxfd = 0;
	memset(res, 0, sizeof(*res));
	p.o = o;
	p.sigfd = -1;
	p.child.pid = -1;
	p.child.master = p.child.in = p.child.out = p.child.err = -1;
	p.flags[0] = p.flags[1] = p.flags[2] = -1;

	sigemptyset(&mask);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&mask, handled[i]);
	sigprocmask(SIG_BLOCK, &mask, &p.oldmask);
	signal(SIGPIPE, SIG_IGN);
	if ((p.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		err_set(ERR_SYS, "signalfd: %s", strerror(errno));
		goto fail;
	}

	if (o->tty) {
		/* The target gets the user's modes (erase, ...), then raw. */
		if (tcgetattr(0, &tio) == -1) {
			err_set(ERR_SYS, "tcgetattr: %s", strerror(errno));
			goto fail;
		}
		tty_winsize(0, &ws);
		if (tty_raw(0) == -1)
			goto fail;
	}
	/* Before ssh exists, so the recorder holds nothing of it. */
	if (o->rec) {
		o->rec_opts->width = ws.ws_col ? ws.ws_col : 80;
		o->rec_opts->height = ws.ws_row ? ws.ws_row : 24;
		if (recorder_start(o->rec, o->rec_opts) == -1)
			goto fail;
		p.rec = o->rec;
	}
	if (spawn_run(e->argv[0], e->argv, e->envp, o->tty ? &tio : NULL, &ws,
	    &p.child) == -1)
		goto fail;
	/*
	 * With a terminal, fds 0-2 are one open file sharing one set of
	 * flags: save all three before changing any, or the saved copies
	 * would already hold O_NONBLOCK.
	 */
	for (i = 0; i < 3; i++)
		p.flags[i] = fcntl((int)i, F_GETFL);
	for (i = 0; i < 3; i++)
		if ((fl = p.flags[i]) != -1)
			fcntl((int)i, F_SETFL, fl | O_NONBLOCK);

	p.relay.sigfd = p.sigfd;
	p.relay.tap = tap;
	p.relay.tap_arg = &p;
	/* Channels 0 (input), 1 (output), 2 (ssh's stderr), as tap() knows. */
	if (o->tty) {
		relay_add(&p.relay, 0, p.child.master, CHAN_IN_HUP);
	} else {
		relay_add(&p.relay, 0, p.child.in, CHAN_CLOSE_OUT);
		/* The relay closes it when the user's stdin ends. */
		p.child.in = -1;
	}
	relay_add(&p.relay, p.child.out, 1, CHAN_REQUIRED | CHAN_OUT_HUP);
	relay_add(&p.relay, p.child.err, 2, CHAN_REQUIRED);
	/*
	 * ssh writes its output to the pipe, but anything written to its
	 * terminal (/dev/tty) must reach the user too.
	 */
	if (o->tty)
		relay_add(&p.relay, p.child.master, 1, CHAN_OUT_HUP);

	if (o->idle_timeout > 0 && start_watcher(&p) == -1)
		goto fail;
	/* After the watcher and the recorder: neither holds the socket. */
	if (o->share && o->tty)
		start_sharing(&p);
	start = when_mono_ns();
	if (o->max_time > 0) {
		end_at = start + (long long)o->max_time * 1000000000LL;
		warn_at = o->max_time > 60 ?
		    end_at - 60LL * 1000000000LL : start;
	}
	for (;;) {
		deadline = warn_at ? warn_at : end_at;
		hub_at = p.hub ? share_deadline(p.hub) : 0;
		if (hub_at && (deadline == 0 || hub_at < deadline))
			deadline = hub_at;
		ev = relay_run(&p.relay, deadline);
		if (ev == RELAY_EXTRA || (ev == RELAY_TIMER && hub_at &&
		    when_mono_ns() >= hub_at)) {
			share_handle(p.hub);
			continue;
		}
		if (ev == RELAY_ERROR) {
			ended = "error";
			snprintf(res->message, sizeof(res->message), "%s",
			    err_msg());
			break;
		}
		if (ev == RELAY_DONE)
			break;
		if (ev == RELAY_HANGUP) {
			ended = "lost";
			break;
		}
		if (ev == RELAY_TIMER && warn_at) {
			when_span(o->max_time, d, sizeof(d));
			snprintf(msg, sizeof(msg), "this session ends in %d "
			    "seconds: sessions may last %s (session %lld)",
			    (int)((end_at - when_mono_ns() + 500000000) /
			    1000000000), d, o->session_id);
			notice(&p, msg);
			warn_at = 0;
			continue;
		}
		if (ev == RELAY_TIMER) {
			ended = "ttl";
			when_span(o->max_time, d, sizeof(d));
			snprintf(res->message, sizeof(res->message), "session "
			    "ended: it reached max_session_time (%s)", d);
			break;
		}
		/* RELAY_SIGNAL */
		while (read(p.sigfd, &si, sizeof(si)) == sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGCHLD:
				note_exit(&p);
				break;
			case SIGWINCH:
				copy_winsize(&p);
				break;
			case SIGHUP:
				ended = "lost";
				break;
			case SIGUSR2:
				idle_notice(&p);
				break;
			case SIGUSR1:
				ended = "idle";
				when_span(o->idle_timeout, d, sizeof(d));
				snprintf(res->message, sizeof(res->message),
				    "session ended: idle for %s (idle_timeout)",
				    d);
				break;
			default:	/* SIGTERM, SIGINT, SIGQUIT */
				ended = "killed";
				snprintf(res->message, sizeof(res->message),
				    "session %lld was ended by an "
				    "administrator or by its owner (kill)",
				    o->session_id);
				break;
			}
		}
		if (ended)
			break;
	}
	if (ended == NULL) {
		/* The relay drained: ssh is gone or going. */
		wait_exit(&p, GRACE_MS);
	}
	res->bytes_in = p.relay.chan[0].bytes;
	res->bytes_out = p.relay.chan[1].bytes + p.relay.chan[2].bytes +
	    (o->tty ? p.relay.chan[3].bytes : 0);
	cleanup(&p);
	if (ended) {
		res->reason = ended;
		res->status = 1;
		if (strcmp(ended, "lost") == 0)
			snprintf(res->message, sizeof(res->message), "the "
			    "user's connection to the gate was lost");
		return 0;
	}
	res->reason = "exit";
	if (WIFEXITED(p.status))
		res->status = WEXITSTATUS(p.status);
	else if (WIFSIGNALED(p.status))
		res->status = 128 + WTERMSIG(p.status);
	else
		res->status = 1;
	if (res->status == 255)
		explain(&p, res);
	return 0;
fail:
	cleanup(&p);
	return -1;
}
