/*
 * session: reaping, killing and who watches, always through proc_* so a
 * recycled pid is never mistaken for a gate-shell.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
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

/*
 * Is pid a gate-shell? A session row is data the gate account can write:
 * root (gatectl) must not be steered into signalling init or sshd.
 */
static int
is_gate_shell(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	if (pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	/* An upgraded binary shows as "gate-shell (deleted)". */
	return strcmp(base, "gate-shell") == 0 ||
	    strcmp(base, "gate-shell (deleted)") == 0;
}

int
session_kill(struct store *st, const struct session_row *x, int grace_ms)
{
	int rc;

	if (!is_gate_shell(x->pid))
		rc = 0;		/* not (or no longer) a gate-shell: gone */
	else if ((rc = proc_signal(x->pid, x->pid_start, SIGTERM,
	    grace_ms)) == 2)
		/*
		 * It did not finish in time. SIGKILL through the pidfd is
		 * enough: its ssh and idle watcher die with it (PDEATHSIG).
		 */
		rc = proc_signal(x->pid, x->pid_start, SIGKILL, grace_ms);
	if (rc == -1)
		return -1;
	if (store_session_end(st, x->id, rc == 0 ? "lost" : "killed", -1, 0, 0,
	    rc == 0 ? "its gate-shell was gone" : "killed") == -1)
		return -1;
	return 0;
}

int
session_watchers(struct store *st, struct attach_row **rows, size_t *n)
{
	size_t i, k = 0;

	if (store_attach_list(st, 0, rows, n) == -1)
		return -1;
	for (i = 0; i < *n; i++)
		if (proc_alive((*rows)[i].pid, (*rows)[i].pid_start))
			(*rows)[k++] = (*rows)[i];
	*n = k;
	return 0;
}

void
session_watchers_text(const struct attach_row *w, size_t n, long long id,
    char *out, size_t size)
{
	size_t i, len = 0;
	int k;

	snprintf(out, size, "-");
	for (i = 0; i < n; i++) {
		if (w[i].session_id != id)
			continue;
		k = snprintf(out + len, size - len, "%s%s%s", len ? ", " : "",
		    w[i].user, w[i].rw ? " (rw)" : "");
		if (k < 0 || (size_t)k >= size - len)
			break;
		len += (size_t)k;
	}
}

void
session_watchers_json(FILE *f, const struct attach_row *w, size_t n,
    long long id)
{
	size_t i;
	int first = 1;

	fputs(",\"watchers\":[", f);
	for (i = 0; i < n; i++) {
		if (w[i].session_id != id)
			continue;
		fputs(first ? "{" : ",{", f);
		json_kv_str(f, 1, "user", w[i].user);
		json_kv_bool(f, 0, "rw", w[i].rw);
		json_kv_time(f, 0, "since", w[i].joined);
		fputc('}', f);
		first = 0;
	}
	fputc(']', f);
}
