/*
 * store_private.h - what the files of src/store/ share and nobody else sees.
 */
#ifndef YUBIN_STORE_STORE_PRIVATE_H
#define YUBIN_STORE_STORE_PRIVATE_H

#include <stdbool.h>

#include "store/store.h"

struct index;

struct store_user {
	char *name;    /* validated, normalised */
	char *maildir; /* root, no trailing '/' */
	char *data_dir;
	char *hostname; /* NULL: ask the system */
	bool fsync;
	struct index *index; /* NULL until first needed (index.c) */
};

/* "ENOSPC" etc. for logs (never NULL). */
const char *store_errname(int err);

/* The host part of new file names: settings->hostname or gethostname(). */
void store_hostname(const char *configured, char *out, size_t size);

#endif
