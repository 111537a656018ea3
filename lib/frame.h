/*
 * frame: what an attaching gate-shell sends to a live session's socket.
 *
 * The session's side (gate-shell/share.c) reads frames from peers it
 * does not otherwise trust to be well-behaved: every frame is an 8-byte
 * header (type, three zero bytes, a big-endian 32-bit length) and at
 * most FRAME_MAX bytes of payload. A frame with an unknown type, a
 * non-zero pad or a longer payload is refused whole, so a peer that
 * announces 4 GiB is dropped before anything is allocated (THREATS row
 * 19). The session sends back plain terminal bytes, no frames.
 */
#ifndef SSHGATE_FRAME_H
#define SSHGATE_FRAME_H

#include <stddef.h>

#include "name.h"

#define FRAME_HDR	8
#define FRAME_MAX	4096

enum {
	FRAME_HELLO = 'H',	/* "USER_ID RW NAME": who joins, and how */
	FRAME_INPUT = 'I',	/* keys of a read-write watcher */
	FRAME_RECHECK = 'R',	/* shares changed: check every watcher again */
};

/* A parsed hello. */
struct frame_hello {
	long long user_id;
	int rw;
	char user[NAME_MAX_LEN + 1];
};

/*
 * Look at buf[0..len): returns the size of the whole first frame (header
 * and payload) with *type, *payload and *plen set, 0 when more bytes are
 * needed, -1 with an error for a frame that can never be valid.
 */
long frame_take(const char *buf, size_t len, int *type, const char **payload,
    size_t *plen);
/*
 * Write a frame header for a payload of plen bytes (<= FRAME_MAX) into
 * hdr[FRAME_HDR].
 */
void frame_header(char hdr[FRAME_HDR], int type, size_t plen);
/* Build or parse a hello payload. Returns its length / 0, or -1. */
int frame_hello_format(const struct frame_hello *h, char *out, size_t size);
int frame_hello_parse(const char *payload, size_t plen,
    struct frame_hello *out);

#endif
