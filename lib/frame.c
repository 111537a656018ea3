/*
 * frame: the attach socket's frames (see frame.h). Parsing never
 * allocates and looks only at the bytes it is given.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "frame.h"

long
frame_take(const char *buf, size_t len, int *type, const char **payload,
    size_t *plen)
{
	const unsigned char *b = (const unsigned char *)buf;
	unsigned long n;

	if (len < FRAME_HDR)
		return 0;
	if ((b[0] != FRAME_HELLO && b[0] != FRAME_INPUT &&
	    b[0] != FRAME_RECHECK) || b[1] || b[2] || b[3])
		return err_set(ERR_USAGE, "bad frame type");
	n = (unsigned long)b[4] << 24 | (unsigned long)b[5] << 16 |
	    (unsigned long)b[6] << 8 | b[7];
	if (n > FRAME_MAX)
		return err_set(ERR_USAGE, "frame of %lu bytes (the most is %d)",
		    n, FRAME_MAX);
	if (len - FRAME_HDR < n)
		return 0;
	*type = b[0];
	*payload = buf + FRAME_HDR;
	*plen = n;
	return (long)(FRAME_HDR + n);
}

void
frame_header(char hdr[FRAME_HDR], int type, size_t plen)
{
	hdr[0] = (char)type;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (char)(plen >> 24);
	hdr[5] = (char)(plen >> 16);
	hdr[6] = (char)(plen >> 8);
	hdr[7] = (char)plen;
}

int
frame_hello_format(const struct frame_hello *h, char *out, size_t size)
{
	int n = snprintf(out, size, "%lld %d %s", h->user_id, h->rw ? 1 : 0,
	    h->user);

	if (n < 0 || (size_t)n >= size)
		return err_set(ERR_USAGE, "hello too long");
	return n;
}

int
frame_hello_parse(const char *payload, size_t plen, struct frame_hello *out)
{
	char text[FRAME_MAX + 1];
	const char *name;
	long long id = 0;
	size_t i = 0;

	memcpy(text, payload, plen);
	text[plen] = '\0';
	if (strlen(text) != plen)
		return err_set(ERR_USAGE, "bad hello");
	/* A decimal id without sign or leading zero, bounded. */
	if (text[0] < '1' || text[0] > '9')
		return err_set(ERR_USAGE, "bad hello");
	for (; text[i] >= '0' && text[i] <= '9'; i++) {
		if (i >= 18)
			return err_set(ERR_USAGE, "bad hello");
		id = id * 10 + (text[i] - '0');
	}
	if (text[i] != ' ' || (text[i + 1] != '0' && text[i + 1] != '1') ||
	    text[i + 2] != ' ')
		return err_set(ERR_USAGE, "bad hello");
	name = text + i + 3;
	if (strlen(name) > NAME_MAX_LEN || name_check("user", name) == -1)
		return err_set(ERR_USAGE, "bad hello");
	out->user_id = id;
	out->rw = text[i + 1] == '1';
	strcpy(out->user, name);
	return 0;
}
