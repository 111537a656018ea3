/*
 * egress: building the ssh client's argv. Options are given with -o so
 * the set reads as one list; later -o words cannot undo earlier ones
 * because nothing after them comes from the user but the destination
 * (after "--") and the quoted command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "egress.h"
#include "err.h"
#include "name.h"

/* Fixed options. ssh takes the first value it sees for each one. */
static const char *const fixed[] = {
	"BatchMode=yes",
	"EscapeChar=none",
	"EnableEscapeCommandline=no",
	"ClearAllForwardings=yes",
	"ForwardAgent=no",
	"ForwardX11=no",
	"ForwardX11Trusted=no",
	"Tunnel=no",
	"GatewayPorts=no",
	"PermitLocalCommand=no",
	"LocalCommand=none",
	"ProxyCommand=none",
	"ProxyJump=none",
	"KnownHostsCommand=none",
	"ControlMaster=no",
	"ControlPath=none",
	"IdentityAgent=none",
	"IdentitiesOnly=yes",
	"PubkeyAuthentication=yes",
	"PasswordAuthentication=no",
	"KbdInteractiveAuthentication=no",
	"HostbasedAuthentication=no",
	"GSSAPIAuthentication=no",
	"StrictHostKeyChecking=yes",
	"GlobalKnownHostsFile=/dev/null",
	"UpdateHostKeys=no",
	"CheckHostIP=no",
	"VerifyHostKeyDNS=no",
	"HashKnownHosts=no",
	"CanonicalizeHostname=no",
	"ServerAliveInterval=15",
	"ServerAliveCountMax=4",
	"LogLevel=ERROR",
};

/* Store prefix followed by a (or by n when a is NULL); returns it. */
static char *
keep(struct egress *e, const char *prefix, const char *a, int n)
{
	char *p = e->strings + e->used;
	size_t left = sizeof(e->strings) - e->used;
	int w;

	w = a ? snprintf(p, left, "%s%s", prefix, a) :
	    snprintf(p, left, "%s%d", prefix, n);
	if (w < 0 || (size_t)w >= left) {
		err_set(ERR_SYS, "egress: option too long");
		return NULL;
	}
	e->used += (size_t)w + 1;
	return p;
}

int
egress_term_ok(const char *term)
{
	size_t n = strlen(term);

	if (n == 0 || n > 64)
		return 0;
	for (; *term; term++)
		if (!((*term >= 'a' && *term <= 'z') ||
		    (*term >= 'A' && *term <= 'Z') ||
		    (*term >= '0' && *term <= '9') || strchr("._+-", *term)))
			return 0;
	return 1;
}

/* A word a shell reads back as it is, unquoted. */
static int
plain_word(const char *w)
{
	if (*w == '\0')
		return 0;
	for (; *w; w++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_./:=@%+,-", *w))
			return 0;
	return 1;
}

char *
egress_quote(char *const words[], int nwords, int how)
{
	size_t need = 1, o = 0;
	const char *p;
	char *s;
	int w, q;

	for (w = 0; w < nwords; w++) {
		need += 3;
		for (p = words[w]; *p; p++)
			need += *p == '\'' ? 4 : 1;
	}
	if ((s = malloc(need)) == NULL) {
		err_set(ERR_SYS, "out of memory");
		return NULL;
	}
	for (w = 0; w < nwords; w++) {
		q = how == EGRESS_QUOTE_ALL || !plain_word(words[w]);
		if (w)
			s[o++] = ' ';
		if (q)
			s[o++] = '\'';
		for (p = words[w]; *p; p++) {
			if (*p == '\'') {
				/* close, an escaped quote, reopen */
				memcpy(s + o, "'\\''", 4);
				o += 4;
			} else {
				s[o++] = *p;
			}
		}
		if (q)
			s[o++] = '\'';
	}
	s[o] = '\0';
	return s;
}

int
egress_build(struct egress *e, const struct egress_target *t,
    char *const words[], int nwords, const char *term)
{
	size_t i;
	int n = 0;
	char *v;

	memset(e, 0, sizeof(*e));
	/* Second line of defence: the same checks the values passed going in. */
	if (name_check("host", t->host) == -1 ||
	    name_check_address(t->address) == -1 ||
	    name_check_login(t->login) == -1)
		return -1;
	/* ssh expands % and ~ in IdentityFile and UserKnownHostsFile. */
	if (t->port < 1 || t->port > 65535 || !config_path_plain(t->key) ||
	    !config_path_plain(t->known_hosts) || !config_path_plain(t->ssh))
		return err_set(ERR_SYS, "egress: a path or port fails its "
		    "check (paths may hold only [A-Za-z0-9/._+-])");

#define ARG(x) do { if ((x) == NULL) goto fail; e->argv[n++] = (x); } while (0)
	ARG((char *)t->ssh);
	ARG((char *)"-F");
	ARG((char *)"/dev/null");
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ARG((char *)"-o");
		ARG((char *)fixed[i]);
	}
	ARG((char *)"-o");
	ARG(keep(e, "IdentityFile=", t->key, 0));
	ARG((char *)"-o");
	ARG(keep(e, "UserKnownHostsFile=", t->known_hosts, 0));
	ARG((char *)"-o");
	ARG(keep(e, "HostKeyAlias=", t->host, 0));
	ARG((char *)"-o");
	ARG(keep(e, "ConnectTimeout=", NULL, t->connect_timeout));
	ARG((char *)"-o");
	ARG((char *)(t->tty ? "RequestTTY=force" : "RequestTTY=no"));
	ARG((char *)"-p");
	ARG(keep(e, "", NULL, t->port));
	ARG((char *)"-l");
	ARG((char *)t->login);
	ARG((char *)"--");
	ARG((char *)t->address);
	if (nwords > 0) {
		if ((e->command = egress_quote(words, nwords, EGRESS_QUOTE_ALL)) ==
		    NULL)
			goto fail;
		ARG(e->command);
	}
	e->argv[n] = NULL;
#undef ARG

	e->envp[0] = (char *)"PATH=/usr/bin:/bin";
	e->envp[1] = NULL;
	if (term && egress_term_ok(term)) {
		if ((v = keep(e, "TERM=", term, 0)) == NULL)
			goto fail;
		e->envp[1] = v;
		e->envp[2] = NULL;
	}
	return 0;
fail:
	egress_free(e);
	return -1;
}

void
egress_free(struct egress *e)
{
	if (e == NULL)
		return;
	free(e->command);
	e->command = NULL;
}
