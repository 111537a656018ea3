/*
 * relay: the data path. One poll() loop moves bytes between fds through
 * fixed buffers, one per direction, and never allocates.
 *
 * A channel copies from in to out. When out is slow its buffer fills
 * and the channel stops reading, so a slow side slows the other down
 * and memory stays fixed (THREATS A3: slow reads). relay_run() returns
 * to its caller for everything that is not moving bytes: a signal (the
 * caller's signalfd), a deadline, the user side hanging up, or the end.
 * The caller decides and calls relay_run() again.
 */
#ifndef SSHGATE_RELAY_H
#define SSHGATE_RELAY_H

#include <poll.h>
#include <stddef.h>

#define RELAY_BUF	(64 * 1024)
#define RELAY_MAX_CHANS	4
#define RELAY_MAX_EXTRA	80

enum {
	CHAN_REQUIRED = 1 << 0,	/* the relay is done when these are done */
	CHAN_IN_HUP = 1 << 1,	/* EOF on in is the user hanging up */
	CHAN_OUT_HUP = 1 << 2,	/* a write error on out: the user is gone */
	CHAN_CLOSE_OUT = 1 << 3, /* pass EOF on: close out once drained */
};

struct relay_chan {
	int in, out, flags;
	int eof;		/* in gave EOF (or EIO, a pty's EOF) */
	int broken;		/* out failed: data is read and dropped */
	size_t off, len;	/* pending bytes: buf[off, off + len) */
	unsigned long long bytes;	/* read from in */
	char buf[RELAY_BUF];
};

struct relay {
	struct relay_chan chan[RELAY_MAX_CHANS];
	int nchan;
	int sigfd;		/* readable: return RELAY_SIGNAL; -1: none */
	/*
	 * Sees every chunk read, before it is written: recorders and
	 * watchers hang here. It must not block; NULL for none.
	 */
	void (*tap)(void *arg, int chan, const char *buf, size_t n);
	void *tap_arg;
	/*
	 * Further fds the caller serves itself (the share hub's sockets),
	 * polled in the same round as the channels: relay_run() returns
	 * RELAY_EXTRA with their revents filled in. The caller (or the
	 * tap) may change the array between rounds; fd -1 is skipped.
	 */
	struct pollfd *xfd;
	int nxfd;
};

enum relay_event {
	RELAY_ERROR = -1,
	RELAY_DONE,		/* every required channel reached EOF and drained */
	RELAY_SIGNAL,		/* sigfd is readable */
	RELAY_TIMER,		/* the deadline passed */
	RELAY_HANGUP,		/* the user side is gone (IN_HUP / OUT_HUP) */
	RELAY_EXTRA,		/* an xfd has revents */
};

/* Add a channel; returns it, or NULL when the table is full. */
struct relay_chan *relay_add(struct relay *r, int in, int out, int flags);
/*
 * Move bytes until something needs the caller: deadline_ns is an
 * absolute CLOCK_MONOTONIC time (0: none). A hangup is reported once.
 */
enum relay_event relay_run(struct relay *r, long long deadline_ns);

#endif
