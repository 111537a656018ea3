/*
 * session: reaping and killing, always through proc_* so a recycled pid
 * is never mistaken for a gate-shell.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "proc.h"
#include "session.h"

int
session_reap(struct store *st)
{
	struct session_row *rows;
	size_t n, i;
	int closed = 0;

	if (store_session_list(st, 0, 1, 0, &rows, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (proc_alive(rows[i].pid, rows[i].pid_start))
			continue;
		if (store_session_end(st, rows[i].id, "lost", -1, 0, 0,
		    "its gate-shell was gone") == 0) {
			log_notice("session %lld of %s to %s@%s closed as lost: "
			    "gate-shell %d is gone", rows[i].id, rows[i].user,
			    rows[i].login, rows[i].host, rows[i].pid);
			closed++;
		}
	}
	free(rows);
	return closed;
}

int
session_kill(struct store *st, const struct session_row *x, int grace_ms)
{
	int rc = proc_signal(x->pid, x->pid_start, SIGTERM, grace_ms);

	if (rc == -1)
		return -1;
	if (rc == 2) {
		/* It did not finish in time: its whole group goes. */
		if (proc_alive(x->pid, x->pid_start) &&
		    getpgid(x->pid) == x->pid)
			kill(-x->pid, SIGKILL);
		proc_signal(x->pid, x->pid_start, SIGKILL, grace_ms);
	}
	if (store_session_end(st, x->id, rc == 0 ? "lost" : "killed", -1, 0, 0,
	    rc == 0 ? "its gate-shell was gone" : "killed") == -1)
		return -1;
	return 0;
}
