/*
 * err: the one error path of sshgate's library.
 *
 * A failing function records one line saying why and returns -1 (or NULL);
 * only main() turns that into a message and an exit status. The kind says
 * whose fault it was: ERR_USAGE for bad input from the caller (exit 2),
 * ERR_SYS for everything else (exit 1).
 */
#ifndef SSHGATE_ERR_H
#define SSHGATE_ERR_H

enum err_kind {
	ERR_SYS = 1,	/* environment, I/O, database: exit 1 */
	ERR_USAGE = 2,	/* bad input from the caller: exit 2 */
	ERR_DENIED = 3,	/* access refused (gate-shell: exit 3) */
};

/* Record why the current operation failed. Always returns -1. */
int err_set(enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The last message recorded, or "unknown error". Never NULL. */
const char *err_msg(void);
/* The kind of the last error (ERR_SYS when none was recorded). */
int err_kind(void);

#endif
