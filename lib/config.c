/*
 * config: loading gate.ini. The file is read whole (bounded) so it can be
 * checked before inih sees it: ownership and mode from the open fd, NUL
 * bytes, and lines longer than inih's 200-byte buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-config.h"
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "name.h"
#include "text.h"
#include "when.h"

#define INI_LINE_MAX	199	/* inih (Debian r55) keeps 200 bytes with NUL */

enum {
	K_ACCOUNT, K_AUTH_ACCOUNT, K_STATE_DIR, K_DATABASE, K_RECORDINGS,
	K_RUNTIME, K_EGRESS_KEY, K_KNOWN_HOSTS, K_GATE_SHELL, K_DB_TIMEOUT,
	K_VERIFY_AUTH, K_SSH, K_CONNECT_TIMEOUT, K_MAX_SESSIONS, K_MAX_TIME,
	K_IDLE_TIMEOUT, K_IDLE_WARN, K_IDLE_INPUT_ONLY, K_RECORD_INPUT,
	K_RECORD_REQUIRED, K_RECORD_MAX_FILE, K_HISTORY_MODE, K_POLICY_FILE,
	K_RETENTION_DAYS, K_MAX_WATCHERS, K_WEB_URL, K_TOKEN_TTL, K_COUNT
};

static const struct {
	const char *section, *name;
} keys[K_COUNT] = {
	[K_ACCOUNT] = { "gate", "account" },
	[K_AUTH_ACCOUNT] = { "gate", "auth_account" },
	[K_STATE_DIR] = { "gate", "state_dir" },
	[K_DATABASE] = { "gate", "database" },
	[K_RECORDINGS] = { "gate", "recordings_dir" },
	[K_RUNTIME] = { "gate", "runtime_dir" },
	[K_EGRESS_KEY] = { "gate", "egress_key" },
	[K_KNOWN_HOSTS] = { "gate", "known_hosts" },
	[K_GATE_SHELL] = { "gate", "gate_shell" },
	[K_DB_TIMEOUT] = { "gate", "db_timeout_ms" },
	[K_VERIFY_AUTH] = { "gate", "verify_auth_info" },
	[K_SSH] = { "egress", "ssh" },
	[K_CONNECT_TIMEOUT] = { "egress", "connect_timeout" },
	[K_MAX_SESSIONS] = { "sessions", "max_sessions_per_user" },
	[K_MAX_TIME] = { "sessions", "max_session_time" },
	[K_IDLE_TIMEOUT] = { "sessions", "idle_timeout" },
	[K_IDLE_WARN] = { "sessions", "idle_warn" },
	[K_IDLE_INPUT_ONLY] = { "sessions", "idle_input_only" },
	[K_RECORD_INPUT] = { "recording", "record_input" },
	[K_RECORD_REQUIRED] = { "recording", "required" },
	[K_RECORD_MAX_FILE] = { "recording", "max_file_size" },
	[K_HISTORY_MODE] = { "history", "mode" },
	[K_POLICY_FILE] = { "history", "policy_file" },
	[K_RETENTION_DAYS] = { "history", "retention_days" },
	[K_MAX_WATCHERS] = { "sessions", "max_watchers" },
	[K_WEB_URL] = { "web", "url" },
	[K_TOKEN_TTL] = { "web", "token_ttl" },
};

static const char *const sections[] = {
	"gate", "egress", "sessions", "recording", "history", "web",
};

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static int
parse_size(const char *name, const char *v, long long min, long long max,
    long long *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	errno = 0;
	if (*v < '0' || *v > '9' || (n = strtoull(v, &end, 10), errno))
		goto bad;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end != '\0' || n > ((unsigned long long)max >> shift) ||
	    (long long)(n << shift) < min)
		goto bad;
	*out = (long long)(n << shift);
	return 0;
bad:
	return err_set(ERR_USAGE, "%s must be a size such as 512K, 64M or 1G "
	    "(from %lldK to %lldG)", name, min >> 10, max >> 30);
}

/* A duration, or "off" (0). */
static int
parse_duration(const char *name, const char *v, long long *out)
{
	if (strcmp(v, "off") == 0) {
		*out = 0;
		return 0;
	}
	if (when_duration(v, 366LL * 86400, out) == -1)
		return err_set(ERR_USAGE, "%s must be off or a duration such "
		    "as 90s, 30m, 8h or 1d (at most 366d)", name);
	return 0;
}

struct parse {
	struct config *c;
	int seen[K_COUNT];
	int failed;
	char why[256];
};

static int
set_path(char *dst, const char *v, const char *name, char *why, size_t wl)
{
	if (v[0] != '/') {
		snprintf(why, wl, "%s must be an absolute path", name);
		return -1;
	}
	if (strlen(v) >= PATH_MAX) {
		snprintf(why, wl, "%s is too long", name);
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct config *c = ps->c;
	char sname[64], sval[64];
	long long v;
	int k;

	if (ps->failed)
		return 1;	/* keep only the first error */
	for (k = 0; k < K_COUNT; k++)
		if (strcmp(keys[k].section, section) == 0 &&
		    strcmp(keys[k].name, name) == 0)
			break;
	text_escape(sname, sizeof(sname), name, strlen(name));
	text_escape(sval, sizeof(sval), value, strlen(value));
	if (k == K_COUNT) {
		snprintf(ps->why, sizeof(ps->why), "unknown key '%s' in [%s]",
		    sname, section);
		goto fail;
	}
	if (ps->seen[k]++) {
		snprintf(ps->why, sizeof(ps->why), "duplicate key '%s'", sname);
		goto fail;
	}
	switch (k) {
	case K_ACCOUNT:
	case K_AUTH_ACCOUNT:
		if (name_check_login(value) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s: %s", sname,
			    err_msg());
			goto fail;
		}
		strcpy(k == K_ACCOUNT ? c->account : c->auth_account, value);
		break;
	case K_DB_TIMEOUT:
		if (name_parse_uint(name, value, 10, 60000, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		c->db_timeout_ms = (int)v;
		break;
	case K_VERIFY_AUTH:
	case K_IDLE_INPUT_ONLY:
	case K_RECORD_INPUT:
	case K_RECORD_REQUIRED:
		if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
			int yes = value[0] == 'y';
			if (k == K_VERIFY_AUTH)
				c->verify_auth_info = yes;
			else if (k == K_IDLE_INPUT_ONLY)
				c->idle_input_only = yes;
			else if (k == K_RECORD_INPUT)
				c->record_input = yes;
			else
				c->record_required = yes;
		} else {
			snprintf(ps->why, sizeof(ps->why), "%s must be yes or "
			    "no, not '%s'", sname, sval);
			goto fail;
		}
		break;
	case K_CONNECT_TIMEOUT:
	case K_MAX_SESSIONS:
		if (name_parse_uint(name, value, k == K_MAX_SESSIONS ? 0 : 1,
		    k == K_MAX_SESSIONS ? 10000 : 600, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		if (k == K_MAX_SESSIONS)
			c->max_sessions_per_user = (int)v;
		else
			c->connect_timeout = (int)v;
		break;
	case K_RECORD_MAX_FILE:
		if (parse_size(name, value, 64 * 1024, 64LL << 30, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		c->record_max_file = v;
		break;
	case K_HISTORY_MODE:
		if (strcmp(value, "permissive") && strcmp(value, "strict")) {
			snprintf(ps->why, sizeof(ps->why), "mode must be "
			    "permissive or strict, not '%s'", sval);
			goto fail;
		}
		c->history_strict = value[0] == 's';
		break;
	case K_RETENTION_DAYS:
	case K_MAX_WATCHERS:
		if (name_parse_uint(name, value, 0, k == K_MAX_WATCHERS ?
		    SHARE_MAX_WATCHERS : 36500, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		if (k == K_MAX_WATCHERS)
			c->max_watchers = (int)v;
		else
			c->retention_days = (int)v;
		break;
	case K_WEB_URL:
		/* Printed to users and maybe pasted in a browser: plain. */
		if (strlen(value) >= sizeof(c->web_url) ||
		    (strncmp(value, "https://", 8) != 0 &&
		    strncmp(value, "http://", 7) != 0) ||
		    strpbrk(value, " \"<>'`") != NULL ||
		    !text_no_controls(value)) {
			snprintf(ps->why, sizeof(ps->why), "url must be an "
			    "http:// or https:// URL without spaces, quotes "
			    "or control characters");
			goto fail;
		}
		strcpy(c->web_url, value);
		break;
	case K_TOKEN_TTL:
		if (parse_duration(name, value, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		if (v < 60 || v > CONFIG_MAX_TOKEN_TTL) {
			snprintf(ps->why, sizeof(ps->why), "token_ttl must be "
			    "between 1m and 24h");
			goto fail;
		}
		c->token_ttl = (int)v;
		break;
	case K_MAX_TIME:
	case K_IDLE_TIMEOUT:
	case K_IDLE_WARN:
		if (parse_duration(name, value, &v) == -1) {
			snprintf(ps->why, sizeof(ps->why), "%s", err_msg());
			goto fail;
		}
		if (k == K_MAX_TIME)
			c->max_session_time = (int)v;
		else if (k == K_IDLE_TIMEOUT)
			c->idle_timeout = (int)v;
		else
			c->idle_warn = (int)v;
		break;
	default: {
		char *dst = k == K_STATE_DIR ? c->state_dir :
		    k == K_DATABASE ? c->database :
		    k == K_RECORDINGS ? c->recordings_dir :
		    k == K_RUNTIME ? c->runtime_dir :
		    k == K_EGRESS_KEY ? c->egress_key :
		    k == K_KNOWN_HOSTS ? c->known_hosts :
		    k == K_SSH ? c->ssh :
		    k == K_POLICY_FILE ? c->policy_file : c->gate_shell;
		if (set_path(dst, value, sname, ps->why, sizeof(ps->why)) == -1)
			goto fail;
		if (!text_no_controls(value)) {
			snprintf(ps->why, sizeof(ps->why), "%s holds a control "
			    "character", sname);
			goto fail;
		}
		if ((k == K_GATE_SHELL || k == K_SSH) &&
		    !config_path_plain(value)) {
			snprintf(ps->why, sizeof(ps->why), "%s '%s' may only "
			    "hold [A-Za-z0-9/._+-]", sname, sval);
			goto fail;
		}
	}
	}
	return 1;
fail:
	ps->failed = 1;
	return 0;
}

int
config_path_plain(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._+-", *p)))
			return 0;
	return 1;
}

/* Checks inih cannot do: long lines, unknown or empty sections. */
static int
prescan(const char *path, const char *text)
{
	const char *line = text, *nl, *p;
	char name[64];
	size_t len, n, i;
	int lineno = 1;

	for (; *line; line = nl + 1, lineno++) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line) - 1;
		len = (size_t)(nl - line) + (*nl != '\n');
		if (len > INI_LINE_MAX)
			return err_set(ERR_USAGE, "%s:%d: line longer than %d "
			    "bytes", path, lineno, INI_LINE_MAX);
		for (p = line; p < line + len && (*p == ' ' || *p == '\t'); p++)
			;
		if (p < line + len && *p == '[') {
			const char *end = memchr(p, ']', (size_t)(line + len - p));
			if (end == NULL)
				return err_set(ERR_USAGE, "%s:%d: section header "
				    "without ']'", path, lineno);
			n = (size_t)(end - p - 1);
			text_escape(name, sizeof(name), p + 1, n);
			for (i = 0; i < sizeof(sections) / sizeof(*sections); i++)
				if (strlen(sections[i]) == n &&
				    memcmp(sections[i], p + 1, n) == 0)
					break;
			if (i == sizeof(sections) / sizeof(*sections))
				return err_set(ERR_USAGE, "%s:%d: unknown section "
				    "[%s]", path, lineno, name);
		}
		if (*nl != '\n')
			break;
	}
	return 0;
}

static int
derive(char *dst, const char *dir, const char *leaf)
{
	if (dst[0])
		return 0;
	if ((size_t)snprintf(dst, PATH_MAX, "%s/%s", dir, leaf) >= PATH_MAX)
		return err_set(ERR_USAGE, "state_dir is too long");
	return 0;
}

static struct config *
config_defaults(const char *path)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		return NULL;
	}
	if (strlen(path) >= sizeof(c->path) || !text_no_controls(path)) {
		err_set(ERR_USAGE, "bad config path");
		free(c);
		return NULL;
	}
	strcpy(c->path, path);
	strcpy(c->account, "gate");
	strcpy(c->auth_account, "sshgate-auth");
	strcpy(c->state_dir, "/var/lib/sshgate");
	strcpy(c->gate_shell, SSHGATE_LIBEXECDIR "/gate-shell");
	c->db_timeout_ms = 5000;
	c->verify_auth_info = 1;
	strcpy(c->ssh, "/usr/bin/ssh");
	c->connect_timeout = 10;
	c->max_sessions_per_user = 3;
	c->max_session_time = 0;
	c->idle_timeout = 0;
	c->idle_warn = 60;
	c->idle_input_only = 0;
	c->record_input = 0;
	c->record_required = 0;
	c->record_max_file = 256LL << 20;
	c->history_strict = 0;
	c->retention_days = 30;
	c->max_watchers = 4;
	c->token_ttl = 30 * 60;
	return c;
}

struct config *
config_parse(const char *name, const char *text)
{
	struct config *c;
	struct parse ps;
	int line;

	if ((c = config_defaults(name)) == NULL)
		return NULL;
	if (prescan(name, text) == -1)
		goto fail;
	memset(&ps, 0, sizeof(ps));
	ps.c = c;
	if ((line = ini_parse_string(text, handler, &ps)) != 0) {
		if (ps.failed)
			err_set(ERR_USAGE, "%s:%d: %s", name, line, ps.why);
		else
			err_set(ERR_USAGE, "%s:%d: syntax error (expected "
			    "'key = value' or '[section]')", name, line);
		goto fail;
	}
	if (derive(c->database, c->state_dir, "gate.db") == -1 ||
	    derive(c->recordings_dir, c->state_dir, "recordings") == -1 ||
	    derive(c->runtime_dir, c->state_dir, "run") == -1 ||
	    derive(c->egress_key, c->state_dir, "egress_ed25519") == -1 ||
	    derive(c->known_hosts, c->state_dir, "known_hosts") == -1)
		goto fail;
	/* ssh expands % and ~ in these two: only plain paths will do. */
	if (!config_path_plain(c->egress_key) ||
	    !config_path_plain(c->known_hosts)) {
		err_set(ERR_USAGE, "%s: egress_key and known_hosts (state_dir, "
		    "when they are not set) may only hold [A-Za-z0-9/._+-]",
		    name);
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

struct config *
config_load(const char *path)
{
	struct config *c;
	char *text;

	if ((text = fsutil_read_trusted(path ? path : SSHGATE_CONFIG,
	    "config", CONFIG_MAX_SIZE)) == NULL)
		return NULL;
	c = config_parse(path ? path : SSHGATE_CONFIG, text);
	free(text);
	if (c)
		c->path_given = path != NULL;
	return c;
}

void
config_free(struct config *c)
{
	free(c);
}
