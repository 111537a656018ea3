/*
 * Unit tests for lib/proc: a process is named by (pid, start time); a
 * signal goes only to the process that still has both, never to a
 * process that merely has the pid (THREATS row 17).
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

int
main(void)
{
	long long me, start;
	pid_t pid;
	int st;

	CHECK(proc_start_time(getpid(), &me) == 0);
	CHECK(me > 0);
	CHECK(proc_alive(getpid(), me));
	CHECK(!proc_alive(getpid(), me + 1));
	CHECK(!proc_alive(0, me));

	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	CHECK(proc_start_time(pid, &start) == 0);
	/* The wrong start time: a different process with the same pid. */
	CHECK(proc_signal(pid, start + 1, SIGTERM, 0) == 0);
	CHECK(proc_alive(pid, start));
	/* The right one: signalled, and seen to exit within the wait. */
	CHECK(proc_signal(pid, start, SIGTERM, 2000) == 1);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	CHECK(!proc_alive(pid, start));
	CHECK(proc_signal(pid, start, SIGTERM, 0) == 0);

	/* A process that ignores SIGTERM is reported as still there (2). */
	if ((pid = fork()) == 0) {
		signal(SIGTERM, SIG_IGN);
		pause();
		_exit(0);
	}
	usleep(100000);
	CHECK(proc_start_time(pid, &start) == 0);
	CHECK(proc_signal(pid, start, SIGTERM, 200) == 2);
	CHECK(proc_signal(pid, start, SIGKILL, 2000) == 1);
	waitpid(pid, &st, 0);
	return TEST_DONE();
}
