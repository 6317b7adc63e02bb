/*
 * mailbox_change.c - what a session changes in its selected mailbox:
 * flags (STORE, RFC 9051 6.4.6, with RFC 7162 UNCHANGEDSINCE) and removals
 * (EXPUNGE, UID EXPUNGE, CLOSE, the second half of MOVE).
 *
 * Flags live in the file names, so a change is a rename into cur/ with the
 * new ":2,<letters>", then the index row. Both happen inside one write
 * transaction, so two sessions never interleave their changes of one
 * message; a crash between the rename and the commit leaves a file whose
 * name is newer than its row, which the next sync reads as a flag change.
 *
 * Removals delete the rows and unlink the files inside one transaction
 * (see mailbox_remove()).
 */
#include "store/mailbox_private.h"

#include "store/index.h"
#include "store/maildir.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The flags a STORE leaves on a message. */
static void change_apply(enum store_flags_mode mode, unsigned flags, uint32_t keywords,
                         unsigned *cur_flags, uint32_t *cur_keywords)
{
	switch (mode) {
	case STORE_FLAGS_SET:
		*cur_flags = flags;
		*cur_keywords = keywords;
		break;
	case STORE_FLAGS_ADD:
		*cur_flags |= flags;
		*cur_keywords |= keywords;
		break;
	case STORE_FLAGS_REMOVE:
		*cur_flags &= ~flags;
		*cur_keywords &= ~keywords;
		break;
	}
}

/* Rename the file of message row id to carry letters; STORE_ERR_EXPUNGED
 * if it is gone. The index row is updated by the caller. */
static enum store_error change_rename(struct store_mailbox *mb, const struct mailbox_file *f,
                                      const char *letters, char **suffix_r)
{
	const char *base = f->rel + f->base_off;
	char *to = xasprintf("%s/cur/%.*s:2,%s", mb->path, (int)f->base_len, base, letters);
	char *from = xasprintf("%s/%s", mb->path, f->rel);
	int r = strcmp(from, to) == 0 ? 0 : rename(from, to);
	int e = errno;
	xfree(from);
	xfree(to);
	if (r < 0) {
		if (e == ENOENT)
			return STORE_ERR_EXPUNGED; /* or renamed by someone: sync sorts it out */
		log_error("store: op=set_flags user=%s error=%s", mb->u->name, store_errname(e));
		return STORE_ERR_TEMP;
	}
	*suffix_r = xasprintf(":2,%s", letters);
	return STORE_OK;
}

static enum store_error change_row(struct store_mailbox *mb, int64_t id, const char *suffix,
                                   const char *letters, uint64_t modseq)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_MSG_RENAME);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int(st, 1, 1);
	index_bind_text(st, 2, suffix, strlen(suffix));
	index_bind_text(st, 3, letters, strlen(letters));
	sqlite3_bind_int64(st, 4, (int64_t)modseq);
	sqlite3_bind_int64(st, 5, id);
	return index_step_done(mb->u, st, "msg_rename");
}

/* The modseq for this transaction's changes, taken on first need. */
static enum store_error change_modseq(struct store_mailbox *mb, uint64_t *modseq)
{
	if (*modseq != 0)
		return STORE_OK;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_BUMP);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*modseq = (uint64_t)sqlite3_column_int64(st, 0);
	/* RETURNING rows are only final once the statement is done */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE && *modseq != 0 ? STORE_OK : index_fail(mb->u, rc, "bump");
}

struct change_req {
	enum store_flags_mode mode;
	unsigned flags;
	uint32_t keywords;
	uint64_t unchangedsince;
	uint64_t modseq; /* 0 until the first change */
	uint32_t *failed;
	size_t nfailed;
};

/* One message; the view is updated to what the index now says. */
static enum store_error change_one(struct store_mailbox *mb, size_t i, struct change_req *rq)
{
	struct mailbox_file f;
	enum store_error err = mailbox_file_get(mb->u, mb->ids[i], &f);
	if (err == STORE_ERR_EXPUNGED)
		return STORE_OK; /* gone: the EXPUNGE is reported later */
	if (err != STORE_OK)
		return err;
	struct store_msg *m = &mb->msgs[i];
	unsigned flags;
	uint32_t keywords;
	mailbox_flags_parse(f.letters, strlen(f.letters), &flags, &keywords);
	/* RFC 7162 3.1.3: modified since the client looked: leave it alone */
	if (rq->unchangedsince != 0 && f.modseq > rq->unchangedsince) {
		rq->failed = xrealloc(rq->failed, (rq->nfailed + 1) * sizeof(*rq->failed));
		rq->failed[rq->nfailed++] = m->uid;
		mailbox_file_free(&f);
		return STORE_OK;
	}
	unsigned new_flags = flags;
	uint32_t new_keywords = keywords;
	change_apply(rq->mode, rq->flags, rq->keywords, &new_flags, &new_keywords);
	if (new_flags != flags || new_keywords != keywords) {
		char letters[MAILBOX_LETTERS_MAX];
		mailbox_flags_format(new_flags, new_keywords, f.letters, strlen(f.letters), letters);
		char *suffix = NULL;
		err = change_modseq(mb, &rq->modseq);
		if (err == STORE_OK)
			err = change_rename(mb, &f, letters, &suffix);
		if (err == STORE_OK)
			err = change_row(mb, mb->ids[i], suffix, letters, rq->modseq);
		xfree(suffix);
		if (err == STORE_OK)
			m->modseq = rq->modseq;
		else if (err == STORE_ERR_EXPUNGED)
			err = STORE_OK;
	}
	if (err == STORE_OK) {
		m->flags = new_flags;
		m->keywords = new_keywords;
	}
	mailbox_file_free(&f);
	return err;
}

enum store_error store_mailbox_set_flags(struct store_mailbox *mb, const uint32_t *uids, size_t n,
                                         enum store_flags_mode mode, unsigned flags,
                                         const char *const *keywords, size_t nkeywords,
                                         uint64_t unchangedsince, uint32_t **failed_r,
                                         size_t *nfailed_r)
{
	if (failed_r != NULL)
		*failed_r = NULL;
	if (nfailed_r != NULL)
		*nfailed_r = 0;
	if (mb->readonly)
		return STORE_ERR_PERM;
	struct change_req rq = {.mode = mode, .flags = flags, .unchangedsince = unchangedsince};
	enum store_error err = index_begin(mb->u);
	if (err != STORE_OK)
		return err;
	struct mailbox_cur_mark mk;
	mailbox_cur_before(mb, &mk);
	if (nkeywords > 0)
		err = mailbox_keywords_bits(mb->path, &mb->kw, keywords, nkeywords, &rq.keywords);
	for (size_t k = 0; err == STORE_OK && k < n; k++) {
		size_t i = mailbox_find(mb, uids[k]);
		if (i != SIZE_MAX)
			err = change_one(mb, i, &rq);
	}
	if (err == STORE_OK) {
		mailbox_cur_after(mb, &mk);
		err = index_commit(mb->u);
	}
	else
		index_rollback(mb->u);
	mailbox_cur_done(mb, &mk, err == STORE_OK);
	if (failed_r != NULL && nfailed_r != NULL) {
		*failed_r = rq.failed;
		*nfailed_r = rq.nfailed;
	} else {
		xfree(rq.failed);
	}
	return err;
}

/* ---- removal ---- */

/* The file was renamed since the index saw it: find it by base name. */
static int change_unlink_by_base(const char *dir, const char *base, size_t base_len)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *de;
	int ret = 1; /* not found */
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, base_len) != 0 ||
		    (de->d_name[base_len] != '\0' && de->d_name[base_len] != ':'))
			continue;
		ret = unlinkat(dirfd(d), de->d_name, 0) == 0 ? 0 : -1;
		break;
	}
	closedir(d);
	return ret;
}

void mailbox_unlink(struct store_user *u, const char *folder_path, const struct mailbox_file *f)
{
	char *path = xasprintf("%s/%s", folder_path, f->rel);
	int e = unlink(path) == 0 ? 0 : errno;
	xfree(path);
	char *base = xstrndup(f->rel + f->base_off, f->base_len);
	for (int sub = 0; e == ENOENT && sub < 2; sub++) {
		char *dir = xasprintf("%s/%s", folder_path, sub ? "cur" : "new");
		int r = change_unlink_by_base(dir, base, f->base_len);
		e = r == 0 ? 0 : r < 0 ? errno : ENOENT;
		xfree(dir);
	}
	xfree(base);
	if (e != 0 && e != ENOENT) /* already gone is fine: someone else removed it */
		log_error("store: op=expunge_unlink user=%s error=%s", u->name, store_errname(e));
}

struct change_doomed {
	struct mailbox_file *v;
	size_t n, cap;
};

/* Delete the row of id (if it has \Deleted, when asked) and keep its file
 * for unlinking after the commit. */
static enum store_error change_remove_one(struct store_mailbox *mb, int64_t id,
                                          bool only_deleted, struct change_doomed *dl)
{
	struct mailbox_file f;
	enum store_error err = mailbox_file_get(mb->u, id, &f);
	if (err == STORE_ERR_EXPUNGED)
		return STORE_OK;
	if (err != STORE_OK)
		return err;
	if (only_deleted && strchr(f.letters, 'T') == NULL) {
		mailbox_file_free(&f);
		return STORE_OK;
	}
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_MSG_DELETE);
	if (st == NULL) {
		mailbox_file_free(&f);
		return STORE_ERR_TEMP;
	}
	sqlite3_bind_int64(st, 1, id);
	err = index_step_done(mb->u, st, "msg_delete");
	if (err != STORE_OK) {
		mailbox_file_free(&f);
		return err;
	}
	if (dl->n == dl->cap) {
		dl->cap = dl->cap == 0 ? 16 : dl->cap * 2;
		dl->v = xrealloc(dl->v, dl->cap * sizeof(*dl->v));
	}
	dl->v[dl->n++] = f;
	return STORE_OK;
}

/* Every message of the folder with \Deleted, also those not in the view
 * yet (RFC 9051 6.4.3: EXPUNGE removes all of them). */
static enum store_error change_deleted_ids(struct store_mailbox *mb, int64_t **ids_r, size_t *n_r)
{
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_IMAP_DELETED);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n_r == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*ids_r = xrealloc(*ids_r, cap * sizeof(**ids_r));
		}
		(*ids_r)[(*n_r)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : index_fail(mb->u, rc, "imap_deleted");
}

static void change_unlink_all(struct store_mailbox *mb, struct change_doomed *dl)
{
	for (size_t i = 0; i < dl->n; i++) {
		mailbox_unlink(mb->u, mb->path, &dl->v[i]);
		mailbox_file_free(&dl->v[i]);
	}
	xfree(dl->v);
	dl->n = 0;
}

/*
 * The files go while the index write lock is held, just before the commit:
 * no other session's sync can find them between the two and take them for
 * new mail. A crash in between leaves rows without files, which the next
 * sync removes. The directories are not fsynced: an unlink that a crash
 * undoes brings a message back, it loses none (Dovecot does the same).
 */
enum store_error mailbox_remove(struct store_mailbox *mb, const uint32_t *uids, size_t n,
                                bool only_deleted)
{
	if (mb->readonly)
		return STORE_ERR_PERM;
	struct change_doomed dl = {0};
	enum store_error err = index_begin(mb->u);
	if (err != STORE_OK)
		return err;
	struct mailbox_cur_mark mk;
	mailbox_cur_before(mb, &mk);
	if (uids == NULL) {
		int64_t *ids = NULL;
		size_t nids = 0;
		err = change_deleted_ids(mb, &ids, &nids);
		for (size_t k = 0; err == STORE_OK && k < nids; k++)
			err = change_remove_one(mb, ids[k], true, &dl);
		xfree(ids);
	} else {
		for (size_t k = 0; err == STORE_OK && k < n; k++) {
			size_t i = mailbox_find(mb, uids[k]);
			if (i != SIZE_MAX)
				err = change_remove_one(mb, mb->ids[i], only_deleted, &dl);
		}
	}
	if (err == STORE_OK) {
		change_unlink_all(mb, &dl);
		mailbox_cur_after(mb, &mk);
		err = index_commit(mb->u);
	} else {
		index_rollback(mb->u);
		for (size_t i = 0; i < dl.n; i++)
			mailbox_file_free(&dl.v[i]);
		xfree(dl.v);
	}
	mailbox_cur_done(mb, &mk, err == STORE_OK);
	return err;
}

enum store_error store_mailbox_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n)
{
	return mailbox_remove(mb, uids, n, true);
}
