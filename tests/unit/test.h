/*
 * test.h: the unit tests' whole framework. A failed check prints
 * file:line and the expression, counts, and the test goes on; main
 * returns non-zero when anything failed.
 */
#ifndef SSHGATE_TEST_H
#define SSHGATE_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(expr) do { \
	if (!(expr)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
		    __LINE__, #expr); \
		test_failures++; \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || strcmp(g_, w_) != 0) { \
		fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", \
		    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); \
		test_failures++; \
	} \
} while (0)

#define TEST_DONE() (test_failures ? (fprintf(stderr, "%d check(s) " \
	"failed\n", test_failures), 1) : 0)

#endif
