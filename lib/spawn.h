/*
 * spawn: start a program in a terminal of our own (or on plain pipes), the
 * way the egress ssh is started.
 *
 * The child gets a new session (so the whole of it can be signalled as a
 * group), exactly the fds meant for it, default signal handling, an
 * empty signal mask and the environment given, never the caller's.
 * exec failures are reported to the parent through a close-on-exec pipe,
 * so "cannot run ssh" is an error here, not a mysterious exit 127.
 */
#ifndef SSHGATE_SPAWN_H
#define SSHGATE_SPAWN_H

#include <sys/types.h>
#include <termios.h>
#include <sys/ioctl.h>

struct spawn_child {
	pid_t pid;
	int master;	/* the terminal's master side, or -1 without one */
	int in;		/* write end of the child's stdin pipe, or -1 */
	int out;	/* read end of the child's stdout pipe */
	int err;	/* read end of the child's stderr pipe */
};

/*
 * Run path with argv and envp. With tio non-NULL the child's stdin is a
 * new terminal with those settings and window size ws (which may be
 * NULL), also its controlling terminal; otherwise stdin is a pipe.
 * stdout and stderr are pipes either way: ssh only needs its input to be
 * a terminal (raw mode, window size, SIGWINCH), and a pipe hands over
 * output 64 KiB at a time where a terminal's master side gives 4 KiB,
 * which saves the relay most of its system calls. Every fd the parent
 * gets is non-blocking and close-on-exec. Returns 0 and fills *c, or -1
 * with an error (nothing left running).
 */
int spawn_run(const char *path, char *const argv[], char *const envp[],
    const struct termios *tio, const struct winsize *ws, struct spawn_child *c);
/* Close the parent's fds of c that are still open (sets them to -1). */
void spawn_close(struct spawn_child *c);

#endif
