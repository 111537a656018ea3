/*
 * Unit tests for lib/name and lib/netlist: the shapes of names that reach
 * ssh's command line or sshd's options (THREATS rows 1-4, 13).
 */
#include "err.h"
#include "name.h"
#include "netlist.h"
#include "test.h"

static void
canon(const char *in, const char *want)
{
	char out[NETLIST_MAX_LEN];

	if (netlist_canon(in, out, sizeof(out)) == -1) {
		fprintf(stderr, "\"%s\": refused: %s\n", in, err_msg());
		test_failures++;
		return;
	}
	CHECK_STR(out, want);
}

static void
canon_refused(const char *in)
{
	char out[NETLIST_MAX_LEN];

	if (netlist_canon(in, out, sizeof(out)) != -1 ||
	    err_kind() != ERR_USAGE) {
		fprintf(stderr, "\"%s\": accepted\n", in);
		test_failures++;
	}
}

int
main(void)
{
	long long v;
	char big[80];

	CHECK(name_check("host name", "web1") == 0);
	CHECK(name_check("host name", "db-2.prod_x") == 0);
	CHECK(name_check("host name", "1host") == 0);
	CHECK(name_check("host name", "-oProxyCommand=x") == -1);
	CHECK(strstr(err_msg(), "must not start with '-'") != NULL);
	CHECK(name_check("host name", "") == -1);
	CHECK(name_check("host name", ".hidden") == -1);
	CHECK(name_check("host name", "a b") == -1);
	CHECK(name_check("host name", "a@b") == -1);
	CHECK(name_check("host name", "a%h") == -1);
	CHECK(name_check("host name", "a/b") == -1);
	CHECK(name_check("host name", "caf\xc3\xa9") == -1);
	memset(big, 'a', 65);
	big[65] = '\0';
	CHECK(name_check("host name", big) == -1);
	big[64] = '\0';
	CHECK(name_check("host name", big) == 0);

	CHECK(name_check_login("root") == 0);
	CHECK(name_check_login("_svc.x-1") == 0);
	CHECK(name_check_login("1abc") == -1);
	CHECK(name_check_login("root\x01") == -1);
	CHECK(name_check_login("%n") == -1);
	CHECK(name_check_login("-l") == -1);

	CHECK(name_check_address("127.0.0.1") == 0);
	CHECK(name_check_address("::1") == 0);
	CHECK(name_check_address("web1.example.org") == 0);
	CHECK(name_check_address("-oProxyCommand=x") == -1);
	CHECK(name_check_address("a..b") == -1);
	CHECK(name_check_address("a-.b") == -1);
	CHECK(name_check_address("a b") == -1);
	CHECK(name_check_address("x@y") == -1);

	CHECK(name_parse_uint("port", "22", 1, 65535, &v) == 0 && v == 22);
	CHECK(name_parse_uint("port", "0", 1, 65535, &v) == -1);
	CHECK(name_parse_uint("port", "65536", 1, 65535, &v) == -1);
	CHECK(name_parse_uint("port", "022", 1, 65535, &v) == -1);
	CHECK(name_parse_uint("port", "+22", 1, 65535, &v) == -1);
	CHECK(name_parse_uint("port", " 22", 1, 65535, &v) == -1);
	CHECK(name_parse_uint("port", "99999999999999999999", 1, 65535, &v)
	    == -1);

	canon("10.0.0.1", "10.0.0.1");
	canon("10.0.0.0/8,!10.1.0.0/16", "10.0.0.0/8,!10.1.0.0/16");
	canon("2001:DB8:0:0::1", "2001:db8::1");
	canon("::ffff:0:0/96", "::ffff:0.0.0.0/96");
	/* THREATS row 13: quotes, options, hostnames, bad numbers. */
	canon_refused("1.2.3.4\",command=\"/bin/sh");
	canon_refused("999.1.2.3");
	canon_refused("host.example.org");
	canon_refused("10.0.0.1/33");
	canon_refused("10.0.0.1/8");
	canon_refused("10.0.0.1,");
	canon_refused("");
	canon_refused("10.0.0.1 ");
	canon_refused("*");
	return TEST_DONE();
}
