/*
 * prompt: what a user with a terminal and no command gets. A banner, the
 * hosts they may reach, then "sshgate> " lines read in the terminal's
 * normal (cooked) mode and run through the same verb table as a command
 * would be. It is not a shell: no expansion, nothing but the verbs, and
 * once a connect ends, gate-shell ends with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "err.h"
#include "gate-shell.h"
#include "log.h"
#include "text.h"

#define PROMPT "sshgate> "

static volatile sig_atomic_t interrupted;

/* Ctrl-C at the prompt drops the line being typed, as in a shell. */
static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * Read one line into buf (without its newline). Returns its length, -1
 * at EOF or on error, -2 when it was longer than the buffer (the rest is
 * read and thrown away), -3 when Ctrl-C interrupted it.
 */
static ssize_t
read_line(char *buf, size_t size)
{
	size_t n = 0;
	int too_long = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(0, &c, 1);
		if (r == -1 && errno == EINTR && interrupted)
			return -3;
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return n > 0 && !too_long ? (ssize_t)n : -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
		else
			too_long = 1;
	}
	buf[n] = '\0';
	return too_long ? -2 : (ssize_t)n;
}

int
prompt_run(struct gsh *g)
{
	char line[ARGV_MAX_LEN + 2], safe[256], why[256];
	struct sigaction sa;
	ssize_t n;

	g->prompt = 1;
	/* No SA_RESTART: the read in progress returns EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	fprintf(g->out, "sshgate: you are %s. Hosts you may reach:\n",
	    g->user.name);
	if (cmd_list(g, &(struct call){ .argc = 0 }) == -1)
		fprintf(g->out, "(cannot list them: %s)\n", text_escape_log(
		    safe, sizeof(safe), err_msg(), strlen(err_msg())));
	fprintf(g->out, "Type 'connect HOST', 'help', or 'exit'.\n");
	for (;;) {
		fputs(PROMPT, g->out);
		fflush(g->out);
		interrupted = 0;
		if ((n = read_line(line, sizeof(line))) == -1) {
			fputc('\n', g->out);
			return 0;
		}
		if (n == -3) {
			fputc('\n', g->out);
			continue;
		}
		if (n == -2) {
			fprintf(stderr, "gate-shell: line longer than %d bytes\n",
			    ARGV_MAX_LEN);
			continue;
		}
		while (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (strspn(line, " \t") == (size_t)n)
			continue;
		if (strcmp(line, "exit") == 0 || strcmp(line, "quit") == 0 ||
		    strcmp(line, "logout") == 0)
			return 0;
		/* A line typed here may hold a secret (a web token pasted at
		 * the wrong prompt): syslog gets it after the policy. */
		gsh_log_text(g, line, (size_t)n, safe, sizeof(safe));
		g->exit_status = -1;
		if (cmd_run(g, line, (size_t)n) == -1) {
			gsh_log_err(g, why, sizeof(why));
			log_notice("user %s (key %lld) from %s: refused command "
			    "'%s' at the prompt: %s", g->user.name, g->key.id,
			    g->peer, safe, why);
			gsh_say_err();
			continue;
		}
		log_info("user %s (key %lld) from %s: %s (at the prompt)",
		    g->user.name, g->key.id, g->peer, safe);
		fflush(g->out);
		/* A session ran: the gate is not a place to stay. */
		if (g->exit_status != -1)
			return g->exit_status;
	}
}
