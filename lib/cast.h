/*
 * cast: asciicast v2, the asciinema file format, written and read.
 *
 * A recording is one JSON header line and one JSON array per event:
 * [seconds, "o", "text"] for output, "i" for input, "r" for a resize
 * ("COLSxROWS"). Every line is valid JSON and valid UTF-8 whatever the
 * target sends (THREATS row 30): bytes that are not UTF-8 become U+FFFD,
 * as asciinema's own recorder does, and a multibyte character split
 * across two reads is held back and joined, not mangled. Control bytes
 * are JSON-escaped, never dropped: the file stays faithful (decision 2);
 * making it safe for a terminal is replay's job (lib/vtsafe).
 *
 * The writer encodes into its own buffer and writes whole lines only: a
 * failed write (a full disk) truncates the file back to its last whole
 * line, so what is on disk always parses, and counts what was lost.
 */
#ifndef SSHGATE_CAST_H
#define SSHGATE_CAST_H

#include <stddef.h>
#include <time.h>

#define CAST_CHUNK	(64 * 1024)	/* largest event the writer takes */
/* Worst case of one event: every byte escaped as \u00XX, plus framing. */
#define CAST_BUF	(CAST_CHUNK * 6 + 256 + CAST_CHUNK)

struct cast_writer {
	int fd;
	long long good;		/* file offset after the last whole line */
	long long bytes;	/* written to this file */
	long long lost;		/* event bytes that did not reach the file */
	int err;		/* errno of the last failed write, 0: none */
	unsigned char carry[2][4];	/* incomplete UTF-8, per stream o / i */
	size_t ncarry[2];
	size_t len;		/* encoded, not yet written */
	size_t pending;		/* event bytes in buf, for lost */
	char *buf;		/* CAST_BUF bytes */
	char *hdr;		/* the header line, queued again while the */
	size_t hdrlen;		/* file holds nothing (its write failed) */
};

/* Start writing to fd (at offset 0). Returns 0, or -1 (out of memory). */
int cast_open(struct cast_writer *w, int fd);
/* Frees the buffer; does not close fd. Accepts a zeroed writer. */
void cast_close(struct cast_writer *w);
/*
 * Queue the header line. term and title are any bytes (NULL: left out):
 * they are escaped like event text.
 */
int cast_header(struct cast_writer *w, int width, int height, time_t start,
    const char *term, const char *title);
/*
 * Queue an event of n (at most CAST_CHUNK) bytes at t_us microseconds
 * after the start; type is 'o' or 'i'. Returns 0, or -1 when the buffer
 * would overflow and the flush to make room failed (the event is lost
 * and counted).
 */
int cast_event(struct cast_writer *w, long long t_us, char type,
    const char *data, size_t n);
int cast_resize(struct cast_writer *w, long long t_us, int cols, int rows);
/*
 * A marker event (asciicast v2 "m"): who joined, left or typed in a
 * shared session. label is the gate's own UTF-8 text, at most 256 bytes.
 */
int cast_marker(struct cast_writer *w, long long t_us, const char *label);
/* Bytes queued: flush when the caller has nothing better to do. */
size_t cast_queued(const struct cast_writer *w);
/*
 * Write what is queued. On failure the file is cut back to its last
 * whole line, the queued events are counted lost, w->err says why, and
 * -1 is returned; later events are tried again.
 */
int cast_flush(struct cast_writer *w);
/* End: a held incomplete character becomes U+FFFD; then flush. */
int cast_finish(struct cast_writer *w, long long t_us);

/* Reading, for replay. */
struct cast_header_info {
	int width, height;
	long long timestamp;
};
/* Parse a header line (NUL-terminated). Returns 0, or -1 (ERR_USAGE). */
int cast_parse_header(const char *line, struct cast_header_info *h);
/*
 * Parse one event line of len bytes. On success stores the time in
 * microseconds, the type character, and the decoded text in out (at
 * least len bytes, not NUL-terminated) with its length; returns 0.
 * Returns -1 (ERR_USAGE) for anything that is not [number, "x", "text"].
 */
int cast_parse_event(const char *line, size_t len, long long *t_us,
    char *type, char *out, size_t *outlen);

#endif
