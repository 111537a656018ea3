/*
 * Unit tests for lib/token and the web-token block of lib/store: tokens
 * are distinct, 256-bit, parsed strictly (one spelling per token), their
 * hashes are bound to the selector, and the database holds hashes only;
 * redemption is single-use and time-bound; the throttle is one row.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "keys.h"
#include "store.h"
#include "test.h"
#include "token.h"

enum { N = 1000 };

#define ED_LINE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITF" \
	"BUWFxgZGhscHR4f alice"

static char dir[] = "/tmp/sshgate-test-token-XXXXXX";
static struct token toks[N];

static int
cmp_text(const void *a, const void *b)
{
	return strcmp(((const struct token *)a)->text,
	    ((const struct token *)b)->text);
}

static void
test_parse(void)
{
	struct token t, u;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	char s[TOKEN_LEN + 8];
	static const char *const bad[] = {
		"", "sgw_", "sgw", "SGW_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"sgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 58 */
		"sgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 60 */
		"sgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"sgw_AAAAAAAAAAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"sgw_AAAAAAAAAAAA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"sgw_AAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* Non-zero bits past the 256th: a second spelling, refused. */
		"sgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
		NULL };
	size_t i;

	CHECK(strlen(bad[3]) == TOKEN_LEN);
	CHECK(strlen(bad[11]) == TOKEN_LEN);
	for (i = 0; bad[i]; i++) {
		CHECK(token_parse(bad[i], strlen(bad[i]), &t) == -1);
		CHECK(err_kind() == ERR_USAGE);
		/* The message never repeats what was given. */
		CHECK(strlen(bad[i]) <= TOKEN_PREFIX_LEN ||
		    strstr(err_msg(), bad[i]) == NULL);
	}
	/* The canonical all-zero token parses; a NUL inside does not. */
	memcpy(s, bad[11], TOKEN_LEN);
	s[TOKEN_LEN - 1] = 'A';
	CHECK(token_parse(s, TOKEN_LEN, &t) == 0);
	s[20] = '\0';
	CHECK(token_parse(s, TOKEN_LEN, &t) == -1);

	CHECK(token_new(&t) == 0);
	CHECK(strlen(t.text) == TOKEN_LEN);
	CHECK(strncmp(t.text, TOKEN_PREFIX, TOKEN_PREFIX_LEN) == 0);
	CHECK(token_lookalike(t.text) && !token_lookalike("sgx_1"));
	CHECK(token_lookalike(" sgw_x") && token_lookalike("a --web sgw_"));
	CHECK(token_parse(t.text, strlen(t.text), &u) == 0);
	CHECK(strcmp(u.text, t.text) == 0 && strcmp(u.selector, t.selector) == 0);
	CHECK(memcmp(u.secret, t.secret, sizeof(t.secret)) == 0);
	token_hash(&t, h1);
	token_hash(&u, h2);
	CHECK(token_hash_equal(h1, h2));
	/* Same secret under another selector: another hash. */
	u.selector[0] = u.selector[0] == 'A' ? 'B' : 'A';
	token_hash(&u, h2);
	CHECK(!token_hash_equal(h1, h2));
	token_wipe(&u, sizeof(u));
	CHECK(u.text[0] == '\0' && u.secret[0] == 0 && u.secret[31] == 0);
}

/* Does the file at path hold len bytes of needle anywhere? */
static int
file_has(const char *path, const void *needle, size_t len)
{
	static char buf[8 << 20];
	FILE *f = fopen(path, "rb");
	size_t n, i;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i + len <= n; i++)
		if (memcmp(buf + i, needle, len) == 0)
			return 1;
	return 0;
}

static void
test_store(void)
{
	struct store *st;
	struct web_token_row row, *list = NULL;
	struct user_row u;
	struct host_row h;
	struct pubkey k;
	size_t nlist = 0;
	long long kid = 0, revoked = -1;
	unsigned char hash[TOKEN_HASH_LEN], wrong[TOKEN_HASH_LEN];
	char path[256], wal[272];
	long long purged = 0;
	int i, n, dups = 0, leaks = 0, sel_found = 0;
	const time_t now = 1800000000;

	snprintf(path, sizeof(path), "%s/gate.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	/* gatectl init creates the file; the store only fills it. */
	close(open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
	st = store_open(path, 0, 1000);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK(store_user_add(st, "alice", 0) == 0);
	CHECK(store_host_add(st, "web1", "127.0.0.1", 22, "www", NULL) == 0);
	CHECK(store_user_get(st, "alice", &u) == 0);
	CHECK(store_host_get(st, "web1", &h) == 1);
	CHECK(key_parse_line(ED_LINE, strlen(ED_LINE), &k) == 0);
	CHECK(store_key_add(st, "alice", &k, NULL, 0, &kid) == 0);

	for (i = 0; i < N; i++) {
		CHECK(token_new(&toks[i]) == 0);
		CHECK(toks[i].selector[0] != '-');	/* never option-like */
		token_hash(&toks[i], hash);
		CHECK(store_token_add(st, toks[i].selector, hash, u.id, kid, h.id,
		    "www", now, now + 1800, 0) == 0);
	}
	/* The cap counts unused, unexpired tokens of the user. */
	CHECK(store_token_add(st, "capcapcapcap", hash, u.id, kid, h.id, "www", now,
	    now + 60, N) == 1);
	CHECK(store_token_add(st, "capcapcapcap", hash, u.id, kid, h.id, "www",
	    now + 1800, now + 1860, N) == 0);

	/* Exactly once, bound to its row. */
	token_hash(&toks[0], hash);
	CHECK(store_token_redeem(st, toks[0].selector, hash, now + 1, &row) ==
	    STORE_TOKEN_OK);
	CHECK(strcmp(row.user, "alice") == 0 && strcmp(row.host, "web1") == 0 &&
	    strcmp(row.login, "www") == 0 && row.user_id == u.id &&
	    row.used == now + 1 && row.expires == now + 1800 &&
	    row.key_id == kid);
	CHECK(store_token_session(st, row.id, 4242424242LL) == 0);
	CHECK(store_token_redeem(st, toks[0].selector, hash, now + 2, &row) ==
	    STORE_TOKEN_USED);
	/* Expiry is strict: at expires_at it no longer works. */
	token_hash(&toks[1], hash);
	CHECK(store_token_redeem(st, toks[1].selector, hash, now + 1800, &row) ==
	    STORE_TOKEN_EXPIRED);
	CHECK(store_token_redeem(st, toks[1].selector, hash, now + 1799, &row) ==
	    STORE_TOKEN_OK);
	/* A wrong secret, or a valid hash under another selector: unknown,
	 * and the row is not used up. */
	token_hash(&toks[2], hash);
	memcpy(wrong, hash, sizeof(wrong));
	wrong[31] ^= 1;
	CHECK(store_token_redeem(st, toks[2].selector, wrong, now + 1, &row) ==
	    STORE_TOKEN_UNKNOWN);
	CHECK(row.id == 0 && row.user[0] == '\0');
	CHECK(store_token_redeem(st, toks[3].selector, hash, now + 1, &row) ==
	    STORE_TOKEN_UNKNOWN);
	CHECK(store_token_redeem(st, "nosuchselect", hash, now + 1, &row) ==
	    STORE_TOKEN_UNKNOWN);
	CHECK(store_token_redeem(st, toks[2].selector, hash, now + 1, &row) ==
	    STORE_TOKEN_OK);

	/* The throttle: one row, counts up, forgets one per quiet period. */
	CHECK(store_web_throttle(st, now, 0, 60, &n) == 0 && n == 0);
	for (i = 1; i <= 3; i++)
		CHECK(store_web_throttle(st, now, 1, 60, &n) == 0 && n == i);
	CHECK(store_web_throttle(st, now + 120, 0, 60, &n) == 0 && n == 1);
	CHECK(store_web_throttle(st, now + 3600, 1, 60, &n) == 0 && n == 1);
	/* A clock stepped back forgets nothing. */
	CHECK(store_web_throttle(st, now, 0, 60, &n) == 0 && n == 1);
	for (i = 0; i < STORE_THROTTLE_MAX + 10; i++)
		store_web_throttle(st, now + 3600, 1, 60, &n);
	CHECK(n == STORE_THROTTLE_MAX);

	/* gatectl token list and revoke: used ones stay, unused ones go. */
	CHECK(store_token_list(st, "alice", &list, &nlist) == 0);
	CHECK(nlist == N + 1 && list && list[0].key_id == kid &&
	    strcmp(list[0].user, "alice") == 0 && list[0].used == now + 1 &&
	    list[0].session_id == 4242424242LL && list[N].used == 0 &&
	    strcmp(list[N].selector, "capcapcapcap") == 0);
	free(list);
	CHECK(store_token_list(st, "nobody", &list, &nlist) == -1 &&
	    err_kind() == ERR_USAGE);
	CHECK(store_token_revoke(st, toks[0].selector, NULL, &revoked) == 0 &&
	    revoked == 0);		/* used: kept */
	CHECK(store_token_revoke(st, "capcapcapcap", NULL, &revoked) == 0 &&
	    revoked == 1);
	CHECK(store_token_revoke(st, NULL, "nobody", &revoked) == -1);

	store_close(st);
	/* Distinct, and nowhere in the files: not the token, not the secret
	 * in either form; the selectors are there (they are public). */
	qsort(toks, N, sizeof(toks[0]), cmp_text);
	for (i = 1; i < N; i++)
		dups += strcmp(toks[i].text, toks[i - 1].text) == 0;
	CHECK(dups == 0);
	for (i = 0; i < N; i += 50) {
		leaks += file_has(path, toks[i].text + TOKEN_PREFIX_LEN +
		    TOKEN_SELECTOR_LEN, TOKEN_SECRET_LEN);
		leaks += file_has(path, toks[i].secret, TOKEN_SECRET_BYTES);
		leaks += file_has(wal, toks[i].secret, TOKEN_SECRET_BYTES);
		leaks += file_has(wal, toks[i].text + TOKEN_PREFIX_LEN +
		    TOKEN_SELECTOR_LEN, TOKEN_SECRET_LEN);
		sel_found += file_has(path, toks[i].selector,
		    TOKEN_SELECTOR_LEN) || file_has(wal, toks[i].selector,
		    TOKEN_SELECTOR_LEN);
	}
	CHECK(leaks == 0);
	CHECK(sel_found == N / 50);	/* the search itself works */

	st = store_open(path, STORE_NOMIGRATE, 1000);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK(store_token_purge(st, now + 1801, &purged) == 0);
	CHECK(purged == N);
	CHECK(store_token_purge(st, now + 1801, &purged) == 0 && purged == 0);
	/* Deleting the key that made a token deletes it (ON DELETE CASCADE). */
	CHECK(store_token_add(st, "cascadecasca", hash, u.id, kid, h.id, "www",
	    now, now + 60, 0) == 0);
	CHECK(store_token_list(st, NULL, &list, &nlist) == 0 && nlist == 1);
	free(list);
	CHECK(store_key_del(st, k.fp) == 0);
	CHECK(store_token_list(st, NULL, &list, &nlist) == 0 && nlist == 0);
	free(list);
	store_close(st);
}

int
main(void)
{
	static const char *const files[] = { "gate.db", "gate.db-wal",
		"gate.db-shm", NULL };
	char p[300];
	int i;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_parse();
	test_store();
	for (i = 0; files[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	if (rmdir(dir) == -1)
		perror(dir);
	return TEST_DONE();
}
