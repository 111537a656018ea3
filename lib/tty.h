/*
 * tty: the user's terminal in raw mode while a session relays bytes, and
 * restored on every way out.
 *
 * tty_raw() saves the settings once; tty_restore() puts them back and is
 * safe to call twice, from a signal handler, or after the fd is gone.
 * The saved copy is static so the fatal-signal handler can use it.
 */
#ifndef SSHGATE_TTY_H
#define SSHGATE_TTY_H

#include <sys/ioctl.h>
#include <termios.h>

/*
 * Switch fd to raw mode, saving its settings (and file status flags)
 * first. Returns 0, or -1 with an error (fd is then unchanged).
 */
int tty_raw(int fd);
/* Undo tty_raw(); a no-op when nothing is saved. Async-signal-safe. */
void tty_restore(void);
/*
 * Write all of s to fd, waiting (up to a second at a time) when a
 * non-blocking fd is full. Returns 0, or -1 when fd failed.
 */
int tty_write_all(int fd, const char *s, size_t n);
/* fd's window size; 0, or -1 when fd is not a terminal. */
int tty_winsize(int fd, struct winsize *ws);

#endif
