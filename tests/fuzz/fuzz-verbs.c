/*
 * libFuzzer target: the verb parser behind SSH_ORIGINAL_COMMAND (the
 * tokenizer, the verb table with each verb's flag whitelist and word
 * count, the [LOGIN@]HOST split and session ids), as gate-shell runs it
 * before any verb touches the database. Whatever the bytes: a refusal is
 * one printable line; an accepted call has the verb's number of words,
 * none of them option-like, only options the verb lists, and a target
 * or id that can only be a plain name or a decimal number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gate-shell.h"
#include "name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_plain(const char *s, int may_be_empty)
{
	if (!may_be_empty && s[0] == '\0')
		abort();
	if (s[0] == '-' || s[0] == '.')
		abort();
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.-", *s))
			abort();
}

/* Is name one of the verb's options ("a,b:,c")? */
static int
listed(const char *opts, const char *name)
{
	size_t n = strlen(name);
	const char *p = opts;

	while (p && *p) {
		size_t k = strcspn(p, ",");
		size_t base = k > 0 && p[k - 1] == ':' ? k - 1 : k;

		if (base == n && strncmp(p, name, n) == 0)
			return 1;
		p += k;
		if (*p == ',')
			p++;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct verb *v;
	struct argv a;
	struct call c;
	char login[LOGIN_MAX_LEN + 1], host[NAME_MAX_LEN + 1];
	const char *p;
	long long id;
	int i;

	v = cmd_parse((const char *)data, size, &a, &c);
	if (v == NULL) {
		for (p = err_msg(); *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		argv_free(&a);
		return 0;
	}
	if (c.argc < v->min || c.argc > v->max || c.argv[c.argc] != NULL)
		abort();
	for (i = 0; i < c.argc; i++)
		if (c.argv[i][0] == '-')
			abort();
	for (i = 0; i < c.nopt; i++)
		if (!listed(v->opts, c.opt[i].name) || c.opt[i].value == NULL)
			abort();
	if ((c.json && !(v->flags & VF_JSON)) || (c.all && !(v->flags & VF_ALL)))
		abort();
	if (c.dashdash && (!(v->flags & VF_REST) || c.rest[c.nrest] != NULL))
		abort();
	if (strcmp(v->name, "connect") == 0 || strcmp(v->name, "web-token") == 0) {
		if (cmd_parse_target(c.argv[0], login, sizeof(login), host,
		    sizeof(host)) == 0) {
			check_plain(login, 1);
			check_plain(host, 0);
		}
	} else if (c.argc > 0 && (strcmp(v->name, "kill") == 0 ||
	    strcmp(v->name, "replay") == 0 || strcmp(v->name, "attach") == 0 ||
	    strcmp(v->name, "share") == 0 || strcmp(v->name, "unshare") == 0)) {
		if (name_parse_uint("session id", c.argv[0], 1, 9999999999LL,
		    &id) == 0 && (id < 1 || c.argv[0][0] == '0' ||
		    strspn(c.argv[0], "0123456789") != strlen(c.argv[0])))
			abort();
	}
	argv_free(&a);
	return 0;
}
