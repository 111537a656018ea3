/*
 * gatectl key: add, del, disable, enable, list. A key is added from one
 * .pub line (a file or standard input) and checked for real: type, blob,
 * sizes, one line only, no options, no CR (THREATS row 13).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "gatectl.h"
#include "json.h"
#include "keys.h"
#include "name.h"
#include "netlist.h"
#include "table.h"
#include "text.h"
#include "when.h"

#define USAGE "key add USER [FILE|-] [--from LIST] [--expires DATE] | " \
	"key del|disable|enable FINGERPRINT | key list [USER] [--json]"
#define PUB_MAX	(16 * 1024)

/* Read a whole .pub file (bounded); returns its length or -1. */
static ssize_t
read_pub(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t r;
	int fd = STDIN_FILENO;

	if (path && strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return err_set(ERR_USAGE, "cannot open %s: %s", path,
		    strerror(errno));
	while ((r = read(fd, buf + got, size - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(ERR_USAGE, "read %s: %s", path ? path : "stdin",
			    strerror(errno));
			break;
		}
		got += (size_t)r;
		if (got == size) {
			err_set(ERR_USAGE, "key file is larger than %d bytes",
			    PUB_MAX);
			r = -1;
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (r == -1)
		return -1;
	if (memchr(buf, '\0', got))
		return err_set(ERR_USAGE, "key file contains a NUL byte");
	buf[got] = '\0';
	return (ssize_t)got;
}

static int
add(struct ctx *c, int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "expires", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 } };
	char from[NETLIST_MAX_LEN] = "", *buf;
	const char *user, *file = NULL;
	struct pubkey k;
	time_t expires = 0;
	long long id;
	ssize_t len;
	int ch, rc = -1;

	optind = 0;
	while ((ch = opt_next(argc, argv, lo)) != -1) {
		if (ch == 'f') {
			if (netlist_canon(optarg, from, sizeof(from)) == -1)
				return -1;
		} else if (ch == 'e') {
			if (parse_future(optarg, &expires) == -1)
				return -1;
		} else {
			return usage_err(USAGE);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_err(USAGE);
	user = argv[optind];
	if (argc - optind == 2)
		file = argv[optind + 1];
	if (name_check("user name", user) == -1)
		return -1;
	if ((buf = malloc(PUB_MAX + 1)) == NULL)
		return err_set(ERR_SYS, "out of memory");
	if ((len = read_pub(file, buf, PUB_MAX + 1)) == -1 ||
	    key_parse_line(buf, (size_t)len, &k) == -1)
		goto out;
	if (ctx_store(c) == NULL ||
	    store_key_add(c->st, user, &k, from, expires, &id) == -1)
		goto out;
	printf("added key %s (%s, %u bits) for %s as key id %lld\n", k.fp,
	    k.type, k.bits, user, id);
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
list(struct ctx *c, int argc, char *argv[])
{
	struct key_row *k = NULL;
	struct table *t = NULL;
	char exp[WHEN_ISO_LEN], used[WHEN_ISO_LEN], id[24];
	const char *user = NULL;
	size_t n, i;
	int json, rc = -1;

	if (opt_json_only(argc, argv, USAGE, &json) == -1)
		return -1;
	if (argc - optind > 1)
		return usage_err(USAGE);
	if (argc - optind == 1) {
		user = argv[optind];
		if (name_check("user name", user) == -1)
			return -1;
	}
	if (ctx_store(c) == NULL || store_key_list(c->st, user, &k, &n) == -1)
		return -1;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ",{" : "{", stdout);
			json_kv_int(stdout, 1, "id", k[i].id);
			json_kv_str(stdout, 0, "user", k[i].user);
			json_kv_str(stdout, 0, "type", k[i].type);
			json_kv_str(stdout, 0, "fingerprint", k[i].fp);
			json_kv_str(stdout, 0, "comment", k[i].comment);
			json_kv_str(stdout, 0, "from", k[i].from);
			json_kv_time(stdout, 0, "expires", k[i].expires);
			json_kv_bool(stdout, 0, "disabled", k[i].disabled);
			json_kv_time(stdout, 0, "created", k[i].created);
			json_kv_time(stdout, 0, "last_used", k[i].last_used);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
		rc = 0;
		goto out;
	}
	if ((t = table_new((const char *[]){ "ID", "USER", "TYPE",
	    "FINGERPRINT", "STATE", "EXPIRES", "LAST USED", "COMMENT",
	    NULL })) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%lld", k[i].id);
		if (table_row(t, (const char *[]){ id, k[i].user, k[i].type,
		    k[i].fp, k[i].disabled ? "disabled" : "enabled",
		    k[i].expires ? when_iso(k[i].expires, exp) : "never",
		    k[i].last_used ? when_iso(k[i].last_used, used) : "never",
		    k[i].comment }) == -1)
			goto out;
	}
	table_print(t, stdout);
	rc = 0;
out:
	table_free(t);
	free(k);
	return rc;
}

int
cmd_key(struct ctx *c, int argc, char *argv[])
{
	const char *sub, *fp;
	char safe[80];

	if (argc < 2)
		return usage_err(USAGE);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0)
		return add(c, argc, argv);
	if (strcmp(sub, "list") == 0)
		return list(c, argc, argv);
	if (argc != 2 || (strcmp(sub, "del") != 0 && strcmp(sub, "disable") != 0
	    && strcmp(sub, "enable") != 0))
		return usage_err(USAGE);
	fp = argv[1];
	if (strncmp(fp, "SHA256:", 7) != 0 || strlen(fp) != 50)
		return err_set(ERR_USAGE, "invalid fingerprint '%s': expected "
		    "SHA256:... as ssh-keygen -lf prints it",
		    text_escape(safe, sizeof(safe), fp, strlen(fp)));
	if (ctx_store(c) == NULL)
		return -1;
	if (strcmp(sub, "del") == 0) {
		if (store_key_del(c->st, fp) == -1)
			return -1;
		printf("deleted key %s\n", fp);
	} else {
		if (store_key_set_disabled(c->st, fp, sub[0] == 'd') == -1)
			return -1;
		printf("%sd key %s\n", sub, fp);
	}
	return 0;
}
