/*
 * name: the shapes sshgate accepts for names that later reach ssh's
 * command line, SQL rows or a terminal (THREATS rows 1-4). Checked at the
 * edge, where text enters, so nothing downstream has to guess.
 */
#ifndef SSHGATE_NAME_H
#define SSHGATE_NAME_H

#define NAME_MAX_LEN	64	/* users, hosts, groups */
#define LOGIN_MAX_LEN	32	/* Unix logins on targets */
#define ADDR_MAX_LEN	253	/* DNS name or IP literal */

/*
 * Each returns 0 when s has the shape, or -1 with an ERR_USAGE error that
 * names what (the "what" argument, e.g. "host name") and why.
 */
/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,63}: users, hosts, groups. */
int name_check(const char *what, const char *s);
/* [A-Za-z_][A-Za-z0-9_.-]{0,31}: a login on a target host. */
int name_check_login(const char *s);
/* An IPv4/IPv6 literal or a DNS host name; never starts with '-'. */
int name_check_address(const char *s);
/* A decimal integer in [min, max] with no sign, spaces or leading zeros. */
int name_parse_uint(const char *what, const char *s, long long min,
    long long max, long long *out);

#endif
