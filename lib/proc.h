/*
 * proc: telling one process from another that later got the same pid.
 *
 * A pid alone names a process only while it lives; once it exits the
 * number is reused. Sessions store (pid, start time) and every check or
 * signal goes through a pidfd opened first and verified second, so a
 * signal never reaches a recycled pid (THREATS row 17).
 */
#ifndef SSHGATE_PROC_H
#define SSHGATE_PROC_H

#include <sys/types.h>

/*
 * The start time of pid in clock ticks since boot (/proc/PID/stat field
 * 22). Returns 0 and sets *start, or -1 when the process does not exist.
 */
int proc_start_time(pid_t pid, long long *start);
/* 1 if (pid, start) is a live process, 0 if not. */
int proc_alive(pid_t pid, long long start);
/*
 * Send sig to (pid, start) if, and only if, it is still that process.
 * Returns 1 when sent, 0 when the process is gone, -1 on error. With
 * wait_ms > 0, then waits that long for it to exit and returns 2 if it
 * did not.
 */
int proc_signal(pid_t pid, long long start, int sig, int wait_ms);

#endif
