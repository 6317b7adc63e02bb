/*
 * mailbox.c - a selected IMAP mailbox: the session's view of a folder
 * (messages by UID with flags and modseqs), keeping it up to date with
 * what others change, reading messages, and the structure cache.
 *
 * The view follows the index, not the disk: store_mailbox_sync() first
 * brings the index up to date with the folder's files (sync.h), then asks
 * the index for what changed since the view's modseq: removed UIDs from
 * the `expunged` table, changed flags by modseq, new messages above the
 * view's UIDNEXT. That makes a NOOP on a big mailbox cost a few indexed
 * queries, not a pass over every message.
 */
#include "store/mailbox_private.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/sync.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first position whose UID is >= uid (n if none). */
static size_t mailbox_lower_bound(const struct store_mailbox *mb, uint32_t uid)
{
	size_t lo = 0, hi = mb->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mb->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t mailbox_find(const struct store_mailbox *mb, uint32_t uid)
{
	size_t i = mailbox_lower_bound(mb, uid);
	return i < mb->n && mb->msgs[i].uid == uid ? i : SIZE_MAX;
}

static void mailbox_push(struct store_mailbox *mb, int64_t id, const struct store_msg *m)
{
	if (mb->n == mb->cap) {
		size_t cap = mb->cap == 0 ? 64 : mb->cap * 2;
		if (mb->map != NULL) {
			mailbox_view_to_heap(mb, cap);
		} else {
			mb->cap = cap;
			mb->msgs = xrealloc(mb->msgs, mb->cap * sizeof(*mb->msgs));
			mb->ids = xrealloc(mb->ids, mb->cap * sizeof(*mb->ids));
		}
	}
	mb->msgs[mb->n] = *m;
	mb->ids[mb->n] = id;
	mb->n++;
}

/* Append the messages with uid >= min_uid (they are above every UID in
 * the view, so the order stays by UID). */
static enum store_error mailbox_load_from(struct store_mailbox *mb, uint32_t min_uid)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_LIST);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	sqlite3_bind_int64(st, 2, min_uid);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_msg m = {.uid = (uint32_t)sqlite3_column_int64(st, 1),
		                      .modseq = (uint64_t)sqlite3_column_int64(st, 3),
		                      .size = (uint64_t)sqlite3_column_int64(st, 4),
		                      .internal_date = (time_t)sqlite3_column_int64(st, 5)};
		mailbox_flags_parse((const char *)sqlite3_column_text(st, 2),
		                    (size_t)sqlite3_column_bytes(st, 2), &m.flags, &m.keywords);
		mailbox_push(mb, sqlite3_column_int64(st, 0), &m);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : index_fail(mb->u, rc, "imap_list");
}

static enum store_error mailbox_folder_row(struct store_user *u, int64_t folder,
                                           struct mailbox_folder_row *r)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_IMAP_FOLDER);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, folder);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
		r->uidnext = (uint32_t)sqlite3_column_int64(st, 1);
		r->modseq = (uint64_t)sqlite3_column_int64(st, 2);
		r->recent_uid = (uint32_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return STORE_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? STORE_OK : index_fail(u, rc, "imap_folder");
}

/*
 * \Recent (RFC 3501 2.3.2): a message is recent for the first session that
 * sees it. The folder row remembers the highest UID handed out; claiming
 * the ones above it is one small write transaction, only when there are
 * any. A read-only session (EXAMINE) shows them as recent but claims
 * nothing (RFC 3501 6.3.2: EXAMINE must not take \Recent away).
 */
static void mailbox_claim_recent(struct store_mailbox *mb, size_t first)
{
	if (first >= mb->n)
		return;
	struct mailbox_folder_row r;
	uint32_t top = mb->msgs[mb->n - 1].uid;
	if (mb->readonly) {
		if (mailbox_folder_row(mb->u, mb->folder, &r) != STORE_OK)
			return;
	} else {
		if (index_begin(mb->u) != STORE_OK)
			return;
		enum store_error err = mailbox_folder_row(mb->u, mb->folder, &r);
		if (err == STORE_OK && r.recent_uid < top) {
			sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_RECENT);
			if (st == NULL)
				err = STORE_ERR_TEMP;
			if (st != NULL) {
				sqlite3_bind_int64(st, 1, mb->folder);
				sqlite3_bind_int64(st, 2, top);
				err = index_step_done(mb->u, st, "imap_recent");
			}
		}
		if (err != STORE_OK || index_commit(mb->u) != STORE_OK) {
			index_rollback(mb->u);
			return;
		}
	}
	if (r.recent_uid >= top)
		return;
	/* the messages from first on are new to the view (not recent yet);
	 * writing only the recent ones leaves a mapped view's pages shared */
	size_t from = r.recent_uid == UINT32_MAX ? mb->n : mailbox_lower_bound(mb, r.recent_uid + 1);
	for (size_t i = from > first ? from : first; i < mb->n; i++) {
		mb->msgs[i].recent = true;
		mb->nrecent++;
	}
}

static enum store_error mailbox_read_begin(struct store_user *u)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_BEGIN_READ);
	return st != NULL ? index_step_done(u, st, "begin_read") : STORE_ERR_TEMP;
}

/* End a read transaction (nothing to commit; never fails usefully). */
static void mailbox_read_end(struct store_user *u)
{
	index_rollback(u);
}

/* Rows of the files still in new/: (id, name in new/, base length). */
struct mailbox_new_file {
	int64_t id;
	char *name;
	size_t base_len;
};

/*
 * A read-write SELECT moves what is in new/ to cur/ (as Dovecot and the
 * Maildir convention do once a client has seen the mail; \Recent is kept
 * by UID in the index, not by directory): new/ then holds only what
 * arrives later, so looking at it after a delivery stays cheap, and flag
 * changes touch cur/ alone, whose state the index can keep up with.
 */
static void mailbox_move_new(struct store_mailbox *mb)
{
	if (index_begin(mb->u) != STORE_OK)
		return;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_MSG_LIST_NEW);
	struct mailbox_new_file *v = NULL;
	size_t n = 0, cap = 0;
	int rc = SQLITE_ERROR;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, mb->folder);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				v = xrealloc(v, cap * sizeof(*v));
			}
			const char *base = (const char *)sqlite3_column_text(st, 1);
			const char *suffix = (const char *)sqlite3_column_text(st, 3);
			v[n].id = sqlite3_column_int64(st, 0);
			v[n].base_len = (size_t)sqlite3_column_bytes(st, 1);
			v[n].name = xasprintf("%s%s", base != NULL ? base : "", suffix != NULL ? suffix : "");
			n++;
		}
		sqlite3_reset(st);
	}
	struct mailbox_cur_mark mk;
	mailbox_cur_before(mb, &mk);
	bool ok = rc == SQLITE_DONE;
	for (size_t i = 0; ok && i < n; i++) {
		const char *info = v[i].name + v[i].base_len; /* "" or ":2,..." */
		char *from = xasprintf("%s/new/%s", mb->path, v[i].name);
		char *to = xasprintf("%s/cur/%.*s%s", mb->path, (int)v[i].base_len, v[i].name,
		                     info[0] != '\0' ? info : ":2,");
		if (rename(from, to) == 0) {
			st = index_stmt(mb->u, INDEX_MSG_TO_CUR);
			ok = st != NULL;
			if (ok) {
				const char *suffix = info[0] != '\0' ? info : ":2,";
				sqlite3_bind_int64(st, 1, v[i].id);
				index_bind_text(st, 2, suffix, strlen(suffix));
				ok = index_step_done(mb->u, st, "to_cur") == STORE_OK;
			}
		} /* else: moved or gone meanwhile; the next sync sees to it */
		xfree(from);
		xfree(to);
	}
	for (size_t i = 0; i < n; i++)
		xfree(v[i].name);
	xfree(v);
	if (ok) {
		mailbox_cur_after(mb, &mk);
		ok = index_commit(mb->u) == STORE_OK;
	} else {
		/* renames already done are read back by the next sync */
		index_rollback(mb->u);
	}
	mailbox_cur_done(mb, &mk, ok);
}

static enum store_error mailbox_read_expunged(struct store_mailbox *mb);
static enum store_error mailbox_read_changed(struct store_mailbox *mb, uint32_t **changed,
                                             size_t *nchanged);
static void mailbox_apply_expunges(struct store_mailbox *mb, struct store_changes *ch);

/*
 * Bring a view mapped from the saved copy up to date inside the read
 * transaction: the reads of a refresh (expunged, changed, new), applied
 * without reporting anything. *changes_r: how many changes that took.
 */
static enum store_error mailbox_catch_up(struct store_mailbox *mb, size_t *changes_r)
{
	enum store_error err = mailbox_read_expunged(mb);
	size_t changes = mb->npending;
	mailbox_apply_expunges(mb, NULL);
	uint32_t *changed = NULL;
	size_t nchanged = 0, before = mb->n;
	if (err == STORE_OK)
		err = mailbox_read_changed(mb, &changed, &nchanged);
	xfree(changed);
	if (err == STORE_OK)
		err = mailbox_load_from(mb, mb->uidnext);
	*changes_r = changes + nchanged + (mb->n - before);
	return err;
}

enum store_error store_mailbox_open(struct store_user *u, const char *name, bool readonly,
                                    struct store_mailbox **mb_r)
{
	*mb_r = NULL;
	int64_t folder;
	enum store_error err = sync_folder(u, name, false, &folder);
	if (err != STORE_OK)
		return err;
	struct store_mailbox *mb = xmalloc(sizeof(*mb));
	mb->u = u;
	mb->name = xstrdup(maildir_folder_is_inbox(name) ? "INBOX" : name);
	mb->path = maildir_folder_dir(u->maildir, name);
	mb->folder = folder;
	mb->readonly = readonly;
	mb->watch_fd = -1;
	mailbox_keywords_read(mb->path, &mb->kw);
	struct mailbox_folder_row r;
	size_t changes = SIZE_MAX; /* SIZE_MAX: every row read from the index */
	err = mailbox_read_begin(u);
	if (err == STORE_OK)
		err = mailbox_folder_row(u, folder, &r);
	if (err == STORE_OK && mailbox_view_load(mb, &r))
		err = mailbox_catch_up(mb, &changes);
	else if (err == STORE_OK)
		err = mailbox_load_from(mb, 1);
	mailbox_read_end(u);
	if (err != STORE_OK) {
		store_mailbox_close(&mb);
		return err;
	}
	mb->uidvalidity = r.uidvalidity;
	mb->uidnext = r.uidnext;
	mb->modseq = r.modseq;
	/* save the view of a big folder when there was none, or when
	 * catching up with the saved one took many changes */
	if (mb->n >= mailbox_view_min_msgs && (changes == SIZE_MAX || changes > mb->n / 16))
		mailbox_view_save(mb);
	mailbox_claim_recent(mb, 0);
	if (!readonly)
		mailbox_move_new(mb);
	*mb_r = mb;
	return STORE_OK;
}

void store_mailbox_close(struct store_mailbox **mbp)
{
	struct store_mailbox *mb = *mbp;
	if (mb == NULL)
		return;
	if (mb->watch_fd >= 0)
		close(mb->watch_fd);
	mailbox_keywords_free(&mb->kw);
	xfree(mb->name);
	xfree(mb->path);
	if (mb->map != NULL) {
		mailbox_view_unmap(mb);
	} else {
		xfree(mb->msgs);
		xfree(mb->ids);
	}
	xfree(mb->pending);
	store_mailbox_batch_end(mb);
	xfree(mb->puts);
	xfree(*mbp);
}

size_t store_mailbox_count(const struct store_mailbox *mb)
{
	return mb->n;
}

const struct store_msg *store_mailbox_msg(const struct store_mailbox *mb, size_t seq)
{
	return seq >= 1 && seq <= mb->n ? &mb->msgs[seq - 1] : NULL;
}

size_t store_mailbox_recent(const struct store_mailbox *mb)
{
	return mb->nrecent;
}

size_t store_mailbox_first_unseen(const struct store_mailbox *mb)
{
	for (size_t i = 0; i < mb->n; i++)
		if (!(mb->msgs[i].flags & STORE_FLAG_SEEN))
			return i + 1;
	return 0;
}

size_t store_mailbox_seq_of(const struct store_mailbox *mb, uint32_t uid)
{
	size_t i = mailbox_find(mb, uid);
	return i == SIZE_MAX ? 0 : i + 1;
}

uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb)
{
	return mb->uidvalidity;
}

uint32_t store_mailbox_uidnext(const struct store_mailbox *mb)
{
	return mb->uidnext;
}

uint64_t store_mailbox_highestmodseq(const struct store_mailbox *mb)
{
	return mb->modseq;
}

const char *const *store_mailbox_keywords(const struct store_mailbox *mb, size_t *count_r)
{
	*count_r = mb->kw.count;
	return (const char *const *)mb->kw.names;
}

/* ---- changes made by others ---- */

/* Duplicates (an expunge log with a UID twice, after an index rebuild)
 * are dropped when the expunges are applied. */
static void mailbox_add_pending(struct store_mailbox *mb, uint32_t uid)
{
	if (mb->npending == mb->pending_cap) {
		mb->pending_cap = mb->pending_cap == 0 ? 16 : mb->pending_cap * 2;
		mb->pending = xrealloc(mb->pending, mb->pending_cap * sizeof(*mb->pending));
	}
	mb->pending[mb->npending++] = uid;
}

static enum store_error mailbox_read_expunged(struct store_mailbox *mb)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_EXPUNGED);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	sqlite3_bind_int64(st, 2, (int64_t)mb->modseq);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
		if (mailbox_find(mb, uid) != SIZE_MAX)
			mailbox_add_pending(mb, uid);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : index_fail(mb->u, rc, "imap_expunged");
}

/* Flags changed by others: update the view, note the UIDs in *changed. */
static enum store_error mailbox_read_changed(struct store_mailbox *mb, uint32_t **changed,
                                             size_t *nchanged)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_CHANGED);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	sqlite3_bind_int64(st, 2, (int64_t)mb->modseq);
	sqlite3_bind_int64(st, 3, mb->uidnext);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t i = mailbox_find(mb, (uint32_t)sqlite3_column_int64(st, 1));
		uint64_t modseq = (uint64_t)sqlite3_column_int64(st, 3);
		if (i == SIZE_MAX || mb->msgs[i].modseq == modseq)
			continue; /* not ours to report, or our own change */
		struct store_msg *m = &mb->msgs[i];
		unsigned flags;
		uint32_t keywords;
		mailbox_flags_parse((const char *)sqlite3_column_text(st, 2),
		                    (size_t)sqlite3_column_bytes(st, 2), &flags, &keywords);
		m->modseq = modseq;
		if (flags == m->flags && keywords == m->keywords)
			continue;
		m->flags = flags;
		m->keywords = keywords;
		if (*nchanged == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*changed = xrealloc(*changed, cap * sizeof(**changed));
		}
		(*changed)[(*nchanged)++] = m->uid;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : index_fail(mb->u, rc, "imap_changed");
}

static int mailbox_cmp_desc(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? 1 : a > b ? -1 : 0;
}

/*
 * Apply the pending expunges, reporting them in ch (if not NULL) highest
 * sequence number first: each is then the message's number at the moment
 * its EXPUNGE is sent, since removing higher ones does not move lower
 * ones. The view is compacted in one pass (10,000 expunges in a 100,000
 * message view must not move the rest 10,000 times).
 */
static void mailbox_apply_expunges(struct store_mailbox *mb, struct store_changes *ch)
{
	if (mb->npending == 0)
		return;
	qsort(mb->pending, mb->npending, sizeof(*mb->pending), mailbox_cmp_desc);
	if (ch != NULL) {
		ch->expunged_seqs = xmalloc(mb->npending * sizeof(uint32_t));
		ch->expunged_uids = xmalloc(mb->npending * sizeof(uint32_t));
	}
	/* the positions to remove, descending, replace the UIDs in pending */
	size_t nidx = 0;
	uint32_t prev = 0;
	for (size_t k = 0; k < mb->npending; k++) {
		uint32_t uid = mb->pending[k];
		if (k > 0 && uid == prev)
			continue;
		prev = uid;
		size_t i = mailbox_find(mb, uid);
		if (i == SIZE_MAX)
			continue;
		if (ch != NULL) {
			ch->expunged_seqs[ch->n_expunged] = (uint32_t)(i + 1);
			ch->expunged_uids[ch->n_expunged++] = uid;
		}
		mb->pending[nidx++] = (uint32_t)i;
	}
	mb->npending = 0;
	if (nidx == 0)
		return;
	size_t w = mb->pending[nidx - 1];
	for (size_t r = w; r < mb->n; r++) {
		if (nidx > 0 && r == mb->pending[nidx - 1]) {
			nidx--;
			mb->nrecent -= mb->msgs[r].recent;
			continue;
		}
		mb->msgs[w] = mb->msgs[r];
		mb->ids[w] = mb->ids[r];
		w++;
	}
	mb->n = w;
}

static void mailbox_drain_watch(struct store_mailbox *mb)
{
	char buf[4096];
	if (mb->watch_fd >= 0)
		while (read(mb->watch_fd, buf, sizeof(buf)) > 0)
			;
}

/* Read what changed since the view's modseq, in one read transaction. */
static enum store_error mailbox_refresh(struct store_mailbox *mb, struct store_changes *ch,
                                        uint32_t **changed, size_t *nchanged, size_t *first_new)
{
	struct mailbox_folder_row r;
	enum store_error err = mailbox_read_begin(mb->u);
	if (err == STORE_OK)
		err = mailbox_folder_row(mb->u, mb->folder, &r);
	if (err == STORE_OK && r.uidvalidity != mb->uidvalidity) {
		ch->uidvalidity_changed = true;
	} else if (err == STORE_OK && (r.modseq != mb->modseq || r.uidnext != mb->uidnext)) {
		err = mailbox_read_expunged(mb);
		if (err == STORE_OK)
			err = mailbox_read_changed(mb, changed, nchanged);
		*first_new = mb->n;
		if (err == STORE_OK)
			err = mailbox_load_from(mb, mb->uidnext);
		if (err == STORE_OK) {
			mb->modseq = r.modseq;
			mb->uidnext = r.uidnext;
		}
	}
	mailbox_read_end(mb->u);
	return err;
}

enum store_error store_mailbox_sync(struct store_mailbox *mb, bool keep_expunged,
                                    struct store_changes *ch)
{
	memset(ch, 0, sizeof(*ch));
	mailbox_drain_watch(mb);
	int64_t folder;
	enum store_error err = sync_folder(mb->u, mb->name, false, &folder);
	if (err == STORE_OK && folder != mb->folder)
		ch->uidvalidity_changed = true; /* deleted and created again */
	mailbox_keywords_refresh(mb->path, &mb->kw);
	uint32_t *changed = NULL;
	size_t nchanged = 0, first_new = mb->n;
	if (err == STORE_OK && !ch->uidvalidity_changed)
		err = mailbox_refresh(mb, ch, &changed, &nchanged, &first_new);
	if (err == STORE_OK && !ch->uidvalidity_changed) {
		mailbox_claim_recent(mb, first_new);
		if (!keep_expunged)
			mailbox_apply_expunges(mb, ch);
		ch->changed_seqs = nchanged > 0 ? xmalloc(nchanged * sizeof(uint32_t)) : NULL;
		for (size_t k = 0; k < nchanged; k++) {
			size_t i = mailbox_find(mb, changed[k]);
			if (i != SIZE_MAX)
				ch->changed_seqs[ch->n_changed++] = (uint32_t)(i + 1);
		}
	}
	xfree(changed);
	ch->exists = mb->n;
	ch->recent = mb->nrecent;
	return err;
}

void store_changes_free(struct store_changes *ch)
{
	xfree(ch->expunged_seqs);
	xfree(ch->expunged_uids);
	xfree(ch->changed_seqs);
	ch->n_expunged = ch->n_changed = 0;
}

static int mailbox_cmp_asc(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b ? 1 : 0;
}

enum store_error store_mailbox_vanished(struct store_mailbox *mb, uint64_t since,
                                        uint32_t **uids_r, size_t *n_r)
{
	*uids_r = NULL;
	*n_r = 0;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_EXPUNGED);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	sqlite3_bind_int64(st, 2, (int64_t)since);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n_r == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			*uids_r = xrealloc(*uids_r, cap * sizeof(**uids_r));
		}
		(*uids_r)[(*n_r)++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		xfree(*uids_r);
		*n_r = 0;
		return index_fail(mb->u, rc, "imap_vanished");
	}
	if (*n_r > 1)
		qsort(*uids_r, *n_r, sizeof(**uids_r), mailbox_cmp_asc);
	/* a UID appears once even if the log has it twice (an index rebuild) */
	size_t out = 0;
	for (size_t i = 0; i < *n_r; i++)
		if (out == 0 || (*uids_r)[out - 1] != (*uids_r)[i])
			(*uids_r)[out++] = (*uids_r)[i];
	*n_r = out;
	return STORE_OK;
}

int store_mailbox_watch_fd(struct store_mailbox *mb)
{
	if (mb->watch_fd >= 0)
		return mb->watch_fd;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; i < 2; i++) {
		char *dir = xasprintf("%s/%s", mb->path, subs[i]);
		int wd = inotify_add_watch(fd, dir,
		                           IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
		                               IN_ONLYDIR);
		xfree(dir);
		if (wd < 0) {
			close(fd);
			return -1;
		}
	}
	mb->watch_fd = fd;
	return fd;
}

/* ---- our own changes of cur/ ---- */

static bool mailbox_cur_mtime(const struct store_mailbox *mb, int64_t *ns_r)
{
	char *cur = xasprintf("%s/cur", mb->path);
	struct stat st;
	bool ok = stat(cur, &st) == 0;
	xfree(cur);
	*ns_r = ok ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
	return ok;
}

void mailbox_cur_before(struct store_mailbox *mb, struct mailbox_cur_mark *mk)
{
	mk->in_step = mk->marked = false;
	int64_t now;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FOLDER_CUR_GET);
	if (st == NULL || !mailbox_cur_mtime(mb, &now))
		return;
	sqlite3_bind_int64(st, 1, mb->folder);
	if (sqlite3_step(st) == SQLITE_ROW)
		mk->in_step = sqlite3_column_int64(st, 0) == now && now != 0;
	sqlite3_reset(st);
	if (!mk->in_step)
		return; /* the next sync reads cur/ anyway */
	/* sync.h SYNC_CUR_MARKER: up until the changes are committed */
	char *marker = xasprintf("%s/" SYNC_CUR_MARKER, mb->path);
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	xfree(marker);
	if (fd >= 0) {
		close(fd);
		mk->marked = true;
		mb->u->cur_marker_mine = true;
	} else {
		mk->in_step = false; /* no record of a state we cannot vouch for */
	}
}

void mailbox_cur_done(struct store_mailbox *mb, struct mailbox_cur_mark *mk, bool committed)
{
	if (!mk->marked)
		return;
	if (committed) {
		char *marker = xasprintf("%s/" SYNC_CUR_MARKER, mb->path);
		unlink(marker);
		xfree(marker);
	}
	mk->marked = false;
	mb->u->cur_marker_mine = false;
}

void mailbox_cur_after(struct store_mailbox *mb, const struct mailbox_cur_mark *mk)
{
	int64_t now;
	if (!mk->in_step || !mailbox_cur_mtime(mb, &now))
		return;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FOLDER_CUR_SET);
	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, mb->folder);
	sqlite3_bind_int64(st, 2, now);
	index_step_done(mb->u, st, "cur_mtime"); /* only saves a scan */
}

/* ---- reading ---- */

enum store_error mailbox_file_get(struct store_user *u, int64_t id, struct mailbox_file *f)
{
	memset(f, 0, sizeof(*f));
	sqlite3_stmt *st = index_stmt(u, INDEX_IMAP_FILE);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *base = (const char *)sqlite3_column_text(st, 1);
		const char *suffix = (const char *)sqlite3_column_text(st, 3);
		f->in_cur = sqlite3_column_int(st, 2) != 0;
		f->base_off = 4;
		f->base_len = (size_t)sqlite3_column_bytes(st, 1);
		f->rel = xasprintf("%s/%s%s", f->in_cur ? "cur" : "new", base != NULL ? base : "",
		                   suffix != NULL ? suffix : "");
		const char *letters = (const char *)sqlite3_column_text(st, 6);
		snprintf(f->letters, sizeof(f->letters), "%s", letters != NULL ? letters : "");
		f->uid = (uint32_t)sqlite3_column_int64(st, 7);
		f->modseq = (uint64_t)sqlite3_column_int64(st, 8);
		f->internal_date = (time_t)sqlite3_column_int64(st, 9);
		f->crlf_size = (uint64_t)sqlite3_column_int64(st, 10);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return STORE_ERR_EXPUNGED;
	return rc == SQLITE_ROW ? STORE_OK : index_fail(u, rc, "msg_file");
}

void mailbox_file_free(struct mailbox_file *f)
{
	xfree(f->rel);
}

static int mailbox_open_file(const struct store_mailbox *mb, const struct mailbox_file *f)
{
	char *path = xasprintf("%s/%s", mb->path, f->rel);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int e = errno;
	xfree(path);
	errno = e;
	return fd;
}

enum store_error store_mailbox_msg_open(struct store_mailbox *mb, size_t seq, int *fd_r,
                                        uint64_t *disk_size_r)
{
	if (seq < 1 || seq > mb->n)
		return STORE_ERR_EXPUNGED;
	/* A file renamed by another program since the index saw it: rescan
	 * the folder once and look again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct mailbox_file f;
		enum store_error err = mailbox_file_get(mb->u, mb->ids[seq - 1], &f);
		if (err != STORE_OK)
			return err;
		int fd = mailbox_open_file(mb, &f);
		int e = errno;
		mailbox_file_free(&f);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			*fd_r = fd;
			*disk_size_r = (uint64_t)st.st_size;
			return STORE_OK;
		}
		if (fd >= 0) {
			close(fd);
			return STORE_ERR_TEMP;
		}
		if (e != ENOENT) {
			log_error("store: op=imap_open_msg user=%s error=%s", mb->u->name,
			          store_errname(e));
			return STORE_ERR_TEMP;
		}
		int64_t folder;
		if (mb->batch) /* a sync writes: not inside the batch's read */
			mailbox_read_end(mb->u);
		err = sync_folder(mb->u, mb->name, true, &folder);
		if (mb->batch)
			mailbox_read_begin(mb->u);
		if (err != STORE_OK)
			return err == STORE_ERR_NOTFOUND ? STORE_ERR_EXPUNGED : err;
	}
	return STORE_ERR_EXPUNGED;
}

enum store_error store_mailbox_cache_get(struct store_mailbox *mb, size_t seq, void **data_r,
                                         size_t *len_r)
{
	*data_r = NULL;
	*len_r = 0;
	if (seq < 1 || seq > mb->n)
		return STORE_ERR_NOTFOUND;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_CACHE_GET);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->ids[seq - 1]);
	int rc = sqlite3_step(st);
	enum store_error err = STORE_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		*data_r = xmalloc(len + 1);
		if (len > 0)
			memcpy(*data_r, p, len);
		*len_r = len;
		err = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		err = index_fail(mb->u, rc, "cache_get");
	}
	sqlite3_reset(st);
	return err;
}

static enum store_error mailbox_cache_write(struct store_mailbox *mb, int64_t id,
                                            const void *data, size_t len)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_CACHE_PUT);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob64(st, 2, data, len, SQLITE_TRANSIENT);
	return index_step_done(mb->u, st, "cache_put");
}

/* Cache entries gathered during a batch, per write transaction. */
#define MAILBOX_PUTS_MAX 512

/* Write the gathered entries in one transaction (a cache: on failure
 * they are simply computed again next time). */
static void mailbox_flush_puts(struct store_mailbox *mb)
{
	if (mb->nputs == 0)
		return;
	if (index_begin(mb->u) == STORE_OK) {
		enum store_error err = STORE_OK;
		for (size_t i = 0; err == STORE_OK && i < mb->nputs; i++)
			err = mailbox_cache_write(mb, mb->puts[i].id, mb->puts[i].data,
			                          mb->puts[i].len);
		if (err == STORE_OK)
			index_commit(mb->u);
		else
			index_rollback(mb->u);
	}
	for (size_t i = 0; i < mb->nputs; i++)
		xfree(mb->puts[i].data);
	mb->nputs = 0;
}

enum store_error store_mailbox_cache_put(struct store_mailbox *mb, size_t seq, const void *data,
                                         size_t len)
{
	if (seq < 1 || seq > mb->n)
		return STORE_ERR_NOTFOUND;
	if (!mb->batch)
		return mailbox_cache_write(mb, mb->ids[seq - 1], data, len);
	if (mb->puts == NULL)
		mb->puts = xcalloc(MAILBOX_PUTS_MAX, sizeof(*mb->puts));
	void *copy = xmalloc(len + 1);
	memcpy(copy, data, len);
	mb->puts[mb->nputs++] = (struct mailbox_pending_put){mb->ids[seq - 1], copy, len};
	if (mb->nputs == MAILBOX_PUTS_MAX) {
		mailbox_read_end(mb->u);
		mailbox_flush_puts(mb);
		mailbox_read_begin(mb->u);
	}
	return STORE_OK;
}

void store_mailbox_batch_begin(struct store_mailbox *mb)
{
	if (mb->batch || mailbox_read_begin(mb->u) != STORE_OK)
		return;
	mb->batch = true;
}

void store_mailbox_batch_end(struct store_mailbox *mb)
{
	if (!mb->batch)
		return;
	mb->batch = false;
	mailbox_read_end(mb->u);
	mailbox_flush_puts(mb);
}
