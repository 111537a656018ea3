/*
 * hostkeys: the gate's known_hosts file, where target host keys are
 * pinned under the gate's own host names (the egress ssh runs with
 * HostKeyAlias=NAME and StrictHostKeyChecking=yes against it).
 *
 * Only gatectl writes it, always whole: a new file beside the old one,
 * created O_EXCL|O_NOFOLLOW 0600, synced, then renamed over it, so ssh
 * never reads half a file and a planted symlink is never followed.
 */
#ifndef SSHGATE_HOSTKEYS_H
#define SSHGATE_HOSTKEYS_H

#include <stddef.h>
#include <sys/types.h>

#include "keys.h"

#define HOSTKEYS_MAX_FILE	(4 * 1024 * 1024)
#define HOSTKEYS_MAX_KEYS	16	/* per host */

/*
 * The whole known_hosts file (at most HOSTKEYS_MAX_FILE bytes; "" when it
 * does not exist), for several hostkeys_parse() calls. NULL with an
 * error; free() it.
 */
char *hostkeys_text(const char *path);
/*
 * The keys pinned for name in text (a known_hosts file's contents): at
 * most max of them into keys, *n set. Lines that are not "NAME TYPE
 * BASE64" with a valid key are skipped. Returns 0. The fuzz entry point.
 */
int hostkeys_parse(const char *text, const char *name, struct pubkey *keys,
    size_t max, size_t *n);
/*
 * Replace the keys pinned for name with keys[0..n) (n 0: unpin), keeping
 * every other line. The file ends up owned by uid:gid, mode 0600.
 */
int hostkeys_write(const char *path, const char *name,
    const struct pubkey *keys, size_t n, uid_t uid, gid_t gid);
/*
 * Ask address:port for its host keys with ssh-keyscan (timeout seconds).
 * Returns 0 with at least one checked key, or -1 with an error.
 */
int hostkeys_scan(const char *address, int port, int timeout,
    struct pubkey **keys, size_t *n);

#endif
