/*
 * keys: decoding and validating OpenSSH public key blobs (RFC 4253 wire
 * format: uint32 length-prefixed strings and mpints), and computing their
 * SHA256 fingerprints with libsodium.
 */
#include <sodium.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "keys.h"
#include "text.h"

struct reader {
	const unsigned char *p;
	size_t left;
};

static const struct keytype {
	const char *name;
	const char *curve;	/* ECDSA curve name, or NULL */
	size_t point;		/* ECDSA point length */
	int sk;			/* FIDO key: an application string follows */
} keytypes[] = {
	{ "ssh-ed25519", NULL, 0, 0 },
	{ "ssh-rsa", NULL, 0, 0 },
	{ "ecdsa-sha2-nistp256", "nistp256", 65, 0 },
	{ "ecdsa-sha2-nistp384", "nistp384", 97, 0 },
	{ "ecdsa-sha2-nistp521", "nistp521", 133, 0 },
	{ "sk-ssh-ed25519@openssh.com", NULL, 0, 1 },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", 65, 1 },
};

static const struct keytype *
keytype_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strcmp(keytypes[i].name, name) == 0)
			return &keytypes[i];
	return NULL;
}

int
key_type_supported(const char *type)
{
	return keytype_find(type) != NULL;
}

/* Read one length-prefixed string; *out points into the blob. */
static int
get_string(struct reader *r, const unsigned char **out, size_t *len)
{
	uint32_t n;

	if (r->left < 4)
		return -1;
	n = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	if (n > r->left - 4)
		return -1;
	*out = r->p + 4;
	*len = n;
	r->p += 4 + n;
	r->left -= 4 + n;
	return 0;
}

static int
get_cstring_eq(struct reader *r, const char *want)
{
	const unsigned char *s;
	size_t n;

	if (get_string(r, &s, &n) == -1)
		return -1;
	return (n == strlen(want) && memcmp(s, want, n) == 0) ? 0 : -1;
}

/* A positive mpint in minimal form; returns its size in bits or -1. */
static long
get_mpint_bits(struct reader *r)
{
	const unsigned char *s;
	size_t n;
	unsigned char top;
	long bits;

	if (get_string(r, &s, &n) == -1 || n == 0)
		return -1;
	if (s[0] & 0x80)
		return -1;			/* negative */
	if (s[0] == 0) {
		if (n == 1 || !(s[1] & 0x80))
			return -1;		/* not minimal */
		s++;
		n--;
	}
	bits = (long)(n - 1) * 8;
	for (top = s[0]; top; top >>= 1)
		bits++;
	return bits;
}

static int
blob_check(const char *type, const unsigned char *blob, size_t len,
    unsigned *bits)
{
	const struct keytype *kt = keytype_find(type);
	struct reader r = { blob, len };
	const unsigned char *s;
	size_t n;
	long e, nb;

	if (kt == NULL)
		return err_set(ERR_USAGE, "unsupported key type");
	if (get_cstring_eq(&r, type) == -1)
		return err_set(ERR_USAGE, "key blob type does not match '%s'",
		    type);
	if (strcmp(type, "ssh-rsa") == 0) {
		if ((e = get_mpint_bits(&r)) == -1 || e > 64 ||
		    (nb = get_mpint_bits(&r)) == -1)
			return err_set(ERR_USAGE, "malformed RSA key");
		if (nb < 1024 || nb > 16384)
			return err_set(ERR_USAGE, "RSA key of %ld bits: "
			    "must be 1024 to 16384", nb);
		*bits = (unsigned)nb;
	} else if (kt->curve) {
		if (get_cstring_eq(&r, kt->curve) == -1 ||
		    get_string(&r, &s, &n) == -1 || n != kt->point ||
		    s[0] != 0x04)
			return err_set(ERR_USAGE, "malformed ECDSA key");
		*bits = kt->point == 65 ? 256 : kt->point == 97 ? 384 : 521;
	} else {
		if (get_string(&r, &s, &n) == -1 || n != 32)
			return err_set(ERR_USAGE, "malformed Ed25519 key");
		*bits = 256;
	}
	if (kt->sk) {
		/* The FIDO application: "ssh:" by default, printable text. */
		if (get_string(&r, &s, &n) == -1 || n == 0 || n > 256)
			return err_set(ERR_USAGE, "malformed FIDO application");
		while (n--)
			if (s[n] < 0x21 || s[n] > 0x7e)
				return err_set(ERR_USAGE,
				    "malformed FIDO application");
	}
	if (r.left != 0)
		return err_set(ERR_USAGE, "trailing data in key blob");
	return 0;
}

int
key_from_parts(const char *type, const char *b64, struct pubkey *k)
{
	unsigned char blob[KEY_BLOB_MAX], hash[crypto_hash_sha256_BYTES];
	size_t blen, tlen = strlen(type), b64len = strlen(b64);
	const char *end;
	char safe[64];

	memset(k, 0, sizeof(*k));
	if (tlen == 0 || tlen >= KEY_TYPE_MAX || !key_type_supported(type)) {
		text_escape(safe, sizeof(safe), type, tlen);
		if (strstr(type, "-cert-v01@openssh.com"))
			return err_set(ERR_USAGE, "certificates are not "
			    "supported: '%s'", safe);
		if (strcmp(type, "ssh-dss") == 0)
			return err_set(ERR_USAGE, "DSA keys are not supported");
		return err_set(ERR_USAGE, "unsupported key type '%s'", safe);
	}
	if (b64len == 0 || b64len >= KEY_B64_MAX)
		return err_set(ERR_USAGE, "key data is empty or too long");
	if (sodium_base642bin(blob, sizeof(blob), b64, b64len, NULL, &blen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + b64len)
		return err_set(ERR_USAGE, "key data is not valid base64");
	if (blob_check(type, blob, blen, &k->bits) == -1)
		return -1;
	memcpy(k->type, type, tlen + 1);
	sodium_bin2base64(k->b64, sizeof(k->b64), blob, blen,
	    sodium_base64_VARIANT_ORIGINAL);
	crypto_hash_sha256(hash, blob, blen);
	memcpy(k->fp, "SHA256:", 7);
	sodium_bin2base64(k->fp + 7, sizeof(k->fp) - 7, hash, sizeof(hash),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return 0;
}

int
key_parse_line(const char *text, size_t len, struct pubkey *k)
{
	char type[KEY_TYPE_MAX], *b64 = NULL, safe[64];
	const char *p, *q, *w, *end;
	size_t n;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	/* One line: an optional single trailing newline, nothing after it. */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0)
		return err_set(ERR_USAGE, "no key found");
	if (memchr(text, '\n', len))
		return err_set(ERR_USAGE, "more than one line: give exactly "
		    "one key");
	for (n = 0; n < len; n++) {
		unsigned char c = (unsigned char)text[n];
		if (c == '\r')
			return err_set(ERR_USAGE, "key line contains a carriage "
			    "return");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return err_set(ERR_USAGE, "key line contains a control "
			    "character");
	}
	end = text + len;
	p = text;
	/* The type: the first word. Anything else there is options. */
	for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
		;
	n = (size_t)(q - p);
	if (n >= sizeof(type) || memchr(p, '=', n) || memchr(p, ',', n) ||
	    memchr(p, '"', n)) {
		text_escape(safe, sizeof(safe), p, n < 32 ? n : 32);
		return err_set(ERR_USAGE, "key options are not accepted "
		    "(line starts with '%s')", safe);
	}
	memcpy(type, p, n);
	type[n] = '\0';
	for (p = q; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
		;
	n = (size_t)(q - p);
	if (n == 0)
		return err_set(ERR_USAGE, "key data missing after '%s'",
		    key_type_supported(type) ? type : "type");
	if ((b64 = malloc(n + 1)) == NULL)
		return err_set(ERR_SYS, "out of memory");
	memcpy(b64, p, n);
	b64[n] = '\0';
	if (key_from_parts(type, b64, k) == -1)
		goto out;
	for (p = q; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= sizeof(k->comment)) {
		err_set(ERR_USAGE, "key comment longer than %zu bytes",
		    sizeof(k->comment) - 1);
		goto out;
	}
	if (!text_utf8_valid(p, n) || memchr(p, '\t', n)) {
		err_set(ERR_USAGE, "key comment is not valid UTF-8 text");
		goto out;
	}
	/*
	 * Two keys pasted on one line: the second would pass as the first
	 * one's comment, and the admin would think both enrolled.
	 */
	for (q = p; q < p + n; q = w) {
		for (; q < p + n && *q == ' '; q++)
			;
		for (w = q; w < p + n && *w != ' '; w++)
			;
		if ((size_t)(w - q) >= sizeof(type))
			continue;
		memcpy(type, q, (size_t)(w - q));
		type[w - q] = '\0';
		if (key_type_supported(type) || strcmp(type, "ssh-dss") == 0 ||
		    strstr(type, "-cert-v01@openssh.com")) {
			err_set(ERR_USAGE, "more than one key on the line: give "
			    "exactly one key");
			goto out;
		}
	}
	memcpy(k->comment, p, n);
	k->comment[n] = '\0';
	rc = 0;
out:
	free(b64);
	if (rc == -1)
		memset(k, 0, sizeof(*k));
	return rc;
}
