/*
 * pop3_view.c - the POP3 snapshot of a user's folders; see store.h.
 *
 * RFC 1939 fixes the message list at login (message numbers may not
 * change during a session) and deletes only in the UPDATE state, so a view
 * is a snapshot taken at open, and all changes wait for store_pop3_commit():
 * first the index (one transaction, all or nothing), then the files. A file
 * that stays behind after a crash between the two is found again by the
 * next sync; a file removed without its index row is simply forgotten.
 */
#include "store/store.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/pop3_view.h"
#include "store/sync.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define POP3_LOCK_FILE "yubin-pop3.lock"

static enum store_error view_lock(struct store_pop3_view *view)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	char *path = xasprintf("%s/%s", view->user->maildir, POP3_LOCK_FILE);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	xfree(path);
	if (p->lock_fd < 0) {
		log_error("store: op=pop3_lock user=%s error=%s", view->user->name,
		          store_errname(errno));
		return STORE_ERR_TEMP;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return STORE_OK;
	int e = errno;
	close(p->lock_fd);
	p->lock_fd = -1;
	if (e == EWOULDBLOCK)
		return STORE_ERR_INUSE;
	log_error("store: op=pop3_lock user=%s error=%s", view->user->name, store_errname(e));
	return STORE_ERR_TEMP;
}

/* Sync the configured folders; a missing folder other than INBOX is
 * simply not part of the view, and a folder named twice counts once. */
static enum store_error view_sync_folders(struct store_pop3_view *view,
                                          const struct store_pop3_options *opt)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	p->folders = xcalloc(opt->nfolders, sizeof(*p->folders));
	for (size_t i = 0; i < opt->nfolders; i++) {
		const char *name = opt->folders[i];
		int64_t id;
		enum store_error err = sync_folder(view->user, name, false, &id);
		if (err == STORE_ERR_NOTFOUND && !maildir_folder_is_inbox(name))
			continue;
		if (err != STORE_OK)
			return err;
		bool dup = false;
		for (size_t j = 0; j < p->nfolders; j++)
			dup = dup || p->folders[j].id == id;
		if (dup)
			continue;
		struct pop3_view_folder *f = &p->folders[p->nfolders++];
		f->id = id;
		f->name = xstrdup(name != NULL ? name : "INBOX");
		f->path = maildir_folder_dir(view->user->maildir, name);
	}
	return STORE_OK;
}

static size_t view_folder_index(const struct pop3_view_priv *p, int64_t folder_id)
{
	for (size_t i = 0; i < p->nfolders; i++)
		if (p->folders[i].id == folder_id)
			return i;
	return SIZE_MAX;
}

/* Where message id lives now, per the index. STORE_ERR_EXPUNGED if its
 * row is gone (or its folder is not in this view). */
static int view_column_or(sqlite3_stmt *st, int col, int null_value)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? null_value
	                                                   : sqlite3_column_int(st, col);
}

enum store_error pop3_view_file_get(struct store_pop3_view *view, int64_t id,
                                    struct pop3_view_file *vf)
{
	sqlite3_stmt *st = index_stmt(view->user, INDEX_MSG_FILE);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum store_error err = STORE_ERR_EXPUNGED;
	if (rc == SQLITE_ROW) {
		vf->folder = view_folder_index(pop3_view_priv(view), sqlite3_column_int64(st, 0));
		size_t blen = (size_t)sqlite3_column_bytes(st, 1);
		size_t slen = (size_t)sqlite3_column_bytes(st, 3);
		vf->base_len = blen;
		vf->in_cur = sqlite3_column_int(st, 2) != 0;
		vf->clean = view_column_or(st, 4, -1);
		vf->eol_pad = view_column_or(st, 5, -1);
		vf->name = xmalloc(blen + slen + 1);
		memcpy(vf->name, sqlite3_column_text(st, 1), blen);
		memcpy(vf->name + blen, sqlite3_column_text(st, 3), slen);
		err = vf->folder != SIZE_MAX ? STORE_OK : STORE_ERR_EXPUNGED;
		if (err != STORE_OK)
			xfree(vf->name);
	} else if (rc != SQLITE_DONE) {
		err = index_fail(view->user, rc, "msg_file");
	}
	sqlite3_reset(st);
	return err;
}

static char *view_file_path(const struct pop3_view_priv *p, const struct pop3_view_file *vf)
{
	return xasprintf("%s/%s/%s", p->folders[vf->folder].path, vf->in_cur ? "cur" : "new",
	                 vf->name);
}

/* The file location from columns 3.. of INDEX_VIEW_LIST. */
static void view_file_from_row(struct pop3_view_file *vf, sqlite3_stmt *st, size_t folder)
{
	size_t blen = (size_t)sqlite3_column_bytes(st, 3);
	size_t slen = (size_t)sqlite3_column_bytes(st, 5);
	vf->folder = folder;
	vf->base_len = blen;
	vf->in_cur = sqlite3_column_int(st, 4) != 0;
	vf->clean = view_column_or(st, 6, -1);
	vf->eol_pad = view_column_or(st, 7, -1);
	vf->name = xmalloc(blen + slen + 1);
	memcpy(vf->name, sqlite3_column_text(st, 3), blen);
	memcpy(vf->name + blen, sqlite3_column_text(st, 5), slen);
}

static void view_add_msg(struct store_pop3_view *view, size_t *cap, sqlite3_stmt *st,
                         uint32_t folder)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	if (view->count == *cap) {
		*cap = *cap == 0 ? 256 : *cap * 2;
		view->msgs = xrealloc(view->msgs, *cap * sizeof(*view->msgs));
		p->files = xrealloc(p->files, *cap * sizeof(*p->files));
	}
	view_file_from_row(&p->files[view->count], st, folder);
	struct store_pop3_msg *m = &view->msgs[view->count++];
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->size = (uint64_t)sqlite3_column_int64(st, 1);
	size_t len = (size_t)sqlite3_column_bytes(st, 2);
	if (len > STORE_UIDL_MAX)
		len = STORE_UIDL_MAX; /* cannot happen: uidl.c makes them */
	memcpy(m->uidl, sqlite3_column_text(st, 2), len);
	m->uidl[len] = '\0';
	m->folder = folder;
	view->total_size += m->size;
}

/* The snapshot: visible messages in folder order, then by UID. */
static enum store_error view_load(struct store_pop3_view *view)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	size_t cap = 0;
	size_t expected = view->count;
	view->count = 0;
	view->total_size = 0;
	p->loaded = true;
	for (size_t f = 0; f < p->nfolders; f++) {
		sqlite3_stmt *st = index_stmt(view->user, INDEX_VIEW_LIST);
		if (st == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(st, 1, p->folders[f].id);
		sqlite3_bind_int64(st, 2, p->folders[f].uid_limit);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			view_add_msg(view, &cap, st, (uint32_t)f);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return index_fail(view->user, rc, "view_list");
	}
	if (view->count != expected)
		/* only if another session or program removed mail between
		 * open and load (pop3.lock = no): the list is what is there */
		log_warn("store: op=pop3_load user=%s expected=%zu found=%zu", view->user->name,
		         expected, view->count);
	return STORE_OK;
}

/* count and total_size from the index's aggregates (STAT needs no more). */
static enum store_error view_count(struct store_pop3_view *view)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	view->count = 0;
	view->total_size = 0;
	for (size_t f = 0; f < p->nfolders; f++) {
		sqlite3_stmt *st = index_stmt(view->user, INDEX_FOLDER_POP3);
		if (st == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(st, 1, p->folders[f].id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			p->folders[f].count = (uint64_t)sqlite3_column_int64(st, 0);
			p->folders[f].size = (uint64_t)sqlite3_column_int64(st, 1);
			p->folders[f].uid_limit = sqlite3_column_int64(st, 2);
			view->count += p->folders[f].count;
			view->total_size += p->folders[f].size;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return rc == SQLITE_DONE ? STORE_ERR_TEMP : index_fail(view->user, rc, "count");
	}
	return STORE_OK;
}

bool store_pop3_loaded(const struct store_pop3_view *view)
{
	return pop3_view_priv(view)->loaded;
}

enum store_error store_pop3_load(struct store_pop3_view *view)
{
	if (store_pop3_loaded(view))
		return STORE_OK;
	struct pop3_view_priv *p = pop3_view_priv(view);
	size_t count = view->count;
	uint64_t total = view->total_size;
	enum store_error err = view_load(view);
	index_close(view->user); /* as after open: sessions hold no connection */
	if (err != STORE_OK) {
		/* back to "not loaded", as STAT saw it; a later command retries */
		for (size_t i = 0; i < view->count; i++)
			xfree(p->files[i].name);
		xfree(p->files);
		xfree(view->msgs);
		p->loaded = false;
		view->count = count;
		view->total_size = total;
	}
	return err;
}

enum store_error store_pop3_open(struct store_user *user, const struct store_pop3_options *opt,
                                 struct store_pop3_view **view_r, bool *login_delayed_r)
{
	*view_r = NULL;
	bool delayed = false;
	struct store_pop3_view *view = xmalloc(sizeof(*view));
	struct pop3_view_priv *p = xmalloc(sizeof(*p));
	view->user = user;
	view->priv = p;
	p->lock_fd = -1;
	p->hide = opt->hide_deleted;
	p->expire_days = opt->expire_days;
	p->now = opt->now != 0 ? opt->now : time(NULL);
	enum store_error err = index_open(user);
	if (err == STORE_OK && opt->lock)
		err = view_lock(view);
	if (err == STORE_OK)
		err = view_sync_folders(view, opt);
	if (err == STORE_OK)
		err = pop3_commit_prepare(view, opt, &delayed);
	if (err == STORE_OK)
		err = view_count(view);
	if (err == STORE_OK && view->count <= STORE_POP3_EAGER_MAX)
		err = view_load(view);
	if (login_delayed_r != NULL)
		*login_delayed_r = delayed;
	if (err != STORE_OK) {
		store_pop3_close(&view);
		return err;
	}
	/* Most sessions now sit idle or read files: a database connection
	 * (statements, page cache: ~100 KiB) is not worth keeping per
	 * session. RETR's lookups and the commit at QUIT reopen it. */
	index_close(user);
	*view_r = view;
	return STORE_OK;
}

/* Open the file of vf; -1 with errno. */
static int view_open_file(const struct pop3_view_priv *p, const struct pop3_view_file *vf)
{
	char *path = view_file_path(p, vf);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int e = errno;
	xfree(path);
	errno = e;
	return fd;
}

/* Find a message's file, rescanning its folder once if another program
 * renamed or removed it since the index last looked. */
static enum store_error view_find_file(struct store_pop3_view *view, const struct store_pop3_msg *m,
                                       struct pop3_view_file *vf, int *fd_r)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	/* Usually the file is still where it was at open. */
	const struct pop3_view_file *cached = &p->files[m - view->msgs];
	*vf = *cached;
	vf->name = xstrdup(cached->name);
	*fd_r = view_open_file(p, vf);
	if (*fd_r >= 0)
		return STORE_OK;
	xfree(vf->name);
	for (int attempt = 0; attempt < 2; attempt++) {
		enum store_error err = pop3_view_file_get(view, m->id, vf);
		if (err != STORE_OK)
			return err;
		*fd_r = view_open_file(p, vf);
		if (*fd_r >= 0)
			return STORE_OK;
		int e = errno;
		xfree(vf->name);
		if (e != ENOENT) {
			log_error("store: op=pop3_open_msg user=%s error=%s", view->user->name,
			          store_errname(e));
			return STORE_ERR_TEMP;
		}
		int64_t id;
		err = sync_folder(view->user, p->folders[m->folder].name, true, &id);
		if (err != STORE_OK)
			return err == STORE_ERR_NOTFOUND ? STORE_ERR_EXPUNGED : err;
	}
	return STORE_ERR_EXPUNGED;
}

/* crlf_clean or eol_pad was unknown (sizes came from the name): read the
 * file once and cache both. A read error just means "not clean". */
static bool view_compute_clean(struct store_pop3_view *view, int64_t id, int fd)
{
	struct crlf_count cc;
	if (crlf_count_fd(fd, &cc) < 0)
		return false;
	bool clean = crlf_count_clean(&cc);
	sqlite3_stmt *st = index_stmt(view->user, INDEX_MSG_SET_CLEAN);
	if (st != NULL) {
		sqlite3_bind_int(st, 1, clean ? 1 : 0);
		sqlite3_bind_int(st, 2, (int)crlf_count_eol_pad(&cc));
		sqlite3_bind_int64(st, 3, id);
		index_step_done(view->user, st, "set_clean"); /* only a cache */
	}
	return clean;
}

enum store_error store_pop3_msg_open(struct store_pop3_view *view, size_t i, int *fd_r,
                                     uint64_t *disk_size_r, bool *crlf_clean_r)
{
	assert(i < view->count);
	const struct store_pop3_msg *m = &view->msgs[i];
	struct pop3_view_file vf;
	int fd = -1;
	enum store_error err = view_find_file(view, m, &vf, &fd);
	if (err != STORE_OK)
		return err;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("store: op=pop3_open_msg user=%s error=not_a_file", view->user->name);
		close(fd);
		xfree(vf.name);
		return STORE_ERR_TEMP;
	}
	if (vf.clean >= 0 && vf.eol_pad >= 0) {
		*crlf_clean_r = vf.clean != 0;
	} else {
		*crlf_clean_r = view_compute_clean(view, m->id, fd);
		/* known from now on for this session too (the size in the
		 * snapshot does not change) */
		struct pop3_view_file *cached = &pop3_view_priv(view)->files[i];
		cached->clean = *crlf_clean_r;
		if (cached->eol_pad < 0)
			cached->eol_pad = 0;
	}
	*disk_size_r = (uint64_t)st.st_size;
	*fd_r = fd;
	xfree(vf.name);
	return STORE_OK;
}

void store_pop3_mark_retrieved(struct store_pop3_view *view, size_t i)
{
	assert(i < view->count);
	view->msgs[i].retrieved = true;
}

void store_pop3_close(struct store_pop3_view **viewp)
{
	struct store_pop3_view *view = *viewp;
	if (view == NULL)
		return;
	struct pop3_view_priv *p = pop3_view_priv(view);
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* releases the flock */
	for (size_t i = 0; i < p->nfolders; i++) {
		xfree(p->folders[i].name);
		xfree(p->folders[i].path);
	}
	xfree(p->folders);
	if (p->loaded) /* before that, count comes from the index, not files */
		for (size_t i = 0; i < view->count; i++)
			xfree(p->files[i].name);
	xfree(p->files);
	xfree(view->priv);
	xfree(view->msgs);
	xfree(*viewp);
}
