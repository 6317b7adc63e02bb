/*
 * index.h - the per-user SQLite index: schema, opening, rebuilding,
 * prepared statements and transactions.
 *
 * The index lives at <maildir>/yubin.sqlite in WAL mode. It is a cache of
 * what the Maildir files say plus the state only we keep (UIDs, UIDLs,
 * POP3 hide/retrieval marks). Message files stay the truth: an index that
 * is missing, corrupt or of another schema version is deleted and rebuilt
 * by the next sync, and UIDLs come out the same (see uidl.h).
 *
 * Schema (version INDEX_SCHEMA_VERSION, PRAGMA user_version):
 *   folders(id, dir UNIQUE, name, uidvalidity, uidnext, highestmodseq,
 *           new_mtime, cur_mtime,         -- mtimes in ns at the last scan,
 *                                            0 = scan next time
 *           pop3_count, pop3_size)        -- messages not hidden from POP3
 *                                            and their POP3 size, kept by
 *                                            triggers: STAT without a scan
 *   messages(id, folder, uid, base, in_cur, suffix, flags, size, crlf_size,
 *            crlf_clean (1/0/NULL unknown), eol_pad (0/1/2/NULL unknown),
 *            internal_date, uidl,
 *            modseq, pop3_hidden, pop3_retrieved_at)
 *            UNIQUE(folder, uid), UNIQUE(folder, base)
 *   meta(key PRIMARY KEY, value)
 * `dir` is the folder's directory name ("" for INBOX, ".Junk"), so that
 * two spellings of one folder share a row. `suffix` is what follows the
 * base name in the file name (":2,S"), so the current name is
 * base || suffix in new/ or cur/. `crlf_size` is the W= value (exact for
 * IMAP RFC822.SIZE); a POP3 RETR sends crlf_size + eol_pad octets, because
 * it has to end an unterminated last line (crlf_count_eol_pad(); unknown
 * counts as 0 until the file is first read, see SYNC_TAIL_READS).
 *
 *   expunged(folder, uid, modseq)         -- every removed message, for
 *                                            IMAP VANISHED (RFC 7162)
 *   mime_cache(id, data)                  -- the parsed structure of a
 *                                            message (src/mime serialised)
 *   fts(hdr, body), fts_done(id)          -- full-text index (FTS5, words)
 *                                            for SEARCH, and what is in it
 * Modseqs (RFC 7162): a transaction that changes a folder takes
 * highestmodseq + 1 for what it changes; each removal bumps highestmodseq
 * itself (trigger messages_expunge). folders.recent_uid is the highest UID
 * an IMAP session has seen (\Recent belongs to the first one).
 *
 * Version history: 1 first release; 2 added eol_pad; 3 added the POP3
 * aggregates; 4 added IMAP: recent_uid, expunged, mime_cache; 5 added
 * the full-text index and made message ids never reused.
 */
#ifndef YUBIN_STORE_INDEX_H
#define YUBIN_STORE_INDEX_H

#include <sqlite3.h>

#include "store/store_private.h"

#define INDEX_SCHEMA_VERSION 5
#define INDEX_FILE_NAME "yubin.sqlite"
#define INDEX_BUSY_TIMEOUT_MS 5000

enum index_stmt {
	INDEX_FOLDER_GET,     /* dir -> id, uidvalidity, uidnext, highestmodseq, new/cur mtime */
	INDEX_FOLDER_INSERT,  /* dir, name, uidvalidity, uidnext */
	INDEX_FOLDER_UPDATE,  /* uidnext, highestmodseq, new_mtime, cur_mtime, id */
	INDEX_MSG_LIST_NAMES, /* folder -> id, base, in_cur, suffix */
	INDEX_MSG_LIST_NEW,   /* the same, only files in new/ */
	INDEX_MSG_INSERT,     /* folder, uid, base, in_cur, suffix, flags, size, crlf_size,
	                         crlf_clean, internal_date, uidl, modseq, eol_pad,
	                         pop3_hidden */
	INDEX_MSG_RENAME,     /* in_cur, suffix, flags, modseq, id */
	INDEX_MSG_DELETE,     /* id */
	INDEX_MSG_UIDL_USED,  /* uidl -> 1 if any message has it */
	INDEX_MSG_FILE,       /* id -> folder, base, in_cur, suffix, crlf_clean, eol_pad */
	INDEX_MSG_SET_CLEAN,  /* crlf_clean, eol_pad, id */
	INDEX_MSG_HIDE,       /* id */
	INDEX_MSG_RETRIEVED,  /* at, id: only if not set yet */
	INDEX_VIEW_LIST,      /* folder, uid limit -> id, RETR size, uidl, file (visible, by uid) */
	INDEX_FOLDER_POP3,    /* folder -> pop3_count, pop3_size, uidnext */
	INDEX_EXPIRE_LIST,    /* folder, cutoff -> id (visible, retrieved before cutoff) */
	INDEX_META_GET,       /* key -> value */
	INDEX_META_SET,       /* key, value */
	INDEX_META_INIT_RANDOM, /* key: a random positive integer value, unless set */
	INDEX_IMAP_FOLDER,    /* id -> uidvalidity, uidnext, highestmodseq, recent_uid */
	INDEX_IMAP_LIST,      /* folder, min uid -> id, uid, flags, modseq, crlf_size, date */
	INDEX_IMAP_CHANGED,   /* folder, modseq, uid limit -> id, uid, flags, modseq */
	INDEX_IMAP_EXPUNGED,  /* folder, modseq -> uid */
	INDEX_IMAP_RECENT,    /* folder, recent_uid */
	INDEX_IMAP_BUMP,      /* folder -> the new highestmodseq */
	INDEX_IMAP_BY_BASE,   /* folder, base -> id, uid */
	INDEX_IMAP_FILE,      /* id -> folder, base, in_cur, suffix, clean, eol_pad, flags,
	                         uid, modseq, internal_date, crlf_size */
	INDEX_IMAP_DELETED,   /* folder -> id of messages with \Deleted (T) */
	INDEX_IMAP_STATUS,    /* folder, recent_uid -> count, unseen, deleted, size, recent */
	INDEX_FOLDER_DELETE,  /* id */
	INDEX_FOLDER_RENAME,  /* old dir, new dir, new name */
	INDEX_FOLDER_MSGS_DELETE,     /* folder */
	INDEX_FOLDER_EXPUNGED_DELETE, /* folder */
	INDEX_MSG_TO_CUR,     /* id, suffix: the file moved from new/ to cur/ */
	INDEX_FOLDER_CUR_GET, /* id -> cur_mtime */
	INDEX_FOLDER_CUR_SET, /* id, cur_mtime */
	INDEX_IMAP_SET_DATE,  /* internal_date, id */
	INDEX_CACHE_GET,      /* id -> data */
	INDEX_CACHE_PUT,      /* id, data */
	INDEX_FTS_MISSING,    /* folder -> id of messages not in the full-text index */
	INDEX_FTS_ADD,        /* id, header text, body text */
	INDEX_FTS_DONE,       /* id */
	INDEX_FTS_QUERY,      /* fts5 query -> rowid */
	INDEX_BEGIN_READ,
	INDEX_BEGIN,
	INDEX_COMMIT,
	INDEX_ROLLBACK,
	INDEX_STMT_COUNT
};

/* Open (creating or rebuilding as needed) the user's index if it is not
 * open yet. STORE_ERR_TEMP if SQLite cannot be used at all. */
enum store_error index_open(struct store_user *u);

/* Finalize everything and close the database (no-op if not open). */
void index_close(struct store_user *u);

/* The prepared statement, reset and with its bindings cleared; NULL (and
 * logged) on error. Opens the index if it is closed. */
sqlite3_stmt *index_stmt(struct store_user *u, enum index_stmt id);

/*
 * Log a failed SQLite call (what = the operation) and map it: busy/locked
 * and I/O errors are STORE_ERR_TEMP; corruption also marks the index for
 * deletion, done by the next index_open(), which rebuilds it.
 */
enum store_error index_fail(struct store_user *u, int rc, const char *what);

/* Run a statement that returns no rows; STORE_OK or index_fail(). */
enum store_error index_step_done(struct store_user *u, sqlite3_stmt *st, const char *what);

/* BEGIN IMMEDIATE (writers queue on the busy timeout), COMMIT, ROLLBACK.
 * index_rollback() is safe to call when no transaction is open. */
enum store_error index_begin(struct store_user *u);
enum store_error index_commit(struct store_user *u);
void index_rollback(struct store_user *u);

/* Bind a (ptr, len) string as TEXT, copied by SQLite. */
int index_bind_text(sqlite3_stmt *st, int col, const char *s, size_t len);

/* The meta table's integer values: *found_r false (and *value_r 0) when
 * the key is not there; STORE_ERR_TEMP if the index cannot be read. */
enum store_error index_meta_get(struct store_user *u, const char *key, int64_t *value_r,
                                bool *found_r);
enum store_error index_meta_set(struct store_user *u, const char *key, int64_t value);

#endif
