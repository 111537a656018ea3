/*
 * proc: process identity by (pid, start time), and signals through a
 * pidfd so a check and the signal after it name the same process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "proc.h"

int
proc_start_time(pid_t pid, long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t r;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field != 22)
		return -1;
	*start = strtoll(p, NULL, 10);
	return 0;
}

/* 1 if pid has exited but not been reaped (state Z in /proc/PID/stat). */
static int
proc_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
}

int
proc_alive(pid_t pid, long long start)
{
	long long s;

	if (pid <= 0 || proc_start_time(pid, &s) == -1)
		return 0;
	return s == start;
}

/*
 * Without pidfd_open (kernels before 5.3, valgrind 3.19): check, then
 * kill(). The pid could be recycled between the two, a window of
 * microseconds against pid reuse taking a full cycle of the pid space.
 */
static int
signal_nopidfd(pid_t pid, long long start, int sig, int wait_ms)
{
	struct timespec pause = { 0, 20 * 1000000 };
	int waited;

	if (!proc_alive(pid, start))
		return 0;
	if (kill(pid, sig) == -1)
		return errno == ESRCH ? 0 : err_set(ERR_SYS, "signal %d: %s",
		    (int)pid, strerror(errno));
	if (wait_ms <= 0)
		return 1;
	for (waited = 0; waited < wait_ms; waited += 20) {
		if (!proc_alive(pid, start) || proc_zombie(pid))
			return 1;
		nanosleep(&pause, NULL);
	}
	return 2;
}

int
proc_signal(pid_t pid, long long start, int sig, int wait_ms)
{
	struct pollfd p;
	int fd, rc;

	if (pid <= 0)
		return 0;
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		if (errno == ENOSYS)
			return signal_nopidfd(pid, start, sig, wait_ms);
		return errno == ESRCH ? 0 :
		    err_set(ERR_SYS, "pidfd_open %d: %s", (int)pid,
		    strerror(errno));
	}
	/* The fd now pins this process; only then compare its identity. */
	if (!proc_alive(pid, start)) {
		close(fd);
		return 0;
	}
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == -1) {
		rc = errno == ESRCH ? 0 : err_set(ERR_SYS, "signal %d: %s",
		    (int)pid, strerror(errno));
		close(fd);
		return rc;
	}
	rc = 1;
	if (wait_ms > 0) {
		p.fd = fd;
		p.events = POLLIN;
		while ((rc = poll(&p, 1, wait_ms)) == -1 && errno == EINTR)
			;
		rc = rc == 1 ? 1 : 2;
	}
	close(fd);
	return rc;
}
