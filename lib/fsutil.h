/*
 * fsutil: creating sshgate's directories and files without following
 * symlinks, and leaving them with the owner and mode they must have
 * (THREATS B5). Everything works on file descriptors after the open, so a
 * path swapped under us cannot redirect a chown or chmod.
 */
#ifndef SSHGATE_FSUTIL_H
#define SSHGATE_FSUTIL_H

#include <sys/types.h>

/*
 * Make sure path is a directory (never a symlink) owned by uid:gid with
 * exactly mode, creating it if missing (its parent must exist). *changed
 * is set to 1 when anything had to be created or corrected. Returns 0 or
 * -1 with an error.
 */
int fsutil_dir(const char *path, mode_t mode, uid_t uid, gid_t gid,
    int *changed);
/* The same for a regular file, created empty when missing. */
int fsutil_file(const char *path, mode_t mode, uid_t uid, gid_t gid,
    int *changed);

/*
 * Read a file that decides what sshgate does (gate.ini, a policy file)
 * whole: it must be a regular file owned by root (or by us), not writable
 * by group or others, at most max bytes and without NUL bytes; what
 * names it in messages ("config", "policy"). Returns the text, NUL-
 * terminated (free()), or NULL with an error: ERR_SYS when the file
 * cannot be read or is not trusted, ERR_USAGE when its content is too
 * large or holds a NUL.
 */
char *fsutil_read_trusted(const char *path, const char *what, size_t max);

#endif
