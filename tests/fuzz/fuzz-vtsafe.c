/*
 * libFuzzer target: lib/vtsafe on arbitrary session output. Fed whole,
 * cut in two at a point taken from the data, and one byte at a time, it
 * must give the same bytes; what it gives must hold no string, query or
 * C1 control a viewer's terminal could act on, and must pass through
 * the filter again unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vtsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Filter in[0..n) fresh, cut at each multiple of piece after first. */
static size_t
run(const char *in, size_t n, size_t first, size_t piece, char *out,
    unsigned long *drops)
{
	struct vtsafe v;
	size_t off = 0, len, o = 0, w;
	int calls = 0;

	vtsafe_init(&v);
	while (calls == 0 || off < n) {
		len = calls++ == 0 ? first : piece;
		if (len > n - off)
			len = n - off;
		w = vtsafe_filter(&v, in + off, len, out + o);
		if (w > len + VTSAFE_SLACK)
			abort();
		o += w;
		off += len;
	}
	o += vtsafe_finish(&v, out + o);
	if (o > n)
		abort();
	*drops = vtsafe_dropped(&v);
	return o;
}

/* A DEC private mode that only makes the terminal report. */
static int
reporting_mode(unsigned long m)
{
	return m == 9 || (m >= 1000 && m <= 1006) || m == 1015 ||
	    m == 1016 || m == 2004;
}

/* Abort unless s[0..n) is safe for a terminal. */
static void
check(const unsigned char *s, size_t n)
{
	size_t i, j, l;
	unsigned char prefix, inter, f;
	unsigned long m;
	uint32_t cp;

	/* Valid UTF-8, so 0x80-0x9f only as continuation bytes. */
	for (i = 0; i < n; i += l) {
		if ((l = text_utf8_next(s + i, n - i, &cp)) == 0 ||
		    (cp >= 0x80 && cp <= 0x9f))
			abort();
	}
	for (i = 0; i < n; i++) {
		if (s[i] == 0x7f || (s[i] < 0x20 && s[i] != 0x1b &&
		    (s[i] < 0x07 || s[i] > 0x0f)))
			abort();
		if (s[i] != 0x1b)
			continue;
		if (i + 1 == n || strchr("]PX^_Z\\", s[i + 1]) != NULL)
			abort();
		if (s[i + 1] != '[')
			continue;
		j = i + 2;
		prefix = inter = 0;
		if (j < n && s[j] >= 0x3c && s[j] <= 0x3f)
			prefix = s[j++];
		for (; j < n && s[j] >= 0x30 && s[j] <= 0x3f; j++)
			;
		for (; j < n && s[j] >= 0x20 && s[j] <= 0x2f; j++)
			inter = s[j];
		if (j == n || s[j] < 0x40 || s[j] > 0x7e)
			abort();	/* a CSI cut short */
		f = s[j];
		if (f == 'n' || f == 'c' || f == 't' || f == 'x' ||
		    (f == 'q' && prefix == '>') || (f == 'p' && inter == '$') ||
		    (f == 'y' && inter == '*'))
			abort();
		if (prefix == '?' && (f == 'h' || f == 'l')) {
			m = 0;
			for (j = i + 3; s[j] != f; j++) {
				if (s[j] == ';') {
					if (reporting_mode(m))
						abort();
					m = 0;
				} else if (m < 100000) {
					m = m * 10 + (s[j] - '0');
				}
			}
			if (reporting_mode(m))
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned long d1, d2, d3, d4;
	size_t n1, n2, n3, n4, cut;
	char *o1, *o2, *o3, *o4;

	if (size == 0)
		return 0;
	/* The data stays whole; the cut comes from its ends. */
	cut = (((size_t)data[0] << 8) | data[size - 1]) % (size + 1);
	o1 = malloc(size + VTSAFE_SLACK);
	o2 = malloc(size + VTSAFE_SLACK);
	o3 = malloc(size + VTSAFE_SLACK);
	o4 = malloc(size + VTSAFE_SLACK);
	if (o1 == NULL || o2 == NULL || o3 == NULL || o4 == NULL)
		abort();
	n1 = run(in, size, size, size, o1, &d1);
	n2 = run(in, size, cut, size, o2, &d2);
	n3 = run(in, size, 1, 1, o3, &d3);
	if (n1 != n2 || n1 != n3 || memcmp(o1, o2, n1) != 0 ||
	    memcmp(o1, o3, n1) != 0 || d1 != d2 || d1 != d3)
		abort();
	check((const unsigned char *)o1, n1);
	/* Idempotent: nothing it emits is judged differently the next time. */
	n4 = run(o1, n1, n1, n1, o4, &d4);
	if (n4 != n1 || memcmp(o1, o4, n1) != 0 || d4 != 0)
		abort();
	free(o1);
	free(o2);
	free(o3);
	free(o4);
	return 0;
}
