/*
 * cast: the asciicast v2 writer and the event parser replay uses. See
 * cast.h for what the files promise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cast.h"
#include "err.h"
#include "text.h"

int
cast_open(struct cast_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	if ((w->buf = malloc(CAST_BUF)) == NULL)
		return err_set(ERR_SYS, "out of memory");
	return 0;
}

void
cast_close(struct cast_writer *w)
{
	free(w->buf);
	free(w->hdr);
	w->buf = w->hdr = NULL;
}

size_t
cast_queued(const struct cast_writer *w)
{
	return w->len;
}

int
cast_flush(struct cast_writer *w)
{
	size_t off = 0;
	ssize_t r;

	while (off < w->len) {
		r = write(w->fd, w->buf + off, w->len - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->err = r == -1 ? errno : ENOSPC;
			/* Keep the file whole: no half line stays on disk. */
			if (ftruncate(w->fd, w->good) == 0)
				lseek(w->fd, w->good, SEEK_SET);
			w->lost += (long long)w->pending;
			w->len = w->pending = 0;
			/* Without its header no line after it would play. */
			if (w->good == 0 && w->hdr) {
				memcpy(w->buf, w->hdr, w->hdrlen);
				w->len = w->hdrlen;
			}
			return err_set(ERR_SYS, "write recording: %s",
			    strerror(w->err));
		}
		off += (size_t)r;
	}
	w->good += (long long)w->len;
	w->bytes += (long long)w->len;
	w->len = w->pending = 0;
	return 0;
}

static void
put(struct cast_writer *w, const char *s, size_t n)
{
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Appends s as JSON string content; invalid UTF-8 becomes U+FFFD. */
static void
put_text(struct cast_writer *w, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *o = w->buf + w->len;
	uint32_t cp;
	size_t i = 0, k;

	while (i < n) {
		unsigned char c = s[i];
		size_t j;

		/* Most output is plain text: copy a whole run at once. */
		for (j = i; j < n && s[j] >= 0x20 && s[j] < 0x7f &&
		    s[j] != '"' && s[j] != '\\'; j++)
			;
		if (j > i) {
			memcpy(o, s + i, j - i);
			o += j - i;
			i = j;
			continue;
		}
		if (c < 0x80) {
			*o++ = '\\';
			switch (c) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			case '\b': *o++ = 'b'; break;
			default:
				*o++ = 'u'; *o++ = '0'; *o++ = '0';
				*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			}
			i++;
			continue;
		}
		if ((k = text_utf8_next(s + i, n - i, &cp)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else if (cp < 0xa0) {
			/* C1 controls: valid, but written visibly. */
			*o++ = '\\'; *o++ = 'u'; *o++ = '0'; *o++ = '0';
			*o++ = hex[cp >> 4]; *o++ = hex[cp & 15];
			i += k;
		} else {
			memcpy(o, s + i, k);
			o += k;
			i += k;
		}
	}
	w->len = (size_t)(o - w->buf);
}

/*
 * How many bytes at the end of s[0..n) start a UTF-8 sequence that more
 * input could still complete (0 when none).
 */
static size_t
incomplete_tail(const unsigned char *s, size_t n)
{
	size_t back, need, j;
	unsigned char c;

	for (back = 1; back <= 3 && back <= n; back++) {
		c = s[n - back];
		if ((c & 0xc0) == 0x80)
			continue;	/* a continuation byte: look further */
		need = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ?
		    3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (need <= back)
			return 0;
		/* The second byte's range narrows for these leads. */
		if (back >= 2) {
			unsigned char d = s[n - back + 1];
			if ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) ||
			    (c == 0xf0 && d < 0x90) || (c == 0xf4 && d > 0x8f))
				return 0;
		}
		for (j = n - back + 1; j < n; j++)
			if ((s[j] & 0xc0) != 0x80)
				return 0;
		return back;
	}
	return 0;
}

static int
room(struct cast_writer *w, size_t need)
{
	if (w->len + need <= CAST_BUF)
		return 0;
	if (cast_flush(w) == -1 && w->len + need > CAST_BUF)
		return -1;
	return 0;
}

static void
put_time(struct cast_writer *w, long long t_us)
{
	char num[48];
	int k;

	if (t_us < 0)
		t_us = 0;
	k = snprintf(num, sizeof(num), "[%lld.%06lld, ", t_us / 1000000,
	    t_us % 1000000);
	put(w, num, (size_t)k);
}

int
cast_event(struct cast_writer *w, long long t_us, char type,
    const char *data, size_t n)
{
	int st = type == 'i';
	unsigned char joined[CAST_CHUNK + 4];
	size_t total, keep;

	if (n > CAST_CHUNK)
		n = CAST_CHUNK;
	if (room(w, (n + 4) * 6 + 64) == -1) {
		w->lost += (long long)n;
		return -1;
	}
	memcpy(joined, w->carry[st], w->ncarry[st]);
	memcpy(joined + w->ncarry[st], data, n);
	total = w->ncarry[st] + n;
	keep = incomplete_tail(joined, total);
	w->ncarry[st] = keep;
	memcpy(w->carry[st], joined + total - keep, keep);
	total -= keep;
	if (total == 0)
		return 0;
	put_time(w, t_us);
	put(w, st ? "\"i\", \"" : "\"o\", \"", 6);
	put_text(w, joined, total);
	put(w, "\"]\n", 3);
	w->pending += n;
	return 0;
}

int
cast_resize(struct cast_writer *w, long long t_us, int cols, int rows)
{
	char s[48];
	int k;

	if (room(w, 96) == -1)
		return -1;
	put_time(w, t_us);
	k = snprintf(s, sizeof(s), "\"r\", \"%dx%d\"]\n", cols, rows);
	put(w, s, (size_t)k);
	return 0;
}

int
cast_marker(struct cast_writer *w, long long t_us, const char *label)
{
	size_t n = strnlen(label, 256);

	if (room(w, n * 6 + 64) == -1)
		return -1;
	put_time(w, t_us);
	put(w, "\"m\", \"", 6);
	put_text(w, (const unsigned char *)label, n);
	put(w, "\"]\n", 3);
	return 0;
}

int
cast_header(struct cast_writer *w, int width, int height, time_t start,
    const char *term, const char *title)
{
	char s[128];
	size_t from;
	int k;

	if (room(w, 6 * (256 + 512) + 256) == -1)
		return -1;
	from = w->len;
	k = snprintf(s, sizeof(s), "{\"version\": 2, \"width\": %d, "
	    "\"height\": %d, \"timestamp\": %lld", width, height,
	    (long long)start);
	put(w, s, (size_t)k);
	if (term) {
		put(w, ", \"env\": {\"TERM\": \"", 19);
		put_text(w, (const unsigned char *)term, strnlen(term, 256));
		put(w, "\"}", 2);
	}
	if (title) {
		put(w, ", \"title\": \"", 12);
		put_text(w, (const unsigned char *)title, strnlen(title, 512));
		put(w, "\"", 1);
	}
	put(w, "}\n", 2);
	free(w->hdr);
	if ((w->hdr = malloc(w->len - from)) != NULL) {
		w->hdrlen = w->len - from;
		memcpy(w->hdr, w->buf + from, w->hdrlen);
	}
	return 0;
}

int
cast_finish(struct cast_writer *w, long long t_us)
{
	int st;

	for (st = 0; st < 2; st++)
		if (w->ncarry[st] && room(w, 64) == 0) {
			put_time(w, t_us);
			put(w, st ? "\"i\", \"" : "\"o\", \"", 6);
			put(w, "\xef\xbf\xbd\"]\n", 6);
			w->ncarry[st] = 0;
		}
	return cast_flush(w);
}

/* ---- reading ---- */

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	return p;
}

static int
hexval(const char *p, const char *end, uint32_t *v)
{
	int i;

	if (end - p < 4)
		return -1;
	for (*v = 0, i = 0; i < 4; i++) {
		char c = p[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A JSON string at p (at its opening quote), decoded into out; returns
 * the position after the closing quote, or NULL. The decoded form is
 * never longer than the escaped one, so out needs (end - p) bytes.
 */
static const char *
json_string(const char *p, const char *end, char *out, size_t *outlen)
{
	uint32_t cp, lo;
	size_t n = 0;

	if (p >= end || *p++ != '"')
		return NULL;
	while (p < end && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		if (++p >= end)
			return NULL;
		switch (*p++) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			if (hexval(p, end, &cp) == -1)
				return NULL;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    hexval(p + 2, end, &lo) == 0 &&
			    lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;	/* a lone surrogate */
			}
			n += put_utf8(out + n, cp);
			break;
		default:
			return NULL;
		}
	}
	if (p >= end)
		return NULL;
	*outlen = n;
	return p + 1;
}

int
cast_parse_event(const char *line, size_t len, long long *t_us, char *type,
    char *out, size_t *outlen)
{
	const char *p = line, *end = line + len;
	char t[8];
	size_t tl;
	long long sec = 0, frac = 0;
	int digits = 0, any = 0;

	p = skip_ws(p, end);
	if (p >= end || *p++ != '[')
		goto bad;
	p = skip_ws(p, end);
	while (p < end && *p >= '0' && *p <= '9' && sec < 100000000000LL) {
		sec = sec * 10 + (*p++ - '0');
		any = 1;
	}
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			if (digits < 6) {
				frac = frac * 10 + (*p - '0');
				digits++;
				any = 1;
			}
	if (!any)
		goto bad;
	while (digits++ < 6)
		frac *= 10;
	p = skip_ws(p, end);
	if (p >= end || *p++ != ',')
		goto bad;
	p = skip_ws(p, end);
	/* The type: one character between quotes. */
	if (end - p < 3 || p[0] != '"' || p[2] != '"' ||
	    (unsigned char)p[1] < 0x20 || p[1] == '\\')
		goto bad;
	t[0] = p[1];
	p += 3;
	p = skip_ws(p, end);
	if (p >= end || *p++ != ',')
		goto bad;
	p = skip_ws(p, end);
	if ((p = json_string(p, end, out, &tl)) == NULL)
		goto bad;
	p = skip_ws(p, end);
	if (p >= end || *p++ != ']')
		goto bad;
	if (skip_ws(p, end) != end)
		goto bad;
	*t_us = sec * 1000000 + frac;
	*type = t[0];
	*outlen = tl;
	return 0;
bad:
	return err_set(ERR_USAGE, "not an asciicast v2 event line");
}

/* The integer after "key": in a header line; -1 when absent. */
static long long
header_int(const char *line, const char *key)
{
	char pat[32];
	const char *p;
	long long v = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return -1;
	for (p += strlen(pat); *p == ' '; p++)
		;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && v < 1000000000000LL; p++)
		v = v * 10 + (*p - '0');
	return v;
}

int
cast_parse_header(const char *line, struct cast_header_info *h)
{
	long long w = header_int(line, "width"), ht = header_int(line,
	    "height");

	if (strncmp(line, "{", 1) != 0 || header_int(line, "version") != 2 ||
	    w < 1 || w > 10000 || ht < 1 || ht > 10000)
		return err_set(ERR_USAGE, "not an asciicast v2 header");
	h->width = (int)w;
	h->height = (int)ht;
	h->timestamp = header_int(line, "timestamp");
	return 0;
}
