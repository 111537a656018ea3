/*
 * netlist: validation and canonicalisation of from= source lists.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "name.h"
#include "netlist.h"
#include "text.h"

static int
item_canon(const char *item, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN + 8], buf[INET6_ADDRSTRLEN], safe[96];
	unsigned char bin[16];
	const char *p = item, *slash;
	long long prefix = -1;
	int neg = 0, af, maxbits, i;
	size_t alen;

	text_escape(safe, sizeof(safe), item, strlen(item));
	if (*p == '!') {
		neg = 1;
		p++;
	}
	slash = strchr(p, '/');
	alen = slash ? (size_t)(slash - p) : strlen(p);
	if (alen == 0 || alen >= sizeof(addr))
		return err_set(ERR_USAGE, "invalid --from item '%s': "
		    "expected an IP address or CIDR block", safe);
	memcpy(addr, p, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1) {
		af = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, bin) == 1) {
		af = AF_INET6;
		maxbits = 128;
	} else {
		return err_set(ERR_USAGE, "invalid --from item '%s': "
		    "expected an IP address or CIDR block", safe);
	}
	if (slash && name_parse_uint("prefix length", slash + 1, 0, maxbits,
	    &prefix) == -1)
		return err_set(ERR_USAGE, "invalid --from item '%s': bad prefix "
		    "length", safe);
	if (prefix >= 0) {
		/* Host bits set means the admin meant something else: say so. */
		for (i = (int)prefix; i < maxbits; i++)
			if (bin[i / 8] & (0x80 >> (i % 8)))
				return err_set(ERR_USAGE, "invalid --from item "
				    "'%s': host bits set past /%lld", safe,
				    prefix);
	}
	if (inet_ntop(af, bin, buf, sizeof(buf)) == NULL)
		return err_set(ERR_SYS, "inet_ntop failed");
	if (prefix >= 0)
		snprintf(addr, sizeof(addr), "/%lld", prefix);
	else
		addr[0] = '\0';
	if ((size_t)snprintf(out, outlen, "%s%s%s", neg ? "!" : "", buf, addr)
	    >= outlen)
		return err_set(ERR_USAGE, "--from list too long");
	return 0;
}

int
netlist_canon(const char *in, char *out, size_t outlen)
{
	char item[128], canon[128];
	const char *p = in, *comma;
	size_t n, o = 0, count = 0;

	if (strlen(in) >= NETLIST_MAX_LEN)
		return err_set(ERR_USAGE, "--from list too long");
	if (*in == '\0')
		return err_set(ERR_USAGE, "--from list is empty");
	for (;;) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(item))
			return err_set(ERR_USAGE,
			    "invalid --from list: empty or over-long item");
		memcpy(item, p, n);
		item[n] = '\0';
		if (item_canon(item, canon, sizeof(canon)) == -1)
			return -1;
		if (++count > NETLIST_MAX_ITEMS)
			return err_set(ERR_USAGE, "--from list has more than %d "
			    "items", NETLIST_MAX_ITEMS);
		if (o + strlen(canon) + 2 > outlen)
			return err_set(ERR_USAGE, "--from list too long");
		if (o)
			out[o++] = ',';
		memcpy(out + o, canon, strlen(canon) + 1);
		o += strlen(canon);
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}
