/*
 * egress: the command line and environment of the ssh client gate-shell
 * runs toward a target (THREATS boundary B3, decision 5).
 *
 * Every word comes from the configuration and the database, checked
 * again here; the user's text reaches ssh only as the remote command,
 * which is one argument after the destination, each word single-quoted
 * for the remote shell (decision 6). The option set is fixed: no config
 * file, no escape character, no forwarding of any kind, no agent, no
 * local or proxy commands, the gate's key only, host keys checked
 * strictly against the gate's known_hosts under the gate's host name.
 */
#ifndef SSHGATE_EGRESS_H
#define SSHGATE_EGRESS_H

#include <stddef.h>

#define EGRESS_MAX_ARGS	96

struct egress_target {
	const char *ssh;		/* client path */
	const char *key;		/* private key */
	const char *known_hosts;
	const char *host;		/* the gate's name for it: HostKeyAlias */
	const char *address;
	int port;
	const char *login;
	int connect_timeout;		/* seconds */
	int tty;			/* 1: ask the target for a terminal */
};

struct egress {
	char *argv[EGRESS_MAX_ARGS];
	char *envp[4];
	char *command;			/* the quoted remote command, or NULL */
	char strings[2048];		/* storage for -o words */
	size_t used;
};

/*
 * Build the client's argv and environment for t, with words (nwords of
 * them, possibly 0) as the remote command. term is the user's TERM, kept
 * only if it is a plain terminal name. Returns 0, or -1 with an error
 * (ERR_USAGE for a value that fails a check). Release with egress_free().
 */
int egress_build(struct egress *e, const struct egress_target *t,
    char *const words[], int nwords, const char *term);
void egress_free(struct egress *e);
enum {
	EGRESS_QUOTE_ALL,	/* every word in single quotes (the egress) */
	EGRESS_QUOTE_MIN,	/* only words a shell would change (people) */
};

/*
 * Quote words for a POSIX shell, joined by spaces: every word in single
 * quotes, or (EGRESS_QUOTE_MIN, for history and listings) only those made
 * of more than [A-Za-z0-9_./:=@%+,-]. Either reads back as the same words.
 * Returns a new string (free()) or NULL with an error.
 */
char *egress_quote(char *const words[], int nwords, int how);
/* 1 if term is a plausible terminal name: [A-Za-z0-9._+-], 1-64 bytes. */
int egress_term_ok(const char *term);

#endif
