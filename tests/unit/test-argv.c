/*
 * Unit tests for lib/argv, the tokenizer of SSH_ORIGINAL_COMMAND: shell
 * quoting is understood, nothing is expanded, and anything a shell would
 * have acted on is refused (THREATS rows 1, 5, 15).
 */
#include <stdlib.h>

#include "argv.h"
#include "err.h"
#include "test.h"

static void
words(const char *line, int n, const char *const want[])
{
	struct argv a;
	int i;

	if (argv_split(line, strlen(line), &a) == -1) {
		fprintf(stderr, "\"%s\": refused: %s\n", line, err_msg());
		test_failures++;
		return;
	}
	CHECK(a.argc == n);
	for (i = 0; i < n && i < a.argc; i++)
		CHECK_STR(a.argv[i], want[i]);
	CHECK(a.argv[a.argc] == NULL);
	argv_free(&a);
}

static void
refused(const char *line, size_t len, const char *why)
{
	struct argv a;

	if (argv_split(line, len, &a) != -1 || err_kind() != ERR_USAGE ||
	    strstr(err_msg(), why) == NULL) {
		fprintf(stderr, "\"%.40s\": got \"%s\", want \"%s\"\n", line,
		    err_msg(), why);
		test_failures++;
	}
	CHECK(a.argc == 0 && a.argv == NULL);
}

int
main(void)
{
	struct argv a;
	char *big;

	words("", 0, NULL);
	words("   \t ", 0, NULL);
	words("list", 1, (const char *[]){ "list" });
	words("  connect   web1  ", 2, (const char *[]){ "connect", "web1" });
	words("a 'b c' \"d e\" f\\ g", 4, (const char *[]){ "a", "b c", "d e",
	    "f g" });
	words("x'y'\"z\"", 1, (const char *[]){ "xyz" });
	words("'$(id)' \"\\$HOME\" '`id`'", 3, (const char *[]){ "$(id)",
	    "$HOME", "`id`" });
	words("'' \"\"", 2, (const char *[]){ "", "" });
	words("printf '%s\\n' 'a;b'", 3, (const char *[]){ "printf", "%s\\n",
	    "a;b" });
	words("a#b c~d", 2, (const char *[]){ "a#b", "c~d" });
	words("caf\xc3\xa9", 1, (const char *[]){ "caf\xc3\xa9" });

	refused("web1$(touch /tmp/p)", 19, "special character '$'");
	refused("a`id`", 5, "special character '`'");
	refused("web1;id", 7, "special character ';'");
	refused("a | b", 5, "'|'");
	refused("a > b", 5, "'>'");
	refused("ls *", 4, "'*'");
	refused("~root", 5, "word start");
	refused("# comment", 9, "word start");
	refused("\"$HOME\"", 7, "inside double quotes");
	refused("'open", 5, "unterminated single quote");
	refused("\"open", 5, "unterminated double quote");
	refused("end\\", 4, "trailing backslash");
	refused("list\nwhoami", 11, "control character \\x0a");
	refused("list\r", 5, "control character \\x0d");
	refused("list\x1b]0;x\x07", 9, "control character \\x1b");
	refused("li\0st", 5, "control character \\x00");
	refused("\xff\xfe", 2, "not valid UTF-8");
	refused("\xc0\xaf", 2, "not valid UTF-8");

	big = malloc(ARGV_MAX_LEN + 2);
	memset(big, 'a', ARGV_MAX_LEN + 1);
	big[ARGV_MAX_LEN + 1] = '\0';
	refused(big, ARGV_MAX_LEN + 1, "too long");
	for (size_t i = 0; i < ARGV_MAX_LEN; i += 2)
		big[i + 1] = ' ';
	refused(big, ARGV_MAX_LEN, "too many words");
	free(big);

	argv_free(NULL);
	memset(&a, 0, sizeof(a));
	argv_free(&a);
	return TEST_DONE();
}
