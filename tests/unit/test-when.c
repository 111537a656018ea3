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
	{
		static const struct { const char *s; long long v; } ok[] = {
			{ "300", 300 }, { "90s", 90 }, { "5m", 300 },
			{ "1h", 3600 }, { "2d", 172800 }, { "7d", 604800 } };
		static const char *const bad[] = { "", "0", "0s", "-5", "5x",
		    "5 m", "m", "8d", "99999999999999999999", "1h1", " 5" };
		long long d;
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			CHECK(when_duration(ok[i].s, 7 * 86400, &d) == 0 &&
			    d == ok[i].v);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(when_duration(bad[i], 7 * 86400, &d) == -1);
	}
	return TEST_DONE();
}
