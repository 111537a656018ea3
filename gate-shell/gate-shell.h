/*
 * gate-shell: the forced command and login shell of the gate account.
 *
 * main.c works out who is calling (only --key-id from authkeys-cmd is
 * trusted, and it is checked against the key sshd really verified),
 * cmd.c holds the verb table and dispatch, one cmd-*.c per family of
 * verbs. A verb gets the parsed words and the caller's identity; it
 * returns 0 or -1 with err_set(), and main picks the exit status.
 */
#ifndef SSHGATE_GATE_SHELL_H
#define SSHGATE_GATE_SHELL_H

#include <stdio.h>

#include "argv.h"
#include "config.h"
#include "store.h"

/* Exit statuses of gate-shell's own failures (documented in gate-shell(8)). */
#define GSH_EXIT_ERROR	1	/* system failure: database, files */
#define GSH_EXIT_USAGE	2	/* bad command, bad words */
#define GSH_EXIT_DENIED	3	/* identity or access refused */

struct gsh {
	struct config *cfg;
	struct store *st;
	struct key_row key;		/* the key sshd verified */
	struct user_row user;		/* its owner */
	char peer[64];			/* client address from SSH_CONNECTION */
	FILE *out;			/* where verbs print (stdout) */
	int tty;			/* stdin and stdout are a terminal */
	int prompt;			/* running at the sshgate> prompt */
	/* Set by a verb that wants an exit status other than 0 (connect). */
	int exit_status;
	long long session_id;		/* connect's session row, once written */
	/* The secret-masking policy, loaded on first use by gsh_policy(). */
	struct policy *policy;
	int policy_tried;
	char policy_err[200];		/* why it did not load */
};

/*
 * The history policy of gate.ini (built-in rules plus policy_file), loaded
 * once. Returns it, or NULL when it does not load (g->policy_err says
 * why, and it has been logged): every command is then withheld.
 */
struct policy *gsh_policy(struct gsh *g);
/*
 * Is key k (as store_key_by_id() read it) still good: neither it nor its
 * user disabled, not expired? Over ssh and for a web token alike.
 * Returns 0, or -1 with an ERR_DENIED error saying which.
 */
int gsh_key_check(const struct key_row *k);
/*
 * len bytes of text (a command line) as syslog may show it, into out:
 * through gsh_policy() ("[blocked: RULE]" or masked), then escaped; a
 * policy that does not load withholds it.
 */
void gsh_log_text(struct gsh *g, const char *text, size_t len, char *out,
    size_t size);
/* err_msg() the same way: a refusal's message may quote the command. */
void gsh_log_err(struct gsh *g, char *out, size_t size);
/*
 * The last error on stderr as "gate-shell: MESSAGE", one inert line:
 * messages may quote the user's words or names from the database (B4).
 */
void gsh_say_err(void);

/* One parsed command line, as cmd_run() hands it to a verb. */
#define CALL_MAX_OPTS	8
struct call {
	int argc;			/* positional words after the verb */
	char **argv;
	int json;			/* --json */
	int all;			/* --all */
	int dashdash;			/* "--" was given ... */
	char **rest;			/* ... and these words followed it */
	int nrest;
	/* The verb's own options (struct verb.opts), in the order given. */
	struct { const char *name, *value; } opt[CALL_MAX_OPTS];
	int nopt;
	/* Storage behind argv and opt[].name. */
	char *pos[ARGV_MAX_WORDS + 1];
	char optname[CALL_MAX_OPTS][24];
};

/*
 * The value of option name ("host" for --host), "" for a flag that was
 * given, NULL when it was not given.
 */
const char *call_opt(const struct call *c, const char *name);

enum {
	VF_JSON = 1 << 0,		/* accepts --json */
	VF_ALL = 1 << 1,		/* accepts --all */
	VF_REST = 1 << 2,		/* accepts "-- WORDS..." */
};

struct verb {
	const char *name;
	const char *args;		/* usage after the name */
	const char *help;		/* one line */
	int min, max;			/* positional words after the verb */
	int flags;			/* VF_* */
	/* Further options: "name" a flag, "name:" takes a value; ","-joined. */
	const char *opts;
	int (*fn)(struct gsh *g, const struct call *c);
};

/*
 * Split and run one command line as the user of g. Returns the verb's
 * result: 0, or -1 with err_set() (ERR_USAGE for a bad command).
 */
int cmd_run(struct gsh *g, const char *line, size_t len);
/*
 * Split a command line and check it against the verb table (verb, flag
 * whitelist, number of words) without running anything: the verb, with
 * c filled in and pointing into a; or NULL with an ERR_USAGE error.
 * Either way the caller frees a with argv_free().
 */
const struct verb *cmd_parse(const char *line, size_t len, struct argv *a,
    struct call *c);
/* Split "[LOGIN@]HOST" (login "" when absent), both checked as names. */
int cmd_parse_target(const char *word, char *login, size_t ll, char *host,
    size_t hl);
/* Print the verb list. */
void cmd_help(FILE *f);

int cmd_help_verb(struct gsh *g, const struct call *c);
int cmd_whoami(struct gsh *g, const struct call *c);
int cmd_version(struct gsh *g, const struct call *c);
int cmd_list(struct gsh *g, const struct call *c);
int cmd_connect(struct gsh *g, const struct call *c);
int cmd_sessions(struct gsh *g, const struct call *c);
int cmd_kill(struct gsh *g, const struct call *c);
int cmd_history(struct gsh *g, const struct call *c);
int cmd_replay(struct gsh *g, const struct call *c);
int cmd_web_token(struct gsh *g, const struct call *c);

/*
 * connect's access decision alone, for verb (in logs): word is
 * [LOGIN@]HOST. Returns 0 with *h and login (ll bytes) filled, or -1
 * (ERR_USAGE for a bad name, ERR_DENIED, logged, for no access).
 */
int connect_check(struct gsh *g, const char *verb, const char *word,
    struct host_row *h, char *login, size_t ll);
/*
 * gate-shell --web: take a one-time token (arg, len bytes; or from the
 * prompt when arg is NULL), redeem it and run connect for the user, host
 * and login of its row. g needs cfg and out; web_run opens g->st. Returns
 * the exit status gate-shell should end with.
 */
int web_run(struct gsh *g, const char *arg, size_t len);
int cmd_share(struct gsh *g, const struct call *c);
int cmd_unshare(struct gsh *g, const struct call *c);
int cmd_attach(struct gsh *g, const struct call *c);

/*
 * The interactive prompt (no command, with a terminal): banner, host
 * list, then "sshgate> " lines until exit or Ctrl-D. Returns the exit
 * status gate-shell should end with.
 */
int prompt_run(struct gsh *g);

/* What proxy_run() needs to know beyond the ssh command line. */
struct proxy_opts {
	int tty;			/* relay through a terminal of our own */
	int max_time;			/* seconds, 0: no limit */
	long long session_id;
	int idle_timeout;		/* seconds, 0: no idle watcher */
	int idle_warn;			/* seconds before it; 0: no warning */
	int idle_input_only;
	struct recorder *rec;		/* NULL: no recorder */
	struct recorder_opts *rec_opts;	/* proxy_run fills in the size */
	/* Sharing (terminal sessions only); NULL: not shared. */
	const struct share_opts *share;
	long long owner_id;		/* the session's user */
	const char *owner;
};

struct proxy_result {
	int status;			/* gate-shell's exit status */
	const char *reason;		/* exit error killed ttl idle lost */
	char message[256];		/* for the row and the user, or "" */
	unsigned long long bytes_in, bytes_out;
};

struct egress;
struct recorder;
struct recorder_opts;
struct share_opts;
/*
 * Run the egress ssh described by e and relay the user's stdin/stdout to
 * it until it ends, the user goes away, or the gate ends it. The user's
 * terminal is raw meanwhile and restored on every way out. Returns 0
 * with *res filled, or -1 with an error when ssh could not be started.
 */
int proxy_run(const struct egress *e, const struct proxy_opts *o,
    struct proxy_result *res);
/*
 * Check that the key sshd verified for this session (the ExposeAuthInfo
 * file named by SSH_USER_AUTH, path given) is the key of g->key. Returns
 * 0 when it is, -1 with an error otherwise.
 */
int authinfo_check(const char *path, const struct key_row *k);

#endif
