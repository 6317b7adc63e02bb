/*
 * mailbox_flags.c - IMAP flags as Maildir file-name letters, and keywords
 * through the dovecot-keywords file.
 *
 * The Maildir info ":2,<letters>" holds the flags in ASCII order: D
 * (\Draft), F (\Flagged), P (passed: forwarded, Dovecot's and mutt's), R
 * (\Answered), S (\Seen), T (\Deleted, "trashed"), then a-z for keywords.
 * Which keyword a letter means is per folder, in "dovecot-keywords": lines
 * "<index> <name>", index 0 is 'a'. Dovecot reads and writes the same file,
 * so keywords set by either server mean the same to the other.
 */
#include "store/mailbox_private.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/strnum.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYWORDS_FILE "dovecot-keywords"
/* RFC 9051 flag-keyword is an atom; a longer one is refused. */
#define KEYWORD_NAME_MAX 128

static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
    {'D', STORE_FLAG_DRAFT}, {'F', STORE_FLAG_FLAGGED}, {'R', STORE_FLAG_ANSWERED},
    {'S', STORE_FLAG_SEEN},  {'T', STORE_FLAG_DELETED},
};
#define FLAG_LETTERS (sizeof(flag_letters) / sizeof(flag_letters[0]))

static unsigned flag_of_letter(char c)
{
	for (size_t i = 0; i < FLAG_LETTERS; i++)
		if (flag_letters[i].letter == c)
			return flag_letters[i].flag;
	return 0;
}

void mailbox_flags_parse(const char *letters, size_t len, unsigned *flags_r, uint32_t *keywords_r)
{
	*flags_r = 0;
	*keywords_r = 0;
	for (size_t i = 0; i < len; i++) {
		char c = letters[i];
		if (c >= 'a' && c <= 'z')
			*keywords_r |= 1u << (c - 'a');
		else
			*flags_r |= flag_of_letter(c);
	}
}

void mailbox_flags_format(unsigned flags, uint32_t keywords, const char *old, size_t old_len,
                          char out[MAILBOX_LETTERS_MAX])
{
	bool set[128] = {false};
	for (size_t i = 0; i < old_len; i++) {
		unsigned char c = (unsigned char)old[i];
		if (c >= 'A' && c <= 'Z' && flag_of_letter((char)c) == 0)
			set[c] = true; /* P and letters we do not know: keep */
	}
	for (size_t i = 0; i < FLAG_LETTERS; i++)
		if (flags & flag_letters[i].flag)
			set[(unsigned char)flag_letters[i].letter] = true;
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (keywords & (1u << i))
			set['a' + i] = true;
	size_t n = 0;
	for (int c = 'A'; c <= 'z' && n < MAILBOX_LETTERS_MAX - 1; c++)
		if (set[c])
			out[n++] = (char)c;
	out[n] = '\0';
}

void mailbox_keywords_free(struct mailbox_keywords *kw)
{
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++)
		xfree(kw->names[i]);
	kw->count = 0;
}

/* One "<index> <name>" line; malformed lines are skipped. */
static void keywords_parse_line(struct mailbox_keywords *kw, char *line)
{
	char *sp = strchr(line, ' ');
	if (sp == NULL)
		return;
	uint64_t idx;
	if (!strnum_u64(line, (size_t)(sp - line), STORE_KEYWORDS_MAX - 1, &idx))
		return;
	const char *name = sp + 1;
	size_t len = strlen(name);
	if (len == 0 || len > KEYWORD_NAME_MAX || kw->names[idx] != NULL)
		return;
	kw->names[idx] = xstrndup(name, len);
	if (idx + 1 > kw->count)
		kw->count = idx + 1;
}

static void keywords_stamp(const struct stat *st, uint64_t *ino, uint64_t *size, int64_t *mtime)
{
	*ino = st != NULL ? (uint64_t)st->st_ino : 0;
	*size = st != NULL ? (uint64_t)st->st_size : 0;
	*mtime = st != NULL ? (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec : 0;
}

void mailbox_keywords_read(const char *path, struct mailbox_keywords *kw)
{
	mailbox_keywords_free(kw);
	keywords_stamp(NULL, &kw->ino, &kw->size, &kw->mtime);
	char *file = xasprintf("%s/%s", path, KEYWORDS_FILE);
	FILE *f = fopen(file, "re");
	xfree(file);
	if (f == NULL)
		return;
	struct stat st;
	if (fstat(fileno(f), &st) == 0)
		keywords_stamp(&st, &kw->ino, &kw->size, &kw->mtime);
	char line[KEYWORD_NAME_MAX + 32];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		keywords_parse_line(kw, line);
	}
	fclose(f);
}

void mailbox_keywords_refresh(const char *path, struct mailbox_keywords *kw)
{
	char *file = xasprintf("%s/%s", path, KEYWORDS_FILE);
	struct stat st;
	bool there = stat(file, &st) == 0;
	xfree(file);
	uint64_t ino, size;
	int64_t mtime;
	keywords_stamp(there ? &st : NULL, &ino, &size, &mtime);
	if (ino != kw->ino || size != kw->size || mtime != kw->mtime)
		mailbox_keywords_read(path, kw);
}

/* Replace the file atomically (tmp, rename): a reader sees the old list
 * or the new one, never half of it. */
static enum store_error keywords_write(const char *path, const struct mailbox_keywords *kw)
{
	char *file = xasprintf("%s/%s", path, KEYWORDS_FILE);
	char *tmp = xasprintf("%s/.%s.%ld", path, KEYWORDS_FILE, (long)getpid());
	FILE *f = fopen(tmp, "we");
	bool ok = f != NULL;
	for (size_t i = 0; ok && i < kw->count; i++)
		if (kw->names[i] != NULL)
			ok = fprintf(f, "%zu %s\n", i, kw->names[i]) > 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, file) < 0)
		ok = false;
	int e = errno;
	if (!ok) {
		unlink(tmp);
		log_error("store: op=keywords_write path=%s error=%s", path, store_errname(e));
	}
	xfree(tmp);
	xfree(file);
	return ok ? STORE_OK : STORE_ERR_TEMP;
}

static int keywords_find(const struct mailbox_keywords *kw, const char *name)
{
	for (size_t i = 0; i < kw->count; i++)
		if (kw->names[i] != NULL && strcasecmp(kw->names[i], name) == 0)
			return (int)i;
	return -1;
}

enum store_error mailbox_keywords_bits(const char *path, struct mailbox_keywords *kw,
                                       const char *const *names, size_t n, uint32_t *bits_r)
{
	*bits_r = 0;
	bool reread = false, added = false;
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) > KEYWORD_NAME_MAX)
			return STORE_ERR_PERM;
		int k = keywords_find(kw, names[i]);
		if (k < 0 && !reread) {
			/* another process may have added it meanwhile */
			mailbox_keywords_read(path, kw);
			reread = true;
			k = keywords_find(kw, names[i]);
		}
		if (k < 0) {
			size_t free_idx = 0;
			while (free_idx < STORE_KEYWORDS_MAX && kw->names[free_idx] != NULL)
				free_idx++;
			if (free_idx == STORE_KEYWORDS_MAX)
				return STORE_ERR_QUOTA;
			kw->names[free_idx] = xstrdup(names[i]);
			if (free_idx + 1 > kw->count)
				kw->count = free_idx + 1;
			k = (int)free_idx;
			added = true;
		}
		*bits_r |= 1u << k;
	}
	return added ? keywords_write(path, kw) : STORE_OK;
}
