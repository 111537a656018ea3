/*
 * env: allow-listed environment reset.
 */
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "err.h"
#include "text.h"

#define ENV_KEEP_MAX	16

int
env_reset(const char *const keep[])
{
	char *saved[ENV_KEEP_MAX] = { 0 };
	const char *v;
	int i, n, rc = -1;

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
	rc = 0;
out:
	for (i = 0; i < ENV_KEEP_MAX; i++)
		free(saved[i]);
	return rc;
}
