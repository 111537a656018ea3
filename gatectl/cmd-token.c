/*
 * gatectl token: list and revoke one-time web tokens (`web-token`). A
 * listing shows each token's public selector and its binding, never a
 * secret (the database has only hashes of them anyway); revoking deletes
 * unused tokens, by selector or all of a user's, so a token read by
 * someone else can be killed before it is used. Used tokens stay: they
 * name the session they opened, until they are purged an hour after
 * their expiry.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gatectl.h"
#include "json.h"
#include "name.h"
#include "table.h"
#include "text.h"
#include "token.h"
#include "when.h"

#define USAGE "token list [--user USER] [--json] | token revoke SELECTOR | " \
	"token revoke --user USER"

static const char *
state_of(const struct web_token_row *t, time_t now)
{
	if (t->used)
		return "used";
	return t->expires <= now ? "expired" : "unused";
}

static void
print_json(const struct web_token_row *t, size_t n, time_t now)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", stdout);
		json_kv_str(stdout, 1, "selector", t[i].selector);
		json_kv_str(stdout, 0, "user", t[i].user);
		json_kv_int(stdout, 0, "key_id", t[i].key_id);
		json_kv_str(stdout, 0, "host", t[i].host);
		json_kv_str(stdout, 0, "login", t[i].login);
		json_kv_time(stdout, 0, "created", t[i].created);
		json_kv_time(stdout, 0, "expires", t[i].expires);
		json_kv_str(stdout, 0, "state", state_of(&t[i], now));
		json_kv_time(stdout, 0, "used", t[i].used);
		if (t[i].session_id)
			json_kv_int(stdout, 0, "session", t[i].session_id);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static int
print_table(const struct web_token_row *t, size_t n, time_t now)
{
	struct table *tb;
	char made[WHEN_ISO_LEN], exp[WHEN_ISO_LEN], key[24], sess[24];
	char target[NAME_MAX_LEN + LOGIN_MAX_LEN + 2];
	size_t i;
	int rc = 0;

	if ((tb = table_new((const char *[]){ "SELECTOR", "USER", "KEY",
	    "TARGET", "CREATED", "EXPIRES", "STATE", "SESSION", NULL })) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(key, sizeof(key), "%lld", t[i].key_id);
		snprintf(sess, sizeof(sess), "%lld", t[i].session_id);
		snprintf(target, sizeof(target), "%s@%s", t[i].login, t[i].host);
		rc = table_row(tb, (const char *[]){ t[i].selector, t[i].user,
		    key, target, when_iso(t[i].created, made),
		    when_iso(t[i].expires, exp), state_of(&t[i], now),
		    t[i].session_id ? sess : "-" });
	}
	if (rc == 0)
		table_print(tb, stdout);
	table_free(tb);
	return rc;
}

static int
list(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 } };
	struct web_token_row *t;
	const char *user = NULL;
	size_t n;
	int ch, json = 0, rc;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 'u' && user == NULL)
			user = optarg;
		else
			return usage_err(USAGE);
	}
	if (optind != argc)
		return usage_err(USAGE);
	if (user && name_check("user name", user) == -1)
		return -1;
	if (ctx_store(c) == NULL || store_token_list(c->st, user, &t, &n) == -1)
		return -1;
	rc = 0;
	if (json)
		print_json(t, n, when_now());
	else
		rc = print_table(t, n, when_now());
	free(t);
	return rc;
}

/*
 * A selector is the 12 characters after "sgw_". A whole token is
 * refused rather than cut down: it holds a secret that has no business
 * on an admin's command line (or in its shell history), and the error
 * does not repeat it.
 */
static int
selector_check(const char *s)
{
	char safe[24];
	size_t i, n = strlen(s);

	if (token_lookalike(s))
		return err_set(ERR_USAGE, "give the selector (the 12 characters "
		    "after %s), not the whole token", TOKEN_PREFIX);
	for (i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", s[i]))
			break;
	if (n != TOKEN_SELECTOR_LEN || i != n)
		return err_set(ERR_USAGE, "invalid selector '%s': 12 letters, "
		    "digits, - or _, as `gatectl token list` shows it",
		    text_escape(safe, sizeof(safe), s, n));
	return 0;
}

static int
revoke(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 } };
	const char *user = NULL, *sel = NULL;
	long long count = 0;
	int ch;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'u' && user == NULL)
			user = optarg;
		else
			return usage_err(USAGE);
	}
	/* One of the two, never both: "revoke" alone must not mean all. */
	if (argc - optind > 1 || (argc - optind == 1) == (user != NULL))
		return usage_err(USAGE);
	if (user == NULL) {
		sel = argv[optind];
		if (selector_check(sel) == -1)
			return -1;
	} else if (name_check("user name", user) == -1) {
		return -1;
	}
	if (ctx_store(c) == NULL ||
	    store_token_revoke(c->st, sel, user, &count) == -1)
		return -1;
	if (sel && count == 0)
		return err_set(ERR_USAGE, "no unused web token %s", sel);
	printf("revoked %lld unused web token%s (%s %s)\n", count,
	    count == 1 ? "" : "s", sel ? "selector" : "user", sel ? sel : user);
	return 0;
}

int
cmd_token(struct ctx *c, int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return list(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return revoke(c, argc - 1, argv + 1);
	return usage_err(USAGE);
}
