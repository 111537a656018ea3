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
 *
 * AUTHGROUP is the primary group of auth_account, the AuthorizedKeysCommand
 * user. Idempotent: a second run changes nothing and says so; an older
 * database is upgraded in place.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "gatectl.h"

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
