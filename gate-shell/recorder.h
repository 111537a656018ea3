/*
 * recorder: what a session leaves behind, kept off the data path.
 *
 * gate-shell forks one recorder per session. The proxy hands it every
 * chunk it relays as a small frame on a non-blocking pipe and never
 * waits for it: when the pipe is full the chunk is dropped and counted,
 * so a slow or full disk cannot freeze the user's terminal. The recorder
 * writes the asciicast file(s) (lib/cast), rebuilds the typed commands
 * (lib/cmdline), puts them through the secret-masking policy
 * (lib/policy) and stores them in batches (lib/store), and at the end
 * writes what became of the recording on the session row.
 */
#ifndef SSHGATE_RECORDER_H
#define SSHGATE_RECORDER_H

#include <limits.h>
#include <sys/types.h>

#include "name.h"
#include "relay.h"

struct policy;

/* The file a recording goes to, opened before the session starts. */
struct recorder_file {
	int dirfd;			/* the day's directory, or -1 */
	int fd;				/* the first cast file, or -1 */
	char path[PATH_MAX];		/* its full path */
	char base[NAME_MAX_LEN + 32];	/* USER.ID, for continuations */
	char why[200];			/* why there is none, for people */
};

/*
 * Open DIR/YYYY-MM-DD/USER.ID.cast for session id of user: the directory
 * must be a real directory (never a symlink) owned by us and not
 * writable by others; the file is created O_EXCL|O_NOFOLLOW, 0600.
 * Returns 0, or -1 with f->why (and err) saying why; f->fd is then -1.
 */
int recorder_open_file(struct recorder_file *f, const char *dir,
    const char *user, long long id);
void recorder_file_close(struct recorder_file *f);

struct recorder_opts {
	struct recorder_file *file;	/* fd -1: history only */
	const char *database;
	int db_timeout_ms;
	long long session_id, user_id, host_id;
	const char *user, *host, *login;
	const char *term;		/* for the cast header */
	int width, height;
	int tty;			/* rebuild typed commands */
	int record_input;		/* "i" events for echoed lines */
	long long max_file;		/* bytes per cast file */
	const struct policy *policy;	/* NULL: every command blocked */
	const char *policy_error;	/* why it is NULL */
	const char *exec;		/* the remote command, or NULL */
	int retention_days;
};

/* The proxy's end. */
struct recorder {
	pid_t pid;
	int fd;				/* frames, non-blocking; -1: none */
	long long t0;			/* when_mono_ns() at the start */
	unsigned long long lost;	/* bytes dropped: pipe full */
	/*
	 * The same count in a page shared with the recorder: it reads the
	 * final figure there even when the pipe was too full to carry it.
	 */
	unsigned long long *shared_lost;
	size_t poff, plen;		/* a frame partly written */
	unsigned long long resize;	/* a size still to send, 0: none */
	/*
	 * Control frames ('u' whose keys follow, 'm' markers) still to
	 * send, each [type][len][text]: they are never dropped for a full
	 * pipe, and no chunk overtakes them (a chunk is dropped instead).
	 */
	size_t ctl_len;
	char ctl[1024];
	char pend[32 + RELAY_BUF];
};

/*
 * Fork the recorder. Returns 0, or -1 with an error (then r->fd is -1
 * and nothing runs). o and what it points to are copied by the fork.
 */
int recorder_start(struct recorder *r, const struct recorder_opts *o);
/* Hand over a chunk: type 'o' (output) or 'i' (input). Never blocks. */
void recorder_feed(struct recorder *r, char type, const char *buf, size_t n);
void recorder_resize(struct recorder *r, int cols, int rows);
/*
 * A control frame: 'u' ("ID NAME": whose keys follow) or 'm' (a marker
 * for the recording), at most 255 bytes. Queued when the pipe is full
 * and sent before the next chunk; never blocks.
 */
void recorder_control(struct recorder *r, char type, const char *text,
    size_t n);
/*
 * End of the session: hand over what is pending (waiting at most
 * wait_ms), close the pipe, and wait up to wait_ms for the recorder to
 * store everything. Returns 0 when it finished cleanly, -1 otherwise
 * (error says why; a recorder still busy keeps going on its own).
 */
int recorder_finish(struct recorder *r, int wait_ms);

#endif
