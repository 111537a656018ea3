/*
 * Unit tests for lib/ring and lib/frame: the recent-output ring keeps the
 * newest bytes in order whatever the write sizes; frames are taken whole,
 * bounded, and a hostile header never asks for memory.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "ring.h"
#include "test.h"

static void
test_ring(void)
{
	static struct ring r;
	static char out[RING_SIZE], want[3 * RING_SIZE];
	size_t i, n, total = 0, k;

	CHECK(ring_copy(&r, out) == 0);
	ring_put(&r, "abc", 3);
	CHECK(ring_copy(&r, out) == 3 && memcmp(out, "abc", 3) == 0);
	memset(&r, 0, sizeof(r));
	/* Odd sizes across the wrap: the newest RING_SIZE bytes, in order. */
	for (i = 0; i < sizeof(want); i++)
		want[i] = (char)('a' + i % 23);
	for (i = 1; total < sizeof(want); i = i * 7 % 5003 + 1) {
		n = i < sizeof(want) - total ? i : sizeof(want) - total;
		ring_put(&r, want + total, n);
		total += n;
	}
	/* No newline in it: nothing is skipped. */
	CHECK(ring_copy(&r, out) == RING_SIZE);
	CHECK(memcmp(out, want + sizeof(want) - RING_SIZE, RING_SIZE) == 0);
	/* Once wrapped, the copy starts after the first newline. */
	ring_put(&r, "\x1b[31mtail\nnext line", 19);
	k = ring_copy(&r, out);
	CHECK(k == 9 && memcmp(out, "next line", 9) == 0);
	/* One write larger than the ring keeps its end. */
	ring_put(&r, want, sizeof(want));
	CHECK(ring_copy(&r, out) == RING_SIZE);
	CHECK(memcmp(out, want + sizeof(want) - RING_SIZE, RING_SIZE) == 0);
}

static void
test_frame(void)
{
	char buf[FRAME_HDR + FRAME_MAX + 16], p[FRAME_MAX];
	const char *payload;
	struct frame_hello h = { 42, 1, "bob" }, back;
	size_t plen, cut;
	int type, n;

	n = frame_hello_format(&h, p, sizeof(p));
	CHECK(n == 8);
	frame_header(buf, FRAME_HELLO, (size_t)n);
	memcpy(buf + FRAME_HDR, p, (size_t)n);
	/* Not there yet at any cut, whole at the end. */
	for (cut = 0; cut < FRAME_HDR + (size_t)n; cut++)
		CHECK(frame_take(buf, cut, &type, &payload, &plen) == 0);
	CHECK(frame_take(buf, FRAME_HDR + (size_t)n, &type, &payload,
	    &plen) == FRAME_HDR + n);
	CHECK(type == FRAME_HELLO && plen == (size_t)n);
	CHECK(frame_hello_parse(payload, plen, &back) == 0);
	CHECK(back.user_id == 42 && back.rw == 1 &&
	    strcmp(back.user, "bob") == 0);

	/* A 4 GiB announcement is refused from its header alone. */
	memcpy(buf, "I\0\0\0\xff\xff\xff\xff", 8);
	CHECK(frame_take(buf, 8, &type, &payload, &plen) == -1);
	frame_header(buf, FRAME_INPUT, FRAME_MAX + 1);
	CHECK(frame_take(buf, 8, &type, &payload, &plen) == -1);
	frame_header(buf, 'X', 1);
	CHECK(frame_take(buf, 9, &type, &payload, &plen) == -1);
	frame_header(buf, FRAME_INPUT, 0);
	buf[2] = 1;
	CHECK(frame_take(buf, 8, &type, &payload, &plen) == -1);
	frame_header(buf, FRAME_RECHECK, 0);
	CHECK(frame_take(buf, 8, &type, &payload, &plen) == 8);

	/* Hellos: strict. */
	CHECK(frame_hello_parse("7 0 alice", 9, &back) == 0 && !back.rw);
	CHECK(frame_hello_parse("07 0 alice", 10, &back) == -1);
	CHECK(frame_hello_parse("-7 0 alice", 10, &back) == -1);
	CHECK(frame_hello_parse("7 2 alice", 9, &back) == -1);
	CHECK(frame_hello_parse("7 1 al ice", 10, &back) == -1);
	CHECK(frame_hello_parse("7 1 a\0b", 7, &back) == -1);
	CHECK(frame_hello_parse("7 1 ", 4, &back) == -1);
	CHECK(frame_hello_parse("7 1 -x", 6, &back) == -1);
	CHECK(frame_hello_parse("9999999999999999999 1 a", 23, &back) == -1);
}

int
main(void)
{
	test_ring();
	test_frame();
	return TEST_DONE();
}
