/*
 * Unit tests for lib/vtsafe: what replay lets through to a viewer's
 * terminal (THREATS B4, row 29, Decision 2). Each case is checked fed
 * whole, one byte at a time and cut in two at every position, since a
 * recording's events cut sequences anywhere; and the expected output,
 * fed again, must come back unchanged with nothing removed.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "text.h"
#include "vtsafe.h"

#define ESC	"\033"
#define CSI	"\033["
#define OSC	"\033]"
#define DCS	"\033P"
#define ST	"\033\\"

struct tcase {
	const char *in;
	size_t inlen;
	const char *want;
	size_t wantlen;
	unsigned long drops;	/* vtsafe_dropped() at the end */
};

#define T(in, want, drops) \
	{ in, sizeof(in) - 1, want, sizeof(want) - 1, drops }
#define P(in)	T(in, in, 0)

static const struct tcase cases[] = {
	/* What a session needs passes unchanged. */
	P("hello, world\r\n"),
	P("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0|"),
	P("\xe2\x80\x9b"),			/* 0x9b inside a character */
	P("\a\b\t\n\v\f\r\016\017"),
	P(CSI "0m" CSI "1;31m" CSI "38;5;208m" CSI "38;2;255;128;0;48;2;1;2;3m"
	    CSI "4:3m" CSI "58:2::1:2:3m" CSI "m"),
	P(CSI "A" CSI "2B" CSI "3C" CSI "4D" CSI "E" CSI "2F" CSI "5G"
	    CSI "10;20H" CSI "H" CSI "1;1f" CSI "7d" CSI "9`" CSI "3a" CSI "2e"
	    CSI "I" CSI "Z"),
	P(CSI "J" CSI "2J" CSI "3J" CSI "K" CSI "1K" CSI "5X" CSI "2P" CSI "3@"
	    CSI "L" CSI "2M" CSI "S" CSI "3T" CSI "?2J" CSI "?K" CSI "3g"),
	P(CSI "1;24r" CSI "r" CSI "s" CSI "u" "x" CSI "9999b"),
	P(CSI "?1049h" CSI "?25l" CSI "?25h" CSI "?1049l" CSI "?7h" CSI "?47h"
	    CSI "?1047l" CSI "?1048h" CSI "?12l" CSI "?2026h" CSI "?6;69h"
	    CSI "?5h" CSI "?45l" CSI "4h" CSI "4l" CSI "20l"),
	P(ESC "7" ESC "8" ESC "=" ESC ">" ESC "M" ESC "D" ESC "E" ESC "H"
	    ESC "c"),
	P(ESC "(B" ESC "(0" ESC ")0" ESC "*A" ESC "-A" ESC "(%5" ESC "#8"
	    ESC "#6"),
	P(CSI "2 q" CSI " q" CSI "!p"),

	/* THREATS row 29, verbatim. */
	/* less CVE-2022-46663: "ESC 0" ended the OSC, then XTVERSION. */
	T(OSC "8;;" ESC "0m" CSI ">0q", "m", 3),
	T(CSI "6n", "", 1),			/* asciinema #108 */
	T(CSI ">c", "", 1),
	T(CSI "21t", "", 1),
	T(OSC "52;c;?\a", "", 1),
	T(DCS "$qm" ST, "", 1),
	T(OSC "2;;wget x\a" CSI "21t", "", 2),	/* CVE-2003-0070 */
	T(ESC "}pn/tmp/x\0", "pn/tmp/x", 2),	/* Terminology popmedia */

	/* Queries and reports. */
	T("a" CSI "6nb", "ab", 1),
	T(CSI "5n" CSI "?6n" CSI "?15n" CSI ">1n", "", 4),
	T(CSI "c" CSI "0c" CSI ">0c" CSI "=c" CSI "=0c", "", 5),
	T(CSI ">q" CSI ">0q" CSI "q" CSI "1\"q", "", 4),
	T(CSI "14t" CSI "18t" CSI "8;100;200t" CSI "22;0t" CSI "1t" CSI ">3t",
	    "", 6),
	T(CSI "?2004$p" CSI "4$p" CSI "?1049$p", "", 3),
	T(DCS "$q\"p" ST DCS "$qr" ST, "", 2),
	T(DCS "+q544e;636f6c6f7273" ST, "", 1),
	T(ESC "Z" "\005", "", 2),		/* DECID, ENQ (answerback) */
	T(CSI "x" CSI "1x" CSI "1;1;1;1;1;1*y" CSI "1$w" CSI "1;2'z" CSI "'|",
	    "", 6),
	T(CSI ">4;2m" CSI "?4m" CSI "?u" CSI ">1u" CSI "=1;1u" CSI "<u", "", 6),
	T(CSI "5i" CSI "?5i" CSI "?5W", "", 3),
	T(CSI "62;1\"p" ESC " G" ESC " F" ESC "%@" ESC "%G", "", 5),
	T(CSI "?1s" CSI "?1r" CSI "#p" CSI "1$x", "", 4),

	/* Modes that only make the terminal report or change its keys. */
	T(CSI "?1000h" CSI "?1002h" CSI "?1003l" CSI "?1006h" CSI "?1015h"
	    CSI "?1016h" CSI "?9h" CSI "?1004h" CSI "?2004h" CSI "?1h"
	    CSI "?66h" CSI "?996h" CSI "?2048h" CSI "?2l" CSI "2h" CSI "12l",
	    "", 16),
	T(CSI "?1049;1000;25h", CSI "?1049;25h", 1),
	T(CSI "?1000;1006h", "", 1),
	T(CSI "4;2h", CSI "4h", 1),
	T(CSI "?25:1h" CSI "?;h" CSI "h" CSI "?999999h", "", 4),

	/* Every OSC, whatever its number or terminator. */
	T(OSC "0;title\a" OSC "1;icon\a" OSC "2;t" ST, "", 3),
	T(OSC "4;1;?\a" OSC "10;?\a" OSC "11;rgb:0/0/0\a" OSC "12;?" ST, "",
	    4),
	T(OSC "8;;http://x/" ST "link" OSC "8;;" ST, "link", 2),
	T(OSC "52;c;aGk=\a" OSC "7;file://h/p\a" OSC "9;4;1\a"
	    OSC "777;notify;a;b\a" OSC "1337;File=x\a" OSC "9999;?\a", "", 6),
	T(OSC "0;abc", "", 1),			/* never ended */
	T(OSC "0;abc\030def", "def", 1),	/* CAN */
	T(OSC "0;abc\032def", "def", 1),	/* SUB */
	T(OSC "0;abc" CSI "1mX", CSI "1mX", 1),	/* ESC ends the string */
	T(OSC "0;a" ESC ESC "7x", ESC "7x", 1),
	T(OSC "0;a" ESC "\n\\", "\n", 1),	/* controls act mid-ST */

	/* DCS, SOS, PM, APC. */
	T(DCS "q#0;2;0;0;0\a~~-" ST "ok", "ok", 1),	/* BEL is data */
	T(ESC "Xsos" ST ESC "^pm" ST ESC "_apc" ST, "", 3),
	T(DCS "tmux;" ESC ESC "]52;c;?\a" ST, "", 3),
	T(DCS "1000p", "", 1),

	/* 8-bit C1, raw and as UTF-8, and bytes that are not UTF-8. */
	T("a\x9b" "6nb", "a6nb", 1),
	T("\x9d" "0;x\a", "0;x\a", 1),
	T("\x90" "$qm\x9c", "$qm", 2),
	T("\xc2\x9b" "6n", "6n", 1),
	T("\xc2\x9d\xc2\x90\xc2\x85\xc2\x80\xc2\x9f", "", 5),
	T("\xff" "a\xfe", "?a?", 0),
	T("\xe2\x82" "A", "?A", 0),
	T("\xe2\x82", "?", 0),
	T("\xc0\xaf", "??", 0),
	T("\xed\xa0\x80", "??", 1),		/* surrogate; 0x80 is a C1 */
	T("\xf4\x90\x80\x80", "?", 3),
	T("\xf0\x9f\x98", "?", 0),

	/* Malformed and unknown sequences. */
	T(CSI "1\n;31m", "\n" CSI "1;31m", 0),	/* C0 acts at once */
	T(CSI "6\rn", "\r", 1),
	T(CSI "1\0m" "x", CSI "1mx", 1),
	T(CSI "1\177m", CSI "1m", 0),		/* DEL is ignored */
	T("a\177", "a", 1),
	T(ESC ESC "[1m", CSI "1m", 1),
	T(CSI "6" "\xc3\xa9n", "\xc3\xa9n", 1),
	T(CSI "6" "\xee", "?", 1),
	T(CSI "6\030n", "n", 1),
	T(CSI "1 A" CSI "1?h" CSI "1$2m" CSI "1 !\"q", "", 4),
	T(CSI "1;2;3;4;5T" CSI "1;2S" CSI "99999b" CSI "1;2b", "", 4),
	T(ESC "\\" ESC "N" ESC "n" ESC "|" ESC "6" ESC "l", "", 6),
	T(ESC "(" ESC "#9" ESC " L" ESC "(!%B", "", 4),
	T("abc" ESC, "abc", 1),
	T("abc" CSI "12;", "abc", 1),
	T(ESC "(", "", 1),
};

static char outbuf[3][16384];

/*
 * Filter in[0..n) fresh: a first call of first bytes, then calls of piece
 * bytes, then finish. Returns the output length; *drops the count.
 */
static size_t
filter(const char *in, size_t n, size_t first, size_t piece, char *out,
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
		CHECK(w <= len + VTSAFE_SLACK);
		o += w;
		off += len;
	}
	w = vtsafe_finish(&v, out + o);
	CHECK(w <= 1);
	o += w;
	*drops = vtsafe_dropped(&v);
	return o;
}

static int
same(const struct tcase *t, const char *how, size_t at, const char *got,
    size_t n, unsigned long drops, const char *want, size_t wantlen,
    unsigned long wantdrops)
{
	char a[4096], b[4096], c[4096];

	if (n == wantlen && memcmp(got, want, n) == 0 && drops == wantdrops)
		return 1;
	fprintf(stderr, "vtsafe(\"%s\") %s %zu: \"%s\" (%lu dropped), "
	    "want \"%s\" (%lu)\n", text_escape(a, sizeof(a), t->in, t->inlen),
	    how, at, text_escape(b, sizeof(b), got, n), drops,
	    text_escape(c, sizeof(c), want, wantlen), wantdrops);
	test_failures++;
	return 0;
}

static void
check_case(const struct tcase *t)
{
	unsigned long d;
	size_t n, k;

	n = filter(t->in, t->inlen, t->inlen, t->inlen, outbuf[0], &d);
	CHECK(n <= t->inlen);
	if (!same(t, "whole", 0, outbuf[0], n, d, t->want, t->wantlen,
	    t->drops))
		return;
	n = filter(t->in, t->inlen, 1, 1, outbuf[1], &d);
	if (!same(t, "bytewise", 0, outbuf[1], n, d, t->want, t->wantlen,
	    t->drops))
		return;
	for (k = 0; k <= t->inlen; k++) {
		n = filter(t->in, t->inlen, k, t->inlen, outbuf[1], &d);
		if (!same(t, "cut at", k, outbuf[1], n, d, t->want, t->wantlen,
		    t->drops))
			return;
	}
	/* What passed passes again, untouched: nothing half-judged. */
	n = filter(t->want, t->wantlen, t->wantlen, t->wantlen, outbuf[2], &d);
	same(t, "again", 0, outbuf[2], n, d, t->want, t->wantlen, 0);
}

/* Cases too long to spell out: the bounds. */
static void
bounds(void)
{
	static char in[8192];
	struct tcase t;
	size_t n, i;

	/* An OSC is given up after VTSAFE_STRING_MAX bytes. */
	n = (size_t)snprintf(in, sizeof(in), OSC "0;");
	memset(in + n, 'A', VTSAFE_STRING_MAX - 2);
	n += VTSAFE_STRING_MAX - 2;
	memcpy(in + n, "SEEN\a", 5);
	t = (struct tcase){ in, n + 5, "SEEN\a", 5, 1 };
	check_case(&t);
	t.inlen = n;
	t.want = "";
	t.wantlen = 0;
	check_case(&t);
	/* A BEL right at the bound still ends it. */
	memcpy(in + n, "\ax", 2);
	t = (struct tcase){ in, n + 2, "x", 1, 1 };
	check_case(&t);

	/* A CSI of VTSAFE_HOLD bytes passes; one more is dropped. */
	memcpy(in, CSI, 2);
	memset(in + 2, '0', VTSAFE_HOLD - 3);
	in[VTSAFE_HOLD - 1] = 'm';
	t = (struct tcase){ in, VTSAFE_HOLD, in, VTSAFE_HOLD, 0 };
	check_case(&t);
	memset(in + 2, '0', VTSAFE_HOLD - 2);
	in[VTSAFE_HOLD] = 'm';
	t = (struct tcase){ in, VTSAFE_HOLD + 1, "", 0, 1 };
	check_case(&t);

	/* VTSAFE_MAX_PARAMS fields pass; one more is dropped. */
	n = 2;
	for (i = 0; i < VTSAFE_MAX_PARAMS; i++) {
		in[n++] = '1';
		in[n++] = ';';
	}
	in[n - 1] = 'm';
	t = (struct tcase){ in, n, in, n, 0 };
	check_case(&t);
	in[n - 1] = ';';
	in[n++] = '1';
	in[n++] = 'm';
	t = (struct tcase){ in, n, "", 0, 1 };
	check_case(&t);
}

int
main(void)
{
	struct vtsafe v, zero;
	char out[64 + VTSAFE_SLACK];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	bounds();

	/* A zeroed struct is the ground state; finish returns to it. */
	memset(&zero, 0, sizeof(zero));
	n = vtsafe_filter(&zero, "x" CSI "6n", 5, out);
	CHECK(n == 1 && out[0] == 'x' && vtsafe_dropped(&zero) == 1);
	vtsafe_init(&v);
	n = vtsafe_filter(&v, OSC "0;never ended", 15, out);
	CHECK(n == 0);
	CHECK(vtsafe_finish(&v, out) == 0);
	n = vtsafe_filter(&v, "after", 5, out);
	CHECK(n == 5 && memcmp(out, "after", 5) == 0);
	CHECK(vtsafe_dropped(&v) == 1);
	n = vtsafe_filter(&v, "\xe2", 1, out);
	CHECK(n == 0);
	CHECK(vtsafe_finish(&v, out) == 1 && out[0] == '?');
	CHECK(vtsafe_finish(&v, out) == 0);

	/* A held CSI comes out of the call that completes it. */
	vtsafe_init(&v);
	CHECK(vtsafe_filter(&v, CSI "38;2;1;2", 10, out) == 0);
	n = vtsafe_filter(&v, ";3m", 3, out);
	CHECK(n == 13 && memcmp(out, CSI "38;2;1;2;3m", 13) == 0);
	return TEST_DONE();
}
