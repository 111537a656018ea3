/*
 * tty: raw mode for the relay. Raw means no line discipline on the gate:
 * every byte, Ctrl-C included, goes to the target untouched, where the
 * target's own terminal gives it meaning.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "tty.h"

static struct termios saved;
static int saved_fd = -1;
static volatile sig_atomic_t saved_ok;

static void
on_fatal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int
tty_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	struct termios t;
	struct sigaction sa;
	size_t i;

	if (tcgetattr(fd, &t) == -1)
		return err_set(ERR_SYS, "tcgetattr: %s", strerror(errno));
	if (!saved_ok) {
		saved = t;
		saved_fd = fd;
		saved_ok = 1;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal;
		sa.sa_flags = SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
	}
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	while (tcsetattr(fd, TCSADRAIN, &t) == -1) {
		if (errno != EINTR)
			return err_set(ERR_SYS, "tcsetattr: %s", strerror(errno));
	}
	return 0;
}

void
tty_restore(void)
{
	int e = errno;

	if (saved_ok) {
		while (tcsetattr(saved_fd, TCSADRAIN, &saved) == -1 &&
		    errno == EINTR)
			;
		saved_ok = 0;
	}
	errno = e;
}

int
tty_winsize(int fd, struct winsize *ws)
{
	if (ioctl(fd, TIOCGWINSZ, ws) == -1)
		return -1;
	return 0;
}

int
tty_write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}
