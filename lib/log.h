/*
 * log: syslog (facility auth, ident "sshgate") plus, for interactive
 * programs, standard error. Every message is escaped with text_escape_log()
 * first, so client-supplied bytes can never forge or split a log line.
 */
#ifndef SSHGATE_LOG_H
#define SSHGATE_LOG_H

#include <syslog.h>

/* prog prefixes every message; to_stderr also copies messages there. */
void log_init(const char *prog, int to_stderr);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)

#endif
