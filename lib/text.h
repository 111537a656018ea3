/*
 * text: UTF-8 checks and the one sanitizer for untrusted text on its way
 * to a terminal or a log line (THREATS B4, row 15).
 */
#ifndef SSHGATE_TEXT_H
#define SSHGATE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode one UTF-8 sequence at s (n bytes available). Returns its length
 * (1-4) and stores the code point in *cp, or 0 when the bytes there are not
 * a valid, shortest-form, non-surrogate sequence.
 */
size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Returns 1 when s[0..n) is valid UTF-8, else 0. */
int text_utf8_valid(const char *s, size_t n);
/*
 * Returns 1 for a code point no listing prints as it is: C0, DEL, C1
 * (U+009B is a CSI to some terminals) and the bidirectional controls
 * (embeddings, overrides, isolates, marks), which would show a stored
 * command reordered, as "Trojan Source" did to code review.
 */
int text_is_unsafe(uint32_t cp);
/* Returns 1 when s holds no byte below 0x20 and no 0x7f, else 0. */
int text_no_controls(const char *s);

/*
 * Copy src[0..n) into dst (dstlen bytes, always NUL-terminated), replacing
 * control characters (C0, DEL, C1), bidirectional controls, backslashes
 * and invalid UTF-8 bytes by \xNN / \\ escapes, so the result can go to a terminal or syslog as one
 * inert line. Output that does not fit is cut at a character boundary and
 * ends in "...". Returns dst.
 */
char *text_escape(char *dst, size_t dstlen, const char *src, size_t n);
/*
 * The same for log lines, but backslashes stay as they are: messages
 * often hold text already escaped by text_escape(), and escaping it twice
 * would make "\x1b" unreadable. Control bytes still never reach syslog.
 */
char *text_escape_log(char *dst, size_t dstlen, const char *src, size_t n);

#endif
