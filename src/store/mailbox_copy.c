/*
 * mailbox_copy.c - new messages from IMAP: COPY and MOVE (RFC 9051
 * 6.4.7, RFC 6851) and APPEND (RFC 9051 6.3.12), with the UIDs UIDPLUS
 * (RFC 4315) reports.
 *
 * Both work under the index write lock (BEGIN IMMEDIATE): the new files
 * appear in the destination, then a sync of it inside the same
 * transaction indexes them, and their UIDs are read back by base name. No
 * other yubin process can index the files in between, so the internal
 * date set here is the one every session sees.
 *
 * COPY hard-links the file under a fresh name (a copy shares the bytes,
 * not the identity: its own base name, UID and UIDL), falling back to a
 * real copy where links are not possible.
 */
#include "store/mailbox_private.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/maildir_name.h"
#include "store/sync.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_NAME_TRIES 5

struct copy_new {
	char base[MAILDIR_NAME_SIZE];
	char rel[MAILDIR_NAME_SIZE + MAILBOX_LETTERS_MAX + 8]; /* "cur/<base>:2,<letters>" */
	time_t date; /* 0: keep what the sync gave */
};

/* Inside the transaction: index the destination, and read back the UIDs
 * of the new files (0 for one that did not make it). */
static enum store_error copy_index(struct store_user *u, const char *dest,
                                   const struct copy_new *v, size_t n, uint32_t *uidvalidity_r,
                                   uint32_t *uids)
{
	int64_t folder;
	enum store_error err = sync_folder_in_txn(u, dest, &folder);
	for (size_t i = 0; err == STORE_OK && i < n; i++) {
		uids[i] = 0;
		if (v[i].base[0] == '\0')
			continue;
		sqlite3_stmt *st = index_stmt(u, INDEX_IMAP_BY_BASE);
		if (st == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(st, 1, folder);
		index_bind_text(st, 2, v[i].base, strlen(v[i].base));
		int rc = sqlite3_step(st);
		int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		if (rc == SQLITE_ROW)
			uids[i] = (uint32_t)sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return index_fail(u, rc, "by_base");
		if (id != 0 && v[i].date != 0) {
			st = index_stmt(u, INDEX_IMAP_SET_DATE);
			if (st == NULL)
				return STORE_ERR_TEMP;
			sqlite3_bind_int64(st, 1, v[i].date);
			sqlite3_bind_int64(st, 2, id);
			err = index_step_done(u, st, "set_date");
		}
	}
	if (err != STORE_OK)
		return err;
	sqlite3_stmt *st = index_stmt(u, INDEX_IMAP_FOLDER);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, folder);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : index_fail(u, rc, "imap_folder");
}

/* Copy the bytes of from into a new file at to (via tmp/, durable). */
static int copy_bytes(const char *from, const char *dest_path, const char *base, const char *to,
                      bool do_fsync)
{
	char *tmp = xasprintf("%s/tmp/%s", dest_path, base);
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct stat st;
	int r = out >= 0 && fstat(in, &st) == 0 ? 0 : -1;
	for (off_t off = 0; r == 0 && off < st.st_size;) {
		ssize_t k = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (k <= 0)
			r = -1;
	}
	if (r == 0 && do_fsync && fsync(out) < 0)
		r = -1;
	if (out >= 0 && close(out) < 0)
		r = -1;
	if (r == 0 && link(tmp, to) < 0)
		r = -1;
	int e = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		unlink(tmp);
	xfree(tmp);
	errno = e;
	return r;
}

/* One message into dest/cur under a fresh base name (nv->base). */
static enum store_error copy_file(struct store_mailbox *mb, const struct mailbox_file *f,
                                  const char *dest_path, const char *letters, struct copy_new *nv)
{
	char *from = xasprintf("%s/%s", mb->path, f->rel);
	struct maildir_name_info info;
	maildir_name_parse(f->rel + f->base_off, f->base_len, &info);
	uint64_t size = info.has_size ? info.size : 0;
	struct stat st;
	if (!info.has_size && stat(from, &st) == 0)
		size = (uint64_t)st.st_size;
	char host[256];
	store_hostname(mb->u->hostname, host, sizeof(host));
	int r = -1, e = EEXIST;
	for (int i = 0; i < COPY_NAME_TRIES && r < 0 && e == EEXIST; i++) {
		maildir_name_new(nv->base, host, size, f->crlf_size);
		snprintf(nv->rel, sizeof(nv->rel), "cur/%s:2,%s", nv->base, letters);
		char *to = xasprintf("%s/%s", dest_path, nv->rel);
		r = link(from, to);
		e = errno;
		if (r < 0 && (e == EXDEV || e == EPERM || e == EMLINK)) {
			r = copy_bytes(from, dest_path, nv->base, to, mb->u->fsync);
			e = errno;
		}
		xfree(to);
	}
	xfree(from);
	if (r == 0)
		return STORE_OK;
	nv->base[0] = '\0';
	if (e == ENOENT)
		return STORE_ERR_EXPUNGED;
	log_error("store: op=copy user=%s error=%s", mb->u->name, store_errname(e));
	return e == ENOSPC || e == EDQUOT ? STORE_ERR_QUOTA : STORE_ERR_TEMP;
}

/* The destination letters of a message: system flags as they are,
 * keywords by name into the destination's keyword list. */
static enum store_error copy_letters(struct store_mailbox *mb, const struct mailbox_file *f,
                                     const char *dest_path, struct mailbox_keywords *dkw,
                                     char out[MAILBOX_LETTERS_MAX])
{
	unsigned flags;
	uint32_t kw;
	mailbox_flags_parse(f->letters, strlen(f->letters), &flags, &kw);
	const char *names[STORE_KEYWORDS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < mb->kw.count; i++)
		if ((kw & (1u << i)) && mb->kw.names[i] != NULL)
			names[n++] = mb->kw.names[i];
	uint32_t dbits = 0;
	enum store_error err = mailbox_keywords_bits(dest_path, dkw, names, n, &dbits);
	if (err == STORE_OK)
		mailbox_flags_format(flags, dbits, f->letters, strlen(f->letters), out);
	return err;
}

static enum store_error copy_all(struct store_mailbox *mb, const uint32_t *uids, size_t n,
                                 const char *dest_path, struct copy_new *nv)
{
	struct mailbox_keywords dkw = {0};
	mailbox_keywords_read(dest_path, &dkw);
	enum store_error err = STORE_OK;
	for (size_t k = 0; err == STORE_OK && k < n; k++) {
		size_t i = mailbox_find(mb, uids[k]);
		struct mailbox_file f;
		err = i == SIZE_MAX ? STORE_ERR_EXPUNGED : mailbox_file_get(mb->u, mb->ids[i], &f);
		if (err == STORE_ERR_EXPUNGED) {
			err = STORE_OK; /* nothing to copy; its UID is left out */
			continue;
		}
		if (err != STORE_OK)
			break;
		char letters[MAILBOX_LETTERS_MAX];
		err = copy_letters(mb, &f, dest_path, &dkw, letters);
		if (err == STORE_OK)
			err = copy_file(mb, &f, dest_path, letters, &nv[k]);
		if (err == STORE_ERR_EXPUNGED)
			err = STORE_OK;
		nv[k].date = f.internal_date;
		mailbox_file_free(&f);
	}
	mailbox_keywords_free(&dkw);
	if (err == STORE_OK && mb->u->fsync) {
		char *cur = xasprintf("%s/cur", dest_path);
		if (maildir_fsync_dir(cur) < 0)
			err = STORE_ERR_TEMP;
		xfree(cur);
	}
	return err;
}

/* Remove what a failed COPY left in the destination. */
static void copy_undo(const char *dest_path, const struct copy_new *nv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (nv[i].base[0] == '\0')
			continue;
		char *path = xasprintf("%s/%s", dest_path, nv[i].rel);
		unlink(path);
		xfree(path);
	}
}

enum store_error store_mailbox_copy(struct store_mailbox *mb, const uint32_t *uids, size_t n,
                                    const char *dest, bool move, uint32_t *dest_uidvalidity_r,
                                    uint32_t **dest_uids_r)
{
	*dest_uids_r = NULL;
	*dest_uidvalidity_r = 0;
	if (move && mb->readonly)
		return STORE_ERR_PERM;
	char *dest_path = maildir_folder_dir(mb->u->maildir, dest);
	if (dest_path == NULL || !maildir_exists(dest_path)) {
		xfree(dest_path);
		return STORE_ERR_NOTFOUND;
	}
	struct copy_new *nv = xcalloc(n + 1, sizeof(*nv));
	uint32_t *dest_uids = xcalloc(n + 1, sizeof(*dest_uids));
	enum store_error err = index_begin(mb->u);
	if (err == STORE_OK) {
		err = copy_all(mb, uids, n, dest_path, nv);
		if (err == STORE_OK)
			err = copy_index(mb->u, dest, nv, n, dest_uidvalidity_r, dest_uids);
		if (err == STORE_OK)
			err = index_commit(mb->u);
		else
			index_rollback(mb->u);
		if (err != STORE_OK)
			copy_undo(dest_path, nv, n);
	}
	xfree(nv);
	xfree(dest_path);
	if (err == STORE_OK && move)
		err = mailbox_remove(mb, uids, n, false);
	if (err != STORE_OK) {
		xfree(dest_uids);
		return err;
	}
	*dest_uids_r = dest_uids;
	return STORE_OK;
}

/* ---- APPEND ---- */

/* The folder's directory, open; INBOX is created if missing. */
static enum store_error append_open_dir(struct store_user *u, const char *folder, char **path_r,
                                        int *fd_r)
{
	*path_r = maildir_folder_dir(u->maildir, folder);
	if (*path_r == NULL)
		return STORE_ERR_PERM;
	if (!maildir_exists(*path_r)) {
		if (!maildir_folder_is_inbox(folder))
			return STORE_ERR_NOTFOUND;
		if (maildir_create(*path_r) < 0)
			return STORE_ERR_TEMP;
	}
	*fd_r = open(*path_r, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		     (maildir_folder_is_inbox(folder) ? 0 : O_NOFOLLOW));
	return *fd_r >= 0 ? STORE_OK : STORE_ERR_TEMP;
}

enum store_error store_append(struct store_user *u, const char *folder, struct store_spool *body,
                              unsigned flags, const char *const *keywords, size_t nkeywords,
                              time_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	*uidvalidity_r = 0;
	*uid_r = 0;
	char *path = NULL;
	int dir_fd = -1;
	enum store_error err = append_open_dir(u, folder, &path, &dir_fd);
	if (err == STORE_OK)
		err = index_begin(u);
	if (err != STORE_OK) {
		if (dir_fd >= 0)
			close(dir_fd);
		xfree(path);
		return err;
	}
	struct mailbox_keywords kw = {0};
	mailbox_keywords_read(path, &kw);
	uint32_t bits = 0;
	err = mailbox_keywords_bits(path, &kw, keywords, nkeywords, &bits);
	mailbox_keywords_free(&kw);
	char letters[MAILBOX_LETTERS_MAX];
	mailbox_flags_format(flags, bits, "", 0, letters);
	struct copy_new nv = {.date = internal_date};
	if (err == STORE_OK)
		err = deliver_append(u, folder, dir_fd, body, letters, internal_date, nv.base);
	if (err == STORE_OK)
		err = copy_index(u, folder, &nv, 1, uidvalidity_r, uid_r);
	if (err == STORE_OK)
		err = index_commit(u);
	else
		index_rollback(u);
	close(dir_fd);
	xfree(path);
	return err;
}
