/*
 * store_imap.h - what the IMAP server needs from the store: folders,
 * a selected mailbox with UIDs, flags, keywords and modseqs, changes made
 * by others, and the operations that change mail (STORE, EXPUNGE, COPY,
 * MOVE, APPEND).
 *
 * Names: folder names are UTF-8 with '/' as the hierarchy separator
 * ("INBOX", "Archive/2025", "Entwürfe"). On disk they are Maildir++
 * directories the way Dovecot writes them by default (LAYOUT=maildir++,
 * names in modified UTF-7): ".Archive.2025", ".Entw&APw-rfe", so that a
 * Dovecot Maildir is served unchanged. A '.' inside a name component cannot
 * be represented and is refused. "INBOX" is case-insensitive; other names
 * are case-sensitive. Invalid names (empty components, "." or "..",
 * control bytes, longer than STORE_FOLDER_NAME_MAX) give STORE_ERR_PERM.
 *
 * Flags: the system flags are a bitmask (STORE_FLAG_*); keywords are
 * atoms (RFC 9051 flag-keyword), stored as Maildir letters a..z through a
 * per-Maildir "dovecot-keywords" file (Dovecot's format: "<index> <name>"
 * lines, index 0 = 'a'), so that Dovecot and yubin agree; at most 26 per
 * Maildir, more gives STORE_ERR_QUOTA ("[LIMIT]"). \Recent is not stored:
 * a message is recent for the first session that sees it (the index
 * remembers the highest UID any session has seen).
 *
 * Modseqs (RFC 7162 CONDSTORE/QRESYNC): every change of a message's flags,
 * every new message and every expunge gets a new modseq from the folder's
 * counter (highestmodseq). Expunged UIDs are remembered with their modseq
 * (for VANISHED (EARLIER)) in the index.
 *
 * Threads: like store.h: a mailbox is used by one thread at a time; any
 * number of sessions in any processes may have the same folder selected.
 */
#ifndef YUBIN_STORE_STORE_IMAP_H
#define YUBIN_STORE_STORE_IMAP_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_FOLDER_NAME_MAX 512
#define STORE_KEYWORDS_MAX 26

enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};

enum store_special_use {
	STORE_SPECIAL_NONE = 0,
	STORE_SPECIAL_DRAFTS = 1 << 0,
	STORE_SPECIAL_SENT = 1 << 1,
	STORE_SPECIAL_TRASH = 1 << 2,
	STORE_SPECIAL_JUNK = 1 << 3,
	STORE_SPECIAL_ARCHIVE = 1 << 4,
};

/* ---- folders ---- */

struct store_folder_info {
	char *name;        /* UTF-8, '/' separated */
	bool subscribed;
	bool has_children;
	bool noselect;     /* exists only as a parent of others */
	bool nonexistent;  /* not at all (a subscription that outlived it) */
	unsigned special_use; /* enum store_special_use bits */
};

/* All folders (INBOX first, then by name). Free with store_folder_list_free. */
enum store_error store_folder_list(struct store_user *u, struct store_folder_info **list_r,
				   size_t *count_r);
void store_folder_list_free(struct store_folder_info **list, size_t count);

/* Subscribed names that no longer exist are listed too (RFC 9051 6.3.9
 * LSUB / LIST (SUBSCRIBED) show them with \NonExistent). */
enum store_error store_folder_subscriptions(struct store_user *u, char ***names_r,
					    size_t *count_r);

/* STORE_ERR_EXISTS if it exists; parents are created as needed. */
enum store_error store_folder_create(struct store_user *u, const char *name,
				     unsigned special_use);
/* INBOX cannot be deleted (STORE_ERR_PERM); a folder with children loses
 * its messages and becomes \Noselect (RFC 9051 6.3.4). */
enum store_error store_folder_delete(struct store_user *u, const char *name);
/* Children move along. Renaming INBOX moves its messages into a new folder
 * and leaves INBOX empty (RFC 9051 6.3.5). STORE_ERR_EXISTS if to exists. */
enum store_error store_folder_rename(struct store_user *u, const char *from, const char *to);
/* The Maildir++ "subscriptions" file (one name per line, Dovecot-compatible). */
enum store_error store_folder_subscribe(struct store_user *u, const char *name, bool on);
/* Special-use attributes are remembered by name, set at create (and for the
 * default set on first login: see store_folder_ensure_special). */
enum store_error store_folder_ensure_special(struct store_user *u, const char *const names[5]);

struct store_folder_status {
	uint32_t messages, recent, unseen, deleted;
	uint32_t uidnext, uidvalidity;
	uint64_t size; /* sum of RFC822.SIZE (STATUS=SIZE) */
	uint64_t highestmodseq;
};

/* Syncs the folder first. STORE_ERR_NOTFOUND if it does not exist. */
enum store_error store_folder_status(struct store_user *u, const char *name,
				     struct store_folder_status *st);

/* ---- a selected mailbox ---- */

struct store_mailbox;

struct store_msg {
	uint32_t uid;
	unsigned flags;    /* enum store_flag bits */
	uint32_t keywords; /* bit i = keyword i of store_mailbox_keywords() */
	bool recent;
	uint64_t modseq;
	uint64_t size;     /* RFC822.SIZE: CRLF octets */
	time_t internal_date;
};

/*
 * Select a folder: sync it, and take the session's view: messages in UID
 * order, message n (1-based sequence number) is msgs[n - 1]. Read-only
 * (EXAMINE) never changes flags or \Recent ownership.
 */
enum store_error store_mailbox_open(struct store_user *u, const char *name, bool readonly,
				    struct store_mailbox **mb_r);
void store_mailbox_close(struct store_mailbox **mb);

size_t store_mailbox_count(const struct store_mailbox *mb);
const struct store_msg *store_mailbox_msg(const struct store_mailbox *mb, size_t seq);
/* how many messages of the view are \Recent for this session */
size_t store_mailbox_recent(const struct store_mailbox *mb);
/* sequence number of the first message without \Seen, 0 if none */
size_t store_mailbox_first_unseen(const struct store_mailbox *mb);
/* sequence number (1-based) of a UID, 0 if not in the view */
size_t store_mailbox_seq_of(const struct store_mailbox *mb, uint32_t uid);
uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb);
uint32_t store_mailbox_uidnext(const struct store_mailbox *mb);
uint64_t store_mailbox_highestmodseq(const struct store_mailbox *mb);
/* The folder's keyword names, index = bit in store_msg.keywords. */
const char *const *store_mailbox_keywords(const struct store_mailbox *mb, size_t *count_r);

/*
 * Pick up changes made by others (another session, a delivery, a POP3
 * DELE, a user's own tools) and apply them to the view, reporting what an
 * IMAP server must tell its client: expunged sequence numbers (highest
 * first, so they can be sent as EXPUNGE responses in order) and UIDs (for
 * VANISHED), messages whose flags changed (sequence numbers after the
 * expunges), and the new message count (EXISTS/RECENT). With
 * keep_expunged, expunges are not applied (RFC 9051 7.5.1: no EXPUNGE
 * during FETCH/STORE/SEARCH): they are reported at the next call without it.
 */
struct store_changes {
	uint32_t *expunged_seqs; size_t n_expunged; /* descending */
	uint32_t *expunged_uids;
	uint32_t *changed_seqs; size_t n_changed;
	size_t exists;
	size_t recent;
	bool uidvalidity_changed; /* the client must resynchronise: close */
};
enum store_error store_mailbox_sync(struct store_mailbox *mb, bool keep_expunged,
				    struct store_changes *ch);
void store_changes_free(struct store_changes *ch);

/* RFC 7162 3.2.5.1 (QRESYNC, VANISHED (EARLIER)): UIDs removed from the
 * folder after modseq `since`, ascending (heap, free()). */
enum store_error store_mailbox_vanished(struct store_mailbox *mb, uint64_t since,
					uint32_t **uids_r, size_t *n_r);

/*
 * Can the store notice changes without being asked? The fd becomes
 * readable (inotify on new/ and cur/) when the folder may have changed;
 * the caller then calls store_mailbox_sync(). -1 if not available.
 */
int store_mailbox_watch_fd(struct store_mailbox *mb);

/* ---- changes ---- */

enum store_flags_mode { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/*
 * STORE: change the flags of the messages whose UIDs are listed (sorted),
 * renaming their files (":2,<letters>"). Keyword names not known yet are
 * added to the folder's keyword list. With unchangedsince (non-zero), a
 * message whose modseq is higher is left alone and its UID is returned in
 * *failed_r (RFC 7162 3.1.3 MODIFIED). Each changed message gets a new
 * modseq. The view is updated.
 */
enum store_error store_mailbox_set_flags(struct store_mailbox *mb, const uint32_t *uids,
					 size_t n, enum store_flags_mode mode, unsigned flags,
					 const char *const *keywords, size_t nkeywords,
					 uint64_t unchangedsince, uint32_t **failed_r,
					 size_t *nfailed_r);

/* EXPUNGE / UID EXPUNGE: remove the listed messages (all with \Deleted if
 * uids is NULL) that have \Deleted. Files are unlinked after the index
 * commit; expunged UIDs are remembered for QRESYNC. The view is NOT
 * updated: the caller learns the expunges from store_mailbox_sync(). */
enum store_error store_mailbox_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n);

/*
 * COPY / MOVE to folder `dest` (STORE_ERR_NOTFOUND: "[TRYCREATE]"). Files
 * are hard-linked when possible (same file system), else copied; durable
 * like a delivery. *dest_uids_r gets the new UIDs in the order of uids, for
 * COPYUID (RFC 4315). MOVE then expunges the originals (RFC 6851).
 */
enum store_error store_mailbox_copy(struct store_mailbox *mb, const uint32_t *uids, size_t n,
				    const char *dest, bool move, uint32_t *dest_uidvalidity_r,
				    uint32_t **dest_uids_r);

/* APPEND (RFC 9051 6.3.12): like store_deliver() but with flags, keywords
 * and an internal date (0 = now); *uid_r and *uidvalidity_r for APPENDUID.
 * STORE_ERR_NOTFOUND: "[TRYCREATE]". */
enum store_error store_append(struct store_user *u, const char *folder,
			      struct store_spool *body, unsigned flags,
			      const char *const *keywords, size_t nkeywords,
			      time_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r);

/* ---- reading ---- */

/* Open message seq for reading (fd positioned at 0); *disk_size_r its
 * size; STORE_ERR_EXPUNGED if someone removed it meanwhile. */
enum store_error store_mailbox_msg_open(struct store_mailbox *mb, size_t seq, int *fd_r,
					uint64_t *disk_size_r);

/*
 * The cached result of parsing the message (src/mime's serialised tree,
 * which gives BODYSTRUCTURE, ENVELOPE and section offsets), or
 * STORE_ERR_NOTFOUND if it is not cached yet; store_mailbox_cache_put()
 * stores one (computed by the caller with src/mime).
 */
enum store_error store_mailbox_cache_get(struct store_mailbox *mb, size_t seq, void **data_r,
					 size_t *len_r);
enum store_error store_mailbox_cache_put(struct store_mailbox *mb, size_t seq,
					 const void *data, size_t len);

/*
 * A command that reads many messages (FETCH 1:*) brackets its loop with
 * these: the cache reads then share one read transaction instead of
 * taking the index's locks once per message, and cache_put()s are written
 * in batches. Nothing else may change the mailbox in between.
 */
void store_mailbox_batch_begin(struct store_mailbox *mb);
void store_mailbox_batch_end(struct store_mailbox *mb);

/* ---- full-text search ----
 *
 * An index of the words of each message (decoded header fields, decoded
 * text parts), built by the caller (which knows MIME) for the messages the
 * store says are missing, and asked for candidates: a message that is not
 * a candidate does not contain the needle. Candidates are a superset for
 * substring matching (a piece of a word finds the word); the caller
 * still checks each candidate exactly.
 */
enum store_fts_field { STORE_FTS_HEADER = 1, STORE_FTS_BODY = 2 };

/* Sequence numbers of the view's messages not indexed yet (heap). */
enum store_error store_fts_missing(struct store_mailbox *mb, uint32_t **seqs_r, size_t *n_r);
/* Index message seq; between store_fts_begin() and store_fts_end(). */
enum store_error store_fts_begin(struct store_mailbox *mb);
enum store_error store_fts_add(struct store_mailbox *mb, size_t seq, const char *hdr,
			       size_t hdr_len, const char *body, size_t body_len);
enum store_error store_fts_end(struct store_mailbox *mb, bool commit);
/*
 * Candidates for a needle in the given fields (STORE_FTS_* bits): *cand_r
 * is a heap array of count + 1 flags, indexed by sequence number.
 * STORE_ERR_NOTFOUND when the index cannot help (no word in the needle):
 * every message is a candidate then.
 */
enum store_error store_fts_candidates(struct store_mailbox *mb, unsigned fields,
				      const char *needle, bool **cand_r);

#endif
