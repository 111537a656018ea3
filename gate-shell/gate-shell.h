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
};

struct verb {
	const char *name;
	const char *args;		/* usage after the name */
	const char *help;		/* one line */
	int min, max;			/* positional words after the verb */
	int json;			/* accepts --json */
	int (*fn)(struct gsh *g, int argc, char *argv[], int json);
};

/*
 * Split and run one command line as the user of g. Returns the verb's
 * result: 0, or -1 with err_set() (ERR_USAGE for a bad command).
 */
int cmd_run(struct gsh *g, const char *line, size_t len);
/* Print the verb list. */
void cmd_help(FILE *f);

int cmd_help_verb(struct gsh *g, int argc, char *argv[], int json);
int cmd_whoami(struct gsh *g, int argc, char *argv[], int json);
int cmd_version(struct gsh *g, int argc, char *argv[], int json);
int cmd_list(struct gsh *g, int argc, char *argv[], int json);

/*
 * Check that the key sshd verified for this session (the ExposeAuthInfo
 * file named by SSH_USER_AUTH, path given) is the key of g->key. Returns
 * 0 when it is, -1 with an error otherwise.
 */
int authinfo_check(const char *path, const struct key_row *k);

#endif
