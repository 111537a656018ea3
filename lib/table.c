/*
 * table: collects escaped cells, then prints them padded to the widest
 * cell of each column (width counted in code points).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "table.h"
#include "text.h"

struct table {
	int ncols;
	size_t nrows, cap;
	char **cells;	/* (nrows + 1) * ncols, the headers first */
	size_t width[TABLE_MAX_COLS];
};

static size_t
cps(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
add(struct table *t, const char *const cells[])
{
	char buf[1024], **p;
	int i;

	if (t->nrows == t->cap) {
		size_t nc = t->cap * 2;
		if ((p = reallocarray(t->cells, nc * (size_t)t->ncols,
		    sizeof(*p))) == NULL)
			return err_set(ERR_SYS, "out of memory");
		t->cells = p;
		t->cap = nc;
	}
	p = t->cells + (t->nrows) * (size_t)t->ncols;
	for (i = 0; i < t->ncols; i++) {
		text_escape(buf, sizeof(buf), cells[i], strlen(cells[i]));
		if ((p[i] = strdup(buf)) == NULL)
			return err_set(ERR_SYS, "out of memory");
		if (cps(buf) > t->width[i])
			t->width[i] = cps(buf);
	}
	t->nrows++;
	return 0;
}

struct table *
table_new(const char *const headers[])
{
	struct table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	while (headers[t->ncols] && t->ncols < TABLE_MAX_COLS)
		t->ncols++;
	t->cap = 16;
	if ((t->cells = calloc(t->cap * (size_t)t->ncols, sizeof(char *))) ==
	    NULL)
		goto fail;
	if (add(t, headers) == -1) {
		table_free(t);
		return NULL;
	}
	return t;
fail:
	free(t);
	err_set(ERR_SYS, "out of memory");
	return NULL;
}

int
table_row(struct table *t, const char *const cells[])
{
	return add(t, cells);
}

void
table_print(struct table *t, FILE *f)
{
	size_t r, pad;
	int i;

	if (t->nrows <= 1) {
		fputs("(none)\n", f);
		return;
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];
			fputs(c, f);
			if (i == t->ncols - 1)
				break;
			for (pad = cps(c); pad < t->width[i] + 2; pad++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
