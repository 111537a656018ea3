/*
 * gatectl init: create or repair the state directory, the database and
 * the directories below it, with the owners and modes sshgate relies on:
 *
 *   state_dir      02750 gate:AUTHGROUP  (authkeys-cmd must reach the db;
 *                                         setgid, so -wal and -shm files the
 *                                         gate account re-creates stay
 *                                         readable by AUTHGROUP)
 *   database        0640 gate:AUTHGROUP  (+ its -wal and -shm files)
 *   recordings_dir  0700 gate:gate
 *   runtime_dir     0700 gate:gate
 *   egress_key      0600 gate:gate   (ed25519, made by ssh-keygen if missing;
 *                                     its .pub 0644)
 *   known_hosts     0600 gate:gate   (pinned target host keys)
 *
 * AUTHGROUP is the primary group of auth_account, the AuthorizedKeysCommand
 * user. Idempotent: a second run changes nothing and says so; an older
 * database is upgraded in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "gatectl.h"
#include "spawn.h"

static int
account(const char *name, const char *key, struct passwd *out)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		return err_set(ERR_SYS, "account '%s' (%s in the config) does not "
		    "exist; create it first (see contrib/quickstart)", name, key);
	*out = *pw;
	return 0;
}

/*
 * Copy the file src (root's, in our private directory) to dst, which
 * must not exist: created O_EXCL|O_NOFOLLOW, so nothing planted in the
 * gate-owned state_dir (a symlink to /root/.ssh/authorized_keys) is ever
 * followed or overwritten.
 */
static int
install_new(const char *src, const char *dst, mode_t mode, uid_t uid,
    gid_t gid)
{
	char buf[8192];
	ssize_t n;
	int in, out, rc = -1;

	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(ERR_SYS, "open %s: %s", src, strerror(errno));
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		err_set(ERR_SYS, "create %s: %s%s", dst, strerror(errno),
		    errno == EEXIST ? " (a file left without its pair? remove "
		    "it and run init again)" : "");
		close(in);
		return -1;
	}
	if (fchown(out, uid, gid) == -1 || fchmod(out, mode) == -1) {
		err_set(ERR_SYS, "chown %s: %s", dst, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err_set(ERR_SYS, "write %s: %s", dst, strerror(errno));
			goto out;
		}
	if (n == -1 || fsync(out) == -1) {
		err_set(ERR_SYS, "copy to %s: %s", dst, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(in);
	close(out);
	if (rc == -1)
		unlink(dst);
	return rc;
}

/*
 * Make the gate's ed25519 egress key when it is missing (never replace
 * one: targets trust it), then fix owners and modes. ssh-keygen runs as
 * root, so it writes only in a private directory of root's; the pair is
 * then copied into state_dir (owned by the gate account) without
 * following anything there.
 */
static int
egress_key(const char *path, uid_t uid, gid_t gid, int *changed)
{
	static char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	struct spawn_child ch;
	struct stat st;
	char pub[PATH_MAX + 8], comment[128], host[64] = "gate", buf[512];
	char dir[] = "/tmp/sshgate-keygen-XXXXXX", key[64], keypub[64];
	char *argv[] = { (char *)"/usr/bin/ssh-keygen", (char *)"-q",
	    (char *)"-t", (char *)"ed25519", (char *)"-N", (char *)"",
	    (char *)"-C", comment, (char *)"-f", key, NULL };
	int status, rc = -1, made = 0;

	snprintf(pub, sizeof(pub), "%s.pub", path);
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		gethostname(host, sizeof(host) - 1);
		host[strspn(host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")] = '\0';
		snprintf(comment, sizeof(comment), "sshgate-egress@%s", host);
		if (mkdtemp(dir) == NULL)
			return err_set(ERR_SYS, "mkdtemp: %s", strerror(errno));
		made = 1;
		snprintf(key, sizeof(key), "%s/key", dir);
		snprintf(keypub, sizeof(keypub), "%s/key.pub", dir);
		if (spawn_run(argv[0], argv, envp, NULL, NULL, &ch) == -1)
			goto out;
		close(ch.in);
		ch.in = -1;
		/* Drain its output so it never blocks on a full pipe. */
		while (waitpid(ch.pid, &status, WNOHANG) != ch.pid) {
			while (read(ch.out, buf, sizeof(buf)) > 0 ||
			    read(ch.err, buf, sizeof(buf)) > 0)
				;
			usleep(10000);
		}
		spawn_close(&ch);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			err_set(ERR_SYS, "ssh-keygen failed to create a key");
			goto out;
		}
		if (install_new(keypub, pub, 0644, uid, gid) == -1)
			goto out;
		if (install_new(key, path, 0600, uid, gid) == -1) {
			unlink(pub);
			goto out;
		}
		printf("created egress key %s (gatectl egress-key prints the "
		    "line for targets' authorized_keys)\n", path);
		*changed = 1;
	}
	if (fsutil_file(path, 0600, uid, gid, changed) == -1)
		goto out;
	if (lstat(pub, &st) == -1) {
		err_set(ERR_SYS, "%s is missing (ssh-keygen -y -f %s > %s "
		    "recreates it)", pub, path, pub);
		goto out;
	}
	rc = fsutil_file(pub, 0644, uid, gid, changed);
out:
	if (made) {
		unlink(key);
		unlink(keypub);
		rmdir(dir);
	}
	return rc;
}

int
cmd_init(struct ctx *c, int argc, char *argv[])
{
	struct config *cfg = c->cfg;
	struct passwd gate = { 0 }, auth = { 0 };
	char path[PATH_MAX + 8];
	struct stat st;
	int changed = 0, before, after, i;
	uid_t uid;
	gid_t ggid, agid;

	if (argc != 1)
		return usage_err("init");
	if (geteuid() != 0)
		return err_set(ERR_SYS, "init must run as root");
	if (account(cfg->account, "account", &gate) == -1)
		return -1;
	uid = gate.pw_uid;
	ggid = gate.pw_gid;
	if (account(cfg->auth_account, "auth_account", &auth) == -1)
		return -1;
	agid = auth.pw_gid;
	if (uid == 0)
		return err_set(ERR_SYS, "the gate account must not be root");

	if (fsutil_dir(cfg->state_dir, 02750, uid, agid, &changed) == -1 ||
	    fsutil_file(cfg->database, 0640, uid, agid, &changed) == -1)
		return -1;
	/* Existing ones first: the store refuses a WAL others could write. */
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->database,
		    i == 0 ? "-wal" : "-shm");
		if (lstat(path, &st) == 0 &&
		    fsutil_file(path, 0640, uid, agid, &changed) == -1)
			return -1;
	}
	if (ctx_store(c) == NULL)
		return -1;
	before = store_version_found(c->st);
	after = store_version(c->st);
	/* SQLite made these as root with the database's owner; make sure. */
	snprintf(path, sizeof(path), "%s-wal", cfg->database);
	if (fsutil_file(path, 0640, uid, agid, &changed) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s-shm", cfg->database);
	if (fsutil_file(path, 0640, uid, agid, &changed) == -1)
		return -1;
	if (fsutil_dir(cfg->recordings_dir, 0700, uid, ggid, &changed) == -1 ||
	    fsutil_dir(cfg->runtime_dir, 0700, uid, ggid, &changed) == -1)
		return -1;

	if (egress_key(cfg->egress_key, uid, ggid, &changed) == -1 ||
	    fsutil_file(cfg->known_hosts, 0600, uid, ggid, &changed) == -1)
		return -1;

	if (before == 0)
		printf("initialised %s (database schema version %d)\n",
		    cfg->state_dir, after);
	else if (before != after)
		printf("upgraded database %s from schema version %d to %d\n",
		    cfg->database, before, after);
	else if (changed)
		printf("repaired owners or modes under %s (schema version %d)\n",
		    cfg->state_dir, after);
	else
		printf("nothing to change: %s is initialised (schema version "
		    "%d)\n", cfg->state_dir, after);
	return 0;
}
