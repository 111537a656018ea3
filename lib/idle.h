/*
 * idle: the idle watcher. A small process beside a session that ends it
 * when neither input nor output has moved for a while, without touching
 * the session's data path.
 *
 * Activity comes from one of two sources:
 *   - a terminal's inode times: the kernel stamps a tty's atime when a
 *     process reads from it (input) and its mtime when one writes to it
 *     (output), at most once per 8-second window. stat() shows them, so
 *     watching costs the session nothing; the price is resolution: the
 *     watcher sees activity at most 8 s + its 1 s poll late, so timeouts
 *     act within 10 s of the configured value and must exceed 10 s to be
 *     meaningful;
 *   - two counters in a shared page (struct idle_counters) that a relay
 *     bumps for each chunk it moves (gate-shell), exact to 1 s.
 * The watcher warns once on the terminal before the end; activity after
 * the warning cancels it. At the end it signals the session: SIGHUP to
 * its process group, SIGTERM, then SIGKILL after the grace.
 */
#ifndef SSHGATE_IDLE_H
#define SSHGATE_IDLE_H

#include <sys/types.h>

struct idle_opts {
	int timeout;		/* seconds of no activity that end the session */
	int warn;		/* warn this many seconds before; 0: no warning */
	int input_only;		/* output alone does not count as activity */
	int grace;		/* seconds between SIGTERM and SIGKILL */
};

/* Written by the relay, read by the watcher (MAP_SHARED, no locks). */
struct idle_counters {
	unsigned long long in, out;
};

struct idle_watch {
	struct idle_opts o;
	const char *tty;	/* watch this terminal's inode times, or */
	struct idle_counters *shared;	/* these counters */
	pid_t target;		/* the session: its leader */
	int pidfd;		/* a pidfd of target taken while it surely was
				   alive (before forking the watcher), or -1:
				   idle_run() opens one */
	int first_signal;	/* the signal that starts the end: SIGHUP, or
				   one the target handles (gate-shell: SIGUSR1) */
	const char *what;	/* for the log: "session 123" or a command */
};

/*
 * Shared counters for a relay and a watcher it will fork; NULL with an
 * error. Release with idle_counters_free().
 */
struct idle_counters *idle_counters_new(void);
void idle_counters_free(struct idle_counters *c);
/* Check o: timeout > 0, 0 <= warn < timeout. Returns 0 or -1 (ERR_USAGE). */
int idle_opts_check(const struct idle_opts *o);
/*
 * Run the watcher loop in the calling process until the target ends
 * (returns 0) or was ended for being idle (returns 1). -1 on error.
 * Closes w->pidfd.
 * The caller is the watcher process: it should have left the target's
 * session (setsid) so the end does not reach it.
 */
int idle_run(const struct idle_watch *w);

#endif
