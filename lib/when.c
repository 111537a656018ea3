/*
 * when: strict UTC date parsing and formatting.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "name.h"
#include "text.h"
#include "when.h"

static int
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
bad_date(const char *s)
{
	char safe[64];

	text_escape(safe, sizeof(safe), s, strlen(s));
	return err_set(ERR_USAGE, "invalid date '%s': expected YYYY-MM-DD, "
	    "YYYY-MM-DDTHH:MM[:SS][Z] (UTC) or +N[smhdw]", safe);
}

static int
parse_relative(const char *s, time_t now, time_t *out)
{
	char num[16];
	size_t n = strlen(s);
	long long v, unit;

	if (n < 3 || n - 2 >= sizeof(num))
		return bad_date(s);
	memcpy(num, s + 1, n - 2);
	num[n - 2] = '\0';
	switch (s[n - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return bad_date(s);
	}
	if (name_parse_uint("relative time", num, 1, 100LL * 365 * 86400 / unit,
	    &v) == -1)
		return bad_date(s);
	*out = now + (time_t)(v * unit);
	return 0;
}

int
when_parse(const char *s, time_t now, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, leap;
	size_t n = strlen(s);

	if (s[0] == '+')
		return parse_relative(s, now, out);
	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if (n != 10 && n != 16 && n != 19)
		return bad_date(s);
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d))
		return bad_date(s);
	if (n >= 16) {
		if ((s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &h) ||
		    s[13] != ':' || digits(s + 14, 2, &mi))
			return bad_date(s);
		if (n == 19 && (s[16] != ':' || digits(s + 17, 2, &se)))
			return bad_date(s);
	}
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
	    mi > 59 || se > 59)
		return bad_date(s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return 0;
}

char *
when_iso(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, WHEN_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

char *
when_sshd(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y%m%d%H%M%SZ", &tm);
	return buf;
}

time_t
when_now(void)
{
	return time(NULL);
}

int
when_duration(const char *s, long long max, long long *out)
{
	long long n = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > max)
			goto bad;
	}
	switch (*p) {
	case '\0': break;
	case 's': p++; break;
	case 'm': mul = 60; p++; break;
	case 'h': mul = 3600; p++; break;
	case 'd': mul = 86400; p++; break;
	default: goto bad;
	}
	if (*p != '\0' || n == 0 || n > max / mul)
		goto bad;
	*out = n * mul;
	return 0;
bad:
	{
		char safe[48];
		text_escape(safe, sizeof(safe), s, strlen(s));
		return err_set(ERR_USAGE, "bad duration '%s': use seconds or a "
		    "number with s, m, h or d (300, 90s, 5m, 1h), 1s to %llds",
		    safe, max);
	}
}

long long
when_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *
when_span(long long s, char *buf, size_t size)
{
	if (s >= 3600 && s % 3600 == 0)
		snprintf(buf, size, "%lldh", s / 3600);
	else if (s >= 60 && s % 60 == 0)
		snprintf(buf, size, "%lldm", s / 60);
	else
		snprintf(buf, size, "%llds", s);
	return buf;
}

char *
when_ago(time_t t, time_t now, char *buf, size_t size)
{
	long long d = (long long)now - (long long)t;
	char iso[WHEN_ISO_LEN];

	if (d < 0 || d >= 60LL * 86400) {
		when_iso(t, iso);
		snprintf(buf, size, "%.10s", iso);
	} else if (d < 5)
		snprintf(buf, size, "just now");
	else if (d < 60)
		snprintf(buf, size, "%llds ago", d);
	else if (d < 3600)
		snprintf(buf, size, "%lldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, size, "%lldh ago", d / 3600);
	else
		snprintf(buf, size, "%lldd ago", d / 86400);
	return buf;
}
