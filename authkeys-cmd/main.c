/*
 * authkeys-cmd: sshd's AuthorizedKeysCommand for the gate account.
 *
 * sshd runs it for every key offered to the gate account - by users and by
 * internet scanners alike, for unsigned probes as well as signed logins -
 * so it is read-only (THREATS decision 4), bounded in time (a hard 2 s
 * deadline whatever the database does) and fails closed: on any doubt it
 * prints nothing. For a known, enabled, unexpired key of an enabled user it
 * prints one line:
 *
 *   restrict,pty,command="GATE_SHELL [-c CONFIG] --key-id N"
 *     [,from="LIST"][,expiry-time="YYYYMMDDHHMMSSZ"] TYPE BASE64 sshgate:USER
 *
 * built only from re-validated database fields.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "env.h"
#include "err.h"
#include "keys.h"
#include "log.h"
#include "name.h"
#include "netlist.h"
#include "store.h"
#include "when.h"

#define ARG_MAX_LEN	(KEY_B64_MAX + 64)
#define DEADLINE_MS	1500	/* queries stop here; the process at 1900 ms */

static void
usage(void)
{
	fprintf(stderr, "usage: authkeys-cmd [-c FILE] USER TYPE KEY "
	    "[FINGERPRINT]\n"
	    "       authkeys-cmd [-c FILE] USER FINGERPRINT\n");
	exit(2);
}

/* The hard stop: sshd waits on us for every login attempt. */
static void
on_alarm(int sig)
{
	static const char msg[] = "authkeys-cmd: deadline exceeded\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
arm_deadline(void)
{
	struct itimerval it = { .it_value = { 1, 900000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static long long
deadline_ns(void)
{
	return when_mono_ns() + DEADLINE_MS * 1000000LL;
}

static int
fp_shape_ok(const char *fp)
{
	size_t i;

	if (strncmp(fp, "SHA256:", 7) != 0 || strlen(fp) != 7 + 43)
		return 0;
	for (i = 7; fp[i]; i++)
		if (!((fp[i] >= 'A' && fp[i] <= 'Z') ||
		    (fp[i] >= 'a' && fp[i] <= 'z') ||
		    (fp[i] >= '0' && fp[i] <= '9') || fp[i] == '+' ||
		    fp[i] == '/'))
			return 0;
	return 1;
}

/*
 * Check every field that goes into the line again, as if the database
 * were hostile: a row edited by hand must not become sshd options.
 */
static int
row_valid(const struct key_row *k)
{
	struct pubkey pk;
	char from[NETLIST_MAX_LEN];

	if (key_from_parts(k->type, k->b64, &pk) == -1 ||
	    strcmp(pk.fp, k->fp) != 0 || strcmp(pk.b64, k->b64) != 0)
		return err_set(ERR_SYS, "stored key %lld does not match its "
		    "fingerprint", k->id);
	if (name_check("user name", k->user) == -1)
		return err_set(ERR_SYS, "stored user of key %lld is invalid",
		    k->id);
	if (k->from[0] && (netlist_canon(k->from, from, sizeof(from)) == -1 ||
	    strcmp(from, k->from) != 0))
		return err_set(ERR_SYS, "stored from= list of key %lld is "
		    "invalid", k->id);
	if (k->id <= 0)
		return err_set(ERR_SYS, "stored key id is invalid");
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *cfgpath = NULL, *user, *type = NULL, *b64 = NULL;
	const char *fp = NULL;
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct pubkey pk;
	struct key_row k;
	char line[KEY_B64_MAX + 2 * PATH_MAX + 1024], when[16];
	char from_opt[NETLIST_MAX_LEN + 16], exp_opt[40];
	time_t now;
	int ch, i, n, rc = 1;

	arm_deadline();
	log_init("authkeys-cmd", 1);
	if (env_reset(NULL, 0) == -1) {
		log_err("%s", err_msg());
		return 1;
	}
	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 4)
		usage();
	for (i = 0; i < argc; i++)
		if (strlen(argv[i]) > ARG_MAX_LEN) {
			log_err("argument %d is too long (%zu bytes)", i + 1,
			    strlen(argv[i]));
			return 2;
		}
	user = argv[0];
	if (argc == 2) {
		fp = argv[1];
	} else {
		type = argv[1];
		b64 = argv[2];
		fp = argc == 4 ? argv[3] : NULL;
	}

	if ((cfg = config_load(cfgpath)) == NULL) {
		log_err("%s", err_msg());
		goto out;
	}
	if (strcmp(user, cfg->account) != 0) {
		rc = 0;		/* not ours: no keys, no noise */
		goto out;
	}
	if (cfg->path_given && !config_path_plain(cfg->path)) {
		log_err("config path %s cannot be passed on in command=",
		    cfg->path);
		goto out;
	}
	if (type) {
		/*
		 * sshd offers what clients offer: a type we do not serve
		 * (certificates, DSA) is a quiet "no". A key sshd parsed but
		 * we cannot is a caller that is not sshd: usage.
		 */
		if (!key_type_supported(type)) {
			/* log_msg() escapes the client's bytes. */
			log_notice("refused offered key: unsupported key type "
			    "'%s'", type);
			rc = 0;
			goto out;
		}
		if (key_from_parts(type, b64, &pk) == -1) {
			log_err("malformed key argument: %s", err_msg());
			rc = 2;
			goto out;
		}
		if (fp && strcmp(fp, pk.fp) != 0) {
			log_err("fingerprint argument does not match the key");
			rc = 2;
			goto out;
		}
		fp = pk.fp;
	} else if (!fp_shape_ok(fp)) {
		log_err("malformed fingerprint argument");
		rc = 2;
		goto out;
	}

	if ((st = store_open(cfg->database, STORE_RDONLY,
	    cfg->db_timeout_ms < DEADLINE_MS ? cfg->db_timeout_ms :
	    DEADLINE_MS)) == NULL) {
		log_err("%s", err_msg());
		goto out;
	}
	store_set_deadline(st, deadline_ns());
	if ((n = store_key_find(st, fp, &k)) == -1) {
		log_err("%s", err_msg());
		goto out;
	}
	rc = 0;
	now = when_now();
	if (n == 0) {
		log_info("unknown key %s", fp);
		goto out;
	}
	if (type && (strcmp(k.type, pk.type) != 0 || strcmp(k.b64, pk.b64)
	    != 0)) {
		log_err("key %s: stored key differs from the offered one", fp);
		goto out;
	}
	if (k.user_disabled) {
		log_notice("key %s of disabled user %s refused", fp, k.user);
		goto out;
	}
	if (k.disabled) {
		log_notice("disabled key %s of user %s refused", fp, k.user);
		goto out;
	}
	if (k.expires && k.expires <= now) {
		log_notice("expired key %s of user %s refused", fp, k.user);
		goto out;
	}
	if (row_valid(&k) == -1) {
		log_err("%s", err_msg());
		rc = 1;
		goto out;
	}
	/* Optional options: nothing, or ',name="value"' built from the row. */
	from_opt[0] = exp_opt[0] = '\0';
	if (k.from[0])
		snprintf(from_opt, sizeof(from_opt), ",from=\"%s\"", k.from);
	if (k.expires)
		snprintf(exp_opt, sizeof(exp_opt), ",expiry-time=\"%s\"",
		    when_sshd(k.expires, when));
	n = snprintf(line, sizeof(line),
	    "restrict,pty,command=\"%s%s%s --key-id %lld\"%s%s %s %s sshgate:%s\n",
	    cfg->gate_shell, cfg->path_given ? " -c " : "",
	    cfg->path_given ? cfg->path : "", k.id, from_opt, exp_opt, k.type,
	    k.b64, k.user);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		log_err("key line for %s too long", fp);
		rc = 1;
		goto out;
	}
	if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n ||
	    fflush(stdout) == EOF) {
		log_err("write: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	log_info("key %s of user %s (key id %lld) offered", fp, k.user, k.id);
out:
	store_close(st);
	config_free(cfg);
	return rc;
}
