/*
 * Unit tests for lib/when: strict UTC dates from admins, and the forms
 * written for people and for sshd's expiry-time.
 */
#include "err.h"
#include "test.h"
#include "when.h"

static time_t
parse(const char *s, time_t now)
{
	time_t t = -1;

	if (when_parse(s, now, &t) == -1)
		return -1;
	return t;
}

int
main(void)
{
	char buf[WHEN_ISO_LEN], sshd[16];

	CHECK(parse("1970-01-01", 0) == 0);
	CHECK(parse("2026-11-23", 0) == 1795392000);
	CHECK(parse("2026-11-23T10:00", 0) == 1795392000 + 36000);
	CHECK(parse("2026-11-23 10:00:05Z", 0) == 1795392000 + 36005);
	CHECK(parse("2024-02-29", 0) != -1);
	CHECK(parse("2023-02-29", 0) == -1);
	CHECK(parse("2026-13-01", 0) == -1);
	CHECK(parse("2026-11-31", 0) == -1);
	CHECK(parse("2026-11-23T24:00", 0) == -1);
	CHECK(parse("2026-1-23", 0) == -1);
	CHECK(parse("tomorrow", 0) == -1);
	CHECK(parse("", 0) == -1);
	CHECK(parse("+30m", 1000) == 1000 + 1800);
	CHECK(parse("+2w", 0) == 14 * 86400);
	CHECK(parse("+0d", 0) == -1);
	CHECK(parse("+5y", 0) == -1);
	CHECK(parse("+-5d", 0) == -1);
	CHECK(parse("+99999999999999d", 0) == -1);
	CHECK(err_kind() == ERR_USAGE);

	CHECK_STR(when_iso(1795392000 + 36005, buf), "2026-11-23T10:00:05Z");
	CHECK_STR(when_sshd(1795392000 + 36005, sshd), "20261123100005Z");
	return TEST_DONE();
}
