/*
 * sync_add.c - index the files a sync found new: their sizes, UIDs and
 * UIDLs (see sync.h, uidl.h and uidlist.h for the rules).
 *
 * Sizes come from the S=/W= fields of the name when present (no file is
 * opened: what makes indexing 100,000 messages take under a second);
 * otherwise the file is read once and its CRLF cleanliness is kept too.
 */
#include "store/sync.h"
#include "store/sync_private.h"

#include "store/crlf.h"
#include "store/index.h"
#include "store/uidl.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sync_sort_arrival(const void *x, const void *y)
{
	const struct sync_entry *a = x, *b = y;
	return maildir_name_cmp(a->name, a->base_len, b->name, b->base_len);
}

/* Dovecot-numbered files first, by their UID; then the rest by arrival. */
static int sync_sort_added(const void *x, const void *y)
{
	const struct sync_entry *a = x, *b = y;
	if ((a->dovecot != NULL) != (b->dovecot != NULL))
		return a->dovecot != NULL ? -1 : 1;
	if (a->dovecot != NULL)
		return a->dovecot->uid < b->dovecot->uid ? -1 : a->dovecot->uid > b->dovecot->uid;
	return sync_sort_arrival(x, y);
}

struct sync_new_msg {
	uint64_t size, vsize;
	int clean;   /* 1, 0 or -1 unknown */
	int eol_pad; /* crlf_count_eol_pad() of the file, -1 unknown */
	int64_t date;
	char uidl[STORE_UIDL_MAX + 1];
};

/* Read what the name does not tell: everything (no W=), or just the last
 * byte, which decides how many bytes POP3 adds to end the last line. */
static int sync_read_file(int fd, const struct maildir_name_info *info, off_t file_size,
                          struct sync_new_msg *m)
{
	struct crlf_count cc;
	crlf_count_init(&cc);
	if (!info->has_vsize) {
		if (crlf_count_fd(fd, &cc) < 0)
			return -1;
		m->size = cc.size;
		m->vsize = cc.crlf_size;
		m->clean = crlf_count_clean(&cc) ? 1 : 0;
	} else if (file_size > 0) {
		char last;
		ssize_t n = pread(fd, &last, 1, file_size - 1);
		if (n < 0)
			return -1;
		crlf_count_feed(&cc, &last, (size_t)n);
	}
	m->eol_pad = (int)crlf_count_eol_pad(&cc);
	return 0;
}

/* The delivery time at the start of a Maildir name ("<sec>.M..."), 0 if
 * the name does not start with one. */
static int64_t sync_name_time(const char *name)
{
	int64_t t = 0;
	size_t i = 0;
	for (; name[i] >= '0' && name[i] <= '9' && i < 12; i++)
		t = t * 10 + (name[i] - '0');
	return i > 0 && name[i] == '.' ? t : 0;
}

/* Sizes from the name, else from the file; false if the file is gone. */
static bool sync_sizes(struct sync_ctx *c, const struct sync_entry *e,
                       const struct maildir_name_info *info, bool read_tail, struct sync_new_msg *m)
{
	int dfd = c->sub_fd[e->in_cur ? SYNC_CUR : SYNC_NEW];
	if (info->has_size && info->has_vsize && info->size > 0 && !read_tail &&
	    sync_name_time(e->name) > 0) {
		/* Everything is in the name (readdir already said it is a
		 * regular file): no stat, which is most of the cost of
		 * indexing a large Maildir. The time of delivery in the name
		 * stands for the file's mtime. */
		m->date = sync_name_time(e->name);
		m->size = info->size;
		m->vsize = info->vsize;
		m->clean = -1;
		m->eol_pad = -1;
		return true;
	}
	struct stat st;
	if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	m->date = st.st_mtim.tv_sec;
	m->size = info->has_size ? info->size : (uint64_t)st.st_size;
	m->vsize = info->vsize;
	m->clean = -1;
	m->eol_pad = st.st_size == 0 ? 0 : -1;
	if (info->has_vsize && (st.st_size == 0 || !read_tail))
		return true; /* nothing to read, or left for later (sync.h) */
	int fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || sync_read_file(fd, info, st.st_size, m) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		if (err == ENOENT)
			return false;
		/* Unreadable: list it with what we know, RETR will fail. */
		sync_errno(c, "read_size", err);
		if (!info->has_vsize)
			m->vsize = m->size;
		return true;
	}
	close(fd);
	return true;
}

static bool sync_uidl_used(struct sync_ctx *c, const char *uidl)
{
	sqlite3_stmt *st = index_stmt(c->u, INDEX_MSG_UIDL_USED);
	if (st == NULL)
		return false;
	index_bind_text(st, 1, uidl, strlen(uidl));
	bool used = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return used;
}

/* uidl.h: Dovecot's UIDL for a message it listed, else from the name. */
static void sync_uidl(struct sync_ctx *c, const struct sync_entry *e, char *out)
{
	const struct uidlist_entry *d = e->dovecot;
	if (d == NULL || (d->has_pop3_uidl && d->pop3_uidl_len == 0)) {
		uidl_from_base(e->name, e->base_len, out);
	} else if (d->has_pop3_uidl && uidl_valid(d->pop3_uidl, d->pop3_uidl_len)) {
		memcpy(out, d->pop3_uidl, d->pop3_uidl_len);
		out[d->pop3_uidl_len] = '\0';
	} else {
		/* No P, or one we cannot send (over 70 bytes, bad bytes). */
		uidl_dovecot(d->uid, c->ul->uidvalidity, out);
	}
	if (sync_uidl_used(c, out)) {
		/* RFC 1939 7: unique in the maildrop. The same base name in two
		 * folders (a copied file) must not give two equal UIDLs. */
		char *key = xasprintf("%s/%.*s", c->dirname, (int)e->base_len, e->name);
		uidl_hash(key, strlen(key), out);
		xfree(key);
	}
}

static enum store_error sync_insert(struct sync_ctx *c, const struct sync_entry *e, uint32_t uid,
                                    bool read_tail)
{
	struct maildir_name_info info;
	size_t len = strlen(e->name);
	maildir_name_parse(e->name, len, &info);
	struct sync_new_msg m;
	if (!sync_sizes(c, e, &info, read_tail, &m))
		return STORE_OK; /* vanished since readdir: the next sync sees it gone */
	sync_uidl(c, e, m.uidl);
	const char *flags;
	size_t flags_len;
	sync_flags(&info, &flags, &flags_len);
	sqlite3_stmt *st = index_stmt(c->u, INDEX_MSG_INSERT);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, c->f.id);
	sqlite3_bind_int64(st, 2, uid);
	index_bind_text(st, 3, e->name, e->base_len);
	sqlite3_bind_int(st, 4, e->in_cur);
	index_bind_text(st, 5, e->name + e->base_len, len - e->base_len);
	index_bind_text(st, 6, flags, flags_len);
	sqlite3_bind_int64(st, 7, (int64_t)m.size);
	sqlite3_bind_int64(st, 8, (int64_t)m.vsize);
	if (m.clean >= 0)
		sqlite3_bind_int(st, 9, m.clean);
	sqlite3_bind_int64(st, 10, m.date);
	index_bind_text(st, 11, m.uidl, strlen(m.uidl));
	sqlite3_bind_int64(st, 12, c->f.modseq + 1);
	if (m.eol_pad >= 0)
		sqlite3_bind_int(st, 13, m.eol_pad);
	/* hidden.h: hidden before the index was rebuilt stays hidden */
	sqlite3_bind_int(st, 14, hidden_contains(c->hidden, e->name, e->base_len) ? 1 : 0);
	c->changed = true;
	return index_step_done(c->u, st, "msg_insert");
}

/*
 * New files: those Dovecot numbered keep their UID when it is still free
 * (same UIDVALIDITY, not below our uidnext), in Dovecot's order; the rest
 * follow in arrival order, above Dovecot's next UID.
 */
enum store_error sync_add_new(struct sync_ctx *c)
{
	if (c->added.n == 0)
		return STORE_OK;
	if (!c->ul_read)
		c->ul = uidlist_read(c->path);
	c->hidden = hidden_read(c->path);
	bool dovecot_uids = c->ul != NULL && c->ul->uidvalidity == c->f.uidvalidity;
	for (size_t i = 0; c->ul != NULL && i < c->added.n; i++) {
		struct sync_entry *e = &c->added.v[i];
		e->dovecot = uidlist_lookup(c->ul, e->name, e->base_len);
	}
	sync_list_sort(&c->added, sync_sort_added);
	enum store_error err = STORE_OK;
	bool past_dovecot = false;
	for (size_t i = 0; err == STORE_OK && i < c->added.n; i++) {
		const struct sync_entry *e = &c->added.v[i];
		if (!past_dovecot && e->dovecot == NULL) {
			past_dovecot = true;
			if (dovecot_uids && c->ul->nextuid > c->f.uidnext)
				c->f.uidnext = c->ul->nextuid;
		}
		uint32_t uid = c->f.uidnext;
		if (e->dovecot != NULL && dovecot_uids && e->dovecot->uid >= uid)
			uid = e->dovecot->uid;
		if (uid == UINT32_MAX) {
			log_error("store: op=sync user=%s error=uids_exhausted", c->u->name);
			return STORE_ERR_PERM;
		}
		c->f.uidnext = uid + 1;
		/* The newest files (last in this order) get their tails read. */
		err = sync_insert(c, e, uid, c->added.n - i <= SYNC_TAIL_READS);
	}
	return err;
}
