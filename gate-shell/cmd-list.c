/*
 * cmd-list: the hosts this user may reach now, one row per host with its
 * allowed logins. Deny by default: only unexpired grants count, through
 * the user's groups and the hosts' groups (store_access_list()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate-shell.h"
#include "json.h"
#include "table.h"
#include "when.h"

/* Rows are sorted by host; [i, end) is one host's run. */
static size_t
run_end(const struct access_row *a, size_t n, size_t i)
{
	size_t j = i;

	while (j < n && strcmp(a[j].host, a[i].host) == 0)
		j++;
	return j;
}

/* The latest expiry of a run; 0 (never) wins. */
static time_t
run_expiry(const struct access_row *a, size_t i, size_t end)
{
	time_t t = a[i].expires;

	for (; i < end; i++) {
		if (a[i].expires == 0)
			return 0;
		if (a[i].expires > t)
			t = a[i].expires;
	}
	return t;
}

static void
print_json(FILE *f, const struct access_row *a, size_t n)
{
	size_t i, j, end;

	fputc('[', f);
	for (i = 0; i < n; i = end) {
		end = run_end(a, n, i);
		fputs(i ? ",{" : "{", f);
		json_kv_str(f, 1, "host", a[i].host);
		fputs(",\"logins\":[", f);
		for (j = i; j < end; j++) {
			if (j > i)
				fputc(',', f);
			json_str(f, a[j].login);
		}
		fputc(']', f);
		json_kv_time(f, 0, "until", run_expiry(a, i, end));
		fputc('}', f);
	}
	fputs("]\n", f);
}

static int
print_table(FILE *f, const struct access_row *a, size_t n)
{
	struct table *t;
	char logins[512], when[WHEN_ISO_LEN];
	size_t i, j, end, o;
	time_t exp;
	int rc = 0;

	if ((t = table_new((const char *[]){ "HOST", "LOGINS", "UNTIL",
	    NULL })) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i = end) {
		end = run_end(a, n, i);
		logins[0] = '\0';
		for (j = i, o = 0; j < end; j++) {
			int w = snprintf(logins + o, sizeof(logins) - o, "%s%s",
			    j > i ? "," : "", a[j].login);
			if (w < 0 || (size_t)w >= sizeof(logins) - o)
				break;	/* cut: the table shows what fits */
			o += (size_t)w;
		}
		exp = run_expiry(a, i, end);
		rc = table_row(t, (const char *[]){ a[i].host, logins,
		    exp ? when_iso(exp, when) : "-" });
	}
	if (rc == 0)
		table_print(t, f);
	table_free(t);
	return rc;
}

int
cmd_list(struct gsh *g, const struct call *c)
{
	struct access_row *a = NULL;
	size_t n;
	int rc = 0;

	if (store_access_list(g->st, g->user.id, when_now(), &a, &n) == -1)
		return -1;
	if (c->json)
		print_json(g->out, a, n);
	else
		rc = print_table(g->out, a, n);
	free(a);
	return rc;
}
