/*
 * libFuzzer target: what a peer of the attach socket sends. Frames are
 * taken one after the other as the session does; a frame is never longer
 * than what was given or than FRAME_MAX, and a parsed hello formats back
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *payload;
	char again[FRAME_MAX];
	struct frame_hello h;
	size_t off = 0, plen;
	long n;
	int type;

	while ((n = frame_take(buf + off, size - off, &type, &payload,
	    &plen)) > 0) {
		if ((size_t)n > size - off || plen > FRAME_MAX ||
		    (size_t)n != FRAME_HDR + plen)
			abort();
		if (type == FRAME_HELLO &&
		    frame_hello_parse(payload, plen, &h) == 0 &&
		    (frame_hello_format(&h, again, sizeof(again)) != (int)plen ||
		    memcmp(again, payload, plen) != 0))
			abort();
		off += (size_t)n;
	}
	return 0;
}
