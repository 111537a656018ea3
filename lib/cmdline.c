/*
 * cmdline: a line-editor model over the keystrokes, an echo queue over
 * the output, and a ring of lines waiting for the caller.
 *
 * The ring holds CMDLINE_PENDING entered lines (waiting for echo, or
 * decided and waiting for cmdline_next()) and, after them, the line being
 * typed. Each byte in the echo queue names its line by slot and sequence
 * number; a line discarded (C-c, EOF) gets a new number in the same slot,
 * so its bytes still in the queue match nothing and are simply dropped.
 *
 * Besides the bytes typed, the queue holds "soft" entries: output a key is
 * expected to cause (the newline after Enter, the "^C" after C-c). They
 * are taken when that output shows and passed over when it does not, and
 * never count for or against a line; they only keep what follows in step.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

/* The entered lines, and the one being typed. */
#define NREC	(CMDLINE_PENDING + 1)

_Static_assert(NREC <= 256, "queue entries name their slot in a byte");

enum rstate {
	R_CUR,		/* being typed */
	R_WAIT,		/* entered, bytes still wait for their echo */
	R_DONE,		/* decided, for cmdline_next() */
	R_SKIP,		/* decided, nothing worth reporting */
};

struct rec {
	uint32_t seq;
	enum rstate state;
	int flags;
	int forced;		/* cmdline_gap(): never call it echoed */
	size_t len, cur;	/* text and cursor (a byte offset) */
	size_t rawlen;
	size_t typed, echoed, missed, queued;
	long long t_ns;
	char text[CMDLINE_MAX + 1];
	char raw[CMDLINE_MAX];
};

struct qent {
	uint32_t seq;
	unsigned char slot;
	unsigned char c;	/* the byte typed; '\n' for a pasted newline */
	unsigned char soft;	/* expected output, not a byte typed */
};

enum istate { I_GROUND, I_ESC, I_CSI, I_SS3, I_QUOTED, I_PASTE };
enum ostate { O_GROUND, O_ESC, O_ESC_INT, O_CSI, O_STR };

struct cmdline {
	struct rec rec[NREC];
	size_t head, nrec;	/* entered lines: rec[head], ... */
	int held;		/* rec[head] is out with cmdline_next() */
	uint32_t nextseq;
	long long now;		/* t_ns of the latest input */

	struct qent q[CMDLINE_QUEUE];
	size_t qhead, qlen;

	/* keystroke parser */
	enum istate ist;
	int last_cr;		/* CR LF is one Enter */
	int inpar, ip0, ipriv, ibad;	/* CSI: parameters, the first */
	size_t ilen;
	int pend;		/* bytes of "\033[201~" matched in a paste */

	/* output parser: only what hides echo, and the alternate screen */
	enum ostate ost;
	int onum, ofirst, opriv, ointer, oalt;
	int alt;
	unsigned long long fullscreen;
};

static const char paste_end[] = "\033[201~";

/* The line being typed: the slot after the entered ones. */
static struct rec *
typing(struct cmdline *c)
{
	return &c->rec[(c->head + c->nrec) % NREC];
}

static void
scrub(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* Make r a fresh, empty line being typed, forgetting what it held. */
static void
rec_init(struct cmdline *c, struct rec *r)
{
	scrub(r->text, r->len);
	scrub(r->raw, r->rawlen);
	r->seq = c->nextseq++;
	r->state = R_CUR;
	r->flags = c->alt ? CMDLINE_FULLSCREEN : 0;
	r->forced = 0;
	r->len = r->cur = r->rawlen = 0;
	r->typed = r->echoed = r->missed = r->queued = 0;
	r->t_ns = 0;
	r->text[0] = '\0';
}

static int
blank(const struct rec *r)
{
	size_t i;

	for (i = 0; i < r->len; i++)
		if (r->text[i] != ' ' && r->text[i] != '\t' &&
		    r->text[i] != '\n')
			return 0;
	return 1;
}

/* Every byte of an entered line has come back or been given up: decide. */
static void
decide(struct rec *r)
{
	int worth;

	/*
	 * Secrecy first: one byte not echoed withholds the whole line. A
	 * line echoed in part may be a password typed after a visible
	 * prefix just as well as an echo the gate failed to follow; it only
	 * gets PARTIAL_ECHO so its marker can say the echo was uncertain.
	 */
	if (r->forced || r->missed > 0) {
		r->flags |= CMDLINE_NOECHO;
		if (r->forced || r->echoed > 0)
			r->flags |= CMDLINE_PARTIAL_ECHO;
		scrub(r->text, r->len);
		scrub(r->raw, r->rawlen);
		r->len = r->rawlen = 0;
	}
	r->text[r->len] = '\0';
	/*
	 * Blank lines are noise, but not a history recall entered (an empty
	 * but uncertain line ran something) nor any marker.
	 */
	worth = (r->flags & (CMDLINE_NOECHO | CMDLINE_FULLSCREEN)) ||
	    !blank(r) || ((r->flags & CMDLINE_UNCERTAIN) &&
	    !(r->flags & CMDLINE_UNCOMMITTED));
	r->state = worth ? R_DONE : R_SKIP;
}

/* Take the front byte off the echo queue, echoed or not. */
static void
pop(struct cmdline *c, int echoed)
{
	struct qent *e = &c->q[c->qhead];
	struct rec *r = &c->rec[e->slot];

	c->qhead = (c->qhead + 1) % CMDLINE_QUEUE;
	c->qlen--;
	e->c = 0;
	if (e->soft || r->seq != e->seq ||
	    (r->state != R_CUR && r->state != R_WAIT))
		return;		/* expected output, a discarded line's */
	r->queued--;
	if (echoed)
		r->echoed++;
	else
		r->missed++;
	if (r->queued == 0 && r->state == R_WAIT)
		decide(r);
}

/* Give up on every queued byte of the front line: not echoed. */
static void
drop_front(struct cmdline *c)
{
	uint32_t seq = c->q[c->qhead].seq;
	unsigned char slot = c->q[c->qhead].slot;

	while (c->qlen > 0 && c->q[c->qhead].seq == seq &&
	    c->q[c->qhead].slot == slot)
		pop(c, 0);
}

/*
 * The line being typed is entered (or closed as a marker): it joins the
 * ring and a fresh line follows it.
 */
static void
close_cur(struct cmdline *c, long long t_ns)
{
	struct rec *r = typing(c);

	/*
	 * Cannot happen: input waits while CMDLINE_PENDING lines are held
	 * (room()), and only input gives the line being typed content.
	 */
	if (c->nrec >= CMDLINE_PENDING) {
		rec_init(c, r);
		return;
	}
	r->t_ns = t_ns;
	r->state = R_WAIT;
	c->nrec++;
	rec_init(c, typing(c));
	if (r->queued == 0)
		decide(r);
}

/* Forget the line being typed (C-c, EOF, a full-screen program). */
static void
discard(struct cmdline *c)
{
	rec_init(c, typing(c));
}

/* The line handed out by cmdline_next() is no longer needed. */
static void
release(struct cmdline *c)
{
	struct rec *r;

	if (!c->held)
		return;
	c->held = 0;
	r = &c->rec[c->head];
	scrub(r->text, r->len);
	scrub(r->raw, r->rawlen);
	r->len = r->rawlen = 0;
	c->head = (c->head + 1) % NREC;
	c->nrec--;
}

/* Lines decided as not worth reporting leave once they are in front. */
static void
reap(struct cmdline *c)
{
	while (c->nrec > 0 && c->rec[c->head].state == R_SKIP) {
		c->held = 1;
		release(c);
	}
}

/*
 * Is there room for another entered line? When CMDLINE_PENDING are held,
 * the oldest, if still waiting, is decided now with what has come back;
 * once it is decided only the caller can make room.
 */
static int
room(struct cmdline *c)
{
	struct rec *r;

	for (;;) {
		reap(c);
		if (c->nrec < CMDLINE_PENDING)
			return 1;
		r = &c->rec[c->head];
		if (r->state != R_WAIT)
			return 0;
		/* Its bytes are the oldest in the queue that still count. */
		while (r->queued > 0 && c->qlen > 0)
			drop_front(c);
		if (r->state == R_WAIT) {	/* counts astray: withhold */
			r->forced = 1;
			r->queued = 0;
			decide(r);
		}
	}
}

/* --- the line editor ---------------------------------------------- */

static int
cont(unsigned char b)
{
	return (b & 0xc0) == 0x80;
}

/* Cursor moves step over a UTF-8 sequence as one character. */
static size_t
prev_char(const struct rec *r, size_t pos)
{
	int k;

	if (pos == 0)
		return 0;
	pos--;
	for (k = 0; k < 3 && pos > 0 && cont((unsigned char)r->text[pos]);
	    k++)
		pos--;
	return pos;
}

static size_t
next_char(const struct rec *r, size_t pos)
{
	int k;

	if (pos >= r->len)
		return r->len;
	pos++;
	for (k = 0; k < 3 && pos < r->len && cont((unsigned char)r->text[pos]);
	    k++)
		pos++;
	return pos;
}

/* Remove text[from, to) and leave the cursor at from. */
static void
cut(struct rec *r, size_t from, size_t to)
{
	memmove(r->text + from, r->text + to, r->len - to);
	r->len -= to - from;
	scrub(r->text + r->len, to - from);
	r->cur = from;
}

static int
space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

/* Queue b as output the line being typed waits for. */
static void
expect(struct cmdline *c, unsigned char b, int soft)
{
	struct rec *r = typing(c);
	struct qent *e;

	/* The oldest bytes give way; their lines count them as not echoed. */
	if (c->qlen == CMDLINE_QUEUE)
		drop_front(c);
	e = &c->q[(c->qhead + c->qlen) % CMDLINE_QUEUE];
	e->seq = r->seq;
	e->slot = (unsigned char)((c->head + c->nrec) % NREC);
	e->c = b;
	e->soft = (unsigned char)soft;
	c->qlen++;
	if (!soft) {
		r->typed++;
		r->queued++;
	}
}

/* A byte that reaches the line: counted, queued for its echo, inserted. */
static void
insert(struct cmdline *c, unsigned char b)
{
	struct rec *r = typing(c);

	expect(c, b, 0);
	if (r->flags & CMDLINE_TRUNCATED)
		return;
	if (r->len == CMDLINE_MAX) {
		r->flags |= CMDLINE_TRUNCATED;
		return;
	}
	memmove(r->text + r->cur + 1, r->text + r->cur, r->len - r->cur);
	r->text[r->cur++] = (char)b;
	r->len++;
}

static void
enter(struct cmdline *c)
{
	struct rec *r = typing(c);

	expect(c, '\n', 1);
	/* Enter on a line never typed into reports nothing: no slot used. */
	if (r->typed == 0 && !(r->flags & CMDLINE_UNCERTAIN))
		discard(c);
	else
		close_cur(c, c->now);
}

static void
uncertain(struct cmdline *c)
{
	typing(c)->flags |= CMDLINE_UNCERTAIN;
}

/* A byte outside any sequence. */
static void
key(struct cmdline *c, unsigned char b, int after_cr)
{
	struct rec *r = typing(c);
	size_t p;

	if (b >= 0x20 && b != 0x7f) {
		insert(c, b);
		return;
	}
	switch (b) {
	case 0x01:		/* C-a */
		r->cur = 0;
		break;
	case 0x02:		/* C-b */
		r->cur = prev_char(r, r->cur);
		break;
	case 0x03:		/* C-c */
		expect(c, '^', 1);
		expect(c, 'C', 1);
		expect(c, '\n', 1);
		discard(c);
		break;
	case 0x04:		/* C-d: EOF on an empty line, else delete */
		if (r->len == 0 && !(r->flags & CMDLINE_UNCERTAIN))
			discard(c);
		else if (r->cur < r->len)
			cut(r, r->cur, next_char(r, r->cur));
		break;
	case 0x05:		/* C-e */
		r->cur = r->len;
		break;
	case 0x06:		/* C-f */
		r->cur = next_char(r, r->cur);
		break;
	case 0x07:		/* C-g, C-l, C-z, C-\: the line stays */
	case 0x0c:
	case 0x1a:
	case 0x1c:
		break;
	case 0x08:		/* BS, DEL */
	case 0x7f:
		/*
		 * At the end of the line a terminal without "clear to end of
		 * line" rubs out with "\b \b": that space may come first.
		 */
		if (r->cur > 0 && r->cur == r->len)
			expect(c, ' ', 1);
		cut(r, prev_char(r, r->cur), r->cur);
		break;
	case 0x0a:
		if (after_cr)	/* the LF of CR LF */
			break;
		enter(c);
		break;
	case 0x0d:
		enter(c);
		c->last_cr = 1;
		break;
	case 0x0b:		/* C-k */
		scrub(r->text + r->cur, r->len - r->cur);
		r->len = r->cur;
		break;
	case 0x0f:		/* C-o: runs the line, recalls the next one */
		enter(c);
		uncertain(c);
		break;
	case 0x15:		/* C-u */
		cut(r, 0, r->cur);
		break;
	case 0x16:		/* C-v: the next key is inserted as it is */
		c->ist = I_QUOTED;
		break;
	case 0x17:		/* C-w: unix-word-rubout */
		p = r->cur;
		while (p > 0 && space(r->text[p - 1]))
			p--;
		while (p > 0 && !space(r->text[p - 1]))
			p--;
		cut(r, p, r->cur);
		break;
	case 0x1b:
		c->ist = I_ESC;
		break;
	default:		/* Tab, C-n, C-p, C-r, C-s, C-t, C-x, C-y ... */
		uncertain(c);
		break;
	}
}

/* The final byte of a CSI sequence typed: a cursor or editing key. */
static void
csi_key(struct cmdline *c, unsigned char f)
{
	struct rec *r = typing(c);
	int plain = c->inpar == 0 || (c->inpar == 1 && c->ip0 <= 1);

	if (c->ibad || c->ipriv) {
		uncertain(c);
		return;
	}
	if (plain && f == 'C') {
		r->cur = next_char(r, r->cur);
	} else if (plain && f == 'D') {
		r->cur = prev_char(r, r->cur);
	} else if (plain && f == 'H') {
		r->cur = 0;
	} else if (plain && f == 'F') {
		r->cur = r->len;
	} else if (f == '~' && c->inpar == 1) {
		switch (c->ip0) {
		case 1:
		case 7:
			r->cur = 0;
			break;
		case 4:
		case 8:
			r->cur = r->len;
			break;
		case 3:
			if (r->cur < r->len)
				cut(r, r->cur, next_char(r, r->cur));
			break;
		case 200:
			c->ist = I_PASTE;
			c->pend = 0;
			break;
		case 201:	/* a paste end with no start: nothing */
			break;
		default:	/* Insert (overwrite), Page Up/Down, F5 */
			uncertain(c);
			break;
		}
	} else if ((f == 'I' || f == 'O') && c->inpar == 0) {
		;		/* focus in/out reports: not keys */
	} else {		/* Up, Down, modified keys, anything else */
		uncertain(c);
	}
}

/* One byte of pasted text: inserted as it is, newlines too. */
static void
paste_text(struct cmdline *c, unsigned char b, int after_cr)
{
	struct rec *r = typing(c);

	if (b == '\n' && after_cr)
		return;
	if (b == '\r' || b == '\n') {
		/*
		 * A shell asking for bracketed paste (readline 8.1, zsh,
		 * fish) keeps pasted newlines in the line and runs nothing
		 * until Enter: the line may still be edited or cancelled.
		 */
		r->flags |= CMDLINE_PASTE;
		insert(c, '\n');
		c->last_cr = b == '\r';
	} else if (b < 0x20 || b == 0x7f) {
		uncertain(c);	/* a control pasted: shown somehow */
	} else {
		r->flags |= CMDLINE_PASTE;
		insert(c, b);
	}
}

static void
paste_byte(struct cmdline *c, unsigned char b, int after_cr)
{
	int k, j;

	if (c->pend > 0) {
		if (b == (unsigned char)paste_end[c->pend]) {
			if (paste_end[++c->pend] == '\0') {
				c->pend = 0;
				c->ist = I_GROUND;
			}
			return;
		}
		/* Not the end after all: what was held back was pasted. */
		k = c->pend;
		c->pend = 0;
		uncertain(c);	/* the ESC */
		for (j = 1; j < k; j++)
			paste_text(c, (unsigned char)paste_end[j], 0);
		after_cr = 0;
	}
	if (b == 0x1b)
		c->pend = 1;
	else
		paste_text(c, b, after_cr);
}

static void
in_byte(struct cmdline *c, unsigned char b)
{
	int after_cr = c->last_cr;

	c->last_cr = 0;
	switch (c->ist) {
	case I_GROUND:
		break;
	case I_PASTE:
		paste_byte(c, b, after_cr);
		return;
	case I_QUOTED:
		c->ist = I_GROUND;
		if (b >= 0x20 && b != 0x7f)
			insert(c, b);
		else		/* a control character in the line */
			uncertain(c);
		return;
	case I_ESC:
		if (b == '[') {
			c->ist = I_CSI;
			c->inpar = c->ip0 = c->ipriv = c->ibad = 0;
			c->ilen = 0;
			return;
		}
		if (b == 'O') {
			c->ist = I_SS3;
			return;
		}
		uncertain(c);	/* Alt+key, or ESC then a key */
		if (b == 0x1b)
			return;	/* a new sequence starts */
		c->ist = I_GROUND;
		if (b < 0x20)
			break;	/* a control after ESC still acts */
		return;
	case I_SS3:
		c->ist = I_GROUND;
		if (b == 'C' || b == 'D' || b == 'H' || b == 'F') {
			c->inpar = c->ibad = c->ipriv = 0;
			csi_key(c, b);
			return;
		}
		uncertain(c);	/* Up, Down, F1-F4, ... */
		if (b == 0x1b) {
			c->ist = I_ESC;
			return;
		}
		if (b < 0x20)
			break;
		return;
	case I_CSI:
		if (b >= 0x30 && b <= 0x3f) {
			if (c->ilen++ > 16)
				c->ibad = 1;
			if (b >= '0' && b <= '9') {
				if (c->inpar == 0)
					c->inpar = 1;
				if (c->inpar == 1 && c->ip0 < 100000)
					c->ip0 = c->ip0 * 10 + (b - '0');
			} else if (b == ';') {
				c->inpar = c->inpar ? c->inpar + 1 : 2;
			} else if (b >= 0x3c && c->ilen == 1) {
				c->ipriv = 1;	/* '<', '=', '>', '?' */
			} else {
				c->ibad = 1;
			}
			return;
		}
		if (b >= 0x20 && b <= 0x2f) {
			c->ibad = 1;	/* intermediates: no key we know */
			return;
		}
		if (b >= 0x40 && b <= 0x7e) {
			c->ist = I_GROUND;
			csi_key(c, b);
			return;
		}
		/* A sequence no key sends: cut short. */
		uncertain(c);
		c->ist = I_GROUND;
		if (b == 0x1b) {
			c->ist = I_ESC;
			return;
		}
		if (b < 0x20)
			break;
		return;
	}
	key(c, b, after_cr);
}

/* --- the output side ---------------------------------------------- */

/* A visible output byte: the echo of the oldest queued byte, or not. */
static void
echo_byte(struct cmdline *c, unsigned char b)
{
	const struct qent *e;
	const struct rec *r;

	while (c->qlen > 0) {
		e = &c->q[c->qhead];
		if (e->c == b) {
			pop(c, 1);
			return;
		}
		/* Output that may or may not come: skip it, try the next. */
		if (e->soft) {
			pop(c, 0);
			continue;
		}
		r = &c->rec[e->slot];
		/*
		 * A line typed ahead of a prompt sees the prompt before its
		 * echo: while it is being typed and nothing of it has come
		 * back, other output is passed over. Once its echo has begun,
		 * or it is entered, its echo must come next.
		 */
		if (!e->soft && r->seq == e->seq && r->state == R_CUR &&
		    r->echoed == 0)
			return;
		/*
		 * Output that is not the expected echo ends the wait of the
		 * line in front; the same byte may be the next one's echo.
		 */
		drop_front(c);
	}
}

static void
echo_lf(struct cmdline *c)
{
	if (c->qlen == 0)
		return;
	if (c->q[c->qhead].c == '\n') {	/* after Enter, or pasted */
		pop(c, 1);
		return;
	}
	/*
	 * A newline ends what is on screen: a line still waiting was not
	 * echoed (a password prompt answers Enter with "\r\n" only).
	 */
	drop_front(c);
}

static void
set_alt(struct cmdline *c, int on)
{
	struct rec *r = typing(c);

	if (on == c->alt)
		return;
	c->alt = on;
	c->ist = I_GROUND;
	c->last_cr = 0;
	c->pend = 0;
	if (!on && r->typed > 0)
		close_cur(c, r->t_ns);	/* the FULLSCREEN marker */
	else
		discard(c);
}

static void
out_byte(struct cmdline *c, unsigned char b)
{
	switch (c->ost) {
	case O_GROUND:
		if (b == 0x1b)
			c->ost = O_ESC;
		else if (b == '\n')
			echo_lf(c);
		else if (b >= 0x20 && b != 0x7f)
			echo_byte(c, b);
		return;		/* other controls move or beep */
	case O_ESC:
		if (b == '[') {
			c->ost = O_CSI;
			c->onum = c->opriv = c->ointer = c->oalt = 0;
			c->ofirst = 1;
		} else if (b == ']' || b == 'P' || b == 'X' || b == '^' ||
		    b == '_') {
			c->ost = O_STR;	/* OSC, DCS, SOS, PM, APC */
		} else if (b >= 0x20 && b <= 0x2f) {
			c->ost = O_ESC_INT;	/* e.g. ESC ( B */
		} else if (b == 0x18 || b == 0x1a) {
			c->ost = O_GROUND;
		} else if (b < 0x20) {
			if (b == '\n')	/* executed inside a sequence */
				echo_lf(c);
		} else {
			if (b == 'c')	/* RIS: back to the main screen */
				set_alt(c, 0);
			c->ost = O_GROUND;
		}
		return;
	case O_ESC_INT:
		if (b == 0x1b)
			c->ost = O_ESC;
		else if (b == 0x18 || b == 0x1a)
			c->ost = O_GROUND;
		else if (b == '\n')
			echo_lf(c);
		else if (b > 0x2f)
			c->ost = O_GROUND;
		return;
	case O_CSI:
		if (b >= '0' && b <= '9') {
			if (c->onum < 100000)
				c->onum = c->onum * 10 + (b - '0');
		} else if (b == ';' || (b >= 0x40 && b <= 0x7e)) {
			if (c->onum == 47 || c->onum == 1047 ||
			    c->onum == 1049)
				c->oalt = 1;
			c->onum = 0;
			if (b != ';') {
				c->ost = O_GROUND;
				if (c->opriv && !c->ointer && c->oalt &&
				    (b == 'h' || b == 'l'))
					set_alt(c, b == 'h');
			}
		} else if (b == '?' && c->ofirst) {
			c->opriv = 1;
		} else if (b >= 0x20 && b <= 0x3f) {
			c->ointer = 1;	/* not a plain DECSET / DECRST */
		} else if (b == 0x1b) {
			c->ost = O_ESC;
		} else if (b == 0x18 || b == 0x1a || b >= 0x7f) {
			c->ost = O_GROUND;
		} else if (b == '\n') {
			echo_lf(c);
		}
		c->ofirst = 0;
		return;
	case O_STR:
		if (b == 0x07 || b == 0x18 || b == 0x1a)
			c->ost = O_GROUND;
		else if (b == 0x1b)
			c->ost = O_ESC;	/* ESC \ ends it */
		return;
	}
}

/* --- the interface ------------------------------------------------ */

struct cmdline *
cmdline_new(void)
{
	struct cmdline *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->nextseq = 1;
	rec_init(c, typing(c));
	return c;
}

size_t
cmdline_input(struct cmdline *c, const char *buf, size_t n, long long t_ns)
{
	struct rec *r;
	size_t i;

	release(c);
	c->now = t_ns;
	for (i = 0; i < n; i++) {
		if (!room(c))
			return i;
		r = typing(c);
		if (c->alt) {
			/* Not a command line: counted, never kept. */
			r->typed += n - i;
			r->t_ns = t_ns;
			c->fullscreen += n - i;
			return n;
		}
		if (r->rawlen < CMDLINE_MAX)
			r->raw[r->rawlen++] = buf[i];
		else
			r->flags |= CMDLINE_TRUNCATED;
		in_byte(c, (unsigned char)buf[i]);
	}
	return n;
}

void
cmdline_output(struct cmdline *c, const char *buf, size_t n)
{
	const char *p;
	size_t i;

	release(c);
	for (i = 0; i < n; i++) {
		/* Nobody waits for an echo: only escapes matter. */
		if (c->ost == O_GROUND && c->qlen == 0) {
			if ((p = memchr(buf + i, 0x1b, n - i)) == NULL)
				return;
			i = (size_t)(p - buf);
		}
		out_byte(c, (unsigned char)buf[i]);
	}
}

int
cmdline_next(struct cmdline *c, struct cmdline_line *out)
{
	struct rec *r;

	release(c);
	reap(c);
	if (c->nrec == 0 || c->rec[c->head].state != R_DONE)
		return 0;
	r = &c->rec[c->head];
	out->text = r->text;
	out->len = r->len;
	out->raw = r->raw;
	out->rawlen = r->rawlen;
	out->typed = r->typed;
	out->flags = r->flags;
	out->t_ns = r->t_ns;
	c->held = 1;
	return 1;
}

void
cmdline_gap(struct cmdline *c)
{
	struct rec *r;
	size_t i;

	release(c);
	for (i = 0; i < c->nrec; i++) {
		r = &c->rec[(c->head + i) % NREC];
		if (r->state == R_WAIT)
			r->forced = 1;
	}
	r = typing(c);
	if (!c->alt && r->typed > 0) {
		r->forced = 1;
		close_cur(c, c->now);
	} else if (!c->alt) {
		discard(c);
	}
	while (c->qlen > 0)
		drop_front(c);
	c->ist = I_GROUND;
	c->last_cr = 0;
	c->pend = 0;
	c->ost = O_GROUND;
}

void
cmdline_finish(struct cmdline *c, long long t_ns)
{
	struct rec *r;

	release(c);
	r = typing(c);
	if (r->typed > 0) {
		if (!c->alt)
			r->flags |= CMDLINE_UNCOMMITTED;
		close_cur(c, c->alt ? r->t_ns : t_ns);
	} else {
		discard(c);
	}
	/* What has not come back by now was not echoed. */
	while (c->qlen > 0)
		drop_front(c);
	c->ist = I_GROUND;
	c->last_cr = 0;
	c->pend = 0;
}

unsigned long long
cmdline_fullscreen_bytes(const struct cmdline *c)
{
	return c->fullscreen;
}

void
cmdline_free(struct cmdline *c)
{
	if (c == NULL)
		return;
	scrub(c, sizeof(*c));	/* typed text may be a secret */
	free(c);
}
