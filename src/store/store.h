/*
 * store.h - the mail store: Maildir files plus a per-user SQLite index.
 *
 * This is the only interface protocols use to reach mail. It speaks in
 * users, folders and messages; paths never leave this module (except the
 * open file descriptors it hands out for streaming).
 *
 * Layout on disk, for user U (see store_user_maildir()):
 *
 *     <maildir>/cur new tmp          INBOX (Maildir)
 *     <maildir>/.Junk/cur new tmp    folder "Junk" (Maildir++)
 *     <maildir>/yubin.sqlite         the index (WAL mode), rebuildable
 *
 * Message files are named like Dovecot's:
 *     <sec>.M<usec>P<pid>.<host>,S=<size>,W=<crlf size>[:2,<flags>]
 * and stored byte-for-byte as they arrived (LMTP: CRLF; a local delivery:
 * usually LF). Sizes handed to protocols are always CRLF sizes.
 *
 * Threads: a struct store_user and everything opened from it belong to one
 * thread at a time. Different users (and store_deliver() calls) may be used
 * concurrently from different threads and processes; cross-process
 * consistency comes from SQLite transactions and atomic renames.
 *
 * Errors: every fallible call returns enum store_error; details go to the
 * log (log.h), never to the caller's peer.
 */
#ifndef YUBIN_STORE_STORE_H
#define YUBIN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

enum store_error {
	STORE_OK = 0,
	STORE_ERR_TEMP,     /* try again later: I/O error, disk full, lock timeout */
	STORE_ERR_PERM,     /* will not work without operator action */
	STORE_ERR_NOTFOUND, /* no such user / folder */
	STORE_ERR_EXISTS,
	STORE_ERR_EXPUNGED, /* the message was removed by someone else */
	STORE_ERR_INUSE,    /* locked by another session */
	STORE_ERR_QUOTA,    /* over quota / message too large */
};

/* Process-wide set-up, once, before any other store call (main does it):
 * SQLite without its global allocation statistics (a mutex per malloc). */
void store_library_init(void);

/* A short constant name for logs: "temp", "perm", ... */
const char *store_error_name(enum store_error err);

struct store_settings {
	const char *data_dir;      /* absolute */
	const char *mail_location; /* template, relative to data_dir unless absolute;
				      %u user, %n local part, %d domain ("" if none), %% */
	const char *hostname;      /* used in new file names */
	bool fsync;                /* false only for tests/benchmarks on tmpfs */
};

/*
 * Maildir root of a user (heap string, caller frees). The name must already
 * be valid and normalised (lib/username.h); returns STORE_ERR_PERM if the
 * expanded template would leave data_dir's tree via "..".
 */
enum store_error store_user_maildir(const struct store_settings *s, const char *user,
				    char **path_r);

/* ---- users ------------------------------------------------------------ */

struct store_user;

/*
 * Open a user's mail. With create, missing Maildir directories are made
 * (mode 0700); without it, a missing Maildir gives STORE_ERR_NOTFOUND.
 * The index is opened lazily and rebuilt automatically if it is missing,
 * corrupt or of an older schema.
 */
enum store_error store_user_open(const struct store_settings *s, const char *user, bool create,
				 struct store_user **user_r);
void store_user_close(struct store_user **user);

/* The session is going to wait (IMAP IDLE): let go of the index
 * connection and its page cache (hundreds of KiB); the next call that
 * needs the index opens it again. */
void store_user_idle(struct store_user *user);

/* ---- receiving a message (LMTP, `yubin deliver`) ------------------------ */

/*
 * A spool holds one incoming message body while it arrives: in memory up to
 * a threshold, then in an unlinked temporary file under data_dir/tmp. It
 * counts the CRLF size as it goes. max_size bounds what it accepts.
 */
struct store_spool;

struct store_spool *store_spool_new(const struct store_settings *s, uint64_t max_size);
/* STORE_ERR_QUOTA if the message would exceed max_size (the spool then
 * ignores further writes but stays valid); STORE_ERR_TEMP on I/O error. */
enum store_error store_spool_write(struct store_spool *sp, const void *data, size_t len);
uint64_t store_spool_size(const struct store_spool *sp);
/* True if the first line ending seen was CRLF (so headers we prepend
 * should use CRLF too). */
bool store_spool_crlf(const struct store_spool *sp);
/* The whole content (for a transformation before storing it); false on
 * an I/O error or if the spool dropped content (over its size). */
bool store_spool_read(const struct store_spool *sp, struct buf *out);
/* Replace the content with (data, len), as if freshly written. */
enum store_error store_spool_replace(struct store_spool *sp, const void *data, size_t len);
void store_spool_free(struct store_spool **sp);

/*
 * Deliver prefix (our trace headers, already in the body's line-ending
 * style) followed by the spool's content to user's folder (NULL = INBOX).
 * Durable: returns STORE_OK only after the file is written, fsynced, renamed
 * into new/ and new/ is fsynced. On failure nothing is visible in new/.
 * STORE_ERR_NOTFOUND if the folder does not exist (INBOX is created).
 * May be called from any thread; the spool must not be written meanwhile.
 */
enum store_error store_deliver(const struct store_settings *s, const char *user,
			       const char *folder, const char *prefix, size_t prefix_len,
			       struct store_spool *body);

/* ---- the POP3 view -------------------------------------------------------- */

/* RFC 1939 7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define STORE_UIDL_MAX 70

struct store_pop3_msg {
	uint64_t size;                  /* CRLF octets, as RETR sends them (no dot-stuffing) */
	char uidl[STORE_UIDL_MAX + 1];  /* stable forever for this message */
	/* private to the store */
	int64_t id;
	uint32_t folder;
	bool retrieved;
};

struct store_pop3_view {
	/* message n (1-based) is msgs[n - 1]; NULL until loaded, see
	 * store_pop3_load() (count and total_size are known at open) */
	struct store_pop3_msg *msgs;
	size_t count;
	uint64_t total_size;
	/* private to the store */
	struct store_user *user;
	void *priv;
};

struct store_pop3_options {
	const char *const *folders; /* folder names, "INBOX" first usually */
	size_t nfolders;
	bool lock;                  /* take the exclusive POP3 lock: STORE_ERR_INUSE if held */
	bool hide_deleted;          /* pop3.delete = hide: DELE hides instead of removing */
	uint32_t expire_days;       /* UINT32_MAX = never; 0 = retrieved mail goes at QUIT */
	uint64_t login_delay;       /* seconds; 0 = off */
	time_t now;
};

/*
 * Sync the folders with the disk and take a snapshot for one POP3 session:
 * messages in folder order, then by UID; hidden messages are left out.
 * Expiry (RFC 2449 EXPIRE) happens here first: messages retrieved more than
 * expire_days ago are removed (or hidden). With login_delay, a login less
 * than login_delay seconds after the previous one returns STORE_ERR_INUSE
 * with *login_delayed_r set; otherwise the login time is recorded.
 */
enum store_error store_pop3_open(struct store_user *user, const struct store_pop3_options *opt,
				 struct store_pop3_view **view_r, bool *login_delayed_r);

/*
 * Mailboxes up to this many messages are loaded at open; larger ones only
 * when a command needs the list, so that a login and STAT cost the same
 * for 100 messages as for 100,000 (the index keeps the counts).
 */
#define STORE_POP3_EAGER_MAX 2000

/*
 * Load the per-message list if it is not loaded yet: the messages that
 * were there at open (a delivery since then is not in this session).
 * Safe to call again. The functions below need a loaded view.
 */
enum store_error store_pop3_load(struct store_pop3_view *view);
bool store_pop3_loaded(const struct store_pop3_view *view);

/*
 * Open message i (0-based) for reading. *fd_r is a read-only descriptor
 * positioned at 0, *disk_size_r its size on disk, *crlf_clean_r true if the
 * file can be sent byte-for-byte (all line endings CRLF, ends with CRLF,
 * no line starts with '.'), enabling a zero-copy path. Follows renames done
 * by other programs; STORE_ERR_EXPUNGED if the message is gone.
 */
enum store_error store_pop3_msg_open(struct store_pop3_view *view, size_t i, int *fd_r,
				     uint64_t *disk_size_r, bool *crlf_clean_r);

/* Note that message i was sent to the client (RETR or TOP), for EXPIRE. */
void store_pop3_mark_retrieved(struct store_pop3_view *view, size_t i);

/*
 * The UPDATE state (RFC 1939 6): remove (or hide) the messages with
 * deleted[i] set, record retrievals, apply expire_days == 0. All or nothing
 * for the index; files are unlinked after the index commit, and a file that
 * is already gone is not an error.
 */
enum store_error store_pop3_commit(struct store_pop3_view *view, const bool *deleted);

/* Would store_pop3_commit() change anything? (If not, QUIT can skip it:
 * nothing deleted and no retrieval to record.) */
bool store_pop3_commit_needed(const struct store_pop3_view *view, const bool *deleted);

/* Release the snapshot and the POP3 lock; does not delete anything. */
void store_pop3_close(struct store_pop3_view **view);

#endif
