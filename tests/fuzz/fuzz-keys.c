/*
 * libFuzzer target: public key lines (.pub text, as gatectl reads them)
 * and the type/base64 pair sshd hands authkeys-cmd. A key that parses must
 * round-trip: its canonical base64 parses again to the same fingerprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pubkey k, again;

	if (key_parse_line((const char *)data, size, &k) == 0) {
		if (key_from_parts(k.type, k.b64, &again) != 0 ||
		    strcmp(k.fp, again.fp) != 0)
			abort();
	}
	/* The same bytes as sshd's %k for each type we know. */
	if (size < KEY_B64_MAX) {
		char *b64 = malloc(size + 1);

		if (b64 == NULL)
			return 0;
		memcpy(b64, data, size);
		b64[size] = '\0';
		(void)key_from_parts("ssh-ed25519", b64, &k);
		(void)key_from_parts("ssh-rsa", b64, &k);
		(void)key_from_parts("ecdsa-sha2-nistp256", b64, &k);
		(void)key_from_parts("sk-ecdsa-sha2-nistp256@openssh.com", b64, &k);
		free(b64);
	}
	return 0;
}
