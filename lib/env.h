/*
 * env: building a program's environment from nothing (THREATS rows 8, 9).
 * Client-chosen variables (LANG, LC_*, anything sent with SendEnv/SetEnv)
 * must not steer sshgate's programs or anything they start.
 */
#ifndef SSHGATE_ENV_H
#define SSHGATE_ENV_H

/*
 * Replace the environment by PATH=/usr/sbin:/usr/bin:/sbin:/bin plus the
 * variables named in keep (NULL-terminated) whose values are at most 4096
 * bytes of text without control characters. The area exec put the old
 * environment in is overwritten with the new one, so /proc/PID/environ of
 * this process and of its forks shows no more. Returns 0 or -1.
 */
int env_reset(const char *const keep[]);

#endif
