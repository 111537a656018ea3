/*
 * fsutil: symlink-safe creation and repair of state files and directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

static int
fix(int fd, const char *path, mode_t mode, uid_t uid, gid_t gid, int *changed)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return err_set(ERR_SYS, "fstat %s: %s", path, strerror(errno));
	if (st.st_uid != uid || st.st_gid != gid) {
		if (fchown(fd, uid, gid) == -1)
			return err_set(ERR_SYS, "chown %s: %s", path,
			    strerror(errno));
		*changed = 1;
	}
	if ((st.st_mode & 07777) != mode) {
		if (fchmod(fd, mode) == -1)
			return err_set(ERR_SYS, "chmod %s: %s", path,
			    strerror(errno));
		*changed = 1;
	}
	return 0;
}

int
fsutil_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, int *changed)
{
	int fd, rc;

	if (mkdir(path, 0700) == 0)
		*changed = 1;
	else if (errno != EEXIST)
		return err_set(ERR_SYS, "mkdir %s: %s", path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			return err_set(ERR_SYS, "%s is not a directory (or is a "
			    "symlink): refusing to use it", path);
		return err_set(ERR_SYS, "open %s: %s", path, strerror(errno));
	}
	rc = fix(fd, path, mode, uid, gid, changed);
	close(fd);
	return rc;
}

int
fsutil_file(const char *path, mode_t mode, uid_t uid, gid_t gid, int *changed)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd != -1) {
		*changed = 1;
	} else if (errno == EEXIST) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK);
		if (fd == -1)
			return err_set(ERR_SYS, "%s: %s: refusing to use it",
			    path, errno == ELOOP ? "is a symlink" :
			    strerror(errno));
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			close(fd);
			return err_set(ERR_SYS, "%s is not a regular file: "
			    "refusing to use it", path);
		}
	} else {
		return err_set(ERR_SYS, "create %s: %s", path, strerror(errno));
	}
	rc = fix(fd, path, mode, uid, gid, changed);
	close(fd);
	return rc;
}
