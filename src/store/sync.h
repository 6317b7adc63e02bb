/*
 * sync.h - bring the index up to date with a folder's files (disk -> index).
 *
 * Cheap when nothing changed: if the recorded mtimes of new/ and cur/
 * (nanoseconds) equal the current ones, the directories are not read at
 * all; that is what makes opening a 100,000-message mailbox instant. A
 * mtime less than SYNC_MTIME_SETTLE seconds old is recorded as 0, because
 * a change within the same timestamp tick could go unnoticed.
 *
 * If only new/ changed (deliveries do only that), only new/ is read and
 * compared with the index rows of files in new/: a delivery into a
 * 100,000-message folder costs a look at the few files in new/.
 *
 * Otherwise both directories are read and compared with the index by base
 * name: new files get UIDs (in arrival order, see maildir_name_cmp(), or
 * Dovecot's UIDs, see uidlist.h) and UIDLs (uidl.h), vanished files are
 * removed, renamed ones (new -> cur, flag changes) are updated, all in one
 * transaction. Sizes come from S=/W= in the name, else from reading the
 * file once. Names starting with '.' and non-regular files are skipped.
 */
#ifndef YUBIN_STORE_SYNC_H
#define YUBIN_STORE_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "store/crlf.h"
#include "store/store_private.h"

#define SYNC_MTIME_SETTLE 2

/*
 * cur/ is trusted by its mtime even when fresh, because yubin changes it
 * only under the index lock and records the mtime that results
 * (mailbox_cur_after). A crash between such a change and its commit, in
 * the same timestamp tick as the recorded mtime, would leave cur/ changed
 * but looking as the index last saw it. So the change first creates this
 * file in the folder's directory and removes it after the commit; a sync
 * that finds it reads cur/ whatever its mtime, and removes one left by a
 * crash.
 */
#define SYNC_CUR_MARKER "yubin-cur-changing"

/*
 * POP3 RETR ends an unterminated last line with CRLF, so the size a view
 * reports needs the file's last byte (index.h: eol_pad), which a name with
 * S=/W= does not tell. Reading it costs one disk read per file: fine for
 * the few files of a normal sync, too slow for indexing a migrated 100,000
 * message Maildir from a cold cache. So one sync reads the tails of at most
 * this many new files (the newest); the others count as terminated (what
 * Dovecot reports, too) until their first RETR/TOP reads them.
 */
#define SYNC_TAIL_READS 2000

/*
 * Sync folder `name` (NULL or "INBOX" for INBOX) of u; *folder_id_r is its
 * index id. force scans even if the mtimes say nothing changed.
 * STORE_ERR_NOTFOUND if the name is invalid or the folder does not exist.
 */
enum store_error sync_folder(struct store_user *u, const char *name, bool force,
                             int64_t *folder_id_r);

/* The same (what changed on disk since the last look), inside a write
 * transaction the caller holds
 * (index_begin()): for changes that must be indexed together with what
 * the caller does next (APPEND, COPY: the new message's UID). */
enum store_error sync_folder_in_txn(struct store_user *u, const char *name, int64_t *folder_id_r);

#endif
