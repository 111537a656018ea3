/*
 * log: one formatted, escaped line per event, to syslog and optionally
 * stderr. Lines longer than the buffer are cut, never split.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "text.h"

static const char *log_prog = "sshgate";
static int log_stderr;

void
log_init(const char *prog, int to_stderr)
{
	log_prog = prog;
	log_stderr = to_stderr;
	openlog("sshgate", LOG_PID | LOG_NDELAY, LOG_AUTH);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char raw[1024], safe[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	text_escape_log(safe, sizeof(safe), raw, strlen(raw));
	syslog(prio, "%s: %s", log_prog, safe);
	if (log_stderr && prio <= LOG_WARNING)
		fprintf(stderr, "%s: %s\n", log_prog, safe);
}
