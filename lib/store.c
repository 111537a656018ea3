/*
 * store: schema, migrations and every query sshgate runs. Kept in one file
 * so that SQL, and sqlite3.h, appear nowhere else.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "text.h"
#include "token.h"
#include "when.h"

struct store {
	sqlite3 *db;
	int rdonly;
	int version;
	int from_version;	/* found before any upgrade */
	long long deadline_ns;	/* 0: none */
};

/*
 * The schema, one entry per version. Never edit a released entry: append
 * a new one that moves the previous version forward.
 */
static const char *const migrations[] = {
	/* 1: users, keys, hosts, groups, grants, sessions. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE keys ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  type TEXT NOT NULL,"
	"  blob TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL UNIQUE,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  from_list TEXT,"
	"  expires_at INTEGER,"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	"  created_at INTEGER NOT NULL,"
	"  last_used_at INTEGER);"
	"CREATE INDEX keys_user ON keys(user_id);"
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  address TEXT NOT NULL,"
	"  port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),"
	"  default_login TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('user', 'host')),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE group_users ("
	"  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX group_users_user ON group_users(user_id);"
	"CREATE TABLE group_hosts ("
	"  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (group_id, host_id)) WITHOUT ROWID;"
	"CREATE INDEX group_hosts_host ON group_hosts(host_id);"
	"CREATE TRIGGER group_users_kind BEFORE INSERT ON group_users"
	"  WHEN (SELECT kind FROM groups WHERE id = NEW.group_id) IS NOT 'user'"
	"  BEGIN SELECT RAISE(ABORT, 'not a group of users'); END;"
	"CREATE TRIGGER group_hosts_kind BEFORE INSERT ON group_hosts"
	"  WHEN (SELECT kind FROM groups WHERE id = NEW.group_id) IS NOT 'host'"
	"  BEGIN SELECT RAISE(ABORT, 'not a group of hosts'); END;"
	"CREATE TABLE grants ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,"
	"  ugroup_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,"
	"  host_id INTEGER REFERENCES hosts(id) ON DELETE CASCADE,"
	"  hgroup_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,"
	"  login TEXT NOT NULL DEFAULT '',"
	"  expires_at INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  CHECK ((user_id IS NULL) != (ugroup_id IS NULL)),"
	"  CHECK ((host_id IS NULL) != (hgroup_id IS NULL)));"
	"CREATE UNIQUE INDEX grants_unique ON grants(ifnull(user_id, 0),"
	"  ifnull(ugroup_id, 0), ifnull(host_id, 0), ifnull(hgroup_id, 0), login);"
	"CREATE INDEX grants_user ON grants(user_id);"
	"CREATE INDEX grants_ugroup ON grants(ugroup_id);"
	"CREATE TRIGGER grants_kind BEFORE INSERT ON grants"
	"  WHEN (NEW.ugroup_id IS NOT NULL AND"
	"        (SELECT kind FROM groups WHERE id = NEW.ugroup_id) IS NOT 'user')"
	"    OR (NEW.hgroup_id IS NOT NULL AND"
	"        (SELECT kind FROM groups WHERE id = NEW.hgroup_id) IS NOT 'host')"
	"  BEGIN SELECT RAISE(ABORT, 'group of the wrong kind'); END;"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  user_name TEXT NOT NULL,"
	"  key_id INTEGER REFERENCES keys(id) ON DELETE SET NULL,"
	"  host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,"
	"  host_name TEXT NOT NULL,"
	"  login TEXT NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER,"
	"  end_reason TEXT CHECK (end_reason IN"
	"    ('exit', 'error', 'killed', 'limit', 'ttl', 'idle', 'lost')),"
	"  exit_status INTEGER,"
	"  bytes_in INTEGER NOT NULL DEFAULT 0,"
	"  bytes_out INTEGER NOT NULL DEFAULT 0,"
	"  pid INTEGER);"
	"CREATE INDEX sessions_open ON sessions(ended_at);"
	"CREATE INDEX sessions_user ON sessions(user_id, started_at);",
	/*
	 * 2: a per-host egress key; sessions learn the start time of their
	 * gate-shell (so a recycled pid is not taken for it), whether they
	 * had a terminal, the remote command, the client address and a
	 * message saying why they ended.
	 */
	"ALTER TABLE hosts ADD COLUMN egress_key TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN pid_start INTEGER;"
	"ALTER TABLE sessions ADD COLUMN tty INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN command TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN peer TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN message TEXT NOT NULL DEFAULT '';",
	/*
	 * 3: what a session left behind. Its recording (the first file; more
	 * are numbered after it) and what became of it, and the commands
	 * typed or run, after the secret-masking policy. command_log keeps
	 * names as well as ids so the audit outlives deleted users and hosts;
	 * command_fts is a trigram index over the stored (masked) text, so a
	 * substring search does not read every row. It is kept in step by
	 * the statements below, not by triggers: the schema is untrusted
	 * (SQLITE_DBCONFIG_TRUSTED_SCHEMA off), so triggers may not write to
	 * a virtual table.
	 */
	"ALTER TABLE sessions ADD COLUMN recording TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN rec_status TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN rec_files INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN rec_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sessions ADD COLUMN rec_lost INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX sessions_host ON sessions(host_name, started_at);"
	"CREATE TABLE command_log ("
	"  id INTEGER PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  host INTEGER REFERENCES hosts(id) ON DELETE SET NULL,"
	"  user INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  session_id INTEGER,"
	"  command TEXT NOT NULL DEFAULT '',"
	"  command_hash BLOB,"
	"  source TEXT NOT NULL CHECK (source IN ('typed', 'exec')),"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  is_blocked INTEGER NOT NULL DEFAULT 0,"
	"  blocked_reason TEXT NOT NULL DEFAULT '',"
	"  username TEXT NOT NULL,"
	"  host_name TEXT NOT NULL);"
	"CREATE INDEX command_log_host ON command_log(host, created_at);"
	"CREATE INDEX command_log_user ON command_log(user, created_at);"
	"CREATE INDEX command_log_hash ON command_log(host, command_hash);"
	"CREATE INDEX command_log_time ON command_log(created_at);"
	"CREATE INDEX command_log_user_hash ON command_log(user, host,"
	"  command_hash);"
	"CREATE VIRTUAL TABLE command_fts USING fts5(command,"
	"  content = 'command_log', content_rowid = 'id',"
	"  tokenize = 'trigram');"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
	/*
	 * 4: sharing and the web. shares says who may join a live session
	 * (and whether they may type); attachments says who is watching
	 * now, by the attaching gate-shell's (pid, start time), so a
	 * listing can tell a live watcher from a dead one. web_tokens holds
	 * one-time tokens by a public selector and the hash of their
	 * secret, bound to user, host and login, and to the key that made
	 * it (deleting the key deletes its tokens; a disabled or expired
	 * key's tokens are refused at redemption); web_throttle is one row
	 * that counts recent failures (bounded, whatever a browser sends).
	 */
	"CREATE TABLE shares ("
	"  session_id INTEGER NOT NULL,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  rw INTEGER NOT NULL DEFAULT 0,"
	"  granted_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (session_id, user_id));"
	"CREATE TABLE attachments ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  user_name TEXT NOT NULL,"
	"  rw INTEGER NOT NULL DEFAULT 0,"
	"  joined_at INTEGER NOT NULL,"
	"  left_at INTEGER,"
	"  pid INTEGER NOT NULL,"
	"  pid_start INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX attachments_session ON attachments(session_id, left_at);"
	"CREATE TABLE web_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  selector TEXT NOT NULL UNIQUE,"
	"  hash BLOB NOT NULL,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  key_id INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  login TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  session_id INTEGER);"
	"CREATE INDEX web_tokens_expiry ON web_tokens(expires_at);"
	"CREATE INDEX web_tokens_key ON web_tokens(key_id);"
	"CREATE TABLE web_throttle ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  failures INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION,
    "one migration per schema version");

static int
db_fail(struct store *st, const char *what)
{
	return err_set(ERR_SYS, "database: %s: %s", what,
	    st->db ? sqlite3_errmsg(st->db) : "not open");
}

/* Called every few thousand VM steps: a non-zero return aborts the query. */
static int
progress_cb(void *arg)
{
	struct store *st = arg;

	return st->deadline_ns && when_mono_ns() > st->deadline_ns;
}

static int
prep(struct store *st, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return db_fail(st, "prepare");
	return 0;
}

static int
exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(ERR_SYS, "database: %s", msg ? msg :
		    sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * A change of who may do what, or a deletion the user was promised,
 * waits for the disk even on a connection opened STORE_LAZY_SYNC: it
 * stays so for the connection's life. (Inside a caller's transaction,
 * such as the daily retention purge, the caller's level stands.)
 */
static int
sync_full(struct store *st)
{
	/* SQLite keeps the level of a transaction already open. */
	if (!sqlite3_get_autocommit(st->db))
		return 0;
	return exec(st, "PRAGMA synchronous = FULL");
}

static void
col_text(sqlite3_stmt *s, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static int
read_version(struct store *st, int *v)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "PRAGMA user_version", &s) == -1)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_fail(st, "read schema version");
}

static int
migrate(struct store *st)
{
	char sql[64];
	int v, i;

	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (read_version(st, &v) == -1)
		goto fail;
	st->from_version = v;
	if (v > STORE_SCHEMA_VERSION) {
		err_set(ERR_SYS, "database schema version %d is newer than this "
		    "program's (%d): upgrade sshgate", v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (i = v; i < NMIGRATIONS; i++)
		if (exec(st, migrations[i]) == -1)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	if (exec(st, sql) == -1 || exec(st, "COMMIT") == -1)
		goto fail;
	st->version = STORE_SCHEMA_VERSION;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * A reader without write access to the directory can open a WAL database
 * only while its -wal and -shm files exist. Our writers keep them
 * (SQLITE_FCNTL_PERSIST_WAL), but any other client that closes the
 * database last - an admin's sqlite3 shell - checkpoints and deletes them,
 * which would lock every user out. Then the main file holds every
 * committed change and no writer is running, so a read-only opener may
 * read it as immutable. A writer that starts during that read only appends
 * to a new WAL; the main file changes only when that WAL is checkpointed.
 * A read that overlaps the checkpoint may mix old and new pages: SQLite
 * then reports corruption and we fail closed, or a row reads as it was
 * just before or just after the change.
 */
static int
wal_files_exist(const char *path)
{
	char p[PATH_MAX + 8];

	snprintf(p, sizeof(p), "%s-shm", path);
	if (access(p, F_OK) == -1)
		return 0;
	snprintf(p, sizeof(p), "%s-wal", path);
	return access(p, F_OK) == 0;
}

/* "file:PATH" with PATH percent-encoded, plus "?immutable=1" if asked. */
static int
uri_of(const char *path, int immutable, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const unsigned char *p;

	if (size < 6 + 13)
		return err_set(ERR_SYS, "database path too long");
	memcpy(out, "file:", 5);
	o = 5;
	for (p = (const unsigned char *)path; *p; p++) {
		if (o + 3 + 13 >= size)
			return err_set(ERR_SYS, "database path too long");
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (immutable) {
		memcpy(out + o, "?immutable=1", 12);
		o += 12;
	}
	out[o] = '\0';
	return 0;
}

/*
 * One attempt of store_open(). *again is set when a read-only open
 * failed only because a writer was opening or closing the WAL index at
 * that instant (SQLITE_READONLY_RECOVERY, _CANTINIT...): a reader without
 * write access cannot rebuild it, but one a few ms later finds it built.
 */
static struct store *
open_once(const char *path, int flags, int timeout_ms, int *again)
{
	struct store *st;
	char uri[PATH_MAX * 3 + 32];
	int oflags, persist = 1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		return NULL;
	}
	st->rdonly = !!(flags & STORE_RDONLY);
	oflags = (st->rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_URI;
	if (uri_of(path, st->rdonly && !wal_files_exist(path), uri,
	    sizeof(uri)) == -1)
		goto fail;
	if (sqlite3_open_v2(uri, &st->db, oflags, NULL) != SQLITE_OK) {
		err_set(ERR_SYS, "cannot open database %s: %s (run gatectl "
		    "init?)", path, st->db ? sqlite3_errmsg(st->db) :
		    "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, timeout_ms);
	sqlite3_progress_handler(st->db, 2000, progress_cb, st);
	/* Hardening: a planted trigger or view cannot call unsafe functions. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (exec(st, "PRAGMA foreign_keys = ON") == -1)
		goto fail;
	/*
	 * Keep -wal and -shm after the last writer closes, so authkeys-cmd
	 * (read-only, no write access to the directory) takes the normal
	 * WAL path rather than the immutable fallback above.
	 */
	if (!st->rdonly)
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL,
		    &persist);
	/*
	 * By default every commit fsyncs the WAL while it holds the one
	 * write lock, so a burst of sessions starting or ending queues
	 * behind the disk: 100 at once waited up to 9 s for the lock, and
	 * those past db_timeout_ms were refused ("database is locked").
	 * In WAL mode, NORMAL stays consistent and survives a crash of the
	 * program; a crash of the machine may lose the last commits, as it
	 * loses a live recording's unsynced tail.
	 */
	if (!st->rdonly && (flags & STORE_LAZY_SYNC) &&
	    exec(st, "PRAGMA synchronous = NORMAL") == -1)
		goto fail;
	if (flags & (STORE_RDONLY | STORE_NOMIGRATE)) {
		if (read_version(st, &st->version) == -1) {
			*again = st->rdonly &&
			    (sqlite3_extended_errcode(st->db) & 0xff) ==
			    SQLITE_READONLY;
			goto fail;
		}
		st->from_version = st->version;
		if (st->version != STORE_SCHEMA_VERSION) {
			err_set(ERR_SYS, "database %s has schema version %d, this "
			    "program needs %d: %s", path, st->version,
			    STORE_SCHEMA_VERSION, st->version <
			    STORE_SCHEMA_VERSION ? "run gatectl init" :
			    "upgrade sshgate");
			goto fail;
		}
		return st;
	}
	if (exec(st, "PRAGMA journal_mode = WAL") == -1 || migrate(st) == -1)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

/*
 * The database says who may log in: refuse one that others than its
 * owner could rewrite (the file, or its WAL, whose pages readers take
 * for the file's), or replace through its directory (B5), as sshd's
 * StrictModes does for authorized_keys. gatectl init repairs the modes
 * under state_dir before it opens the database. (Links are refused by
 * SQLite.)
 */
static int
safe_modes(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], file[PATH_MAX + 8];
	struct stat st;
	int i;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return err_set(ERR_SYS, "database directory %s is writable by "
		    "group or others: refusing to use it (chmod go-w it; "
		    "gatectl init repairs the state directory)", dir);
	for (i = 0; i < 3; i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffix[i]);
		if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & (S_IWGRP | S_IWOTH)))
			return err_set(ERR_SYS, "database file %s is writable "
			    "by group or others: refusing to use it (gatectl "
			    "init repairs it)", file);
	}
	return 0;
}

struct store *
store_open(const char *path, int flags, int timeout_ms)
{
	struct timespec pause = { 0, 20 * 1000000 };
	struct store *st;
	int tries = 0, again;

	if (safe_modes(path) == -1)
		return NULL;
	for (;;) {
		again = 0;
		if ((st = open_once(path, flags, timeout_ms, &again)) != NULL ||
		    !again || ++tries == 10)
			return st;
		nanosleep(&pause, NULL);
	}
}

void
store_release_memory(struct store *st)
{
	sqlite3_db_release_memory(st->db);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close_v2(st->db);
	free(st);
}

void
store_set_deadline(struct store *st, long long deadline_ns)
{
	st->deadline_ns = deadline_ns;
}

int
store_version(struct store *st)
{
	return st->version;
}

int
store_version_found(struct store *st)
{
	return st->from_version;
}

int
store_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

int
store_commit(struct store *st)
{
	return exec(st, "COMMIT");
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a one-row-or-none statement; returns 1 row, 0 none, -1 error. */
static int
step_one(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_INTERRUPT)
		return err_set(ERR_SYS, "database: %s: timed out", what);
	return db_fail(st, what);
}

/* A write statement; maps uniqueness violations to a usage error. */
static int
step_write(struct store *st, sqlite3_stmt *s, const char *what,
    const char *dup_msg)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if ((rc == SQLITE_CONSTRAINT_UNIQUE ||
	    rc == SQLITE_CONSTRAINT_PRIMARYKEY) && dup_msg)
		return err_set(ERR_USAGE, "%s", dup_msg);
	return db_fail(st, what);
}

static const char *
safe(const char *s, char *buf, size_t size)
{
	return text_escape(buf, size, s, strlen(s));
}

/*
 * The id of a named row of a fixed table. kind is "user" or "host" (table
 * users / hosts) or "group" (table groups, with want_kind "user"/"host" or
 * NULL). Returns 0, or -1 with an ERR_USAGE "no such ..." error.
 */
static int
id_of(struct store *st, const char *kind, const char *name,
    const char *want_kind, long long *id)
{
	sqlite3_stmt *s;
	char sql[96], buf[96], k[8] = "";
	int rc;

	snprintf(sql, sizeof(sql), "SELECT id%s FROM %ss WHERE name = ?1",
	    strcmp(kind, "group") == 0 ? ", kind" : "", kind);
	if (prep(st, sql, &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = step_one(st, s, "lookup");
	if (rc == 1) {
		*id = sqlite3_column_int64(s, 0);
		if (want_kind)
			col_text(s, 1, k, sizeof(k));
	}
	sqlite3_finalize(s);
	if (rc == 0)
		return err_set(ERR_USAGE, "no such %s '%s'", kind,
		    safe(name, buf, sizeof(buf)));
	if (rc == 1 && want_kind && strcmp(k, want_kind) != 0)
		return err_set(ERR_USAGE, "'%s' is a group of %ss, not of %ss",
		    safe(name, buf, sizeof(buf)), k, want_kind);
	return rc == 1 ? 0 : -1;
}

/* Grow *rows by one zeroed element; returns it or NULL. */
static void *
push(void **rows, size_t *n, size_t *cap, size_t size)
{
	void *p;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		if ((p = reallocarray(*rows, nc, size)) == NULL) {
			err_set(ERR_SYS, "out of memory");
			return NULL;
		}
		*rows = p;
		*cap = nc;
	}
	p = (char *)*rows + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

/* ---- users ---- */

int
store_user_add(struct store *st, const char *name, int is_admin)
{
	sqlite3_stmt *s;
	char msg[160], buf[96];
	int rc;

	if (prep(st, "INSERT INTO users (name, is_admin, created_at) "
	    "VALUES (?1, ?2, ?3)", &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, !!is_admin);
	sqlite3_bind_int64(s, 3, when_now());
	snprintf(msg, sizeof(msg), "user '%s' already exists",
	    safe(name, buf, sizeof(buf)));
	rc = step_write(st, s, "add user", msg);
	sqlite3_finalize(s);
	return rc;
}

static int
delete_named(struct store *st, const char *kind, const char *name)
{
	sqlite3_stmt *s;
	char sql[64];
	long long id;
	int rc;

	if (id_of(st, kind, name, NULL, &id) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "DELETE FROM %ss WHERE id = ?1", kind);
	if (prep(st, sql, &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = step_write(st, s, "delete", NULL);
	sqlite3_finalize(s);
	return rc;
}

int
store_user_del(struct store *st, const char *name)
{
	return delete_named(st, "user", name);
}

int
store_user_set(struct store *st, const char *name, const char *field,
    int value)
{
	sqlite3_stmt *s;
	long long id;
	int rc;

	if (strcmp(field, "disabled") != 0 && strcmp(field, "is_admin") != 0)
		return err_set(ERR_SYS, "store_user_set: bad field");
	if (id_of(st, "user", name, NULL, &id) == -1)
		return -1;
	if (prep(st, strcmp(field, "disabled") == 0 ?
	    "UPDATE users SET disabled = ?1 WHERE id = ?2" :
	    "UPDATE users SET is_admin = ?1 WHERE id = ?2", &s) == -1)
		return -1;
	sqlite3_bind_int(s, 1, !!value);
	sqlite3_bind_int64(s, 2, id);
	rc = step_write(st, s, "update user", NULL);
	sqlite3_finalize(s);
	return rc;
}

#define USER_COLS "u.id, u.name, u.is_admin, u.disabled, u.created_at, " \
	"(SELECT count(*) FROM keys k WHERE k.user_id = u.id)"

static void
user_from(sqlite3_stmt *s, struct user_row *u)
{
	u->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, u->name, sizeof(u->name));
	u->is_admin = sqlite3_column_int(s, 2);
	u->disabled = sqlite3_column_int(s, 3);
	u->created = (time_t)sqlite3_column_int64(s, 4);
	u->nkeys = sqlite3_column_int(s, 5);
}

int
store_user_get(struct store *st, const char *name, struct user_row *out)
{
	sqlite3_stmt *s;
	char buf[96];
	int rc;

	if (prep(st, "SELECT " USER_COLS " FROM users u WHERE u.name = ?1",
	    &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((rc = step_one(st, s, "get user")) == 1)
		user_from(s, out);
	sqlite3_finalize(s);
	if (rc == 0)
		return err_set(ERR_USAGE, "no such user '%s'",
		    safe(name, buf, sizeof(buf)));
	return rc == 1 ? 0 : -1;
}

/* Collect every row of s through fill() into a fresh array. */
static int
collect(struct store *st, sqlite3_stmt *s, size_t size,
    void (*fill)(sqlite3_stmt *, void *), void **rows, size_t *n)
{
	size_t cap = 0;
	void *r;
	int rc;

	*rows = NULL;
	*n = 0;
	while ((rc = step_one(st, s, "list")) == 1) {
		if ((r = push(rows, n, &cap, size)) == NULL) {
			rc = -1;
			break;
		}
		fill(s, r);
	}
	sqlite3_finalize(s);
	if (rc == -1) {
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

static void
fill_user(sqlite3_stmt *s, void *r)
{
	user_from(s, r);
}

int
store_user_list(struct store *st, struct user_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT " USER_COLS " FROM users u ORDER BY u.name",
	    &s) == -1)
		return -1;
	return collect(st, s, sizeof(**rows), fill_user, (void **)rows, n);
}

/* ---- keys ---- */

int
store_key_add(struct store *st, const char *user, const struct pubkey *k,
    const char *from, time_t expires, long long *id)
{
	sqlite3_stmt *s;
	long long uid;
	char msg[160];
	int rc;

	if (id_of(st, "user", user, NULL, &uid) == -1)
		return -1;
	if (prep(st, "INSERT INTO keys (user_id, type, blob, fingerprint, "
	    "comment, from_list, expires_at, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, uid);
	sqlite3_bind_text(s, 2, k->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, k->b64, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, k->fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, k->comment, -1, SQLITE_STATIC);
	if (from && *from)
		sqlite3_bind_text(s, 6, from, -1, SQLITE_STATIC);
	if (expires)
		sqlite3_bind_int64(s, 7, expires);
	sqlite3_bind_int64(s, 8, when_now());
	snprintf(msg, sizeof(msg), "key %s is already enrolled", k->fp);
	rc = step_write(st, s, "add key", msg);
	sqlite3_finalize(s);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

#define KEY_COLS "k.id, k.user_id, u.name, u.disabled, k.type, k.blob, " \
	"k.fingerprint, k.comment, ifnull(k.from_list, ''), " \
	"ifnull(k.expires_at, 0), k.created_at, ifnull(k.last_used_at, 0), " \
	"k.disabled FROM keys k JOIN users u ON u.id = k.user_id "

static void
fill_key(sqlite3_stmt *s, void *r)
{
	struct key_row *k = r;

	k->id = sqlite3_column_int64(s, 0);
	k->user_id = sqlite3_column_int64(s, 1);
	col_text(s, 2, k->user, sizeof(k->user));
	k->user_disabled = sqlite3_column_int(s, 3);
	col_text(s, 4, k->type, sizeof(k->type));
	col_text(s, 5, k->b64, sizeof(k->b64));
	col_text(s, 6, k->fp, sizeof(k->fp));
	col_text(s, 7, k->comment, sizeof(k->comment));
	col_text(s, 8, k->from, sizeof(k->from));
	k->expires = (time_t)sqlite3_column_int64(s, 9);
	k->created = (time_t)sqlite3_column_int64(s, 10);
	k->last_used = (time_t)sqlite3_column_int64(s, 11);
	k->disabled = sqlite3_column_int(s, 12);
}

int
store_key_find(struct store *st, const char *fp, struct key_row *out)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT " KEY_COLS "WHERE k.fingerprint = ?1", &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_STATIC);
	if ((rc = step_one(st, s, "find key")) == 1)
		fill_key(s, out);
	sqlite3_finalize(s);
	return rc;
}

int
store_key_by_id(struct store *st, long long id, struct key_row *out)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT " KEY_COLS "WHERE k.id = ?1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = step_one(st, s, "find key")) == 1)
		fill_key(s, out);
	sqlite3_finalize(s);
	return rc;
}

static int
key_update(struct store *st, const char *sql, const char *fp, long long v)
{
	sqlite3_stmt *s;
	char buf[96];
	int rc;

	if (prep(st, sql, &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	rc = step_write(st, s, "update key", NULL);
	sqlite3_finalize(s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return err_set(ERR_USAGE, "no such key '%s'",
		    safe(fp, buf, sizeof(buf)));
	return rc;
}

int
store_key_del(struct store *st, const char *fp)
{
	return key_update(st, "DELETE FROM keys WHERE fingerprint = ?1 AND "
	    "?2 = ?2", fp, 0);
}

int
store_key_set_disabled(struct store *st, const char *fp, int disabled)
{
	return key_update(st, "UPDATE keys SET disabled = ?2 WHERE "
	    "fingerprint = ?1", fp, !!disabled);
}

int
store_key_touch(struct store *st, long long id, time_t when)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "UPDATE keys SET last_used_at = ?2 WHERE id = ?1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, when);
	rc = step_write(st, s, "update key", NULL);
	sqlite3_finalize(s);
	return rc;
}

int
store_key_list(struct store *st, const char *user, struct key_row **rows,
    size_t *n)
{
	sqlite3_stmt *s;
	long long uid;

	if (user && id_of(st, "user", user, NULL, &uid) == -1)
		return -1;
	if (prep(st, "SELECT " KEY_COLS "WHERE ?1 IS NULL OR k.user_id = ?1 "
	    "ORDER BY u.name, k.id", &s) == -1)
		return -1;
	if (user)
		sqlite3_bind_int64(s, 1, uid);
	return collect(st, s, sizeof(**rows), fill_key, (void **)rows, n);
}

/* ---- hosts ---- */

int
store_host_add(struct store *st, const char *name, const char *address,
    int port, const char *login, const char *egress_key)
{
	sqlite3_stmt *s;
	char msg[160], buf[96];
	int rc;

	if (prep(st, "INSERT INTO hosts (name, address, port, default_login, "
	    "created_at, egress_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &s) == -1)
		return -1;
	sqlite3_bind_text(s, 6, egress_key ? egress_key : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, address, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, port);
	sqlite3_bind_text(s, 4, login ? login : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, when_now());
	snprintf(msg, sizeof(msg), "host '%s' already exists",
	    safe(name, buf, sizeof(buf)));
	rc = step_write(st, s, "add host", msg);
	sqlite3_finalize(s);
	return rc;
}

int
store_host_del(struct store *st, const char *name)
{
	return delete_named(st, "host", name);
}

static void
fill_host(sqlite3_stmt *s, void *r)
{
	struct host_row *h = r;

	h->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, h->name, sizeof(h->name));
	col_text(s, 2, h->address, sizeof(h->address));
	h->port = sqlite3_column_int(s, 3);
	col_text(s, 4, h->login, sizeof(h->login));
	h->created = (time_t)sqlite3_column_int64(s, 5);
	col_text(s, 6, h->egress_key, sizeof(h->egress_key));
}

#define HOST_COLS "id, name, address, port, default_login, created_at, " \
	"egress_key"

int
store_host_list(struct store *st, struct host_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT " HOST_COLS " FROM hosts ORDER BY name", &s) == -1)
		return -1;
	return collect(st, s, sizeof(**rows), fill_host, (void **)rows, n);
}

int
store_host_get(struct store *st, const char *name, struct host_row *out)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT " HOST_COLS " FROM hosts WHERE name = ?1",
	    &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((rc = step_one(st, s, "get host")) == 1)
		fill_host(s, out);
	sqlite3_finalize(s);
	return rc;
}

/* ---- groups ---- */

int
store_group_add(struct store *st, const char *name, int is_host)
{
	sqlite3_stmt *s;
	char msg[160], buf[96];
	int rc;

	if (prep(st, "INSERT INTO groups (name, kind, created_at) "
	    "VALUES (?1, ?2, ?3)", &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, is_host ? "host" : "user", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, when_now());
	snprintf(msg, sizeof(msg), "group '%s' already exists",
	    safe(name, buf, sizeof(buf)));
	rc = step_write(st, s, "add group", msg);
	sqlite3_finalize(s);
	return rc;
}

int
store_group_del(struct store *st, const char *name)
{
	return delete_named(st, "group", name);
}

static void
fill_group(sqlite3_stmt *s, void *r)
{
	struct group_row *g = r;

	g->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, g->name, sizeof(g->name));
	g->is_host = strcmp((const char *)sqlite3_column_text(s, 2), "host")
	    == 0;
	g->nmembers = sqlite3_column_int(s, 3);
	g->created = (time_t)sqlite3_column_int64(s, 4);
}

int
store_group_list(struct store *st, struct group_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT g.id, g.name, g.kind, CASE g.kind WHEN 'user' "
	    "THEN (SELECT count(*) FROM group_users m WHERE m.group_id = g.id) "
	    "ELSE (SELECT count(*) FROM group_hosts m WHERE m.group_id = g.id) "
	    "END, g.created_at FROM groups g ORDER BY g.name", &s) == -1)
		return -1;
	return collect(st, s, sizeof(**rows), fill_group, (void **)rows, n);
}

static void
fill_name(sqlite3_stmt *s, void *r)
{
	col_text(s, 0, r, NAME_MAX_LEN + 1);
}

int
store_group_members(struct store *st, const char *group,
    char (**names)[NAME_MAX_LEN + 1], size_t *n)
{
	sqlite3_stmt *s;
	long long gid;

	if (id_of(st, "group", group, NULL, &gid) == -1)
		return -1;
	if (prep(st, "SELECT u.name FROM group_users m JOIN users u ON "
	    "u.id = m.user_id WHERE m.group_id = ?1 UNION ALL "
	    "SELECT h.name FROM group_hosts m JOIN hosts h ON h.id = m.host_id "
	    "WHERE m.group_id = ?1 ORDER BY 1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, gid);
	return collect(st, s, sizeof(**names), fill_name, (void **)names, n);
}

static int
group_kind(struct store *st, const char *group, long long *gid, int *is_host)
{
	sqlite3_stmt *s;
	char buf[96];
	int rc;

	if (prep(st, "SELECT id, kind = 'host' FROM groups WHERE name = ?1",
	    &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, group, -1, SQLITE_STATIC);
	if ((rc = step_one(st, s, "lookup")) == 1) {
		*gid = sqlite3_column_int64(s, 0);
		*is_host = sqlite3_column_int(s, 1);
	}
	sqlite3_finalize(s);
	if (rc == 0)
		return err_set(ERR_USAGE, "no such group '%s'",
		    safe(group, buf, sizeof(buf)));
	return rc == 1 ? 0 : -1;
}

static int
member_change(struct store *st, const char *group, const char *member, int add)
{
	sqlite3_stmt *s;
	long long gid = 0, mid = 0;
	int is_host = 0, rc;
	char msg[200], b1[96], b2[96];

	if (group_kind(st, group, &gid, &is_host) == -1 ||
	    id_of(st, is_host ? "host" : "user", member, NULL, &mid) == -1)
		return -1;
	if (prep(st, add ? (is_host ?
	    "INSERT INTO group_hosts (group_id, host_id) VALUES (?1, ?2)" :
	    "INSERT INTO group_users (group_id, user_id) VALUES (?1, ?2)") :
	    (is_host ? "DELETE FROM group_hosts WHERE group_id = ?1 AND "
	    "host_id = ?2" : "DELETE FROM group_users WHERE group_id = ?1 AND "
	    "user_id = ?2"), &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, gid);
	sqlite3_bind_int64(s, 2, mid);
	snprintf(msg, sizeof(msg), "'%s' is already a member of '%s'",
	    safe(member, b1, sizeof(b1)), safe(group, b2, sizeof(b2)));
	rc = step_write(st, s, "change group", msg);
	sqlite3_finalize(s);
	if (rc == 0 && !add && sqlite3_changes(st->db) == 0)
		return err_set(ERR_USAGE, "'%s' is not a member of '%s'",
		    safe(member, b1, sizeof(b1)), safe(group, b2, sizeof(b2)));
	return rc;
}

int
store_group_member_add(struct store *st, const char *group, const char *member)
{
	return member_change(st, group, member, 1);
}

int
store_group_member_del(struct store *st, const char *group, const char *member)
{
	return member_change(st, group, member, 0);
}

/* ---- grants ---- */

/* Resolve "name" or "@group" to (column index 0/1, id). */
static int
resolve(struct store *st, const char *ref, const char *kind, int *is_group,
    long long *id)
{
	*is_group = ref[0] == '@';
	if (*is_group)
		return id_of(st, "group", ref + 1, kind, id);
	return id_of(st, kind, ref, NULL, id);
}

int
store_grant_add(struct store *st, const char *subject, const char *object,
    const char *login, time_t expires)
{
	sqlite3_stmt *s;
	long long sid, oid;
	int sg, og, rc;
	char msg[200], b1[96], b2[96];

	if (resolve(st, subject, "user", &sg, &sid) == -1 ||
	    resolve(st, object, "host", &og, &oid) == -1)
		return -1;
	if (prep(st, "INSERT INTO grants (user_id, ugroup_id, host_id, "
	    "hgroup_id, login, expires_at, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, sg ? 2 : 1, sid);
	sqlite3_bind_int64(s, og ? 4 : 3, oid);
	sqlite3_bind_text(s, 5, login, -1, SQLITE_STATIC);
	if (expires)
		sqlite3_bind_int64(s, 6, expires);
	sqlite3_bind_int64(s, 7, when_now());
	snprintf(msg, sizeof(msg), "%s already has a grant to %s for %s%s",
	    safe(subject, b1, sizeof(b1)), safe(object, b2, sizeof(b2)),
	    *login ? "login " : "the default login", login);
	rc = step_write(st, s, "add grant", msg);
	sqlite3_finalize(s);
	return rc;
}

int
store_grant_del(struct store *st, const char *subject, const char *object,
    const char *login)
{
	sqlite3_stmt *s;
	long long sid, oid;
	int sg, og, rc;
	char b1[96], b2[96];

	if (resolve(st, subject, "user", &sg, &sid) == -1 ||
	    resolve(st, object, "host", &og, &oid) == -1)
		return -1;
	if (prep(st, "DELETE FROM grants WHERE ifnull(user_id, 0) = ?1 AND "
	    "ifnull(ugroup_id, 0) = ?2 AND ifnull(host_id, 0) = ?3 AND "
	    "ifnull(hgroup_id, 0) = ?4 AND (?5 IS NULL OR login = ?5)", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, sg ? 0 : sid);
	sqlite3_bind_int64(s, 2, sg ? sid : 0);
	sqlite3_bind_int64(s, 3, og ? 0 : oid);
	sqlite3_bind_int64(s, 4, og ? oid : 0);
	if (login)
		sqlite3_bind_text(s, 5, login, -1, SQLITE_STATIC);
	rc = step_write(st, s, "revoke", NULL);
	sqlite3_finalize(s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return err_set(ERR_USAGE, "no grant from %s to %s%s%s",
		    safe(subject, b1, sizeof(b1)), safe(object, b2, sizeof(b2)),
		    login ? " for login " : "", login ? login : "");
	return rc;
}

static void
fill_grant(sqlite3_stmt *s, void *r)
{
	struct grant_row *g = r;

	g->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, g->subject, sizeof(g->subject));
	col_text(s, 2, g->object, sizeof(g->object));
	col_text(s, 3, g->login, sizeof(g->login));
	g->expires = (time_t)sqlite3_column_int64(s, 4);
	g->created = (time_t)sqlite3_column_int64(s, 5);
}

int
store_grant_list(struct store *st, struct grant_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT g.id, ifnull(u.name, '@' || ug.name), "
	    "ifnull(h.name, '@' || hg.name), g.login, ifnull(g.expires_at, 0), "
	    "g.created_at FROM grants g "
	    "LEFT JOIN users u ON u.id = g.user_id "
	    "LEFT JOIN groups ug ON ug.id = g.ugroup_id "
	    "LEFT JOIN hosts h ON h.id = g.host_id "
	    "LEFT JOIN groups hg ON hg.id = g.hgroup_id "
	    "ORDER BY 2, 3, 4", &s) == -1)
		return -1;
	return collect(st, s, sizeof(**rows), fill_grant, (void **)rows, n);
}

static void
fill_access(sqlite3_stmt *s, void *r)
{
	struct access_row *a = r;

	col_text(s, 0, a->host, sizeof(a->host));
	col_text(s, 1, a->address, sizeof(a->address));
	a->port = sqlite3_column_int(s, 2);
	col_text(s, 3, a->login, sizeof(a->login));
	a->expires = (time_t)sqlite3_column_int64(s, 4);
}

int
store_access_list(struct store *st, long long user_id, time_t now,
    struct access_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	/* Expiry 0 means never; it sorts above any real date via the CASE. */
	if (prep(st,
	    "WITH g AS (SELECT * FROM grants WHERE (user_id = ?1 OR ugroup_id IN "
	    "  (SELECT group_id FROM group_users WHERE user_id = ?1)) "
	    "  AND (expires_at IS NULL OR expires_at > ?2)), "
	    "hx AS (SELECT h.*, g.login AS glogin, g.expires_at AS gexp FROM g "
	    "  JOIN hosts h ON h.id = g.host_id UNION ALL "
	    "  SELECT h.*, g.login, g.expires_at FROM g "
	    "  JOIN group_hosts m ON m.group_id = g.hgroup_id "
	    "  JOIN hosts h ON h.id = m.host_id), "
	    "a AS (SELECT name, address, port, CASE glogin WHEN '' THEN "
	    "  default_login ELSE glogin END AS login, gexp FROM hx) "
	    "SELECT name, address, port, login, CASE WHEN count(*) > "
	    "  count(gexp) THEN 0 ELSE max(gexp) END FROM a WHERE login != '' "
	    "GROUP BY name, login ORDER BY name, login", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, now);
	return collect(st, s, sizeof(**rows), fill_access, (void **)rows, n);
}

/* ---- sessions ---- */

#define SESSION_COLS "id, user_id, user_name, ifnull(key_id, 0), " \
	"host_name, login, started_at, ifnull(ended_at, 0), " \
	"ifnull(end_reason, ''), ifnull(exit_status, -1), bytes_in, " \
	"bytes_out, ifnull(pid, 0), ifnull(pid_start, 0), tty, command, " \
	"peer, message, recording, rec_status, rec_files, rec_bytes, rec_lost"

static void
fill_session(sqlite3_stmt *s, void *r)
{
	struct session_row *x = r;

	x->id = sqlite3_column_int64(s, 0);
	x->user_id = sqlite3_column_int64(s, 1);
	col_text(s, 2, x->user, sizeof(x->user));
	x->key_id = sqlite3_column_int64(s, 3);
	col_text(s, 4, x->host, sizeof(x->host));
	col_text(s, 5, x->login, sizeof(x->login));
	x->started = (time_t)sqlite3_column_int64(s, 6);
	x->ended = (time_t)sqlite3_column_int64(s, 7);
	col_text(s, 8, x->end_reason, sizeof(x->end_reason));
	x->exit_status = sqlite3_column_int(s, 9);
	x->bytes_in = sqlite3_column_int64(s, 10);
	x->bytes_out = sqlite3_column_int64(s, 11);
	x->pid = (int)sqlite3_column_int64(s, 12);
	x->pid_start = sqlite3_column_int64(s, 13);
	x->tty = sqlite3_column_int(s, 14);
	col_text(s, 15, x->command, sizeof(x->command));
	col_text(s, 16, x->peer, sizeof(x->peer));
	col_text(s, 17, x->message, sizeof(x->message));
	col_text(s, 18, x->recording, sizeof(x->recording));
	col_text(s, 19, x->rec_status, sizeof(x->rec_status));
	x->rec_files = sqlite3_column_int(s, 20);
	x->rec_bytes = sqlite3_column_int64(s, 21);
	x->rec_lost = sqlite3_column_int64(s, 22);
}

static int
count_open(struct store *st, long long user_id, int *n)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT count(*) FROM sessions WHERE user_id = ?1 AND "
	    "ended_at IS NULL", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	if ((rc = step_one(st, s, "count sessions")) == 1)
		*n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == 1 ? 0 : -1;
}

static int
insert_session(struct store *st, const struct session_row *x, int ended,
    const char *reason)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "INSERT INTO sessions (id, user_id, user_name, key_id, "
	    "host_id, host_name, login, started_at, ended_at, end_reason, pid, "
	    "pid_start, tty, command, peer, message) VALUES (?1, ?2, ?3, "
	    "nullif(?4, 0), (SELECT id FROM hosts WHERE name = ?5), ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, x->id);
	sqlite3_bind_int64(s, 2, x->user_id);
	sqlite3_bind_text(s, 3, x->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, x->key_id);
	sqlite3_bind_text(s, 5, x->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, x->login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, x->started);
	if (ended) {
		sqlite3_bind_int64(s, 8, x->started);
		sqlite3_bind_text(s, 9, reason, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(s, 10, x->pid);
	sqlite3_bind_int64(s, 11, x->pid_start);
	sqlite3_bind_int(s, 12, x->tty);
	sqlite3_bind_text(s, 13, x->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 14, x->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 15, x->message, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return 1;
	return db_fail(st, "add session");
}

int
store_session_start(struct store *st, struct session_row *x, int max_open,
    long long (*new_id)(void))
{
	int n = 0, rc = -1, tries;

	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (max_open > 0 && count_open(st, x->user_id, &n) == -1)
		goto out;
	/* A refused session leaves a closed row: the refusal is audited. */
	for (tries = 0; tries < 8; tries++) {
		x->id = new_id();
		if ((rc = insert_session(st, x, max_open > 0 && n >= max_open,
		    "limit")) != 1)
			break;
	}
	if (rc == 1)
		rc = err_set(ERR_SYS, "cannot find a free session id");
	if (rc == 0 && exec(st, "COMMIT") == -1)
		rc = -1;
	if (rc == 0 && max_open > 0 && n >= max_open)
		rc = 1;
out:
	if (rc == -1)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
store_session_end(struct store *st, long long id, const char *reason,
    int exit_status, long long bytes_in, long long bytes_out,
    const char *message)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "UPDATE sessions SET ended_at = ?2, end_reason = ?3, "
	    "exit_status = nullif(?4, -1), bytes_in = max(bytes_in, ?5), "
	    "bytes_out = max(bytes_out, ?6), message = CASE WHEN ?7 = '' "
	    "THEN message ELSE ?7 END WHERE id = ?1 AND ended_at IS NULL",
	    &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, when_now());
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, exit_status);
	sqlite3_bind_int64(s, 5, bytes_in);
	sqlite3_bind_int64(s, 6, bytes_out);
	sqlite3_bind_text(s, 7, message ? message : "", -1, SQLITE_STATIC);
	rc = step_write(st, s, "end session", NULL);
	sqlite3_finalize(s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return 1;
	return rc;
}

int
store_session_get(struct store *st, long long id, struct session_row *out)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	    &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = step_one(st, s, "get session")) == 1)
		fill_session(s, out);
	sqlite3_finalize(s);
	return rc;
}

int
store_session_list(struct store *st, long long user_id, int open_only,
    size_t limit, struct session_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT * FROM (SELECT " SESSION_COLS " FROM sessions "
	    "WHERE (?1 = 0 OR user_id = ?1) AND (?2 = 0 OR ended_at IS NULL) "
	    "ORDER BY started_at DESC, rowid DESC LIMIT ?3) "
	    "ORDER BY 7, 1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int(s, 2, !!open_only);
	sqlite3_bind_int64(s, 3, limit ? (long long)limit : -1);
	return collect(st, s, sizeof(**rows), fill_session, (void **)rows, n);
}

int
store_session_recording(struct store *st, long long id, const char *path,
    const char *status, int files, long long bytes, long long lost)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "UPDATE sessions SET recording = CASE WHEN ?2 = '' THEN "
	    "recording ELSE ?2 END, rec_status = ?3, rec_files = ?4, "
	    "rec_bytes = ?5, rec_lost = ?6 WHERE id = ?1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, path ? path : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, files);
	sqlite3_bind_int64(s, 5, bytes);
	sqlite3_bind_int64(s, 6, lost);
	rc = step_write(st, s, "record session recording", NULL);
	sqlite3_finalize(s);
	return rc;
}

int
store_recording_list(struct store *st, long long user_id, const char *host,
    size_t limit, struct session_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT " SESSION_COLS " FROM sessions WHERE "
	    "recording != '' AND (?1 = 0 OR user_id = ?1) AND "
	    "(?2 IS NULL OR host_name = ?2) "
	    "ORDER BY started_at DESC, rowid DESC LIMIT ?3", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, user_id);
	if (host)
		sqlite3_bind_text(s, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, limit ? (long long)limit : -1);
	return collect(st, s, sizeof(**rows), fill_session, (void **)rows, n);
}

/* ---- sharing ---- */

int
store_share_set(struct store *st, long long session_id, long long user_id,
    int rw, const char *granted_by)
{
	sqlite3_stmt *s;
	int rc;

	if (sync_full(st) == -1)
		return -1;
	if (prep(st, "INSERT INTO shares (session_id, user_id, rw, granted_by, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session_id, "
	    "user_id) DO UPDATE SET rw = ?3, granted_by = ?4, created_at = ?5",
	    &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, session_id);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_int(s, 3, !!rw);
	sqlite3_bind_text(s, 4, granted_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, when_now());
	rc = step_write(st, s, "share session", NULL);
	sqlite3_finalize(s);
	return rc;
}

int
store_share_del(struct store *st, long long session_id, long long user_id)
{
	sqlite3_stmt *s;
	int rc;

	if (sync_full(st) == -1)
		return -1;
	if (prep(st, "DELETE FROM shares WHERE session_id = ?1 AND "
	    "user_id = ?2", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, session_id);
	sqlite3_bind_int64(s, 2, user_id);
	rc = step_write(st, s, "unshare session", NULL);
	sqlite3_finalize(s);
	if (rc == 0)
		rc = sqlite3_changes(st->db) > 0;
	return rc;
}

int
store_share_get(struct store *st, long long session_id, long long user_id,
    int *rw)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT rw FROM shares WHERE session_id = ?1 AND "
	    "user_id = ?2", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, session_id);
	sqlite3_bind_int64(s, 2, user_id);
	if ((rc = step_one(st, s, "read share")) == 1)
		*rw = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc;
}

int
store_attach_start(struct store *st, const struct attach_row *a,
    long long *id)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "INSERT INTO attachments (session_id, user_id, user_name, "
	    "rw, joined_at, pid, pid_start) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7)", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, a->session_id);
	sqlite3_bind_int64(s, 2, a->user_id);
	sqlite3_bind_text(s, 3, a->user, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, a->rw);
	sqlite3_bind_int64(s, 5, a->joined);
	sqlite3_bind_int64(s, 6, a->pid);
	sqlite3_bind_int64(s, 7, a->pid_start);
	rc = step_write(st, s, "record attach", NULL);
	sqlite3_finalize(s);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int
store_attach_end(struct store *st, long long id, const char *reason)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "UPDATE attachments SET left_at = ?2, reason = ?3 WHERE "
	    "id = ?1 AND left_at IS NULL", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, when_now());
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	rc = step_write(st, s, "record detach", NULL);
	sqlite3_finalize(s);
	return rc;
}

static void
fill_attach(sqlite3_stmt *s, void *r)
{
	struct attach_row *a = r;

	a->id = sqlite3_column_int64(s, 0);
	a->session_id = sqlite3_column_int64(s, 1);
	a->user_id = sqlite3_column_int64(s, 2);
	col_text(s, 3, a->user, sizeof(a->user));
	a->rw = sqlite3_column_int(s, 4);
	a->joined = (time_t)sqlite3_column_int64(s, 5);
	a->pid = (int)sqlite3_column_int64(s, 6);
	a->pid_start = sqlite3_column_int64(s, 7);
}

int
store_attach_list(struct store *st, long long session_id,
    struct attach_row **rows, size_t *n)
{
	sqlite3_stmt *s;

	if (prep(st, "SELECT id, session_id, ifnull(user_id, 0), user_name, "
	    "rw, joined_at, pid, pid_start FROM attachments WHERE "
	    "(?1 = 0 OR session_id = ?1) AND left_at IS NULL ORDER BY "
	    "session_id, joined_at, id", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, session_id);
	return collect(st, s, sizeof(**rows), fill_attach, (void **)rows, n);
}

/* ---- command history ---- */

int
store_history_add(struct store *st, const struct history_row *rows, size_t n)
{
	sqlite3_stmt *s, *f;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (prep(st, "INSERT INTO command_log (created_at, host, user, "
	    "session_id, command, command_hash, source, flags, is_blocked, "
	    "blocked_reason, username, host_name) VALUES (?1, "
	    "(SELECT id FROM hosts WHERE id = ?2 AND name = ?12), "
	    "(SELECT id FROM users WHERE id = ?3 AND name = ?11), ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10, ?11, ?12)", &s) == -1) {
		store_rollback(st);
		return -1;
	}
	if (prep(st, "INSERT INTO command_fts (rowid, command) VALUES "
	    "(last_insert_rowid(), ?1)", &f) == -1) {
		sqlite3_finalize(s);
		store_rollback(st);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		const struct history_row *r = &rows[i];

		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, (long long)r->created);
		sqlite3_bind_int64(s, 2, r->host_id);
		sqlite3_bind_int64(s, 3, r->user_id);
		sqlite3_bind_int64(s, 4, r->session_id);
		sqlite3_bind_text(s, 5, r->blocked ? "" : r->command, -1,
		    SQLITE_STATIC);
		if (r->blocked)
			sqlite3_bind_null(s, 6);
		else
			sqlite3_bind_blob(s, 6, r->hash, sizeof(r->hash),
			    SQLITE_STATIC);
		sqlite3_bind_text(s, 7, r->source, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 8, r->flags);
		sqlite3_bind_int(s, 9, !!r->blocked);
		sqlite3_bind_text(s, 10, r->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 11, r->user, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 12, r->host, -1, SQLITE_STATIC);
		if ((rc = step_write(st, s, "store commands", NULL)) == 0 &&
		    !r->blocked && r->command[0]) {
			sqlite3_reset(f);
			sqlite3_bind_text(f, 1, r->command, -1, SQLITE_STATIC);
			rc = step_write(st, f, "index commands", NULL);
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(f);
	if (rc == 0)
		return store_commit(st);
	store_rollback(st);
	return -1;
}

/* After the id (c.id, or max(c.id) for --unique): */
#define HISTORY_COLS "c.created_at, ifnull(c.host, 0), " \
	"ifnull(c.user, 0), ifnull(c.session_id, 0), c.command, " \
	"c.command_hash, c.source, c.flags, c.is_blocked, c.blocked_reason, " \
	"c.username, c.host_name"

static void
fill_history(sqlite3_stmt *s, void *r)
{
	struct history_row *h = r;
	const void *b;

	h->id = sqlite3_column_int64(s, 0);
	h->created = (time_t)sqlite3_column_int64(s, 1);
	h->host_id = sqlite3_column_int64(s, 2);
	h->user_id = sqlite3_column_int64(s, 3);
	h->session_id = sqlite3_column_int64(s, 4);
	col_text(s, 5, h->command, sizeof(h->command));
	if ((b = sqlite3_column_blob(s, 6)) != NULL &&
	    sqlite3_column_bytes(s, 6) == (int)sizeof(h->hash))
		memcpy(h->hash, b, sizeof(h->hash));
	col_text(s, 7, h->source, sizeof(h->source));
	h->flags = sqlite3_column_int(s, 8);
	h->blocked = sqlite3_column_int(s, 9);
	col_text(s, 10, h->reason, sizeof(h->reason));
	col_text(s, 11, h->user, sizeof(h->user));
	col_text(s, 12, h->host, sizeof(h->host));
	h->uses = 1;
}

#define SHORT_SCAN	50000	/* rows a query under 3 characters reads */
#define UNIQUE_SCAN	2000000	/* rows --unique reads for distinct ones */
#define UNIQUE_OFFSET_MAX 10000	/* how deep --unique may page */

/*
 * The WHERE clause of a history query, and its parameters: ?1 user id,
 * ?2 host id (or name, for a host no longer in hosts), ?3 the text. A
 * text of three or more characters goes through the trigram index (a
 * quoted FTS5 phrase is an exact, case-insensitive substring); a shorter
 * one is looked for with instr() in the newest SHORT_SCAN rows the other
 * filters leave, so no query reads the whole table.
 */
struct hq {
	long long host_id;	/* 0: host given by name, or none */
	char *phrase;		/* the FTS5 phrase, or NULL */
	const char *from;	/* the table, with the index to walk */
	char where[512];
};

static void hq_bind(sqlite3_stmt *, const struct history_query *,
    const struct hq *);

/* Does phrase match more than a few thousand commands? 1, 0 or -1. */
static int
many_matches(struct store *st, const char *phrase)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "SELECT rowid FROM command_fts WHERE command_fts MATCH "
	    "?1 LIMIT 1 OFFSET 5000", &s) == -1)
		return -1;
	sqlite3_bind_text(s, 1, phrase, -1, SQLITE_STATIC);
	rc = step_one(st, s, "history");
	sqlite3_finalize(s);
	return rc;
}

static int
hq_build(struct store *st, const struct history_query *q, struct hq *h)
{
	const char *text = q->text && *q->text ? q->text : NULL;
	sqlite3_stmt *s;
	char filt[128];
	size_t i, j;
	int rc = 0;

	memset(h, 0, sizeof(*h));
	if (q->host) {
		if (prep(st, "SELECT id FROM hosts WHERE name = ?1", &s) == -1)
			return -1;
		sqlite3_bind_text(s, 1, q->host, -1, SQLITE_STATIC);
		if ((rc = step_one(st, s, "lookup host")) == 1)
			h->host_id = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		if (rc == -1)
			return -1;
	}
	/* Trigrams are of characters, not bytes. */
	for (i = 0, j = 0; text && text[i]; i++)
		j += ((unsigned char)text[i] & 0xc0) != 0x80;
	if (text && j >= 3) {
		/* "..." with every " doubled: one phrase, no query syntax. */
		if ((h->phrase = malloc(strlen(text) * 2 + 3)) == NULL)
			return err_set(ERR_SYS, "out of memory");
		h->phrase[0] = '"';
		for (i = 0, j = 1; text[i]; i++) {
			if (text[i] == '"')
				h->phrase[j++] = '"';
			h->phrase[j++] = text[i];
		}
		h->phrase[j++] = '"';
		h->phrase[j] = '\0';
	}
	snprintf(filt, sizeof(filt), "%s %s",
	    q->user_id ? "AND c.user = ?1" : "",
	    !q->host ? "" : h->host_id ? "AND c.host = ?2" :
	    "AND c.host IS NULL AND c.host_name = ?2");
	if (!text)
		snprintf(h->where, sizeof(h->where), "%s", filt);
	else if (h->phrase)
		snprintf(h->where, sizeof(h->where), "%s AND c.id IN (SELECT "
		    "rowid FROM command_fts WHERE command_fts MATCH ?3)", filt);
	else {
		/* The time of the SHORT_SCAN-th newest row bounds the scan. */
		char sql[384];
		long long cutoff = 0;

		snprintf(sql, sizeof(sql), "SELECT c.created_at FROM "
		    "command_log c WHERE 1 %s ORDER BY c.created_at DESC, "
		    "c.id DESC LIMIT 1 OFFSET %d", filt, SHORT_SCAN);
		if (prep(st, sql, &s) == -1)
			return -1;
		hq_bind(s, q, h);
		if ((rc = step_one(st, s, "history")) == 1)
			cutoff = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		if (rc == -1)
			return -1;
		snprintf(h->where, sizeof(h->where), "%s AND c.created_at >= "
		    "%lld AND instr(lower(c.command), lower(?3)) > 0", filt,
		    cutoff);
	}
	/*
	 * Without a user or host, a text that matches many rows is best
	 * served by walking the time index newest first until the limit; one
	 * that matches few, by sorting those few. Ask the index which.
	 */
	h->from = "command_log c";
	if (!q->user_id && !q->host && (!h->phrase || (rc = many_matches(st,
	    h->phrase)) == 1))
		h->from = "command_log c INDEXED BY command_log_time";
	if (rc == -1)
		return -1;
	return 0;
}

static void
hq_bind(sqlite3_stmt *s, const struct history_query *q, const struct hq *h)
{
	sqlite3_bind_int64(s, 1, q->user_id);
	if (h->host_id)
		sqlite3_bind_int64(s, 2, h->host_id);
	else if (q->host)
		sqlite3_bind_text(s, 2, q->host, -1, SQLITE_STATIC);
	if (h->phrase)
		sqlite3_bind_text(s, 3, h->phrase, -1, SQLITE_STATIC);
	else if (q->text && *q->text)
		sqlite3_bind_text(s, 3, q->text, -1, SQLITE_STATIC);
}

/*
 * --unique: walk the matching rows newest first and keep the first of
 * each (host, command): that is its last use. Stop as soon as enough
 * distinct commands are found, then count each one's uses through the
 * (user, host, command_hash) or (host, command_hash) index. Grouping in
 * SQL would read and sort every matching row instead.
 */
static int
history_unique(struct store *st, const struct history_query *q,
    const struct hq *h, size_t want, long long *ids, size_t *nids)
{
	sqlite3_stmt *s;
	char sql[1024];
	struct seen { long long host; unsigned char hash[32]; int used; } *seen;
	size_t cap = 16, i, scanned = 0;
	int rc = 0;

	/* An open-addressing set, twice as large as what it will hold. */
	while (cap < want * 2)
		cap *= 2;
	*nids = 0;
	if ((seen = calloc(cap, sizeof(*seen))) == NULL)
		return err_set(ERR_SYS, "out of memory");
	snprintf(sql, sizeof(sql), "SELECT c.id, c.host, c.host_name, "
	    "c.command_hash FROM %s WHERE c.is_blocked = 0 AND "
	    "c.command_hash IS NOT NULL %s ORDER BY c.created_at DESC, "
	    "c.id DESC", h->from, h->where);
	if (prep(st, sql, &s) == -1) {
		free(seen);
		return -1;
	}
	hq_bind(s, q, h);
	while (*nids < want && scanned++ < UNIQUE_SCAN &&
	    (rc = step_one(st, s, "history")) == 1) {
		long long host = sqlite3_column_int64(s, 1);
		const unsigned char *hash = sqlite3_column_blob(s, 3);
		size_t k;

		if (hash == NULL || sqlite3_column_bytes(s, 3) != 32)
			continue;
		/* A deleted host's rows group by its name (FNV-1a, < 0). */
		if (sqlite3_column_type(s, 1) == SQLITE_NULL) {
			const unsigned char *nm = sqlite3_column_text(s, 2);
			unsigned long long f = 14695981039346656037ULL;

			for (; nm && *nm; nm++)
				f = (f ^ *nm) * 1099511628211ULL;
			host = -(long long)(f >> 2) - 1;
		}
		memcpy(&k, hash, sizeof(k));
		for (i = (k ^ (size_t)host) & (cap - 1); seen[i].used;
		    i = (i + 1) & (cap - 1))
			if (seen[i].host == host &&
			    memcmp(seen[i].hash, hash, 32) == 0)
				break;
		if (seen[i].used)
			continue;
		seen[i].used = 1;
		seen[i].host = host;
		memcpy(seen[i].hash, hash, 32);
		ids[(*nids)++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	free(seen);
	return rc == -1 ? -1 : 0;
}

static int
count_uses(struct store *st, long long user_id, struct history_row *r)
{
	sqlite3_stmt *s;
	int rc;

	/* Rows of a deleted host (host NULL) are told apart by its name. */
	if (prep(st, user_id ? "SELECT count(*) FROM command_log WHERE "
	    "user = ?1 AND host IS ?2 AND command_hash = ?3 AND (?2 IS NOT "
	    "NULL OR host_name = ?4)" :
	    "SELECT count(*) FROM command_log WHERE host IS ?2 AND "
	    "command_hash = ?3 AND (?2 IS NOT NULL OR host_name = ?4)",
	    &s) == -1)
		return -1;
	sqlite3_bind_text(s, 4, r->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 1, user_id);
	if (r->host_id)
		sqlite3_bind_int64(s, 2, r->host_id);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_blob(s, 3, r->hash, sizeof(r->hash), SQLITE_STATIC);
	if ((rc = step_one(st, s, "count")) == 1)
		r->uses = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == 1 ? 0 : -1;
}

int
store_history_query(struct store *st, const struct history_query *q,
    struct history_row **rows, size_t *n)
{
	sqlite3_stmt *s;
	struct hq h;
	char sql[1536];
	long long *ids = NULL;
	size_t limit = q->limit ? q->limit : 20, nids = 0, i, k;
	int rc = -1;

	*rows = NULL;
	*n = 0;
	if (hq_build(st, q, &h) == -1)
		return -1;
	if (!q->unique) {
		snprintf(sql, sizeof(sql), "SELECT * FROM (SELECT c.id, "
		    HISTORY_COLS " FROM %s WHERE 1 %s ORDER BY "
		    "c.created_at DESC, c.id DESC LIMIT ?4 OFFSET ?5) "
		    "ORDER BY 2, 1", h.from, h.where);
		if (prep(st, sql, &s) == 0) {
			hq_bind(s, q, &h);
			sqlite3_bind_int64(s, 4, (long long)limit);
			sqlite3_bind_int64(s, 5, (long long)q->offset);
			rc = collect(st, s, sizeof(**rows), fill_history,
			    (void **)rows, n);
		}
		goto out;
	}
	/* Each distinct command is a step of the walk: bound the walk. */
	if (q->offset > UNIQUE_OFFSET_MAX) {
		err_set(ERR_USAGE, "--unique goes at most %d commands deep "
		    "(--offset)", UNIQUE_OFFSET_MAX);
		goto out;
	}
	if ((ids = calloc(q->offset + limit, sizeof(*ids))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto out;
	}
	if (history_unique(st, q, &h, q->offset + limit, ids, &nids) == -1)
		goto out;
	k = nids > q->offset ? nids - q->offset : 0;
	if (k && (*rows = calloc(k, sizeof(**rows))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto out;
	}
	if (prep(st, "SELECT c.id, " HISTORY_COLS " FROM command_log c "
	    "WHERE c.id = ?1", &s) == -1)
		goto out;
	/* Oldest first, as a terminal lists them. */
	for (i = 0; i < k; i++) {
		struct history_row *r = &(*rows)[i];

		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, ids[nids - 1 - i]);
		if (step_one(st, s, "history") != 1 ||
		    (fill_history(s, r), count_uses(st, q->user_id, r)) == -1) {
			sqlite3_finalize(s);
			goto out;
		}
	}
	sqlite3_finalize(s);
	*n = k;
	rc = 0;
out:
	if (rc == -1) {
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	free(ids);
	free(h.phrase);
	return rc;
}

static int
history_delete(struct store *st, const char *where, const char *host,
    long long t, long long *count)
{
	sqlite3_stmt *s;
	char sql[256];
	int rc = 0, i, own = sqlite3_get_autocommit(st->db);
	long long changed = 0;

	if (own && exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	for (i = 0; i < 2 && rc == 0; i++) {
		snprintf(sql, sizeof(sql), i == 0 ?
		    "INSERT INTO command_fts (command_fts, rowid, command) "
		    "SELECT 'delete', id, command FROM command_log WHERE %s "
		    "AND is_blocked = 0 AND command != ''" :
		    "DELETE FROM command_log WHERE %s", where);
		if (prep(st, sql, &s) == -1) {
			rc = -1;
			break;
		}
		if (host)
			sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(s, 1, t);
		rc = step_write(st, s, "delete commands", NULL);
		sqlite3_finalize(s);
		changed = sqlite3_changes(st->db);
	}
	if (rc == -1) {
		if (own)
			store_rollback(st);
		return -1;
	}
	if (own && store_commit(st) == -1)
		return -1;
	if (count)
		*count = changed;
	return 0;
}

int
store_history_clear(struct store *st, const char *host, long long *count)
{
	if (sync_full(st) == -1)
		return -1;
	return history_delete(st, "host_name = ?1", host, 0, count);
}

int
store_history_purge(struct store *st, time_t before, long long *count)
{
	if (sync_full(st) == -1)
		return -1;
	return history_delete(st, "created_at < ?1", NULL, (long long)before,
	    count);
}

int
store_history_retain(struct store *st, int retention_days)
{
	sqlite3_stmt *s;
	long long last = 0, now = (long long)when_now();
	char sql[256];
	int rc;

	if (retention_days <= 0)
		return 0;
	if (prep(st, "SELECT value FROM meta WHERE key = 'history_purged'",
	    &s) == -1)
		return -1;
	if ((rc = step_one(st, s, "read meta")) == 1)
		last = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc == -1)
		return -1;
	if (last > now - 86400 && last <= now)
		return 0;
	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	/*
	 * Shares end with their session; who watched is audit and goes
	 * with the history of the same age.
	 */
	snprintf(sql, sizeof(sql), "DELETE FROM shares WHERE session_id IN "
	    "(SELECT id FROM sessions WHERE ended_at IS NOT NULL); DELETE "
	    "FROM attachments WHERE left_at IS NOT NULL AND left_at < %lld",
	    now - 86400LL * retention_days);
	if (store_history_purge(st, (time_t)(now - 86400LL * retention_days),
	    NULL) == -1 || exec(st, sql) == -1 ||
	    prep(st, "INSERT OR REPLACE INTO meta (key, value) "
	    "VALUES ('history_purged', ?1)", &s) == -1) {
		store_rollback(st);
		return -1;
	}
	sqlite3_bind_int64(s, 1, now);
	rc = step_write(st, s, "write meta", NULL);
	sqlite3_finalize(s);
	if (rc == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st) == -1 ? -1 : 1;
}

/* ---- web tokens ---- */

/*
 * Tokens are found by their public selector; the secret's hash is
 * compared here in constant time, and redeeming is one IMMEDIATE
 * transaction whose UPDATE only succeeds for a row still unused and
 * unexpired, so two frontends racing with one token get one session.
 */
int
store_token_add(struct store *st, const char *selector,
    const unsigned char hash[TOKEN_HASH_LEN], long long user_id,
    long long key_id, long long host_id, const char *login, time_t now,
    time_t expires, int max_live)
{
	sqlite3_stmt *s;
	int rc, live = 0;

	if (sync_full(st) == -1)
		return -1;
	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (max_live > 0) {
		if (prep(st, "SELECT count(*) FROM web_tokens WHERE user_id = ?1 "
		    "AND used_at IS NULL AND expires_at > ?2", &s) == -1)
			goto fail;
		sqlite3_bind_int64(s, 1, user_id);
		sqlite3_bind_int64(s, 2, (long long)now);
		if ((rc = step_one(st, s, "count web tokens")) == 1)
			live = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		if (rc == -1)
			goto fail;
		if (live >= max_live) {
			store_rollback(st);
			return 1;
		}
	}
	if (prep(st, "INSERT INTO web_tokens (selector, hash, user_id, host_id, "
	    "login, created_at, expires_at, key_id) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8)", &s) == -1)
		goto fail;
	sqlite3_bind_text(s, 1, selector, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, user_id);
	sqlite3_bind_int64(s, 4, host_id);
	sqlite3_bind_text(s, 5, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (long long)now);
	sqlite3_bind_int64(s, 7, (long long)expires);
	sqlite3_bind_int64(s, 8, key_id);
	rc = step_write(st, s, "add web token", NULL);
	sqlite3_finalize(s);
	if (rc == -1 || store_commit(st) == -1)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

int
store_token_redeem(struct store *st, const char *selector,
    const unsigned char hash[TOKEN_HASH_LEN], time_t now,
    struct web_token_row *out)
{
	sqlite3_stmt *s;
	const void *h;
	int rc, result = STORE_TOKEN_UNKNOWN, match = 0;

	memset(out, 0, sizeof(*out));
	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (prep(st, "SELECT t.id, t.hash, t.user_id, u.name, t.host_id, "
	    "h.name, t.login, t.created_at, t.expires_at, "
	    "coalesce(t.used_at, 0), t.key_id FROM web_tokens t "
	    "JOIN users u ON u.id = t.user_id JOIN hosts h ON h.id = t.host_id "
	    "WHERE t.selector = ?1", &s) == -1)
		goto fail;
	sqlite3_bind_text(s, 1, selector, -1, SQLITE_STATIC);
	if ((rc = step_one(st, s, "find web token")) == 1) {
		h = sqlite3_column_blob(s, 1);
		match = h && sqlite3_column_bytes(s, 1) == TOKEN_HASH_LEN &&
		    token_hash_equal(h, hash);
		out->id = sqlite3_column_int64(s, 0);
		out->user_id = sqlite3_column_int64(s, 2);
		col_text(s, 3, out->user, sizeof(out->user));
		out->host_id = sqlite3_column_int64(s, 4);
		col_text(s, 5, out->host, sizeof(out->host));
		col_text(s, 6, out->login, sizeof(out->login));
		out->created = (time_t)sqlite3_column_int64(s, 7);
		out->expires = (time_t)sqlite3_column_int64(s, 8);
		out->used = (time_t)sqlite3_column_int64(s, 9);
		out->key_id = sqlite3_column_int64(s, 10);
	}
	sqlite3_finalize(s);
	if (rc == -1)
		goto fail;
	/* A wrong secret learns nothing about the row, not even that it is. */
	if (rc == 0 || !match) {
		memset(out, 0, sizeof(*out));
		store_rollback(st);
		return STORE_TOKEN_UNKNOWN;
	}
	if (prep(st, "UPDATE web_tokens SET used_at = ?1 WHERE id = ?2 AND "
	    "used_at IS NULL AND expires_at > ?1", &s) == -1)
		goto fail;
	sqlite3_bind_int64(s, 1, (long long)now);
	sqlite3_bind_int64(s, 2, out->id);
	rc = step_write(st, s, "redeem web token", NULL);
	sqlite3_finalize(s);
	if (rc == -1)
		goto fail;
	if (sqlite3_changes(st->db) == 1)
		result = STORE_TOKEN_OK;
	else
		result = out->used ? STORE_TOKEN_USED : STORE_TOKEN_EXPIRED;
	if (store_commit(st) == -1)
		goto fail;
	if (result == STORE_TOKEN_OK)
		out->used = now;
	return result;
fail:
	store_rollback(st);
	return -1;
}

int
store_token_session(struct store *st, long long token_id, long long session_id)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "UPDATE web_tokens SET session_id = ?1 WHERE id = ?2",
	    &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, session_id);
	sqlite3_bind_int64(s, 2, token_id);
	rc = step_write(st, s, "record web token session", NULL);
	sqlite3_finalize(s);
	return rc;
}

int
store_token_purge(struct store *st, time_t before, long long *count)
{
	sqlite3_stmt *s;
	int rc;

	if (prep(st, "DELETE FROM web_tokens WHERE expires_at < ?1", &s) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, (long long)before);
	rc = step_write(st, s, "purge web tokens", NULL);
	sqlite3_finalize(s);
	if (rc == 0 && count)
		*count = sqlite3_changes(st->db);
	return rc;
}

static void
fill_token(sqlite3_stmt *s, void *r)
{
	struct web_token_row *t = r;

	t->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, t->selector, sizeof(t->selector));
	t->user_id = sqlite3_column_int64(s, 2);
	col_text(s, 3, t->user, sizeof(t->user));
	t->key_id = sqlite3_column_int64(s, 4);
	t->host_id = sqlite3_column_int64(s, 5);
	col_text(s, 6, t->host, sizeof(t->host));
	col_text(s, 7, t->login, sizeof(t->login));
	t->created = (time_t)sqlite3_column_int64(s, 8);
	t->expires = (time_t)sqlite3_column_int64(s, 9);
	t->used = (time_t)sqlite3_column_int64(s, 10);
	t->session_id = sqlite3_column_int64(s, 11);
}

int
store_token_list(struct store *st, const char *user,
    struct web_token_row **rows, size_t *n)
{
	sqlite3_stmt *s;
	long long uid;

	if (user && id_of(st, "user", user, NULL, &uid) == -1)
		return -1;
	/* The hash stays here: a listing has no use for it. */
	if (prep(st, "SELECT t.id, t.selector, t.user_id, u.name, t.key_id, "
	    "t.host_id, h.name, t.login, t.created_at, t.expires_at, "
	    "coalesce(t.used_at, 0), coalesce(t.session_id, 0) "
	    "FROM web_tokens t JOIN users u ON u.id = t.user_id "
	    "JOIN hosts h ON h.id = t.host_id "
	    "WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.created_at, t.id",
	    &s) == -1)
		return -1;
	if (user)
		sqlite3_bind_int64(s, 1, uid);
	return collect(st, s, sizeof(**rows), fill_token, (void **)rows, n);
}

int
store_token_revoke(struct store *st, const char *selector, const char *user,
    long long *count)
{
	sqlite3_stmt *s;
	long long uid = 0;
	int rc;

	if (sync_full(st) == -1)
		return -1;
	*count = 0;
	if (user && id_of(st, "user", user, NULL, &uid) == -1)
		return -1;
	/* Used tokens stay: they name the session they opened. */
	if (prep(st, "DELETE FROM web_tokens WHERE used_at IS NULL AND "
	    "(?1 IS NULL OR selector = ?1) AND (?2 IS NULL OR user_id = ?2)",
	    &s) == -1)
		return -1;
	if (selector)
		sqlite3_bind_text(s, 1, selector, -1, SQLITE_STATIC);
	if (user)
		sqlite3_bind_int64(s, 2, uid);
	rc = step_write(st, s, "revoke web tokens", NULL);
	sqlite3_finalize(s);
	if (rc == 0)
		*count = sqlite3_changes(st->db);
	return rc;
}

int
store_web_throttle(struct store *st, time_t now, int fail, int decay,
    int *failures)
{
	sqlite3_stmt *s;
	long long n = 0, last = 0, quiet;
	int rc;

	if (exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (prep(st, "SELECT failures, last_at FROM web_throttle WHERE id = 1",
	    &s) == -1)
		goto fail;
	if ((rc = step_one(st, s, "read web throttle")) == 1) {
		n = sqlite3_column_int64(s, 0);
		last = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc == -1)
		goto fail;
	/* One failure forgotten per quiet period; a clock step back: none. */
	quiet = (long long)now - last;
	if (decay > 0 && quiet > 0)
		n = quiet / decay >= n ? 0 : n - quiet / decay;
	if (fail) {
		if (n < STORE_THROTTLE_MAX)
			n++;
		if (prep(st, "INSERT INTO web_throttle (id, failures, last_at) "
		    "VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET "
		    "failures = excluded.failures, last_at = excluded.last_at",
		    &s) == -1)
			goto fail;
		sqlite3_bind_int64(s, 1, n);
		sqlite3_bind_int64(s, 2, (long long)now);
		rc = step_write(st, s, "write web throttle", NULL);
		sqlite3_finalize(s);
		if (rc == -1)
			goto fail;
	}
	if (store_commit(st) == -1)
		goto fail;
	*failures = (int)n;
	return 0;
fail:
	store_rollback(st);
	return -1;
}
