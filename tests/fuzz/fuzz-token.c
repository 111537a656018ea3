/*
 * libFuzzer target: web tokens as a browser or a frontend hands them to
 * `gate-shell --web`. Whatever parses is exactly TOKEN_LEN bytes of the
 * token alphabet, and formats back to the same bytes (one spelling per
 * token); whatever does not leaves the output wiped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct token zero;
	struct token t;
	unsigned char h[TOKEN_HASH_LEN];
	size_t i;

	if (token_parse((const char *)data, size, &t) == -1) {
		if (memcmp(&t, &zero, sizeof(t)) != 0)
			abort();
		return 0;
	}
	if (size != TOKEN_LEN || strlen(t.text) != TOKEN_LEN ||
	    memcmp(t.text, data, size) != 0 || !token_lookalike(t.text) ||
	    strlen(t.selector) != TOKEN_SELECTOR_LEN ||
	    memcmp(t.selector, data + TOKEN_PREFIX_LEN, TOKEN_SELECTOR_LEN) != 0)
		abort();
	for (i = TOKEN_PREFIX_LEN; i < size; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", data[i]) || data[i] == '\0')
			abort();
	token_hash(&t, h);
	token_wipe(&t, sizeof(t));
	return 0;
}
