/*
 * err: one static slot holding the last failure. sshgate's programs are
 * single-threaded, so a static buffer is enough and needs no allocation.
 */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static char err_buf[512];
static int err_last = ERR_SYS;

int
err_set(enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	err_last = kind;
	return -1;
}

const char *
err_msg(void)
{
	return err_buf[0] ? err_buf : "unknown error";
}

int
err_kind(void)
{
	return err_last;
}
