/*
 * cmdline: rebuilds the command lines a user typed, for the searchable
 * history, from the two streams gate-shell relays: the keystrokes going
 * to the target and the terminal output coming back.
 *
 * Keystrokes drive a model of a readline-style line editor (insert,
 * rubout, C-u, C-w, C-k, cursor keys, Delete, bracketed paste; C-c and
 * EOF discard, Enter commits). Keys whose effect depends on state the
 * gate cannot see (Tab completion, history, search, yank, Alt keys,
 * unknown sequences) leave the text as rebuilt and flag the line
 * CMDLINE_UNCERTAIN rather than guess.
 *
 * Typed text is kept only when the target echoed it (THREATS decision 1):
 * every printable byte typed waits in a queue until the same byte shows up
 * as the next visible byte of the output. Other visible output, or a
 * newline, ends the wait of the oldest line: its bytes count as not
 * echoed. (Only a line still being typed, none of it echoed yet, lets
 * output other than a newline pass: a prompt drawn after the user began
 * typing ahead.) A line with any byte not echoed keeps only its byte count
 * (CMDLINE_NOECHO), never its text or keystrokes, so `stty -echo` leaves a
 * marker and a password never leaves a trace.
 *
 * While the target shows the alternate screen (an editor, a pager), input
 * is counted, not rebuilt. All memory is allocated by cmdline_new(); the
 * work per byte is bounded (amortised: a queued byte is dropped once).
 */
#ifndef SSHGATE_CMDLINE_H
#define SSHGATE_CMDLINE_H

#include <stddef.h>

#define CMDLINE_MAX	4096	/* bytes of text (and of keystrokes) kept */
#define CMDLINE_PENDING	64	/* lines held until cmdline_next() takes them */
#define CMDLINE_QUEUE	8192	/* typed bytes waiting for their echo */

enum {
	/* Bytes typed were not echoed: text and keystrokes withheld. */
	CMDLINE_NOECHO = 1,
	/* With NOECHO: some of them were; the echo was uncertain. */
	CMDLINE_PARTIAL_ECHO = 2,
	/* Keys the gate cannot follow (Tab, history, search, Alt...). */
	CMDLINE_UNCERTAIN = 4,
	CMDLINE_PASTE = 8,		/* holds bracketed-paste text */
	CMDLINE_TRUNCATED = 16,		/* text or keystrokes cut short */
	CMDLINE_UNCOMMITTED = 32,	/* never entered: the session ended */
	/* A marker: keys typed in a full-screen program, not rebuilt. */
	CMDLINE_FULLSCREEN = 64,
};

struct cmdline_line {
	/*
	 * The command as rebuilt, NUL-terminated; "" when withheld. It may
	 * hold '\n' (pasted lines) and any byte but NUL, other controls and
	 * DEL, valid UTF-8 or not: escape it before printing.
	 */
	const char *text;
	size_t len;
	/*
	 * The keystrokes, not NUL-terminated: the bytes typed from the
	 * line's start (after the previous Enter, C-c or EOF) to its Enter.
	 * rawlen is 0 when withheld.
	 */
	const char *raw;
	size_t rawlen;
	/*
	 * Printable bytes typed or pasted for the line, deleted ones and
	 * pasted newlines too; for a FULLSCREEN marker, every byte typed.
	 */
	size_t typed;
	int flags;		/* CMDLINE_* */
	long long t_ns;		/* when it was entered, on the caller's clock */
};

/* A new rebuilder, or NULL when out of memory. Free with cmdline_free(). */
struct cmdline *cmdline_new(void);
/*
 * Feed keystrokes read from the user at t_ns. Returns how many bytes of
 * buf were taken: all of them, unless CMDLINE_PENDING lines wait to be
 * taken with cmdline_next(); take them and call again with the rest.
 */
size_t cmdline_input(struct cmdline *c, const char *buf, size_t n,
    long long t_ns) __attribute__((warn_unused_result));
/* Feed terminal output read from the target. Takes all of it. */
void cmdline_output(struct cmdline *c, const char *buf, size_t n);
/*
 * The next decided line, in the order lines were entered. Returns 1 and
 * fills *out, which points into c and stays valid until the next call
 * into c; returns 0 when no line is decided yet. Call it until it returns
 * 0 after every cmdline_input(), cmdline_output(), _gap() and _finish().
 */
int cmdline_next(struct cmdline *c, struct cmdline_line *out);
/*
 * The caller lost input or output (a buffer overflowed): every line not
 * yet decided, and the one being typed, becomes NOECHO | PARTIAL_ECHO,
 * and the editor starts afresh.
 */
void cmdline_gap(struct cmdline *c);
/*
 * End of session at t_ns: the line being typed is reported UNCOMMITTED
 * (text withheld unless fully echoed), and every line still waiting for
 * echo is decided with what came back.
 */
void cmdline_finish(struct cmdline *c, long long t_ns);
/* Bytes typed while a full-screen program was showing, this session. */
unsigned long long cmdline_fullscreen_bytes(const struct cmdline *c);
/* Scrub and release c; cmdline_free(NULL) does nothing. */
void cmdline_free(struct cmdline *c);

#endif
