/*
 * maildir.h - where a user's mail lives: the Maildir root, folder
 * directories (Maildir++), creating them and syncing them to disk.
 *
 * Folder names come from configuration and clients, so they are checked
 * here before they become paths: see maildir_folder_dir().
 */
#ifndef YUBIN_STORE_MAILDIR_H
#define YUBIN_STORE_MAILDIR_H

#include <stdbool.h>

#include "store/store.h"

/* Longest folder name accepted (the directory name is one byte longer). */
#define MAILDIR_FOLDER_MAX 250

/* True for NULL and any case variant of "INBOX". */
bool maildir_folder_is_inbox(const char *name);

/*
 * The folder's directory name inside the Maildir root: "" for INBOX,
 * ".Junk" for "Junk", ".Archive.2025" for "Archive/2025" (Maildir++:
 * hierarchy separator '/' becomes '.'). Heap string; NULL if the name is
 * not acceptable: empty, longer than MAILDIR_FOLDER_MAX, a control byte
 * (< 0x20 or 0x7f), an empty component ("a//b", "/a", "a/"), a component
 * starting with '.', or ".." anywhere in the result.
 */
char *maildir_folder_dirname(const char *name);

/* root + "/" + dirname, or root itself for INBOX. NULL if invalid. */
char *maildir_folder_dir(const char *root, const char *name);

/* Create path and any missing parents (mode 0700); 0 or -1 with errno. */
int maildir_mkdir_p(const char *path);

/* Make sure path/cur, path/new and path/tmp exist (creating path too);
 * 0 or -1 with errno. */
int maildir_create(const char *path);

/* True if path/cur and path/new are directories. */
bool maildir_exists(const char *path);

/* fsync() a directory so that entries created or removed in it are
 * durable; 0 or -1 with errno. */
int maildir_fsync_dir(const char *path);

#endif
