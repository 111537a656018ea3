/*
 * idle-watch: end a terminal session nobody uses.
 *
 *   idle-watch [-t TIMEOUT] [-w WARN] [--input-only] [--signal-grace S]
 *              [--tty PATH] [--] COMMAND [ARGS...]
 *
 * It forks the watcher (twice, so the watcher is nobody's child and a
 * shell's `wait` never waits for it), then execs COMMAND in its own
 * place: the frontend that started idle-watch keeps the same pid and gets
 * COMMAND's own exit status. The watcher holds a pidfd of that process
 * taken before the fork, so it ends within a second of COMMAND, however
 * COMMAND ended, and never signals a recycled pid. It leaves the session
 * (setsid) and closes the terminal, so it neither keeps the terminal open
 * nor is hit by the hang-up it sends. Exit status: COMMAND's; 2 for bad
 * arguments; 127 when COMMAND cannot be run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "idle.h"
#include "token.h"
#include "log.h"
#include "text.h"
#include "when.h"

#define USAGE "usage: idle-watch [-t TIMEOUT] [-w WARN] [--input-only] " \
	"[--signal-grace SECONDS] [--tty PATH] [--] COMMAND [ARGS...]"

/* One line: what is wrong (before, then arg escaped, then after). */
static int
usage(const char *before, const char *arg, const char *after)
{
	char safe[64] = "";

	if (arg)
		text_escape(safe, sizeof(safe), arg, strlen(arg));
	fprintf(stderr, "idle-watch: %s%s%s (%s)\n", before, safe, after,
	    USAGE);
	return 2;
}

static int
duration(const char *what, const char *s, int *out)
{
	long long v;

	if (when_duration(s, 7LL * 86400, &v) == -1) {
		fprintf(stderr, "idle-watch: %s: %s\n", what, err_msg());
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* The watcher: a grandchild, in a session of its own. Never returns. */
static void
watcher(struct idle_watch *w)
{
	int fd;

	setsid();
	/* Keep the pidfd off 0-2, which are about to become /dev/null. */
	if (w->pidfd >= 0 && w->pidfd < 3)
		w->pidfd = fcntl(w->pidfd, F_DUPFD_CLOEXEC, 3);
	/*
	 * Keep nothing of the session or of the frontend open (its terminal,
	 * its pipes, its sockets): only the pidfd, which pins the target.
	 */
	closelog();
	if (w->pidfd > 3)
		close_range(3, (unsigned)w->pidfd - 1, 0);
	close_range(w->pidfd >= 3 ? (unsigned)w->pidfd + 1 : 3, ~0U, 0);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	signal(SIGHUP, SIG_IGN);
	log_init("idle-watch", 0);
	if (idle_run(w) == -1)
		log_err("%s", err_msg());
	_exit(0);
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "warn", required_argument, NULL, 'w' },
		{ "input-only", no_argument, NULL, 'i' },
		{ "signal-grace", required_argument, NULL, 'g' },
		{ "tty", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct idle_watch w = { .o = { .timeout = 900, .warn = 60,
	    .grace = 5 }, .first_signal = SIGHUP,
	    .pidfd = -1 };
	const char *tty = NULL;
	char what[160];
	struct stat st;
	pid_t self, child;
	int ch, status, warn_given = 0;

	log_init("idle-watch", 0);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+t:w:h", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (duration("-t", optarg, &w.o.timeout) == -1)
				return 2;
			break;
		case 'w':
			if (strcmp(optarg, "0") == 0)
				w.o.warn = 0;
			else if (duration("-w", optarg, &w.o.warn) == -1)
				return 2;
			warn_given = 1;
			break;
		case 'i':
			w.o.input_only = 1;
			break;
		case 'g':
			if (strcmp(optarg, "0") == 0)
				w.o.grace = 0;
			else if (duration("--signal-grace", optarg,
			    &w.o.grace) == -1)
				return 2;
			break;
		case 'T':
			tty = optarg;
			break;
		case 'h':
			printf("%s\n", USAGE);
			return 0;
		default:
			return usage("unknown option or missing value '",
			    argv[optind - 1], "'");
		}
	}
	if (optind == argc)
		return usage("no COMMAND to run", NULL, "");
	/* A warning as long as the timeout itself: warn at half-time. */
	if (!warn_given && w.o.warn >= w.o.timeout)
		w.o.warn = w.o.timeout / 2;
	if (idle_opts_check(&w.o) == -1)
		return usage(err_msg(), NULL, "");
	if (tty == NULL && (tty = ttyname(0)) == NULL)
		return usage("standard input is not a terminal; name one with "
		    "--tty PATH", NULL, "");
	if (stat(tty, &st) == -1 || !S_ISCHR(st.st_mode))
		return usage("--tty ", tty, " is not a terminal device");
	w.tty = tty;
	w.target = self = getpid();
	snprintf(what, sizeof(what), "%s on %s (pid %d)", argv[optind], tty,
	    (int)self);
	w.what = what;

	/* Taken before any fork, so it can only ever name this process. */
	if ((w.pidfd = (int)syscall(SYS_pidfd_open, self, 0)) == -1 &&
	    errno != ENOSYS) {
		fprintf(stderr, "idle-watch: pidfd_open: %s\n", strerror(errno));
		return 1;
	}
	if ((child = fork()) == -1) {
		fprintf(stderr, "idle-watch: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		pid_t pid;
		int i;

		/*
		 * The watcher lives as long as COMMAND with a copy of this
		 * argv: a web token given to `gate-shell --web TOKEN` must
		 * not stay readable in its /proc/PID/cmdline after gate-shell
		 * wiped its own (THREATS row 30). Every word after --web goes,
		 * whatever it looks like: gate-shell trims blanks, so
		 * " sgw_..." works as a token, and what gate-shell accepts is
		 * its business, not ours to guess here. Making gate-shell
		 * stricter would not be enough: this copy outlives
		 * gate-shell's refusal by up to a second, with the token
		 * still unused. The lookalike test stays for a token that is
		 * not after --web (a frontend wrapping the command in sh -c).
		 */
		for (i = optind; i < argc; i++)
			if (strcmp(argv[i], "--web") == 0)
				break;
		for (i++; i < argc; i++)
			token_wipe(argv[i], strlen(argv[i]));
		for (i = optind; i < argc; i++)
			if (token_lookalike(argv[i]))
				token_wipe(argv[i], strlen(argv[i]));
		pid = fork();
		if (pid == 0)
			watcher(&w);
		if (pid == -1)
			log_err("%s: cannot fork the watcher: %s; running "
			    "unwatched", what, strerror(errno));
		_exit(pid == -1);
	}
	while (waitpid(child, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "idle-watch: the watcher did not start; %s runs "
		    "unwatched\n", argv[optind]);
	if (w.pidfd >= 0)
		close(w.pidfd);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "idle-watch: cannot run %s: %s\n", argv[optind],
	    strerror(errno));
	return 127;
}
