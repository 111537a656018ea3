/*
 * table: aligned text tables for people. Every cell goes through
 * text_escape(), so stored data can never reach the terminal raw.
 */
#ifndef SSHGATE_TABLE_H
#define SSHGATE_TABLE_H

#include <stdio.h>

#define TABLE_MAX_COLS	12

struct table;

/* A table with the given headers (NULL-terminated). NULL on error. */
struct table *table_new(const char *const headers[]);
/* Append a row of as many cells as there are headers. 0 or -1. */
int table_row(struct table *t, const char *const cells[]);
/* Print the table, or "(none)" when it has no rows. */
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

#endif
