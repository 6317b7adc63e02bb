/*
 * store_private.h - what the files of src/store/ share and nobody else sees.
 */
#ifndef YUBIN_STORE_STORE_PRIVATE_H
#define YUBIN_STORE_STORE_PRIVATE_H

#include <stdbool.h>

#include "store/maildir_name.h"
#include "store/store.h"

#include <time.h>

struct index;

struct store_user {
	char *name;    /* validated, normalised */
	char *maildir; /* root, no trailing '/' */
	char *data_dir;
	char *hostname; /* NULL: ask the system */
	bool fsync;
	struct index *index; /* NULL until first needed (index.c) */
	bool cur_marker_mine; /* a SYNC_CUR_MARKER of ours is up (sync.h) */
	/* folder names with RFC 6154 attributes, by bit of enum
	 * store_special_use (store_folder_ensure_special()) */
	char *special[5];
};

/*
 * APPEND: write body as a new message of the folder whose directory is
 * dir_fd, durable like store_deliver(): into cur/ with ":2,<flags>" when
 * flags (Maildir letters) is not empty, else into new/; with mtime (if not
 * 0) as the file's time. name_r gets the base name.
 */
enum store_error deliver_append(struct store_user *u, const char *folder, int dir_fd,
                                const struct store_spool *body, const char *flags,
                                time_t mtime, char name_r[MAILDIR_NAME_SIZE]);

/* "ENOSPC" etc. for logs (never NULL). */
const char *store_errname(int err);

/* The host part of new file names: settings->hostname or gethostname(). */
void store_hostname(const char *configured, char *out, size_t size);

#endif
