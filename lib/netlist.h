/*
 * netlist: the source-address lists that become from="..." in the line
 * authkeys-cmd prints (THREATS row 13). Only IP addresses and CIDR blocks,
 * optionally negated with '!', are accepted, and they are stored in the
 * canonical form inet_ntop() gives, so no admin text reaches sshd as is.
 */
#ifndef SSHGATE_NETLIST_H
#define SSHGATE_NETLIST_H

#include <stddef.h>

#define NETLIST_MAX_ITEMS	32
#define NETLIST_MAX_LEN		1024

/*
 * Parse a comma-separated list and write its canonical form to out
 * (outlen bytes). Returns 0, or -1 with an ERR_USAGE error naming the
 * offending item.
 */
int netlist_canon(const char *in, char *out, size_t outlen);

#endif
