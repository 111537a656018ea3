/*
 * hostkeys: reading, rewriting and scanning pinned host keys. Lines are
 * "NAME TYPE BASE64"; lines we did not write (an admin's comments) are
 * kept as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "hostkeys.h"
#include "name.h"
#include "relay.h"
#include "when.h"
#include "spawn.h"

/* The sscanf() widths below are these sizes minus one. */
_Static_assert(KEY_TYPE_MAX == 48 && KEY_B64_MAX == 3469,
    "update the sscanf widths");

/* Read the whole file (bounded). A missing file reads as empty. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t r;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			*len = 0;
			return calloc(1, 1);
		}
		err_set(ERR_SYS, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > HOSTKEYS_MAX_FILE) {
		err_set(ERR_SYS, "%s is not a regular file of at most %d bytes",
		    path, HOSTKEYS_MAX_FILE);
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(ERR_SYS, "out of memory");
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size &&
	    (r = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(ERR_SYS, "read %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Does line (len bytes) start with "name "? */
static int
line_is(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);

	return len > nl && memcmp(line, name, nl) == 0 && line[nl] == ' ';
}

int
hostkeys_parse(const char *text, const char *name, struct pubkey *keys,
    size_t max, size_t *n)
{
	char type[KEY_TYPE_MAX], b64[KEY_B64_MAX], line[KEY_B64_MAX + 256];
	const char *p, *nl;
	size_t len;

	*n = 0;
	for (p = text; *p && *n < max; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		/* Our lines fit; longer ones are someone else's: skip them. */
		if (line_is(p, len, name) && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (sscanf(line, "%*s %47s %3468s", type, b64) == 2 &&
			    key_from_parts(type, b64, &keys[*n]) == 0)
				(*n)++;
		}
		if (*nl == '\0')
			break;
	}
	return 0;
}

char *
hostkeys_text(const char *path)
{
	size_t len;

	return slurp(path, &len);
}

int
hostkeys_write(const char *path, const char *name,
    const struct pubkey *keys, size_t n, uid_t uid, gid_t gid)
{
	char *buf = NULL, *line, *nl, tmp[PATH_MAX];
	size_t len, i;
	FILE *f = NULL;
	int fd = -1, rc = -1;

	if (name_check("host", name) == -1)
		return -1;
	if ((buf = slurp(path, &len)) == NULL)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		err_set(ERR_SYS, "known_hosts path too long");
		goto out;
	}
	/* A stale .new from a crashed run is ours to remove, not to follow. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		err_set(ERR_SYS, "unlink %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		err_set(ERR_SYS, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, 0600) == -1) {
		err_set(ERR_SYS, "chown %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		err_set(ERR_SYS, "fdopen: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	for (line = buf; *line; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if (!line_is(line, (size_t)(nl - line), name))
			fprintf(f, "%.*s\n", (int)(nl - line), line);
		if (*nl == '\0')
			break;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s %s\n", name, keys[i].type, keys[i].b64);
	if (fflush(f) == EOF || fsync(fileno(f)) == -1) {
		err_set(ERR_SYS, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		err_set(ERR_SYS, "rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	free(buf);
	return rc;
}

int
hostkeys_scan(const char *address, int port, int timeout,
    struct pubkey **keys, size_t *n)
{
	static char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	struct spawn_child c;
	struct pollfd p;
	char out[65536], ports[8], tos[8], type[KEY_TYPE_MAX],
	    b64[KEY_B64_MAX], *line, *nl;
	char *argv[] = { (char *)"/usr/bin/ssh-keyscan", (char *)"-T", tos,
	    (char *)"-p", ports, (char *)"--", (char *)address, NULL };
	size_t got = 0;
	long long end;
	ssize_t r;
	int st;

	*keys = NULL;
	*n = 0;
	if (name_check_address(address) == -1)
		return -1;
	snprintf(ports, sizeof(ports), "%d", port);
	snprintf(tos, sizeof(tos), "%d", timeout);
	if (spawn_run(argv[0], argv, envp, NULL, NULL, &c) == -1)
		return -1;
	close(c.in);
	c.in = -1;
	end = when_mono_ns() + (long long)(timeout + 5) * 1000000000LL;
	p.fd = c.out;
	p.events = POLLIN;
	while (got < sizeof(out) - 1) {
		long long left = (end - when_mono_ns()) / 1000000;
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			break;
		r = read(c.out, out + got, sizeof(out) - 1 - got);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	kill(c.pid, SIGKILL);
	while (waitpid(c.pid, &st, 0) == -1 && errno == EINTR)
		;
	spawn_close(&c);
	if ((*keys = calloc(HOSTKEYS_MAX_KEYS, sizeof(**keys))) == NULL)
		return err_set(ERR_SYS, "out of memory");
	for (line = out; *line && *n < HOSTKEYS_MAX_KEYS; line = nl + 1) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] != '#' && sscanf(line, "%*s %47s %3468s", type,
		    b64) == 2 && key_from_parts(type, b64, &(*keys)[*n]) == 0)
			(*n)++;
		if (nl == NULL)
			break;
	}
	if (*n == 0) {
		free(*keys);
		*keys = NULL;
		return err_set(ERR_SYS, "ssh-keyscan got no host key from %s "
		    "port %d", address, port);
	}
	return 0;
}
