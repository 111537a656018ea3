/*
 * gatectl host: add, del, list, pin. Host names and addresses are checked
 * here so that nothing that looks like an ssh option is ever stored
 * (THREATS row 4). Host keys are pinned in the gate's known_hosts under
 * the host's name, from ssh-keyscan (--scan, trust on first use: compare
 * the fingerprints printed) or given by the admin (--hostkey).
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gatectl.h"
#include "hostkeys.h"
#include "json.h"
#include "name.h"
#include "table.h"

#include <unistd.h>

#define USAGE "host add NAME ADDRESS [--port N] [--login LOGIN] " \
	"[--egress-key PATH] [--scan | --hostkey 'TYPE BASE64']... | " \
	"host pin NAME (--scan | --hostkey 'TYPE BASE64'...) | host del NAME | " \
	"host list [--json]"

/* Pins gathered from --hostkey (up to HOSTKEYS_MAX_KEYS) or --scan. */
struct pins {
	struct pubkey keys[HOSTKEYS_MAX_KEYS];
	size_t n;
	int scan;
};

static int
pin_option(struct pins *p, int ch, const char *arg)
{
	if (ch == 's') {
		p->scan = 1;
		return 0;
	}
	if (p->n == HOSTKEYS_MAX_KEYS)
		return err_set(ERR_USAGE, "at most %d --hostkey options",
		    HOSTKEYS_MAX_KEYS);
	if (key_parse_line(arg, strlen(arg), &p->keys[p->n]) == -1)
		return err_set(ERR_USAGE, "--hostkey: %s", err_msg());
	p->n++;
	return 0;
}

/* Scan if asked, then write the pins; prints their fingerprints. */
static int
pin_apply(struct ctx *c, const char *name, const char *address, int port,
    struct pins *p)
{
	struct passwd *pw;
	struct pubkey *scanned = NULL;
	size_t n, i;
	int rc;

	if (p->scan) {
		if (hostkeys_scan(address, port, 5, &scanned, &n) == -1)
			return -1;
		memcpy(p->keys, scanned, n * sizeof(*scanned));
		p->n = n;
		free(scanned);
	}
	if ((pw = getpwnam(c->cfg->account)) == NULL)
		return err_set(ERR_SYS, "account '%s' does not exist",
		    c->cfg->account);
	rc = hostkeys_write(c->cfg->known_hosts, name, p->keys, p->n,
	    pw->pw_uid, pw->pw_gid);
	for (i = 0; rc == 0 && i < p->n; i++)
		printf("pinned %s host key %s %s%s\n", name, p->keys[i].type,
		    p->keys[i].fp, p->scan ? " (scanned: compare it with the "
		    "target's own ssh-keygen -lf)" : "");
	return rc;
}

static int
check_key_path(const char *path)
{
	if (!config_path_plain(path))
		return err_set(ERR_USAGE, "--egress-key must be an absolute path "
		    "of [A-Za-z0-9/._+-]");
	if (access(path, R_OK) == -1)
		return err_set(ERR_USAGE, "--egress-key %s: %s", path,
		    strerror(errno));
	return 0;
}

static int
add(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "login", required_argument, NULL, 'l' },
		{ "egress-key", required_argument, NULL, 'k' },
		{ "scan", no_argument, NULL, 's' },
		{ "hostkey", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	static struct pins pins;
	const char *login = "", *key = "";
	long long port = 22;
	int ch;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 's' || ch == 'h') {
			if (pin_option(&pins, ch, optarg) == -1)
				return -1;
		} else if (ch == 'k') {
			if (check_key_path(optarg) == -1)
				return -1;
			key = optarg;
		} else if (ch == 'p') {
			if (name_parse_uint("port", optarg, 1, 65535, &port) == -1)
				return -1;
		} else if (ch == 'l') {
			if (name_check_login(optarg) == -1)
				return -1;
			login = optarg;
		} else {
			return usage_err(USAGE);
		}
	}
	if (argc - optind != 2 || (pins.scan && pins.n))
		return usage_err(USAGE);
	if (name_check("host name", argv[optind]) == -1 ||
	    name_check_address(argv[optind + 1]) == -1 || ctx_store(c) == NULL)
		return -1;
	/* Host and pins together: the transaction also serialises writers. */
	if (store_begin(c->st) == -1)
		return -1;
	if (store_host_add(c->st, argv[optind], argv[optind + 1], (int)port,
	    login, key) == -1 ||
	    ((pins.scan || pins.n) && pin_apply(c, argv[optind],
	    argv[optind + 1], (int)port, &pins) == -1) ||
	    store_commit(c->st) == -1) {
		store_rollback(c->st);
		return -1;
	}
	printf("added host %s (%s port %lld%s%s)%s\n", argv[optind],
	    argv[optind + 1], port, *login ? ", default login " : "", login,
	    pins.scan || pins.n ? "" : "; no host key pinned yet: connecting "
	    "fails until gatectl host pin");
	return 0;
}

static int
find_host(struct ctx *c, const char *name, struct host_row *h)
{
	int rc;

	if (name_check("host name", name) == -1 || ctx_store(c) == NULL ||
	    (rc = store_host_get(c->st, name, h)) == -1)
		return -1;
	if (rc == 0)
		return err_set(ERR_USAGE, "no such host '%s'", name);
	return 0;
}

static int
pin(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "scan", no_argument, NULL, 's' },
		{ "hostkey", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	static struct pins pins;
	struct host_row h;
	int ch, rc;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1)
		if (ch != 's' && ch != 'h')
			return usage_err(USAGE);
		else if (pin_option(&pins, ch, optarg) == -1)
			return -1;
	if (argc - optind != 1 || (pins.scan == 0 && pins.n == 0) ||
	    (pins.scan && pins.n))
		return usage_err(USAGE);
	if (find_host(c, argv[optind], &h) == -1 || store_begin(c->st) == -1)
		return -1;
	rc = pin_apply(c, h.name, h.address, h.port, &pins);
	store_rollback(c->st);
	return rc;
}

/* How many keys text (the known_hosts file, or NULL: unreadable) pins. */
static int
pinned(const char *text, const char *name)
{
	static struct pubkey k[HOSTKEYS_MAX_KEYS];
	size_t n;

	if (text == NULL)
		return -1;
	hostkeys_parse(text, name, k, HOSTKEYS_MAX_KEYS, &n);
	return (int)n;
}

static int
list(struct ctx *c, int argc, char *argv[])
{
	struct host_row *h = NULL;
	struct table *t;
	char *kh;
	char port[8];
	size_t n, i;
	int json;

	if (opt_json_only(argc, argv, USAGE, &json) == -1)
		return -1;
	if (optind != argc)
		return usage_err(USAGE);
	if (ctx_store(c) == NULL || store_host_list(c->st, &h, &n) == -1)
		return -1;
	/* Read once for all hosts; unreadable shows as -1 pins. */
	kh = hostkeys_text(c->cfg->known_hosts);
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_str(stdout, 1, "name", h[i].name);
			json_kv_str(stdout, 0, "address", h[i].address);
			json_kv_int(stdout, 0, "port", h[i].port);
			json_kv_str(stdout, 0, "login", h[i].login);
			json_kv_str(stdout, 0, "egress_key", h[i].egress_key);
			json_kv_int(stdout, 0, "pinned_keys",
			    pinned(kh, h[i].name));
			json_kv_time(stdout, 0, "created", h[i].created);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		free(h);
		free(kh);
		return 0;
	}
	if ((t = table_new((const char *[]){ "NAME", "ADDRESS", "PORT",
	    "DEFAULT LOGIN", "PINNED KEYS", "EGRESS KEY", NULL })) == NULL) {
		free(h);
		free(kh);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char np[16];
		snprintf(port, sizeof(port), "%d", h[i].port);
		snprintf(np, sizeof(np), "%d", pinned(kh, h[i].name));
		if (table_row(t, (const char *[]){ h[i].name, h[i].address, port,
		    h[i].login[0] ? h[i].login : "-", np,
		    h[i].egress_key[0] ? h[i].egress_key : "(the gate's)" })
		    == -1)
			break;
	}
	if (i == n)
		table_print(t, stdout);
	table_free(t);
	free(h);
	free(kh);
	return i == n ? 0 : -1;
}

static int
unpin(struct ctx *c, const char *name)
{
	struct passwd *pw = getpwnam(c->cfg->account);

	if (pw == NULL)
		return err_set(ERR_SYS, "account '%s' does not exist",
		    c->cfg->account);
	return hostkeys_write(c->cfg->known_hosts, name, NULL, 0, pw->pw_uid,
	    pw->pw_gid);
}

int
cmd_host(struct ctx *c, int argc, char *argv[])
{
	const char *sub;

	if (argc < 2)
		return usage_err(USAGE);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0)
		return add(c, argc, argv);
	if (strcmp(sub, "list") == 0)
		return list(c, argc, argv);
	if (strcmp(sub, "pin") == 0)
		return pin(c, argc, argv);
	if (strcmp(sub, "del") != 0 || argc != 2)
		return usage_err(USAGE);
	if (name_check("host name", argv[1]) == -1 || ctx_store(c) == NULL ||
	    store_begin(c->st) == -1)
		return -1;
	if (store_host_del(c->st, argv[1]) == -1 ||
	    unpin(c, argv[1]) == -1 || store_commit(c->st) == -1) {
		store_rollback(c->st);
		return -1;
	}
	printf("deleted host %s with its memberships, grants and pinned keys\n",
	    argv[1]);
	return 0;
}
