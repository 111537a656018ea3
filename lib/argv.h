/*
 * argv: the tokenizer for the commands users send the gate
 * (SSH_ORIGINAL_COMMAND, or the string of a login shell's -c).
 *
 * Words are split the way a POSIX shell splits them - blanks separate,
 * single quotes, double quotes and backslashes quote - but nothing is
 * ever expanded and nothing reaches a shell. Characters a shell would
 * have acted on ($, `, ;, |, &, <, >, (, ), *, ?, [, and # or ~ at the
 * start of a word) are refused when unquoted, so a word never means
 * something different through the gate than it would with plain ssh.
 * Control characters, invalid UTF-8 and over-long input are refused too.
 */
#ifndef SSHGATE_ARGV_H
#define SSHGATE_ARGV_H

#include <stddef.h>

#define ARGV_MAX_LEN	8192	/* bytes of command text */
#define ARGV_MAX_WORDS	256

struct argv {
	int argc;
	char **argv;	/* argc words, then NULL */
	char *buf;	/* storage behind the words */
};

/*
 * Split line (len bytes; it may hold NUL, which is refused) into *out.
 * Returns 0, or -1 with an ERR_USAGE error naming the problem; *out is
 * then empty. Free with argv_free().
 */
int argv_split(const char *line, size_t len, struct argv *out);
/* Release what argv_split() allocated; accepts a zeroed or freed argv. */
void argv_free(struct argv *a);

#endif
