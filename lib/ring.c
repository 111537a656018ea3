/* ring: a fixed ring of recent output (see ring.h). */
#include <string.h>

#include "ring.h"

void
ring_put(struct ring *r, const char *p, size_t n)
{
	size_t k;

	if (n >= RING_SIZE) {
		memcpy(r->buf, p + n - RING_SIZE, RING_SIZE);
		r->pos = 0;
		r->len = RING_SIZE;
		return;
	}
	k = RING_SIZE - r->pos < n ? RING_SIZE - r->pos : n;
	memcpy(r->buf + r->pos, p, k);
	memcpy(r->buf, p + k, n - k);
	r->pos = (r->pos + n) % RING_SIZE;
	r->len = r->len + n > RING_SIZE ? RING_SIZE : r->len + n;
}

size_t
ring_copy(const struct ring *r, char *out)
{
	size_t start = (r->pos + RING_SIZE - r->len) % RING_SIZE, k, skip = 0;
	char *nl;

	k = RING_SIZE - start < r->len ? RING_SIZE - start : r->len;
	memcpy(out, r->buf + start, k);
	memcpy(out + k, r->buf, r->len - k);
	if (r->len == RING_SIZE && (nl = memchr(out, '\n', r->len)) != NULL) {
		skip = (size_t)(nl - out) + 1;
		memmove(out, out + skip, r->len - skip);
	}
	return r->len - skip;
}
