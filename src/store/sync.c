/*
 * sync.c - disk -> index synchronisation of one folder; see sync.h.
 *
 * Everything after the fast path runs inside one BEGIN IMMEDIATE
 * transaction, directory reading included: a concurrent sync of the same
 * folder (another process) waits, so two processes never hand out the
 * same UID, and a file delivered while we read the directory changes the
 * mtime after the one we record, so the next sync looks again.
 */
#include "store/sync.h"
#include "store/sync_private.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/maildir_name.h"
#include "store/uidlist.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void sync_list_add(struct sync_list *l, const struct sync_entry *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 256 : l->cap * 2;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *e;
}

void sync_list_sort(struct sync_list *l, int (*cmp)(const void *, const void *))
{
	if (l->n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(l->v, l->n, sizeof(*l->v), cmp);
}

static void sync_list_free(struct sync_list *l, bool names)
{
	for (size_t i = 0; names && i < l->n; i++)
		xfree(l->v[i].name);
	xfree(l->v);
	l->n = l->cap = 0;
}

static void sync_ctx_free(struct sync_ctx *c)
{
	sync_list_free(&c->disk, true);
	sync_list_free(&c->idx, true);
	sync_list_free(&c->added, false); /* names belong to c->disk */
	uidlist_free(&c->ul);
	hidden_free(&c->hidden);
	for (int i = 0; i < 2; i++)
		if (c->sub_fd[i] >= 0)
			close(c->sub_fd[i]);
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	xfree(c->dirname);
	xfree(c->path);
}

enum store_error sync_errno(struct sync_ctx *c, const char *op, int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return STORE_ERR_NOTFOUND;
	log_error("store: op=sync_%s user=%s folder=%s error=%s", op, c->u->name,
	          c->dirname[0] != '\0' ? c->dirname : "INBOX", store_errname(err));
	return STORE_ERR_TEMP;
}

static enum store_error sync_open_dirs(struct sync_ctx *c)
{
	static const char *const subs[2] = {"new", "cur"};
	/* O_NOFOLLOW: a folder, new/ or cur/ that is a symbolic link (to
	 * somebody else's mail) is not a folder of this user */
	c->dir_fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	                              (c->dirname[0] != '\0' ? O_NOFOLLOW : 0));
	if (c->dir_fd < 0)
		return sync_errno(c, "open", errno);
	for (int i = 0; i < 2; i++) {
		c->sub_fd[i] =
		    openat(c->dir_fd, subs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (c->sub_fd[i] < 0)
			return sync_errno(c, "open", errno);
	}
	return STORE_OK;
}

static enum store_error sync_stat(struct sync_ctx *c)
{
	for (int i = 0; i < 2; i++) {
		struct stat st;
		if (fstat(c->sub_fd[i], &st) < 0)
			return sync_errno(c, "stat", errno);
		c->mtime[i] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	c->cur_marker = faccessat(c->dir_fd, SYNC_CUR_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	return STORE_OK;
}

/* The folder's row; false if there is none (or on error, in *err). */
static bool sync_folder_get(struct sync_ctx *c, enum store_error *err)
{
	*err = STORE_ERR_TEMP;
	sqlite3_stmt *st = index_stmt(c->u, INDEX_FOLDER_GET);
	if (st == NULL)
		return false;
	index_bind_text(st, 1, c->dirname, strlen(c->dirname));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->f.id = sqlite3_column_int64(st, 0);
		c->f.uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		c->f.uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		c->f.modseq = sqlite3_column_int64(st, 3);
		c->f.mtime[SYNC_NEW] = sqlite3_column_int64(st, 4);
		c->f.mtime[SYNC_CUR] = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	*err =
	    rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : index_fail(c->u, rc, "folder_get");
	return rc == SQLITE_ROW;
}

/* cur/ is as the index last saw it (see SYNC_CUR_MARKER) */
static bool sync_cur_unchanged(const struct sync_ctx *c)
{
	return !c->cur_marker && c->f.mtime[SYNC_CUR] != 0 &&
	       c->f.mtime[SYNC_CUR] == c->mtime[SYNC_CUR];
}

static bool sync_unchanged(const struct sync_ctx *c)
{
	return c->f.mtime[SYNC_NEW] != 0 && c->f.mtime[SYNC_NEW] == c->mtime[SYNC_NEW] &&
	       sync_cur_unchanged(c);
}

/*
 * A UIDVALIDITY for a folder without one: the time, as Dovecot does, but
 * above any this index handed out before, so that a folder deleted and
 * created again within a second does not get its old one back (RFC 9051
 * 2.3.1.1: the pair of UIDVALIDITY and UID must never refer to two
 * different messages).
 */
static uint32_t sync_new_uidvalidity(struct sync_ctx *c)
{
	static const char key[] = "last_uidvalidity";
	uint32_t v = (uint32_t)time(NULL);
	int64_t last;
	bool found;
	if (index_meta_get(c->u, key, &last, &found) != STORE_OK)
		return v;
	if (found && last >= v && last < UINT32_MAX)
		v = (uint32_t)last + 1;
	index_meta_set(c->u, key, v);
	return v;
}

/*
 * First sight of a folder. If Dovecot left a dovecot-uidlist, its
 * UIDVALIDITY becomes ours so that its UIDs (and UIDLs) carry over;
 * otherwise a new one (sync_new_uidvalidity).
 */
static enum store_error sync_folder_create(struct sync_ctx *c)
{
	c->ul = uidlist_read(c->path);
	c->ul_read = true;
	c->f.uidvalidity = c->ul != NULL ? c->ul->uidvalidity : sync_new_uidvalidity(c);
	c->f.uidnext = 1;
	c->f.modseq = 0;
	c->f.mtime[0] = c->f.mtime[1] = 0;
	sqlite3_stmt *st = index_stmt(c->u, INDEX_FOLDER_INSERT);
	if (st == NULL)
		return STORE_ERR_TEMP;
	index_bind_text(st, 1, c->dirname, strlen(c->dirname));
	const char *name = maildir_folder_is_inbox(c->name) ? "INBOX" : c->name;
	index_bind_text(st, 2, name, strlen(name));
	sqlite3_bind_int64(st, 3, c->f.uidvalidity);
	sqlite3_bind_int64(st, 4, c->f.uidnext);
	enum store_error err = index_step_done(c->u, st, "folder_insert");
	c->f.id = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
	c->changed = true;
	return err;
}

static bool sync_is_regular(int dfd, const struct dirent *de)
{
	if (de->d_type == DT_REG)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	struct stat st;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static enum store_error sync_read_dir(struct sync_ctx *c, int which)
{
	/* A private descriptor: fdopendir() takes it over and moves its offset. */
	int fd = openat(c->sub_fd[which], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sync_errno(c, "readdir", e);
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		/* Maildir: names starting with '.' are not messages. */
		if (de->d_name[0] == '.' || !sync_is_regular(c->sub_fd[which], de))
			continue;
		struct maildir_name_info info;
		size_t len = strlen(de->d_name);
		maildir_name_parse(de->d_name, len, &info);
		struct sync_entry e = {.name = xstrndup(de->d_name, len),
		                       .base_len = info.base_len,
		                       .in_cur = which == SYNC_CUR};
		sync_list_add(&c->disk, &e);
		errno = 0;
	}
	int e = errno;
	closedir(d);
	return e != 0 ? sync_errno(c, "readdir", e) : STORE_OK;
}

static enum store_error sync_load_index(struct sync_ctx *c, bool only_new)
{
	sqlite3_stmt *st = index_stmt(c->u, only_new ? INDEX_MSG_LIST_NEW : INDEX_MSG_LIST_NAMES);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, c->f.id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *base = (const char *)sqlite3_column_text(st, 1);
		size_t blen = (size_t)sqlite3_column_bytes(st, 1);
		const char *suffix = (const char *)sqlite3_column_text(st, 3);
		size_t slen = (size_t)sqlite3_column_bytes(st, 3);
		struct sync_entry e = {.id = sqlite3_column_int64(st, 0),
		                       .base_len = blen,
		                       .in_cur = sqlite3_column_int(st, 2) != 0};
		e.name = xmalloc(blen + slen + 1);
		memcpy(e.name, base != NULL ? base : "", blen);
		memcpy(e.name + blen, suffix != NULL ? suffix : "", slen);
		sync_list_add(&c->idx, &e);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : index_fail(c->u, rc, "list_names");
}

static int sync_base_cmp(const struct sync_entry *a, const struct sync_entry *b)
{
	size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	int r = memcmp(a->name, b->name, n);
	if (r != 0)
		return r;
	return a->base_len < b->base_len ? -1 : a->base_len > b->base_len ? 1 : 0;
}

/* By base name; a base found in both cur/ and new/ sorts cur/ first. */
static int sync_sort_base(const void *x, const void *y)
{
	const struct sync_entry *a = x, *b = y;
	int r = sync_base_cmp(a, b);
	if (r != 0)
		return r;
	return (int)b->in_cur - (int)a->in_cur;
}

/* The letters after ":2," up to a ',' (Dovecot keeps private fields
 * after a comma there). */
void sync_flags(const struct maildir_name_info *info, const char **flags, size_t *len)
{
	*flags = info->flags != NULL ? info->flags : "";
	*len = info->flags != NULL ? info->flags_len : 0;
	const char *comma = memchr(*flags, ',', *len);
	if (comma != NULL)
		*len = (size_t)(comma - *flags);
}

static enum store_error sync_delete(struct sync_ctx *c, const struct sync_entry *e)
{
	sqlite3_stmt *st = index_stmt(c->u, INDEX_MSG_DELETE);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, e->id);
	c->changed = true;
	return index_step_done(c->u, st, "msg_delete");
}

/* Same base name on disk and in the index: follow a rename. */
static enum store_error sync_rename(struct sync_ctx *c, const struct sync_entry *disk,
                                    const struct sync_entry *idx)
{
	size_t len = strlen(disk->name);
	if (disk->in_cur == idx->in_cur && strcmp(disk->name, idx->name) == 0)
		return STORE_OK;
	struct maildir_name_info info;
	maildir_name_parse(disk->name, len, &info);
	const char *flags;
	size_t flags_len;
	sync_flags(&info, &flags, &flags_len);
	sqlite3_stmt *st = index_stmt(c->u, INDEX_MSG_RENAME);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int(st, 1, disk->in_cur);
	index_bind_text(st, 2, disk->name + disk->base_len, len - disk->base_len);
	index_bind_text(st, 3, flags, flags_len);
	sqlite3_bind_int64(st, 4, c->f.modseq + 1);
	sqlite3_bind_int64(st, 5, idx->id);
	c->changed = true;
	return index_step_done(c->u, st, "msg_rename");
}

/* Walk the disk and index lists (both sorted by base name). */
static enum store_error sync_merge(struct sync_ctx *c)
{
	size_t i = 0, j = 0;
	enum store_error err = STORE_OK;
	while (err == STORE_OK && (i < c->disk.n || j < c->idx.n)) {
		struct sync_entry *d = i < c->disk.n ? &c->disk.v[i] : NULL;
		if (d != NULL && i > 0 && sync_base_cmp(d, &c->disk.v[i - 1]) == 0) {
			log_warn("store: op=sync user=%s error=duplicate_base_name", c->u->name);
			i++;
			continue;
		}
		int r = d == NULL ? 1 : j == c->idx.n ? -1 : sync_base_cmp(d, &c->idx.v[j]);
		if (r < 0) {
			sync_list_add(&c->added, d);
			i++;
		} else if (r > 0) {
			err = sync_delete(c, &c->idx.v[j++]);
		} else {
			err = sync_rename(c, d, &c->idx.v[j]);
			i++;
			j++;
		}
	}
	return err;
}

static enum store_error sync_folder_update(struct sync_ctx *c)
{
	time_t now = time(NULL);
	if (c->changed)
		c->f.modseq++;
	sqlite3_stmt *st = index_stmt(c->u, INDEX_FOLDER_UPDATE);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, c->f.uidnext);
	sqlite3_bind_int64(st, 2, c->f.modseq);
	for (int i = 0; i < 2; i++) {
		/* A change later in the same tick would not move the mtime.
		 * new/: deliveries add files without the index lock, so only
		 * a settled mtime is kept. cur/: yubin changes it only under
		 * the index write lock (STORE, EXPUNGE, COPY, APPEND with
		 * flags), which we hold, so the mtime is kept as it is; only a
		 * program working on the Maildir directly in the same clock
		 * tick could slip by (until the next change of cur/). */
		bool settled = i == SYNC_CUR || now - c->mtime[i] / 1000000000 >= SYNC_MTIME_SETTLE;
		sqlite3_bind_int64(st, 3 + i, settled ? c->mtime[i] : 0);
	}
	sqlite3_bind_int64(st, 5, c->f.id);
	return index_step_done(c->u, st, "folder_update");
}

/* Maildir: a file left in tmp/ for 36 hours is the remains of a writer
 * that died (a killed delivery); nobody will finish it. Removed when a
 * sync reads the folder anyway, so that it costs one more small readdir. */
#define SYNC_TMP_MAX_AGE (36 * 3600)

static void sync_clean_tmp(struct sync_ctx *c)
{
	int fd = openat(c->dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < SYNC_TMP_MAX_AGE)
			continue;
		char safe[LOG_SAFE_MAX];
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("store: op=tmp_cleanup user=%s folder=%s file=%s", c->u->name,
			         c->dirname[0] != '\0' ? c->dirname : "INBOX",
			         log_safe(safe, de->d_name, strlen(de->d_name)));
	}
	closedir(d);
}

/* The scan proper, inside the write transaction. */
static enum store_error sync_locked(struct sync_ctx *c, bool force)
{
	enum store_error err = sync_stat(c);
	if (err != STORE_OK)
		return err;
	bool found = sync_folder_get(c, &err);
	if (err != STORE_OK)
		return err;
	if (!found)
		err = sync_folder_create(c);
	else if (!force && sync_unchanged(c))
		return STORE_OK; /* another process synced while we waited */
	/* Only new/ changed (a delivery): cur/ is as the index last saw it,
	 * so only new/ and the rows of files in new/ need comparing. A file
	 * moved between the two would have changed cur/ too. */
	bool only_new = found && !force && sync_cur_unchanged(c);
	if (err == STORE_OK)
		err = sync_read_dir(c, SYNC_NEW);
	if (err == STORE_OK && !only_new)
		err = sync_read_dir(c, SYNC_CUR);
	if (err == STORE_OK)
		err = sync_load_index(c, only_new);
	if (err != STORE_OK)
		return err;
	sync_list_sort(&c->disk, sync_sort_base);
	sync_list_sort(&c->idx, sync_sort_base);
	err = sync_merge(c);
	if (err == STORE_OK)
		err = sync_add_new(c);
	if (err == STORE_OK)
		err = sync_folder_update(c);
	if (err == STORE_OK)
		sync_clean_tmp(c);
	return err;
}

/* The context for folder `name`; false if the name is not acceptable. */
static bool sync_ctx_init(struct sync_ctx *c, struct store_user *u, const char *name)
{
	*c = (struct sync_ctx){.u = u, .name = name, .dir_fd = -1, .sub_fd = {-1, -1}};
	c->dirname = maildir_folder_dirname(name);
	if (c->dirname == NULL)
		return false;
	c->path = c->dirname[0] == '\0' ? xstrdup(u->maildir)
	                                 : xasprintf("%s/%s", u->maildir, c->dirname);
	return true;
}

enum store_error sync_folder(struct store_user *u, const char *name, bool force,
                             int64_t *folder_id_r)
{
	struct sync_ctx c;
	if (!sync_ctx_init(&c, u, name))
		return STORE_ERR_NOTFOUND;
	enum store_error err = index_open(u);
	if (err == STORE_OK)
		err = sync_open_dirs(&c);
	if (err == STORE_OK)
		err = sync_stat(&c);
	bool found = false;
	if (err == STORE_OK)
		found = sync_folder_get(&c, &err);
	if (err == STORE_OK && !(found && !force && sync_unchanged(&c))) {
		err = index_begin(u);
		if (err == STORE_OK)
			err = sync_locked(&c, force);
		if (err == STORE_OK)
			err = index_commit(u);
		else
			index_rollback(u);
		/* a marker left by a crash: cur/ was read and committed now.
		 * (One of a live change would be ours: the others wait for the
		 * lock we just held, and remove theirs after their commit.) */
		if (err == STORE_OK && c.cur_marker && !u->cur_marker_mine)
			unlinkat(c.dir_fd, SYNC_CUR_MARKER, 0);
	}
	if (err == STORE_OK)
		*folder_id_r = c.f.id;
	sync_ctx_free(&c);
	return err;
}

enum store_error sync_folder_in_txn(struct store_user *u, const char *name, int64_t *folder_id_r)
{
	struct sync_ctx c;
	if (!sync_ctx_init(&c, u, name))
		return STORE_ERR_NOTFOUND;
	enum store_error err = sync_open_dirs(&c);
	if (err == STORE_OK)
		err = sync_locked(&c, false);
	if (err == STORE_OK)
		*folder_id_r = c.f.id;
	sync_ctx_free(&c);
	return err;
}
