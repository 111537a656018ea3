/*
 * Unit tests for lib/cmdline: commands rebuilt from keystrokes and kept
 * only when the terminal echoed them (THREATS decision 1, rows 21-22).
 * Outputs marked "bash 5.2" were captured from a real bash under a pty.
 */
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "test.h"

#define MAXLINES 256

struct got {
	int n;
	struct {
		char text[CMDLINE_MAX + 1];
		size_t len, rawlen, typed;
		char raw[64];
		int flags;
		long long t;
	} l[MAXLINES];
};

/* A step: keystrokes, then the output that follows them (NULL: none). */
struct step {
	const char *in, *out;
};

static struct got g;

/* Take every decided line, checking what must hold for each. */
static void
drain(struct cmdline *c)
{
	struct cmdline_line l;

	while (cmdline_next(c, &l)) {
		CHECK(l.len <= CMDLINE_MAX && l.rawlen <= CMDLINE_MAX);
		CHECK(strlen(l.text) == l.len);
		if (l.flags & (CMDLINE_NOECHO | CMDLINE_FULLSCREEN))
			CHECK(l.len == 0 && l.rawlen == 0);
		if (g.n == MAXLINES) {
			CHECK(!"too many lines");
			continue;
		}
		memcpy(g.l[g.n].text, l.text, l.len + 1);
		g.l[g.n].len = l.len;
		g.l[g.n].rawlen = l.rawlen;
		memcpy(g.l[g.n].raw, l.raw, l.rawlen < 63 ? l.rawlen : 63);
		g.l[g.n].raw[l.rawlen < 63 ? l.rawlen : 63] = '\0';
		g.l[g.n].typed = l.typed;
		g.l[g.n].flags = l.flags;
		g.l[g.n].t = l.t_ns;
		g.n++;
	}
}

/* Keystrokes, taking lines whenever the rebuilder asks for it. */
static int
in(struct cmdline *c, const char *s, size_t n, long long t)
{
	size_t k;
	int waits = 0;

	while (n > 0) {
		k = cmdline_input(c, s, n, t);
		if (k < n)
			waits++;
		s += k;
		n -= k;
		drain(c);
		if (waits > 100000) {
			CHECK(!"input never taken");
			break;
		}
	}
	drain(c);
	return waits;
}

static void
out(struct cmdline *c, const char *s, size_t n)
{
	cmdline_output(c, s, n);
	drain(c);
}

/* Run a script; step i happens at time i + 1. */
static void
run(const struct step *st)
{
	struct cmdline *c = cmdline_new();
	long long t = 0;

	g.n = 0;
	for (; st->in != NULL || st->out != NULL; st++) {
		t++;
		if (st->in != NULL)
			in(c, st->in, strlen(st->in), t);
		if (st->out != NULL)
			out(c, st->out, strlen(st->out));
	}
	cmdline_finish(c, t + 1);
	drain(c);
	cmdline_free(c);
}

/* Keystrokes in one burst, then output (the echo of a fast typist). */
static void
burst(const char *keys, const char *echo)
{
	struct step st[] = { { keys, echo }, { NULL, NULL } };

	run(st);
}

static void
plain(void)
{
	struct step st[] = {
		{ "l", "l" }, { "s", "s" }, { " ", " " }, { "-", "-" },
		{ "l", "l" }, { "a", "a" }, { "\r", "\r\n" },
		{ NULL, "total 0\r\n$ " }, { NULL, NULL },
	};

	run(st);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ls -la");
	CHECK(g.l[0].flags == 0 && g.l[0].typed == 6 && g.l[0].t == 7);
	CHECK_STR(g.l[0].raw, "ls -la\r");

	/* Typeahead: the echo of a whole line arrives after it. */
	burst("ls\r", "ls\r\n");
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ls");
	CHECK(g.l[0].flags == 0);

	/* Lines typed ahead, echoed back to back (a program reading). */
	burst("ls\rpwd\r", "ls\r\npwd\r\n");
	CHECK(g.n == 2);
	CHECK_STR(g.l[0].text, "ls");
	CHECK_STR(g.l[1].text, "pwd");
	CHECK(g.l[0].flags == 0 && g.l[1].flags == 0);

	/* Typed ahead of the prompt: Enter, C-c, a command without output. */
	{
		struct step ahead[] = {
			{ "\rls", "\r\n$ ls" }, { "\r", "\r\n" },
			{ "cd /tmp\rpw", "cd /tmp\r\n\x1b[?2004h$ pw" },
			{ "\r", "\r\n" },
			{ "abc\x03x", "abc^C\r\n$ x" }, { "\r", "\r\n" },
			{ NULL, NULL },
		};

		run(ahead);
		CHECK(g.n == 4);
		CHECK_STR(g.l[0].text, "ls");
		CHECK_STR(g.l[1].text, "cd /tmp");
		CHECK_STR(g.l[2].text, "pw");
		CHECK_STR(g.l[3].text, "x");
		CHECK(g.l[0].flags == 0 && g.l[1].flags == 0);
		CHECK(g.l[2].flags == 0 && g.l[3].flags == 0);
	}

	/* Escape sequences and OSC / DCS strings hide nothing. */
	burst("ls\r", "\x1b(B\x1b]0;t\x07l\x1bP1$r\x1b\\\x1b[1ms\r\n");
	CHECK(g.n == 1 && g.l[0].flags == 0);

	/* CR LF is one Enter; a lone LF is one too. */
	burst("ls\r\npw\n", "ls\r\npw\r\n");
	CHECK(g.n == 2);
	CHECK_STR(g.l[1].text, "pw");
	CHECK_STR(g.l[1].raw, "\npw\n");

	/* Just Enter, or blanks: nothing to report. */
	burst("\r\r  \r", "\r\n\r\n  \r\n");
	CHECK(g.n == 0);
}

static void
noecho(void)
{
	/* A password prompt: nothing comes back but the newline. */
	struct step pw[] = {
		{ NULL, "Password: " }, { "hunter2\r", NULL }, { NULL, "\r\n" },
		{ NULL, NULL },
	};
	/* bash 5.2: read -s answers nothing at all, then the prompt. */
	struct step rs[] = {
		{ "read -s x\r", "read -s x\r\n\x1b[?2004l\r" },
		{ "hunter2\r", "\x1b[?2004h$ " },
		{ NULL, NULL },
	};
	/* bash 5.2: stty -echo cannot hide that something was typed. */
	struct step stty[] = {
		{ "stty -echo\r", "stty -echo\r\n\x1b[?2004l\r\x1b[?2004h$ " },
		{ "touch /tmp/sg-hidden\r", "\x1b[?2004l\r\r\n\x1b[?2004h$ " },
		{ "stty echo\r", "\x1b[?2004l\r\r\n\x1b[?2004h$ " },
		{ "ok\r", "ok\r\n\x1b[?2004l\rbash: ok: not found\r\n" },
		{ NULL, NULL },
	};
	/* The same, one key at a time. */
	struct step slow[] = {
		{ "t", NULL }, { "o", NULL }, { "u", NULL }, { "c", NULL },
		{ "h", NULL }, { " ", NULL }, { "x", NULL }, { "\r", "\r\n$ " },
		{ NULL, NULL },
	};

	run(pw);
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == CMDLINE_NOECHO && g.l[0].typed == 7);
	CHECK(g.l[0].len == 0 && g.l[0].rawlen == 0);
	CHECK_STR(g.l[0].text, "");

	run(rs);
	CHECK(g.n == 2);
	CHECK_STR(g.l[0].text, "read -s x");
	CHECK(g.l[1].flags == CMDLINE_NOECHO && g.l[1].typed == 7);

	run(stty);
	CHECK(g.n == 4);
	CHECK_STR(g.l[0].text, "stty -echo");
	CHECK(g.l[0].flags == 0);
	CHECK(g.l[1].flags == CMDLINE_NOECHO && g.l[1].typed == 20);
	CHECK(g.l[2].flags == CMDLINE_NOECHO && g.l[2].typed == 9);
	CHECK_STR(g.l[3].text, "ok");

	/* Row 21 typed as one line, echo on while it is typed: all shown. */
	burst("stty -echo; touch /tmp/sg-hidden; stty echo\r",
	    "stty -echo; touch /tmp/sg-hidden; stty echo\r\n$ ");
	CHECK(g.n == 1 && g.l[0].flags == 0);
	CHECK_STR(g.l[0].text, "stty -echo; touch /tmp/sg-hidden; stty echo");

	run(slow);
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_NOECHO);
	CHECK(g.l[0].typed == 7);

	/* A background job printing while a secret is typed unechoed. */
	burst("secret", "setup complete\r\n");
	CHECK(g.n == 1);
	CHECK(g.l[0].flags & CMDLINE_NOECHO);
	CHECK(g.l[0].len == 0);
	{
		struct step bg[] = {
			{ "secret", "setup complete\r\n" }, { "\r", "\r\n" },
			{ NULL, NULL },
		};

		run(bg);
		CHECK(g.n == 1);
		CHECK(g.l[0].flags ==
		    (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
		CHECK(g.l[0].len == 0 && g.l[0].typed == 6);
	}
	/* The secret printed after the newline is not its echo. */
	{
		struct step late[] = {
			{ NULL, "PIN: " }, { "1234\r", NULL },
			{ NULL, "\r\n1234\r\n" }, { NULL, NULL },
		};

		run(late);
		CHECK(g.n == 1 && g.l[0].flags == CMDLINE_NOECHO);
	}
	/* Echo of a visible prefix, then a hidden part: withheld. */
	burst("ab\r", "a\r\n");
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
	/* Typed ahead past a prompt: the echo cannot be told apart. */
	burst("ls\rpwd\r", "ls\r\nfile\r\n$ pwd\r\n");
	CHECK(g.n == 2);
	CHECK_STR(g.l[0].text, "ls");
	CHECK(g.l[1].flags == CMDLINE_NOECHO && g.l[1].len == 0);
	/* Once its echo has begun, a line's echo must come in one piece. */
	{
		struct step st[] = {
			{ "abc", "a-b-c" }, { "\r", "\r\n" }, { NULL, NULL },
		};

		run(st);
		CHECK(g.n == 1);
		CHECK(g.l[0].flags ==
		    (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
	}
	/* Typed ahead of a password prompt, still not echoed. */
	{
		struct step st[] = {
			{ "hunt", "Password: " }, { "er2\r", "\r\n" },
			{ NULL, NULL },
		};

		run(st);
		CHECK(g.n == 1 && g.l[0].flags == CMDLINE_NOECHO);
	}
	/* sudo asking for the password typed ahead with the command. */
	burst("sudo ls\rhunter2\r", "sudo ls\r\n[sudo] password for a: ");
	CHECK(g.n == 2);
	CHECK_STR(g.l[0].text, "sudo ls");
	CHECK(g.l[1].flags == CMDLINE_NOECHO);
}

static void
editing(void)
{
	/* bash 5.2 */
	struct step bs[] = {
		{ "abc", "abc" }, { "\x08", "\x08\x1b[K" },
		{ "\x7f", "\x08\x1b[K" },
		{ "x", "x" }, { "\r", "\r\n" }, { NULL, NULL },
	};
	struct step cu[] = {
		{ "echo abc def", "echo abc def" },
		{ "\x17", "\x08\x08\x08\x1b[K" },
		{ "\x15", "\r\x1b[C\x1b[C\x1b[K" },
		{ "ls", "ls" }, { "\r", "\r\n" }, { NULL, NULL },
	};
	struct step mid[] = {
		{ "echo abc", "echo abc" }, { "\x1b[D", "\x08" },
		{ "\x1b[D", "\x08" }, { "X", "Xbc\x08\x08" }, { "\r", "\r\n" },
		{ NULL, NULL },
	};

	run(bs);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ax");
	CHECK(g.l[0].flags == 0 && g.l[0].typed == 4);
	CHECK_STR(g.l[0].raw, "abc\x08\x7fx\r");

	run(cu);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ls");
	CHECK(g.l[0].flags == 0);

	run(mid);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "echo aXbc");
	CHECK(g.l[0].flags == 0);

	/* Word rubout takes the blanks before the word too. */
	burst("echo abc  \x17x\r", "echo abc  x\r\n");
	CHECK_STR(g.l[0].text, "echo x");
	burst("a b\x02\x02\x02\x17\r", "a b\r\n");	/* at the start */
	CHECK_STR(g.l[0].text, "a b");
	/* Home and End, every spelling. */
	burst("bc\x01" "a\x05" "d\x1b[Hx\x1b[Fy\x1bOHz\x1bOFw\x1b[1~1\x1b[4~4"
	    "\x1b[7~7\x1b[8~8\r", "bcadxyzw1478\r\n");
	CHECK_STR(g.l[0].text, "71zxabcdyw48");
	CHECK(g.l[0].flags == 0);
	/* Delete, C-d and C-k. */
	burst("abcd\x01\x1b[3~\x04\r", "abcd\r\n");
	CHECK_STR(g.l[0].text, "cd");
	burst("abcd\x1b[D\x1b[D\x0b\r", "abcd\r\n");
	CHECK_STR(g.l[0].text, "ab");
	burst("abc\x1bOD\x1bOD\x06\x1b[C\x1b[C" "d\r", "abcd\r\n");
	CHECK_STR(g.l[0].text, "abcd");
	/* C-d on an empty line is EOF: the line is gone, nothing kept. */
	burst("ab\x7f\x7f\x04", "ab");
	CHECK(g.n == 0);
	/* UTF-8: one character per cursor move and per rubout. */
	burst("\xc3\xa9x\x1b[D\x1b[D" "a\x1b[F\x1b[D\x7f\r",
	    "\xc3\xa9x" "a\r\n");
	CHECK_STR(g.l[0].text, "ax");
	CHECK(g.l[0].flags == 0 && g.l[0].typed == 4);
	/* C-v inserts the next key as it is: C-c does not discard. */
	burst("a\x16\x03" "b\r", "ab\r\n");
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ab");
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);
	/* A key sequence with a private marker is no key we know. */
	burst("ab\x1b[D\x1b[?3~\r", "ab\r\n");
	CHECK_STR(g.l[0].text, "ab");
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);
	/* Focus reports are not keys. */
	burst("a\x1b[Ib\x1b[O\r", "ab\r\n");
	CHECK_STR(g.l[0].text, "ab");
	CHECK(g.l[0].flags == 0);
	/* Over CMDLINE_MAX: cut, flagged, still checked for echo. */
	{
		static char big[CMDLINE_MAX + 13], echo[CMDLINE_MAX + 13];

		memset(big, 'a', CMDLINE_MAX + 10);
		big[CMDLINE_MAX + 10] = '\r';
		memset(echo, 'a', CMDLINE_MAX + 10);
		memcpy(echo + CMDLINE_MAX + 10, "\r\n", 2);
		burst(big, echo);
		CHECK(g.n == 1 && g.l[0].len == CMDLINE_MAX);
		CHECK(g.l[0].flags == CMDLINE_TRUNCATED);
		CHECK(g.l[0].typed == CMDLINE_MAX + 10);
		CHECK(g.l[0].rawlen == CMDLINE_MAX);
	}
}

static void
paste(void)
{
	/* bash 5.2: pasted lines run only at the Enter after the paste. */
	struct step st[] = {
		{ "\x1b[200~echo a\recho b\r\x1b[201~",
		    "\x1b[7mecho a\x1b[27m\r\n\r\x1b[7mecho b\x1b[27m\r\n\r" },
		{ "\r", "\x1b[A\x1b[A\x1b[C\x1b[Cecho a\r\n\recho b\r\n\r"
		    "\x1b[A\r\n\x1b[?2004l\ra\r\nb\r\n\x1b[?2004h$ " },
		{ NULL, NULL },
	};
	struct step cancel[] = {
		{ "\x1b[200~rm -rf /tmp/x\r\x1b[201~", "rm -rf /tmp/x\r\n" },
		{ "\x03", "^C\r\n$ " }, { NULL, NULL },
	};

	run(st);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "echo a\necho b\n");
	CHECK(g.l[0].flags == CMDLINE_PASTE && g.l[0].typed == 14);
	run(cancel);
	CHECK(g.n == 0);

	/* Typed text around a paste; CR LF inside is one newline. */
	burst("x\x1b[200~a\r\nb\x1b[201~y\r", "xa\r\nby\r\n");
	CHECK_STR(g.l[0].text, "xa\nby");
	CHECK(g.l[0].flags == CMDLINE_PASTE);
	/* ESC in a paste that is not its end: kept as text, uncertain. */
	burst("\x1b[200~a\x1b[2xb\x1b\x1b[201~\r", "a[2xb\r\n");
	CHECK_STR(g.l[0].text, "a[2xb");
	CHECK(g.l[0].flags == (CMDLINE_PASTE | CMDLINE_UNCERTAIN));
	/* A tab pasted is shown as blanks: not followed, not guessed. */
	burst("\x1b[200~a\tb\x1b[201~\r", "\x1b[7ma     b\x1b[27m\r\n");
	CHECK(g.l[0].flags & CMDLINE_UNCERTAIN);
	CHECK(g.l[0].flags & CMDLINE_NOECHO);
}

static void
uncertainty(void)
{
	struct step cc[] = {	/* bash 5.2 */
		{ "ls", "ls" },
		{ "\x03", "^C\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\n"
		    "\x1b[?2004h$ " },
		{ "pw", "pw" }, { "\r", "\r\n" }, { NULL, NULL },
	};
	struct step tab[] = {
		{ "ec", "ec" }, { "\t", "ho " }, { "x", "x" }, { "\r", "\r\n" },
		{ NULL, NULL },
	};
	struct step up[] = {
		{ "\x1b[A", "echo hello" }, { "\r", "\r\nhello\r\n" },
		{ NULL, NULL },
	};
	struct step search[] = {	/* bash 5.2: C-r */
		{ "\x12", "\r(reverse-i-search)`': " },
		{ "e", "\x08\x08\x08" "e': echo h\x1b[7me\x1b[27mllo\x08\x08" },
		{ "\r", "\r\x1b[22P$ echo hello\r\nhello\r\n" },
		{ NULL, NULL },
	};

	run(cc);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "pw");

	run(tab);
	CHECK(g.n == 1);
	CHECK_STR(g.l[0].text, "ecx");
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);

	/* History recall entered: a command ran; say so, guess nothing. */
	run(up);
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN && g.l[0].len == 0);
	CHECK(g.l[0].typed == 0);
	burst("\x1bOA\r", "x\r\n");
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_UNCERTAIN);
	burst("\x10\r\x0e\r", "");
	CHECK(g.n == 2);
	/* An up arrow then Ctrl-D is not EOF: the line is not empty. */
	burst("\x1b[A\x04\r", "");
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_UNCERTAIN);

	run(search);
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);

	/* Alt keys, modified and unknown keys, C-o, C-x, C-y, C-t. */
	burst("ab\x1b" "bc\r", "abc\r\n");
	CHECK_STR(g.l[0].text, "abc");
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);
	burst("a\x1b[1;5Cb\x1b[6~\x1b[Zc\r", "abc\r\n");
	CHECK_STR(g.l[0].text, "abc");
	CHECK(g.l[0].flags == CMDLINE_UNCERTAIN);
	burst("a\x0f\r", "a\r\n");
	CHECK(g.n == 2);
	CHECK(g.l[0].flags == 0 && g.l[1].flags == CMDLINE_UNCERTAIN);
	burst("a\x18\x19\x14\r", "a\r\n");
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_UNCERTAIN);
	/* ESC then Enter: still entered. */
	burst("a\x1b\r", "a\r\n");
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_UNCERTAIN);
}

/* The same keys and output, cut anywhere, give the same lines. */
static void
splits(void)
{
	static const char keys[] =
	    "echo ab\x1b[D\x1b[DX\x1b[3~\x1bOH#\x1b[F\x1b[200~p q\x1b[201~"
	    "\x1b[1~\x1b[4~\x1bOD\x1bOC\r"
	    "x\x1b[1;5Cy\r"
	    "\x1b[200~m\x1b[20n\r\n\x1b[201~\r";
	static const char echo[] =
	    "\x1b]0;title\x07" "echo \x1b[7mab\x1b[27mX#\x1b(Bp q\r\n"
	    "x\x1bP+q\x1b\\y\r\n"
	    "m[20n\r\n\r\n";
	struct got want;
	size_t k, nk = sizeof(keys) - 1, ne = sizeof(echo) - 1, i;
	struct cmdline *c;
	int ok;

	burst(keys, echo);
	CHECK(g.n == 3);
	CHECK_STR(g.l[0].text, "#echo Xbp q");
	CHECK(g.l[0].flags == CMDLINE_PASTE);
	CHECK_STR(g.l[1].text, "xy");
	CHECK(g.l[1].flags == CMDLINE_UNCERTAIN);
	CHECK_STR(g.l[2].text, "m[20n\n");
	CHECK(g.l[2].flags == (CMDLINE_PASTE | CMDLINE_UNCERTAIN));
	want = g;

	for (k = 0; k <= nk + ne; k++) {
		c = cmdline_new();
		g.n = 0;
		if (k <= nk) {	/* keys cut at k */
			in(c, keys, k, 1);
			in(c, keys + k, nk - k, 1);
			out(c, echo, ne);
		} else {	/* output cut at k - nk */
			in(c, keys, nk, 1);
			out(c, echo, k - nk);
			out(c, echo + (k - nk), ne - (k - nk));
		}
		cmdline_finish(c, 2);
		drain(c);
		cmdline_free(c);
		ok = g.n == want.n;
		for (i = 0; ok && i < (size_t)g.n; i++)
			ok = strcmp(g.l[i].text, want.l[i].text) == 0 &&
			    g.l[i].flags == want.l[i].flags;
		if (!ok)
			fprintf(stderr, "cut at %zu differs\n", k);
		CHECK(ok);
	}
	/* One byte at a time, both streams. */
	c = cmdline_new();
	g.n = 0;
	for (i = 0; i < nk; i++)
		in(c, keys + i, 1, 1);
	for (i = 0; i < ne; i++)
		out(c, echo + i, 1);
	cmdline_finish(c, 2);
	drain(c);
	cmdline_free(c);
	CHECK(g.n == want.n);
	for (i = 0; i < (size_t)g.n && i < (size_t)want.n; i++)
		CHECK(strcmp(g.l[i].text, want.l[i].text) == 0 &&
		    g.l[i].flags == want.l[i].flags);
}

static void
fullscreen(void)
{
	struct step vim[] = {
		{ "vim f\r", "vim f\r\n" },
		{ NULL, "\x1b[?1049h\x1b[22;0;0t\x1b[H\x1b[2J~\r\n~" },
		{ "i", NULL }, { "hello", "hello" }, { "\x1b:wq\r", ":wq" },
		{ NULL, "\x1b[?1049l\x1b[23;0;0t\r$ " },
		{ "ls\r", "ls\r\n" }, { NULL, NULL },
	};
	static const char on[] = "x\x1b[?1;1049h";
	static const char off[] = "\x1b[?1049;1l";
	struct cmdline *c;
	size_t k;

	run(vim);
	CHECK(g.n == 3);
	CHECK_STR(g.l[0].text, "vim f");
	CHECK(g.l[1].flags == CMDLINE_FULLSCREEN && g.l[1].typed == 11);
	CHECK(g.l[1].len == 0 && g.l[1].t == 5);
	CHECK_STR(g.l[2].text, "ls");
	CHECK(g.l[2].flags == 0);

	/* The line being typed is dropped when a full-screen one starts. */
	{
		struct step st[] = {
			{ "abc", "abc" }, { NULL, "\x1b[?47h" }, { "q", NULL },
			{ NULL, "\x1b[?47l" }, { "d\r", "d\r\n" },
			{ NULL, NULL },
		};

		run(st);
		CHECK(g.n == 2);
		CHECK(g.l[0].flags == CMDLINE_FULLSCREEN && g.l[0].typed == 1);
		CHECK_STR(g.l[1].text, "d");
	}
	/* Switched on and off with every cut of the sequences. */
	for (k = 0; k <= sizeof(on) - 1; k++) {
		c = cmdline_new();
		g.n = 0;
		out(c, on, k);
		out(c, on + k, sizeof(on) - 1 - k);
		(void)in(c, "q:q", 3, 1);
		CHECK(cmdline_fullscreen_bytes(c) == 3);
		out(c, off, k < sizeof(off) - 1 ? k : 0);
		out(c, off + (k < sizeof(off) - 1 ? k : 0),
		    sizeof(off) - 1 - (k < sizeof(off) - 1 ? k : 0));
		in(c, "ok\r", 3, 2);
		out(c, "ok\r\n", 4);
		cmdline_finish(c, 3);
		drain(c);
		cmdline_free(c);
		CHECK(g.n == 2);
		CHECK(g.l[0].flags == CMDLINE_FULLSCREEN);
		CHECK_STR(g.l[1].text, "ok");
	}
	/* The session ends in a full-screen program; RIS leaves it. */
	burst("x", "\x1b[?1049h");
	CHECK(g.n == 0);
	{
		struct step st[] = {
			{ NULL, "\x1b[?1049h" }, { "abc", NULL },
			{ NULL, NULL },
		};
		struct step ris[] = {
			{ NULL, "\x1b[?1049h" }, { "q", NULL },
			{ NULL, "\x1b" "c" },
			{ "l\r", "l\r\n" }, { NULL, NULL },
		};

		run(st);
		CHECK(g.n == 1 && g.l[0].flags == CMDLINE_FULLSCREEN);
		CHECK(g.l[0].typed == 3);
		run(ris);
		CHECK(g.n == 2);
		CHECK_STR(g.l[1].text, "l");
	}
	/* Not a DECSET: no full screen. */
	{
		struct step st[] = {
			{ NULL, "\x1b[1049h\x1b[?1049$h\x1b[>1049h" },
			{ "ls\r", "ls\r\n" }, { NULL, NULL },
		};

		run(st);
		CHECK(g.n == 1);
		CHECK_STR(g.l[0].text, "ls");
	}
}

static void
gap_finish(void)
{
	struct cmdline *c = cmdline_new();

	g.n = 0;
	CHECK(in(c, "ok\r", 3, 1) == 0);
	out(c, "ok\r\n", 4);
	CHECK(in(c, "ls\rpw", 5, 2) == 0);
	out(c, "l", 1);
	CHECK(g.n == 1);
	cmdline_gap(c);
	drain(c);
	CHECK(g.n == 3);
	CHECK_STR(g.l[0].text, "ok");
	CHECK(g.l[1].flags == (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
	CHECK(g.l[1].typed == 2 && g.l[1].t == 2);
	CHECK(g.l[2].flags == (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
	CHECK(g.l[2].typed == 2);
	/* Entered, nothing back yet: not called unechoed either. */
	in(c, "ls\r", 3, 3);
	cmdline_gap(c);
	drain(c);
	CHECK(g.n == 4);
	CHECK(g.l[3].flags == (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO));
	g.n = 3;
	/* Afresh after the gap, even mid-sequence. */
	in(c, "\x1b[", 2, 3);
	cmdline_gap(c);
	in(c, "Ab\r", 3, 4);
	out(c, "Ab\r\n", 4);
	CHECK(g.n == 4);
	CHECK_STR(g.l[3].text, "Ab");
	CHECK(g.l[3].flags == 0);
	cmdline_finish(c, 5);
	drain(c);
	CHECK(g.n == 4);
	cmdline_free(c);

	/* The line never entered: reported, text only if echoed. */
	{
		struct step st[] = {
			{ "rm -rf x", "rm -rf x" }, { NULL, NULL },
		};

		run(st);
		CHECK(g.n == 1);
		CHECK_STR(g.l[0].text, "rm -rf x");
		CHECK(g.l[0].flags == CMDLINE_UNCOMMITTED && g.l[0].t == 2);
	}
	burst("secret", NULL);
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == (CMDLINE_UNCOMMITTED | CMDLINE_NOECHO));
	CHECK(g.l[0].typed == 6 && g.l[0].len == 0);
	/* Entered, echo still on its way at the end: not echoed. */
	burst("ls\r", NULL);
	CHECK(g.n == 1 && g.l[0].flags == CMDLINE_NOECHO);
	/* An up arrow never entered is nothing. */
	burst("\x1b[A", NULL);
	CHECK(g.n == 0);

	cmdline_free(NULL);
}

static void
bounds(void)
{
	static char keys[200 * 2 + 1], echo[9000 + 3];
	struct cmdline *c;
	int i, waits, ok;

	/* More lines than CMDLINE_PENDING in one read, no echo yet. */
	for (i = 0; i < 200; i++)
		memcpy(keys + 2 * i, "a\r", 2);
	c = cmdline_new();
	g.n = 0;
	waits = in(c, keys, 400, 1);
	CHECK(waits > 0);
	cmdline_finish(c, 2);
	drain(c);
	cmdline_free(c);
	CHECK(g.n == 200);
	for (i = 0, ok = 1; i < g.n; i++)
		ok &= g.l[i].flags == CMDLINE_NOECHO && g.l[i].typed == 1;
	CHECK(ok);

	/* Lines left undrained: input waits until they are taken. */
	c = cmdline_new();
	for (i = 0; i < CMDLINE_PENDING; i++) {
		CHECK(cmdline_input(c, "x\r", 2, 1) == 2);
		cmdline_output(c, "x\r\n", 3);
	}
	CHECK(cmdline_input(c, "y\r", 2, 1) == 0);
	cmdline_finish(c, 2);
	g.n = 0;
	drain(c);
	CHECK(g.n == CMDLINE_PENDING);
	CHECK(cmdline_input(c, "y\r", 2, 1) == 2);
	cmdline_free(c);

	/* More typed than the echo queue holds: the oldest give way. */
	memset(echo, 'a', 9000);
	memcpy(echo + 9000, "\r\n", 3);
	c = cmdline_new();
	g.n = 0;
	in(c, echo, 9000, 1);
	out(c, echo, 9002);
	in(c, "\r", 1, 2);
	cmdline_finish(c, 3);
	drain(c);
	cmdline_free(c);
	CHECK(g.n == 1);
	CHECK(g.l[0].flags == (CMDLINE_NOECHO | CMDLINE_PARTIAL_ECHO |
	    CMDLINE_TRUNCATED));
	CHECK(g.l[0].typed == 9000 && g.l[0].len == 0);
}

int
main(void)
{
	plain();
	noecho();
	editing();
	paste();
	uncertainty();
	splits();
	fullscreen();
	gap_finish();
	bounds();
	return TEST_DONE();
}
