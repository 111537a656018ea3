/*
 * share: a live session's end of sharing (share, unshare, attach).
 *
 * The session's gate-shell listens on a unix socket of its own,
 * RUNTIME_DIR/session-ID.sock, created 0600 in a directory that must be
 * the gate account's, mode 0700, and not a symlink. Only processes of
 * the gate account may connect (SO_PEERCRED); each one says who it
 * attaches for (a hello frame, lib/frame), and the session checks the
 * share in the database itself before it lets the watcher in, however
 * carefully the attaching gate-shell checked it already.
 *
 * The session answers each peer with one line first ("sshgate-attach ok
 * rw", "... ok ro", "... refused REASON", "... rechecked"), then sends
 * plain terminal bytes. The session never waits for a watcher. Output goes to each watcher
 * through a fixed buffer of its own; a watcher whose buffer fills is
 * dropped with a message, so the owner's terminal never stalls. The
 * last RING_SIZE bytes of output are kept for whoever joins next. Keys
 * of a read-write watcher go to the session's terminal as if the owner
 * had typed them, and to the recorder under the watcher's name.
 */
#ifndef SSHGATE_SHARE_H
#define SSHGATE_SHARE_H

#include <poll.h>
#include <stddef.h>

#include "frame.h"
#include "name.h"
#include "ring.h"

#define SHARE_OUT_BUF	(1024 * 1024)	/* per watcher, output not yet sent */
#define SHARE_HELLO_MS	5000		/* to say who one is */
#define SHARE_DRAIN_MS	5000		/* for a goodbye to go out */
#define SHARE_RECHECK_MS 10000		/* shares checked again, while watched */

/*
 * Open the runtime directory for sharing: a real directory (never a
 * symlink), owned by us, with no group or other permissions. Nothing is
 * changed on it. Returns a directory fd, or -1 with an error saying
 * what is wrong.
 */
int share_dir_open(const char *runtime_dir);
/* "session-ID.sock". */
void share_sock_name(long long session_id, char *out, size_t size);
/*
 * Connect to session_id's socket in dirfd: it must be a socket owned by
 * us (a symlink or anything else planted there is refused, never
 * followed). Returns the connected fd (blocking, close-on-exec), or -1
 * with ERR_DENIED when nothing of the session's listens there.
 */
int share_connect(int dirfd, long long session_id);

enum share_event {
	SHARE_JOIN,		/* a watcher is in (w->rw says how) */
	SHARE_LEAVE,		/* it went away, or lost its share */
	SHARE_DROP,		/* it fell behind and was dropped */
	SHARE_REFUSE,		/* a connection that was not let in */
};

enum { SW_FREE, SW_HELLO, SW_LIVE, SW_CLOSING };

struct share_watcher {
	int state;		/* SW_* */
	int fd;
	long long user_id;
	char user[NAME_MAX_LEN + 1];
	int rw;
	long long deadline;	/* hello or goodbye, CLOCK_MONOTONIC ns */
	char *out;		/* SHARE_OUT_BUF, while it is in */
	size_t off, len;	/* output pending: out[off, off + len) */
	size_t inlen;		/* bytes of a frame being read */
	size_t poff, plen;	/* keys still to go to the terminal */
	unsigned long long keys;	/* bytes typed (sent or not) */
	char in[FRAME_HDR + FRAME_MAX];
	char pend[FRAME_MAX];
};

struct share_opts {
	const char *runtime_dir;
	const char *database;
	int db_timeout_ms;
	int max_watchers;		/* 1 .. SHARE_MAX_WATCHERS */
	long long session_id, owner_id;
	/* The session's host and login: a co-driver must hold this grant. */
	const char *host, *login;
	int master;			/* where keys go: the session's terminal */
	const size_t *held;		/* the owner's keys not yet written */
	/* Told of every join and leave; why is for people ("" none). */
	void (*event)(void *arg, enum share_event what,
	    const struct share_watcher *w, const char *why);
	/* Keys of a read-write watcher, before they reach the terminal. */
	void (*input)(void *arg, const struct share_watcher *w,
	    const char *buf, size_t n);
	void *arg;
};

struct share_hub;

/*
 * Start listening for session o->session_id. Returns the hub (free with
 * share_close()), or NULL with an error: the session then runs unshared.
 */
struct share_hub *share_open(const struct share_opts *o);
/*
 * The fds the session's poll loop watches for the hub (relay xfd), and
 * how many. The array lives in the hub; its events change as watchers
 * come, go, and fall behind.
 */
struct pollfd *share_pollfds(struct share_hub *h, int *n);
/* After poll() filled in their revents, or a deadline passed. */
void share_handle(struct share_hub *h);
/* The next deadline (CLOCK_MONOTONIC ns) the hub needs, 0 for none. */
long long share_deadline(const struct share_hub *h);
/* A chunk of the session's output. Never blocks; never allocates. */
void share_output(struct share_hub *h, const char *buf, size_t n);
/*
 * The session is over: every watcher is told why (best effort, never a
 * wait), the socket is removed, and the hub freed. NULL is a no-op.
 */
void share_close(struct share_hub *h, const char *why);

#endif
