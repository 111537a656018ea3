/*
 * libFuzzer target: admin-supplied dates. Parsed dates format back to a
 * string that parses to the same time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[64], iso[WHEN_ISO_LEN];
	time_t t, back;
	long long d;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (when_parse(in, 1700000000, &t) == 0 && in[0] != '+') {
		if (when_parse(when_iso(t, iso), 0, &back) != 0 || back != t)
			abort();
	}
	/* Durations (idle-watch -t, gate.ini): within 1 s .. the bound. */
	if (when_duration(in, 7LL * 86400, &d) == 0 &&
	    (d < 1 || d > 7LL * 86400))
		abort();
	return 0;
}
