/*
 * session: live-session housekeeping shared by gate-shell and gatectl.
 *
 * A session row names the gate-shell serving it by (pid, start time).
 * session_reap() closes as "lost" the rows whose gate-shell is gone
 * (crashed, SIGKILLed, the machine rebooted); session_kill() ends one
 * through its gate-shell, which closes its own row as "killed".
 */
#ifndef SSHGATE_SESSION_H
#define SSHGATE_SESSION_H

#include <stdio.h>

#include "store.h"

/* Close the rows of dead gate-shells. Returns how many, or -1. */
int session_reap(struct store *st);
/*
 * End the live session x: SIGTERM to its gate-shell, which hangs up the
 * target and closes the row; SIGKILL after grace_ms if it has not
 * exited, and the row is closed here. Only a process that is a
 * gate-shell with the row's start time is ever signalled (rows are data
 * the gate account can write); for anything else the row is closed as
 * lost. Returns 0, or -1 with an error.
 */
int session_kill(struct store *st, const struct session_row *x, int grace_ms);
/*
 * Who watches live sessions (attach): the attachments whose gate-shell
 * still lives, into a fresh array (free()). Returns 0 or -1.
 */
int session_watchers(struct store *st, struct attach_row **rows, size_t *n);
/* Session id's watchers as "bob (rw), carol", or "-" for nobody. */
void session_watchers_text(const struct attach_row *w, size_t n, long long id,
    char *out, size_t size);
/* The same as JSON: ,"watchers":[{"user":..,"rw":..,"since":..}] */
void session_watchers_json(FILE *f, const struct attach_row *w, size_t n,
    long long id);

#endif
