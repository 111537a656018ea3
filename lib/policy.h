/*
 * policy: what of a typed command may be stored (THREATS row 21).
 *
 * Three lists of named PCRE2 patterns. Block rules say "store no text at
 * all" (passwords on the command line, tokens, private keys); in strict
 * mode a command must also match an allow rule to be stored; mask rules
 * then rewrite what is stored (--password=x becomes --password=***). The
 * built-in rules are always there; a policy file (INI: [block], [allow],
 * [mask], one "name = pattern" a line) only adds to them.
 *
 * The engine fails closed: whenever it cannot decide (a match limit, a
 * PCRE2 error, a command too long or not UTF-8) the verdict is "blocked".
 * Not thread-safe: a policy owns one match data block and one scratch
 * buffer that every check reuses.
 */
#ifndef SSHGATE_POLICY_H
#define SSHGATE_POLICY_H

#include <stddef.h>

#define POLICY_MAX_CMD	4096	/* longest command policy_check decides */
#define POLICY_MAX_FILE	(64 * 1024)	/* largest policy file */
#define POLICY_MAX_RULES 256	/* rules per section in a policy file */

enum policy_mode { POLICY_PERMISSIVE, POLICY_STRICT };
enum policy_section { POLICY_BLOCK, POLICY_ALLOW, POLICY_MASK,
	POLICY_NSECTIONS };

struct policy;

struct policy_verdict {
	int blocked;		/* 1: store no text at all */
	char rule[64];		/* block rule, or allow rule (strict), or "" */
	char reason[160];	/* one line for people, never holds the command */
	char masked[POLICY_MAX_CMD * 2 + 1];	/* stored text; "" if blocked */
	int nmasks;		/* how many mask rules changed the text */
	char masks[256];	/* their names, comma-separated */
};

/*
 * The built-in rules only. Returns a policy the caller frees with
 * policy_free(), or NULL with err set (out of memory; a built-in pattern
 * that does not compile is a bug, reported the same way).
 */
struct policy *policy_new(enum policy_mode mode);
/*
 * The built-in rules plus those of the file at path: a regular file owned
 * by root or by the caller, not writable by group or others, at most
 * POLICY_MAX_FILE bytes, no NUL byte. Returns NULL with err set on any
 * problem; every error in the text is ERR_USAGE "PATH:LINE: why".
 */
struct policy *policy_load(enum policy_mode mode, const char *path);
/* The same over text already in memory; name stands for the file. */
struct policy *policy_parse(enum policy_mode mode, const char *name,
    const char *text);

/*
 * Decide what to store for cmd[0..len). Returns 0 with *v filled, or -1
 * with err set when the policy could not decide: p is NULL, cmd is longer
 * than POLICY_MAX_CMD, holds a NUL byte or invalid UTF-8, a pattern hit
 * the match limit or failed, or masking made the text too long. On -1, *v
 * is still filled as blocked, with the reason, so a careless caller fails
 * closed too.
 */
int policy_check(const struct policy *p, const char *cmd, size_t len,
    struct policy_verdict *v);
/*
 * policy_check() as in strict mode whatever the policy's mode: for text
 * the caller cannot vouch for (a line rebuilt with Tab completion or
 * history recall may lack the words block rules look for), only what an
 * allow rule matches is kept.
 */
int policy_check_strict(const struct policy *p, const char *cmd, size_t len,
    struct policy_verdict *v);
/* Returns 1 when every pattern runs JIT-compiled, else 0. */
int policy_jit(const struct policy *p);
/* Returns how many rules the section holds (built-in and file). */
size_t policy_count(const struct policy *p, enum policy_section section);
/* The mode the policy was made with (POLICY_STRICT for NULL). */
enum policy_mode policy_mode(const struct policy *p);
/* Frees p; NULL is a no-op. */
void policy_free(struct policy *p);

#endif
