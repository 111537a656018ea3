/*
 * gatectl: the admin CLI. Each verb lives in its own cmd-*.c and is one
 * entry of the table in main.c. A verb validates all its input before it
 * touches the database and makes its changes in one transaction, so a bad
 * input changes nothing.
 */
#ifndef SSHGATE_GATECTL_H
#define SSHGATE_GATECTL_H

#include <getopt.h>

#include "config.h"
#include "store.h"

struct ctx {
	struct config *cfg;
	struct store *st;	/* opened on first use by ctx_store() */
};

/* Open (and upgrade) the database once; NULL with an error. */
struct store *ctx_store(struct ctx *c);
/*
 * getopt_long() over long options only, with getopt's own messages off;
 * returns what getopt_long() returns.
 */
int opt_next(int argc, char *argv[], const struct option *lo);
/*
 * Record a one-line usage error naming the option getopt refused, if any,
 * and the verb's usage. Returns -1.
 */
int usage_err(const char *usage);
/* Parse --json as the only option; returns 0/1 or -1 (usage). */
int opt_json_only(int argc, char *argv[], const char *usage, int *json);
/* A future time from --expires/--until; -1 with an ERR_USAGE error. */
int parse_future(const char *s, time_t *out);

int cmd_init(struct ctx *c, int argc, char *argv[]);
int cmd_user(struct ctx *c, int argc, char *argv[]);
int cmd_key(struct ctx *c, int argc, char *argv[]);
int cmd_host(struct ctx *c, int argc, char *argv[]);
int cmd_group(struct ctx *c, int argc, char *argv[]);
int cmd_grant(struct ctx *c, int argc, char *argv[]);
int cmd_revoke(struct ctx *c, int argc, char *argv[]);
int cmd_grants(struct ctx *c, int argc, char *argv[]);
int cmd_access(struct ctx *c, int argc, char *argv[]);
int cmd_egress_key(struct ctx *c, int argc, char *argv[]);
int cmd_session(struct ctx *c, int argc, char *argv[]);
int cmd_recordings(struct ctx *c, int argc, char *argv[]);
int cmd_history(struct ctx *c, int argc, char *argv[]);
int cmd_policy(struct ctx *c, int argc, char *argv[]);
int cmd_token(struct ctx *c, int argc, char *argv[]);

#endif
