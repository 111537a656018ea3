/*
 * ring: the last RING_SIZE bytes a session printed, so someone who
 * attaches sees the recent screens before the live stream. Fixed size,
 * inside the struct, never allocated; writing is a memcpy or two.
 */
#ifndef SSHGATE_RING_H
#define SSHGATE_RING_H

#include <stddef.h>

#define RING_SIZE	(64 * 1024)

struct ring {
	size_t pos;		/* where the next byte goes */
	size_t len;		/* bytes held, at most RING_SIZE */
	char buf[RING_SIZE];
};

void ring_put(struct ring *r, const char *p, size_t n);
/*
 * Copy what the ring holds, oldest first, into out (room for RING_SIZE).
 * Once the ring has wrapped, the copy starts after the first newline it
 * holds (when there is one), so a watcher does not start in the middle
 * of a line or an escape sequence. Returns the number of bytes copied.
 */
size_t ring_copy(const struct ring *r, char *out);

#endif
