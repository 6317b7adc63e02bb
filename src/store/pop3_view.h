/*
 * pop3_view.h - what pop3_view.c (open, snapshot, reading) and
 * pop3_commit.c (removal, expiry, login delay, UPDATE) share.
 */
#ifndef YUBIN_STORE_POP3_VIEW_H
#define YUBIN_STORE_POP3_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

struct pop3_view_folder {
	int64_t id;
	int64_t uid_limit; /* uidnext at open: the snapshot's messages are below it */
	uint64_t count, size; /* POP3 aggregates at open */
	char *name;
	char *path;
	bool touched[2]; /* new/, cur/ had files removed: fsync them */
};

struct pop3_view_file;

struct pop3_view_priv {
	int lock_fd;
	/* where each message's file was at open (parallel to view->msgs), so
	 * that RETR needs no index lookup unless a file has moved */
	struct pop3_view_file *files;
	struct pop3_view_folder *folders;
	size_t nfolders;
	bool hide;
	bool loaded; /* view->msgs and files are there */
	uint32_t expire_days;
	time_t now;
};

struct pop3_view_file {
	size_t folder;
	bool in_cur;
	int clean;   /* 1, 0, -1 unknown */
	int eol_pad; /* 0..2, -1 unknown */
	char *name;
	size_t base_len;
};

static inline struct pop3_view_priv *pop3_view_priv(const struct store_pop3_view *view)
{
	return view->priv;
}

/* Where message id lives now, per the index (vf->name is a heap string
 * on success). STORE_ERR_EXPUNGED if its row is gone or its folder is not
 * part of this view. */
enum store_error pop3_view_file_get(struct store_pop3_view *view, int64_t id,
                                    struct pop3_view_file *vf);

/* At open, in one transaction: RFC 2449 LOGIN-DELAY (STORE_ERR_INUSE and
 * *delayed set when too soon), EXPIRE, and recording this login. */
enum store_error pop3_commit_prepare(struct store_pop3_view *view,
                                     const struct store_pop3_options *opt, bool *delayed);

#endif
