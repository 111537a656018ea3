/*
 * spawnbench: time a program the way sshd runs an AuthorizedKeysCommand,
 * one fork+exec per call, with as little harness in between as possible.
 *
 *   spawnbench [-u USER] [-j JOBS] [-o] ARGFILE -- PROG [ARG...]
 *
 * Each line of ARGFILE is one call: its space-separated words are appended
 * to PROG ARG.... Calls run JOBS at a time (default 1: one after another;
 * JOBS = the number of lines: all at once). With -o a call must also print
 * something to count as a success. Children run as USER (setuid before the
 * first call) with an empty environment, as sshd gives them. Prints one
 * JSON object: calls, failures, median/p99/max latency in microseconds
 * (from spawn to reaped) and the wall time of the whole run.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORDS 16

struct call {
	char *words[MAX_WORDS];
	int nwords;
	pid_t pid;
	int out;		/* read end of the child's stdout */
	int got_output;
	long long start, us;
	int ok;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: spawnbench [-u USER] [-j JOBS] [-o] ARGFILE "
	    "-- PROG [ARG...]\n");
	exit(2);
}

static struct call *
read_calls(const char *path, size_t *n)
{
	struct call *calls = NULL;
	size_t cap = 0;
	char *line = NULL, *w, *save;
	size_t lcap = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	*n = 0;
	while (getline(&line, &lcap, f) != -1) {
		struct call *c;

		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((calls = realloc(calls, cap * sizeof(*calls))) == NULL)
				exit(1);
		}
		c = &calls[(*n)++];
		memset(c, 0, sizeof(*c));
		for (w = strtok_r(line, " \n", &save); w && c->nwords < MAX_WORDS;
		    w = strtok_r(NULL, " \n", &save))
			if ((c->words[c->nwords++] = strdup(w)) == NULL)
				exit(1);
	}
	free(line);
	fclose(f);
	return calls;
}

static void
spawn(struct call *c, char **fixed, int nfixed)
{
	char *argv[64], *envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	int p[2], i, n = 0;

	for (i = 0; i < nfixed && n < 48; i++)
		argv[n++] = fixed[i];
	for (i = 0; i < c->nwords; i++)
		argv[n++] = c->words[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) == -1) {
		perror("pipe");
		exit(1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
	    O_WRONLY, 0);
	c->start = now_ns();
	if (posix_spawn(&c->pid, argv[0], &fa, NULL, argv, envp) != 0) {
		perror("posix_spawn");
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	c->out = p[0];
}

/* Drain the child's stdout, then reap it. */
static void
finish(struct call *c, int want_output)
{
	char buf[4096];
	ssize_t r;
	int status;

	while ((r = read(c->out, buf, sizeof(buf))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		c->got_output = 1;
	}
	close(c->out);
	while (waitpid(c->pid, &status, 0) == -1 && errno == EINTR)
		;
	c->us = (now_ns() - c->start) / 1000;
	c->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (!want_output || c->got_output);
}

int
main(int argc, char *argv[])
{
	const char *user = NULL;
	struct call *calls;
	long long *lat, t0, wall;
	size_t n, next = 0, done = 0, jobs = 1, failures = 0;
	int ch, want_output = 0;

	while ((ch = getopt(argc, argv, "+u:j:o")) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'j': jobs = (size_t)strtoul(optarg, NULL, 10); break;
		case 'o': want_output = 1; break;
		default: usage();
		}
	}
	if (argc - optind < 3 || jobs == 0 || strcmp(argv[optind + 1], "--"))
		usage();
	calls = read_calls(argv[optind], &n);
	optind += 2;
	if (user) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL || setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
			fprintf(stderr, "spawnbench: cannot become %s\n", user);
			return 1;
		}
	}
	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		return 1;
	t0 = now_ns();
	/* Keep `jobs` children in flight, finishing them in spawn order. */
	while (done < n) {
		while (next < n && next - done < jobs)
			spawn(&calls[next++], argv + optind, argc - optind);
		finish(&calls[done], want_output);
		lat[done] = calls[done].us;
		failures += !calls[done].ok;
		done++;
	}
	wall = (now_ns() - t0) / 1000;
	qsort(lat, n, sizeof(*lat), cmp_ll);
	printf("{\"calls\":%zu,\"failures\":%zu,\"median_us\":%lld,"
	    "\"p99_us\":%lld,\"max_us\":%lld,\"wall_us\":%lld}\n", n, failures,
	    n ? lat[n / 2] : 0, n ? lat[(n * 99) / 100 < n ? (n * 99) / 100 :
	    n - 1] : 0, n ? lat[n - 1] : 0, wall);
	return 0;
}
