/*
 * gate-shell: entry point. sshd reaches it two ways:
 *
 *   gate-shell [-c CONFIG] --key-id N     the forced command, run directly
 *                                         (the gate account's shell is sh)
 *   gate-shell -c "STRING"                as the gate account's login
 *                                         shell; STRING is the forced
 *                                         command, "GATE_SHELL [-c CONFIG]
 *                                         --key-id N"
 *
 *   gate-shell [-c CONFIG] --web [TOKEN]  what a web terminal runs
 *                                         (cmd-web.c): a one-time token
 *                                         as the one argument, or typed
 *                                         at a prompt
 *
 * The user's own command always comes from SSH_ORIGINAL_COMMAND, never
 * from argv. Only --key-id is trusted, and only after the key sshd
 * verified (ExposeAuthInfo) proves to be that key. Without it gate-shell
 * runs nothing (THREATS row 6). Refusals happen here, before any process
 * starts (decision 5).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "env.h"
#include "err.h"
#include "gate-shell.h"
#include "log.h"
#include "name.h"
#include "policy.h"
#include "text.h"
#include "token.h"
#include "when.h"

struct opts {
	const char *config;
	long long key_id;	/* 0: not given */
	int web;		/* --web */
	char *web_arg;		/* the word after --web, or NULL */
};

/* What sshd gave us, saved before the environment is reset. */
struct origin {
	char *command;		/* SSH_ORIGINAL_COMMAND, or NULL */
	size_t command_len;
	char *auth_info;	/* SSH_USER_AUTH */
	char *connection;	/* SSH_CONNECTION */
};

#define USAGE "usage: gate-shell [-c CONFIG] --key-id N (run by sshd; the " \
	"command comes from SSH_ORIGINAL_COMMAND) | gate-shell [-c CONFIG] " \
	"--web [TOKEN]"

/*
 * Parse gate-shell's own options from words (argc/argv with argv[0] the
 * program); --web only when web is set. Every option at most once, and
 * after --web at most one word, the token: a frontend that appends URL
 * arguments (ttyd -a) cannot add -c or --key-id (THREATS row 27), and a
 * refusal here comes before the token is looked at, so it is not used
 * up (decision 3). Returns 0, or -1 with an ERR_USAGE error.
 */
static int
parse_opts(int argc, char *argv[], struct opts *o, int web)
{
	static const struct option lo[] = {
		{ "key-id", required_argument, NULL, 'k' },
		{ "web", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 } };
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:", lo, NULL)) != -1) {
		if (o->web)
			return err_set(ERR_USAGE, "only a token may follow "
			    "--web; %s", USAGE);
		switch (ch) {
		case 'c':
			if (o->config)
				return err_set(ERR_USAGE, "-c given twice");
			o->config = optarg;
			break;
		case 'k':
			if (o->key_id)
				return err_set(ERR_USAGE, "--key-id given twice");
			if (name_parse_uint("key id", optarg, 1, INT64_MAX,
			    &o->key_id) == -1)
				return -1;
			break;
		case 'w':
			if (!web)
				return err_set(ERR_USAGE, "bad arguments; %s",
				    USAGE);
			o->web = 1;
			break;
		default:
			return err_set(ERR_USAGE, "bad arguments; %s", USAGE);
		}
	}
	if (o->web) {
		if (o->key_id)
			return err_set(ERR_USAGE, "--web and --key-id exclude "
			    "each other");
		if (argc - optind > 1)
			return err_set(ERR_USAGE, "--web takes one token at "
			    "most; %s", USAGE);
		o->web_arg = optind < argc ? argv[optind] : NULL;
		return 0;
	}
	if (optind != argc)
		return err_set(ERR_USAGE, "unexpected argument; %s", USAGE);
	if (o->key_id == 0)
		return err_set(ERR_USAGE, "no --key-id: the gate account only "
		    "serves keys enrolled with gatectl");
	return 0;
}

/*
 * Login-shell mode: STRING must be a forced command that runs gate-shell
 * itself (its first word an absolute path whose last component is
 * gate-shell). Its words are kept alive in *a for the options parsed.
 */
static int
parse_shell_string(const char *s, struct argv *a, struct opts *o)
{
	const char *base;

	if (argv_split(s, strlen(s), a) == -1)
		return err_set(ERR_USAGE, "not a gate-shell forced command");
	if (a->argc == 0 || a->argv[0][0] != '/' ||
	    (base = strrchr(a->argv[0], '/')) == NULL ||
	    strcmp(base + 1, "gate-shell") != 0)
		return err_set(ERR_USAGE, "no --key-id: the gate account only "
		    "serves keys enrolled with gatectl");
	return parse_opts(a->argc, a->argv, o, 0);
}

static char *
dup_env(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

/* SSH_CONNECTION is "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT". */
static void
peer_from(const char *conn, char *out, size_t size)
{
	const char *sp;
	size_t n;

	out[0] = '\0';
	if (conn == NULL || (sp = strchr(conn, ' ')) == NULL)
		return;
	n = (size_t)(sp - conn);
	text_escape(out, size, conn, n);
}

/*
 * Load the key and its owner, and refuse when either stopped being
 * valid since authkeys-cmd printed the line (or never was).
 */
static int
identify(struct gsh *g, long long key_id, const struct origin *or)
{
	int found;

	if ((found = store_key_by_id(g->st, key_id, &g->key)) == -1)
		return -1;
	if (found == 0)
		return err_set(ERR_SYS, "key id %lld is not enrolled", key_id);
	if (g->cfg->verify_auth_info &&
	    authinfo_check(or->auth_info, &g->key) == -1)
		return -1;
	if (gsh_key_check(&g->key) == -1)
		return -1;
	return store_user_get(g->st, g->key.user, &g->user);
}

int
main(int argc, char *argv[])
{
	static const char *const keep[] = { "TERM", NULL };
	struct gsh g = { 0 };
	struct opts o = { 0 };
	struct origin or = { 0 };
	struct argv shell = { 0 };
	char cmdsafe[256], webtok[256], why[256];
	size_t weblen = 0;
	int rc = GSH_EXIT_ERROR;

	log_init("gate-shell", 0);
	g.out = stdout;
	or.command = dup_env("SSH_ORIGINAL_COMMAND");
	or.command_len = or.command ? strlen(or.command) : 0;
	or.auth_info = dup_env("SSH_USER_AUTH");
	or.connection = dup_env("SSH_CONNECTION");
	/* Nothing the client chose may steer us or what we start. */
	if (env_reset(keep, ENV_WIPE_EXEC) == -1) {
		gsh_say_err();
		goto out;
	}

	/* Direct mode needs --key-id, so "-c ONE-WORD" alone is shell mode. */
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		if (parse_shell_string(argv[2], &shell, &o) == -1)
			goto refuse;
	} else if (argc > 0 && argv[0][0] == '-') {
		err_set(ERR_USAGE, "no --key-id: the gate account only serves "
		    "keys enrolled with gatectl");
		goto refuse;
	} else if (parse_opts(argc, argv, &o, 1) == -1) {
		goto refuse;
	}
	if (o.web_arg) {
		/* Out of argv at once, so /proc/PID/cmdline stops showing it. */
		weblen = strlen(o.web_arg);
		snprintf(webtok, sizeof(webtok), "%s", o.web_arg);
		token_wipe(o.web_arg, weblen);
		if (weblen >= sizeof(webtok))
			weblen = sizeof(webtok) - 1;
	}

	if ((g.cfg = config_load(o.config)) == NULL) {
		log_err("%s", err_msg());
		fprintf(stderr, "gate-shell: the gate is misconfigured; tell "
		    "its administrators\n");
		goto out;
	}
	if (o.web) {
		rc = web_run(&g, o.web_arg ? webtok : NULL, weblen);
		token_wipe(webtok, sizeof(webtok));
		goto out;
	}
	if ((g.st = store_open(g.cfg->database, STORE_NOMIGRATE |
	    STORE_LAZY_SYNC, g.cfg->db_timeout_ms)) == NULL) {
		log_err("%s", err_msg());
		fprintf(stderr, "gate-shell: the gate's database is unavailable; "
		    "try again later\n");
		goto out;
	}
	peer_from(or.connection, g.peer, sizeof(g.peer));
	if (identify(&g, o.key_id, &or) == -1) {
		log_warn("refused key id %lld from %s: %s", o.key_id,
		    g.peer[0] ? g.peer : "?", err_msg());
		fprintf(stderr, "gate-shell: access denied\n");
		rc = GSH_EXIT_DENIED;
		goto out;
	}
	/* Decision 4: "last used" is written here, after sshd verified. */
	if (store_key_touch(g.st, g.key.id, when_now()) == -1)
		log_warn("cannot record use of key %lld: %s", g.key.id,
		    err_msg());

	gsh_log_text(&g, or.command, or.command_len, cmdsafe, sizeof(cmdsafe));
	g.tty = isatty(0) && isatty(1);
	if ((or.command == NULL || or.command_len == 0) && g.tty) {
		log_info("user %s (key %lld) from %s: prompt", g.user.name,
		    g.key.id, g.peer);
		rc = prompt_run(&g);
		goto out;
	}
	if (or.command == NULL || or.command_len == 0) {
		log_info("user %s (key %lld) from %s: no command", g.user.name,
		    g.key.id, g.peer);
		fprintf(stderr, "gate-shell: no command given\n");
		cmd_help(stderr);
		rc = GSH_EXIT_USAGE;
		goto out;
	}
	g.exit_status = -1;
	if (cmd_run(&g, or.command, or.command_len) == -1) {
		/* The error may quote the command ("unknown command '...'"). */
		gsh_log_err(&g, why, sizeof(why));
		log_notice("user %s (key %lld) from %s: refused command '%s': %s",
		    g.user.name, g.key.id, g.peer, cmdsafe, why);
		gsh_say_err();
		rc = err_kind() == ERR_USAGE ? GSH_EXIT_USAGE :
		    err_kind() == ERR_DENIED ? GSH_EXIT_DENIED : GSH_EXIT_ERROR;
		goto out;
	}
	if (g.exit_status == -1)
		log_info("user %s (key %lld) from %s: %s", g.user.name,
		    g.key.id, g.peer, cmdsafe);
	rc = fflush(stdout) == EOF ? GSH_EXIT_ERROR : 0;
	if (g.exit_status != -1)
		rc = g.exit_status;
	goto out;
refuse:
	log_warn("refused: %s", err_msg());
	gsh_say_err();
	rc = GSH_EXIT_USAGE;
out:
	argv_free(&shell);
	policy_free(g.policy);
	store_close(g.st);
	config_free(g.cfg);
	free(or.command);
	free(or.auth_info);
	free(or.connection);
	return rc;
}
