/*
 * name: validators for identifiers, logins, addresses and numbers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "name.h"
#include "text.h"

static int
bad(const char *what, const char *s, const char *why)
{
	char safe[96];

	text_escape(safe, sizeof(safe), s, strlen(s));
	return err_set(ERR_USAGE, "invalid %s '%s': %s", what, safe, why);
}

static int
ident_check(const char *what, const char *s, size_t max, int digit_first)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return bad(what, s, "empty");
	if (n > max)
		return bad(what, s, "too long");
	if (s[0] == '-')
		return bad(what, s, "must not start with '-'");
	if (s[0] == '.')
		return bad(what, s, "must not start with '.'");
	if (!digit_first && isdigit((unsigned char)s[0]))
		return bad(what, s, "must not start with a digit");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isascii(c) && (isalnum(c) || c == '_' || c == '.' ||
		    c == '-')))
			return bad(what, s,
			    "only letters, digits, '_', '.' and '-' are allowed");
	}
	return 0;
}

int
name_check(const char *what, const char *s)
{
	return ident_check(what, s, NAME_MAX_LEN, 1);
}

int
name_check_login(const char *s)
{
	return ident_check("login", s, LOGIN_MAX_LEN, 0);
}

int
name_check_address(const char *s)
{
	unsigned char buf[16];
	const char *label;
	size_t n = strlen(s), i, len;

	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return 0;
	if (n == 0 || n > ADDR_MAX_LEN)
		return bad("address", s, n ? "too long" : "empty");
	label = s;
	for (i = 0; i <= n; i++) {
		if (s[i] != '.' && s[i] != '\0') {
			unsigned char c = (unsigned char)s[i];
			if (!(isascii(c) && (isalnum(c) || c == '-')))
				return bad("address", s,
				    "not an IP address or DNS name");
			continue;
		}
		len = (size_t)(s + i - label);
		if (len == 0 || len > 63)
			return bad("address", s, "empty or over-long DNS label");
		if (label[0] == '-' || label[len - 1] == '-')
			return bad("address", s,
			    "DNS labels must not start or end with '-'");
		label = s + i + 1;
	}
	return 0;
}

int
name_parse_uint(const char *what, const char *s, long long min, long long max,
    long long *out)
{
	long long v;
	char *end;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 19)
		return bad(what, s, "not a number");
	for (i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]))
			return bad(what, s, "not a decimal number");
	if (s[0] == '0' && s[1] != '\0')
		return bad(what, s, "leading zeros are not allowed");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		return err_set(ERR_USAGE, "invalid %s '%s': must be between "
		    "%lld and %lld", what, s, min, max);
	}
	*out = v;
	return 0;
}
