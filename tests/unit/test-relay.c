/*
 * Unit tests for lib/relay: bytes pass unchanged and counted, EOF is
 * passed on (CHAN_CLOSE_OUT), a slow reader slows the writer instead of
 * growing memory, and the loop returns for deadlines, its signal fd, a
 * user side hanging up, and the caller's own fds (the share hub's).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay.h"
#include "when.h"
#include "test.h"

#define TOTAL (4 * 1024 * 1024)

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static uint32_t
mix(uint32_t h, const unsigned char *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

int
main(void)
{
	static struct relay r;
	unsigned char buf[8192];
	int a[2], b[2], res[2], sig[2];
	uint32_t want = 2166136261u, got;
	pid_t w, rd;
	size_t i, n;
	ssize_t k;
	enum relay_event ev;

	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(res) == 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n < TOTAL; n += sizeof(buf))
		want = mix(want, buf, sizeof(buf));
	if ((w = fork()) == 0) {	/* the writer */
		close(a[0]);
		for (n = 0; n < TOTAL; n += sizeof(buf))
			if (write(a[1], buf, sizeof(buf)) != sizeof(buf))
				_exit(1);
		_exit(0);
	}
	if ((rd = fork()) == 0) {	/* a slow reader, hashing */
		uint32_t h = 2166136261u;
		close(b[1]);
		close(a[0]);
		close(a[1]);
		usleep(200000);
		while ((k = read(b[0], buf, 1000)) > 0)
			h = mix(h, buf, (size_t)k);
		(void)!write(res[1], &h, sizeof(h));
		_exit(0);
	}
	close(a[1]);
	close(b[0]);
	close(res[1]);
	nonblock(a[0]);
	nonblock(b[1]);
	r.sigfd = -1;
	CHECK(relay_add(&r, a[0], b[1], CHAN_REQUIRED | CHAN_CLOSE_OUT) != NULL);
	ev = relay_run(&r, 0);
	CHECK(ev == RELAY_DONE);
	CHECK(r.chan[0].bytes == TOTAL);
	CHECK(r.chan[0].out == -1);	/* closed: the reader saw EOF */
	CHECK(read(res[0], &got, sizeof(got)) == sizeof(got));
	CHECK(got == want);
	waitpid(w, NULL, 0);
	waitpid(rd, NULL, 0);
	close(a[0]);

	/* Nothing moves: the deadline, then the signal fd, then a hangup. */
	memset(&r, 0, sizeof(r));
	CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(sig) == 0);
	nonblock(a[0]);
	nonblock(b[1]);
	r.sigfd = sig[0];
	relay_add(&r, a[0], b[1], CHAN_IN_HUP | CHAN_REQUIRED);
	CHECK(relay_run(&r, when_mono_ns() + 50 * 1000000LL) == RELAY_TIMER);
	CHECK(write(sig[1], "x", 1) == 1);
	CHECK(relay_run(&r, 0) == RELAY_SIGNAL);
	CHECK(read(sig[0], buf, 1) == 1);
	close(a[1]);
	CHECK(relay_run(&r, 0) == RELAY_HANGUP);
	CHECK(relay_run(&r, 0) == RELAY_DONE);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	close(sig[0]);
	close(sig[1]);

	/* The user side's reader goes away while idle: a hangup too. */
	memset(&r, 0, sizeof(r));
	CHECK(pipe(a) == 0 && pipe(b) == 0);
	nonblock(a[0]);
	nonblock(b[1]);
	r.sigfd = -1;
	relay_add(&r, a[0], b[1], CHAN_OUT_HUP | CHAN_REQUIRED);
	close(b[0]);
	CHECK(relay_run(&r, when_mono_ns() + 2000 * 1000000LL) == RELAY_HANGUP);
	close(a[0]);
	close(a[1]);
	close(b[1]);

	/* The caller's own fds: polled in the same round, revents handed back. */
	{
		struct pollfd x[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
		int e[2];

		memset(&r, 0, sizeof(r));
		CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(e) == 0);
		nonblock(a[0]);
		nonblock(b[1]);
		r.sigfd = -1;
		relay_add(&r, a[0], b[1], CHAN_REQUIRED);
		x[1] = (struct pollfd){ .fd = e[0], .events = POLLIN };
		r.xfd = x;
		r.nxfd = 3;
		CHECK(relay_run(&r, when_mono_ns() + 50 * 1000000LL) ==
		    RELAY_TIMER);
		CHECK(write(e[1], "x", 1) == 1);
		CHECK(relay_run(&r, 0) == RELAY_EXTRA);
		CHECK(x[1].revents == POLLIN && x[0].revents == 0);
		/* Bytes still move while the caller's fds are quiet. */
		CHECK(read(e[0], buf, 1) == 1);
		CHECK(write(a[1], "hello", 5) == 5);
		close(a[1]);
		CHECK(relay_run(&r, 0) == RELAY_DONE);
		CHECK(read(b[0], buf, sizeof(buf)) == 5);
		CHECK(x[1].revents == 0);
		close(a[0]);
		close(b[0]);
		close(b[1]);
		close(e[0]);
		close(e[1]);
	}
	return TEST_DONE();
}
