/*
 * when: the dates and times sshgate reads from admins and writes for
 * people, sshd and JSON. All times are UTC seconds since the epoch.
 */
#ifndef SSHGATE_WHEN_H
#define SSHGATE_WHEN_H

#include <stddef.h>
#include <time.h>

#define WHEN_ISO_LEN	21	/* 2026-11-23T10:00:00Z + NUL */

/*
 * Parse an admin-supplied time: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (a 'T'
 * or a space, an optional trailing 'Z'; always UTC), or a relative "+N"
 * followed by one of s, m, h, d, w counted from now. Returns 0, or -1 with
 * an ERR_USAGE error.
 */
int when_parse(const char *s, time_t now, time_t *out);
/* Format t as 2026-11-23T10:00:00Z into buf (WHEN_ISO_LEN bytes). */
char *when_iso(time_t t, char *buf);
/* Format t as sshd's expiry-time, YYYYMMDDHHMMSSZ, into buf (16+ bytes). */
char *when_sshd(time_t t, char *buf);
/*
 * Parse a duration: a number of seconds, or a number followed by s, m, h
 * or d ("300", "90s", "5m", "1h"), from 1 second to max. Returns 0 with
 * *out in seconds, or -1 with an ERR_USAGE error.
 */
int when_duration(const char *s, long long max, long long *out);
/* CLOCK_MONOTONIC in ns: deadlines and timeouts, never dates. */
long long when_mono_ns(void);
/*
 * A span of seconds as people write it: "4h", "15m", "90s" (the largest
 * unit that divides it). Returns buf.
 */
char *when_span(long long s, char *buf, size_t size);
/*
 * How long before now t was, as a listing shows it: "just now", "45s
 * ago", "5m ago", "3h ago", "12d ago"; a date (2026-10-01) past 60 days
 * or in the future. Returns buf (at least 16 bytes).
 */
char *when_ago(time_t t, time_t now, char *buf, size_t size);
/* Read the clock; the one place that does, so tests can reason about it. */
time_t when_now(void);

#endif
