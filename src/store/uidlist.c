/*
 * uidlist.c - Dovecot dovecot-uidlist reader; see uidlist.h for the format.
 *
 * Lines are cut at LF (a CR before it is dropped). The header decides the
 * version; each later line is either a well-formed entry with a UID above
 * the previous one, or counted in bad_lines and ignored, the way Dovecot
 * itself refuses out-of-order UIDs.
 */
#include "store/uidlist.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/strnum.h"
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct uidlist_line {
	const char *p;
	size_t len;
};

/* Next line from *pos; false at the end. */
static bool uidlist_next_line(const char **pos, const char *end, struct uidlist_line *l)
{
	if (*pos >= end)
		return false;
	const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
	const char *stop = nl != NULL ? nl : end;
	l->p = *pos;
	l->len = (size_t)(stop - *pos);
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	*pos = nl != NULL ? nl + 1 : end;
	return true;
}

/* Next space-separated token of l (consumed); false when none is left. */
static bool uidlist_token(struct uidlist_line *l, struct uidlist_line *tok)
{
	while (l->len > 0 && l->p[0] == ' ') {
		l->p++;
		l->len--;
	}
	if (l->len == 0)
		return false;
	const char *sp = memchr(l->p, ' ', l->len);
	tok->p = l->p;
	tok->len = sp != NULL ? (size_t)(sp - l->p) : l->len;
	l->p += tok->len;
	l->len -= tok->len;
	return true;
}

static bool uidlist_header_v3(struct uidlist *ul, struct uidlist_line *l)
{
	struct uidlist_line tok;
	while (uidlist_token(l, &tok)) {
		/* Unknown fields (G guid, future ones) are skipped. */
		if (tok.p[0] == 'V' &&
		    !strnum_u32(tok.p + 1, tok.len - 1, UINT32_MAX, &ul->uidvalidity))
			return false;
		if (tok.p[0] == 'N' &&
		    !strnum_u32(tok.p + 1, tok.len - 1, UINT32_MAX, &ul->nextuid))
			return false;
	}
	return true;
}

static bool uidlist_header(struct uidlist *ul, struct uidlist_line l)
{
	struct uidlist_line tok, v, n;
	if (!uidlist_token(&l, &tok) || tok.len != 1)
		return false;
	if (tok.p[0] == '3') {
		ul->version = 3;
		if (!uidlist_header_v3(ul, &l))
			return false;
	} else if (tok.p[0] == '1') {
		ul->version = 1;
		if (!uidlist_token(&l, &v) || !uidlist_token(&l, &n) ||
		    !strnum_u32(v.p, v.len, UINT32_MAX, &ul->uidvalidity) ||
		    !strnum_u32(n.p, n.len, UINT32_MAX, &ul->nextuid))
			return false;
	} else {
		return false;
	}
	return ul->uidvalidity != 0;
}

static bool uidlist_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* "[<X><value> ...] :<file name>" after the UID of a version 3 line. */
static bool uidlist_entry_v3(struct uidlist_line l, struct uidlist_entry *e)
{
	for (;;) {
		while (l.len > 0 && l.p[0] == ' ') {
			l.p++;
			l.len--;
		}
		if (l.len == 0)
			return false;
		if (l.p[0] == ':') {
			e->base = l.p + 1; /* the rest of the line, spaces included */
			e->base_len = l.len - 1;
			return true;
		}
		struct uidlist_line tok;
		uidlist_token(&l, &tok);
		if (!uidlist_letter(tok.p[0]))
			return false;
		if (tok.p[0] == 'P') {
			e->has_pop3_uidl = true;
			e->pop3_uidl = tok.p + 1;
			e->pop3_uidl_len = tok.len - 1;
		}
	}
}

static bool uidlist_entry(unsigned version, struct uidlist_line l, struct uidlist_entry *e)
{
	memset(e, 0, sizeof(*e));
	const char *sp = memchr(l.p, ' ', l.len);
	if (sp == NULL || !strnum_u32(l.p, (size_t)(sp - l.p), UINT32_MAX, &e->uid) || e->uid == 0)
		return false;
	size_t skip = (size_t)(sp - l.p) + 1;
	struct uidlist_line rest = {l.p + skip, l.len - skip};
	if (version == 3) {
		if (!uidlist_entry_v3(rest, e))
			return false;
	} else {
		e->base = rest.p;
		e->base_len = rest.len;
	}
	/* The name may carry ":2,<flags>" (v1, or a stray writer). */
	const char *colon = memchr(e->base, ':', e->base_len);
	if (colon != NULL)
		e->base_len = (size_t)(colon - e->base);
	return e->base_len > 0 && memchr(e->base, '/', e->base_len) == NULL;
}

static uint64_t uidlist_hash_of(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Slot of base in the table: its entry's slot or the empty one where it
 * would go. */
static size_t uidlist_slot(const struct uidlist *ul, const char *base, size_t len)
{
	size_t mask = ul->hash_size - 1;
	size_t i = (size_t)uidlist_hash_of(base, len) & mask;
	while (ul->hash[i] != 0) {
		const struct uidlist_entry *e = &ul->entries[ul->hash[i] - 1];
		if (e->base_len == len && memcmp(e->base, base, len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/* Index the entries by base name; a repeated name keeps its first UID. */
static void uidlist_build_hash(struct uidlist *ul)
{
	ul->hash_size = 16;
	while (ul->hash_size < ul->count * 2)
		ul->hash_size *= 2;
	ul->hash = xcalloc(ul->hash_size, sizeof(*ul->hash));
	for (size_t i = 0; i < ul->count; i++) {
		const struct uidlist_entry *e = &ul->entries[i];
		size_t slot = uidlist_slot(ul, e->base, e->base_len);
		if (ul->hash[slot] == 0)
			ul->hash[slot] = (uint32_t)(i + 1);
		else
			ul->bad_lines++;
	}
}

static void uidlist_add(struct uidlist *ul, size_t *cap, const struct uidlist_entry *e)
{
	if (ul->count == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		ul->entries = xrealloc(ul->entries, *cap * sizeof(*ul->entries));
	}
	ul->entries[ul->count++] = *e;
}

struct uidlist *uidlist_parse(const char *data, size_t len)
{
	if (len > UIDLIST_MAX_SIZE)
		return NULL;
	struct uidlist *ul = xmalloc(sizeof(*ul));
	ul->data = xmalloc(len + 1);
	memcpy(ul->data, data, len);
	const char *pos = ul->data, *end = ul->data + len;
	struct uidlist_line line;
	if (!uidlist_next_line(&pos, end, &line) || !uidlist_header(ul, line)) {
		uidlist_free(&ul);
		return NULL;
	}
	size_t cap = 0;
	uint32_t last = 0;
	while (uidlist_next_line(&pos, end, &line)) {
		struct uidlist_entry e;
		if (line.len == 0)
			continue;
		if (!uidlist_entry(ul->version, line, &e) || e.uid <= last) {
			ul->bad_lines++;
			continue;
		}
		last = e.uid;
		uidlist_add(ul, &cap, &e);
	}
	if (last != UINT32_MAX && ul->nextuid <= last)
		ul->nextuid = last + 1;
	if (ul->nextuid == 0)
		ul->nextuid = 1;
	uidlist_build_hash(ul);
	return ul;
}

const struct uidlist_entry *uidlist_lookup(const struct uidlist *ul, const char *base, size_t len)
{
	size_t slot = uidlist_slot(ul, base, len);
	return ul->hash[slot] != 0 ? &ul->entries[ul->hash[slot] - 1] : NULL;
}

/* Read a whole (bounded) file; NULL with errno on failure. */
static char *uidlist_slurp(int fd, size_t *len_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > UIDLIST_MAX_SIZE) {
		errno = EFBIG;
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *data = xmalloc(cap);
	for (;;) {
		if (len == cap - 1) {
			/* The file grew since fstat(). */
			if (cap - 1 >= UIDLIST_MAX_SIZE) {
				xfree(data);
				errno = EFBIG;
				return NULL;
			}
			cap = cap * 2 < UIDLIST_MAX_SIZE + 1 ? cap * 2 : UIDLIST_MAX_SIZE + 1;
			data = xrealloc(data, cap);
		}
		ssize_t n = read(fd, data + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			xfree(data);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_r = len;
	return data;
}

struct uidlist *uidlist_read(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, UIDLIST_FILE_NAME);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	xfree(path);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("store: op=uidlist_read error=%s", store_errname(errno));
		return NULL;
	}
	size_t len = 0;
	char *data = uidlist_slurp(fd, &len);
	int e = errno;
	close(fd);
	if (data == NULL) {
		log_warn("store: op=uidlist_read error=%s", store_errname(e));
		return NULL;
	}
	struct uidlist *ul = uidlist_parse(data, len);
	xfree(data);
	if (ul == NULL)
		log_warn("store: op=uidlist_read error=bad_header");
	else if (ul->bad_lines > 0)
		log_warn("store: op=uidlist_read bad_lines=%zu", ul->bad_lines);
	return ul;
}

void uidlist_free(struct uidlist **ul)
{
	if (*ul == NULL)
		return;
	xfree((*ul)->data);
	xfree((*ul)->entries);
	xfree((*ul)->hash);
	xfree(*ul);
}
