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
 * Make the gate's ed25519 egress key with ssh-keygen when it is missing
 * (never replace one: targets trust it), then fix owners and modes.
 */
static int
egress_key(const char *path, uid_t uid, gid_t gid, int *changed)
{
	static char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	struct spawn_child ch;
	struct stat st;
	char pub[PATH_MAX + 8], comment[128], host[64] = "gate", buf[512];
	char *argv[] = { (char *)"/usr/bin/ssh-keygen", (char *)"-q",
	    (char *)"-t", (char *)"ed25519", (char *)"-N", (char *)"",
	    (char *)"-C", comment, (char *)"-f", (char *)path, NULL };
	int status;

	snprintf(pub, sizeof(pub), "%s.pub", path);
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		gethostname(host, sizeof(host) - 1);
		host[strspn(host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")] = '\0';
		snprintf(comment, sizeof(comment), "sshgate-egress@%s", host);
		if (spawn_run(argv[0], argv, envp, NULL, NULL, &ch) == -1)
			return -1;
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
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return err_set(ERR_SYS, "ssh-keygen failed to create "
			    "%s", path);
		printf("created egress key %s (gatectl egress-key prints the "
		    "line for targets' authorized_keys)\n", path);
		*changed = 1;
	}
	if (fsutil_file(path, 0600, uid, gid, changed) == -1)
		return -1;
	if (lstat(pub, &st) == -1)
		return err_set(ERR_SYS, "%s is missing (ssh-keygen -y -f %s > "
		    "%s recreates it)", pub, path, pub);
	return fsutil_file(pub, 0644, uid, gid, changed);
}

int
cmd_init(struct ctx *c, int argc, char *argv[])
{
	struct config *cfg = c->cfg;
	struct passwd gate = { 0 }, auth = { 0 };
	char path[PATH_MAX + 8];
	int changed = 0, before, after;
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
