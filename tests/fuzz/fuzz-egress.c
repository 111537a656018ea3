/*
 * libFuzzer target: the remote command quoting (decision 6). The input is
 * split at NUL bytes into words; egress_quote() must produce a string a
 * POSIX shell splits back into exactly those words. The unquoting below
 * is the shell's rule for what egress_quote() emits: single-quoted runs,
 * backslash-quoted characters outside them, words split at spaces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXW 32

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *words[MAXW], *q, *out, *o;
	const char *p;
	size_t i;
	int n = 0, w = 0, inword = 0;

	if (size > 4096 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	words[n++] = buf;
	for (i = 0; i < size && n < MAXW; i++)
		if (buf[i] == '\0')
			words[n++] = buf + i + 1;
	if ((q = egress_quote(words, n, EGRESS_QUOTE_ALL)) == NULL ||
	    (out = malloc(strlen(q) + 1)) == NULL)
		abort();
	/* Unquote q into out, checking word by word. */
	o = out;
	for (p = q;; p++) {
		if (*p == ' ' || *p == '\0') {
			if (!inword)
				abort();	/* every word is quoted, even "" */
			*o = '\0';
			if (w >= n || strcmp(out, words[w]) != 0)
				abort();
			w++;
			o = out;
			inword = 0;
			if (*p == '\0')
				break;
			continue;
		}
		inword = 1;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				*o++ = *p;
			if (*p != '\'')
				abort();
		} else if (*p == '\\' && p[1]) {
			*o++ = *++p;
		} else {
			abort();	/* anything else bare is unsafe */
		}
	}
	if (w != n)
		abort();
	free(out);
	free(q);
	free(buf);
	return 0;
}
