/*
 * env: building a program's environment from nothing (THREATS rows 8, 9).
 * Client-chosen variables (LANG, LC_*, anything sent with SendEnv/SetEnv)
 * must not steer sshgate's programs or anything they start.
 */
#ifndef SSHGATE_ENV_H
#define SSHGATE_ENV_H

enum {
	/*
	 * Also overwrite the area exec put the old environment in, so
	 * /proc/PID/environ of this process and of its forks shows no more
	 * of it: for gate-shell, whose environment is the client's and whose
	 * forks live as long as the session. A program whose environment
	 * comes from sshd or an admin (authkeys-cmd, gatectl) need not pay.
	 */
	ENV_WIPE_EXEC = 1 << 0,
};

/*
 * Replace the environment by PATH=/usr/sbin:/usr/bin:/sbin:/bin plus the
 * variables named in keep (NULL-terminated) whose values are at most 4096
 * bytes of text without control characters. flags: ENV_WIPE_EXEC or 0.
 * Returns 0 or -1.
 */
int env_reset(const char *const keep[], int flags);

#endif
