/*
 * pop3_commit.c - the changes a POP3 session makes: the UPDATE state
 * (RFC 1939 6), EXPIRE and LOGIN-DELAY (RFC 2449 6.7, 6.5).
 *
 * Order matters for crash safety: first the index transaction (all or
 * nothing), then the files are unlinked, then their directories fsynced.
 * A crash in between leaves files without rows, which the next sync takes
 * for new mail (same UIDL, so clients that already have it skip it); the
 * reverse order could leave rows pointing at nothing. A file already gone
 * is not an error, and one renamed by a MUA meanwhile is found by its
 * base name.
 */
#include "store/store.h"

#include "store/hidden.h"
#include "store/index.h"
#include "store/maildir.h"
#include "store/pop3_view.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define POP3_META_LAST_LOGIN "pop3_last_login"

/* A file to remove (or, in hide mode, to note in yubin-pop3-hidden) once
 * the index transaction has committed. */
struct view_doomed {
	size_t folder;
	bool in_cur;
	char *name; /* base || suffix */
	size_t base_len;
};

struct view_doomed_list {
	struct view_doomed *v;
	size_t n, cap;
};

static enum store_error view_step_id(struct store_pop3_view *view, enum index_stmt which,
                                     int64_t id, const char *what)
{
	sqlite3_stmt *st = index_stmt(view->user, which);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	return index_step_done(view->user, st, what);
}

/* Remove (or hide) one message inside the open transaction; its file goes
 * on the doomed list. A row that is already gone is not an error. */
static enum store_error view_remove(struct store_pop3_view *view, int64_t id,
                                    struct view_doomed_list *dl)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	struct pop3_view_file vf;
	enum store_error err = pop3_view_file_get(view, id, &vf);
	if (err == STORE_ERR_EXPUNGED)
		return STORE_OK;
	if (err != STORE_OK)
		return err;
	if (dl->n == dl->cap) {
		dl->cap = dl->cap == 0 ? 64 : dl->cap * 2;
		dl->v = xrealloc(dl->v, dl->cap * sizeof(*dl->v));
	}
	dl->v[dl->n++] = (struct view_doomed){vf.folder, vf.in_cur, vf.name, vf.base_len};
	if (p->hide)
		return view_step_id(view, INDEX_MSG_HIDE, id, "msg_hide");
	return view_step_id(view, INDEX_MSG_DELETE, id, "msg_delete");
}

/* The file was renamed since the index saw it: find it by base name. */
static int view_unlink_by_base(const char *dir, const char *base, size_t base_len)
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

static void view_unlink_one(struct store_pop3_view *view, struct view_doomed *dm)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	struct pop3_view_folder *f = &p->folders[dm->folder];
	char *path = xasprintf("%s/%s/%s", f->path, dm->in_cur ? "cur" : "new", dm->name);
	int e = unlink(path) == 0 ? 0 : errno;
	xfree(path);
	for (int sub = 0; e == ENOENT && sub < 2; sub++) {
		char *dir = xasprintf("%s/%s", f->path, sub ? "cur" : "new");
		int r = view_unlink_by_base(dir, dm->name, dm->base_len);
		if (r == 0) {
			dm->in_cur = sub != 0;
			e = 0;
		} else if (r < 0) {
			e = errno;
		}
		xfree(dir);
	}
	if (e == 0)
		f->touched[dm->in_cur] = true;
	else if (e != ENOENT) /* already gone is fine: someone else removed it */
		log_error("store: op=pop3_unlink user=%s error=%s", view->user->name,
		          store_errname(e));
}

/* After the index commit: remove the files, then make that durable. */
static void view_unlink_all(struct store_pop3_view *view, struct view_doomed_list *dl)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	for (size_t i = 0; i < dl->n; i++) {
		view_unlink_one(view, &dl->v[i]);
		xfree(dl->v[i].name);
	}
	xfree(dl->v);
	dl->n = dl->cap = 0;
	for (size_t i = 0; i < p->nfolders; i++) {
		for (int sub = 0; sub < 2; sub++) {
			if (!p->folders[i].touched[sub])
				continue;
			p->folders[i].touched[sub] = false;
			char *dir = xasprintf("%s/%s", p->folders[i].path, sub ? "cur" : "new");
			if (view->user->fsync && maildir_fsync_dir(dir) < 0)
				log_error("store: op=pop3_fsync_dir user=%s error=%s",
				          view->user->name, store_errname(errno));
			xfree(dir);
		}
	}
}

/* Hide mode, after the index commit: note the base names beside the
 * messages so that an index rebuild keeps them hidden (hidden.h). */
static void view_note_hidden(struct store_pop3_view *view, const struct view_doomed_list *dl)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	const char **bases = xcalloc(dl->n, sizeof(*bases));
	size_t *lens = xcalloc(dl->n, sizeof(*lens));
	for (size_t f = 0; f < p->nfolders; f++) {
		size_t n = 0;
		for (size_t i = 0; i < dl->n; i++) {
			if (dl->v[i].folder != f)
				continue;
			bases[n] = dl->v[i].name;
			lens[n++] = dl->v[i].base_len;
		}
		if (n > 0 &&
		    hidden_append(p->folders[f].path, bases, lens, n, view->user->fsync) < 0)
			log_error("store: op=pop3_note_hidden user=%s error=%s", view->user->name,
			          store_errname(errno));
	}
	xfree(bases);
	xfree(lens);
}

/* After the index commit: unlink the files, or note them as hidden. */
static void view_finish(struct store_pop3_view *view, struct view_doomed_list *dl)
{
	if (pop3_view_priv(view)->hide)
		view_note_hidden(view, dl);
	else
		view_unlink_all(view, dl);
}

static void view_doomed_free(struct view_doomed_list *dl)
{
	for (size_t i = 0; i < dl->n; i++)
		xfree(dl->v[i].name);
	xfree(dl->v);
	dl->n = dl->cap = 0;
}

/* RFC 2449 LOGIN-DELAY: refuse a login too soon after the last one. */
static enum store_error view_login_delay(struct store_pop3_view *view, uint64_t delay,
                                         bool *delayed)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	int64_t last;
	bool found;
	enum store_error err = index_meta_get(view->user, POP3_META_LAST_LOGIN, &last, &found);
	if (err != STORE_OK)
		return err;
	/* A clock that went back does not lock the user out. */
	if (delay > 0 && found && last <= p->now && (uint64_t)(p->now - last) < delay) {
		*delayed = true;
		return STORE_ERR_INUSE;
	}
	return index_meta_set(view->user, POP3_META_LAST_LOGIN, p->now);
}

/* RFC 2449 EXPIRE: messages retrieved more than expire_days ago go (or
 * are hidden) before the snapshot is taken. */
static enum store_error view_expire(struct store_pop3_view *view, struct view_doomed_list *dl)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	if (p->expire_days == UINT32_MAX)
		return STORE_OK;
	int64_t cutoff = (int64_t)p->now - (int64_t)p->expire_days * 86400;
	enum store_error err = STORE_OK;
	for (size_t f = 0; err == STORE_OK && f < p->nfolders; f++) {
		int64_t *ids = NULL;
		size_t n = 0, cap = 0;
		sqlite3_stmt *st = index_stmt(view->user, INDEX_EXPIRE_LIST);
		if (st == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(st, 1, p->folders[f].id);
		sqlite3_bind_int64(st, 2, cutoff);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				ids = xrealloc(ids, cap * sizeof(*ids));
			}
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			err = index_fail(view->user, rc, "expire_list");
		for (size_t i = 0; err == STORE_OK && i < n; i++)
			err = view_remove(view, ids[i], dl);
		xfree(ids);
	}
	return err;
}

/* Login delay, expiry and the login record: one transaction, and none at
 * all when neither policy is on (the common case: a login then writes
 * nothing). */
enum store_error pop3_commit_prepare(struct store_pop3_view *view,
                                     const struct store_pop3_options *opt, bool *delayed)
{
	if (opt->login_delay == 0 && pop3_view_priv(view)->expire_days == UINT32_MAX)
		return STORE_OK;
	struct view_doomed_list dl = {0};
	enum store_error err = index_begin(view->user);
	if (err != STORE_OK)
		return err;
	err = view_login_delay(view, opt->login_delay, delayed);
	if (err == STORE_OK)
		err = view_expire(view, &dl);
	if (err == STORE_OK)
		err = index_commit(view->user);
	else
		index_rollback(view->user);
	if (err == STORE_OK)
		view_finish(view, &dl);
	view_doomed_free(&dl);
	return err;
}

static enum store_error view_record_retrieved(struct store_pop3_view *view, int64_t id)
{
	sqlite3_stmt *st = index_stmt(view->user, INDEX_MSG_RETRIEVED);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, pop3_view_priv(view)->now);
	sqlite3_bind_int64(st, 2, id);
	return index_step_done(view->user, st, "msg_retrieved");
}

/* Anything for the index to do? Retrievals matter only for EXPIRE. */
bool store_pop3_commit_needed(const struct store_pop3_view *view, const bool *deleted)
{
	if (!pop3_view_priv(view)->loaded)
		return false; /* nothing was deleted or retrieved */
	bool track = pop3_view_priv(view)->expire_days != UINT32_MAX;
	for (size_t i = 0; i < view->count; i++)
		if ((deleted != NULL && deleted[i]) || (track && view->msgs[i].retrieved))
			return true;
	return false;
}

enum store_error store_pop3_commit(struct store_pop3_view *view, const bool *deleted)
{
	struct pop3_view_priv *p = pop3_view_priv(view);
	if (!store_pop3_commit_needed(view, deleted))
		return STORE_OK;
	bool track = p->expire_days != UINT32_MAX;
	struct view_doomed_list dl = {0};
	enum store_error err = index_begin(view->user);
	for (size_t i = 0; err == STORE_OK && i < view->count; i++) {
		const struct store_pop3_msg *m = &view->msgs[i];
		bool remove =
		    (deleted != NULL && deleted[i]) || (p->expire_days == 0 && m->retrieved);
		if (remove)
			err = view_remove(view, m->id, &dl);
		else if (m->retrieved && track)
			err = view_record_retrieved(view, m->id);
	}
	if (err == STORE_OK)
		err = index_commit(view->user);
	else
		index_rollback(view->user);
	if (err == STORE_OK)
		view_finish(view, &dl);
	view_doomed_free(&dl);
	return err;
}
