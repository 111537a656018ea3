/*
 * cmd-replay: `replay ID [--speed N]`, a session's recording played back
 * into the caller's terminal, at its own pace.
 *
 * Only the session's owner and administrators may replay it; for anyone
 * else the answer is the one a missing session gets (THREATS row 23).
 * The recording is faithful, so it may hold what a hostile target sent
 * to query or drive a terminal: every byte goes through lib/vtsafe on
 * its way out (decision 2). Replay reads its own keys only (q or Ctrl-C
 * quits, space pauses, + and - change the speed); anything else typed
 * is discarded, and the terminal is restored however replay ends.
 * Markers of a shared session (who joined, whose keys follow) are shown
 * as lines of their own, so a replay says who typed what.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cast.h"
#include "err.h"
#include "gate-shell.h"
#include "log.h"
#include "name.h"
#include "text.h"
#include "tty.h"
#include "vtsafe.h"
#include "when.h"

#define LINE_MAX_BYTES	(1024 * 1024)	/* the writer's lines are < 450 KiB */
#define IDLE_CAP_US	2000000LL	/* long pauses play as 2 s */

struct player {
	int in;			/* the caller's keys, or -1 */
	int sigfd;
	double speed;
	int paused, quit;
	struct vtsafe vt;
	long long skipped;	/* lines that were not events */
	char *line;		/* LINE_MAX_BYTES */
	char *text;		/* decoded event */
	char *out;		/* filtered */
};

static void
say(const char *s)
{
	(void)!tty_write_all(1, s, strlen(s));
}

/* Handle what the caller typed; everything that is not a key is dropped. */
static void
keys(struct player *p)
{
	char buf[64];
	ssize_t r, i;

	if ((r = read(p->in, buf, sizeof(buf))) <= 0) {
		if (r == 0)
			p->in = -1;	/* no more keys: play on */
		return;
	}
	for (i = 0; i < r; i++)
		switch (buf[i]) {
		case 'q': case 'Q': case 3: case 4:
			p->quit = 1;
			break;
		case ' ':
			p->paused = !p->paused;
			break;
		case '+': case '=':
			if (p->speed < 64)
				p->speed *= 2;
			break;
		case '-': case '_':
			if (p->speed > 1.0 / 64)
				p->speed /= 2;
			break;
		default:
			break;
		}
}

/* Wait us microseconds (scaled), serving keys and signals meanwhile. */
static void
pause_for(struct player *p, long long us)
{
	struct pollfd pfd[2];
	long long end, left;
	int n;

	if (us > IDLE_CAP_US)
		us = IDLE_CAP_US;
	end = when_mono_ns() + (long long)((double)us * 1000 / p->speed);
	for (;;) {
		left = (end - when_mono_ns()) / 1000000;
		if (!p->paused && left <= 0)
			return;
		pfd[0] = (struct pollfd){ .fd = p->sigfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->in, .events = POLLIN };
		n = poll(pfd, p->in >= 0 ? 2 : 1, p->paused ? -1 : (int)left);
		if (n > 0 && pfd[0].revents) {
			p->quit = 1;
			return;
		}
		if (n > 0 && p->in >= 0 && pfd[1].revents)
			keys(p);
		if (p->quit)
			return;
		if (p->paused)
			end = when_mono_ns();	/* resume where it stopped */
	}
}

/* Play one file; *last_us carries the clock between continuations. */
static int
play_file(struct player *p, int fd, int timed)
{
	struct cast_header_info hi;
	size_t have = 0, len, n, tl;
	ssize_t r;
	char *nl, type;
	long long t, last = 0;
	int header = 1, eof = 0;

	while (!p->quit) {
		if (!eof && have < LINE_MAX_BYTES) {
			r = read(fd, p->line + have, LINE_MAX_BYTES - have);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				return err_set(ERR_SYS, "read recording: %s",
				    strerror(errno));
			if (r == 0)
				eof = 1;
			have += (size_t)r;
		}
		if ((nl = memchr(p->line, '\n', have)) == NULL) {
			if (eof || have == LINE_MAX_BYTES) {
				/* A last line without newline, or a giant. */
				if (have)
					p->skipped++;
				if (eof)
					break;
				have = 0;
			}
			continue;
		}
		len = (size_t)(nl - p->line);
		*nl = '\0';
		if (header) {
			header = 0;
			if (cast_parse_header(p->line, &hi) == -1)
				return -1;
		} else if (cast_parse_event(p->line, len, &t, &type, p->text,
		    &tl) == -1) {
			p->skipped++;
		} else if (type == 'o' || type == 'm') {
			if (timed && t > last)
				pause_for(p, t - last);
			if (t > last)
				last = t;
			if (p->quit)
				break;
			/* A marker (who joined, whose keys): a line of its own. */
			if (type == 'm' && tl < 256) {
				char label[300];
				tl = (size_t)snprintf(label, sizeof(label),
				    "\r\n[sshgate] %.*s\r\n", (int)tl, p->text);
				memcpy(p->text, label, tl);
			}
			n = vtsafe_filter(&p->vt, p->text, tl, p->out);
			if (tty_write_all(1, p->out, n) == -1)
				return err_set(ERR_SYS, "write: %s",
				    strerror(errno));
		}
		memmove(p->line, nl + 1, have - len - 1);
		have -= len + 1;
	}
	return 0;
}

/* Open a recording file that must be a plain file under dir. */
static int
open_cast(const char *path, const char *dir)
{
	struct stat st;
	size_t dl = strlen(dir);
	int fd;

	if (strncmp(path, dir, dl) != 0 || path[dl] != '/' ||
	    strstr(path, "/../") != NULL)
		return err_set(ERR_SYS, "recording path outside %s", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		int e = errno;
		err_set(ERR_SYS, "cannot open the recording: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(ERR_SYS, "the recording is not a regular file");
	}
	return fd;
}

int
cmd_replay(struct gsh *g, const struct call *c)
{
	static struct player p;
	struct session_row x;
	const char *sp = call_opt(c, "speed");
	char msg[512], path[PATH_MAX + 16], *dot;
	char login[LOGIN_MAX_LEN * 4 + 1], host[NAME_MAX_LEN * 4 + 1];
	char status[sizeof(x.rec_status) * 4];
	sigset_t mask, old;
	long long id;
	int found, fd, i, rc = 0, timed, raw = 0;
	char *end;

	if (name_parse_uint("session id", c->argv[0], 1, 9999999999LL, &id) ==
	    -1)
		return -1;
	memset(&p, 0, sizeof(p));
	p.speed = 1;
	if (sp) {
		p.speed = strtod(sp, &end);
		if (*sp < '0' || *sp > '9' || *end || !(p.speed >= 0.0625) ||
		    !(p.speed <= 64))
			return err_set(ERR_USAGE, "replay: --speed must be a "
			    "number from 0.0625 to 64");
	}
	if ((found = store_session_get(g->st, id, &x)) == -1)
		return -1;
	if (found == 0 || (x.user_id != g->user.id && !g->user.is_admin)) {
		log_notice("user %s from %s: replay %lld refused: %s",
		    g->user.name, g->peer, id, found ? "not theirs" :
		    "no such session");
		return err_set(ERR_DENIED, "no recording of yours for session "
		    "%lld", id);
	}
	/* Stored text, printed before the filter runs: escaped (B4). */
	text_escape(login, sizeof(login), x.login, strlen(x.login));
	text_escape(host, sizeof(host), x.host, strlen(x.host));
	text_escape(status, sizeof(status), x.rec_status, strlen(x.rec_status));
	if (x.recording[0] == '\0')
		return err_set(ERR_SYS, "session %lld has no recording%s%s", id,
		    status[0] ? ": " : "", status);
	if ((p.line = malloc(LINE_MAX_BYTES + 1)) == NULL ||
	    (p.text = malloc(LINE_MAX_BYTES)) == NULL ||
	    (p.out = malloc(LINE_MAX_BYTES + VTSAFE_SLACK)) == NULL) {
		rc = err_set(ERR_SYS, "out of memory");
		goto out;
	}
	log_info("user %s from %s: replay of session %lld (%s@%s)",
	    g->user.name, g->peer, id, x.login, x.host);
	vtsafe_init(&p.vt);
	/* Without a terminal: the output as fast as it goes (like cat). */
	timed = g->tty;
	p.in = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	if ((p.sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1) {
		rc = err_set(ERR_SYS, "signalfd: %s", strerror(errno));
		goto restore;
	}
	if (timed) {
		if (tty_raw(0) == -1) {
			rc = -1;
			goto restore;
		}
		raw = 1;
		p.in = 0;
	}
	snprintf(msg, sizeof(msg), "[sshgate] replay of session %lld (%s@%s)"
	    "%s\r\n", id, login, host, timed ? ": q quits, space pauses, "
	    "+/- speed" : "");
	say(msg);
	for (i = 1; !p.quit; i++) {
		/*
		 * Continuations: USER.ID.cast, then USER.ID.2.cast, ... until
		 * one is missing (the row's count may be short when its
		 * recorder never finished).
		 */
		snprintf(path, sizeof(path), "%s", x.recording);
		if (i > 1 && (dot = strrchr(path, '.')) != NULL)
			snprintf(dot, sizeof(path) - (size_t)(dot - path),
			    ".%d.cast", i);
		if ((fd = open_cast(path, g->cfg->recordings_dir)) == -1) {
			if (i > 1 && errno == ENOENT)
				break;
			rc = -1;
			break;
		}
		rc = play_file(&p, fd, timed);
		close(fd);
		if (rc == -1)
			break;
	}
	rc = rc == -1 ? -1 : 0;
	{
		size_t n = vtsafe_finish(&p.vt, p.out);
		(void)!tty_write_all(1, p.out, n);
	}
	/*
	 * Leave the viewer's terminal as it was: character set, modes and
	 * scroll region (soft reset), attributes, main screen, cursor.
	 */
	say("\017\033(B\033[!p\033[0m\033[?1049l\033[?25h\r\n");
	snprintf(msg, sizeof(msg), "[sshgate] %s of session %lld%s\r\n",
	    p.quit ? "replay stopped" : "end of the recording", id,
	    vtsafe_dropped(&p.vt) ? " (terminal queries and control strings "
	    "from the target were removed)" : "");
	say(msg);
restore:
	if (raw)
		tty_restore();
	if (p.sigfd > 0)
		close(p.sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	free(p.line);
	free(p.text);
	free(p.out);
	p.line = p.text = p.out = NULL;
	return rc;
}
