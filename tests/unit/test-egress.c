/*
 * Unit tests for lib/egress: the argv of the egress ssh has the fixed
 * options, the login from -l, "--" directly before the destination and
 * the remote command as one quoted argument after it; bad values are
 * refused; quoting survives a real /bin/sh (decision 6, THREATS row 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress.h"
#include "test.h"

static int
argc_of(char *const *v)
{
	int n = 0;

	while (v[n])
		n++;
	return n;
}

static int
has(char *const *v, const char *opt)
{
	int i;

	for (i = 0; v[i]; i++)
		if (strcmp(v[i], "-o") == 0 && v[i + 1] &&
		    strcmp(v[i + 1], opt) == 0)
			return 1;
	return 0;
}

static void
through_sh_as(char *const words[], int n, const char *want, int how)
{
	char *q = egress_quote(words, n, how), cmd[4096], out[4096];
	FILE *f;
	size_t got;

	CHECK(q != NULL);
	snprintf(cmd, sizeof(cmd), "printf '<%%s>' %s", q);
	free(q);
	if ((f = popen(cmd, "r")) == NULL) {
		CHECK(0);
		return;
	}
	got = fread(out, 1, sizeof(out) - 1, f);
	out[got] = '\0';
	CHECK(pclose(f) == 0);
	CHECK_STR(out, want);
}

/* Run sh -c 'printf "<%s>" QUOTED' both ways and compare with want. */
static void
through_sh(char *const words[], int n, const char *want)
{
	int how;

	for (how = EGRESS_QUOTE_ALL; how <= EGRESS_QUOTE_MIN; how++)
		through_sh_as(words, n, want, how);
}

int
main(void)
{
	struct egress e;
	struct egress_target t = {
		.ssh = "/usr/bin/ssh", .key = "/var/lib/sshgate/egress_ed25519",
		.known_hosts = "/var/lib/sshgate/known_hosts", .host = "web1",
		.address = "10.0.0.5", .port = 2222, .login = "deploy",
		.connect_timeout = 7, .tty = 1 };
	char *words[] = { (char *)"-oProxyCommand=touch /tmp/p", (char *)"a;b",
	    (char *)"it's", (char *)"", (char *)"$HOME `id`", NULL };
	int n, i;

	CHECK(egress_build(&e, &t, words, 5, "xterm-256color") == 0);
	n = argc_of(e.argv);
	CHECK_STR(e.argv[0], "/usr/bin/ssh");
	CHECK_STR(e.argv[1], "-F");
	CHECK_STR(e.argv[2], "/dev/null");
	CHECK_STR(e.argv[n - 3], "--");
	CHECK_STR(e.argv[n - 2], "10.0.0.5");
	CHECK_STR(e.argv[n - 1], "'-oProxyCommand=touch /tmp/p' 'a;b' "
	    "'it'\\''s' '' '$HOME `id`'");
	for (i = 0; i < n - 3; i++)
		if (strcmp(e.argv[i], "-l") == 0)
			CHECK_STR(e.argv[i + 1], "deploy");
	CHECK(has(e.argv, "EscapeChar=none"));
	CHECK(has(e.argv, "ClearAllForwardings=yes"));
	CHECK(has(e.argv, "ForwardAgent=no"));
	CHECK(has(e.argv, "PermitLocalCommand=no"));
	CHECK(has(e.argv, "ProxyCommand=none"));
	CHECK(has(e.argv, "StrictHostKeyChecking=yes"));
	CHECK(has(e.argv, "IdentitiesOnly=yes"));
	CHECK(has(e.argv, "BatchMode=yes"));
	CHECK(has(e.argv, "HostKeyAlias=web1"));
	CHECK(has(e.argv, "RequestTTY=force"));
	CHECK(has(e.argv, "IdentityFile=/var/lib/sshgate/egress_ed25519"));
	CHECK(has(e.argv, "UserKnownHostsFile=/var/lib/sshgate/known_hosts"));
	CHECK_STR(e.envp[0], "PATH=/usr/bin:/bin");
	CHECK_STR(e.envp[1], "TERM=xterm-256color");
	CHECK(e.envp[2] == NULL);
	egress_free(&e);

	/* No command: the destination is last; a bad TERM is dropped. */
	t.tty = 0;
	CHECK(egress_build(&e, &t, NULL, 0, "xterm\",\"x\":\"\x1b") == 0);
	n = argc_of(e.argv);
	CHECK_STR(e.argv[n - 2], "--");
	CHECK_STR(e.argv[n - 1], "10.0.0.5");
	CHECK(has(e.argv, "RequestTTY=no"));
	CHECK(e.envp[1] == NULL);
	egress_free(&e);

	/* Values that fail their checks never make an argv. */
	t.address = "-oProxyCommand=x";
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);
	t.address = "10.0.0.5";
	t.login = "root\x01";
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);
	t.login = "deploy";
	t.host = "web1%h";
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);
	t.host = "web1";
	t.key = "/var/lib/%u/key";
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);
	t.key = "~/key";
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);
	t.key = "/k";
	t.port = 0;
	CHECK(egress_build(&e, &t, NULL, 0, NULL) == -1);

	CHECK(egress_term_ok("xterm-256color"));
	CHECK(egress_term_ok("screen.xterm+x"));
	CHECK(!egress_term_ok(""));
	CHECK(!egress_term_ok("xterm;id"));
	CHECK(!egress_term_ok("x y"));

	{
		char *pf[] = { "printf", "%s\\n", "a;b", "it's", "" };
		char *m = egress_quote(pf, 5, EGRESS_QUOTE_MIN);
		/* Only the words a shell would change are quoted. */
		CHECK_STR(m, "printf '%s\\n' 'a;b' 'it'\\''s' ''");
		free(m);
	}
	through_sh(words, 5, "<-oProxyCommand=touch /tmp/p><a;b><it's><>"
	    "<$HOME `id`>");
	{
		char *w2[] = { (char *)"'''", (char *)"\\", (char *)"\n\t", NULL };
		through_sh(w2, 3, "<'''><\\><\n\t>");
	}
	return TEST_DONE();
}
