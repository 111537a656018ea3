/*
 * vtsafe: the terminal-output filter. One byte at a time through a
 * small state machine shaped like a DEC VT500-style terminal parser
 * (ground, escape, escape intermediate, CSI, control string), so that
 * where it sees a sequence start and end is where a terminal does. What
 * it emits is only text, an allowed C0 control, or a complete allowed
 * sequence rebuilt from held bytes: after every piece it emits, the
 * terminal is back in its ground state, whatever the input was.
 *
 * What passes (anything else is removed):
 *   text         valid UTF-8 except U+0080..U+009F; each ill-formed
 *                UTF-8 subsequence becomes '?', except that a stray byte
 *                0x80-0x9f is an 8-bit C1 control and is removed
 *   C0           BEL BS HT LF VT FF CR SO SI
 *   ESC          7 8 (save/restore cursor), = > (keypad), D E H M
 *                (index, next line, tab set, reverse index), c (RIS)
 *   ESC I F      charset designation: I one of ( ) * + - . /, optionally
 *                followed by one of " % &; ESC # 3 4 5 6 8 (line size,
 *                DECALN)
 *   CSI ... F    F one of @ A B C D E F G H I J K L M P X Z ` a d e f g
 *                m r s u; S and T with at most one parameter; b (REP)
 *                with one parameter of at most four digits
 *   CSI ? ... F  J K (selective erase)
 *   CSI Ps SP q  cursor style; CSI ! p soft reset (DECSTR)
 *   CSI h / l    modes 4 (insert), 20 (newline) only
 *   CSI ? h / l  modes 5 6 7 12 25 45 47 69 1047 1048 1049 2026 only
 * A mode list with some modes not allowed is shortened to the allowed
 * ones; with none left it is removed. Mouse (9, 1000-1006, 1015, 1016),
 * focus (1004), bracketed paste (2004) and keyboard modes (1, 66, ...)
 * only make the viewer's terminal report or change what its keys send;
 * ?2 would switch it to VT52, whose grammar this filter does not parse.
 *
 * Removed whole, with everything in between: every OSC, DCS, SOS, PM
 * and APC string. OSC ends at BEL or ST, the others at ST; CAN or SUB
 * abandon any sequence or string; an ESC inside a string that is not
 * followed by '\' ends it and starts a new escape; after 4096 bytes a
 * string is abandoned and what follows is treated as text again, so an
 * unterminated OSC cannot hide the rest of a session. A CSI longer than
 * VTSAFE_HOLD bytes or with more than VTSAFE_MAX_PARAMS fields is
 * removed. C0 controls inside an escape sequence act at once, as in a
 * terminal; a byte >= 0x80 there abandons the sequence.
 */
#include <string.h>

#include "vtsafe.h"

enum {
	S_GROUND = 0,	/* text; zero so that a zeroed struct is ready */
	S_UTF8,		/* inside a multi-byte character (held) */
	S_ESC,		/* after ESC (held) */
	S_ESC_INTER,	/* ESC and intermediates, e.g. "ESC (" (held) */
	S_CSI,		/* ESC [ and parameters so far (held) */
	S_CSI_IGNORE,	/* a CSI judged bad: swallowed to its final */
	S_STRING,	/* OSC, DCS, SOS, PM or APC: swallowed */
};

#define C_BEL	0x07
#define C_CAN	0x18
#define C_SUB	0x1a
#define C_ESC	0x1b
#define C_DEL	0x7f

/* BEL BS HT LF VT FF CR SO SI: what a session needs to look right. */
#define C0_PASS(c)	((c) >= 0x07 && (c) <= 0x0f)

static const unsigned short ansi_modes[] = { 4, 20, 0 };
static const unsigned short dec_modes[] = {
	5, 6, 7, 12, 25, 45, 47, 69, 1047, 1048, 1049, 2026, 0
};

void
vtsafe_init(struct vtsafe *v)
{
	memset(v, 0, sizeof(*v));
}

unsigned long
vtsafe_dropped(const struct vtsafe *v)
{
	return v->dropped;
}

static void
to_ground(struct vtsafe *v)
{
	v->state = S_GROUND;
	v->osc = 0;
	v->after_string = 0;
	v->nparam = 0;
	v->ninter = 0;
	v->need = 0;
	v->strbytes = 0;
	v->holdlen = 0;
}

static void
start_escape(struct vtsafe *v)
{
	to_ground(v);
	v->hold[0] = C_ESC;
	v->holdlen = 1;
	v->state = S_ESC;
}

/* Give up a held sequence. The ESC that ended a string was counted with it. */
static void
abandon(struct vtsafe *v)
{
	if (!(v->state == S_ESC && v->after_string))
		v->dropped++;
	to_ground(v);
}

/* Hold one more CSI byte; one that does not fit makes the CSI bad. */
static void
csi_hold(struct vtsafe *v, unsigned char c)
{
	if (v->holdlen >= VTSAFE_HOLD - 1) {
		v->holdlen = 0;
		v->state = S_CSI_IGNORE;
		return;
	}
	v->hold[v->holdlen++] = c;
}

/* Length of the UTF-8 character lead starts, or 0 if it starts none. */
static unsigned int
utf8_len(unsigned char lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef)
		return 3;
	if (lead >= 0xf0 && lead <= 0xf4)
		return 4;
	return 0;
}

/*
 * Whether c may be byte pos of a character starting with lead. The
 * narrower second-byte ranges rule out overlong forms, surrogates and
 * values past U+10FFFF, so a complete character is always valid.
 */
static int
utf8_cont_ok(unsigned char lead, size_t pos, unsigned char c)
{
	unsigned char lo = 0x80, hi = 0xbf;

	if (pos == 1) {
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
		else if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	}
	return c >= lo && c <= hi;
}

static int
mode_allowed(const unsigned char *p, size_t n, const unsigned short *allow)
{
	unsigned int val = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		val = val * 10 + (p[i] - '0');
	}
	for (; *allow; allow++)
		if (*allow == val)
			return 1;
	return 0;
}

/*
 * A mode set or reset: keep the allowed modes of the list p..end, in
 * their order and spelling. Returns the bytes written (0: none left).
 */
static size_t
csi_modes(struct vtsafe *v, char *out, const unsigned char *p,
    const unsigned char *end, const unsigned short *allow)
{
	const unsigned char *q;
	size_t o = (size_t)(p - v->hold), kept = 0;
	int removed = 0;

	memcpy(out, v->hold, o);	/* ESC [ and any '?' */
	for (;;) {
		for (q = p; q < end && *q != ';'; q++)
			;
		if (mode_allowed(p, (size_t)(q - p), allow)) {
			if (kept++ > 0)
				out[o++] = ';';
			memcpy(out + o, p, (size_t)(q - p));
			o += (size_t)(q - p);
		} else {
			removed = 1;
		}
		if (q == end)
			break;
		p = q + 1;
	}
	if (kept == 0 || removed)
		v->dropped++;
	if (kept == 0)
		return 0;
	out[o++] = (char)v->hold[v->holdlen - 1];
	return o;
}

/* A complete CSI is held: write it to out if allowed; returns its length. */
static size_t
csi_final(struct vtsafe *v, char *out)
{
	const unsigned char *p = v->hold + 2;
	const unsigned char *end = v->hold + v->holdlen - 1;
	const unsigned char *pend;
	unsigned char f = *end, prefix = 0, inter = 0;
	int pass = 0;

	if (p < end && *p >= 0x3c && *p <= 0x3f)
		prefix = *p++;
	for (pend = p; pend < end && *pend >= 0x30; pend++)
		;
	if (v->ninter == 1)
		inter = *pend;
	else if (v->ninter > 1)
		inter = 0xff;	/* no allowed sequence has two */

	if (prefix == 0 && inter == 0) {
		if (strchr("@ABCDEFGHIJKLMPXZ`adefgmrsu", f) != NULL)
			pass = 1;
		else if (f == 'S' || f == 'T')
			/* T with 5 fields starts mouse highlight tracking. */
			pass = v->nparam == 0;
		else if (f == 'b')
			/* REP: a bounded count, no huge fill. */
			pass = v->nparam == 0 && pend - p <= 4;
		else if (f == 'h' || f == 'l')
			return csi_modes(v, out, p, pend, ansi_modes);
	} else if (prefix == '?' && inter == 0) {
		if (f == 'J' || f == 'K')
			pass = 1;
		else if (f == 'h' || f == 'l')
			return csi_modes(v, out, p, pend, dec_modes);
	} else if (prefix == 0 && inter == ' ') {
		pass = f == 'q';	/* DECSCUSR */
	} else if (prefix == 0 && inter == '!') {
		pass = f == 'p';	/* DECSTR */
	}
	if (!pass) {
		v->dropped++;
		return 0;
	}
	memcpy(out, v->hold, v->holdlen);
	return v->holdlen;
}

/* ESC I... F: a charset designation or a line-size change. */
static int
esc_inter_ok(const struct vtsafe *v, unsigned char f)
{
	unsigned char i1 = v->hold[1];

	if (v->ninter == 1 && i1 == '#')
		return strchr("34568", f) != NULL;
	if (strchr("()*+-./", i1) == NULL)
		return 0;
	return v->ninter == 1 ||
	    (v->ninter == 2 && strchr("\"%&", v->hold[2]) != NULL);
}

/* Feed one byte; returns the bytes written to out (at most VTSAFE_HOLD). */
static size_t
step(struct vtsafe *v, unsigned char c, char *out)
{
	size_t o = 0;

again:
	switch (v->state) {
	case S_GROUND:
		if (c >= 0x20 && c < C_DEL) {
			out[o++] = (char)c;
		} else if (c == C_ESC) {
			start_escape(v);
		} else if (c < 0x20) {
			if (C0_PASS(c))
				out[o++] = (char)c;
			else
				v->dropped++;
		} else if (c <= 0x9f) {
			v->dropped++;	/* DEL, or a raw 8-bit C1 */
		} else if ((v->need = utf8_len(c)) > 0) {
			v->hold[0] = c;
			v->holdlen = 1;
			v->state = S_UTF8;
		} else {
			out[o++] = '?';
		}
		return o;
	case S_UTF8:
		if (!utf8_cont_ok(v->hold[0], v->holdlen, c)) {
			out[o++] = '?';
			to_ground(v);
			goto again;
		}
		v->hold[v->holdlen++] = c;
		if (v->holdlen < v->need)
			return o;
		/* U+0080..U+009F: C1 controls, which some terminals obey. */
		if (v->hold[0] == 0xc2 && v->hold[1] <= 0x9f) {
			v->dropped++;
		} else {
			memcpy(out + o, v->hold, v->holdlen);
			o += v->holdlen;
		}
		to_ground(v);
		return o;
	case S_STRING:
		if (c == C_CAN || c == C_SUB || (c == C_BEL && v->osc)) {
			to_ground(v);
		} else if (c == C_ESC) {
			start_escape(v);
			v->after_string = 1;
		} else if (v->strbytes >= VTSAFE_STRING_MAX) {
			to_ground(v);
			goto again;
		} else {
			v->strbytes++;
		}
		return o;
	}

	/* S_ESC, S_ESC_INTER, S_CSI, S_CSI_IGNORE: a sequence is held. */
	if (c == C_DEL)
		return o;
	if (c == C_CAN || c == C_SUB || c == C_ESC || c >= 0x80) {
		abandon(v);
		if (c == C_CAN || c == C_SUB)
			return o;
		goto again;	/* a new escape, or text */
	}
	if (c < 0x20) {
		/* A terminal obeys these at once and goes on with the
		 * sequence; emitting them first is the same. */
		if (C0_PASS(c))
			out[o++] = (char)c;
		else
			v->dropped++;
		return o;
	}

	switch (v->state) {
	case S_ESC:
		if (c == '[') {
			v->hold[v->holdlen++] = c;
			v->state = S_CSI;
			v->after_string = 0;
		} else if (strchr("]PX^_", c) != NULL) {
			to_ground(v);
			v->dropped++;
			v->osc = c == ']';
			v->state = S_STRING;
		} else if (c < 0x30) {
			v->hold[v->holdlen++] = c;
			v->ninter = 1;
			v->state = S_ESC_INTER;
			v->after_string = 0;
		} else {
			if (c == '\\' && v->after_string)
				;	/* the ST of the string just removed */
			else if (strchr("78=>DEHMc", c) != NULL) {
				out[o++] = C_ESC;
				out[o++] = (char)c;
			} else {
				v->dropped++;
			}
			to_ground(v);
		}
		return o;
	case S_ESC_INTER:
		if (c < 0x30) {
			if (v->ninter < 2)
				v->hold[v->holdlen++] = c;
			v->ninter++;
			return o;
		}
		if (esc_inter_ok(v, c)) {
			memcpy(out, v->hold, v->holdlen);
			o = v->holdlen;
			out[o++] = (char)c;
		} else {
			v->dropped++;
		}
		to_ground(v);
		return o;
	case S_CSI:
		if (c >= 0x40) {
			v->hold[v->holdlen++] = c;
			o = csi_final(v, out);
			to_ground(v);
		} else if (c >= 0x30) {
			/* A private marker only comes first; parameters
			 * never follow intermediates. */
			if ((c >= 0x3c && v->holdlen != 2) || v->ninter > 0 ||
			    ((c == ';' || c == ':') &&
			    ++v->nparam >= VTSAFE_MAX_PARAMS)) {
				v->holdlen = 0;
				v->state = S_CSI_IGNORE;
			} else {
				csi_hold(v, c);
			}
		} else if (++v->ninter > 2) {
			v->holdlen = 0;
			v->state = S_CSI_IGNORE;
		} else {
			csi_hold(v, c);
		}
		return o;
	case S_CSI_IGNORE:
		if (c >= 0x40) {
			v->dropped++;
			to_ground(v);
		}
		return o;
	}
	return o;
}

size_t
vtsafe_filter(struct vtsafe *v, const char *in, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		o += step(v, p[i], out + o);
	return o;
}

size_t
vtsafe_finish(struct vtsafe *v, char *out)
{
	size_t o = 0;

	if (v->state == S_UTF8)
		out[o++] = '?';
	else if (v->state != S_GROUND && v->state != S_STRING)
		abandon(v);
	to_ground(v);
	return o;
}
