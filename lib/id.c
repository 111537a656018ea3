/*
 * id: uniform random ids without modulo bias (rejection sampling).
 */
#include <sodium.h>
#include <stdint.h>

#include "err.h"
#include "id.h"

long long
id_new(void)
{
	const uint64_t span = (uint64_t)(ID_MAX - ID_MIN + 1);
	const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
	uint64_t v;

	if (sodium_init() == -1) {
		err_set(ERR_SYS, "libsodium failed to initialise");
		return -1;
	}
	do
		randombytes_buf(&v, sizeof(v));
	while (v >= limit);
	return ID_MIN + (long long)(v % span);
}
