/*
 * libFuzzer target: a policy file and a command, split at the first NUL
 * byte or "\n---\n" (no separator: the whole input is a command for the
 * built-in policies). Whatever the rules, a verdict is well formed: the
 * stored text is NUL-terminated UTF-8 inside its buffer, a blocked
 * command stores nothing, and a check that cannot decide is blocked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy_verdict v;

static void
check(const struct policy *p, const char *cmd, size_t len)
{
	int rc = policy_check(p, cmd, len, &v);

	if (rc != 0 && rc != -1)
		abort();
	if (!memchr(v.masked, '\0', sizeof(v.masked)) ||
	    !memchr(v.rule, '\0', sizeof(v.rule)) ||
	    !memchr(v.reason, '\0', sizeof(v.reason)) ||
	    !memchr(v.masks, '\0', sizeof(v.masks)))
		abort();
	if (!text_utf8_valid(v.masked, strlen(v.masked)))
		abort();
	if (rc == -1 && !v.blocked)
		abort();
	if (v.blocked && (v.masked[0] != '\0' || v.nmasks != 0))
		abort();
	/* Unmasked text is stored exactly as it came. */
	if (!v.blocked && v.nmasks == 0 &&
	    (strlen(v.masked) != len || memcmp(v.masked, cmd, len) != 0))
		abort();
	if (!v.blocked && (v.nmasks > 0) != (v.masks[0] != '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *permissive, *strict;
	const uint8_t *sep = memchr(data, '\0', size), *dash;
	struct policy *p;
	char *text;
	size_t tl = 0, skip = 0;

	if (permissive == NULL &&
	    ((permissive = policy_new(POLICY_PERMISSIVE)) == NULL ||
	    (strict = policy_new(POLICY_STRICT)) == NULL))
		abort();	/* the built-in rules must always load */
	dash = memmem(data, size, "\n---\n", 5);
	if (dash && (sep == NULL || dash < sep)) {
		tl = (size_t)(dash - data);
		skip = 5;
	} else if (sep) {
		tl = (size_t)(sep - data);
		skip = 1;
	}
	if (skip == 0) {
		check(permissive, (const char *)data, size);
		check(strict, (const char *)data, size);
		return 0;
	}
	if (tl > POLICY_MAX_FILE || (text = malloc(tl + 1)) == NULL)
		return 0;
	memcpy(text, data, tl);
	text[tl] = '\0';
	p = policy_parse(strstr(text, "[allow]") ? POLICY_STRICT :
	    POLICY_PERMISSIVE, "fuzz.ini", text);
	/* A policy that does not load decides nothing: NULL fails closed. */
	check(p, (const char *)data + tl + skip, size - tl - skip);
	if (p == NULL && !v.blocked)
		abort();
	policy_free(p);
	free(text);
	return 0;
}
