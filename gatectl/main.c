/*
 * gatectl: entry point and verb table. Run as root or as the gate account
 * on the gate itself. Exit status: 0 done, 1 the system failed (database,
 * files), 2 bad input (usage, unknown names, malformed keys and dates).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "err.h"
#include "gatectl.h"
#include "log.h"
#include "text.h"
#include "when.h"

static const struct verb {
	const char *name;
	int (*fn)(struct ctx *, int, char *[]);
	const char *help;
} verbs[] = {
	{ "init", cmd_init, "init" },
	{ "user", cmd_user, "user add NAME [--admin] | del|disable|enable NAME "
	    "| list [--json]" },
	{ "key", cmd_key, "key add USER [FILE|-] [--from LIST] [--expires DATE]"
	    " | del|disable|enable FINGERPRINT | list [USER] [--json]" },
	{ "host", cmd_host, "host add NAME ADDRESS [--port N] [--login LOGIN] "
	    "[--egress-key PATH] [--scan | --hostkey 'TYPE BASE64'...] | "
	    "pin NAME (--scan | --hostkey 'TYPE BASE64'...) | del NAME | "
	    "list [--json]" },
	{ "egress-key", cmd_egress_key, "egress-key [HOST]" },
	{ "group", cmd_group, "group add NAME [--hosts] | del NAME | list "
	    "[--json] | show NAME | member add|del GROUP NAME..." },
	{ "grant", cmd_grant, "grant USER|@GROUP HOST|@HOSTGROUP "
	    "[--login LOGIN]... [--until DATE]" },
	{ "revoke", cmd_revoke, "revoke USER|@GROUP HOST|@HOSTGROUP "
	    "[--login LOGIN]" },
	{ "grants", cmd_grants, "grants [--json]" },
	{ "access", cmd_access, "access USER [--json]" },
	{ "session", cmd_session, "session list [--all] [--json] | "
	    "session kill ID" },
	{ "recordings", cmd_recordings, "recordings [--user U] [--host H] "
	    "[--limit N] [--json]" },
	{ "history", cmd_history, "history [QUERY] [--user U] [--host H] "
	    "[--unique] [--limit N] [--offset N] [--json]" },
	{ "policy", cmd_policy, "policy check [FILE] | policy test 'COMMAND'" },
	{ "token", cmd_token, "token list [--user U] [--json] | token revoke "
	    "SELECTOR | token revoke --user U" },
};

static void
help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gatectl [-c FILE] COMMAND [ARGS]\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %s\n", verbs[i].help);
}

struct store *
ctx_store(struct ctx *c)
{
	if (c->st == NULL)
		c->st = store_open(c->cfg->database, 0, c->cfg->db_timeout_ms);
	return c->st;
}

/* The word getopt choked on, for the next usage_err(). */
static const char *bad_option;

int
opt_next(int argc, char *argv[], const struct option *lo)
{
	int ch;

	opterr = 0;	/* one message, ours, not getopt's */
	ch = getopt_long(argc, argv, "", lo, NULL);
	if (ch == '?' || ch == ':')
		bad_option = argv[optind - 1];
	return ch;
}

int
usage_err(const char *usage)
{
	char safe[64];

	if (bad_option)
		return err_set(ERR_USAGE, "unknown option or missing value "
		    "'%s' (usage: gatectl %s)", text_escape(safe, sizeof(safe),
		    bad_option, strlen(bad_option)), usage);
	return err_set(ERR_USAGE, "bad arguments (usage: gatectl %s)", usage);
}

int
opt_json_only(int argc, char *argv[], const char *usage, int *json)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	int ch;

	*json = 0;
	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch != 'j')
			return usage_err(usage);
		*json = 1;
	}
	return 0;
}

int
parse_future(const char *s, time_t *out)
{
	time_t now = when_now();

	if (when_parse(s, now, out) == -1)
		return -1;
	if (*out <= now)
		return err_set(ERR_USAGE, "date '%s' is in the past", s);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ctx c = { 0 };
	const char *cfgpath = NULL;
	size_t i;
	int ch, rc;

	log_init("gatectl", 0);
	if (env_reset((const char *const[]){ "TERM", NULL }, 0) == -1) {
		fprintf(stderr, "gatectl: %s\n", err_msg());
		return 1;
	}
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		help(stderr);
		return 2;
	}
	if (strcmp(argv[0], "help") == 0) {
		help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0])) {
		fprintf(stderr, "gatectl: unknown command '%s' (try gatectl "
		    "help)\n", argv[0]);
		return 2;
	}
	if ((c.cfg = config_load(cfgpath)) == NULL) {
		fprintf(stderr, "gatectl: %s\n", err_msg());
		return err_kind();
	}
	rc = verbs[i].fn(&c, argc, argv);
	if (rc == -1) {
		if (c.st)
			store_rollback(c.st);
		fprintf(stderr, "gatectl: %s\n", err_msg());
		rc = err_kind();
	} else if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "gatectl: error writing output\n");
		rc = 1;
	}
	store_close(c.st);
	config_free(c.cfg);
	return rc;
}
