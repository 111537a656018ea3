/*
 * histbench: how fast `history` searches a large command_log.
 *
 *   histbench DB [ROWS]
 *
 * Fills DB (created, or reused when it already holds ROWS commands) with
 * ROWS commands (default 1,000,000) from 100 users on 50 hosts over 30
 * days, through store_history_add() as the recorder writes them (batches
 * of 64), then times store_history_query(), the function behind gate-shell's
 * and gatectl's `history`, for the queries people run. Prints one line
 * per query: median and worst of 21 runs in ms, and rows returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "store.h"
#include "when.h"

#define USERS	100
#define HOSTS	50
#define RUNS	21

static const char *const verbs[] = {
	"ls -la %s", "cd /var/log/%s", "systemctl restart %s",
	"systemctl status %s", "journalctl -u %s --since today",
	"tail -f /var/log/%s.log", "grep -r error /etc/%s", "vim /etc/%s.conf",
	"df -h", "free -m", "ps aux | grep %s", "docker ps", "docker logs %s",
	"kubectl get pods -n %s", "git -C /srv/%s pull", "apt-get install %s",
	"cat /etc/%s/config.yml", "rsync -a /srv/%s/ backup:/srv/%s/",
	"curl -s http://localhost:8080/%s/health", "du -sh /var/lib/%s",
};
static const char *const words[] = {
	"nginx", "postgres", "redis", "app", "api", "worker", "cron", "mysql",
	"haproxy", "prometheus", "grafana", "sshd", "ntp", "bind", "postfix",
};

static unsigned long long rng = 88172645463325252ULL;
static long long uids[USERS], hids[HOSTS];

/* The users, so per-user queries go through the (user, created_at) index. */
static int
users(struct store *st)
{
	struct user_row u;
	char name[16];
	int i;

	for (i = 0; i < USERS; i++) {
		snprintf(name, sizeof(name), "user%02d", i);
		if (store_user_get(st, name, &u) == -1 &&
		    (store_user_add(st, name, 0) == -1 ||
		    store_user_get(st, name, &u) == -1))
			return -1;
		uids[i] = u.id;
	}
	for (i = 0; i < HOSTS; i++) {
		struct host_row h;
		snprintf(name, sizeof(name), "host%02d", i);
		if (store_host_get(st, name, &h) != 1 &&
		    (store_host_add(st, name, "127.0.0.1", 22, "", NULL) == -1 ||
		    store_host_get(st, name, &h) != 1))
			return -1;
		hids[i] = h.id;
	}
	return 0;
}

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int
fill(struct store *st, long rows)
{
	static struct history_row batch[64];
	time_t now = time(NULL);
	long i;
	size_t k = 0;

	for (i = 0; i < rows; i++) {
		struct history_row *h = &batch[k++];
		const char *w = words[rnd(sizeof(words) / sizeof(*words))];
		unsigned u = rnd(USERS), hs = rnd(HOSTS - 1);

		memset(h, 0, sizeof(*h));
		h->created = now - 30 * 86400 + (time_t)(i * (30LL * 86400) /
		    rows);
		h->session_id = 1000000000 + i / 20;
		/* host49 is seldom used: one command in 10,000. */
		if (rnd(10000) == 0)
			hs = HOSTS - 1;
		snprintf(h->user, sizeof(h->user), "user%02u", u);
		snprintf(h->host, sizeof(h->host), "host%02u", hs);
		snprintf(h->source, sizeof(h->source), "typed");
		/* The templates are ours: %s is the only directive in them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(h->command, sizeof(h->command),
		    verbs[rnd(sizeof(verbs) / sizeof(*verbs))], w, w);
#pragma GCC diagnostic pop
		/* One command in 100,000 carries a rare token. */
		if (rnd(100000) == 0)
			snprintf(h->command, sizeof(h->command),
			    "deploy-4711 --env prod");
		h->user_id = uids[u];
		h->host_id = hids[hs];
		memcpy(h->hash, h->command, 32);
		if (k == 64 || i == rows - 1) {
			if (store_history_add(st, batch, k) == -1)
				return -1;
			k = 0;
		}
	}
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
bench(struct store *st, const char *name, struct history_query q)
{
	double ms[RUNS];
	struct history_row *rows;
	size_t n = 0;
	long long t;
	int i;

	for (i = 0; i < RUNS; i++) {
		t = when_mono_ns();
		if (store_history_query(st, &q, &rows, &n) == -1)
			return -1;
		ms[i] = (double)(when_mono_ns() - t) / 1e6;
		free(rows);
	}
	qsort(ms, RUNS, sizeof(ms[0]), cmp);
	printf("%-44s median %7.2f ms  worst %7.2f ms  rows %3zu  %s\n", name,
	    ms[RUNS / 2], ms[RUNS - 1], n, ms[RUNS / 2] < 50 ? "ok" :
	    "OVER 50 ms");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct store *st;
	struct history_query q;
	long rows = argc > 2 ? atol(argv[2]) : 1000000;
	long long have = 0, t;

	if (argc < 2) {
		fprintf(stderr, "usage: histbench DB [ROWS]\n");
		return 2;
	}
	if ((st = store_open(argv[1], 0, 5000)) == NULL) {
		fprintf(stderr, "histbench: %s\n", err_msg());
		return 1;
	}
	if (users(st) == -1) {
		fprintf(stderr, "histbench: %s\n", err_msg());
		return 1;
	}
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	q.offset = (size_t)rows - 1;
	{
		struct history_row *r;
		size_t n;
		if (store_history_query(st, &q, &r, &n) == 0) {
			have = n ? (long long)rows : 0;
			free(r);
		}
	}
	if (have < rows) {
		t = when_mono_ns();
		if (fill(st, rows) == -1) {
			fprintf(stderr, "histbench: %s\n", err_msg());
			return 1;
		}
		printf("filled %ld commands in %.1f s\n", rows,
		    (double)(when_mono_ns() - t) / 1e9);
	}
	struct history_query base = { .limit = 20 };
#define RUN(name, ...) do { q = base; __VA_ARGS__; \
	if (bench(st, name, q) == -1) goto fail; } while (0)
	RUN("latest 20, everyone's", (void)0);
	RUN("latest 20 on one host", q.host = "host07");
	RUN("latest 20 on a seldom-used host", q.host = "host49");
	RUN("latest 20 of one user", q.user_id = uids[42]);
	RUN("substring 'nginx' of one user", q.text = "nginx",
	    q.user_id = uids[42]);
	RUN("--unique of one user", q.unique = 1, q.user_id = uids[42]);
	RUN("substring 'nginx' (common), everyone's", q.text = "nginx");
	RUN("substring 'restart nginx' on one host", q.text = "restart nginx",
	    q.host = "host07");
	RUN("substring 'deploy-4711' (rare), everyone's",
	    q.text = "deploy-4711");
	RUN("substring 'zzzq' (no match)", q.text = "zzzq");
	RUN("2-char 'ls' (no index), everyone's", q.text = "ls");
	RUN("2-char 'qz' (no index, no match)", q.text = "qz");
	RUN("2-char 'qz' on a seldom-used host", q.text = "qz",
	    q.host = "host49");
	RUN("--unique on one host", q.unique = 1, q.host = "host07");
	RUN("--unique on a seldom-used host", q.unique = 1, q.host = "host49");
	RUN("--unique, everyone's", q.unique = 1);
	RUN("page 50 (--offset 1000)", q.offset = 1000);
	store_close(st);
	return 0;
fail:
	fprintf(stderr, "histbench: %s\n", err_msg());
	return 1;
}
