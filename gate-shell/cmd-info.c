/*
 * cmd-info: help, whoami, version. Everything printed that came from the
 * database goes through the table or JSON writers, which escape it.
 */
#include <stdio.h>

#include "gate-shell.h"
#include "json.h"
#include "table.h"
#include "when.h"

int
cmd_help_verb(struct gsh *g, const struct call *c)
{
	cmd_help(g->out);
	return 0;
}

int
cmd_version(struct gsh *g, const struct call *c)
{
	fprintf(g->out, "sshgate %s\n", SSHGATE_VERSION);
	return 0;
}

int
cmd_whoami(struct gsh *g, const struct call *c)
{
	struct table *t;
	char id[24], exp[WHEN_ISO_LEN];
	int rc;

	if (c->json) {
		fputc('{', g->out);
		json_kv_str(g->out, 1, "user", g->user.name);
		json_kv_bool(g->out, 0, "admin", g->user.is_admin);
		json_kv_int(g->out, 0, "key_id", g->key.id);
		json_kv_str(g->out, 0, "fingerprint", g->key.fp);
		json_kv_str(g->out, 0, "comment", g->key.comment);
		json_kv_time(g->out, 0, "key_expires", g->key.expires);
		json_kv_str(g->out, 0, "from", g->peer);
		fputs("}\n", g->out);
		return 0;
	}
	if ((t = table_new((const char *[]){ "USER", "ADMIN", "KEY ID",
	    "FINGERPRINT", "KEY EXPIRES", "FROM", NULL })) == NULL)
		return -1;
	snprintf(id, sizeof(id), "%lld", g->key.id);
	rc = table_row(t, (const char *[]){ g->user.name,
	    g->user.is_admin ? "yes" : "no", id, g->key.fp,
	    g->key.expires ? when_iso(g->key.expires, exp) : "never",
	    g->peer[0] ? g->peer : "-" });
	if (rc == 0)
		table_print(t, g->out);
	table_free(t);
	return rc;
}
