/*
 * gatectl egress-key [HOST]: print the public line of the key the gate
 * uses toward targets (or toward HOST, if it has its own), to append to
 * the target account's authorized_keys. The line is checked as a public
 * key before it is printed, so a wrong file never ends up on targets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "gatectl.h"
#include "keys.h"
#include "name.h"

#define USAGE "egress-key [HOST]"

int
cmd_egress_key(struct ctx *c, int argc, char *argv[])
{
	struct host_row h;
	struct pubkey k;
	char path[PATH_MAX + 8], buf[8192];
	const char *key = c->cfg->egress_key;
	ssize_t r;
	size_t got = 0;
	int fd, rc;

	if (argc > 2)
		return usage_err(USAGE);
	if (argc == 2) {
		if (name_check("host name", argv[1]) == -1 ||
		    ctx_store(c) == NULL ||
		    (rc = store_host_get(c->st, argv[1], &h)) == -1)
			return -1;
		if (rc == 0)
			return err_set(ERR_USAGE, "no such host '%s'", argv[1]);
		if (h.egress_key[0])
			key = h.egress_key;
	}
	snprintf(path, sizeof(path), "%s.pub", key);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return err_set(ERR_SYS, "cannot read %s: %s (gatectl init "
		    "creates the gate's key)", path, strerror(errno));
	while (got < sizeof(buf) - 1 &&
	    (r = read(fd, buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			close(fd);
			return err_set(ERR_SYS, "read %s: %s", path,
			    strerror(errno));
		}
		got += (size_t)r;
	}
	close(fd);
	while (got > 0 && buf[got - 1] == '\n')
		got--;
	buf[got] = '\0';
	if (key_parse_line(buf, got, &k) == -1)
		return err_set(ERR_SYS, "%s is not a public key: %s", path,
		    err_msg());
	printf("%s %s%s%s\n", k.type, k.b64, k.comment[0] ? " " : "",
	    k.comment);
	return 0;
}
