/*
 * config: gate.ini, the one configuration file (INI, read with inih).
 *
 * Section [gate] names the gate's Unix account and its state directory;
 * every other path defaults below state_dir, so a two-line file is a
 * complete gate. [egress] shapes the ssh client gate-shell runs toward
 * targets, [sessions] the limits on sessions, [recording] and [history]
 * what is kept of them. Unknown sections and keys, duplicate keys, bad values and
 * lines inih would silently cut (200 bytes) are errors naming file:line.
 * The file must be owned by root (or by the user reading it) and must not
 * be writable by group or others: it decides where keys are looked up.
 */
#ifndef SSHGATE_CONFIG_H
#define SSHGATE_CONFIG_H

#include <limits.h>

#define CONFIG_MAX_SIZE	(64 * 1024)
#define SHARE_MAX_WATCHERS	64	/* the most max_watchers may be */
#define CONFIG_MAX_TOKEN_TTL	(24 * 3600)	/* seconds */

struct config {
	char path[PATH_MAX];		/* the file read */
	int path_given;			/* 1 when -c named it */
	char account[33];		/* the gate's Unix account */
	char auth_account[33];		/* AuthorizedKeysCommandUser */
	char state_dir[PATH_MAX];
	char database[PATH_MAX];
	char recordings_dir[PATH_MAX];
	char runtime_dir[PATH_MAX];
	char egress_key[PATH_MAX];
	char known_hosts[PATH_MAX];
	char gate_shell[PATH_MAX];	/* path printed in command="..." */
	int db_timeout_ms;		/* SQLite busy timeout */
	int verify_auth_info;		/* check SSH_USER_AUTH (ExposeAuthInfo) */
	char ssh[PATH_MAX];		/* [egress] the OpenSSH client */
	int connect_timeout;		/* [egress] seconds */
	int max_sessions_per_user;	/* [sessions] 0: no limit */
	int max_session_time;		/* [sessions] seconds, 0: off */
	int idle_timeout;		/* [sessions] seconds, 0: off */
	int idle_warn;			/* [sessions] seconds before, 0: none */
	int idle_input_only;		/* [sessions] output is not activity */
	int record_input;		/* [recording] keystrokes too */
	int record_required;		/* [recording] no recording, no session */
	long long record_max_file;	/* [recording] bytes per file */
	int history_strict;		/* [history] mode = strict */
	char policy_file[PATH_MAX];	/* [history] extra rules, "" none */
	int retention_days;		/* [history] 0: keep forever */
	int max_watchers;		/* [sessions] per session, 0: no sharing */
	char web_url[200];		/* [web] the frontend's address, "" none */
	int token_ttl;			/* [web] seconds a web token lives */
};

/*
 * Load path (or the built-in default when path is NULL) into a freshly
 * allocated config. Returns it, or NULL with an error naming file:line.
 * Free with config_free().
 */
struct config *config_load(const char *path);
/*
 * Parse text (the contents of a file called name) over the defaults, with
 * every check config_load() makes but those on the file itself. Returns
 * a config or NULL with an error; the fuzz target's entry point.
 */
struct config *config_parse(const char *name, const char *text);
void config_free(struct config *c);
/*
 * Returns 1 when p may be printed inside command="..." of an
 * authorized_keys line and split by a shell-like tokenizer unchanged:
 * absolute, only [A-Za-z0-9/._+-]. Else 0.
 */
int config_path_plain(const char *p);

#endif
