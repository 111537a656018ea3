/*
 * token: make, parse and hash one-time web tokens with libsodium. The
 * secret is 256 bits from randombytes; the hash binds it to its selector
 * and to this use ("sshgate web token v1"), so a hash copied from one row
 * to another row does not verify.
 */
#include <sodium.h>
#include <string.h>

#include "err.h"
#include "token.h"

#define VARIANT	sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char domain[] = "sshgate web token v1";

_Static_assert(TOKEN_SELECTOR_LEN + 1 == sodium_base64_ENCODED_LEN(
    TOKEN_SELECTOR_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
    "selector length");
_Static_assert(TOKEN_SECRET_LEN + 1 == sodium_base64_ENCODED_LEN(
    TOKEN_SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
    "secret length");

int
token_new(struct token *t)
{
	unsigned char sel[TOKEN_SELECTOR_BYTES];

	if (sodium_init() == -1)
		return err_set(ERR_SYS, "libsodium failed to initialise");
	/*
	 * An admin types the selector as a word (gatectl token revoke): it
	 * never starts with '-', base64url's 62, or it would read as an
	 * option. One draw in 64 is redrawn; the selector is not the secret.
	 */
	do
		randombytes_buf(sel, sizeof(sel));
	while ((sel[0] >> 2) == 62);
	randombytes_buf(t->secret, sizeof(t->secret));
	sodium_bin2base64(t->selector, sizeof(t->selector), sel, sizeof(sel),
	    VARIANT);
	memcpy(t->text, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	memcpy(t->text + TOKEN_PREFIX_LEN, t->selector, TOKEN_SELECTOR_LEN);
	sodium_bin2base64(t->text + TOKEN_PREFIX_LEN + TOKEN_SELECTOR_LEN,
	    TOKEN_SECRET_LEN + 1, t->secret, sizeof(t->secret), VARIANT);
	return 0;
}

static int
b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Decode exactly n characters of s into exactly want bytes. libsodium
 * refuses non-zero bits left over at the end, so each token has one
 * spelling only.
 */
static int
decode(const char *s, size_t n, unsigned char *out, size_t want)
{
	size_t got = 0;
	const char *end = NULL;

	if (sodium_base642bin(out, want, s, n, NULL, &got, &end, VARIANT) != 0 ||
	    got != want || end != s + n)
		return -1;
	return 0;
}

int
token_parse(const char *s, size_t len, struct token *t)
{
	unsigned char sel[TOKEN_SELECTOR_BYTES];
	size_t i;

	memset(t, 0, sizeof(*t));
	if (sodium_init() == -1)
		return err_set(ERR_SYS, "libsodium failed to initialise");
	if (len != TOKEN_LEN || memcmp(s, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		goto bad;
	for (i = TOKEN_PREFIX_LEN; i < len; i++)
		if (!b64url_char((unsigned char)s[i]))
			goto bad;
	if (decode(s + TOKEN_PREFIX_LEN, TOKEN_SELECTOR_LEN, sel,
	    sizeof(sel)) == -1 || decode(s + TOKEN_PREFIX_LEN +
	    TOKEN_SELECTOR_LEN, TOKEN_SECRET_LEN, t->secret,
	    sizeof(t->secret)) == -1)
		goto bad;
	memcpy(t->text, s, TOKEN_LEN);
	memcpy(t->selector, s + TOKEN_PREFIX_LEN, TOKEN_SELECTOR_LEN);
	return 0;
bad:
	token_wipe(t, sizeof(*t));
	return err_set(ERR_USAGE, "that is not an sshgate web token (they "
	    "look like %s followed by %d letters and digits)", TOKEN_PREFIX,
	    TOKEN_SELECTOR_LEN + TOKEN_SECRET_LEN);
}

void
token_hash(const struct token *t, unsigned char out[TOKEN_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, TOKEN_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)domain,
	    sizeof(domain));
	crypto_generichash_update(&st, (const unsigned char *)t->selector,
	    TOKEN_SELECTOR_LEN);
	crypto_generichash_update(&st, t->secret, sizeof(t->secret));
	crypto_generichash_final(&st, out, TOKEN_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

int
token_hash_equal(const unsigned char a[TOKEN_HASH_LEN],
    const unsigned char b[TOKEN_HASH_LEN])
{
	return sodium_memcmp(a, b, TOKEN_HASH_LEN) == 0;
}

int
token_lookalike(const char *word)
{
	return strstr(word, TOKEN_PREFIX) != NULL;
}

void
token_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}
