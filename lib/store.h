/*
 * store: sshgate's SQLite database, and the only module that speaks SQL.
 *
 * WAL mode with a bounded busy timeout and foreign keys on; the schema is
 * versioned with PRAGMA user_version: opening for writing upgrades an
 * older database in place, and a database newer than the binary is
 * refused. Read-only opens (authkeys-cmd) never write and refuse any
 * version but the current one.
 *
 * Every function returns 0 on success (or 1/0 for found/not found where
 * it says so) and -1 with an err_set() message. Lookups of names that do
 * not exist are ERR_USAGE errors ("no such user 'bob'"). Arrays returned
 * through **rows are allocated here and released with free().
 */
#ifndef SSHGATE_STORE_H
#define SSHGATE_STORE_H

#include <stddef.h>
#include <time.h>

#include "keys.h"
#include "name.h"

#define STORE_SCHEMA_VERSION	4

enum {
	STORE_RDONLY = 1 << 0,	/* never write, not even a migration */
	STORE_NOMIGRATE = 1 << 1, /* write rows, but refuse any other version */
	/*
	 * Commit without waiting for the disk (WAL, synchronous NORMAL):
	 * for the many small writes of sessions (rows, history, "last
	 * used"). Changes of who may do what (shares, tokens) and
	 * deletions a user asked for switch the connection back to FULL
	 * first, whatever it was opened with.
	 */
	STORE_LAZY_SYNC = 1 << 2,
};

struct store;

struct user_row {
	long long id;
	char name[NAME_MAX_LEN + 1];
	int is_admin, disabled;
	time_t created;
	int nkeys;
};

struct key_row {
	long long id, user_id;
	char user[NAME_MAX_LEN + 1];
	int user_disabled;
	char type[KEY_TYPE_MAX];
	char b64[KEY_B64_MAX];
	char fp[KEY_FP_MAX];
	char comment[KEY_COMMENT_MAX];
	char from[1024];	/* canonical from= list, or "" */
	time_t expires;		/* 0: never */
	time_t created, last_used;	/* last_used 0: never */
	int disabled;
};

struct host_row {
	long long id;
	char name[NAME_MAX_LEN + 1];
	char address[ADDR_MAX_LEN + 1];
	int port;
	char login[LOGIN_MAX_LEN + 1];	/* default login, or "" */
	time_t created;
	char egress_key[4096];		/* this host's own key, or "" */
};

struct group_row {
	long long id;
	char name[NAME_MAX_LEN + 1];
	int is_host;		/* 0: a group of users, 1: of hosts */
	int nmembers;
	time_t created;
};

struct grant_row {
	long long id;
	char subject[NAME_MAX_LEN + 2];	/* "alice" or "@ops" */
	char object[NAME_MAX_LEN + 2];	/* "web1" or "@web" */
	char login[LOGIN_MAX_LEN + 1];	/* "" means the host's default */
	time_t expires;			/* 0: never */
	time_t created;
};

/* One (host, login) a user may reach now; see store_access_list(). */
struct access_row {
	char host[NAME_MAX_LEN + 1];
	char address[ADDR_MAX_LEN + 1];
	int port;
	char login[LOGIN_MAX_LEN + 1];
	time_t expires;		/* latest expiry among the grants; 0: never */
};

/*
 * Open the database at path. Without STORE_RDONLY or STORE_NOMIGRATE the
 * schema is created or upgraded (gatectl); with either, a database of any
 * other version is refused (authkeys-cmd, gate-shell). Returns a handle or
 * NULL; close with store_close(), which accepts NULL.
 */
struct store *store_open(const char *path, int flags, int timeout_ms);
void store_close(struct store *st);
/* Give back the page cache: before a long stretch without queries. */
void store_release_memory(struct store *st);
/* Abort any statement still running after deadline (CLOCK_MONOTONIC ns). */
void store_set_deadline(struct store *st, long long deadline_ns);
/* The schema version found in the file (after any upgrade). */
int store_version(struct store *st);
/* The version the file had when opened (0: a new, empty database). */
int store_version_found(struct store *st);

/* Transactions for multi-statement changes: all or nothing. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

int store_user_add(struct store *st, const char *name, int is_admin);
int store_user_del(struct store *st, const char *name);
/* field: "disabled" or "is_admin". */
int store_user_set(struct store *st, const char *name, const char *field,
    int value);
int store_user_get(struct store *st, const char *name, struct user_row *out);
int store_user_list(struct store *st, struct user_row **rows, size_t *n);

/* from: canonical list or NULL; expires: 0 for never. */
int store_key_add(struct store *st, const char *user, const struct pubkey *k,
    const char *from, time_t expires, long long *id);
int store_key_del(struct store *st, const char *fp);
int store_key_set_disabled(struct store *st, const char *fp, int disabled);
/* Returns 1 and fills *out when found, 0 when not, -1 on error. */
int store_key_find(struct store *st, const char *fp, struct key_row *out);
int store_key_by_id(struct store *st, long long id, struct key_row *out);
int store_key_touch(struct store *st, long long id, time_t when);
/* user NULL lists every key. */
int store_key_list(struct store *st, const char *user, struct key_row **rows,
    size_t *n);

/* egress_key: a private key path for this host only, or NULL / "". */
int store_host_add(struct store *st, const char *name, const char *address,
    int port, const char *login, const char *egress_key);
/* Returns 1 and fills *out when the host exists, 0 when not, -1 on error. */
int store_host_get(struct store *st, const char *name, struct host_row *out);
int store_host_del(struct store *st, const char *name);
int store_host_list(struct store *st, struct host_row **rows, size_t *n);

int store_group_add(struct store *st, const char *name, int is_host);
int store_group_del(struct store *st, const char *name);
int store_group_list(struct store *st, struct group_row **rows, size_t *n);
/* Members of a group: user or host names, sorted. */
int store_group_members(struct store *st, const char *group,
    char (**names)[NAME_MAX_LEN + 1], size_t *n);
int store_group_member_add(struct store *st, const char *group,
    const char *member);
int store_group_member_del(struct store *st, const char *group,
    const char *member);

/*
 * subject: a user name or "@group" (a user group); object: a host name or
 * "@group" (a host group). login "" grants the host's default login.
 * expires 0: never.
 */
int store_grant_add(struct store *st, const char *subject, const char *object,
    const char *login, time_t expires);
/* login NULL removes the grants for every login of that pair. */
int store_grant_del(struct store *st, const char *subject, const char *object,
    const char *login);
int store_grant_list(struct store *st, struct grant_row **rows, size_t *n);

/*
 * Every (host, login) user_id may reach at time now, through direct grants
 * and groups on both sides, unexpired, sorted by host then login. A grant
 * for the default login of a host with none gives nothing.
 */
int store_access_list(struct store *st, long long user_id, time_t now,
    struct access_row **rows, size_t *n);

/* A row of sessions: one connection through the gate. */
struct session_row {
	long long id;		/* random, ten digits (id_new()) */
	long long user_id, key_id;
	char user[NAME_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1];
	char login[LOGIN_MAX_LEN + 1];
	time_t started, ended;	/* ended 0: live */
	char end_reason[8];	/* exit error killed limit ttl idle lost */
	int exit_status;	/* -1: none */
	long long bytes_in, bytes_out;	/* user to target, target to user */
	int pid;		/* the gate-shell serving it */
	long long pid_start;	/* its start time, /proc/PID/stat field 22 */
	int tty;		/* 1: the user had a terminal */
	char command[512];	/* the remote command, escaped; "" for a shell */
	char peer[64];		/* the client's address */
	char message[256];	/* why it failed or ended, for people */
	char recording[512];	/* the first cast file, "" none */
	char rec_status[160];	/* "", off, ok, partial: ..., failed: ... */
	int rec_files;		/* cast files written (continuations) */
	long long rec_bytes;	/* bytes written to them */
	long long rec_lost;	/* session bytes missing from them */
};

/*
 * Insert x as a live session with a fresh id from new_id() (retried on a
 * collision), in one transaction with counting the user's live sessions.
 * When max_open > 0 and the user already holds that many, the row is
 * stored already ended with reason "limit" and 1 is returned. Returns 0
 * for a live session (x->id set), 1 for a refusal, -1 on error.
 */
int store_session_start(struct store *st, struct session_row *x, int max_open,
    long long (*new_id)(void));
/*
 * Close a live session. Byte counts only grow; message "" keeps the
 * stored one. Returns 0, 1 when the row was already closed (someone else
 * ended it first) or does not exist, -1 on error.
 */
int store_session_end(struct store *st, long long id, const char *reason,
    int exit_status, long long bytes_in, long long bytes_out,
    const char *message);
/* Returns 1 and fills *out, 0 when there is no such session, -1. */
int store_session_get(struct store *st, long long id, struct session_row *out);
/*
 * The newest limit sessions (0: all) of user_id (0: everyone's), only the
 * live ones if open_only, oldest first.
 */
int store_session_list(struct store *st, long long user_id, int open_only,
    size_t limit, struct session_row **rows, size_t *n);
/*
 * Record what became of a session's recording (any time, live or ended):
 * path "" keeps the stored one.
 */
int store_session_recording(struct store *st, long long id, const char *path,
    const char *status, int files, long long bytes, long long lost);
/*
 * Sessions with a recording, newest first, at most limit (0: all), of
 * user_id and host name when given (0 / NULL: any).
 */
int store_recording_list(struct store *st, long long user_id,
    const char *host, size_t limit, struct session_row **rows, size_t *n);

/*
 * Sharing. A share lets user_id join live session session_id (rw: and
 * type into it); store_share_set() replaces an earlier one. _del returns
 * 1 when a share was removed, 0 when there was none; _get 1 (and *rw)
 * when there is one, 0 when not.
 */
int store_share_set(struct store *st, long long session_id, long long user_id,
    int rw, const char *granted_by);
int store_share_del(struct store *st, long long session_id, long long user_id);
int store_share_get(struct store *st, long long session_id, long long user_id,
    int *rw);

/* Someone watching a live session, through the gate-shell (pid, pid_start). */
struct attach_row {
	long long id, session_id, user_id;
	char user[NAME_MAX_LEN + 1];
	int rw;
	time_t joined;
	int pid;
	long long pid_start;
};

/* Record a watcher joining (*id set) or leaving (reason for people). */
int store_attach_start(struct store *st, const struct attach_row *a,
    long long *id);
int store_attach_end(struct store *st, long long id, const char *reason);
/*
 * The watchers not recorded as gone, of session_id (0: every session),
 * by session and join time. The caller checks that each pid still lives.
 */
int store_attach_list(struct store *st, long long session_id,
    struct attach_row **rows, size_t *n);

#define HISTORY_CMD_MAX	8192	/* stored text, after masking */

enum {
	HISTORY_UNCERTAIN = 1 << 0,	/* tab completion, history recall... */
	HISTORY_PASTE = 1 << 1,		/* pasted, not typed */
	HISTORY_TRUNCATED = 1 << 2,	/* longer than the rebuilder keeps */
	HISTORY_NOECHO = 1 << 3,	/* typed with echo off: no text */
	HISTORY_UNCOMMITTED = 1 << 4,	/* typed, never entered */
};

/* A row of command_log: one command, or a marker with no text. */
struct history_row {
	long long id, session_id, user_id, host_id;
	time_t created;
	char user[NAME_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1];
	char source[8];			/* typed, exec */
	int flags;			/* HISTORY_* */
	int blocked;			/* 1: command is "" */
	char reason[160];		/* why blocked (or the marker's text) */
	long long uses;			/* --unique: how many times */
	unsigned char hash[32];		/* SHA-256 of command; zero if blocked */
	char command[HISTORY_CMD_MAX + 1];	/* masked */
};

/* Insert n rows in one transaction (ids and names as given). */
int store_history_add(struct store *st, const struct history_row *rows,
    size_t n);

struct history_query {
	const char *text;	/* substring, case-insensitive; NULL: any */
	long long user_id;	/* 0: everyone's */
	const char *host;	/* NULL: every host */
	int unique;		/* one row per distinct command: last use, uses */
	size_t limit, offset;	/* newest first; limit 0: 20 */
};

/*
 * Rows matching q, newest first after skipping offset, oldest of them
 * first in the array (as a terminal lists them).
 */
int store_history_query(struct store *st, const struct history_query *q,
    struct history_row **rows, size_t *n);
/* Delete every command of host (by name); *count gets how many. */
int store_history_clear(struct store *st, const char *host, long long *count);
/* Delete commands created before t; *count gets how many. */
int store_history_purge(struct store *st, time_t before, long long *count);
/*
 * Purge at most once a day: when retention_days > 0 and the last purge
 * is more than a day old, delete what is older than retention_days:
 * commands, and who watched sessions; shares of ended sessions go too.
 * Returns 1 when it purged, 0 when not due, -1.
 */
int store_history_retain(struct store *st, int retention_days);

/*
 * Web tokens. The store keeps a token's public selector and the hash of
 * its secret (lib/token), never the token.
 */
struct web_token_row {
	long long id, user_id, host_id;
	long long key_id;		/* the key that made it */
	long long session_id;		/* what it opened; 0: none yet */
	char selector[16];		/* public (lib/token: 12 characters) */
	char user[NAME_MAX_LEN + 1];
	char host[NAME_MAX_LEN + 1];
	char login[LOGIN_MAX_LEN + 1];
	time_t created, expires, used;	/* used 0: not yet */
};

/* What store_token_redeem() found. */
enum {
	STORE_TOKEN_UNKNOWN = 0,	/* no such selector, or a wrong secret */
	STORE_TOKEN_OK = 1,		/* redeemed now, by this call */
	STORE_TOKEN_USED = 2,		/* right secret, redeemed before */
	STORE_TOKEN_EXPIRED = 3,	/* right secret, past its expiry */
};

#define STORE_THROTTLE_MAX	1000	/* the failure count stops there */

/*
 * Store a token for (user_id, host_id, login) made by key key_id, valid
 * until expires. When max_live > 0 and the user already holds that many
 * unused, unexpired tokens, nothing is stored and 1 is returned. Returns
 * 0, 1, or -1.
 */
int store_token_add(struct store *st, const char *selector,
    const unsigned char hash[32], long long user_id, long long key_id,
    long long host_id, const char *login, time_t now, time_t expires,
    int max_live);
/*
 * Use the token of selector whose secret hashes to hash, once: in one
 * transaction, the hash is compared in constant time and the row marked
 * used only if it is still unused and unexpired at now. Returns a
 * STORE_TOKEN_* value (*out filled for OK, USED and EXPIRED; zeroed for
 * UNKNOWN, which a wrong secret for an existing selector also gets), or
 * -1 on error.
 */
int store_token_redeem(struct store *st, const char *selector,
    const unsigned char hash[32], time_t now, struct web_token_row *out);
/* Record the session a redeemed token opened. */
int store_token_session(struct store *st, long long token_id,
    long long session_id);
/* Delete tokens that expired before before; *count (if given) how many. */
int store_token_purge(struct store *st, time_t before, long long *count);
/*
 * Every token of user (NULL: of everyone), oldest first, for gatectl:
 * the rows without their hashes. Returns 0, or -1 (ERR_USAGE for an
 * unknown user).
 */
int store_token_list(struct store *st, const char *user,
    struct web_token_row **rows, size_t *n);
/*
 * Delete the unused tokens with selector (NULL: any) of user (NULL:
 * anyone's); *count gets how many. Used ones stay (they name their
 * session). Returns 0, or -1 (ERR_USAGE for an unknown user).
 */
int store_token_revoke(struct store *st, const char *selector,
    const char *user, long long *count);
/*
 * The web entry's failure counter: one row, whatever the traffic. One
 * failure is forgotten per decay seconds without one; when fail is set,
 * this failure is added (up to STORE_THROTTLE_MAX). *failures gets the
 * count after that. Returns 0 or -1.
 */
int store_web_throttle(struct store *st, time_t now, int fail, int decay,
    int *failures);

#endif
