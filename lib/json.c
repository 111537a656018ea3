/*
 * json: minimal, always-valid JSON output.
 */
#include <string.h>

#include "json.h"
#include "text.h"
#include "when.h"

void
json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;
	uint32_t cp;

	fputc('"', f);
	while (n > 0) {
		l = text_utf8_next(p, n, &cp);
		if (l == 0) {
			fputs("\\ufffd", f);
			l = 1;
		} else if (cp == '"' || cp == '\\') {
			fputc('\\', f);
			fputc((int)cp, f);
		} else if (text_is_unsafe(cp)) {
			/* JSON read on a terminal shows it as it was stored. */
			fprintf(f, "\\u%04x", cp);
		} else {
			fwrite(p, 1, l, f);
		}
		p += l;
		n -= l;
	}
	fputc('"', f);
}

static void
key(FILE *f, int first, const char *k)
{
	if (!first)
		fputc(',', f);
	json_str(f, k);
	fputc(':', f);
}

void
json_kv_str(FILE *f, int first, const char *k, const char *value)
{
	key(f, first, k);
	json_str(f, value);
}

void
json_kv_int(FILE *f, int first, const char *k, long long value)
{
	key(f, first, k);
	fprintf(f, "%lld", value);
}

void
json_kv_bool(FILE *f, int first, const char *k, int value)
{
	key(f, first, k);
	fputs(value ? "true" : "false", f);
}

void
json_kv_time(FILE *f, int first, const char *k, time_t t)
{
	char buf[WHEN_ISO_LEN];

	key(f, first, k);
	if (t == 0)
		fputs("null", f);
	else
		json_str(f, when_iso(t, buf));
}
