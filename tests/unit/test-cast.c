/*
 * Unit tests for lib/cast: every line the writer produces is valid JSON
 * and valid UTF-8 whatever the bytes (THREATS row 30), a character split
 * across two events is joined, a failed write leaves only whole lines,
 * and the parser reads back exactly what was written.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cast.h"
#include "test.h"
#include "text.h"

static char *
slurp(int fd, size_t *len)
{
	static char buf[1 << 20];
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	r = read(fd, buf, sizeof(buf) - 1);
	*len = r > 0 ? (size_t)r : 0;
	buf[*len] = '\0';
	return buf;
}

/* Decode every "o" event after the header and join their text. */
static size_t
replay(const char *file, size_t len, char *out, int *bad)
{
	const char *p = file, *nl;
	char type, *text = malloc(len + 1);
	long long t, last = -1;
	size_t n = 0, tl;
	int line = 0;

	*bad = 0;
	for (; p < file + len; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(file + len - p));
		CHECK(nl != NULL);
		if (nl == NULL)
			break;
		CHECK(text_utf8_valid(p, (size_t)(nl - p)));
		if (line == 0)
			continue;
		if (cast_parse_event(p, (size_t)(nl - p), &t, &type, text,
		    &tl) == -1) {
			(*bad)++;
			continue;
		}
		CHECK(t >= last);
		last = t;
		if (type == 'o') {
			memcpy(out + n, text, tl);
			n += tl;
		}
	}
	free(text);
	return n;
}

static int
memfd(void)
{
	return memfd_create("cast", 0);
}

static void
test_roundtrip(void)
{
	struct cast_writer w;
	struct cast_header_info h;
	const char *s = "plain \"quoted\" \\ back\r\n\ttab \x1b[31mred\x1b[0m "
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\x01";
	char out[4096], *file;
	size_t len, n;
	int fd = memfd(), bad;

	CHECK(cast_open(&w, fd) == 0);
	CHECK(cast_header(&w, 120, 40, 1764000000, "xterm\",\"x\":\"\x1b",
	    "t\n") == 0);
	/* Split inside the UTF-8 sequences: é, € and the emoji. */
	CHECK(cast_event(&w, 1000, 'o', s, 38) == 0);
	CHECK(cast_event(&w, 2000, 'o', s + 38, 8) == 0);
	CHECK(cast_event(&w, 2500, 'o', s + 46, strlen(s) - 46) == 0);
	CHECK(cast_resize(&w, 3000, 100, 30) == 0);
	CHECK(cast_finish(&w, 4000) == 0);
	file = slurp(fd, &len);
	CHECK(cast_parse_header(file, &h) == 0);
	CHECK(h.width == 120 && h.height == 40 && h.timestamp == 1764000000);
	/* The hostile TERM stays inside its string (row 30). */
	CHECK(strstr(file, "\"x\":") == NULL);
	n = replay(file, len, out, &bad);
	CHECK(bad == 0);
	CHECK(n == strlen(s) && memcmp(out, s, n) == 0);
	CHECK(strstr(file, "\"r\", \"100x30\"") != NULL);
	CHECK(w.lost == 0 && w.bytes == (long long)len);
	cast_close(&w);
	close(fd);
}

static void
test_binary(void)
{
	struct cast_writer w;
	unsigned char bin[4096];
	char out[4096 * 3], *file;
	size_t len, i, n;
	int fd = memfd(), bad, k;

	srand(7);
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)rand();
	CHECK(cast_open(&w, fd) == 0);
	cast_header(&w, 80, 24, 0, NULL, NULL);
	for (i = 0, k = 1; i < sizeof(bin); i += (size_t)k, k = k * 3 % 97 + 1)
		cast_event(&w, (long long)i, 'o', (char *)bin + i,
		    i + (size_t)k > sizeof(bin) ? sizeof(bin) - i : (size_t)k);
	CHECK(cast_finish(&w, 99999) == 0);
	file = slurp(fd, &len);
	n = replay(file, len, out, &bad);
	CHECK(bad == 0);
	CHECK(text_utf8_valid(out, n));
	cast_close(&w);
	close(fd);
}

/* A split sequence at the very end becomes U+FFFD, not garbage. */
static void
test_trailing_partial(void)
{
	struct cast_writer w;
	char out[64], *file;
	size_t len, n;
	int fd = memfd(), bad;

	CHECK(cast_open(&w, fd) == 0);
	cast_header(&w, 80, 24, 0, NULL, NULL);
	cast_event(&w, 1, 'o', "ab\xe2\x82", 4);
	CHECK(cast_finish(&w, 2) == 0);
	file = slurp(fd, &len);
	n = replay(file, len, out, &bad);
	CHECK(bad == 0);
	CHECK(n == 5 && memcmp(out, "ab\xef\xbf\xbd", 5) == 0);
	cast_close(&w);
	close(fd);
}

/* A write that fails leaves the file with whole lines only. */
static void
test_failed_write(void)
{
	struct cast_writer w;
	int p[2];

	CHECK(pipe(p) == 0);
	close(p[0]);
	CHECK(cast_open(&w, p[1]) == 0);
	cast_header(&w, 80, 24, 0, NULL, NULL);
	cast_event(&w, 1, 'o', "hello", 5);
	signal(SIGPIPE, SIG_IGN);
	CHECK(cast_flush(&w) == -1);
	/* The header waits for the next try: the file has nothing yet. */
	CHECK(w.lost == 5 && w.err != 0 && cast_queued(&w) == w.hdrlen);
	CHECK(w.hdrlen > 0 && memcmp(w.buf, "{\"version\": 2", 13) == 0);
	cast_close(&w);
	close(p[1]);
}

static void
test_parse(void)
{
	char out[64], type;
	long long t;
	size_t n;
	static const char *const bad[] = {
		"", "[", "[1.0, \"o\"]", "[1.0, \"o\", \"x\"", "[x, \"o\", \"\"]",
		"[1.0, \"oo\", \"\"]", "[1.0, \"o\", \"\\q\"]",
		"[1.0, \"o\", \"\\u12\"]", "[1.0, \"o\", \"a\"] x",
		"[1.0, \"o\", \"tab\there\"]",
	};
	size_t i;
	const char *ok = "[1.5, \"o\", \"a\\u00e9\\ud83d\\ude00\\n\"]";

	CHECK(cast_parse_event(ok, strlen(ok), &t, &type, out, &n) == 0);
	CHECK(t == 1500000 && type == 'o');
	CHECK(n == 8 && memcmp(out, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
	CHECK(cast_parse_event("[0.000001,\"i\",\"\\udc00\"]", 23, &t, &type,
	    out, &n) == 0);
	CHECK(t == 1 && type == 'i' && n == 3 &&
	    memcmp(out, "\xef\xbf\xbd", 3) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(cast_parse_event(bad[i], strlen(bad[i]), &t, &type, out,
		    &n) == -1);
	{
		struct cast_header_info h;
		CHECK(cast_parse_header("{\"version\": 1, \"width\": 80, "
		    "\"height\": 24}", &h) == -1);
		CHECK(cast_parse_header("{\"version\": 2, \"width\": 0, "
		    "\"height\": 24}", &h) == -1);
	}
}

int
main(void)
{
	test_roundtrip();
	test_binary();
	test_trailing_partial();
	test_failed_write();
	test_parse();
	return TEST_DONE();
}
