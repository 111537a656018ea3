/*
 * json: writing JSON for --json listings. Strings are always valid JSON
 * and valid UTF-8: control characters become \u00XX and bytes that are
 * not UTF-8 become U+FFFD, whatever the stored data holds.
 */
#ifndef SSHGATE_JSON_H
#define SSHGATE_JSON_H

#include <stdio.h>
#include <time.h>

void json_str(FILE *f, const char *s);
/* "key":"value" with a leading comma unless first. */
void json_kv_str(FILE *f, int first, const char *key, const char *value);
void json_kv_int(FILE *f, int first, const char *key, long long value);
void json_kv_bool(FILE *f, int first, const char *key, int value);
/* An ISO-8601 UTC time, or null when t is 0. */
void json_kv_time(FILE *f, int first, const char *key, time_t t);

#endif
