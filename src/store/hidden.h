/*
 * hidden.h - the POP3-hidden marks of a folder, kept beside its messages.
 *
 * With pop3.delete = hide, a message DELEted over POP3 stays on disk (IMAP
 * still sees it) but must never show up in POP3 again. The index records
 * that, but the index is a rebuildable cache; so the base names of hidden
 * messages are also appended to <folder>/yubin-pop3-hidden, one per line,
 * and a sync that (re)discovers a file listed there indexes it as hidden.
 * The file only grows; stale lines (messages removed since) are harmless.
 */
#ifndef YUBIN_STORE_HIDDEN_H
#define YUBIN_STORE_HIDDEN_H

#include <stdbool.h>
#include <stddef.h>

#define HIDDEN_FILE_NAME "yubin-pop3-hidden"

/* Files larger than this are not read (about a million names). */
#define HIDDEN_MAX_SIZE (128u * 1024 * 1024)

struct hidden_set;

/* Append the n base names (bases[i], lens[i]) to folder_dir's file in one
 * write, then fsync it if asked; 0 or -1 with errno. Names containing a
 * line feed are skipped (they cannot be written as one line). */
int hidden_append(const char *folder_dir, const char *const *bases, const size_t *lens, size_t n,
                  bool do_fsync);

/* The names in folder_dir's file; NULL if there is none (or unreadable,
 * logged). */
struct hidden_set *hidden_read(const char *folder_dir);

bool hidden_contains(const struct hidden_set *h, const char *base, size_t len);

void hidden_free(struct hidden_set **h);

#endif
