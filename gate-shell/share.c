/*
 * share: the live session's socket, its watchers and their buffers (see
 * share.h). Everything here runs inside the session's one poll loop:
 * sockets are non-blocking, and a watcher's output is appended to its
 * own fixed buffer and written when the socket takes it. The only wait
 * is the database: one connection, opened at the first join (after every
 * fork the session makes), asked when someone joins, when shares change, and every
 * SHARE_RECHECK_MS while anyone watches (so a user disabled or deleted
 * meanwhile loses the session too). Its reads do not wait for writers
 * (WAL) and its busy timeout is short: a busy database refuses a join
 * rather than hold up the owner's terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "share.h"
#include "store.h"
#include "when.h"

#define DB_WAIT_MS	100	/* the most the session waits for the database */
#define ACCEPT_PAUSE_MS	1000	/* after accept() failed (EMFILE ...) */

struct share_hub {
	struct share_opts o;
	struct store *st;
	int dirfd, lfd;
	long long next_recheck;	/* while anyone watches */
	long long accept_pause;	/* the listener rests until then, 0: not */
	char name[64];
	int nslots;		/* max_watchers + 2: room to say "full" */
	int nlive;
	struct share_watcher *w;
	/* [0] the listener, [1 + i] watcher i, [last] the terminal. */
	struct pollfd *pfd;
	int npfd;
	struct ring ring;
	char copy[RING_SIZE];
};

int
share_dir_open(const char *runtime_dir)
{
	struct stat st;
	int fd;

	if ((fd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return err_set(ERR_SYS, "runtime directory %s: %s", runtime_dir,
		    errno == ELOOP || errno == ENOTDIR ? "not a directory (a "
		    "symbolic link?)" : strerror(errno));
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		return err_set(ERR_SYS, "runtime directory %s must be owned by "
		    "the gate account with mode 0700 (gatectl init)",
		    runtime_dir);
	}
	return fd;
}

void
share_sock_name(long long session_id, char *out, size_t size)
{
	snprintf(out, size, "session-%lld.sock", session_id);
}

/* The socket's address, reached through the directory fd (no path race). */
static int
sock_addr(int dirfd, const char *name, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s",
	    dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return err_set(ERR_SYS, "socket path too long");
	return 0;
}

int
share_connect(int dirfd, long long session_id)
{
	struct sockaddr_un sa;
	struct stat st;
	char name[64];
	int fd;

	share_sock_name(session_id, name, sizeof(name));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return err_set(ERR_DENIED, "session %lld does not accept "
		    "watchers now", session_id);
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return err_set(ERR_SYS, "%s in the runtime directory is not the "
		    "gate's socket; refused", name);
	if (sock_addr(dirfd, name, &sa) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(ERR_SYS, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return err_set(ERR_DENIED, "session %lld does not accept "
		    "watchers now", session_id);
	}
	return fd;
}

struct share_hub *
share_open(const struct share_opts *o)
{
	struct share_hub *h;
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int i, rc;

	if (o->max_watchers < 1 || o->max_watchers > SHARE_MAX_WATCHERS) {
		err_set(ERR_SYS, "max_watchers out of range");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		return NULL;
	}
	h->o = *o;
	h->lfd = h->dirfd = -1;
	h->nslots = o->max_watchers + 2;
	h->npfd = h->nslots + 2;
	h->w = calloc((size_t)h->nslots, sizeof(*h->w));
	h->pfd = calloc((size_t)h->npfd, sizeof(*h->pfd));
	if (h->w == NULL || h->pfd == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto fail;
	}
	for (i = 0; i < h->npfd; i++)
		h->pfd[i].fd = -1;
	for (i = 0; i < h->nslots; i++)
		h->w[i].fd = -1;
	if ((h->dirfd = share_dir_open(o->runtime_dir)) == -1)
		goto fail;
	share_sock_name(o->session_id, h->name, sizeof(h->name));
	/*
	 * Session ids are random and never reused, so anything already at
	 * the path was planted: refused, never followed or removed.
	 */
	if (fstatat(h->dirfd, h->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		err_set(ERR_SYS, "%s/%s already exists; refused",
		    o->runtime_dir, h->name);
		goto fail;
	}
	if (sock_addr(h->dirfd, h->name, &sa) == -1)
		goto fail;
	if ((h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		err_set(ERR_SYS, "socket: %s", strerror(errno));
		goto fail;
	}
	/* Born 0600: bind() never follows a link at the path (EADDRINUSE). */
	old = umask(0177);
	rc = bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == -1) {
		err_set(ERR_SYS, "bind %s/%s: %s", o->runtime_dir, h->name,
		    strerror(errno));
		goto fail;
	}
	if (listen(h->lfd, 8) == -1) {
		err_set(ERR_SYS, "listen: %s", strerror(errno));
		unlinkat(h->dirfd, h->name, 0);
		goto fail;
	}
	h->pfd[0].fd = h->lfd;
	h->pfd[0].events = POLLIN;
	return h;
fail:
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h->w);
	free(h->pfd);
	free(h);
	return NULL;
}

struct pollfd *
share_pollfds(struct share_hub *h, int *n)
{
	*n = h->npfd;
	return h->pfd;
}

/*
 * What the loop should wait for on watcher i, and on the terminal when
 * any co-driver's keys wait for it. Only a change of keys (plen) needs
 * the walk over every watcher; output alone (flush) does not.
 */
static void
set_events(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];
	struct pollfd *p = &h->pfd[1 + i];

	p->fd = w->fd;
	p->events = 0;
	if (w->state != SW_CLOSING && w->plen == 0)
		p->events |= POLLIN;
	if (w->len > 0)
		p->events |= POLLOUT;
}

static void
set_keys_events(struct share_hub *h, int i)
{
	int k, keys = 0;

	set_events(h, i);
	for (k = 0; k < h->nslots; k++)
		keys |= h->w[k].plen > 0;
	h->pfd[h->npfd - 1].fd = keys ? h->o.master : -1;
	h->pfd[h->npfd - 1].events = POLLOUT;
}

static void
forget(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];

	if (w->fd >= 0)
		close(w->fd);
	free(w->out);
	if (w->state == SW_LIVE || (w->state == SW_CLOSING && w->user[0]))
		h->nlive--;
	memset(w, 0, sizeof(*w) - sizeof(w->in) - sizeof(w->pend));
	w->fd = -1;
	w->state = SW_FREE;
	set_keys_events(h, i);
}

/* Write what is pending; returns -1 when the peer is gone. */
static int
flush(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];
	ssize_t n;

	while (w->len > 0) {
		n = send(w->fd, w->out + w->off, w->len, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n > 0) {
			w->off += (size_t)n;
			w->len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		return -1;
	}
	if (w->len == 0)
		w->off = 0;
	set_events(h, i);
	return 0;
}

/* Queue bytes for watcher i; returns -1 when they do not fit. */
static int
queue(struct share_watcher *w, const char *buf, size_t n)
{
	if (w->off > 0 && w->off + w->len + n > SHARE_OUT_BUF) {
		memmove(w->out, w->out + w->off, w->len);
		w->off = 0;
	}
	if (w->off + w->len + n > SHARE_OUT_BUF)
		return -1;
	memcpy(w->out + w->off + w->len, buf, n);
	w->len += n;
	return 0;
}

/*
 * Say goodbye to watcher i and close it once that is out (or after
 * SHARE_DRAIN_MS). Pending output is dropped: the message goes first.
 */
static void
goodbye(struct share_hub *h, int i, const char *msg)
{
	struct share_watcher *w = &h->w[i];
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "\r\n[sshgate] %s\r\n", msg);
	if (w->out == NULL || n < 0) {
		forget(h, i);
		return;
	}
	w->off = w->len = 0;
	w->plen = 0;
	set_keys_events(h, i);
	queue(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	w->state = SW_CLOSING;
	w->deadline = when_mono_ns() + SHARE_DRAIN_MS * 1000000LL;
	shutdown(w->fd, SHUT_RD);
	if (flush(h, i) == -1 || w->len == 0)
		forget(h, i);
}

/* The first line a peer gets: "sshgate-attach ok rw|ro" or refused. */
static void
answer(struct share_watcher *w, const char *what)
{
	char line[200];
	int n = snprintf(line, sizeof(line), "sshgate-attach %s\n", what);

	if (n > 0)
		(void)!send(w->fd, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A refusal before the watcher was let in: its reason, then close. */
static void
refuse(struct share_hub *h, int i, const char *msg)
{
	char what[200];

	snprintf(what, sizeof(what), "refused %s", msg);
	answer(&h->w[i], what);
	forget(h, i);
}

/*
 * Keys typed into the session reach the host as the session's login, so
 * a co-driver needs the grant connect would need (THREATS row 12): 1
 * when user uid holds it now, 0 when not, -1 on error.
 */
static int
granted(struct share_hub *h, long long uid)
{
	struct access_row *a = NULL;
	size_t n, i;
	int ok = 0;

	if (store_access_list(h->st, uid, when_now(), &a, &n) == -1)
		return -1;
	for (i = 0; i < n && !ok; i++)
		ok = strcmp(a[i].host, h->o.host) == 0 &&
		    strcmp(a[i].login, h->o.login) == 0;
	free(a);
	return ok;
}

/*
 * May this user watch, and type? Checked here, in the database, not
 * taken from the hello: the owner may type; a user the session is shared
 * with as the share says; an administrator may watch. Returns 1 (with
 * *rw), 0 for no, -1 when it cannot be told (then no).
 */
static int
allowed(struct share_hub *h, const struct frame_hello *hello, int *rw)
{
	struct user_row u;
	int srw = 0, found;

	/*
	 * Opened at the first join and kept: most sessions never have a
	 * watcher and need not carry a connection. Read-write, not
	 * STORE_RDONLY, which may open the file as immutable.
	 */
	if (h->st == NULL && (h->st = store_open(h->o.database,
	    STORE_NOMIGRATE, h->o.db_timeout_ms < DB_WAIT_MS ?
	    h->o.db_timeout_ms : DB_WAIT_MS)) == NULL)
		return -1;
	if (store_user_get(h->st, hello->user, &u) == -1)
		return err_kind() == ERR_USAGE ? 0 : -1;
	if (u.id != hello->user_id || u.disabled)
		return 0;
	if (u.id == h->o.owner_id) {
		*rw = hello->rw;
		return 1;
	}
	if ((found = store_share_get(h->st, h->o.session_id, u.id,
	    &srw)) == -1)
		return -1;
	if (found) {
		*rw = 0;
		if (srw && hello->rw && (*rw = granted(h, u.id)) == -1)
			return -1;
		return 1;
	}
	if (u.is_admin) {
		*rw = 0;
		return 1;
	}
	return 0;
}


static void
join(struct share_hub *h, int i, const struct frame_hello *hello)
{
	struct share_watcher *w = &h->w[i];
	char msg[160];
	size_t n;
	int rw = 0, ok;

	if ((ok = allowed(h, hello, &rw)) != 1) {
		snprintf(msg, sizeof(msg), "%s: %s", hello->user, ok == 0 ?
		    "not shared with them" : err_msg());
		h->o.event(h->o.arg, SHARE_REFUSE, w, msg);
		refuse(h, i, "session not shared with you");
		return;
	}
	if (h->nlive >= h->o.max_watchers) {
		snprintf(msg, sizeof(msg), "%s: max_watchers (%d) reached",
		    hello->user, h->o.max_watchers);
		h->o.event(h->o.arg, SHARE_REFUSE, w, msg);
		snprintf(msg, sizeof(msg), "session %lld already has %d "
		    "watchers, the most allowed", h->o.session_id,
		    h->o.max_watchers);
		refuse(h, i, msg);
		return;
	}
	if ((w->out = malloc(SHARE_OUT_BUF)) == NULL) {
		refuse(h, i, "the gate is out of memory");
		return;
	}
	w->user_id = hello->user_id;
	snprintf(w->user, sizeof(w->user), "%s", hello->user);
	w->rw = rw;
	w->state = SW_LIVE;
	if (h->nlive++ == 0)
		h->next_recheck = when_mono_ns() + SHARE_RECHECK_MS * 1000000LL;
	h->o.event(h->o.arg, SHARE_JOIN, w, "");
	answer(w, rw ? "ok rw" : "ok ro");
	n = ring_copy(&h->ring, h->copy);
	queue(w, h->copy, n);
	if (flush(h, i) == -1)
		goto gone;
	return;
gone:
	h->o.event(h->o.arg, SHARE_LEAVE, w, "connection lost");
	forget(h, i);
}

/* Keys for the terminal: as many as it takes now, the rest later. */
static void
type_keys(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];
	ssize_t n;

	/*
	 * The owner's keys still held by the relay go first: a co-driver's
	 * must not land inside a paste or an escape sequence of theirs.
	 */
	while (w->plen > 0 && h->o.master >= 0 &&
	    (h->o.held == NULL || *h->o.held == 0)) {
		n = write(h->o.master, w->pend + w->poff, w->plen);
		if (n > 0) {
			w->poff += (size_t)n;
			w->plen -= (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EINTR))
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		w->plen = 0;	/* the terminal is closing */
	}
	if (h->o.master < 0)
		w->plen = 0;
	if (w->plen == 0)
		w->poff = 0;
	set_keys_events(h, i);
}

static void recheck(struct share_hub *h);

/* Returns -1 when watcher i was closed. */
static int
frames(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];
	struct frame_hello hello;
	const char *payload;
	size_t plen, used = 0;
	long n;
	int type;

	while ((n = frame_take(w->in + used, w->inlen - used, &type,
	    &payload, &plen)) > 0) {
		used += (size_t)n;
		if (w->state == SW_HELLO && type == FRAME_HELLO) {
			if (frame_hello_parse(payload, plen, &hello) == -1) {
				n = -1;
				break;
			}
			join(h, i, &hello);
			if (w->state != SW_LIVE)
				return -1;
		} else if (w->state == SW_HELLO && type == FRAME_RECHECK) {
			/* Answered once done: unshare reports what happened. */
			recheck(h);
			answer(w, "rechecked");
			forget(h, i);
			return -1;
		} else if (w->state == SW_LIVE && type == FRAME_INPUT) {
			w->keys += plen;
			/* A read-only watcher's keys go nowhere. */
			if (!w->rw || plen == 0)
				continue;
			h->o.input(h->o.arg, w, payload, plen);
			memcpy(w->pend, payload, plen);
			w->poff = 0;
			w->plen = plen;
			type_keys(h, i);
			/* The rest waits until the terminal took these. */
			if (w->plen > 0)
				break;
		} else {
			n = -1;
			err_set(ERR_USAGE, "unexpected frame");
			break;
		}
	}
	if (n == -1) {
		if (w->state == SW_LIVE)
			h->o.event(h->o.arg, SHARE_LEAVE, w, err_msg());
		else
			h->o.event(h->o.arg, SHARE_REFUSE, w, err_msg());
		forget(h, i);
		return -1;
	}
	memmove(w->in, w->in + used, w->inlen - used);
	w->inlen -= used;
	return 0;
}

static void
readable(struct share_hub *h, int i)
{
	struct share_watcher *w = &h->w[i];
	ssize_t n;

	if (w->inlen == sizeof(w->in))
		return;		/* a whole frame waits for the terminal */
	n = recv(w->fd, w->in + w->inlen, sizeof(w->in) - w->inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (w->state == SW_LIVE)
			h->o.event(h->o.arg, SHARE_LEAVE, w, "");
		forget(h, i);
		return;
	}
	w->inlen += (size_t)n;
	frames(h, i);
}

static void
accept_all(struct share_hub *h)
{
	struct ucred cred = { .uid = (uid_t)-1 };
	socklen_t cl = sizeof(cred);
	char why[96];
	int fd, i;

	for (;;) {
		if ((fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR)
				continue;
			/* Out of fds (EMFILE...): rest, rather than spin. */
			if (errno != EAGAIN && errno != ECONNABORTED) {
				h->accept_pause = when_mono_ns() +
				    ACCEPT_PAUSE_MS * 1000000LL;
				h->pfd[0].fd = -1;
			}
			return;
		}
		/* Only the gate account's own processes (not even root). */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1 ||
		    cred.uid != geteuid()) {
			snprintf(why, sizeof(why), "a process of uid %d is not "
			    "the gate account", (int)cred.uid);
			h->o.event(h->o.arg, SHARE_REFUSE, NULL, why);
			close(fd);
			continue;
		}
		for (i = 0; i < h->nslots && h->w[i].state != SW_FREE; i++)
			;
		if (i == h->nslots) {
			h->o.event(h->o.arg, SHARE_REFUSE, NULL, "too many "
			    "connections at once");
			close(fd);
			continue;
		}
		h->w[i].fd = fd;
		h->w[i].state = SW_HELLO;
		h->w[i].deadline = when_mono_ns() + SHARE_HELLO_MS * 1000000LL;
		set_events(h, i);
	}
}

/* Shares changed: everyone is checked again, as at the join. */
static void
recheck(struct share_hub *h)
{
	struct frame_hello hello;
	int i, rw, ok;

	for (i = 0; i < h->nslots; i++) {
		struct share_watcher *w = &h->w[i];
		if (w->state != SW_LIVE)
			continue;
		/* A read-only watcher stays so: no grant lookup for it. */
		hello = (struct frame_hello){ .user_id = w->user_id,
		    .rw = w->rw };
		memcpy(hello.user, w->user, sizeof(hello.user));
		if ((ok = allowed(h, &hello, &rw)) == 1) {
			if (w->rw && !rw) {
				static const char msg[] = "\r\n[sshgate] you are "
				    "read-only now: your keys no longer reach "
				    "the session\r\n";
				h->o.event(h->o.arg, SHARE_JOIN, w,
				    "now read-only");
				w->plen = w->poff = 0;
				set_keys_events(h, i);
				if (queue(w, msg, sizeof(msg) - 1) == 0 &&
				    flush(h, i) == -1) {
					h->o.event(h->o.arg, SHARE_LEAVE, w, "");
					forget(h, i);
					continue;
				}
			}
			/* Never more than the attach asked for (its hello). */
			w->rw = w->rw && rw;
			continue;
		}
		h->o.event(h->o.arg, SHARE_LEAVE, w, ok == 0 ? "the share was "
		    "withdrawn" : "the share could not be checked");
		goodbye(h, i, "your access to this session was withdrawn");
	}
	h->next_recheck = when_mono_ns() + SHARE_RECHECK_MS * 1000000LL;
}

void
share_handle(struct share_hub *h)
{
	long long now = when_mono_ns();
	struct pollfd *p;
	int i;

	if (h->accept_pause && now >= h->accept_pause) {
		h->accept_pause = 0;
		h->pfd[0].fd = h->lfd;
	}
	if (h->nlive > 0 && now >= h->next_recheck)
		recheck(h);
	if (h->pfd[0].revents & POLLIN)
		accept_all(h);
	if (h->pfd[h->npfd - 1].revents)
		for (i = 0; i < h->nslots; i++) {
			if (h->w[i].plen == 0)
				continue;
			type_keys(h, i);
			/* Frames that waited behind these keys. */
			if (h->w[i].plen == 0 && h->w[i].inlen > 0)
				frames(h, i);
		}
	for (i = 0; i < h->nslots; i++) {
		struct share_watcher *w = &h->w[i];
		p = &h->pfd[1 + i];
		if (w->state == SW_FREE)
			continue;
		if ((p->revents & POLLOUT) && flush(h, i) == -1) {
			if (w->state == SW_LIVE)
				h->o.event(h->o.arg, SHARE_LEAVE, w, "");
			forget(h, i);
			continue;
		}
		if (w->state == SW_CLOSING && w->len == 0) {
			forget(h, i);
			continue;
		}
		if (p->revents & (POLLIN | POLLHUP | POLLERR)) {
			/* Gone: reading could not tell while keys wait. */
			if (w->state == SW_CLOSING ||
			    !(p->revents & POLLIN)) {
				if (w->state == SW_LIVE)
					h->o.event(h->o.arg, SHARE_LEAVE, w,
					    "");
				forget(h, i);
			} else {
				readable(h, i);
			}
			continue;
		}
		if ((w->state == SW_HELLO || w->state == SW_CLOSING) &&
		    now >= w->deadline) {
			if (w->state == SW_HELLO)
				h->o.event(h->o.arg, SHARE_REFUSE, w, "no "
				    "hello in time");
			forget(h, i);
		}
	}
	for (i = 0; i < h->npfd; i++)
		h->pfd[i].revents = 0;
}

long long
share_deadline(const struct share_hub *h)
{
	long long d = h->accept_pause;
	int i;

	if (h->nlive > 0 && (d == 0 || h->next_recheck < d))
		d = h->next_recheck;
	for (i = 0; i < h->nslots; i++)
		if ((h->w[i].state == SW_HELLO || h->w[i].state ==
		    SW_CLOSING) && (d == 0 || h->w[i].deadline < d))
			d = h->w[i].deadline;
	return d;
}

void
share_output(struct share_hub *h, const char *buf, size_t n)
{
	int i;

	ring_put(&h->ring, buf, n);
	if (h->nlive == 0)
		return;
	for (i = 0; i < h->nslots; i++) {
		struct share_watcher *w = &h->w[i];
		if (w->state != SW_LIVE)
			continue;
		if (queue(w, buf, n) == -1) {
			h->o.event(h->o.arg, SHARE_DROP, w, "fell behind");
			goodbye(h, i, "you were dropped: your connection fell "
			    "behind the session's output");
			continue;
		}
		if (w->len == n && flush(h, i) == -1) {
			h->o.event(h->o.arg, SHARE_LEAVE, w, "");
			forget(h, i);
		}
	}
}

void
share_close(struct share_hub *h, const char *why)
{
	char line[200];
	int i, n;

	if (h == NULL)
		return;
	n = snprintf(line, sizeof(line), "\r\n[sshgate] %s\r\n", why);
	for (i = 0; i < h->nslots; i++) {
		struct share_watcher *w = &h->w[i];
		if (w->state == SW_FREE)
			continue;
		if (w->state == SW_LIVE) {
			flush(h, i);
			if (n > 0)
				(void)!send(w->fd, line, (size_t)n, MSG_NOSIGNAL |
				    MSG_DONTWAIT);
			h->o.event(h->o.arg, SHARE_LEAVE, w, why);
		}
		forget(h, i);
	}
	close(h->lfd);
	unlinkat(h->dirfd, h->name, 0);
	close(h->dirfd);
	store_close(h->st);
	free(h->w);
	free(h->pfd);
	free(h);
}
