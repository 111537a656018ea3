/*
 * libFuzzer target: --from lists. A list that is accepted is canonical
 * (canonicalising it again changes nothing) and holds only characters
 * that are inert inside from="..." of an authorized_keys line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[NETLIST_MAX_LEN + 1], out[NETLIST_MAX_LEN], again[NETLIST_MAX_LEN];

	if (size > NETLIST_MAX_LEN)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (netlist_canon(in, out, sizeof(out)) == 0) {
		if (strspn(out, "0123456789abcdef.:/!,") != strlen(out))
			abort();
		if (netlist_canon(out, again, sizeof(again)) != 0 ||
		    strcmp(out, again) != 0)
			abort();
	}
	return 0;
}
