/*
 * cmd: the verb table. A command line is split once by argv_split() (no
 * expansion, no shell); the first word picks the verb, and each verb has
 * a fixed flag whitelist (--json where it lists things, --all for
 * sessions, "--" before connect's remote words) and a fixed number of
 * positional words, so `list -F /etc/passwd` is refused here rather than
 * by every verb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "err.h"
#include "gate-shell.h"
#include "name.h"
#include "text.h"

static const struct verb verbs[] = {
	{ "connect", "[LOGIN@]HOST [-- COMMAND...]",
	    "a shell (or one command) on HOST", 1, 1, VF_REST, NULL,
	    cmd_connect },
	{ "list", "[--json]", "hosts you may reach, with their logins",
	    0, 0, VF_JSON, NULL, cmd_list },
	{ "sessions", "[--all] [--json]",
	    "your live sessions (--all: everyone's, admins)",
	    0, 0, VF_JSON | VF_ALL, NULL, cmd_sessions },
	{ "kill", "ID", "end one of your live sessions", 1, 1, 0, NULL, cmd_kill },
	{ "history", "[QUERY] [--host H | --all-hosts] [--user U] [--unique] "
	    "[--limit N] [--offset N] [--json] | clear --host H | purge "
	    "--days N", "commands typed through the gate", 0, 1, VF_JSON | VF_REST,
	    "host:,all-hosts,user:,unique,limit:,offset:,days:", cmd_history },
	{ "replay", "ID [--speed N]", "play a session's recording back",
	    1, 1, 0, "speed:", cmd_replay },
	{ "share", "ID USER [--rw]", "let USER watch (--rw: co-drive) your "
	    "session", 2, 2, 0, "rw", cmd_share },
	{ "unshare", "ID USER", "take a share back", 2, 2, 0, NULL,
	    cmd_unshare },
	{ "attach", "ID", "watch a session shared with you (Ctrl-] leaves)",
	    1, 1, 0, NULL, cmd_attach },
	{ "web-token", "[LOGIN@]HOST [--ttl DURATION]",
	    "a one-time token for a web terminal on HOST", 1, 1, 0, "ttl:",
	    cmd_web_token },
	{ "whoami", "[--json]", "who the gate thinks you are",
	    0, 0, VF_JSON, NULL, cmd_whoami },
	{ "help", "", "this list", 0, 0, 0, NULL, cmd_help_verb },
	{ "version", "", "sshgate's version", 0, 0, 0, NULL, cmd_version },
};

void
cmd_help(FILE *f)
{
	char buf[48];
	size_t i;

	fprintf(f, "usage: ssh GATE COMMAND\ncommands:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		snprintf(buf, sizeof(buf), "%s %s", verbs[i].name, verbs[i].args);
		fprintf(f, "  %-36s %s\n", buf, verbs[i].help);
	}
}

const char *
call_opt(const struct call *c, const char *name)
{
	int i;

	for (i = 0; i < c->nopt; i++)
		if (strcmp(c->opt[i].name, name) == 0)
			return c->opt[i].value;
	return NULL;
}

/*
 * Is word (after "--") one of v's options? Returns 1 and stores the
 * option's spelling in the table (static storage) and whether it takes
 * a value; 0 when it is not.
 */
static int
opt_find(const struct verb *v, const char *word, const char **name,
    int *takes)
{
	const char *p = v->opts, *end;
	size_t n, wl = strcspn(word, "=");

	while (p && *p) {
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		*takes = n > 0 && p[n - 1] == ':';
		if (n - (size_t)*takes == wl && strncmp(p, word, wl) == 0) {
			*name = p;
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

static const struct verb *
verb_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/*
 * Split "LOGIN@HOST" or "HOST" and check both as plain names, so neither
 * can start with '-' or carry '%', '@' or anything a shell or ssh reads.
 */
int
cmd_parse_target(const char *word, char *login, size_t ll, char *host,
    size_t hl)
{
	const char *at = strchr(word, '@');
	char safe[80];

	login[0] = '\0';
	if (at) {
		if ((size_t)(at - word) >= ll || at == word)
			return err_set(ERR_USAGE, "bad login in '%s'",
			    text_escape(safe, sizeof(safe), word, strlen(word)));
		memcpy(login, word, (size_t)(at - word));
		login[at - word] = '\0';
		if (name_check_login(login) == -1)
			return -1;
		word = at + 1;
	}
	if (strlen(word) >= hl)
		return err_set(ERR_USAGE, "host name too long");
	if (name_check("host", word) == -1)
		return -1;
	strcpy(host, word);
	return 0;
}

const struct verb *
cmd_parse(const char *line, size_t len, struct argv *a, struct call *c)
{
	const struct verb *v;
	char safe[80];
	const char *oname;
	int i, npos = 0, takes;

	memset(c, 0, sizeof(*c));
	if (argv_split(line, len, a) == -1)
		return NULL;
	if (a->argc == 0) {
		err_set(ERR_USAGE, "empty command (try help)");
		return NULL;
	}
	if ((v = verb_find(a->argv[0])) == NULL) {
		err_set(ERR_USAGE, "unknown command '%s' (try help)",
		    text_escape(safe, sizeof(safe), a->argv[0],
		    strlen(a->argv[0])));
		return NULL;
	}
	for (i = 1; i < a->argc; i++) {
		if ((v->flags & VF_JSON) && strcmp(a->argv[i], "--json") == 0 &&
		    !c->json) {
			c->json = 1;
			continue;
		}
		if ((v->flags & VF_ALL) && strcmp(a->argv[i], "--all") == 0 &&
		    !c->all) {
			c->all = 1;
			continue;
		}
		if ((v->flags & VF_REST) && strcmp(a->argv[i], "--") == 0) {
			/* Everything after it belongs to the remote side. */
			c->dashdash = 1;
			c->rest = a->argv + i + 1;
			c->nrest = a->argc - i - 1;
			break;
		}
		if (strncmp(a->argv[i], "--", 2) == 0 && v->opts &&
		    opt_find(v, a->argv[i] + 2, &oname, &takes)) {
			const char *eq = strchr(a->argv[i], '=');
			size_t nl = strcspn(oname, ",:");
			int k;

			for (k = 0; k < c->nopt; k++)
				if (strncmp(c->opt[k].name, oname, nl) == 0 &&
				    c->opt[k].name[nl] == '\0')
					break;
			if (k < c->nopt || (takes && !eq && i + 1 >= a->argc) ||
			    (!takes && eq) || c->nopt == CALL_MAX_OPTS) {
				err_set(ERR_USAGE, "%s: option '%s' %s (usage: "
				    "%s %s)", v->name, text_escape(safe,
				    sizeof(safe), a->argv[i], strlen(a->argv[i])),
				    k < c->nopt ? "given twice" : takes ?
				    "needs a value" : "takes no value",
				    v->name, v->args);
				return NULL;
			}
			snprintf(c->optname[c->nopt], sizeof(c->optname[0]),
			    "%.*s", (int)nl, oname);
			c->opt[c->nopt].name = c->optname[c->nopt];
			c->opt[c->nopt].value = !takes ? "" : eq ? eq + 1 :
			    a->argv[++i];
			c->nopt++;
			continue;
		}
		if (a->argv[i][0] == '-') {
			err_set(ERR_USAGE, "%s: unknown option '%s' (usage: %s "
			    "%s)", v->name, text_escape(safe, sizeof(safe),
			    a->argv[i], strlen(a->argv[i])), v->name, v->args);
			return NULL;
		}
		c->pos[npos++] = a->argv[i];
	}
	c->pos[npos] = NULL;
	if (npos < v->min || npos > v->max) {
		err_set(ERR_USAGE, "usage: %s %s", v->name, v->args);
		return NULL;
	}
	c->argc = npos;
	c->argv = c->pos;
	return v;
}

int
cmd_run(struct gsh *g, const char *line, size_t len)
{
	const struct verb *v;
	struct argv a;
	struct call c;
	int rc = -1;

	if ((v = cmd_parse(line, len, &a, &c)) != NULL)
		rc = v->fn(g, &c);
	argv_free(&a);
	return rc;
}
