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

#endif
