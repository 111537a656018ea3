/*
 * recorder: the recording and history of one session, in a process of
 * its own (see recorder.h). The proxy side is recorder_feed(): one
 * writev() of a frame per relayed chunk, never a wait. Everything else,
 * disk and database included, happens in the forked recorder, which
 * reads the frames until the proxy closes the pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cast.h"
#include "cmdline.h"
#include "err.h"
#include "log.h"
#include "policy.h"
#include "recorder.h"
#include "store.h"
#include "text.h"
#include "when.h"

struct frame {
	char type;		/* 'o', 'i', 'r' (len 0, size in lost), 'm'
				   (a marker), 'u' (whose keys follow) */
	char pad[3];
	uint32_t len;
	long long t_ns;		/* since the proxy's t0 */
	unsigned long long lost;	/* bytes dropped so far (cumulative) */
};

#define IN_BUF		(256 * 1024)
#define BATCH		64		/* history rows per transaction */
#define BATCH_NS	2000000000LL	/* ... or this long after the first */
#define FLUSH_AT	(256 * 1024)	/* cast bytes queued before a write */
#define LINGER_NS	5000000L	/* after a small read, see recorder.c */

/* ---- the file ---- */

static int
owned_dir(int fd, const char *what, char *why, size_t wl)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(why, wl, "%.120s is not a directory", what);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, wl, "%.120s must be owned by the gate account "
		    "and not be writable by group or others", what);
		return -1;
	}
	return 0;
}

int
recorder_open_file(struct recorder_file *f, const char *dir,
    const char *user, long long id)
{
	char day[16], name[NAME_MAX_LEN + 48], what[160];
	struct tm tm;
	time_t now = time(NULL);
	int top = -1;

	memset(f, 0, sizeof(*f));
	f->dirfd = f->fd = -1;
	snprintf(what, sizeof(what), "recordings directory %.120s", dir);
	/* O_NOFOLLOW: a planted symlink is refused, not followed (B5). */
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(f->why, sizeof(f->why), "%s %s", what,
		    errno == ELOOP || errno == ENOTDIR ? "is a symbolic link "
		    "or not a directory" : strerror(errno));
		goto fail;
	}
	if (owned_dir(top, what, f->why, sizeof(f->why)) == -1)
		goto fail;
	if (faccessat(top, ".", W_OK, AT_EACCESS) == -1) {
		snprintf(f->why, sizeof(f->why), "%s is not writable", what);
		goto fail;
	}
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (mkdirat(top, day, 0700) == -1 && errno != EEXIST) {
		snprintf(f->why, sizeof(f->why), "%.120s: cannot create %s: "
		    "%.40s", what, day, strerror(errno));
		goto fail;
	}
	if ((f->dirfd = openat(top, day, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(f->why, sizeof(f->why), "%.120s/%s %s", dir, day,
		    errno == ELOOP || errno == ENOTDIR ? "is a symbolic link "
		    "or not a directory" : strerror(errno));
		goto fail;
	}
	snprintf(what, sizeof(what), "%.120s/%s", dir, day);
	if (owned_dir(f->dirfd, what, f->why, sizeof(f->why)) == -1)
		goto fail;
	snprintf(f->base, sizeof(f->base), "%s.%lld", user, id);
	snprintf(name, sizeof(name), "%s.cast", f->base);
	if ((f->fd = openat(f->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(f->why, sizeof(f->why), "cannot create %.100s/%.40s: "
		    "%.40s", what, name, strerror(errno));
		goto fail;
	}
	snprintf(f->path, sizeof(f->path), "%s/%s/%s", dir, day, name);
	close(top);
	return 0;
fail:
	if (top >= 0)
		close(top);
	recorder_file_close(f);
	return err_set(ERR_SYS, "%s", f->why);
}

void
recorder_file_close(struct recorder_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = f->dirfd = -1;
}

/* ---- the proxy's end ---- */

static int
flush_pending(struct recorder *r)
{
	ssize_t w;

	while (r->plen > 0) {
		w = write(r->fd, r->pend + r->poff, r->plen);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		r->poff += (size_t)w;
		r->plen -= (size_t)w;
	}
	r->poff = 0;
	return 0;
}

static void
drop(struct recorder *r, size_t n)
{
	r->lost += n;
	if (r->shared_lost)
		__atomic_store_n(r->shared_lost, r->lost, __ATOMIC_RELAXED);
}

/* Returns 1 when the frame is (or is being) handed over, 0 when dropped. */
static int
send_frame(struct recorder *r, char type, const char *buf, size_t n,
    unsigned long long extra)
{
	struct frame h = { .type = type, .len = (uint32_t)n };
	struct iovec iov[2];
	ssize_t w;
	size_t total = sizeof(h) + n;
	/* A control frame that waits is queued, not lost (ctl_retry). */
	size_t lose = type == 'u' || type == 'm' ? 0 : n;

	if (r->fd < 0)
		return 0;
	/* A frame half in the pipe goes first, or this one is dropped. */
	if (r->plen > 0 && flush_pending(r) == -1) {
		if (errno != EAGAIN)
			goto dead;
		drop(r, lose);
		return 0;
	}
	h.t_ns = when_mono_ns() - r->t0;
	h.lost = type == 'r' ? extra : r->lost;
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ (void *)buf, n };
	while ((w = writev(r->fd, iov, n ? 2 : 1)) == -1 && errno == EINTR)
		;
	if (w == (ssize_t)total)
		return 1;
	if (w == -1) {
		if (errno != EAGAIN)
			goto dead;
		drop(r, lose);
		return 0;
	}
	/* Part of it went: the rest must follow, or the stream tears. */
	if ((size_t)w < sizeof(h)) {
		memcpy(r->pend, (char *)&h + w, sizeof(h) - (size_t)w);
		memcpy(r->pend + sizeof(h) - (size_t)w, buf, n);
	} else {
		memcpy(r->pend, buf + ((size_t)w - sizeof(h)),
		    total - (size_t)w);
	}
	r->poff = 0;
	r->plen = total - (size_t)w;
	return 1;
dead:
	/* The recorder is gone: everything from now on is lost. */
	close(r->fd);
	r->fd = -1;
	drop(r, lose);
	return 0;
}

/* A resize that found the pipe full goes before the next chunk. */
static void
resize_retry(struct recorder *r)
{
	if (r->resize && send_frame(r, 'r', NULL, 0, r->resize))
		r->resize = 0;
}

/* Send queued control frames; returns 1 when none is left. */
static int
ctl_retry(struct recorder *r)
{
	size_t len;

	while (r->ctl_len > 0) {
		len = (unsigned char)r->ctl[1];
		if (!send_frame(r, r->ctl[0], r->ctl + 2, len, 0)) {
			if (r->fd < 0)
				r->ctl_len = 0;	/* the recorder is gone */
			return r->fd < 0;
		}
		r->ctl_len -= 2 + len;
		memmove(r->ctl, r->ctl + 2 + len, r->ctl_len);
	}
	return 1;
}

void
recorder_feed(struct recorder *r, char type, const char *buf, size_t n)
{
	resize_retry(r);
	if (r->ctl_len > 0 && !ctl_retry(r)) {
		drop(r, n);
		return;
	}
	send_frame(r, type, buf, n, 0);
}

void
recorder_control(struct recorder *r, char type, const char *text, size_t n)
{
	if (n > 255)
		n = 255;
	if (r->fd < 0 || r->ctl_len + 2 + n > sizeof(r->ctl))
		return;
	r->ctl[r->ctl_len] = type;
	r->ctl[r->ctl_len + 1] = (char)n;
	memcpy(r->ctl + r->ctl_len + 2, text, n);
	r->ctl_len += 2 + n;
	ctl_retry(r);
}

void
recorder_resize(struct recorder *r, int cols, int rows)
{
	r->resize = ((unsigned long long)(unsigned)cols << 16) |
	    (unsigned)rows;
	resize_retry(r);
}

int
recorder_finish(struct recorder *r, int wait_ms)
{
	long long end = when_mono_ns() + (long long)wait_ms * 1000000;
	struct pollfd pfd;
	int st;

	if (r->fd >= 0) {
		/*
		 * Hand over a frame still half in the pipe, waiting for room
		 * at most until the deadline: a recorder stuck on a hung disk
		 * must not keep the user from leaving. Closing the pipe ends
		 * the stream; the final drop count is in the shared page.
		 */
		pfd = (struct pollfd){ .fd = r->fd, .events = POLLOUT };
		while (r->plen > 0) {
			if (flush_pending(r) == 0 || errno != EAGAIN)
				break;
			if (when_mono_ns() >= end) {
				log_err("the recorder did not take the end of "
				    "the session in time");
				break;
			}
			poll(&pfd, 1, 50);
		}
		if (r->plen > 0)	/* its data never arrived */
			drop(r, r->plen);
		close(r->fd);
		r->fd = -1;
	}
	if (r->pid <= 0)
		return err_set(ERR_SYS, "no recorder");
	for (;;) {
		pid_t w = waitpid(r->pid, &st, WNOHANG);
		if (w == r->pid)
			break;
		if (w == -1 && errno != EINTR)
			return err_set(ERR_SYS, "waitpid: %s", strerror(errno));
		if (when_mono_ns() >= end)
			return err_set(ERR_SYS, "the recorder is still "
			    "writing; it finishes on its own");
		poll(NULL, 0, 10);
	}
	r->pid = 0;
	munmap(r->shared_lost, sizeof(*r->shared_lost));
	r->shared_lost = NULL;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_set(ERR_SYS, "the recorder failed (status %d)", st);
	return 0;
}

/* ---- the recorder ---- */

struct rec {
	const struct recorder_opts *o;
	struct store *st;
	struct cmdline *cl;
	struct cast_writer cast;
	int casting;			/* a file is open */
	int files;
	long long bytes_done;		/* in files already closed */
	long long file_t0;		/* frame time the current file starts */
	long long now_ns;		/* the last frame's time */
	unsigned long long lost_seen;	/* the proxy's drop count */
	long long disk_lost;		/* what failed writes cost, closed files */
	struct history_row *rows;
	size_t nrows;
	long long batch_start;
	long long dropped_rows;
	size_t logged;			/* rows[] already told to syslog */
	/* Who typed last in a shared session: 0 the owner. */
	long long typist_id;
	char typist[NAME_MAX_LEN + 1];
	char why[200];			/* why the recording failed */
	/*
	 * What spans typed lines: a command continued with a backslash, a
	 * here-document's body, a pasted private key. Neither a body nor a
	 * key is a command, and either may hold secrets no rule can know:
	 * they are counted, never stored.
	 */
	char cont[CMDLINE_MAX];		/* lines ending in '\', joined */
	size_t ncont;
	int cont_flags;
	char heredoc[64];		/* the body's last line, "" none */
	int heredoc_tabs;		/* <<- : leading tabs do not count */
	long body_lines;		/* lines of a body or key so far */
	int in_key;			/* inside BEGIN..END PRIVATE KEY */
};

/*
 * What a co-driver typed goes to syslog as history keeps it (masked, or
 * withheld with the reason), once per row (THREATS row 23).
 */
static void
log_codriver(struct rec *R)
{
	const struct history_row *h;

	for (; R->logged < R->nrows; R->logged++) {
		h = &R->rows[R->logged];
		if (h->user_id == R->o->user_id)
			continue;
		if (h->blocked)
			log_notice("session %lld of %s: co-driver %s typed: "
			    "[withheld: %s]", R->o->session_id, R->o->user,
			    h->user, h->reason);
		else
			log_notice("session %lld of %s: co-driver %s typed: %s",
			    R->o->session_id, R->o->user, h->user, h->command);
	}
}

/* Write the queued rows; on failure keep them for the next try. */
static void
store_rows(struct rec *R, int final)
{
	/* A full batch waits for a busy database rather than be lost. */
	int tries = final ? 20 : R->nrows == BATCH ? 10 : 1;

	if (R->nrows == 0)
		return;
	log_codriver(R);
	while (tries-- > 0) {
		if (R->st && store_history_add(R->st, R->rows, R->nrows) == 0) {
			R->nrows = R->logged = 0;
			return;
		}
		if (tries > 0)
			poll(NULL, 0, 100);
	}
	log_err("session %lld: cannot store %zu command(s): %s",
	    R->o->session_id, R->nrows, R->st ? err_msg() : "no database");
	if (final || R->nrows == BATCH) {
		R->dropped_rows += (long long)R->nrows;
		R->nrows = R->logged = 0;
	}
}

static struct history_row *
new_row(struct rec *R, const char *source, int flags)
{
	struct history_row *h;

	if (R->nrows == BATCH)
		store_rows(R, 0);
	if (R->nrows == BATCH)
		return NULL;
	if (R->nrows == 0)
		R->batch_start = when_mono_ns();
	h = &R->rows[R->nrows++];
	memset(h, 0, sizeof(*h) - sizeof(h->command) + 1);
	h->created = time(NULL);
	h->session_id = R->o->session_id;
	h->user_id = R->typist_id ? R->typist_id : R->o->user_id;
	h->host_id = R->o->host_id;
	snprintf(h->user, sizeof(h->user), "%s", R->typist_id ? R->typist :
	    R->o->user);
	snprintf(h->host, sizeof(h->host), "%s", R->o->host);
	snprintf(h->source, sizeof(h->source), "%s", source);
	h->flags = flags;
	return h;
}

/*
 * Put text through the policy and queue it. Invalid UTF-8 becomes
 * U+FFFD first (the policy matches UTF-8). Anything the policy cannot
 * decide is stored blocked: a broken policy never stores a command
 * unmasked.
 */
static void
add_command(struct rec *R, const char *source, int flags, const char *text,
    size_t len)
{
	static struct policy_verdict v;
	static char clean[CMDLINE_MAX * 2 * 3 + 1];
	struct history_row *h;
	size_t i = 0, n = 0, k;
	uint32_t cp;

	if ((h = new_row(R, source, flags)) == NULL)
		return;
	while (i < len && n + 4 < sizeof(clean)) {
		/* A tab separates words as a space does: rules match \s. */
		if (text[i] == '\t') {
			clean[n++] = ' ';
			i++;
			continue;
		}
		if ((k = text_utf8_next((const unsigned char *)text + i,
		    len - i, &cp)) == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			memcpy(clean + n, "\xef\xbf\xbd", 3);
			n += 3;
			i += k ? k : 1;
		} else {
			memcpy(clean + n, text + i, k);
			n += k;
			i += k;
		}
	}
	clean[n] = '\0';
	if (n == 0 && (flags & HISTORY_UNCERTAIN)) {
		h->blocked = 1;
		snprintf(h->reason, sizeof(h->reason), "a line recalled or "
		    "completed by the shell, with nothing typed: not rebuilt");
		return;
	}
	if (R->o->policy == NULL) {
		h->blocked = 1;
		snprintf(h->reason, sizeof(h->reason), "policy unavailable: %s",
		    R->o->policy_error ? R->o->policy_error : "not loaded");
		return;
	}
	/*
	 * A line rebuilt around Tab completion or history recall may lack
	 * the very words the block rules look for (the "mysql" of a
	 * recalled "mysql -u root" before a typed " -pS3cret"): keep it only
	 * if an allow rule vouches for it.
	 */
	if (((flags & HISTORY_UNCERTAIN) ? policy_check_strict(R->o->policy,
	    clean, n, &v) : policy_check(R->o->policy, clean, n, &v)) == -1 ||
	    v.blocked) {
		h->blocked = 1;
		snprintf(h->reason, sizeof(h->reason), "%s", v.blocked &&
		    v.reason[0] ? v.reason : err_msg());
		return;
	}
	snprintf(h->command, sizeof(h->command), "%s", v.masked);
	crypto_hash_sha256(h->hash, (const unsigned char *)h->command,
	    strlen(h->command));
}

static int
line_flags(int f)
{
	return (f & CMDLINE_UNCERTAIN ? HISTORY_UNCERTAIN : 0) |
	    (f & CMDLINE_PASTE ? HISTORY_PASTE : 0) |
	    (f & CMDLINE_TRUNCATED ? HISTORY_TRUNCATED : 0) |
	    (f & CMDLINE_NOECHO ? HISTORY_NOECHO : 0) |
	    (f & CMDLINE_UNCOMMITTED ? HISTORY_UNCOMMITTED : 0);
}

/* A row that says something was typed without keeping it. */
static void
marker(struct rec *R, int flags, const char *fmt, long n)
{
	struct history_row *h;

	if ((h = new_row(R, "typed", flags)) == NULL)
		return;
	h->blocked = 1;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(h->reason, sizeof(h->reason), fmt, n, n == 1 ? "" : "s");
#pragma GCC diagnostic pop
}

/* "<<WORD", "<<-WORD", "<< 'WORD'": where a here-document starts. */
static int
heredoc_start(const char *t, size_t n, char *word, size_t wl, int *tabs)
{
	size_t i, j, k;

	for (i = 0; i + 2 < n; i++) {
		if (t[i] != '<' || t[i + 1] != '<' || t[i + 2] == '<' ||
		    (i > 0 && t[i - 1] == '<'))
			continue;
		j = i + 2;
		*tabs = j < n && t[j] == '-';
		j += (size_t)*tabs;
		while (j < n && t[j] == ' ')
			j++;
		if (j < n && (t[j] == '\'' || t[j] == '"' || t[j] == '\\'))
			j++;
		/* Not $((x<<2)): a delimiter starts with a letter or _. */
		else if (j >= n || !(t[j] == '_' || (t[j] >= 'A' && t[j] <= 'Z') ||
		    (t[j] >= 'a' && t[j] <= 'z')))
			continue;
		for (k = 0; j + k < n && k + 1 < wl && (t[j + k] == '_' ||
		    (t[j + k] >= 'A' && t[j + k] <= 'Z') || (t[j + k] >= 'a' &&
		    t[j + k] <= 'z') || (t[j + k] >= '0' && t[j + k] <= '9'));
		    k++)
			word[k] = t[j + k];
		word[k] = '\0';
		if (k > 0)
			return 1;
	}
	return 0;
}

static int
contains(const char *t, size_t n, const char *needle)
{
	return memmem(t, n, needle, strlen(needle)) != NULL;
}

/* The end of a body or key: one row for all its lines. */
static void
close_body(struct rec *R, int flags)
{
	if (R->in_key)
		marker(R, flags, "a private key pasted or typed: %ld line%s "
		    "not stored", R->body_lines);
	else if (R->heredoc[0])
		marker(R, flags, "here-document body: %ld line%s not stored",
		    R->body_lines);
	R->in_key = 0;
	R->heredoc[0] = '\0';
	R->body_lines = 0;
}

/* One line as a shell would read it, in the order typed. */
static void
one_line(struct rec *R, const char *t, size_t n, int flags)
{
	size_t skip = 0, bs = 0;

	if (R->in_key) {
		R->body_lines++;
		if (contains(t, n, "-----END"))
			close_body(R, flags);
		return;
	}
	if (R->heredoc[0]) {
		/* <<- lets the end word be indented with tabs. */
		while (R->heredoc_tabs && skip < n && t[skip] == '\t')
			skip++;
		if (n - skip == strlen(R->heredoc) &&
		    memcmp(t + skip, R->heredoc, n - skip) == 0)
			close_body(R, flags);
		else
			R->body_lines++;
		return;
	}
	if (contains(t, n, "-----BEGIN") && contains(t, n, "PRIVATE KEY")) {
		R->in_key = 1;
		R->body_lines = 1;
		return;
	}
	/* An odd run of backslashes at the end continues the command. */
	while (bs < n && t[n - 1 - bs] == '\\')
		bs++;
	if ((bs % 2 == 1 || R->ncont > 0) && R->ncont + n > sizeof(R->cont)) {
		marker(R, flags, "a continued command too long to check: %ld "
		    "byte%s not stored", (long)(R->ncont + n));
		R->ncont = 0;
		R->cont_flags = 0;
		return;
	}
	if (bs % 2 == 1) {
		memcpy(R->cont + R->ncont, t, n - 1);
		R->ncont += n - 1;
		R->cont_flags |= flags;
		return;
	}
	if (R->ncont > 0) {
		memcpy(R->cont + R->ncont, t, n);
		t = R->cont;
		n += R->ncont;
		flags |= R->cont_flags;
		R->ncont = 0;
		R->cont_flags = 0;
	}
	add_command(R, "typed", flags, t, n);
	if (heredoc_start(t, n, R->heredoc, sizeof(R->heredoc),
	    &R->heredoc_tabs))
		R->body_lines = 0;
}

static void
take_lines(struct rec *R)
{
	static struct policy_verdict v;
	static char flat[CMDLINE_MAX + 1];
	struct cmdline_line l;
	const char *p, *nl;
	size_t rest, n, i;
	int flags;

	while (cmdline_next(R->cl, &l) == 1) {
		flags = line_flags(l.flags);
		if (l.flags & CMDLINE_NOECHO) {
			/* Decision 1: a marker, never the text. */
			marker(R, flags, l.flags & CMDLINE_PARTIAL_ECHO ?
			    "%ld byte%s typed with echo off (echo uncertain)" :
			    "%ld byte%s typed with echo off", (long)l.typed);
			continue;
		}
		if (l.flags & CMDLINE_FULLSCREEN) {
			marker(R, HISTORY_NOECHO, "%ld byte%s typed in a "
			    "full-screen program (not rebuilt)", (long)l.typed);
			continue;
		}
		if (l.len == 0 && !(l.flags & CMDLINE_UNCERTAIN))
			continue;
		/*
		 * A paste of several lines is checked whole first: a rule
		 * that sees "mysql -u root \" and "-pS3cret" apart would
		 * pass both. Blocked, it leaves one row for all of it.
		 */
		if (memchr(l.text, '\n', l.len) && R->o->policy &&
		    !R->heredoc[0] && !R->in_key && l.len < sizeof(flat)) {
			for (i = 0; i < l.len; i++)
				flat[i] = l.text[i] == '\n' ? ' ' : l.text[i];
			if (text_utf8_valid(flat, l.len) && (policy_check(
			    R->o->policy, flat, l.len, &v) == -1 || v.blocked)) {
				struct history_row *h = new_row(R, "typed",
				    flags);
				if (h) {
					h->blocked = 1;
					snprintf(h->reason, sizeof(h->reason),
					    "%s", v.reason);
				}
				continue;
			}
		}
		for (p = l.text, rest = l.len; ; p = nl + 1) {
			nl = memchr(p, '\n', rest);
			n = nl ? (size_t)(nl - p) : rest;
			if (n > 0 || (!nl && p == l.text))
				one_line(R, p, n, flags);
			if (!nl)
				break;
			rest -= n + 1;
		}
		/* record_input: only keys whose echo the gate saw. */
		if (R->o->record_input && R->casting && l.rawlen > 0)
			cast_event(&R->cast, (R->now_ns - R->file_t0) / 1000,
			    'i', l.raw, l.rawlen);
	}
}

/* The session is over: what was still open is said, not kept. */
static void
end_lines(struct rec *R)
{
	if (R->ncont > 0) {
		add_command(R, "typed", R->cont_flags | HISTORY_UNCOMMITTED,
		    R->cont, R->ncont);
		R->ncont = 0;
	}
	close_body(R, 0);
}

static void
cast_failed(struct rec *R, const char *why)
{
	if (!R->why[0])
		snprintf(R->why, sizeof(R->why), "%s", why);
	log_err("session %lld: recording: %s", R->o->session_id, why);
}

/* Close the current file and start NAME.N.cast, when it is full. */
static void
next_file(struct rec *R)
{
	char name[NAME_MAX_LEN + 64];
	unsigned char carry[2][4];
	size_t ncarry[2];
	int fd;

	/* A character split across the boundary is joined in the next file. */
	memcpy(carry, R->cast.carry, sizeof(carry));
	memcpy(ncarry, R->cast.ncarry, sizeof(ncarry));
	R->cast.ncarry[0] = R->cast.ncarry[1] = 0;
	cast_finish(&R->cast, (R->now_ns - R->file_t0) / 1000);
	R->bytes_done += R->cast.bytes;
	R->disk_lost += R->cast.lost;
	close(R->cast.fd);
	cast_close(&R->cast);
	R->casting = 0;
	snprintf(name, sizeof(name), "%s.%d.cast", R->o->file->base,
	    R->files + 1);
	if ((fd = openat(R->o->file->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		char why[200];
		snprintf(why, sizeof(why), "cannot create continuation %s: %s",
		    name, strerror(errno));
		cast_failed(R, why);
		return;
	}
	if (cast_open(&R->cast, fd) == -1) {
		close(fd);
		cast_failed(R, "out of memory");
		return;
	}
	memcpy(R->cast.carry, carry, sizeof(carry));
	memcpy(R->cast.ncarry, ncarry, sizeof(ncarry));
	R->files++;
	R->casting = 1;
	R->file_t0 = R->now_ns;
	cast_header(&R->cast, R->o->width, R->o->height, time(NULL),
	    R->o->term, NULL);
}

/* A marker in the recording: joins, leaves, whose keys follow. */
static void
marker_event(struct rec *R, const struct frame *h, const char *data)
{
	char label[257];
	size_t n = h->len < 256 ? h->len : 256;

	memcpy(label, data, n);
	label[n] = '\0';
	if (R->casting)
		cast_marker(&R->cast, (h->t_ns - R->file_t0) / 1000, label);
}

/*
 * "ID NAME": the keys that follow are NAME's. Lines they finish are
 * stored under their name; the recording says who types from here on.
 */
static void
typist(struct rec *R, const struct frame *h, const char *data)
{
	char text[NAME_MAX_LEN + 24], *sp, *end;
	long long id;

	if (h->len >= sizeof(text))
		return;
	memcpy(text, data, h->len);
	text[h->len] = '\0';
	if ((sp = strchr(text, ' ')) == NULL)
		return;
	*sp = '\0';
	id = strtoll(text, &end, 10);
	if (*end || id <= 0 || strlen(sp + 1) > NAME_MAX_LEN)
		return;
	R->typist_id = id == R->o->user_id ? 0 : id;
	snprintf(R->typist, sizeof(R->typist), "%s", sp + 1);
	if (R->casting) {
		char label[NAME_MAX_LEN + 32];
		snprintf(label, sizeof(label), "keys from %s", sp + 1);
		cast_marker(&R->cast, (h->t_ns - R->file_t0) / 1000, label);
	}
}

static void
frame(struct rec *R, const struct frame *h, const char *data)
{
	size_t off;

	R->now_ns = h->t_ns;
	if (h->type != 'r' && h->lost != R->lost_seen) {
		/* Bytes went missing: never guess a command across them. */
		R->lost_seen = h->lost;
		if (R->cl)
			cmdline_gap(R->cl);
	}
	switch (h->type) {
	case 'o':
		/* Room for the worst case (all escaped), never an empty file. */
		if (R->casting && R->cast.bytes + (long long)cast_queued(
		    &R->cast) > 4096 && R->cast.bytes + (long long)cast_queued(
		    &R->cast) + (long long)h->len * 6 > R->o->max_file)
			next_file(R);
		if (R->casting)
			cast_event(&R->cast, (h->t_ns - R->file_t0) / 1000, 'o',
			    data, h->len);
		else if (R->o->file->fd >= 0)
			R->disk_lost += h->len;	/* a continuation failed */
		if (R->cl)
			cmdline_output(R->cl, data, h->len);
		break;
	case 'i':
		for (off = 0; R->cl && off < h->len; ) {
			off += cmdline_input(R->cl, data + off, h->len - off,
			    h->t_ns);
			take_lines(R);
		}
		break;
	case 'r':
		if (R->casting)
			cast_resize(&R->cast, (h->t_ns - R->file_t0) / 1000,
			    (int)(h->lost >> 16), (int)(h->lost & 0xffff));
		break;
	case 'm':
		marker_event(R, h, data);
		break;
	case 'u':
		typist(R, h, data);
		break;
	default:
		break;
	}
	if (R->cl)
		take_lines(R);
	if (R->casting && cast_queued(&R->cast) > FLUSH_AT &&
	    cast_flush(&R->cast) == -1)
		cast_failed(R, err_msg());
}

/* The status line of the session row. */
static void
status(struct rec *R, char *out, size_t size, long long *bytes,
    long long *lost)
{
	char kind[64] = "", rows[64] = "";

	*bytes = R->bytes_done + (R->casting ? R->cast.bytes : 0);
	*lost = (long long)R->lost_seen + R->disk_lost +
	    (R->casting ? R->cast.lost : 0);
	if (!R->o->tty)
		snprintf(kind, sizeof(kind), "; non-interactive: input not "
		    "recorded");
	else if (!R->o->record_input)
		snprintf(kind, sizeof(kind), "; output only");
	if (R->dropped_rows)
		snprintf(rows, sizeof(rows), "; %lld command row%s could not "
		    "be stored", R->dropped_rows, R->dropped_rows == 1 ? "" :
		    "s");
	if (R->o->file->fd < 0)
		snprintf(out, size, "failed: %.120s%s", R->o->file->why, rows);
	else if (*lost > 0 || R->why[0])
		snprintf(out, size, "partial: %lld bytes not recorded%s%s%.80s"
		    "%s%s", *lost, R->lost_seen ? " (the recorder fell behind)" :
		    "", R->why[0] ? " (" : "", R->why, R->why[0] ? ")" : "",
		    rows);
	else
		snprintf(out, size, "ok%s%s", kind, rows);
}

static int
run(struct rec *R, int fd)
{
	static char in[IN_BUF];
	struct frame h;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t have = 0, off;
	ssize_t r;
	int timeout;
	long long due;

	for (;;) {
		timeout = -1;
		if (R->nrows > 0) {
			due = R->batch_start + BATCH_NS - when_mono_ns();
			timeout = due <= 0 ? 0 : (int)(due / 1000000) + 1;
		}
		if (R->casting && cast_queued(&R->cast) > 0)
			timeout = 0;
		if (poll(&pfd, 1, timeout) == 0) {
			/* Nothing waiting: a good time for the disk. */
			if (R->casting && cast_queued(&R->cast) > 0 &&
			    cast_flush(&R->cast) == -1)
				cast_failed(R, err_msg());
			if (R->nrows > 0 && when_mono_ns() >= R->batch_start +
			    BATCH_NS)
				store_rows(R, 0);
			if (R->casting && cast_queued(&R->cast) > 0)
				continue;
			if (poll(&pfd, 1, R->nrows > 0 ? 100 : -1) == 0)
				continue;
		}
		r = read(fd, in + have, sizeof(in) - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/*
		 * Typing trickles in a frame at a time. Let a few gather
		 * before the next read rather than wake for each key beside
		 * the session's own processes; a bulk read means the pipe is
		 * filling, and then no pause at all.
		 */
		if (r < 4096)
			nanosleep(&(struct timespec){ .tv_nsec = LINGER_NS },
			    NULL);
		have += (size_t)r;
		for (off = 0; have - off >= sizeof(h); ) {
			memcpy(&h, in + off, sizeof(h));
			if (h.len > RELAY_BUF)
				return err_set(ERR_SYS, "bad frame");
			if (have - off < sizeof(h) + h.len)
				break;
			frame(R, &h, in + off + sizeof(h));
			off += sizeof(h) + h.len;
		}
		memmove(in, in + off, have - off);
		have -= off;
	}
	return 0;
}

static void
child(const struct recorder_opts *o, int fd, unsigned long long *shared_lost)
{
	static struct rec R;
	char st[200];
	long long bytes, lost;
	int rc = 0;

	R.o = o;
	if (sodium_init() < 0)
		_exit(1);
	if ((R.rows = calloc(BATCH, sizeof(*R.rows))) == NULL)
		_exit(1);
	if (o->tty && (R.cl = cmdline_new()) == NULL)
		_exit(1);
	if ((R.st = store_open(o->database, STORE_NOMIGRATE |
	    STORE_LAZY_SYNC, o->db_timeout_ms)) == NULL)
		log_err("session %lld: history: %s", o->session_id, err_msg());
	if (o->file->fd >= 0) {
		if (cast_open(&R.cast, o->file->fd) == -1)
			cast_failed(&R, err_msg());
		else {
			R.casting = 1;
			R.files = 1;
			cast_header(&R.cast, o->width, o->height, time(NULL),
			    o->term, NULL);
		}
	}
	if (o->exec)
		add_command(&R, "exec", 0, o->exec, strlen(o->exec));
	if (run(&R, fd) == -1) {
		log_err("session %lld: recorder: %s", o->session_id, err_msg());
		rc = 1;
	}
	/* The proxy's final count: frames dropped at the very end too. */
	{
		unsigned long long l = __atomic_load_n(shared_lost,
		    __ATOMIC_RELAXED);
		if (l > R.lost_seen)
			R.lost_seen = l;
	}
	if (R.cl) {
		cmdline_finish(R.cl, R.now_ns);
		take_lines(&R);
		end_lines(&R);
	}
	if (R.casting && cast_finish(&R.cast, (R.now_ns - R.file_t0) /
	    1000) == -1)
		cast_failed(&R, err_msg());
	if (R.casting && fsync(R.cast.fd) == -1)
		cast_failed(&R, strerror(errno));
	store_rows(&R, 1);
	status(&R, st, sizeof(st), &bytes, &lost);
	if (R.st && store_session_recording(R.st, o->session_id,
	    o->file->fd >= 0 ? o->file->path : "", st, R.files, bytes,
	    lost) == -1) {
		log_err("session %lld: recording status: %s", o->session_id,
		    err_msg());
		rc = 1;
	}
	if (R.st && o->retention_days > 0 &&
	    store_history_retain(R.st, o->retention_days) == -1)
		log_warn("history retention: %s", err_msg());
	if (R.dropped_rows)
		rc = 1;
	_exit(rc);
}

int
recorder_start(struct recorder *r, const struct recorder_opts *o)
{
	int p[2], keep[4], nkeep = 0, i, fd;
	pid_t pid;

	r->fd = -1;
	r->pid = 0;
	r->lost = 0;
	r->resize = 0;
	r->plen = r->poff = 0;
	r->shared_lost = mmap(NULL, sizeof(*r->shared_lost), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->shared_lost == MAP_FAILED) {
		r->shared_lost = NULL;
		return err_set(ERR_SYS, "mmap: %s", strerror(errno));
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		err_set(ERR_SYS, "pipe: %s", strerror(errno));
		goto unmap;
	}
	/* Room for bursts while the recorder writes to disk. */
	fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		err_set(ERR_SYS, "fork: %s", strerror(errno));
		goto unmap;
	}
	if (pid == 0) {
		sigset_t none;

		/*
		 * Not in the session's group: the hangup that ends the
		 * session must not end the recorder before it has stored
		 * everything. It ends at EOF on its pipe.
		 */
		setsid();
		/* ps and top tell it from its gate-shell. */
		prctl(PR_SET_NAME, "gate-recorder");
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		closelog();
		keep[nkeep++] = p[0];
		if (o->file->fd >= 0)
			keep[nkeep++] = o->file->fd;
		if (o->file->dirfd >= 0)
			keep[nkeep++] = o->file->dirfd;
		/* Nothing of the user's terminal or pipes stays open here. */
		for (fd = 0; fd < 1024; fd++) {
			for (i = 0; i < nkeep; i++)
				if (keep[i] == fd)
					break;
			if (i == nkeep)
				close(fd);
		}
		close_range(1024, ~0U, 0);
		if ((fd = open("/dev/null", O_RDWR)) == 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		log_init("gate-shell", 0);
		child(o, p[0], r->shared_lost);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	r->fd = p[1];
	r->pid = pid;
	r->t0 = when_mono_ns();
	return 0;
unmap:
	munmap(r->shared_lost, sizeof(*r->shared_lost));
	r->shared_lost = NULL;
	return -1;
}
