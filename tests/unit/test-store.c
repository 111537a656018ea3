/*
 * Unit tests for lib/store on real SQLite files: creation and version
 * checks, constraints that make bad input an error that changes nothing,
 * and access through groups and expiry (deny by default).
 */
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "err.h"
#include "keys.h"
#include "store.h"
#include "test.h"
#include "when.h"

#define ED_LINE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITF" \
	"BUWFxgZGhscHR4f alice"

static char dir[] = "/tmp/sshgate-test-store-XXXXXX";
static char path[128];

static void
set_version(int v)
{
	sqlite3 *db;
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
}

static int
can_reach(struct store *st, long long uid, const char *host,
    const char *login, time_t now)
{
	struct access_row *a;
	size_t n, i;
	int found = 0;

	if (store_access_list(st, uid, now, &a, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(a[i].host, host) == 0 &&
		    strcmp(a[i].login, login) == 0)
			found = 1;
	free(a);
	return found;
}

static struct history_row hrows[8];
static long long host_ids[2];		/* web1, web2 */

static struct history_row *
hrow(int i, long long uid, const char *user, const char *host,
    const char *cmd, time_t t)
{
	struct history_row *h = &hrows[i];

	memset(h, 0, sizeof(*h));
	h->created = t;
	h->user_id = uid;
	h->host_id = host[3] == '1' || host[3] == '2' ?
	    host_ids[host[3] - '1'] : 0;
	h->session_id = 1000000000 + i;
	snprintf(h->user, sizeof(h->user), "%s", user);
	snprintf(h->host, sizeof(h->host), "%s", host);
	snprintf(h->source, sizeof(h->source), "typed");
	if (cmd) {
		snprintf(h->command, sizeof(h->command), "%s", cmd);
		h->hash[0] = (unsigned char)cmd[strlen(cmd) - 1];
	} else {
		h->blocked = 1;
		snprintf(h->reason, sizeof(h->reason), "7 bytes typed with "
		    "echo off");
	}
	return h;
}

static size_t
query(struct store *st, struct history_query q, struct history_row **r)
{
	size_t n = 0;

	CHECK(store_history_query(st, &q, r, &n) == 0);
	return n;
}

/* command_log: insert, search (trigram and short), unique, delete. */
static void
test_history(struct store *st, long long alice, long long bob)
{
	struct history_row *r;
	struct host_row hr;
	time_t now = when_now();
	long long n;

	CHECK(store_host_get(st, "web1", &hr) == 1);
	host_ids[0] = hr.id;
	CHECK(store_host_get(st, "web2", &hr) == 1);
	host_ids[1] = hr.id;

	/* Stored in the order they were made, as the recorder does. */
	hrow(0, alice, "alice", "web1", "systemctl restart nginx",
	    now - 100 * 86400);
	hrow(1, alice, "alice", "web1", "systemctl restart nginx", now - 50);
	hrow(2, alice, "alice", "web1", "ls -la", now - 40);
	hrow(3, alice, "alice", "web2", "systemctl restart nginx", now - 30);
	hrow(4, bob, "bob", "web1", "echo 100% \"quoted\" _x_", now - 20);
	hrow(5, alice, "alice", "web1", NULL, now - 10);
	CHECK(store_history_add(st, hrows, 6) == 0);
	/* Everyone's, newest last, limited. */
	CHECK(query(st, (struct history_query){ .limit = 3 }, &r) == 3);
	CHECK(r[2].blocked && r[2].command[0] == '\0');
	CHECK_STR(r[0].command, "systemctl restart nginx");
	CHECK_STR(r[1].command, "echo 100% \"quoted\" _x_");
	free(r);
	/* One user's; substring through the index, case-insensitive. */
	CHECK(query(st, (struct history_query){ .user_id = alice,
	    .text = "RESTART NG" }, &r) == 3);
	free(r);
	CHECK(query(st, (struct history_query){ .user_id = bob,
	    .text = "restart" }, &r) == 0);
	free(r);
	/* Query text is never syntax: quotes, % and _ are literal. */
	CHECK(query(st, (struct history_query){ .text = "\"quoted\"" },
	    &r) == 1);
	free(r);
	CHECK(query(st, (struct history_query){ .text = "0% " }, &r) == 1);
	free(r);
	CHECK(query(st, (struct history_query){ .text = "_x" }, &r) == 1);
	free(r);
	CHECK(query(st, (struct history_query){ .text = "x%" }, &r) == 0);
	free(r);
	CHECK(query(st, (struct history_query){ .text = "OR" }, &r) == 0);
	free(r);
	CHECK(query(st, (struct history_query){ .text = "ls" }, &r) == 1);
	free(r);
	/* By host name; offset pages back. */
	CHECK(query(st, (struct history_query){ .host = "web2" }, &r) == 1);
	free(r);
	CHECK(query(st, (struct history_query){ .limit = 1, .offset = 1 },
	    &r) == 1);
	CHECK(r[0].user_id == bob);
	free(r);
	/* Unique: one row per (host, command), its last use and count. */
	CHECK(query(st, (struct history_query){ .unique = 1, .host = "web1",
	    .text = "nginx" }, &r) == 1);
	CHECK(r != NULL && r[0].uses == 2 && r[0].created == now - 50);
	free(r);
	/* A deleted host's rows count by its name, not with every NULL. */
	{
		struct history_row *d = hrow(6, alice, "alice", "gone1", "df -h",
		    now - 5), *e = hrow(7, alice, "alice", "gone2", "df -h",
		    now - 4);
		d->host_id = e->host_id = 0;
		CHECK(store_history_add(st, d, 2) == 0);
		CHECK(query(st, (struct history_query){ .unique = 1,
		    .text = "df -h" }, &r) == 2);
		CHECK(r != NULL && r[0].uses == 1 && r[1].uses == 1);
		free(r);
		CHECK(store_history_clear(st, "gone1", &n) == 0 && n == 1);
		CHECK(store_history_clear(st, "gone2", &n) == 0 && n == 1);
	}
	/* Retention: once a day at most. */
	CHECK(store_history_retain(st, 30) == 1);
	CHECK(query(st, (struct history_query){ .text = "nginx" }, &r) == 2);
	free(r);
	CHECK(store_history_retain(st, 30) == 0);
	CHECK(store_history_retain(st, 0) == 0);
	/* Clear by host, purge by age; the index follows. */
	CHECK(store_history_clear(st, "web2", &n) == 0 && n == 1);
	CHECK(query(st, (struct history_query){ .text = "nginx" }, &r) == 1);
	free(r);
	CHECK(store_history_purge(st, now - 35, &n) == 0 && n == 2);
	CHECK(query(st, (struct history_query){ .text = "nginx" }, &r) == 0);
	free(r);
	CHECK(store_history_purge(st, now + 1, &n) == 0 && n == 2);
	CHECK(query(st, (struct history_query){ 0 }, &r) == 0);
	free(r);
}

int
main(void)
{
	struct store *st;
	struct pubkey k;
	struct key_row kr;
	struct user_row alice, bob;
	time_t now = when_now();

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/gate.db", dir);

	/* Read-only opens never create a database. */
	CHECK(store_open(path, STORE_RDONLY, 100) == NULL);
	CHECK(access(path, F_OK) == -1);
	/* A missing file is not created either: gatectl init makes it. */
	CHECK(store_open(path, 0, 100) == NULL);
	close(creat(path, 0600));
	st = store_open(path, 0, 100);
	CHECK(st != NULL);
	if (st == NULL)
		return TEST_DONE();
	CHECK(store_version_found(st) == 0);
	CHECK(store_version(st) == STORE_SCHEMA_VERSION);

	CHECK(store_user_add(st, "alice", 0) == 0);
	CHECK(store_user_add(st, "bob", 1) == 0);
	CHECK(store_user_add(st, "alice", 0) == -1 && err_kind() == ERR_USAGE);
	CHECK(strstr(err_msg(), "already exists") != NULL);
	CHECK(store_user_get(st, "alice", &alice) == 0 && !alice.is_admin);
	CHECK(store_user_get(st, "bob", &bob) == 0 && bob.is_admin);
	CHECK(store_user_get(st, "carol", &bob) == -1 && err_kind() == ERR_USAGE);

	CHECK(key_parse_line(ED_LINE, strlen(ED_LINE), &k) == 0);
	CHECK(store_key_add(st, "alice", &k, "10.0.0.0/8", 0, NULL) == 0);
	CHECK(store_key_add(st, "bob", &k, NULL, 0, NULL) == -1);
	CHECK(strstr(err_msg(), "already enrolled") != NULL);
	CHECK(store_key_add(st, "nobody", &k, NULL, 0, NULL) == -1);
	CHECK(store_key_find(st, k.fp, &kr) == 1);
	CHECK_STR(kr.user, "alice");
	CHECK_STR(kr.from, "10.0.0.0/8");
	CHECK(kr.last_used == 0);
	CHECK(store_key_touch(st, kr.id, 1234) == 0);
	CHECK(store_key_by_id(st, kr.id, &kr) == 1 && kr.last_used == 1234);
	CHECK(store_key_find(st, "SHA256:none", &kr) == 0);

	CHECK(store_host_add(st, "web1", "127.0.0.1", 22, "www", NULL) == 0);
	CHECK(store_host_add(st, "web2", "127.0.0.2", 2222, "", NULL) == 0);
	CHECK(store_host_add(st, "db1", "127.0.0.3", 22, "postgres", NULL) == 0);
	CHECK(store_host_add(st, "web1", "x", 22, "", NULL) == -1);
	CHECK(store_group_add(st, "ops", 0) == 0);
	CHECK(store_group_add(st, "web", 1) == 0);
	CHECK(store_group_member_add(st, "ops", "alice") == 0);
	CHECK(store_group_member_add(st, "web", "web1") == 0);
	CHECK(store_group_member_add(st, "web", "web2") == 0);
	CHECK(store_group_member_add(st, "ops", "web1") == -1);	/* a host */
	CHECK(store_group_member_add(st, "ops", "alice") == -1);

	/* Deny by default. */
	CHECK(can_reach(st, alice.id, "web1", "www", now) == 0);
	CHECK(store_grant_add(st, "@ops", "@web", "", 0) == 0);
	CHECK(can_reach(st, alice.id, "web1", "www", now) == 1);
	/* web2 has no default login: a default-login grant gives nothing. */
	CHECK(can_reach(st, alice.id, "web2", "", now) == 0);
	CHECK(can_reach(st, bob.id, "web1", "www", now) == 0);
	CHECK(store_grant_add(st, "alice", "db1", "root", now + 60) == 0);
	CHECK(can_reach(st, alice.id, "db1", "root", now) == 1);
	CHECK(can_reach(st, alice.id, "db1", "root", now + 61) == 0);
	CHECK(can_reach(st, alice.id, "db1", "postgres", now) == 0);
	CHECK(store_grant_add(st, "@web", "db1", "", 0) == -1);	/* kinds */
	CHECK(store_grant_del(st, "@ops", "@web", NULL) == 0);
	CHECK(can_reach(st, alice.id, "web1", "www", now) == 0);
	CHECK(store_grant_del(st, "@ops", "@web", NULL) == -1);

	test_history(st, alice.id, bob.id);

	/* Deleting a user takes keys, memberships and grants with it. */
	CHECK(store_user_del(st, "alice") == 0);
	CHECK(store_key_find(st, k.fp, &kr) == 0);
	store_close(st);

	/* The same version opens read-only; any other is refused. */
	st = store_open(path, STORE_RDONLY, 100);
	CHECK(st != NULL);
	store_close(st);
	set_version(STORE_SCHEMA_VERSION + 1);
	CHECK(store_open(path, 0, 100) == NULL);
	CHECK(strstr(err_msg(), "newer than this program") != NULL);
	CHECK(store_open(path, STORE_NOMIGRATE, 100) == NULL);
	CHECK(store_open(path, STORE_RDONLY, 100) == NULL);
	CHECK(strstr(err_msg(), "upgrade sshgate") != NULL);
	store_close(NULL);

	unlink(path);
	{
		char p[160];
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	rmdir(dir);
	return TEST_DONE();
}
