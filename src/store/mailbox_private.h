/*
 * mailbox_private.h - what the IMAP side of the store shares: the selected
 * mailbox (mailbox.c), flag letters and keywords (mailbox_flags.c),
 * changes (mailbox_change.c), COPY and APPEND (mailbox_copy.c).
 */
#ifndef YUBIN_STORE_MAILBOX_PRIVATE_H
#define YUBIN_STORE_MAILBOX_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_imap.h"
#include "store/store_private.h"

/* Flag letters of one file name fit in this (system letters + a-z). */
#define MAILBOX_LETTERS_MAX 64

/* The keywords of a folder: names[i] is Maildir letter 'a' + i (NULL for
 * an index the dovecot-keywords file does not use). */
struct mailbox_keywords {
	char *names[STORE_KEYWORDS_MAX];
	size_t count; /* highest used index + 1 */
	/* the file as last read (inode, size, mtime in ns; 0s: missing) */
	uint64_t ino, size;
	int64_t mtime;
};

struct store_mailbox {
	struct store_user *u;
	char *name; /* canonical: "INBOX", "Archive/2025" */
	char *path; /* the folder's directory */
	int64_t folder;
	bool readonly;
	uint32_t uidvalidity;
	uint32_t uidnext;   /* of the view: rows below it are in msgs */
	uint64_t modseq;    /* changes up to this one are in the view */
	struct store_msg *msgs;
	int64_t *ids; /* index row of msgs[i] */
	size_t n, cap;
	size_t nrecent; /* messages with recent set */
	/* msgs and ids live in a private mapping of the saved view
	 * (mailbox_view.c) until the view outgrows it; else on the heap */
	void *map;
	size_t map_len;
	struct mailbox_keywords kw;
	uint32_t *pending; /* expunged by others, not yet reported (UIDs) */
	size_t npending, pending_cap;
	int watch_fd;
	/* store_mailbox_batch_begin(): a read transaction is open, and
	 * structure cache entries wait here to be written */
	bool batch;
	struct mailbox_pending_put *puts;
	size_t nputs;
};

struct mailbox_pending_put {
	int64_t id;
	void *data;
	size_t len;
};

/* Maildir letters (after ":2,") -> system flags and keyword bits. */
void mailbox_flags_parse(const char *letters, size_t len, unsigned *flags_r,
			 uint32_t *keywords_r);
/* The letters for flags and keywords, in ASCII order, keeping letters of
 * old that we do not interpret (Dovecot's 'P' for \Passed). */
void mailbox_flags_format(unsigned flags, uint32_t keywords, const char *old, size_t old_len,
			  char out[MAILBOX_LETTERS_MAX]);

/* Read <path>/dovecot-keywords (missing = no keywords). */
void mailbox_keywords_read(const char *path, struct mailbox_keywords *kw);
/* Read it again if it changed since (another session added a keyword). */
void mailbox_keywords_refresh(const char *path, struct mailbox_keywords *kw);
void mailbox_keywords_free(struct mailbox_keywords *kw);
/* The bits of the keyword names (case-insensitive, RFC 9051 2.3.2),
 * adding unknown ones to the file. Call inside an index write transaction
 * (it serialises writers of the file). STORE_ERR_QUOTA when more than 26. */
enum store_error mailbox_keywords_bits(const char *path, struct mailbox_keywords *kw,
				       const char *const *names, size_t n, uint32_t *bits_r);

/* The folder's row in the index, as the IMAP side reads it. */
struct mailbox_folder_row {
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
	uint32_t recent_uid;
};

/*
 * The saved view (mailbox_view.c) of folders with at least
 * mailbox_view_min_msgs messages (a variable so that tests can lower it).
 * mailbox_view_load(): map the folder's saved view if it can be trusted
 * for the folder as r describes it, setting msgs, ids, n, and the view's
 * modseq and uidnext to the saved ones (the caller then reads what changed
 * since); false if there is none. mailbox_view_save(): write the view as
 * it is (modseq, uidnext and every message; no \Recent). Neither fails
 * in a way the caller must handle: the view is only a cache.
 */
#define MAILBOX_VIEW_MIN_MSGS 2000
extern size_t mailbox_view_min_msgs;
bool mailbox_view_load(struct store_mailbox *mb, const struct mailbox_folder_row *r);
void mailbox_view_save(struct store_mailbox *mb);
/* Move a mapped view to the heap with room for cap messages (before it
 * grows), or let the mapping go (close). */
void mailbox_view_to_heap(struct store_mailbox *mb, size_t cap);
void mailbox_view_unmap(struct store_mailbox *mb);

/* Binary search of the view by UID: index into msgs, or SIZE_MAX. */
size_t mailbox_find(const struct store_mailbox *mb, uint32_t uid);

/* Where message row id lives: "cur/<name>" or "new/<name>" relative to
 * the folder (heap), its base-name length, and its flag letters. */
struct mailbox_file {
	char *rel;    /* "cur/1234.M5P6.host,S=1,W=2:2,S" */
	size_t base_off, base_len; /* the base name inside rel */
	bool in_cur;
	char letters[MAILBOX_LETTERS_MAX];
	uint32_t uid;
	uint64_t modseq;
	time_t internal_date;
	uint64_t crlf_size;
};
enum store_error mailbox_file_get(struct store_user *u, int64_t id, struct mailbox_file *f);
void mailbox_file_free(struct mailbox_file *f);

/* Unlink a message file; if another program renamed it meanwhile, find it
 * by its base name. A file already gone is not an error. */
void mailbox_unlink(struct store_user *u, const char *folder_path, const struct mailbox_file *f);

/*
 * Our own changes of cur/ (inside an index write transaction): if the
 * index had seen cur/ as it was before them, it has seen it after them
 * too, so the next sync need not read cur/ again (100,000 names). Call
 * mailbox_cur_before() before the first change and mailbox_cur_after()
 * once done.
 */
struct mailbox_cur_mark {
	bool in_step; /* the index matched cur/ before our changes */
	bool marked;  /* SYNC_CUR_MARKER was created for them */
};
void mailbox_cur_before(struct store_mailbox *mb, struct mailbox_cur_mark *mk);
void mailbox_cur_after(struct store_mailbox *mb, const struct mailbox_cur_mark *mk);
/* After the commit (committed) or rollback: a marker stays after a
 * rollback, since changes on disk may not match the index, and makes the
 * next sync read cur/. */
void mailbox_cur_done(struct store_mailbox *mb, struct mailbox_cur_mark *mk, bool committed);

/* Remove messages (their rows, then their files): the listed UIDs, only
 * those with \Deleted if only_deleted; uids NULL = every \Deleted one. */
enum store_error mailbox_remove(struct store_mailbox *mb, const uint32_t *uids, size_t n,
				bool only_deleted);

#endif
