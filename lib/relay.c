/*
 * relay: one poll loop, fixed buffers. Every fd is non-blocking; a
 * channel with pending bytes waits for POLLOUT instead of spinning, and
 * reads only when its buffer is empty, so each byte is copied once. A
 * chunk just read is written at once, and while the output keeps up a
 * few more chunks follow before the next poll(); only what the output
 * refuses waits for POLLOUT.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "relay.h"
#include "when.h"

struct relay_chan *
relay_add(struct relay *r, int in, int out, int flags)
{
	struct relay_chan *c;

	if (r->nchan == RELAY_MAX_CHANS)
		return NULL;
	c = &r->chan[r->nchan++];
	c->in = in;
	c->out = out;
	c->flags = flags;
	c->eof = c->broken = 0;
	c->off = c->len = 0;
	c->bytes = 0;
	return c;
}

static int
chan_done(const struct relay_chan *c)
{
	return c->eof && c->len == 0;
}

/* Finish a channel whose input ended: close out if asked, once drained. */
static void
chan_finish(struct relay_chan *c)
{
	if (chan_done(c) && (c->flags & CHAN_CLOSE_OUT) && c->out >= 0) {
		close(c->out);
		c->out = -1;
	}
}

static int chan_write(struct relay_chan *c);

/*
 * How many chunks one channel may move per poll() round: enough to skip
 * most polls while data streams (a pty gives 4 KiB per read), few enough
 * that the other direction is never kept waiting long.
 */
#define BURST	8

/* Returns 1 when the user side hung up, else 0. */
static int
chan_read(struct relay *r, struct relay_chan *c)
{
	ssize_t n;
	int burst, hup;

	for (burst = 0; burst < BURST; burst++) {
		n = read(c->in, c->buf, sizeof(c->buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (n <= 0) {
			/* 0, or EIO from a pty master with no slave left. */
			c->eof = 1;
			chan_finish(c);
			return (c->flags & CHAN_IN_HUP) != 0;
		}
		c->off = 0;
		c->len = (size_t)n;
		c->bytes += (unsigned long long)n;
		if (r->tap)
			r->tap(r->tap_arg, (int)(c - r->chan), c->buf,
			    (size_t)n);
		if (c->broken) {
			c->len = 0;
			continue;
		}
		/*
		 * The output is usually ready: write now rather than after
		 * another poll(); read again only once all of it went out.
		 */
		if (c->out < 0)
			return 0;
		if ((hup = chan_write(c)) != 0 || c->len > 0)
			return hup;
		/*
		 * A short read drained the source (a keystroke, the end of
		 * a burst): wait in poll() rather than spend a read on EAGAIN.
		 */
		if ((size_t)n < sizeof(c->buf))
			return 0;
	}
	return 0;
}

static int
chan_write(struct relay_chan *c)
{
	ssize_t n = write(c->out, c->buf + c->off, c->len);

	if (n > 0) {
		c->off += (size_t)n;
		c->len -= (size_t)n;
		chan_finish(c);
		return 0;
	}
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	/* The reader is gone: drop what is pending, keep draining in. */
	c->broken = 1;
	c->len = 0;
	chan_finish(c);
	return (c->flags & CHAN_OUT_HUP) != 0;
}

enum relay_event
relay_run(struct relay *r, long long deadline_ns)
{
	struct pollfd pfd[2 * RELAY_MAX_CHANS + 1 + RELAY_MAX_EXTRA];
	int who[2 * RELAY_MAX_CHANS + 1 + RELAY_MAX_EXTRA], np, i, timeout;
	int done, hup = 0, sig = 0, extra = 0, nx;
	long long left;

	for (;;) {
		np = 0;
		done = 1;
		for (i = 0; i < r->nchan; i++) {
			struct relay_chan *c = &r->chan[i];
			if ((c->flags & CHAN_REQUIRED) && !chan_done(c))
				done = 0;
			if (c->len > 0 && c->out >= 0) {
				pfd[np].fd = c->out;
				pfd[np].events = POLLOUT;
			} else if (!c->eof) {
				pfd[np].fd = c->in;
				pfd[np].events = POLLIN;
			} else {
				continue;
			}
			who[np++] = i;
			/*
			 * An idle user side can vanish too (a pipe's reader
			 * closes): watch it for errors while nothing is due.
			 */
			if ((c->flags & CHAN_OUT_HUP) && c->len == 0 &&
			    !c->broken && c->out >= 0) {
				pfd[np].fd = c->out;
				pfd[np].events = 0;
				who[np++] = i;
			}
		}
		if (done)
			return RELAY_DONE;
		if (r->sigfd >= 0) {
			pfd[np].fd = r->sigfd;
			pfd[np].events = POLLIN;
			who[np++] = -1;
		}
		nx = r->nxfd < RELAY_MAX_EXTRA ? r->nxfd : RELAY_MAX_EXTRA;
		for (i = 0; i < nx; i++) {
			r->xfd[i].revents = 0;
			if (r->xfd[i].fd < 0)
				continue;
			pfd[np] = r->xfd[i];
			who[np++] = -2 - i;
		}
		timeout = -1;
		if (deadline_ns) {
			left = deadline_ns - when_mono_ns();
			if (left <= 0)
				return RELAY_TIMER;
			/* poll() takes an int of ms: wake up hourly at most. */
			left = (left + 999999) / 1000000;
			timeout = left > 3600 * 1000 ? 3600 * 1000 : (int)left;
		}
		if (poll(pfd, (nfds_t)np, timeout) == -1) {
			if (errno == EINTR)
				continue;
			err_set(ERR_SYS, "poll: %s", strerror(errno));
			return RELAY_ERROR;
		}
		for (i = 0; i < np; i++) {
			struct relay_chan *c;
			if (pfd[i].revents == 0)
				continue;
			if (who[i] == -1) {
				sig = 1;
				continue;
			}
			if (who[i] <= -2) {
				r->xfd[-2 - who[i]].revents = pfd[i].revents;
				extra = 1;
				continue;
			}
			c = &r->chan[who[i]];
			if (pfd[i].events == POLLOUT) {
				hup |= chan_write(c);
			} else if (pfd[i].events == POLLIN) {
				hup |= chan_read(r, c);
			} else if (!c->broken) {
				c->broken = 1;
				hup = 1;
			}
		}
		/* A hangup first: its channel will not report it again. */
		if (hup)
			return RELAY_HANGUP;
		if (sig)
			return RELAY_SIGNAL;
		if (extra)
			return RELAY_EXTRA;
	}
}
