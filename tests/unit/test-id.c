/*
 * Unit tests for lib/id: ids stay in range and do not repeat.
 */
#include <stdlib.h>

#include "id.h"
#include "test.h"

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int
main(void)
{
	enum { N = 10000 };
	static long long ids[N];
	int i, dups = 0;

	for (i = 0; i < N; i++) {
		ids[i] = id_new();
		CHECK(ids[i] >= ID_MIN && ids[i] <= ID_MAX);
	}
	qsort(ids, N, sizeof(ids[0]), cmp);
	for (i = 1; i < N; i++)
		dups += ids[i] == ids[i - 1];
	/*
	 * 10,000 draws from 9e9 values repeat once in about 180 runs (the
	 * birthday bound, n^2 / 2N): one repeat is chance, three (odds of
	 * about 1 in 10^8) mean a broken generator.
	 */
	CHECK(dups <= 2);
	/* Both ends of the range get used: no fixed prefix. */
	CHECK(ids[0] < ID_MIN + (ID_MAX - ID_MIN) / 10);
	CHECK(ids[N - 1] > ID_MAX - (ID_MAX - ID_MIN) / 10);
	return TEST_DONE();
}
