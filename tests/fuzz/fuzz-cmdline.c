/*
 * libFuzzer target: the command-line rebuilder fed keystrokes and output
 * in any interleaving. Each chunk starts with a byte: its low two bits
 * pick keystrokes (0, 1), output (2), or a gap (3 with no length), the
 * rest is the chunk's length. Whatever the bytes, a line never shows
 * text that was not echoed, and nothing grows without bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned char out[256];	/* byte values the output has held */
	int any;		/* any output at all */
	long long last_t;
};

static void
take(struct cmdline *c, struct seen *s, int finished)
{
	struct cmdline_line l;
	size_t i;

	while (cmdline_next(c, &l)) {
		if (l.len > CMDLINE_MAX || l.rawlen > CMDLINE_MAX ||
		    strlen(l.text) != l.len)
			abort();
		/* Withheld means withheld: THREATS decision 1. */
		if ((l.flags & (CMDLINE_NOECHO | CMDLINE_FULLSCREEN)) &&
		    (l.len != 0 || l.rawlen != 0))
			abort();
		if ((l.flags & CMDLINE_PARTIAL_ECHO) &&
		    !(l.flags & CMDLINE_NOECHO))
			abort();
		if ((l.flags & CMDLINE_UNCOMMITTED) && !finished)
			abort();
		/* Nothing counts as echoed that the output never held. */
		if (!(l.flags & (CMDLINE_NOECHO | CMDLINE_FULLSCREEN)) &&
		    l.typed > 0 && !s->any)
			abort();
		for (i = 0; i < l.len; i++)
			if (!s->out[(unsigned char)l.text[i]])
				abort();
		/* Lines come in the order they were entered. */
		if (l.t_ns < s->last_t)
			abort();
		s->last_t = l.t_ns;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdline *c;
	struct seen s;
	size_t i = 0, n, k, j;
	long long t = 0;
	int stalled;
	uint8_t h;

	if ((c = cmdline_new()) == NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	while (i < size) {
		h = data[i++];
		n = h >> 2;
		if (n > size - i)
			n = size - i;
		t++;
		switch (h & 3) {
		case 0:
		case 1:
			stalled = 0;
			while (n > 0) {
				k = cmdline_input(c, (const char *)data + i, n,
				    t);
				if (k > n)
					abort();
				/* Once the lines are taken, input moves on. */
				if (k == 0 && stalled++)
					abort();
				i += k;
				n -= k;
				take(c, &s, 0);
			}
			break;
		case 2:
			for (j = 0; j < n; j++)
				s.out[data[i + j]] = 1;
			s.any |= n > 0;
			cmdline_output(c, (const char *)data + i, n);
			i += n;
			take(c, &s, 0);
			break;
		case 3:
			if (n == 0) {
				cmdline_gap(c);
			} else {
				for (j = 0; j < n; j++)
					s.out[data[i + j]] = 1;
				s.any = 1;
				cmdline_output(c, (const char *)data + i, n);
				i += n;
			}
			take(c, &s, 0);
			break;
		}
	}
	cmdline_finish(c, t + 1);
	take(c, &s, 1);
	if (cmdline_fullscreen_bytes(c) > size)
		abort();
	cmdline_free(c);
	return 0;
}
