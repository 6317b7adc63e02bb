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
 * ".Junk" for "Junk", ".Archive.2025" for "Archive/2025", ".Entw&APw-rfe"
 * for "Entwürfe" (Maildir++ as Dovecot writes it: hierarchy separator '/'
 * becomes '.', components in modified UTF-7). Heap string; NULL if the
 * name is not acceptable: empty, longer than MAILDIR_FOLDER_MAX, not UTF-8,
 * a control character, an empty component ("a//b", "/a", "a/"), a '.'
 * in a component (it would read back as a separator), or a component
 * starting with '~'.
 */
char *maildir_folder_dirname(const char *name);

/* The reverse: the UTF-8 name of a folder directory (".Archive.2025" ->
 * "Archive/2025"); NULL for a directory name that is not the canonical
 * spelling of a folder (maildir_folder_dirname() would not give it). */
char *maildir_folder_name(const char *dirname);

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
