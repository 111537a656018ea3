/*
 * history: printing command_log rows for people and for programs, the
 * same way in gate-shell's `history` and gatectl's. Every stored string
 * goes through the table (escaped) or JSON writers: a command is text a
 * user typed on a target, and the person listing it may be an admin.
 */
#ifndef SSHGATE_HISTORY_H
#define SSHGATE_HISTORY_H

#include <stdio.h>
#include <time.h>

#include "store.h"

/*
 * A table: WHEN ("5m ago"), USER when show_user, HOST, SESSION, then the
 * command or, for a row without text, why ("[blocked: ...]", "[7 bytes
 * typed with echo off]"), and flags ("[uncertain]", "[pasted]").
 * unique: LAST and USES instead of WHEN and SESSION. Returns 0 or -1.
 */
int history_print_table(FILE *f, const struct history_row *r, size_t n,
    int show_user, int unique, time_t now);
/* A JSON array; times ISO-8601 UTC, flags as a list of words. */
void history_print_json(FILE *f, const struct history_row *r, size_t n,
    int unique);

#endif
