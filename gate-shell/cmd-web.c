/*
 * cmd-web: one-time tokens for web terminals.
 *
 *   web-token [LOGIN@]HOST [--ttl DURATION]   (a verb, over ssh)
 *   gate-shell [-c CONFIG] --web [TOKEN]       (what the frontend runs)
 *
 * The verb makes the same access decision connect would and stores the
 * token's hash bound to (user, host, login, expiry). --web takes nothing
 * else from the frontend: the token (typed at a prompt with echo off,
 * or one argument) selects the row, and the row alone says who, where
 * and as whom (THREATS row 20, B6); SHELLINABOX_*, X-Real-IP and the like
 * never reach us (main keeps only TERM). The row also names the key that
 * made the token, checked again as identify() checks it over ssh, so
 * revoking a stolen key revokes its tokens. A redeemed token runs
 * connect, which checks the grant again, so a grant revoked after issue
 * wins.
 * Tokens are never logged: only their public selector is.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "gate-shell.h"
#include "log.h"
#include "store.h"
#include "token.h"
#include "when.h"

/* Unused, unexpired tokens one user may hold: bounds the table. */
#define WEB_TOKENS_PER_USER	20
/* Rows this long past their expiry go (an hour of "expired" answers). */
#define WEB_PURGE_AFTER		3600
/* The prompt waits this long for a token, then gives up. */
#define WEB_PROMPT_SECONDS	120
/* Throttle: one failure forgotten per quiet minute; delays up to 5 s. */
#define WEB_THROTTLE_DECAY	60
#define WEB_THROTTLE_MAX_DELAY	5

int
cmd_web_token(struct gsh *g, const struct call *c)
{
	struct host_row h;
	struct token t;
	unsigned char hash[TOKEN_HASH_LEN];
	char login[LOGIN_MAX_LEN + 1], exp[WHEN_ISO_LEN], span[32];
	const char *opt = call_opt(c, "ttl"), *p;
	long long ttl = g->cfg->token_ttl;
	time_t now = when_now();
	int rc;

	if (opt && (when_duration(opt, CONFIG_MAX_TOKEN_TTL, &ttl) == -1 ||
	    ttl < 60))
		return err_set(ERR_USAGE, "web-token: --ttl must be a duration "
		    "from 1m to 24h");
	if (connect_check(g, "web-token", c->argv[0], &h, login,
	    sizeof(login)) == -1)
		return -1;
	if (store_token_purge(g->st, now - WEB_PURGE_AFTER, NULL) == -1)
		log_warn("cannot purge expired web tokens: %s", err_msg());
	if (token_new(&t) == -1)
		return -1;
	token_hash(&t, hash);
	rc = store_token_add(g->st, t.selector, hash, g->user.id, g->key.id,
	    h.id, login, now, now + (time_t)ttl, WEB_TOKENS_PER_USER);
	if (rc != 0) {
		token_wipe(&t, sizeof(t));
		if (rc == -1)
			return -1;
		log_notice("user %s from %s: web-token %s@%s refused: %d unused "
		    "tokens is the limit", g->user.name, g->peer, login, h.name,
		    WEB_TOKENS_PER_USER);
		return err_set(ERR_DENIED, "you already hold %d unused web "
		    "tokens; use them or let them expire first",
		    WEB_TOKENS_PER_USER);
	}
	log_info("user %s (key %lld) from %s: web token %s for %s@%s, valid "
	    "%llds", g->user.name, g->key.id, g->peer, t.selector, login,
	    h.name, ttl);
	fprintf(g->out, "web token for %s@%s, valid once until %s (%s):\n"
	    "  %s\n", login, h.name, when_iso(now + (time_t)ttl, exp),
	    when_span(ttl, span, sizeof(span)), t.text);
	if (strstr(g->cfg->web_url, "{token}")) {
		/* The token in the link: it may land in browser history. */
		fputs("open: ", g->out);
		for (p = g->cfg->web_url; *p; p++) {
			if (strncmp(p, "{token}", 7) == 0) {
				fputs(t.text, g->out);
				p += 6;
			} else {
				fputc(*p, g->out);
			}
		}
		fputc('\n', g->out);
	} else if (g->cfg->web_url[0]) {
		fprintf(g->out, "open: %s and paste the token at the prompt\n",
		    g->cfg->web_url);
	} else {
		fputs("paste it at the prompt of the gate's web terminal\n",
		    g->out);
	}
	token_wipe(&t, sizeof(t));
	return 0;
}

/* The terminal the prompt switched echo off on, for every way out. */
static struct termios saved_tio;
static volatile sig_atomic_t saved_set;
static int saved_fd = -1;

/* Safe twice and from a signal handler (tcsetattr is async-signal-safe). */
static void
echo_restore(void)
{
	int e = errno;

	if (saved_set) {
		tcsetattr(saved_fd, TCSANOW, &saved_tio);
		saved_set = 0;
	}
	errno = e;
}

static void
on_signal(int sig)
{
	echo_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int prompt_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
	SIGALRM, SIGPIPE, SIGSEGV, SIGBUS };
#define NSIG_PROMPT (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

/*
 * Read one line from fd 0 into buf (at most size - 1 bytes kept; a longer
 * line is read to its end and reported through *too_long), with echo off
 * when fd 0 is a terminal, within WEB_PROMPT_SECONDS. Returns 0, or -1
 * with an error on timeout, end of input or a read error. The terminal
 * is restored before returning and on any signal meanwhile.
 */
static int
prompt_token(char *buf, size_t size, size_t *len, int *too_long)
{
	struct sigaction sa, old[NSIG_PROMPT];
	struct termios t;
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	long long deadline = when_mono_ns() + WEB_PROMPT_SECONDS * 1000000000LL;
	size_t i, n = 0;
	ssize_t r;
	char c;
	int rc = -1, tty = isatty(0);

	*len = 0;
	*too_long = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIG_PROMPT; i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
	if (tty && tcgetattr(0, &t) == 0) {
		saved_tio = t;
		saved_fd = 0;
		saved_set = 1;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		t.c_lflag |= ICANON;
		if (tcsetattr(0, TCSAFLUSH, &t) == -1) {
			err_set(ERR_SYS, "cannot turn echo off: %s",
			    strerror(errno));
			goto out;
		}
	}
	fputs("sshgate web token: ", stdout);
	fflush(stdout);
	for (;;) {
		long long left = (deadline - when_mono_ns()) / 1000000;

		if (left <= 0) {
			err_set(ERR_DENIED, "no token given within %ds",
			    WEB_PROMPT_SECONDS);
			goto out;
		}
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			err_set(ERR_SYS, "poll: %s", strerror(errno));
			goto out;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* A byte at a time: nothing past the line is consumed. */
		if ((r = read(0, &c, 1)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err_set(ERR_SYS, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0 && n == 0 && !*too_long) {
			err_set(ERR_DENIED, "no token given");
			goto out;
		}
		if (r == 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 < size)
			buf[n++] = c;
		else
			*too_long = 1;
	}
	buf[n] = '\0';
	*len = n;
	rc = 0;
out:
	echo_restore();
	if (tty) {
		/* Echo was off: the Enter the user typed did not show. */
		fputs("\n", stdout);
		fflush(stdout);
	}
	for (i = 0; i < NSIG_PROMPT; i++)
		sigaction(prompt_signals[i], &old[i], NULL);
	return rc;
}

/* Pasting adds blanks around a word; they are not part of the token. */
static void
trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * A failed redemption: count it in the one throttle row and answer only
 * after min(failures - 1, 5) seconds, so the first mistake is answered at
 * once and a run of them is slowed (failures are forgotten one per quiet
 * minute). Returns the delay applied.
 */
static int
throttle(struct gsh *g)
{
	int n = 0, delay;

	if (store_web_throttle(g->st, when_now(), 1, WEB_THROTTLE_DECAY,
	    &n) == -1) {
		log_warn("web: cannot count a failure: %s", err_msg());
		n = WEB_THROTTLE_MAX_DELAY + 1;	/* fail slow */
	}
	delay = n - 1 < WEB_THROTTLE_MAX_DELAY ? n - 1 : WEB_THROTTLE_MAX_DELAY;
	if (delay > 0)
		sleep((unsigned)delay);
	return delay;
}

/*
 * Load the key and user of a redeemed token into g, with identify()'s
 * checks (gate-shell/main.c): the key still enrolled, to the same user,
 * neither disabled nor expired; the user not disabled. Deleting a key
 * deletes its tokens (ON DELETE CASCADE), so "gone" is the second line.
 * Returns 0, or -1 with an error saying which.
 */
static int
web_identify(struct gsh *g, const struct web_token_row *row)
{
	int found;

	if ((found = store_key_by_id(g->st, row->key_id, &g->key)) == -1)
		return -1;
	if (found == 0 || g->key.user_id != row->user_id)
		return err_set(ERR_DENIED, "key id %lld is gone", row->key_id);
	if (gsh_key_check(&g->key) == -1)
		return -1;
	if (store_user_get(g->st, row->user, &g->user) == -1 ||
	    g->user.id != row->user_id || g->user.disabled)
		return err_set(ERR_DENIED, "user %s is disabled or gone",
		    row->user);
	return 0;
}

int
web_run(struct gsh *g, const char *arg, size_t arg_len)
{
	static const char *const outcome[] = {
		[STORE_TOKEN_UNKNOWN] = "unknown or wrong secret",
		[STORE_TOKEN_USED] = "already used",
		[STORE_TOKEN_EXPIRED] = "expired",
	};
	struct web_token_row row;
	struct token t;
	struct call c = { 0 };
	unsigned char hash[TOKEN_HASH_LEN];
	char line[256], target[LOGIN_MAX_LEN + NAME_MAX_LEN + 2];
	char *words[2], sel[TOKEN_SELECTOR_LEN + 1];
	const char *text = arg;
	size_t len = arg_len;
	int too_long = 0, rc, delay;

	/* Whatever the frontend says about the browser is not evidence. */
	snprintf(g->peer, sizeof(g->peer), "web");
	if (text == NULL) {
		if (prompt_token(line, sizeof(line), &len, &too_long) == -1) {
			log_notice("web: no token read: %s", err_msg());
			gsh_say_err();
			return err_kind() == ERR_DENIED ? GSH_EXIT_DENIED :
			    GSH_EXIT_ERROR;
		}
		text = line;
	}
	trim(&text, &len);
	rc = too_long ? err_set(ERR_USAGE, "that is not an sshgate web token") :
	    token_parse(text, len, &t);
	token_wipe(line, sizeof(line));
	if (rc == -1) {
		/* Refused before the database: nothing to count or learn. */
		log_notice("web: refused a malformed token (%zu bytes)", len);
		gsh_say_err();
		return GSH_EXIT_DENIED;
	}
	token_hash(&t, hash);
	memcpy(sel, t.selector, sizeof(sel));
	token_wipe(&t, sizeof(t));
	if ((g->st = store_open(g->cfg->database, STORE_NOMIGRATE,
	    g->cfg->db_timeout_ms)) == NULL) {
		log_err("%s", err_msg());
		fprintf(stderr, "gate-shell: the gate's database is unavailable; "
		    "try again later\n");
		return GSH_EXIT_ERROR;
	}
	rc = store_token_redeem(g->st, sel, hash, when_now(), &row);
	if (rc == -1) {
		log_err("web: token %s: %s", sel, err_msg());
		fprintf(stderr, "gate-shell: the gate's database is unavailable; "
		    "try again later\n");
		return GSH_EXIT_ERROR;
	}
	if (rc != STORE_TOKEN_OK) {
		delay = throttle(g);
		log_notice("web: token %s refused: %s (answered after %ds)",
		    sel, outcome[rc], delay);
		fprintf(stderr, "gate-shell: %s; ask for a new one with: ssh "
		    "GATE web-token HOST\n", rc == STORE_TOKEN_EXPIRED ?
		    "this web token has expired" : "this web token is not valid "
		    "(unknown or already used)");
		return GSH_EXIT_DENIED;
	}
	if (store_token_purge(g->st, when_now() - WEB_PURGE_AFTER, NULL) == -1)
		log_warn("cannot purge expired web tokens: %s", err_msg());
	/*
	 * The row says who: a token is worth no more than the key that
	 * made it, so a key disabled or expired since issue (a stolen key
	 * revoked) is refused here as identify() refuses it over ssh, and
	 * so is a user disabled since; a grant revoked since issue is
	 * refused by connect's own check below.
	 */
	if (web_identify(g, &row) == -1) {
		log_notice("web: token %s of %s refused: %s", sel, row.user,
		    err_msg());
		fprintf(stderr, "gate-shell: access denied\n");
		return GSH_EXIT_DENIED;
	}
	log_info("web: token %s redeemed by %s for %s@%s", sel,
	    row.user, row.login, row.host);
	snprintf(target, sizeof(target), "%s@%s", row.login, row.host);
	words[0] = target;
	words[1] = NULL;
	c.argc = 1;
	c.argv = words;
	g->tty = isatty(0) && isatty(1);
	g->exit_status = -1;
	g->session_id = 0;
	rc = cmd_connect(g, &c);
	if (rc == -1) {
		log_notice("web: %s@%s for %s: %s", row.login, row.host,
		    row.user, err_msg());
		gsh_say_err();
		rc = err_kind() == ERR_USAGE ? GSH_EXIT_USAGE :
		    err_kind() == ERR_DENIED ? GSH_EXIT_DENIED : GSH_EXIT_ERROR;
	} else {
		rc = g->exit_status == -1 ? 0 : g->exit_status;
	}
	/* Written when the session ends: the database is closed meanwhile. */
	if (g->session_id && g->st &&
	    store_token_session(g->st, row.id, g->session_id) == -1)
		log_warn("web: token %s: cannot record session %lld: %s",
		    sel, g->session_id, err_msg());
	return rc;
}
