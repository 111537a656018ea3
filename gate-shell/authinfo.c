/*
 * authinfo: tie --key-id to the key sshd actually verified.
 *
 * --key-id comes from the command= that authkeys-cmd printed, so it is
 * trusted only as long as nothing else can put words on gate-shell's
 * command line. A key planted in an authorized_keys file (THREATS row 6)
 * would let a client send "gate-shell --key-id 1" itself. With
 * ExposeAuthInfo, sshd writes the credentials it verified to a file named
 * by SSH_USER_AUTH ("publickey TYPE BASE64" lines); the session's key must
 * be among them, or gate-shell refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "gate-shell.h"

#define AUTHINFO_MAX	(64 * 1024)

/* Does one line "publickey TYPE B64[ ...]" name key k? */
static int
line_matches(const char *line, size_t len, const struct key_row *k)
{
	static const char pfx[] = "publickey ";
	size_t tl = strlen(k->type), bl = strlen(k->b64);

	if (len < sizeof(pfx) - 1 + tl + 1 + bl ||
	    memcmp(line, pfx, sizeof(pfx) - 1) != 0)
		return 0;
	line += sizeof(pfx) - 1;
	len -= sizeof(pfx) - 1;
	if (memcmp(line, k->type, tl) != 0 || line[tl] != ' ' ||
	    memcmp(line + tl + 1, k->b64, bl) != 0)
		return 0;
	return len == tl + 1 + bl || line[tl + 1 + bl] == ' ';
}

int
authinfo_check(const char *path, const struct key_row *k)
{
	struct stat sb;
	char *buf = NULL, *p, *nl;
	size_t got = 0;
	ssize_t r;
	int fd, rc = -1;

	if (path == NULL || path[0] != '/')
		return err_set(ERR_SYS, "SSH_USER_AUTH is not set: sshd must "
		    "run the gate account with ExposeAuthInfo yes (see "
		    "sshd_config.d/sshgate.conf), or set verify_auth_info = no");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return err_set(ERR_SYS, "cannot open SSH_USER_AUTH file: %s",
		    strerror(errno));
	/* sshd creates it for the session's user; anything else is planted. */
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		err_set(ERR_SYS, "SSH_USER_AUTH file is not a private regular "
		    "file of this account");
		goto out;
	}
	if ((buf = malloc(AUTHINFO_MAX + 1)) == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto out;
	}
	while ((r = read(fd, buf + got, AUTHINFO_MAX - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(ERR_SYS, "read SSH_USER_AUTH file: %s",
			    strerror(errno));
			goto out;
		}
		if ((got += (size_t)r) == AUTHINFO_MAX) {
			err_set(ERR_SYS, "SSH_USER_AUTH file is too large");
			goto out;
		}
	}
	buf[got] = '\0';
	for (p = buf; p < buf + got; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + got - p))) == NULL)
			nl = buf + got;
		if (line_matches(p, (size_t)(nl - p), k)) {
			rc = 0;
			goto out;
		}
	}
	err_set(ERR_SYS, "the key sshd verified is not key id %lld", k->id);
out:
	free(buf);
	close(fd);
	return rc;
}
