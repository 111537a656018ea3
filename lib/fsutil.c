/*
 * fsutil: symlink-safe creation and repair of state files and directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "text.h"

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

char *
fsutil_read_trusted(const char *path, const char *what, size_t max)
{
	struct stat st;
	char shown[128], *buf = NULL;
	ssize_t r;
	size_t got = 0;
	int fd;

	text_escape(shown, sizeof(shown), path, strlen(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		err_set(ERR_SYS, "cannot open %s %s: %s", what, shown,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		err_set(ERR_SYS, "fstat %s: %s", shown, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(ERR_SYS, "%s %s is not a regular file", what, shown);
		goto fail;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		err_set(ERR_SYS, "%s %s must be owned by root and not be "
		    "writable by group or others", what, shown);
		goto fail;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto fail;
	}
	while ((r = read(fd, buf + got, max + 1 - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(ERR_SYS, "read %s: %s", shown, strerror(errno));
			goto fail;
		}
		got += (size_t)r;
		if (got > max) {
			err_set(ERR_USAGE, "%s %s is larger than %zu bytes",
			    what, shown, max);
			goto fail;
		}
	}
	if (memchr(buf, '\0', got)) {
		err_set(ERR_USAGE, "%s %s contains a NUL byte", what, shown);
		goto fail;
	}
	buf[got] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}
