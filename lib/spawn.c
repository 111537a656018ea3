/*
 * spawn: spawning. Signals are blocked across fork so no handler of ours
 * runs in the child; the child resets every disposition and the mask
 * before exec, and asks for SIGHUP when its parent dies so no egress
 * ssh outlives the gate-shell that accounts for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "spawn.h"

#define SPAWN_PIPE_SIZE	(1024 * 1024)

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void
spawn_close(struct spawn_child *c)
{
	close_fd(&c->master);
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
}

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return err_set(ERR_SYS, "fcntl: %s", strerror(errno));
	return 0;
}

/* In the child: only async-signal-safe calls, and _exit on failure. */
static void
child(const char *path, char *const argv[], char *const envp[], int slave,
    const int in[2], const int out[2], const int err[2], int status,
    pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int sig, e, sfd = status;	/* the status pipe, until it is fd 3 */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* If gate-shell dies, even by SIGKILL, the egress goes with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGHUP) == -1 || getppid() != parent)
		goto fail;
	if (setsid() == -1)
		goto fail;
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) == -1 || dup2(slave, 0) == -1)
			goto fail;
	} else if (dup2(in[0], 0) == -1) {
		goto fail;
	}
	if (dup2(out[1], 1) == -1)
		goto fail;
	if (dup2(err[1], 2) == -1)
		goto fail;
	/* The status pipe is close-on-exec: keep it past the sweep. */
	if (status != 3) {
		if (dup2(status, 3) == -1)
			goto fail;
		sfd = 3;
	}
	if (fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	close_range(4, ~0U, 0);
	execve(path, argv, envp);
fail:
	e = errno;
	(void)!write(sfd, &e, sizeof(e));
	_exit(127);
}

int
spawn_run(const char *path, char *const argv[], char *const envp[],
    const struct termios *tio, const struct winsize *ws, struct spawn_child *c)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int st[2] = { -1, -1 }, master = -1, slave = -1, e = 0;
	sigset_t all, old;
	ssize_t r;
	pid_t pid, parent;

	c->pid = -1;
	c->master = c->in = c->out = c->err = -1;
	if (tio) {
		if (openpty(&master, &slave, NULL, tio, ws) == -1) {
			err_set(ERR_SYS, "openpty: %s", strerror(errno));
			goto fail;
		}
		if (fcntl(master, F_SETFD, FD_CLOEXEC) == -1 ||
		    fcntl(slave, F_SETFD, FD_CLOEXEC) == -1)
			goto fail_errno;
	} else if (pipe2(in, O_CLOEXEC) == -1) {
		goto fail_errno;
	}
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    pipe2(st, O_CLOEXEC) == -1)
		goto fail_errno;
	/*
	 * Room for a burst of output, so the child (ssh, non-blocking on a
	 * pipe) seldom finds it full. Best effort: the default works too.
	 */
	(void)fcntl(out[1], F_SETPIPE_SZ, SPAWN_PIPE_SIZE);
	/* Keep the status pipe off fds 0-2 so the child's dup2()s spare it. */
	if (st[1] < 3) {
		int fd = fcntl(st[1], F_DUPFD_CLOEXEC, 3);
		if (fd == -1)
			goto fail_errno;
		close(st[1]);
		st[1] = fd;
	}

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	parent = getpid();
	pid = fork();
	if (pid == 0)
		child(path, argv, envp, slave, in, out, err, st[1], parent);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		err_set(ERR_SYS, "fork: %s", strerror(e));
		goto fail;
	}
	close_fd(&st[1]);
	close_fd(&slave);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	while ((r = read(st[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	close_fd(&st[0]);
	if (r > 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		err_set(ERR_SYS, "cannot run %s: %s", path, strerror(e));
		goto fail;
	}
	c->pid = pid;
	c->master = master;
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
	if ((master >= 0 && nonblock(master) == -1) ||
	    (c->in >= 0 && nonblock(c->in) == -1) ||
	    (c->out >= 0 && nonblock(c->out) == -1) || nonblock(c->err) == -1) {
		/* Nothing left running: the promise of spawn.h. */
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		spawn_close(c);
		c->pid = -1;
		return -1;
	}
	return 0;
fail_errno:
	err_set(ERR_SYS, "spawn: %s", strerror(errno));
fail:
	close_fd(&master);
	close_fd(&slave);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&st[0]);
	close_fd(&st[1]);
	return -1;
}
