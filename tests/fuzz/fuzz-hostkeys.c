/*
 * libFuzzer target: the gate's known_hosts text as hostkeys_parse() reads
 * it. Every key it returns must be a valid key: parsing its type and
 * base64 again gives the same fingerprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pubkey keys[HOSTKEYS_MAX_KEYS], again;
	char *text;
	size_t n, i;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	hostkeys_parse(text, "web1", keys, HOSTKEYS_MAX_KEYS, &n);
	if (n > HOSTKEYS_MAX_KEYS)
		abort();
	for (i = 0; i < n; i++)
		if (key_from_parts(keys[i].type, keys[i].b64, &again) != 0 ||
		    strcmp(again.fp, keys[i].fp) != 0)
			abort();
	free(text);
	return 0;
}
