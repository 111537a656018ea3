/*
 * vtsafe: the filter between stored (or live) session output and a
 * person's terminal: replay, and later watchers (THREATS B4, row 29,
 * Decision 2). Recordings keep every byte; safety is applied here.
 *
 * It is an allow list. Text, the C0 controls a session needs, SGR,
 * cursor movement, erasing, scroll regions, the alternate screen and a
 * few display modes pass unchanged. Everything that makes the viewer's
 * terminal answer or report (DSR, DA, DECRQSS, XTVERSION, window
 * reports, DECRQM, XTGETTCAP, mouse and focus reporting), every OSC,
 * DCS, SOS, PM and APC string, 8-bit C1 controls and any sequence it
 * does not know are removed whole. The table is in vtsafe.c.
 *
 * The state is fixed-size and never allocated. A sequence still being
 * parsed is held back, never half-emitted, so a sequence split anywhere
 * across calls gives the same output as whole.
 */
#ifndef SSHGATE_VTSAFE_H
#define SSHGATE_VTSAFE_H

#include <stddef.h>

/*
 * Bounds: bytes of the longest escape sequence passed, fields of a CSI,
 * bytes of an OSC/DCS/SOS/PM/APC string before it is given up.
 */
#define VTSAFE_HOLD		128
#define VTSAFE_MAX_PARAMS	32
#define VTSAFE_STRING_MAX	4096
/* Extra output room: bytes held back by an earlier call come out later. */
#define VTSAFE_SLACK		VTSAFE_HOLD

/* Private: zero-initialised (or vtsafe_init) is the ground state. */
struct vtsafe {
	int state;
	int osc;		/* in a string: it is an OSC (BEL ends it) */
	int after_string;	/* this ESC ended a string: ESC \ is its ST */
	unsigned int nparam;	/* CSI fields so far */
	unsigned int ninter;	/* intermediate bytes so far */
	unsigned int need;	/* UTF-8: length of the held character */
	size_t strbytes;	/* string bytes swallowed so far */
	size_t holdlen;
	unsigned long dropped;
	unsigned char hold[VTSAFE_HOLD];
};

/* Reset v to the ground state with a zero count. */
void vtsafe_init(struct vtsafe *v);
/*
 * Filter in[0..n) into out, which has room for n + VTSAFE_SLACK bytes
 * and does not overlap in. Returns the number of bytes written. State
 * carries over calls: an incomplete sequence or UTF-8 character at the
 * end of in is held and emitted (or dropped) by a later call. Output is
 * valid UTF-8 once the stream is finished, and never longer in total
 * than the input.
 */
size_t vtsafe_filter(struct vtsafe *v, const char *in, size_t n, char *out);
/*
 * End of stream: an incomplete escape sequence or string is dropped, an
 * incomplete UTF-8 character becomes '?'. Writes at most one byte to out
 * (room for VTSAFE_SLACK is always enough) and returns how many; v is
 * back in the ground state, its count kept.
 */
size_t vtsafe_finish(struct vtsafe *v, char *out);
/*
 * How many controls, sequences and strings were removed so far (a
 * sequence that was shortened counts once), for "N sequences removed".
 */
unsigned long vtsafe_dropped(const struct vtsafe *v);

#endif
