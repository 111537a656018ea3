/*
 * idle: the watcher loop and the end of a session. It wakes once a
 * second, compares a snapshot of the activity source with the previous
 * one, and otherwise sleeps on a pidfd of the session's leader, so it
 * ends as soon as the session does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "idle.h"
#include "log.h"
#include "when.h"

struct snap {
	unsigned long long in, out;	/* counters, or the tty's times in ns */
};

struct idle_counters *
idle_counters_new(void)
{
	void *p = mmap(NULL, sizeof(struct idle_counters),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		err_set(ERR_SYS, "mmap: %s", strerror(errno));
		return NULL;
	}
	return p;
}

void
idle_counters_free(struct idle_counters *c)
{
	if (c)
		munmap(c, sizeof(*c));
}

int
idle_opts_check(const struct idle_opts *o)
{
	if (o->timeout <= 0)
		return err_set(ERR_USAGE, "the idle timeout must be positive");
	if (o->warn < 0 || o->warn >= o->timeout)
		return err_set(ERR_USAGE, "the warning (%ds) must come before "
		    "the timeout (%ds)", o->warn, o->timeout);
	if (o->grace < 0 || o->grace > 600)
		return err_set(ERR_USAGE, "the signal grace must be 0 to 600 s");
	return 0;
}

/* Monotonic seconds. */
static long long
mono(void)
{
	return when_mono_ns() / 1000000000LL;
}

static int
snapshot(const struct idle_watch *w, struct snap *s)
{
	struct stat st;

	if (w->shared) {
		s->in = __atomic_load_n(&w->shared->in, __ATOMIC_RELAXED);
		s->out = __atomic_load_n(&w->shared->out, __ATOMIC_RELAXED);
		return 0;
	}
	if (stat(w->tty, &st) == -1)
		return -1;
	s->in = (unsigned long long)st.st_atim.tv_sec * 1000000000ULL +
	    (unsigned long long)st.st_atim.tv_nsec;
	s->out = (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)st.st_mtim.tv_nsec;
	return 0;
}

/* One line on the session's terminal, bounded, never blocking. */
static void
warn_line(const struct idle_watch *w, long long idle)
{
	char line[160], a[24], b[24];
	int fd, n;

	when_span(idle, a, sizeof(a));
	when_span(w->o.timeout - idle, b, sizeof(b));
	n = snprintf(line, sizeof(line), "\r\n[idle-watch] idle for %s; "
	    "closing in %s unless you type\r\n", a, b);
	if ((fd = open(w->tty, O_WRONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return;
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

static int
pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
send_to(int pidfd, pid_t pid, int sig)
{
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	return kill(pid, sig);
}

/*
 * Signal every process of session sid (when > 0), else of group pgid
 * (when > 0), else none. Returns how many were signalled.
 * The groups and session are those recorded at the start, so processes
 * the target left behind are found after it is gone.
 */
static int
signal_members(pid_t sid, pid_t pgid, int sig)
{
	DIR *d;
	struct dirent *e;
	char path[64], buf[512], *p;
	long pg, se;
	int n = 0, fd;
	ssize_t r;
	pid_t pid, me = getpid();

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if ((pid = (pid_t)atoi(e->d_name)) <= 0 || pid == me)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		/* After "(comm) ": state ppid pgrp session ... */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %*d %ld %ld", &pg, &se) != 2)
			continue;
		if ((sid > 0 && se == sid) || (sid <= 0 && pgid > 0 &&
		    pg == pgid)) {
			if (kill(pid, sig) == 0)
				n++;
		}
	}
	closedir(d);
	return n;
}

/* Wait up to s seconds for the target to exit; 1 if it did. */
static int
wait_gone(int pidfd, pid_t pid, int s)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	long long end = mono() + s;

	if (pidfd < 0) {
		while (kill(pid, 0) == 0 && mono() < end)
			sleep(1);
		return kill(pid, 0) == -1;
	}
	while (poll(&p, 1, s * 1000) == -1 && errno == EINTR && mono() < end)
		;
	return (p.revents & POLLIN) != 0;
}

static void
end_session(const struct idle_watch *w, int pidfd)
{
	struct pollfd gone = { .fd = pidfd, .events = POLLIN };
	pid_t sid = getsid(w->target), pgid = getpgid(w->target);
	int i;

	/*
	 * Those ids were read by number: use them only if the target was
	 * still alive after reading them, so they are its own.
	 */
	if (pidfd >= 0 && poll(&gone, 1, 0) == 1)
		sid = pgid = 0;

	/*
	 * The session when the target leads one (a frontend's command, a
	 * login), else its process group when it leads that (a shell's
	 * job), else the target alone: never a group it merely belongs to,
	 * such as the one of whoever started it.
	 */
	if (sid != w->target)
		sid = 0;
	if (pgid != w->target)
		pgid = 0;
	if (w->first_signal && w->first_signal != SIGHUP) {
		/* The target ends itself cleanly when it can. */
		send_to(pidfd, w->target, w->first_signal);
		if (wait_gone(pidfd, w->target, w->o.grace > 0 ? w->o.grace :
		    1))
			return;
	}
	signal_members(sid, pgid, SIGHUP);
	send_to(pidfd, w->target, SIGHUP);
	wait_gone(pidfd, w->target, 1);
	signal_members(sid, pgid, SIGTERM);
	send_to(pidfd, w->target, SIGTERM);
	/* A process that ignores both cannot keep the session alive. */
	for (i = 0; i < w->o.grace; i++) {
		if (signal_members(sid, pgid, 0) == 0 &&
		    send_to(pidfd, w->target, 0) == -1)
			return;
		sleep(1);
	}
	signal_members(sid, pgid, SIGKILL);
	send_to(pidfd, w->target, SIGKILL);
}

int
idle_run(const struct idle_watch *w)
{
	struct pollfd p;
	struct snap prev, cur;
	long long last, now, idle, warn_at;
	int pidfd, warned = 0, rc;
	char a[24];

	if ((pidfd = w->pidfd) < 0 && (pidfd = pidfd_of(w->target)) == -1) {
		if (errno == ESRCH)
			return 0;
		if (errno != ENOSYS)
			return err_set(ERR_SYS, "pidfd_open: %s",
			    strerror(errno));
	}
	if (snapshot(w, &prev) == -1) {
		err_set(ERR_SYS, "stat %s: %s", w->tty, strerror(errno));
		goto fail;
	}
	last = mono();
	warn_at = w->o.warn > 0 ? w->o.timeout - w->o.warn : -1;
	for (;;) {
		if (pidfd >= 0) {
			p.fd = pidfd;
			p.events = POLLIN;
			rc = poll(&p, 1, 1000);
			if (rc == -1 && errno != EINTR) {
				err_set(ERR_SYS, "poll: %s", strerror(errno));
				goto fail;
			}
			if (rc == 1)
				break;		/* the session ended */
		} else {
			sleep(1);
			if (kill(w->target, 0) == -1 && errno == ESRCH)
				break;
		}
		if (snapshot(w, &cur) == -1)
			break;			/* its terminal is gone */
		now = mono();
		if (cur.in != prev.in || (!w->o.input_only && cur.out != prev.out)) {
			last = now;
			warned = 0;
		}
		prev = cur;
		idle = now - last;
		if (!warned && warn_at >= 0 && idle >= warn_at) {
			warned = 1;
			if (w->tty && !w->shared) {
				warn_line(w, idle);
				/*
				 * Our own line is not the user's activity, but
				 * keys typed meanwhile are: take the output
				 * time only. The kernel stamps each once per
				 * 8-s window, so a key taken for our line would
				 * hide all typing up to the next window, which
				 * may come after the timeout.
				 */
				if (snapshot(w, &cur) == 0)
					prev.out = cur.out;
			} else if (w->first_signal) {
				send_to(pidfd, w->target, SIGUSR2);
			}
		}
		if (idle >= w->o.timeout) {
			when_span(idle, a, sizeof(a));
			log_notice("%s: idle for %s (timeout %ds%s): ending it",
			    w->what, a, w->o.timeout,
			    w->o.input_only ? ", input only" : "");
			end_session(w, pidfd);
			if (pidfd >= 0)
				close(pidfd);
			return 1;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
fail:
	if (pidfd >= 0)
		close(pidfd);
	return -1;
}
