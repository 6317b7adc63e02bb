/*
 * uidlist.h - read Dovecot's dovecot-uidlist file (Maildir UID mapping).
 *
 * Users migrating from Dovecot bring Maildirs whose POP3 clients know the
 * UIDLs Dovecot showed; the file lets us show the same ones. Formats
 * (verified against Dovecot 2.3.19 in tests/unit/test_uidlist.c):
 *
 *   version 3:  "3 V<uidvalidity> N<nextuid> G<guid> ..."   (any order)
 *               "<uid> [<X><value> ...] :<base file name>"
 *   version 1:  "1 <uidvalidity> <nextuid>"  /  "<uid> <file name>"
 *
 * Extension fields are one letter and a value (possibly empty) without
 * spaces: W vsize, S size, P POP3 UIDL, O POP3 order, G GUID, ... An empty
 * P means "the base file name" (Dovecot writes that when the UIDL equals
 * the name). Dovecot only appends lines, so the header's N may be stale:
 * the next UID is max(N, last UID + 1).
 *
 * The file can be written by anything, so parsing is strict about numbers
 * (lib/strnum.h), skips lines it does not understand, and never fails on
 * garbage: it just finds fewer entries.
 */
#ifndef YUBIN_STORE_UIDLIST_H
#define YUBIN_STORE_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UIDLIST_FILE_NAME "dovecot-uidlist"
/* Files larger than this are not read (about 4 million messages). */
#define UIDLIST_MAX_SIZE (512u * 1024 * 1024)

struct uidlist_entry {
	uint32_t uid;
	const char *base; /* up to the first ':' of the file name; not NUL-terminated */
	size_t base_len;
	bool has_pop3_uidl; /* a 'P' field was present (value may be empty) */
	const char *pop3_uidl;
	size_t pop3_uidl_len;
};

struct uidlist {
	unsigned version;              /* 1 or 3 */
	uint32_t uidvalidity;          /* never 0 */
	uint32_t nextuid;              /* max(header N, last UID + 1) */
	struct uidlist_entry *entries; /* ascending UIDs */
	size_t count;
	size_t bad_lines; /* lines skipped as garbage */
	/* private */
	char *data;
	uint32_t *hash; /* 1-based entry indexes, open addressing */
	size_t hash_size;
};

/* Parse (data, len); NULL if the header is not a known version with a
 * non-zero UIDVALIDITY. The result owns a copy of the data. */
struct uidlist *uidlist_parse(const char *data, size_t len);

/* Read and parse dir/dovecot-uidlist; NULL if absent or unusable (logged
 * unless absent). */
struct uidlist *uidlist_read(const char *dir);

/* The entry for a base name, or NULL. */
const struct uidlist_entry *uidlist_lookup(const struct uidlist *ul, const char *base, size_t len);

void uidlist_free(struct uidlist **ul);

#endif
