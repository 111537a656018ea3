/*
 * keys: OpenSSH public keys, as admins paste them (a .pub line) and as
 * sshd hands them to authkeys-cmd (%t and %k). The blob is decoded and
 * checked for real: its inner type string must match the outer one, every
 * field must have a sane size, and nothing may trail. The fingerprint is
 * exactly what `ssh-keygen -lf` prints (SHA256:, base64 without padding).
 */
#ifndef SSHGATE_KEYS_H
#define SSHGATE_KEYS_H

#include <stddef.h>

#define KEY_TYPE_MAX	48
#define KEY_BLOB_MAX	2600	/* an RSA-16384 blob is about 2070 bytes */
#define KEY_B64_MAX	((KEY_BLOB_MAX + 2) / 3 * 4 + 1)
#define KEY_COMMENT_MAX	256
#define KEY_FP_MAX	56	/* "SHA256:" + 43 + NUL */

struct pubkey {
	char type[KEY_TYPE_MAX];	/* e.g. "ssh-ed25519" */
	char b64[KEY_B64_MAX];		/* canonical base64 of the blob */
	char comment[KEY_COMMENT_MAX];	/* may be empty */
	char fp[KEY_FP_MAX];		/* SHA256:... */
	unsigned bits;			/* key size in bits */
};

/*
 * Parse the text of a .pub file: exactly one "type base64 [comment]" line,
 * optionally followed by a newline. Options, a second key, CR, NUL, other
 * control characters and non-UTF-8 comments are refused. Returns 0 and
 * fills *k, or -1 with an ERR_USAGE error.
 */
int key_parse_line(const char *text, size_t len, struct pubkey *k);
/*
 * Build a key from sshd's %t and %k. Returns 0 and fills *k (empty
 * comment), or -1 with an ERR_USAGE error.
 */
int key_from_parts(const char *type, const char *b64, struct pubkey *k);
/* Returns 1 when type is one sshgate accepts, else 0. */
int key_type_supported(const char *type);

#endif
