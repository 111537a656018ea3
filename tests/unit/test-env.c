/*
 * Unit tests for lib/env: after env_reset() the environment holds PATH and
 * the allow-listed names only, and an allow-listed value with control
 * characters or of absurd length is dropped too (THREATS rows 8, 9), and
 * /proc/self/environ stops showing what exec gave the process.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "env.h"
#include "test.h"

extern char **environ;

static int
count(void)
{
	int n = 0;

	while (environ[n])
		n++;
	return n;
}

/*
 * Does /proc/self/environ show only the environment in force, in order?
 * (What exec gave stays unless env_reset() overwrote it; an area too
 * small for all of the new environment shows its first variables.)
 */
static int
proc_shows_environ(void)
{
	static char buf[1 << 16];
	size_t have = 0;
	ssize_t n;
	char *p;
	int fd, i = 0;

	if ((fd = open("/proc/self/environ", O_RDONLY)) == -1)
		return 0;
	while (have < sizeof(buf) - 1 &&
	    (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	buf[have] = '\0';
	for (p = buf; p < buf + have; p += strlen(p) + 1)
		if (*p != '\0' && (environ[i] == NULL ||
		    strcmp(p, environ[i++]) != 0))
			return 0;
	return 1;
}

int
main(void)
{
	static const char *const keep[] = { "TERM", NULL };
	char big[5000];
	/*
	 * Does /proc show what we run with? Not under valgrind, whose loader
	 * builds the program's environment elsewhere; then env_reset leaves
	 * /proc alone and there is nothing to check.
	 */
	int shown = proc_shows_environ();

	setenv("LC_ALL", "() { :;}; touch /tmp/p", 1);
	setenv("LD_PRELOAD", "/tmp/evil.so", 1);
	setenv("BASH_ENV", "/tmp/evil", 1);
	setenv("PATH", "/tmp/evil:/usr/bin", 1);
	setenv("TERM", "xterm-256color", 1);
	CHECK(env_reset(keep, ENV_WIPE_EXEC) == 0);
	CHECK(count() == 2);
	CHECK_STR(getenv("PATH"), "/usr/sbin:/usr/bin:/sbin:/bin");
	CHECK_STR(getenv("TERM"), "xterm-256color");
	CHECK(getenv("LC_ALL") == NULL && getenv("LD_PRELOAD") == NULL &&
	    getenv("BASH_ENV") == NULL);
	CHECK(!shown || proc_shows_environ());

	setenv("TERM", "xterm\033]0;x\007", 1);
	CHECK(env_reset(keep, ENV_WIPE_EXEC) == 0);
	CHECK(getenv("TERM") == NULL && count() == 1);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("TERM", big, 1);
	CHECK(env_reset(keep, ENV_WIPE_EXEC) == 0);
	CHECK(getenv("TERM") == NULL);

	CHECK(env_reset(NULL, ENV_WIPE_EXEC) == 0 && count() == 1);
	return TEST_DONE();
}
