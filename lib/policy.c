/*
 * policy: the secret-masking engine. Built-in rules plus an optional INI
 * file, all compiled once (PCRE2, JIT when the platform has it), then run
 * on every command about to be stored.
 *
 * Everything here leans toward storing less: a rule that cannot run, a
 * limit that is hit, a result that does not fit all end in "blocked". A
 * policy file is checked line by line before inih sees it, so nothing is
 * silently cut (inih r55 keeps 200 bytes a line and takes " ;" as the
 * start of a comment), and a file that fails to load gives no policy at
 * all rather than the built-ins alone: the caller decides what then.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "err.h"
#include "fsutil.h"
#include "policy.h"
#include "text.h"

#define INI_LINE_MAX	199	/* inih (Debian r55) keeps 200 bytes with NUL */
#define NAME_MAX_LEN	63
/*
 * Each pcre2_match() may take this many steps (JIT or not) and nest this
 * deep; a 4 KiB command and a pathological pattern such as (a+)+$ then
 * end in a few milliseconds with PCRE2_ERROR_MATCHLIMIT, not in hours.
 */
#define MATCH_LIMIT	100000
#define DEPTH_LIMIT	10000
#define HEAP_LIMIT_KIB	16384
#define JIT_STACK_MAX	(512 * 1024)

/*
 * Pieces of the built-in patterns. A command word (W0 name W1) is not
 * part of a longer word or path component: /usr/bin/mysql counts,
 * mysql.cnf, mysql:8 and my-mysql do not.
 */
#define W0	"(?<![\\w.-])"
#define W1	"(?![\\w.:/@-])"
/*
 * THEN(x): x somewhere in the rest of the same simple command (before the
 * next ; & | or newline). When x is not there, (*SKIP) moves the next
 * attempt past this simple command: a later command word in it would
 * only search a part of the same text again. Without it, "curl curl
 * curl ..." costs time quadratic in the length of the command.
 */
#define THEN(x)	"(?:[^;&|\\n]*?(?:" x ")|[^;&|\\n]*+(*SKIP)(*F))"
/* An option's value follows: "=", spaces or nothing, and it is no option. */
#define OPTVAL	"(?:=|\\s*+)(?!-)\\S"
/*
 * An option's value: a quoted string whole (an unclosed one to the end),
 * else up to a space, quote or shell operator.
 */
#define VALUE	"(?:\"[^\"]*+\"?|'[^']*+'?|[^\\s\"';&|<>]++)"
/*
 * echo or printf with a literal argument piped into the next command
 * ("echo $PW | ..." gives nothing away and is not matched).
 */
#define ECHO_TO(x) W0 "(?:echo|printf)" W1 "(?:\\s++-\\w++)*+\\s++" \
		"(?![\"']?\\$)[^;&|\\n]*+(?:\\||(*SKIP)(*F))" THEN(x)
/* Programs that print, copy or send a file's content, or a < redirection. */
#define READERS	"(?:" W0 "(?:cat|tac|nl|less|more|most|head|tail|base64|" \
		"base32|basenc|xxd|od|hexdump|hd|strings|cp|scp|rsync|sftp|" \
		"bat|batcat|vi|vim|nvim|view|nano|emacs|sed|awk|grep|egrep|" \
		"fgrep|rg|zcat|tar|zip|gzip|openssl|curl|nc|ncat|socat|dd|" \
		"tee|install|xclip|xsel)" W1 "|<)"
/* Characters of one shell word, roughly, and of one path component. */
#define WORDC	"[^\\s;&|'\"]"
#define COMPC	"[^\\s;&|'\"/]"

struct builtin {
	const char *name, *pattern;
};

/*
 * Never stored: the command line itself holds a secret, or the command
 * prints one (a private key, /etc/shadow, a Kubernetes secret). Each name
 * is the reason stored in place of the text, so it says what was seen.
 */
static const struct builtin builtin_block[] = {
	/* -pSECRET and --password=SECRET; a bare -p or --password prompts. */
	{ "mysql-password", W0 "(?:mysql|mariadb|mysqldump|mysqladmin|"
	    "mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlsh|mariadb-dump|"
	    "mariadb-admin)" W1 THEN("\\s(?:-p[^\\s;&|]|--password=[^\\s;&|])") },
	/* A conninfo string: psql "host=db password=x". */
	{ "psql-password", W0 "(?:psql|pg_dump|pg_dumpall|pg_restore|"
	    "pg_basebackup|pgbench|pg_isready)" W1
	    THEN("\\bpassword\\s*=\\s*[^\\s'\"]") },
	/* Database URLs with a password: postgresql://u:pw@host. */
	{ "db-url-password", "(?i)\\b(?:postgres(?:ql)?|mysql|mariadb|"
	    "mongodb(?:\\+srv)?|rediss?|amqps?|mssql|sqlserver)://"
	    "[^\\s/@:'\"]*+:[^\\s/@'\"]++@" },
	/* Variables these clients read their password from. */
	{ "password-env", "(?<![\\w$])(?:PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH|"
	    "SSHPASS)=(?![\\s;&|$]|$)" },
	/*
	 * An assignment or export of a variable whose name says it holds a
	 * secret: export GITHUB_TOKEN=x, AWS_SECRET_ACCESS_KEY=x aws ...
	 * Names ending in _FILE, _PATH or _DIR hold a path, and a value
	 * taken from another variable ($X, $(cmd)) is not a literal secret.
	 */
	{ "secret-variable", "(?i)(?:^|[;&|(`{\\n]|\\$\\(|"
	    "\\b(?:export|declare|typeset|local|readonly|env)\\b)"
	    "(?:\\s++-[\\w-]++)*+\\s*+(?:[a-z_]\\w*+=[^\\s;&|]*+\\s++)*"
	    "(?=[a-z_])\\w*?(?:secret|token|passw(?:or)?d|passphrase|"
	    "(?:api|access|private|secret|encryption|signing|master)_?key)"
	    "\\w*+(?<!_file|_path|_dir)=(?![\\s;&|$]|$)" },
	{ "sshpass-password", W0 "sshpass" W1 THEN("\\s-p\\s*+(?!-)\\S") },
	/* -b takes the password as an argument. */
	{ "htpasswd-batch", W0 "htpasswd" W1 "(?:\\s++-[a-zA-Z]++)*?"
	    "\\s++-[a-zA-Z]*b" },
	/* "user:password" lines given on the command line. */
	{ "chpasswd", ECHO_TO(W0 "chg?passwd" W1) "|"
	    W0 "chg?passwd" W1 THEN("<<") },
	{ "passwd-stdin", ECHO_TO(W0 "passwd" W1 THEN("--stdin")) "|"
	    W0 "passwd" W1 THEN("--stdin" THEN("<<")) },
	/* -p takes a crypt(3) hash: not the password, but crackable. */
	{ "useradd-password", W0 "(?:useradd|usermod)" W1
	    THEN("\\s(?:-p|--password)" OPTVAL) },
	{ "openssl-password", W0 "openssl" W1
	    THEN("\\s-(?:pass(?:in|out)?\\s++pass:|k\\s++(?!-)\\S|"
	    "K\\s++[0-9a-fA-F])") },
	{ "gpg-passphrase", W0 "gpg2?" W1
	    THEN("\\s--passphrase(?:=|\\s++)(?!-)\\S") },
	/* zip/unzip -P pw (unzip -p is "to stdout"). */
	{ "zip-password", W0 "(?:zip|unzip|zipcloak)" W1
	    THEN("\\s-P\\s*+(?!-)\\S") },
	/* 7z and rar -pPW; a bare -p prompts. */
	{ "7z-password", W0 "(?:7z|7za|7zr|rar|unrar)" W1
	    THEN("\\s-p[^\\s-]") },
	{ "smb-password", W0 "(?:smbclient|rpcclient|smbmap|smbcacls)" W1
	    THEN("\\s(?:-U|--user(?:name)?)(?:=|\\s*+)[^\\s%]*+%(?!\\s|$)|"
	    "\\s--password(?:=|\\s++)(?!-)\\S") },
	/* -w is the bind password (-W prompts, -y reads a file). */
	{ "ldap-password", W0 "ldap(?:search|modify|add|delete|passwd|whoami|"
	    "compare|modrdn|exop|url)" W1 THEN("\\s-w\\s*+(?!-)\\S") },
	{ "ipmitool-password", W0 "ipmitool" W1 THEN("\\s-P\\s*+(?!-)\\S") },
	{ "redis-password", W0 "redis-cli" W1
	    THEN("\\s(?:-a|--pass)(?:=|\\s++)(?!-)\\S") },
	{ "mongo-password", W0 "(?:mongo|mongosh|mongodump|mongorestore|"
	    "mongoexport|mongoimport|mongostat|mongotop)" W1
	    THEN("\\s(?:-p|--password)(?:=|\\s++)(?!-)\\S") },
	/* Credentials in HTTP headers, or as cookies. */
	{ "http-auth-header", "(?i)" W0 "(?:curl|wget|http|https|xh|xhs|"
	    "curlie)" W1 THEN("\\b(?:proxy-)?authorization\\s*+:|"
	    "\\bcookie\\s*+:|\\bx-api-key\\s*+:|\\bprivate-token\\s*+:|"
	    "\\bx-(?:auth|access|vault)-token\\s*+:|--oauth2-bearer\\b|"
	    "\\s(?:-b|--cookie)(?:=|\\s++)['\"]?[^\\s'\"=]++=") },
	/* -u user:password; -u user alone prompts. */
	{ "http-user-password", W0 "(?:curl|wget|http|https|xh|xhs|curlie)"
	    W1 THEN("\\s(?:-u|--user|-U|--proxy-user)(?:=|\\s*+)['\"]?"
	    "[^\\s:'\"]*+:[^\\s'\"]|\\s--(?:http-|ftp-|proxy-)?password"
	    "(?:=|\\s++)(?!-)\\S") },
	/*
	 * docker login -p/--password. --password-stdin alone is stored: the
	 * password is not on the line (but see echo-password-stdin).
	 */
	{ "registry-login-password", W0 "(?:docker|podman|nerdctl|buildah|"
	    "skopeo|helm|oras|crane|regctl)" W1 THEN("\\slogin" W1
	    THEN("\\s(?:-p|--password)" OPTVAL)) },
	/* echo SECRET | docker login --password-stdin, gh --with-token. */
	{ "echo-password-stdin", ECHO_TO("--password-stdin|--with-token|"
	    "--token-stdin") },
	/*
	 * Private keys read, copied or sent: id_* that is not .pub, any
	 * other file in ~/.ssh but the non-secret ones, host keys, and
	 * TLS keys (cert and chain files are public).
	 */
	{ "ssh-private-key", READERS THEN("(?<![\\w-])id_(?:rsa|dsa|ecdsa|"
	    "ed25519|xmss|[*?\\[])" WORDC "*+(?<!\\.pub)|"
	    "\\.ssh/(?!" COMPC "*+(?<=\\.pub)(?!" WORDC ")|"
	    "(?:config|known_hosts(?:\\.old)?|authorized_keys2?|environment|"
	    "rc)(?!" WORDC "))" COMPC "|"
	    "(?<![\\w-])ssh_host_" WORDC "*+(?<!\\.pub)") },
	{ "tls-private-key", READERS THEN("(?<![^\\s'\"])(?:[^\\s;&|'\"=<]*+"
	    "[=<]++)?(?!" WORDC "*?(?:cert|chain|\\.pub|/ca[.-]))" WORDC
	    "*?\\.(?:pem|key|p12|pfx|ppk|jks|keystore|p8)(?!" WORDC ")|"
	    "/etc/ssl/private/") },
	/* A PEM private key (OpenSSH, PKCS#1/#8, encrypted, PGP). */
	{ "private-key-pem", "-----BEGIN (?:[A-Z0-9]++ )*PRIVATE KEY" },
	/* Password hashes, whatever the command. */
	{ "shadow-file", "/etc/g?shadow(?!\\w)|" W0 "getent" W1
	    "(?:\\s++-\\S++)*+\\s++g?shadow\\b|" W0 "unshadow" W1 },
	{ "aws-configure-set", W0 "aws" W1 THEN("\\sconfigure\\s++set\\b"
	    THEN("\\baws_(?:secret_access_key|session_token|security_token)"
	    "\\b")) },
	/* az login -p (a secret or a certificate: both stay out). */
	{ "az-login-password", W0 "az" W1 "\\s++login" W1
	    THEN("\\s(?:-p|--password|--federated-token)(?:=|\\s++)(?!-)\\S") },
	{ "doctl-token", W0 "doctl" W1
	    THEN("\\s(?:-t|--access-token)(?:=|\\s++)(?!-)\\S") },
	/*
	 * vault login TOKEN, or token=/password= pairs; vault login alone
	 * or with -method=... and a username prompts.
	 */
	{ "vault-login-token", W0 "vault" W1 "\\s++login" W1
	    "(?:(?:\\s++-\\S++)*+\\s++(?!-)[^\\s=;&|]++(?![^\\s;&|])|"
	    THEN("\\s(?i:token|password|passcode|secret_id)=(?!\\s|$)") ")" },
	/* Values written to Vault's key-value store are secrets. */
	{ "vault-kv-put", W0 "vault" W1 "\\s++kv\\s++(?:put|patch)" W1
	    THEN("\\s[\\w.-]++=(?![@-]|\\s|$)") },
	{ "op-secret-key", W0 "op" W1 "\\s++(?:signin|account\\s++add)" W1
	    THEN("\\s--secret-key(?:=|\\s++)(?!-)\\S") },
	/* get/describe/create/edit secret: the secret's data is shown. */
	{ "kubectl-secret", W0 "(?:kubectl|oc|kubecolor)" W1
	    THEN("[\\s,](?:secrets?|sealedsecrets?)(?:/|(?![\\w.-]))") },
	{ "kubectl-set-credentials", W0 "(?:kubectl|oc)" W1
	    THEN("\\sset-credentials\\b" THEN("\\s--(?:token|password|"
	    "client-key-data|auth-provider-arg)(?:=|\\s++)(?!-)\\S")) },
	/* Any use: view and decrypt print secrets, encrypt_string takes one. */
	{ "ansible-vault", W0 "ansible-vault" W1 },
	{ "ansible-password-var", "(?i)\\bansible_(?:ssh_|become_|sudo_|su_|"
	    "winrm_|httpapi_|net_)?pass(?:word)?\\s*+[=:]\\s*+"
	    "(?!['\"]?\\{\\{)[^\\s'\"]" },
	/* Tokens and keys recognisable by their shape, wherever they are. */
	{ "github-token", "\\b(?:gh[pousr]_[A-Za-z0-9]{36,}|"
	    "github_pat_[A-Za-z0-9_]{22,})" },
	{ "gitlab-token", "\\bglpat-[A-Za-z0-9_-]{20,}" },
	{ "aws-access-key-id", "\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b" },
	{ "slack-token", "\\bxox[abposr]-[A-Za-z0-9-]{10,}|"
	    "hooks\\.slack\\.com/services/T[A-Za-z0-9_]++/B" },
	{ "google-api-key", "\\bAIza[0-9A-Za-z_-]{35}" },
	{ "stripe-key", "\\b[rs]k_live_[0-9A-Za-z]{16,}" },
	{ "npm-token", "\\bnpm_[A-Za-z0-9]{36}\\b" },
	{ "1password-secret-key", "\\bA3-[A-Z0-9]{6}-[A-Z0-9]{5,6}-"
	    "[A-Z0-9]{5}" },
	/* Header and payload of a JSON Web Token: "eyJ" is base64url "{\"". */
	{ "jwt", "\\beyJ[A-Za-z0-9_-]{10,}+\\.eyJ[A-Za-z0-9_-]{10,}+\\." },
	/*
	 * sshgate's own one-time web token (lib/token.h: "sgw_", then 12 +
	 * 43 base64url characters), pasted at a shell or after `ssh gate`
	 * by mistake: blocked like the tokens above, so neither history nor
	 * the "refused command" line in syslog keeps it. No word boundary
	 * on either side: a token glued to other text still holds its
	 * secret. Kept in step with TOKEN_LEN by test-policy.
	 */
	{ "sshgate-web-token", "sgw_[A-Za-z0-9_-]{55}" },
};

/*
 * Only in strict mode: commands whose text is worth keeping and unlikely
 * to hold a secret. An allow pattern must match the whole command (they
 * are compiled anchored at both ends), and the built-in ones take no
 * shell metacharacters, so "ls; echo pw | ..." is not let through by ls.
 */
#define SUDO	"(?:sudo\\s++)?"
#define ARGS	"(?:\\s++[^;&|`$<>(){}\\\\\\n\\r]*+)?"
static const struct builtin builtin_allow[] = {
	{ "files", SUDO "(?:ls|ll|cd|pwd|tree|stat|file|wc|du|df|realpath|"
	    "readlink|basename|dirname)" ARGS },
	{ "read-file", SUDO "(?:cat|less|more|head|tail|view|vim?|nvim|nano|"
	    "bat|batcat)" ARGS },
	{ "search", SUDO "(?:grep|egrep|fgrep|rg|find|locate|which|whereis|"
	    "type)" ARGS },
	{ "system-info", SUDO "(?:free|uptime|ps|top|htop|w|who|whoami|id|"
	    "uname|hostname|date|lsblk|lscpu|lsof|vmstat|iostat|nproc|dmesg|"
	    "last)" ARGS },
	{ "systemctl", SUDO "systemctl(?:\\s++--?[\\w-]++)*+\\s++(?:status|"
	    "restart|reload|start|stop|is-active|is-enabled|is-failed|"
	    "list-units|list-timers|daemon-reload|cat|show)" ARGS },
	{ "journalctl", SUDO "journalctl" ARGS },
	{ "network", SUDO "(?:ip|ss|ping|ping6|dig|host|nslookup|traceroute|"
	    "tracepath|mtr|netstat|arp)" ARGS },
	{ "git-read", "git\\s++(?:status|log|diff|pull|show|branch|fetch|"
	    "remote)" ARGS },
	{ "container-read", SUDO "(?:docker|podman)\\s++(?:ps|logs|images|"
	    "stats|top|version|info)" ARGS },
	{ "kubectl-read", "(?:kubectl|oc)\\s++(?:(?:-n|--namespace|"
	    "--context)[=\\s]\\S++\\s++)*+(?:get|describe|logs|top|version|"
	    "explain|api-resources)" ARGS },
	{ "session", "(?:exit|logout|clear|reset|history)" ARGS },
};

/*
 * Applied, in order, to all that is stored: the match becomes group 1
 * followed by "***". They are the safety net under the block rules, and
 * the only protection for secrets no block rule foresaw.
 */
#define OPT	"(?i)((?<![\\w-])--?(?:[\\w-]*-)?"
#define OPTEND	"(?:=|\\s++(?!-)))" VALUE
#define SECRET_KEYS "(?:password|passwd|passphrase|secret|token|api_?key|" \
		"apikey|access_?key|secret_?key|private_?key|client_?secret|" \
		"auth_?token)"
static const struct builtin builtin_mask[] = {
	/* --password=x, --db-password x, -pass pass:x (not --password-file) */
	{ "password-option", OPT "(?:password|passwd|passphrase|pass|pwd)"
	    OPTEND },
	{ "token-option", OPT "(?:token|bearer)" OPTEND },
	{ "secret-option", OPT "secret" OPTEND },
	{ "key-option", OPT "(?:api-?key|apikey|access-key|secret-key|"
	    "account-key)" OPTEND },
	/* Authorization: Bearer x becomes Authorization: Bearer ***. */
	{ "authorization-header", "(?i)(\\b(?:proxy-)?authorization\\s*+:"
	    "\\s*+(?:(?:bearer|basic|digest|token|bot|negotiate|ntlm|sso-key|"
	    "apikey|key|aws4-hmac-sha256)\\s++)?)[^\"'\\n]++" },
	{ "secret-header", "(?i)(\\b(?:x-api-key|api-key|apikey|x-auth-token|"
	    "x-access-token|private-token|x-vault-token|x-goog-api-key|"
	    "x-amz-security-token|x-csrf-token|x-xsrf-token|set-cookie|cookie|"
	    "x-api-secret|x-client-secret)\\s*+:\\s*+)[^\"'\\n]++" },
	{ "bearer-token", "(?i)(\\bbearer\\s++)[A-Za-z0-9._~+/=-]{8,}+" },
	/* https://user:pw@host becomes https://user:***@host. */
	{ "url-userinfo", "(?i)((?<![\\w+.-])[a-z][a-z0-9+.-]*+://"
	    "[^\\s/?#@:'\"]*+:)"
	    "[^\\s/?#@'\"]++(?=@)" },
	{ "url-query-secret", "(?i)([?&;][\\w.-]*?(?:access_token|"
	    "refresh_token|id_token|token|api_?key|apikey|key|secret|password|"
	    "passwd|pwd|signature|sig|auth|session|sessionid|sid|code)=)"
	    "[^&#\\s'\"]++" },
	{ "json-secret", "(?i)(\"[\\w.-]*?" SECRET_KEYS "\"\\s*+:\\s*+\")"
	    "(?:[^\"\\\\]++|\\\\.)++" },
	/*
	 * password=x, DB_PASSWORD=x, secret=x, api_key=x ... anywhere but
	 * after ? or & (url-query-secret has masked those already).
	 */
	{ "kv-secret", "(?i)((?<![\\w.?&-])[\\w.-]*?" SECRET_KEYS "=)"
	    VALUE },
};

static const struct {
	const struct builtin *rules;
	size_t n;
	const char *name;
} builtins[POLICY_NSECTIONS] = {
	[POLICY_BLOCK] = { builtin_block,
	    sizeof(builtin_block) / sizeof(*builtin_block), "block" },
	[POLICY_ALLOW] = { builtin_allow,
	    sizeof(builtin_allow) / sizeof(*builtin_allow), "allow" },
	[POLICY_MASK] = { builtin_mask,
	    sizeof(builtin_mask) / sizeof(*builtin_mask), "mask" },
};

struct rule {
	pcre2_code *re;
	char name[NAME_MAX_LEN + 1];
	int line;		/* in the policy file; 0: built-in */
	uint32_t groups;	/* capture groups; a mask keeps group 1 */
};

struct policy {
	enum policy_mode mode;
	struct rule *rules[POLICY_NSECTIONS];
	size_t n[POLICY_NSECTIONS], cap[POLICY_NSECTIONS];
	char origin[128];		/* the file's name, escaped */
	pcre2_compile_context *cctx;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	pcre2_match_data *md;		/* one, sized for every pattern */
	char *scratch;			/* masking output, then copied back */
};

#define SCRATCH_SIZE	(POLICY_MAX_CMD * 2 + 1)

/* Text for people: a long file name may cut it short, never overflow it. */
static void say(char *, size_t, const char *, ...)
	__attribute__((format(printf, 3, 4)));
static void
say(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void
policy_free(struct policy *p)
{
	size_t s, i;

	if (p == NULL)
		return;
	for (s = 0; s < POLICY_NSECTIONS; s++) {
		for (i = 0; i < p->n[s]; i++)
			pcre2_code_free(p->rules[s][i].re);
		free(p->rules[s]);
	}
	pcre2_match_data_free(p->md);
	pcre2_jit_stack_free(p->jstack);
	pcre2_match_context_free(p->mctx);
	pcre2_compile_context_free(p->cctx);
	free(p->scratch);
	free(p);
}

static struct policy *
policy_alloc(enum policy_mode mode)
{
	struct policy *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	p->mode = mode;
	if ((p->scratch = malloc(SCRATCH_SIZE)) == NULL ||
	    (p->cctx = pcre2_compile_context_create(NULL)) == NULL ||
	    (p->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto nomem;
	/* Bounds compile time; file patterns are at most 199 bytes anyway. */
	pcre2_set_max_pattern_length(p->cctx, 2048);
	pcre2_set_match_limit(p->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(p->mctx, HEAP_LIMIT_KIB);
	/*
	 * JIT code runs on its own stack; the default 32 KiB on the machine
	 * stack can run out on a long command and fail it closed for no
	 * good reason. Without JIT support this is NULL and unused.
	 */
	p->jstack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (p->jstack)
		pcre2_jit_stack_assign(p->mctx, NULL, p->jstack);
	return p;
nomem:
	err_set(ERR_SYS, "out of memory");
	policy_free(p);
	return NULL;
}

/* The rule named name in section s, or NULL. */
static const struct rule *
find_rule(const struct policy *p, int s, const char *name)
{
	size_t i;

	for (i = 0; i < p->n[s]; i++)
		if (strcmp(p->rules[s][i].name, name) == 0)
			return &p->rules[s][i];
	return NULL;
}

/*
 * Compile pattern as rule name of section s. Returns 0, or -1 with one
 * line in why (no file or line: the caller adds them).
 */
static int
add_rule(struct policy *p, int s, const char *name, const char *pattern,
    int line, char *why, size_t wl)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	const struct rule *dup;
	struct rule *r;
	uint32_t opts = PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C;
	uint32_t minlen;		/* PCRE2_INFO_MINLENGTH is a uint32_t */
	int rc;

	if ((dup = find_rule(p, s, name)) != NULL) {
		if (dup->line)
			say(why, wl, "rule '%s' is already defined in "
			    "[%s] at line %d", name, builtins[s].name,
			    dup->line);
		else
			say(why, wl, "rule '%s' is already defined in "
			    "[%s] (built-in)", name, builtins[s].name);
		return -1;
	}
	if (p->n[s] == p->cap[s]) {
		size_t cap = p->cap[s] ? p->cap[s] * 2 : 64;
		struct rule *nr = realloc(p->rules[s], cap * sizeof(*nr));

		if (nr == NULL) {
			say(why, wl, "out of memory");
			return -1;
		}
		p->rules[s] = nr;
		p->cap[s] = cap;
	}
	r = &p->rules[s][p->n[s]];
	memset(r, 0, sizeof(*r));
	/* An allow rule vouches for the whole command, not a part of it. */
	if (s == POLICY_ALLOW)
		opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
	r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts,
	    &rc, &off, p->cctx);
	if (r->re == NULL) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			say((char *)msg, sizeof(msg), "error %d", rc);
		say(why, wl, "rule '%s': pattern error at offset %zu: %s",
		    name, (size_t)off, (char *)msg);
		return -1;
	}
	/*
	 * A mask that can match empty text would put *** between every two
	 * characters: refuse it rather than store noise or fail each check.
	 */
	if (s == POLICY_MASK &&
	    pcre2_pattern_info(r->re, PCRE2_INFO_MINLENGTH, &minlen) == 0 &&
	    minlen == 0) {
		say(why, wl, "rule '%s': a mask pattern must not match "
		    "empty text", name);
		pcre2_code_free(r->re);
		return -1;
	}
	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &r->groups);
	/* No JIT here (or no memory for it): the interpreter does the same. */
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	strcpy(r->name, name);
	r->line = line;
	p->n[s]++;
	return 0;
}

/* One match data block holds the groups of the pattern with the most. */
static int
finish(struct policy *p)
{
	uint32_t most = 0;
	size_t s, i;

	for (s = 0; s < POLICY_NSECTIONS; s++)
		for (i = 0; i < p->n[s]; i++)
			if (p->rules[s][i].groups > most)
				most = p->rules[s][i].groups;
	if ((p->md = pcre2_match_data_create(most + 1, NULL)) == NULL)
		return err_set(ERR_SYS, "out of memory");
	return 0;
}

static struct policy *
with_builtins(enum policy_mode mode)
{
	struct policy *p;
	char why[256];
	size_t s, i;

	if ((p = policy_alloc(mode)) == NULL)
		return NULL;
	for (s = 0; s < POLICY_NSECTIONS; s++)
		for (i = 0; i < builtins[s].n; i++)
			if (add_rule(p, (int)s, builtins[s].rules[i].name,
			    builtins[s].rules[i].pattern, 0, why,
			    sizeof(why)) == -1) {
				err_set(ERR_SYS, "built-in [%s] %s",
				    builtins[s].name, why);
				policy_free(p);
				return NULL;
			}
	return p;
}

struct policy *
policy_new(enum policy_mode mode)
{
	struct policy *p;

	if ((p = with_builtins(mode)) == NULL)
		return NULL;
	strcpy(p->origin, "built-in");
	if (finish(p) == -1) {
		policy_free(p);
		return NULL;
	}
	return p;
}

/*
 * What the prescan learnt for the handler: inih (r55, built without
 * INI_HANDLER_LINENO) does not pass line numbers, so the line of the Nth
 * "name = pattern" is kept here and the handler counts its calls. That
 * holds because the prescan refuses every line inih would treat in
 * another way (continuations, cut lines, inline comments).
 */
struct parse {
	struct policy *p;
	const char *name;		/* the file's name, escaped */
	int lines[POLICY_NSECTIONS * POLICY_MAX_RULES];
	int nkeys, calls;
	int failed, failed_line;
	char why[256];
};

static int
section_index(const char *s, size_t n)
{
	int i;

	for (i = 0; i < POLICY_NSECTIONS; i++)
		if (strlen(builtins[i].name) == n &&
		    memcmp(builtins[i].name, s, n) == 0)
			return i;
	return -1;
}

/* inih's isspace(): the characters it strips and that start a comment. */
static int
ini_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

static int
prescan(struct parse *ps, const char *text)
{
	const char *line = text, *start, *end, *p, *q;
	char esc[64];
	size_t len;
	int lineno = 1, sect = -1, count[POLICY_NSECTIONS] = { 0 };

	for (; *line; lineno++) {
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (len > INI_LINE_MAX)
			return err_set(ERR_USAGE, "%s:%d: line longer than %d "
			    "bytes (inih would cut it)", ps->name, lineno,
			    INI_LINE_MAX);
		end = line + len;
		start = line;
		/* inih skips a UTF-8 byte order mark (but counts its bytes). */
		if (lineno == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf",
		    3) == 0)
			start += 3;
		for (p = start; p < end && ini_space(*p); p++)
			;
		if (p == end || *p == ';' || *p == '#')
			goto next;	/* blank or comment */
		if (p != start)
			return err_set(ERR_USAGE, "%s:%d: only comments may be "
			    "indented (inih joins an indented line to the "
			    "value above)", ps->name, lineno);
		if (*p == '[') {
			q = memchr(p, ']', (size_t)(end - p));
			if (q == NULL)
				return err_set(ERR_USAGE, "%s:%d: section header "
				    "without ']'", ps->name, lineno);
			if ((sect = section_index(p + 1,
			    (size_t)(q - p - 1))) == -1) {
				text_escape(esc, sizeof(esc), p + 1,
				    (size_t)(q - p - 1));
				return err_set(ERR_USAGE, "%s:%d: unknown section "
				    "[%s] (want [block], [allow] or [mask])",
				    ps->name, lineno, esc);
			}
			for (q++; q < end && ini_space(*q); q++)
				;
			if (q < end && *q != ';' && *q != '#')
				return err_set(ERR_USAGE, "%s:%d: text after "
				    "the section header", ps->name, lineno);
			goto next;
		}
		for (q = p + 1; q < end; q++)
			if (*q == ';' && ini_space(q[-1]))
				return err_set(ERR_USAGE, "%s:%d: inline ';' "
				    "comments would cut the pattern: write "
				    "\\x3b for ';' after a space", ps->name,
				    lineno);
		/* inih splits at the first '=' or ':'; only '=' is ours. */
		for (q = p; q < end && *q != '=' && *q != ':'; q++)
			;
		if (q == end || *q != '=')
			return err_set(ERR_USAGE, "%s:%d: expected 'name = "
			    "pattern'", ps->name, lineno);
		if (sect == -1)
			return err_set(ERR_USAGE, "%s:%d: rule outside a "
			    "section ([block], [allow] or [mask])", ps->name,
			    lineno);
		if (++count[sect] > POLICY_MAX_RULES)
			return err_set(ERR_USAGE, "%s:%d: more than %d rules "
			    "in [%s]", ps->name, lineno, POLICY_MAX_RULES,
			    builtins[sect].name);
		ps->lines[ps->nkeys++] = lineno;
next:
		if (*end == '\0')
			break;
		line = end + 1;
	}
	return 0;
}

/* A rule name: [a-z0-9][a-z0-9._-]*, at most 63 bytes. */
static int
name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && strchr("._-", s[i]))))
			return 0;
	return i > 0 && i <= NAME_MAX_LEN;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	char esc[80];
	int s, line;

	if (ps->failed)
		return 1;	/* keep only the first error */
	line = ps->calls < ps->nkeys ? ps->lines[ps->calls] : 0;
	ps->calls++;
	ps->failed_line = line;
	s = section_index(section, strlen(section));
	if (s == -1 || line == 0) {
		/* The prescan and inih disagree: never guess. */
		say(ps->why, sizeof(ps->why), "line not understood");
		goto fail;
	}
	if (!name_ok(name)) {
		text_escape(esc, sizeof(esc), name, strlen(name));
		say(ps->why, sizeof(ps->why), "bad rule name '%s' (want "
		    "[a-z0-9][a-z0-9._-]*, at most %d bytes)", esc,
		    NAME_MAX_LEN);
		goto fail;
	}
	if (value[0] == '\0') {
		say(ps->why, sizeof(ps->why), "rule '%s': empty pattern",
		    name);
		goto fail;
	}
	if (add_rule(ps->p, s, name, value, line, ps->why,
	    sizeof(ps->why)) == -1)
		goto fail;
	return 1;
fail:
	ps->failed = 1;
	return 0;
}

struct policy *
policy_parse(enum policy_mode mode, const char *name, const char *text)
{
	struct policy *p = NULL;
	struct parse *ps;
	int rc;

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		return NULL;
	}
	if ((p = with_builtins(mode)) == NULL)
		goto fail;
	text_escape(p->origin, sizeof(p->origin), name, strlen(name));
	ps->p = p;
	ps->name = p->origin;
	if (prescan(ps, text) == -1)
		goto fail;
	if ((rc = ini_parse_string(text, handler, ps)) != 0) {
		if (ps->failed)
			err_set(ERR_USAGE, "%s:%d: %s", ps->name,
			    ps->failed_line, ps->why);
		else
			err_set(ERR_USAGE, "%s:%d: syntax error (expected "
			    "'name = pattern' or '[section]')", ps->name, rc);
		goto fail;
	}
	if (ps->calls != ps->nkeys) {
		err_set(ERR_USAGE, "%s: %d rules read, %d expected", ps->name,
		    ps->calls, ps->nkeys);
		goto fail;
	}
	if (finish(p) == -1)
		goto fail;
	free(ps);
	return p;
fail:
	free(ps);
	policy_free(p);
	return NULL;
}

struct policy *
policy_load(enum policy_mode mode, const char *path)
{
	struct policy *p;
	char shown[128], *text;

	text_escape(shown, sizeof(shown), path, strlen(path));
	/* Checked like gate.ini: it decides what is kept. */
	if ((text = fsutil_read_trusted(path, "policy", POLICY_MAX_FILE)) ==
	    NULL)
		return NULL;
	p = policy_parse(mode, path, text);
	free(text);
	return p;
}

static const char *
origin(const struct policy *p, const struct rule *r, char *buf, size_t len)
{
	if (r->line == 0)
		return "built-in";
	say(buf, len, "%s:%d", p->origin, r->line);
	return buf;
}

/* A PCRE2 failure, as one line naming the rule. Returns -1. */
static int
match_error(const struct policy *p, const struct rule *r, int rc)
{
	PCRE2_UCHAR msg[120];
	char where[160];

	if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
		say((char *)msg, sizeof(msg), "error %d", rc);
	return err_set(ERR_SYS, "rule '%s' (%s): %s", r->name,
	    origin(p, r, where, sizeof(where)), (char *)msg);
}

/* Returns 1 when r matches s[0..n), 0 when not, -1 (err set) on failure. */
static int
matches(const struct policy *p, const struct rule *r, const char *s,
    size_t n)
{
	int rc;

	rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, 0, 0, p->md, p->mctx);
	if (rc >= 0)
		return 1;	/* 0 only says the ovector was short */
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return match_error(p, r, rc);
}

/* Adds name to the comma-separated list, ending it in "..." when full. */
static void
list_add(char *list, size_t size, const char *name)
{
	size_t used = strlen(list), need = strlen(name) + (used ? 1 : 0);

	if (used >= 3 && strcmp(list + used - 3, "...") == 0)
		return;
	if (used + need + 4 > size) {
		say(list + used, size - used, "%s...", used ? "," : "");
		return;
	}
	say(list + used, size - used, "%s%s", used ? "," : "", name);
}

/* Apply every mask rule to v->masked. Returns 0, or -1 with err set. */
static int
mask(const struct policy *p, struct policy_verdict *v, size_t len)
{
	const struct rule *r;
	PCRE2_SIZE outlen;
	size_t i;
	int rc;

	for (i = 0; i < p->n[POLICY_MASK]; i++) {
		r = &p->rules[POLICY_MASK][i];
		outlen = SCRATCH_SIZE;
		rc = pcre2_substitute(r->re, (PCRE2_SPTR)v->masked, len, 0,
		    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_UNSET_EMPTY,
		    p->md, p->mctx,
		    (PCRE2_SPTR)(r->groups > 0 ? "${1}***" : "***"),
		    PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)p->scratch, &outlen);
		if (rc == PCRE2_ERROR_NOMEMORY) {
			char where[160];

			return err_set(ERR_SYS, "rule '%s' (%s): masked text "
			    "longer than %d bytes", r->name,
			    origin(p, r, where, sizeof(where)),
			    SCRATCH_SIZE - 1);
		}
		if (rc < 0)
			return match_error(p, r, rc);
		/* A rule that rewrote *** into *** changed nothing. */
		if (rc == 0 || (outlen == len &&
		    memcmp(p->scratch, v->masked, len) == 0))
			continue;
		memcpy(v->masked, p->scratch, outlen);
		v->masked[outlen] = '\0';
		len = outlen;
		v->nmasks++;
		list_add(v->masks, sizeof(v->masks), r->name);
	}
	return 0;
}

static int check(const struct policy *, const char *, size_t,
    struct policy_verdict *, int);

int
policy_check(const struct policy *p, const char *cmd, size_t len,
    struct policy_verdict *v)
{
	return check(p, cmd, len, v, 0);
}

int
policy_check_strict(const struct policy *p, const char *cmd, size_t len,
    struct policy_verdict *v)
{
	return check(p, cmd, len, v, 1);
}

static int
check(const struct policy *p, const char *cmd, size_t len,
    struct policy_verdict *v, int strict)
{
	const struct rule *r;
	char where[160];
	size_t i;

	/* Blocked until proven otherwise: every early return fails closed. */
	v->blocked = 1;
	v->rule[0] = '\0';
	v->masked[0] = '\0';
	v->nmasks = 0;
	v->masks[0] = '\0';
	say(v->reason, sizeof(v->reason), "not decided");
	if (p == NULL) {
		err_set(ERR_SYS, "no policy loaded");
		goto fail;
	}
	if (len > POLICY_MAX_CMD) {
		err_set(ERR_USAGE, "command longer than %d bytes",
		    POLICY_MAX_CMD);
		goto fail;
	}
	if (memchr(cmd, '\0', len)) {
		err_set(ERR_USAGE, "command holds a NUL byte");
		goto fail;
	}
	if (!text_utf8_valid(cmd, len)) {
		err_set(ERR_USAGE, "command is not valid UTF-8");
		goto fail;
	}
	for (i = 0; i < p->n[POLICY_BLOCK]; i++) {
		r = &p->rules[POLICY_BLOCK][i];
		switch (matches(p, r, cmd, len)) {
		case -1:
			goto fail;
		case 1:
			strcpy(v->rule, r->name);
			say(v->reason, sizeof(v->reason), "matches block "
			    "rule '%s' (%s)", r->name,
			    origin(p, r, where, sizeof(where)));
			return 0;
		}
	}
	if (strict || p->mode != POLICY_PERMISSIVE) {	/* or not a mode */
		for (i = 0; i < p->n[POLICY_ALLOW]; i++) {
			r = &p->rules[POLICY_ALLOW][i];
			switch (matches(p, r, cmd, len)) {
			case -1:
				goto fail;
			case 1:
				strcpy(v->rule, r->name);
				say(v->reason, sizeof(v->reason), "matches "
				    "allow rule '%s' (%s)", r->name,
				    origin(p, r, where, sizeof(where)));
				goto allowed;
			}
		}
		say(v->reason, sizeof(v->reason), "not in the allowlist "
		    "(%s)", strict && p->mode == POLICY_PERMISSIVE ? "a line "
		    "the gate could not rebuild with certainty" : "strict mode");
		return 0;
	}
	say(v->reason, sizeof(v->reason), "matches no block rule "
	    "(permissive mode)");
allowed:
	memcpy(v->masked, cmd, len);
	v->masked[len] = '\0';
	if (mask(p, v, len) == -1)
		goto fail;
	v->blocked = 0;
	return 0;
fail:
	v->rule[0] = '\0';
	v->masked[0] = '\0';
	v->nmasks = 0;
	v->masks[0] = '\0';
	say(v->reason, sizeof(v->reason), "not decided, stored as "
	    "blocked: %s", err_msg());
	return -1;
}

int
policy_jit(const struct policy *p)
{
	size_t s, i, size;

	if (p == NULL)
		return 0;
	for (s = 0; s < POLICY_NSECTIONS; s++)
		for (i = 0; i < p->n[s]; i++)
			if (pcre2_pattern_info(p->rules[s][i].re,
			    PCRE2_INFO_JITSIZE, &size) != 0 || size == 0)
				return 0;
	return 1;
}

size_t
policy_count(const struct policy *p, enum policy_section section)
{
	if (p == NULL || section < 0 || section >= POLICY_NSECTIONS)
		return 0;
	return p->n[section];
}

enum policy_mode
policy_mode(const struct policy *p)
{
	return p ? p->mode : POLICY_STRICT;
}
