/*
 * Unit tests for lib/text and lib/json: the sanitizer every printed or
 * logged piece of untrusted text goes through (THREATS B4, row 15), and
 * JSON that stays valid whatever the bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "test.h"
#include "text.h"

static void
esc(const char *in, size_t n, size_t size, const char *want)
{
	char out[256];

	CHECK_STR(text_escape(out, size, in, n), want);
}

static void
json(const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_str(f, in);
	fclose(f);
	CHECK_STR(buf, want);
	free(buf);
}

int
main(void)
{
	char out[64];

	CHECK(text_utf8_valid("caf\xc3\xa9", 5));
	CHECK(!text_utf8_valid("\xc3", 1));
	CHECK(!text_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	CHECK(!text_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	CHECK(!text_utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
	CHECK(text_no_controls("plain text"));
	CHECK(!text_no_controls("a\tb"));
	CHECK(!text_no_controls("a\x7f"));

	esc("list\rFAKE granted=1", 19, 256, "list\\x0dFAKE granted=1");
	esc("\x1b]0;x\x07", 6, 256, "\\x1b]0;x\\x07");
	esc("a\\b", 3, 256, "a\\\\b");
	esc("\xc2\x9b" "31m", 5, 256, "\\xc2\\x9b31m");	/* C1 CSI */
	esc("caf\xc3\xa9", 5, 256, "caf\xc3\xa9");
	esc("\xff", 1, 256, "\\xff");
	esc("a\0b", 3, 256, "a\\x00b");
	esc("abcdefghij", 10, 8, "abcd...");
	esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, 8, "\xc3\xa9\xc3\xa9...");
	/* Bidi controls would show a stored command reordered. */
	esc("rm -rf \xe2\x80\xae" "cba", 13, 256,
	    "rm -rf \\xe2\\x80\\xaecba");			/* U+202E RLO */
	esc("\xe2\x81\xa6" "x\xe2\x81\xa9", 7, 256,
	    "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");	/* isolates */
	esc("\xd8\x9c" "a", 3, 256, "\\xd8\\x9ca");		/* U+061C ALM */
	esc("\xe2\x80\x8f", 3, 8, "...");	/* never cut inside an escape */
	CHECK(!text_is_unsafe(0x2013) && text_is_unsafe(0x2067) &&
	    text_is_unsafe(0x9b) && !text_is_unsafe(0xa0));

	CHECK_STR(text_escape_log(out, sizeof(out), "a\\x1b\033", 6),
	    "a\\x1b\\x1b");

	json("plain", "\"plain\"");
	json("q\"b\\", "\"q\\\"b\\\\\"");
	json("\x1b[31m\n", "\"\\u001b[31m\\u000a\"");
	json("\xff" "a", "\"\\ufffda\"");
	/* C1 controls: U+009B is a CSI to some terminals. */
	json("\xc2\x9b" "6n\xc2\x85", "\"\\u009b6n\\u0085\"");
	json("\xc2\xa0", "\"\xc2\xa0\"");
	json("a\xe2\x80\xae" "b", "\"a\\u202eb\"");
	json("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	return TEST_DONE();
}
