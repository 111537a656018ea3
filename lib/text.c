/*
 * text: UTF-8 validation and terminal-safe escaping. Everything sshgate
 * prints from stored or client-supplied data passes through text_escape().
 */
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

int
text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t l;

	while (n > 0) {
		if ((l = text_utf8_next(p, n, &cp)) == 0)
			return 0;
		p += l;
		n -= l;
	}
	return 1;
}

/* What reorders the text around it on a terminal. */
static int
is_bidi(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int
text_is_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || is_bidi(cp);
}

int
text_no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static char *
escape(char *dst, size_t dstlen, const char *src, size_t n, int backslash)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, l;
	uint32_t cp;
	char tmp[16];
	size_t tl, i;

	if (dstlen == 0)
		return dst;
	while (n > 0) {
		l = text_utf8_next(p, n, &cp);
		if (l == 0 || text_is_unsafe(cp)) {
			/* Invalid: one byte, then resynchronise; else all. */
			if (l == 0)
				l = 1;
			for (i = 0, tl = 0; i < l; i++, tl += 4)
				snprintf(tmp + tl, sizeof(tmp) - tl, "\\x%02x",
				    p[i]);
		} else if (cp == '\\' && backslash) {
			memcpy(tmp, "\\\\", 2);
			tl = 2;
		} else {
			memcpy(tmp, p, l);
			tl = l;
		}
		if (o + tl + 4 > dstlen) {
			if (dstlen >= 4) {
				while (o + 4 > dstlen)
					o--;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
		p += l;
		n -= l;
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}

char *
text_escape(char *dst, size_t dstlen, const char *src, size_t n)
{
	return escape(dst, dstlen, src, n, 1);
}

char *
text_escape_log(char *dst, size_t dstlen, const char *src, size_t n)
{
	return escape(dst, dstlen, src, n, 0);
}
