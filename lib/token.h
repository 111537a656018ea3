/*
 * token: one-time web tokens (`web-token HOST`, `gate-shell --web`).
 *
 * A token is one printable word: "sgw_", a 12-character public selector
 * (9 random bytes) that finds its row, and a 43-character secret (32
 * random bytes), both base64url without padding. The database keeps the
 * selector and a BLAKE2b hash of the secret only; the token itself is
 * shown once and never stored or logged (the selector may be logged).
 * Parsing is strict (exact length, alphabet and canonical encoding), so
 * anything else is refused before the database is touched.
 */
#ifndef SSHGATE_TOKEN_H
#define SSHGATE_TOKEN_H

#include <stddef.h>

#define TOKEN_PREFIX		"sgw_"
#define TOKEN_PREFIX_LEN	4
#define TOKEN_SELECTOR_BYTES	9
#define TOKEN_SELECTOR_LEN	12	/* base64url of 9 bytes */
#define TOKEN_SECRET_BYTES	32	/* 256 bits */
#define TOKEN_SECRET_LEN	43	/* base64url of 32 bytes, no padding */
#define TOKEN_LEN	(TOKEN_PREFIX_LEN + TOKEN_SELECTOR_LEN + TOKEN_SECRET_LEN)
#define TOKEN_HASH_LEN		32

struct token {
	char text[TOKEN_LEN + 1];		/* the whole token: a secret */
	char selector[TOKEN_SELECTOR_LEN + 1];	/* public */
	unsigned char secret[TOKEN_SECRET_BYTES];
};

/* A fresh token from libsodium's CSPRNG. Returns 0, or -1 with an error. */
int token_new(struct token *t);
/*
 * Parse len bytes of s as a token into *t. Returns 0, or -1 with an
 * ERR_USAGE error that never repeats the input. *t is wiped on failure.
 */
int token_parse(const char *s, size_t len, struct token *t);
/* The stored form of t's secret: BLAKE2b-256 keyed by nothing secret. */
void token_hash(const struct token *t, unsigned char out[TOKEN_HASH_LEN]);
/* Constant-time comparison of two hashes: 1 equal, 0 not. */
int token_hash_equal(const unsigned char a[TOKEN_HASH_LEN],
    const unsigned char b[TOKEN_HASH_LEN]);
/*
 * Does word hold something that starts like a token, anywhere (for
 * scrubbing argv copies: " sgw_..." or "sh -c '... sgw_...'" count)?
 * 1 or 0.
 */
int token_lookalike(const char *word);
/* Overwrite t (or any buffer that held a token) so no copy stays. */
void token_wipe(void *p, size_t len);

#endif
