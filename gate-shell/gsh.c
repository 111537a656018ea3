/*
 * gsh: what every verb of gate-shell shares once the user is known: the
 * validity of a key (ssh logins and web tokens alike), the secret-masking
 * policy loaded on first use, and the one way a command line or an error
 * quoting it reaches syslog.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate-shell.h"
#include "log.h"
#include "policy.h"
#include "text.h"
#include "when.h"

int
gsh_key_check(const struct key_row *k)
{
	if (k->user_disabled)
		return err_set(ERR_DENIED, "user %s is disabled", k->user);
	if (k->disabled)
		return err_set(ERR_DENIED, "key %s is disabled", k->fp);
	if (k->expires && k->expires <= when_now())
		return err_set(ERR_DENIED, "key %s has expired", k->fp);
	return 0;
}

/*
 * The command line as syslog may show it: through the same secret-masking
 * policy as history (a mistyped "conect db1 -- mysql -pS3cret" is refused,
 * and logged, too), then escaped. A policy that does not load withholds it.
 */
struct policy *
gsh_policy(struct gsh *g)
{
	int strict = g->cfg->history_strict;

	if (g->policy_tried)
		return g->policy;
	g->policy_tried = 1;
	g->policy = g->cfg->policy_file[0] ? policy_load(strict ?
	    POLICY_STRICT : POLICY_PERMISSIVE, g->cfg->policy_file) :
	    policy_new(strict ? POLICY_STRICT : POLICY_PERMISSIVE);
	if (g->policy == NULL) {
		snprintf(g->policy_err, sizeof(g->policy_err), "%s", err_msg());
		log_err("history policy: %s; commands are withheld from "
		    "history and logs", g->policy_err);
	}
	return g->policy;
}

void
gsh_log_text(struct gsh *g, const char *cmd, size_t len, char *out,
    size_t size)
{
	static struct policy_verdict v;
	struct policy *p = gsh_policy(g);
	char *flat;
	size_t i;

	if (cmd == NULL || len == 0) {
		out[0] = '\0';
		return;
	}
	/* Control bytes would fail the policy's UTF-8 check: spaces. */
	if ((flat = malloc(len + 1)) == NULL) {
		snprintf(out, size, "[withheld: out of memory]");
		return;
	}
	for (i = 0; i < len; i++)
		flat[i] = (unsigned char)cmd[i] < 0x20 ? ' ' : cmd[i];
	flat[len] = '\0';
	if (p == NULL)
		snprintf(out, size, "[withheld: the history policy did not "
		    "load]");
	else if (policy_check(p, flat, len, &v) == -1)
		snprintf(out, size, "[withheld: the history policy could not "
		    "decide]");
	else if (v.blocked)
		snprintf(out, size, "[blocked: %s]", v.rule);
	else if (strcmp(v.masked, flat) == 0)
		text_escape(out, size, cmd, len);	/* \x0d stays visible */
	else
		text_escape(out, size, v.masked, strlen(v.masked));
	free(flat);
}

void
gsh_log_err(struct gsh *g, char *out, size_t size)
{
	char msg[512];

	/* A copy: the policy may set an error of its own meanwhile. */
	snprintf(msg, sizeof(msg), "%s", err_msg());
	gsh_log_text(g, msg, strlen(msg), out, size);
}

void
gsh_say_err(void)
{
	const char *m = err_msg();
	char line[1024];

	fprintf(stderr, "gate-shell: %s\n",
	    text_escape_log(line, sizeof(line), m, strlen(m)));
}
