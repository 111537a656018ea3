/*
 * history: the listings of stored commands (see history.h).
 */
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "json.h"
#include "table.h"
#include "text.h"
#include "when.h"

static const struct {
	int bit;
	const char *word;
} flag_words[] = {
	{ HISTORY_UNCERTAIN, "uncertain" },
	{ HISTORY_PASTE, "pasted" },
	{ HISTORY_TRUNCATED, "truncated" },
	{ HISTORY_NOECHO, "no-echo" },
	{ HISTORY_UNCOMMITTED, "not-entered" },
};

#define NFLAGS (sizeof(flag_words) / sizeof(flag_words[0]))

/* The COMMAND cell: text (or why there is none), then flags. */
static void
command_cell(const struct history_row *r, char *out, size_t size)
{
	size_t i, len;

	if (r->blocked)
		snprintf(out, size, "[%s%s]", r->flags & HISTORY_NOECHO ? "" :
		    "blocked: ", r->reason);
	else if (r->command[0] == '\0' && (r->flags & HISTORY_UNCERTAIN))
		snprintf(out, size, "[a line the gate could not rebuild: "
		    "history recall or completion]");
	else
		snprintf(out, size, "%s", r->command);
	for (i = 0; i < NFLAGS; i++) {
		if (!(r->flags & flag_words[i].bit) ||
		    flag_words[i].bit == HISTORY_NOECHO)
			continue;
		len = strlen(out);
		snprintf(out + len, size - len, " [%s]", flag_words[i].word);
	}
}

int
history_print_table(FILE *f, const struct history_row *r, size_t n,
    int show_user, int unique, time_t now)
{
	static char cmd[HISTORY_CMD_MAX + 256];
	struct table *t;
	char when[32], sid[24];
	const char *cells[6];
	size_t i;
	int rc = 0, k;

	if (unique)
		t = show_user ? table_new((const char *[]){ "LAST", "USES",
		    "USER", "HOST", "COMMAND", NULL }) :
		    table_new((const char *[]){ "LAST", "USES", "HOST",
		    "COMMAND", NULL });
	else
		t = show_user ? table_new((const char *[]){ "WHEN", "USER",
		    "HOST", "SESSION", "COMMAND", NULL }) :
		    table_new((const char *[]){ "WHEN", "HOST", "SESSION",
		    "COMMAND", NULL });
	if (t == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		when_ago(r[i].created, now, when, sizeof(when));
		snprintf(sid, sizeof(sid), "%lld", unique ? r[i].uses :
		    r[i].session_id);
		command_cell(&r[i], cmd, sizeof(cmd));
		k = 0;
		cells[k++] = when;
		if (unique)
			cells[k++] = sid;
		if (show_user)
			cells[k++] = r[i].user;
		cells[k++] = r[i].host;
		if (!unique)
			cells[k++] = sid;
		cells[k++] = cmd;
		rc = table_row(t, cells);
	}
	if (rc == 0)
		table_print(t, f);
	table_free(t);
	return rc;
}

void
history_print_json(FILE *f, const struct history_row *r, size_t n,
    int unique)
{
	size_t i, j;
	int first;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", f);
		json_kv_int(f, 1, "id", r[i].id);
		json_kv_time(f, 0, unique ? "last" : "time", r[i].created);
		json_kv_str(f, 0, "user", r[i].user);
		json_kv_str(f, 0, "host", r[i].host);
		json_kv_int(f, 0, "session", r[i].session_id);
		json_kv_str(f, 0, "source", r[i].source);
		json_kv_str(f, 0, "command", r[i].command);
		json_kv_bool(f, 0, "blocked", r[i].blocked);
		json_kv_str(f, 0, "reason", r[i].reason);
		if (unique)
			json_kv_int(f, 0, "uses", r[i].uses);
		fputs(",\"flags\":[", f);
		for (j = 0, first = 1; j < NFLAGS; j++)
			if (r[i].flags & flag_words[j].bit) {
				if (!first)
					fputc(',', f);
				json_str(f, flag_words[j].word);
				first = 0;
			}
		fputs("]}", f);
	}
	fputs("]\n", f);
}
