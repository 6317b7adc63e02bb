/*
 * sync_private.h - what sync.c (scan and compare) and sync_add.c (new
 * messages: sizes, UIDs, UIDLs) share. See sync.h for the algorithm.
 */
#ifndef YUBIN_STORE_SYNC_PRIVATE_H
#define YUBIN_STORE_SYNC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/hidden.h"
#include "store/maildir_name.h"
#include "store/store_private.h"
#include "store/uidlist.h"

enum { SYNC_NEW, SYNC_CUR };

struct sync_entry {
	char *name; /* file name; for index rows base || suffix */
	size_t base_len;
	bool in_cur;
	int64_t id;                          /* index rows only */
	const struct uidlist_entry *dovecot; /* new files listed in dovecot-uidlist */
};

struct sync_list {
	struct sync_entry *v;
	size_t n, cap;
};

struct sync_folder_row {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	int64_t modseq;
	int64_t mtime[2];
};

struct sync_ctx {
	struct store_user *u;
	const char *name;
	char *dirname; /* "" for INBOX, ".Junk" */
	char *path;
	int dir_fd;
	int sub_fd[2];
	int64_t mtime[2];
	bool cur_marker; /* SYNC_CUR_MARKER is there: read cur/ */
	struct sync_folder_row f;
	struct sync_list disk, idx, added;
	struct uidlist *ul;
	bool ul_read;              /* ul is what dovecot-uidlist holds (NULL: nothing usable) */
	struct hidden_set *hidden; /* yubin-pop3-hidden, read with ul */
	bool changed;
};

void sync_list_add(struct sync_list *l, const struct sync_entry *e);
void sync_list_sort(struct sync_list *l, int (*cmp)(const void *, const void *));

/* Log an errno (ENOENT/ENOTDIR: the folder is gone, not logged) and map it. */
enum store_error sync_errno(struct sync_ctx *c, const char *op, int err);

/* The flag letters of a parsed name (after ":2," up to a ','). */
void sync_flags(const struct maildir_name_info *info, const char **flags, size_t *len);

/* Give c->added (files on disk the index does not know) UIDs and UIDLs
 * and insert them; inside the sync transaction. */
enum store_error sync_add_new(struct sync_ctx *c);

#endif
