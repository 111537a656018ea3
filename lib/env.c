/*
 * env: allow-listed environment reset.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "err.h"
#include "text.h"

#define ENV_KEEP_MAX	16

extern char **environ;

/*
 * clearenv() only forgets the environment exec gave us: its strings stay
 * where the kernel put them, and /proc/PID/environ (and a core dump) go
 * on showing them for the life of the process and of every fork of it,
 * such as gate-shell's recorder and idle watcher: the client's LC_* and
 * the raw SSH_ORIGINAL_COMMAND with any secret in it (THREATS row 9).
 * env_reset(..., ENV_WIPE_EXEC) overwrites that area (env_start to
 * env_end in /proc/self/stat) with the environment now in force. Best effort: the
 * area stays as it is when it cannot be found, when none of the
 * environment we started with lived there (a loader such as valgrind's
 * builds its own), or when a variable in force still lives in it.
 */
static int
exec_env_area(uintptr_t *start, uintptr_t *end)
{
	char buf[2048], *p, *field, *save;
	size_t have = 0;
	ssize_t n;
	int fd, i;

	*start = *end = 0;
	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (have < sizeof(buf) - 1 &&
	    (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	buf[have] = '\0';
	/* Fields from the third on follow the last ')' of the name. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (i = 3, field = strtok_r(p + 1, " \n", &save); field != NULL;
	    i++, field = strtok_r(NULL, " \n", &save)) {
		if (i == 50)
			*start = (uintptr_t)strtoull(field, NULL, 10);
		else if (i == 51)
			*end = (uintptr_t)strtoull(field, NULL, 10);
	}
	return *start != 0 && *end > *start ? 0 : -1;
}

static int
in_area(const char *s, uintptr_t start, uintptr_t end)
{
	return (uintptr_t)s >= start && (uintptr_t)s < end;
}

static void
scrub_exec_env(uintptr_t start, uintptr_t end)
{
	char *p;
	size_t len;
	int i;

	for (i = 0; environ && environ[i]; i++)
		if (in_area(environ[i], start, end))
			return;
	p = (char *)start;
	memset(p, 0, end - start);
	for (i = 0; environ && environ[i]; i++) {
		len = strlen(environ[i]) + 1;
		if (len > end - (uintptr_t)p)
			break;
		memcpy(p, environ[i], len);
		p += len;
	}
}

int
env_reset(const char *const keep[], int flags)
{
	char *saved[ENV_KEEP_MAX] = { 0 };
	const char *v;
	uintptr_t start = 0, end = 0;
	int i, n, rc = -1, ours = 0;

	if ((flags & ENV_WIPE_EXEC) && exec_env_area(&start, &end) == 0)
		for (i = 0; environ && environ[i] && !ours; i++)
			ours = in_area(environ[i], start, end);

	for (n = 0; keep && keep[n]; n++) {
		if (n == ENV_KEEP_MAX) {
			err_set(ERR_SYS, "env_reset: too many variables");
			goto out;
		}
		v = getenv(keep[n]);
		if (v && strlen(v) <= 4096 && text_no_controls(v) &&
		    (saved[n] = strdup(v)) == NULL) {
			err_set(ERR_SYS, "out of memory");
			goto out;
		}
	}
	if (clearenv() != 0 ||
	    setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) == -1) {
		err_set(ERR_SYS, "cannot reset the environment");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (saved[i] && setenv(keep[i], saved[i], 1) == -1) {
			err_set(ERR_SYS, "cannot set %s", keep[i]);
			goto out;
		}
	if (ours)
		scrub_exec_env(start, end);
	rc = 0;
out:
	for (i = 0; i < ENV_KEEP_MAX; i++)
		free(saved[i]);
	return rc;
}
