/*
 * folders.c - the folder tree of a user for IMAP: LIST, CREATE, DELETE,
 * RENAME, (UN)SUBSCRIBE, STATUS and the special-use folders.
 *
 * Folders are Maildir++ directories in the user's root (".Sent",
 * ".Archive.2025", names in modified UTF-7; see maildir_folder_dirname()),
 * so the tree is what the root directory holds: there is no separate list
 * to keep in step. A parent that does not exist itself ("Archive" when only
 * ".Archive.2025" does) shows up as \Noselect, as RFC 9051 6.3.4 describes
 * for a deleted folder that still has children.
 *
 * Subscriptions are the "subscriptions" file of the root, one name per
 * line (the Maildir++ convention Dovecot reads too).
 */
#include "store/store_imap.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/store_private.h"
#include "store/sync.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBSCRIPTIONS_FILE "subscriptions"
/* Lines longer than this in the subscriptions file are skipped. */
#define SUBSCRIPTION_LINE_MAX (STORE_FOLDER_NAME_MAX * 4 + 2)

struct name_list {
	char **v;
	size_t n, cap;
};

static void names_add(struct name_list *l, char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = name;
}

static bool names_has(const struct name_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

static void names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		xfree(l->v[i]);
	xfree(l->v);
	l->n = l->cap = 0;
}

/* ---- subscriptions ---- */

static void subs_read(struct store_user *u, struct name_list *l)
{
	char *file = xasprintf("%s/%s", u->maildir, SUBSCRIPTIONS_FILE);
	FILE *f = fopen(file, "re");
	xfree(file);
	if (f == NULL)
		return;
	char line[SUBSCRIPTION_LINE_MAX];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || names_has(l, line))
			continue;
		names_add(l, xstrdup(maildir_folder_is_inbox(line) ? "INBOX" : line));
	}
	fclose(f);
}

static enum store_error subs_write(struct store_user *u, const struct name_list *l)
{
	char *file = xasprintf("%s/%s", u->maildir, SUBSCRIPTIONS_FILE);
	/* one writer at a time (the index lock), but threads of one process
	 * share the pid: the temporary name has the thread too */
	char *tmp = xasprintf("%s/.%s.%ld.%ld", u->maildir, SUBSCRIPTIONS_FILE, (long)getpid(),
	                      (long)gettid());
	FILE *f = fopen(tmp, "we");
	bool ok = f != NULL;
	for (size_t i = 0; ok && i < l->n; i++)
		ok = fprintf(f, "%s\n", l->v[i]) > 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, file) < 0)
		ok = false;
	if (!ok) {
		log_error("store: op=subscriptions_write user=%s error=%s", u->name,
		          store_errname(errno));
		unlink(tmp);
	}
	xfree(tmp);
	xfree(file);
	return ok ? STORE_OK : STORE_ERR_TEMP;
}

enum store_error store_folder_subscriptions(struct store_user *u, char ***names_r, size_t *count_r)
{
	struct name_list l = {0};
	subs_read(u, &l);
	*names_r = l.v;
	*count_r = l.n;
	return STORE_OK;
}

enum store_error store_folder_subscribe(struct store_user *u, const char *name, bool on)
{
	const char *canon = maildir_folder_is_inbox(name) ? "INBOX" : name;
	/* read, change, write under the index's write lock, so that two
	 * sessions subscribing at once do not lose one of the changes */
	if (index_begin(u) != STORE_OK)
		return STORE_ERR_TEMP;
	struct name_list l = {0};
	subs_read(u, &l);
	bool changed = false;
	if (on && !names_has(&l, canon)) {
		names_add(&l, xstrdup(canon));
		changed = true;
	}
	for (size_t i = 0; !on && i < l.n; i++) {
		if (strcmp(l.v[i], canon) == 0) {
			xfree(l.v[i]);
			l.v[i] = l.v[--l.n];
			changed = true;
			break;
		}
	}
	enum store_error err = changed ? subs_write(u, &l) : STORE_OK;
	names_free(&l);
	index_rollback(u); /* nothing written to the index itself */
	return err;
}

/* ---- the tree ---- */

/* Every folder that exists on disk, INBOX included. */
static enum store_error tree_read(struct store_user *u, struct name_list *l)
{
	names_add(l, xstrdup("INBOX"));
	DIR *d = opendir(u->maildir);
	if (d == NULL) {
		log_error("store: op=folder_list user=%s error=%s", u->name, store_errname(errno));
		return STORE_ERR_TEMP;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		/* a folder is a real directory, never a link (to another
		 * user's mail) */
		if (de->d_name[0] != '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		struct stat lst;
		if (de->d_type == DT_UNKNOWN &&
		    (fstatat(dirfd(d), de->d_name, &lst, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(lst.st_mode)))
			continue;
		char *name = maildir_folder_name(de->d_name);
		if (name == NULL)
			continue;
		char *path = xasprintf("%s/%s", u->maildir, de->d_name);
		if (maildir_exists(path))
			names_add(l, name);
		else
			xfree(name);
		xfree(path);
	}
	closedir(d);
	return STORE_OK;
}

static int tree_cmp(const void *x, const void *y)
{
	const struct store_folder_info *a = x, *b = y;
	bool ai = strcmp(a->name, "INBOX") == 0, bi = strcmp(b->name, "INBOX") == 0;
	if (ai != bi)
		return ai ? -1 : 1;
	return strcmp(a->name, b->name);
}

static unsigned tree_special(const struct store_user *u, const char *name)
{
	unsigned bits = 0;
	for (size_t i = 0; i < 5; i++)
		if (u->special[i] != NULL && strcmp(u->special[i], name) == 0)
			bits |= 1u << i;
	return bits;
}

/* Parents that do not exist themselves become \Noselect entries. */
static void tree_add_parents(struct name_list *l)
{
	size_t real = l->n;
	for (size_t i = 0; i < real; i++) {
		char *p = xstrdup(l->v[i]);
		char *slash;
		while ((slash = strrchr(p, '/')) != NULL) {
			*slash = '\0';
			if (!names_has(l, p))
				names_add(l, xstrdup(p));
		}
		xfree(p);
	}
}

enum store_error store_folder_list(struct store_user *u, struct store_folder_info **list_r,
                                   size_t *count_r)
{
	*list_r = NULL;
	*count_r = 0;
	struct name_list l = {0}, subs = {0};
	enum store_error err = tree_read(u, &l);
	if (err != STORE_OK) {
		names_free(&l);
		return err;
	}
	size_t real = l.n;
	tree_add_parents(&l);
	subs_read(u, &subs);
	struct store_folder_info *v = xcalloc(l.n + 1, sizeof(*v));
	for (size_t i = 0; i < l.n; i++) {
		v[i].name = l.v[i];
		v[i].noselect = i >= real;
		v[i].subscribed = names_has(&subs, l.v[i]);
		v[i].special_use = tree_special(u, l.v[i]);
		size_t len = strlen(l.v[i]);
		for (size_t j = 0; j < l.n && !v[i].has_children; j++)
			v[i].has_children = strncmp(l.v[j], l.v[i], len) == 0 && l.v[j][len] == '/';
	}
	xfree(l.v);
	names_free(&subs);
	qsort(v, l.n, sizeof(*v), tree_cmp);
	*list_r = v;
	*count_r = l.n;
	return STORE_OK;
}

void store_folder_list_free(struct store_folder_info **list, size_t count)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		xfree((*list)[i].name);
	xfree(*list);
}

/* ---- create, delete, rename ---- */

enum store_error store_folder_create(struct store_user *u, const char *name, unsigned special_use)
{
	(void)special_use; /* attributes come from imap.special_use by name */
	if (maildir_folder_is_inbox(name))
		return STORE_ERR_EXISTS;
	if (strlen(name) > STORE_FOLDER_NAME_MAX)
		return STORE_ERR_PERM;
	char *path = maildir_folder_dir(u->maildir, name);
	if (path == NULL)
		return STORE_ERR_PERM;
	enum store_error err = STORE_OK;
	if (maildir_exists(path)) {
		err = STORE_ERR_EXISTS;
	} else if (maildir_create(path) < 0 || (u->fsync && maildir_fsync_dir(u->maildir) < 0)) {
		log_error("store: op=folder_create user=%s error=%s", u->name, store_errname(errno));
		err = errno == ENOSPC || errno == EDQUOT ? STORE_ERR_QUOTA : STORE_ERR_TEMP;
	}
	xfree(path);
	return err;
}

/* rm -r of a folder directory that has already been renamed out of the
 * tree: its files and one level of subdirectories (cur, new, tmp). */
static void folder_remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || (errno != EISDIR && errno != EPERM))
			continue;
		char *sub = xasprintf("%s/%s", path, de->d_name);
		DIR *sd = opendir(sub);
		struct dirent *se;
		while (sd != NULL && (se = readdir(sd)) != NULL)
			if (strcmp(se->d_name, ".") != 0 && strcmp(se->d_name, "..") != 0)
				unlinkat(dirfd(sd), se->d_name, 0);
		if (sd != NULL)
			closedir(sd);
		rmdir(sub);
		xfree(sub);
	}
	closedir(d);
	if (rmdir(path) < 0)
		log_warn("store: op=folder_remove path=%s error=%s", path, store_errname(errno));
}

/* Drop the folder's rows from the index (messages, expunge log, folder). */
static enum store_error folder_forget(struct store_user *u, const char *dirname)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_FOLDER_GET);
	if (st == NULL)
		return STORE_ERR_TEMP;
	index_bind_text(st, 1, dirname, strlen(dirname));
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc != SQLITE_ROW)
		return index_fail(u, rc, "folder_get");
	static const enum index_stmt steps[] = {INDEX_FOLDER_MSGS_DELETE,
	                                        INDEX_FOLDER_EXPUNGED_DELETE, INDEX_FOLDER_DELETE};
	enum store_error err = STORE_OK;
	for (size_t i = 0; err == STORE_OK && i < 3; i++) {
		st = index_stmt(u, steps[i]);
		if (st == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(st, 1, id);
		err = index_step_done(u, st, "folder_forget");
	}
	return err;
}

static bool folder_has_children(struct store_user *u, const char *name)
{
	struct store_folder_info *v;
	size_t n;
	if (store_folder_list(u, &v, &n) != STORE_OK)
		return false;
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			found = v[i].has_children;
	store_folder_list_free(&v, n);
	return found;
}

enum store_error store_folder_delete(struct store_user *u, const char *name)
{
	if (maildir_folder_is_inbox(name))
		return STORE_ERR_PERM;
	char *dirname = maildir_folder_dirname(name);
	if (dirname == NULL)
		return STORE_ERR_NOTFOUND;
	char *path = xasprintf("%s/%s", u->maildir, dirname);
	enum store_error err = STORE_OK;
	if (!maildir_exists(path))
		/* RFC 9051 6.3.4: a \Noselect parent with children cannot go */
		err = folder_has_children(u, name) ? STORE_ERR_PERM : STORE_ERR_NOTFOUND;
	/* Out of the tree first (atomic; the name is free again at once),
	 * then the index, then the files at leisure. */
	char *doomed = xasprintf("%s/yubin-deleting.%ld.%s", u->maildir, (long)getpid(), dirname + 1);
	if (err == STORE_OK && rename(path, doomed) < 0) {
		log_error("store: op=folder_delete user=%s error=%s", u->name, store_errname(errno));
		err = STORE_ERR_TEMP;
	}
	if (err == STORE_OK) {
		if (index_begin(u) == STORE_OK) {
			if (folder_forget(u, dirname) == STORE_OK)
				index_commit(u);
			else
				index_rollback(u);
		}
		folder_remove_tree(doomed);
	}
	xfree(doomed);
	xfree(path);
	xfree(dirname);
	return err;
}

/* INBOX (RFC 9051 6.3.5): its messages move to a new folder; INBOX stays,
 * empty. */
static enum store_error folder_rename_inbox(struct store_user *u, const char *to)
{
	enum store_error err = store_folder_create(u, to, 0);
	if (err != STORE_OK)
		return err;
	char *dest = maildir_folder_dir(u->maildir, to);
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; err == STORE_OK && i < 2; i++) {
		char *from_dir = xasprintf("%s/%s", u->maildir, subs[i]);
		DIR *d = opendir(from_dir);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char *a = xasprintf("%s/%s", from_dir, de->d_name);
			char *b = xasprintf("%s/%s/%s", dest, subs[i], de->d_name);
			if (rename(a, b) < 0 && errno != ENOENT)
				err = STORE_ERR_TEMP;
			xfree(a);
			xfree(b);
		}
		if (d != NULL)
			closedir(d);
		xfree(from_dir);
	}
	xfree(dest);
	int64_t id;
	sync_folder(u, "INBOX", true, &id);
	sync_folder(u, to, true, &id);
	return err;
}

/* The directories to move: from itself and its children. */
static void folder_rename_list(struct store_user *u, const char *from_dir, struct name_list *l)
{
	size_t flen = strlen(from_dir);
	DIR *d = opendir(u->maildir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, from_dir, flen) == 0 &&
		    (de->d_name[flen] == '\0' || de->d_name[flen] == '.'))
			names_add(l, xstrdup(de->d_name));
	if (d != NULL)
		closedir(d);
}

static enum store_error folder_rename_dirs(struct store_user *u, const char *from_dir,
                                           const char *to_dir, const char *to)
{
	struct name_list l = {0};
	folder_rename_list(u, from_dir, &l);
	size_t flen = strlen(from_dir);
	enum store_error err = l.n == 0 ? STORE_ERR_NOTFOUND : index_begin(u);
	for (size_t i = 0; err == STORE_OK && i < l.n; i++) {
		char *new_dir = xasprintf("%s%s", to_dir, l.v[i] + flen);
		char *a = xasprintf("%s/%s", u->maildir, l.v[i]);
		char *b = xasprintf("%s/%s", u->maildir, new_dir);
		char *new_name = maildir_folder_name(new_dir);
		if (new_name == NULL || strlen(new_name) > STORE_FOLDER_NAME_MAX)
			err = STORE_ERR_PERM;
		else if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) < 0)
			err = errno == EEXIST || errno == ENOTEMPTY ? STORE_ERR_EXISTS : STORE_ERR_TEMP;
		sqlite3_stmt *st = err == STORE_OK ? index_stmt(u, INDEX_FOLDER_RENAME) : NULL;
		if (st != NULL) {
			index_bind_text(st, 1, l.v[i], strlen(l.v[i]));
			index_bind_text(st, 2, new_dir, strlen(new_dir));
			index_bind_text(st, 3, new_name, strlen(new_name));
			err = index_step_done(u, st, "folder_rename");
		}
		xfree(new_name);
		xfree(a);
		xfree(b);
		xfree(new_dir);
	}
	if (err == STORE_OK)
		err = index_commit(u);
	else if (l.n > 0)
		index_rollback(u);
	(void)to;
	names_free(&l);
	return err;
}

enum store_error store_folder_rename(struct store_user *u, const char *from, const char *to)
{
	if (maildir_folder_is_inbox(to))
		return STORE_ERR_EXISTS;
	if (strlen(to) > STORE_FOLDER_NAME_MAX)
		return STORE_ERR_PERM;
	char *to_dir = maildir_folder_dirname(to);
	char *from_dir = maildir_folder_dirname(from);
	char *to_path = to_dir != NULL ? xasprintf("%s/%s", u->maildir, to_dir) : NULL;
	enum store_error err = STORE_OK;
	if (to_dir == NULL)
		err = STORE_ERR_PERM;
	else if (from_dir == NULL)
		err = STORE_ERR_NOTFOUND;
	else if (maildir_exists(to_path))
		err = STORE_ERR_EXISTS;
	else if (from_dir[0] == '\0')
		err = folder_rename_inbox(u, to);
	else if (strncmp(to_dir, from_dir, strlen(from_dir)) == 0 &&
	         to_dir[strlen(from_dir)] == '.')
		err = STORE_ERR_PERM; /* into its own subtree */
	else
		err = folder_rename_dirs(u, from_dir, to_dir, to);
	xfree(to_path);
	xfree(to_dir);
	xfree(from_dir);
	return err;
}

enum store_error store_folder_ensure_special(struct store_user *u, const char *const names[5])
{
	enum store_error err = STORE_OK;
	for (size_t i = 0; i < 5; i++) {
		xfree(u->special[i]);
		if (names[i] == NULL || names[i][0] == '\0')
			continue;
		u->special[i] = xstrdup(names[i]);
		enum store_error e = store_folder_create(u, names[i], 1u << i);
		if (e == STORE_OK)
			e = store_folder_subscribe(u, names[i], true);
		if (e != STORE_OK && e != STORE_ERR_EXISTS)
			err = e;
	}
	return err;
}

/* ---- STATUS ---- */

enum store_error store_folder_status(struct store_user *u, const char *name,
                                     struct store_folder_status *out)
{
	memset(out, 0, sizeof(*out));
	int64_t folder;
	enum store_error err = sync_folder(u, name, false, &folder);
	if (err != STORE_OK)
		return err;
	sqlite3_stmt *st = index_stmt(u, INDEX_IMAP_FOLDER);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, folder);
	int rc = sqlite3_step(st);
	int64_t recent_uid = 0;
	if (rc == SQLITE_ROW) {
		out->uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
		out->uidnext = (uint32_t)sqlite3_column_int64(st, 1);
		out->highestmodseq = (uint64_t)sqlite3_column_int64(st, 2);
		recent_uid = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return index_fail(u, rc, "imap_folder");
	st = index_stmt(u, INDEX_IMAP_STATUS);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, folder);
	sqlite3_bind_int64(st, 2, recent_uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->messages = (uint32_t)sqlite3_column_int64(st, 0);
		out->unseen = (uint32_t)sqlite3_column_double(st, 1);
		out->deleted = (uint32_t)sqlite3_column_double(st, 2);
		out->size = (uint64_t)sqlite3_column_double(st, 3);
		out->recent = (uint32_t)sqlite3_column_double(st, 4);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : index_fail(u, rc, "imap_status");
}
