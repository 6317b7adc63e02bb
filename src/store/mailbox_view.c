/*
 * mailbox_view.c - a saved copy of a big folder's view, so that SELECT
 * does not read every row of the index.
 *
 * Building the view of a 100,000-message folder from SQLite reads 100,000
 * rows (about 25 ms). The file "yubin-view" in the folder's directory
 * keeps the view as it was at one modseq: UID, flags, keywords, modseq,
 * size and date of every message and its index row. Opening the folder
 * maps that file and then asks the index only for what changed after that
 * modseq, with the queries a NOOP uses (expunged UIDs, changed flags, new
 * UIDs): see store_mailbox_open().
 *
 * The file is a cache, never the truth. It is used only when it belongs
 * to this very index (a random id kept in the index's meta table: a
 * rebuilt index never meets an old file), to this folder row and
 * UIDVALIDITY, when its modseq and UIDNEXT are not ahead of the folder's,
 * and when its size and records are well-formed (UIDs ascending below
 * UIDNEXT, known flag bits, no \Recent). Anything else and it is ignored
 * and written again. The mapping is private: pages stay shared with the
 * page cache (and other sessions of the folder) until the view changes
 * one of them.
 *
 * The file: a header, the messages (struct store_msg as this build lays
 * it out, which the header records), then their index row ids; both
 * arrays have room for 1/16 more messages than there are (a hole in the
 * file), so new mail since the copy was written fits in the mapping.
 * Writing: tmp/yubin-view.<pid>.<n>, fsync (with mail.fsync), rename over
 * the old one, so a crash leaves the old file or the new one; a temporary
 * file left by a crash goes with the rest of tmp/ (sync.c). Records are
 * written field by field into zeroed memory, so no stray heap bytes
 * (struct padding) reach the disk.
 */
#include "store/mailbox_private.h"

#include "store/index.h"

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIEW_FILE "yubin-view"
#define VIEW_MAGIC "yubinvw1"
#define VIEW_META_KEY "view_instance"
/* No folder is that big; a header claiming more is garbage. */
#define VIEW_MAX_MSGS (1u << 26)

size_t mailbox_view_min_msgs = MAILBOX_VIEW_MIN_MSGS;

struct view_header {
	char magic[8];
	uint32_t msg_size; /* sizeof(struct store_msg) of the writer */
	uint32_t reserved;
	int64_t instance;  /* the index's view_instance */
	int64_t folder;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t modseq;
	uint64_t count;
	uint64_t cap;      /* room for this many (a hole after count) */
};

_Static_assert(sizeof(struct view_header) == 64, "view header is 64 bytes");
_Static_assert(sizeof(struct store_msg) % 8 == 0, "ids stay aligned after the messages");

/* Room for new messages in the file (a hole: no disk space), so that a
 * view mapped after some deliveries need not move to the heap at once. */
static size_t view_cap(size_t n)
{
	return n + (n / 16 > 1024 ? n / 16 : 1024);
}

static size_t view_file_size(uint64_t cap)
{
	return sizeof(struct view_header) + (size_t)cap * (sizeof(struct store_msg) + sizeof(int64_t));
}

static off_t view_ids_offset(uint64_t cap)
{
	return (off_t)(sizeof(struct view_header) + (size_t)cap * sizeof(struct store_msg));
}

/* The index's id for view files (random, made with the first view
 * saved: a write transaction of its own); false if there is none. */
static bool view_instance_read(struct store_user *u, int64_t *id_r)
{
	bool found;
	return index_meta_get(u, VIEW_META_KEY, id_r, &found) == STORE_OK && found;
}

static bool view_instance(struct store_user *u, bool create, int64_t *id_r)
{
	if (view_instance_read(u, id_r))
		return true;
	if (!create)
		return false;
	static const char key[] = VIEW_META_KEY;
	if (index_begin(u) != STORE_OK)
		return false;
	sqlite3_stmt *st = index_stmt(u, INDEX_META_INIT_RANDOM);
	bool ok = st != NULL;
	if (ok) {
		index_bind_text(st, 1, key, strlen(key));
		ok = index_step_done(u, st, "meta_init") == STORE_OK;
	}
	if (!ok || index_commit(u) != STORE_OK) {
		index_rollback(u);
		return false;
	}
	return view_instance_read(u, id_r);
}

/* Every record sane: UIDs ascending and below UIDNEXT, known flags, no
 * \Recent (looked at as a byte: a bool holding 2 must not be loaded). */
static bool view_records_ok(const struct store_msg *msgs, const int64_t *ids, size_t n,
                            uint32_t uidnext)
{
	uint32_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char recent;
		memcpy(&recent, &msgs[i].recent, 1);
		if (msgs[i].uid <= prev || msgs[i].uid >= uidnext || recent != 0 ||
		    (msgs[i].flags & ~0x1fu) != 0 || ids[i] <= 0)
			return false;
		prev = msgs[i].uid;
	}
	return true;
}

bool mailbox_view_load(struct store_mailbox *mb, const struct mailbox_folder_row *r)
{
	int64_t instance;
	if (!view_instance(mb->u, false, &instance))
		return false;
	char *path = xasprintf("%s/" VIEW_FILE, mb->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	xfree(path);
	if (fd < 0)
		return false;
	struct view_header h;
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	          pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	          memcmp(h.magic, VIEW_MAGIC, sizeof(h.magic)) == 0 &&
	          h.msg_size == sizeof(struct store_msg) && h.instance == instance &&
	          h.folder == mb->folder && h.uidvalidity == r->uidvalidity &&
	          h.modseq <= r->modseq && h.uidnext <= r->uidnext && h.count > 0 &&
	          h.count <= h.cap && h.cap <= VIEW_MAX_MSGS &&
	          (uint64_t)st.st_size == view_file_size(h.cap);
	void *map = MAP_FAILED;
	/* Not MAP_POPULATE: that would copy every page of a private
	 * writable mapping. Reads map the page cache's pages (many per
	 * fault); a write copies only its page. */
	if (ok)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return false;
	size_t n = (size_t)h.count;
	struct store_msg *msgs = (struct store_msg *)((char *)map + sizeof(h));
	int64_t *ids = (int64_t *)(msgs + h.cap);
	if (!view_records_ok(msgs, ids, n, h.uidnext)) {
		munmap(map, (size_t)st.st_size);
		return false;
	}
	mb->map = map;
	mb->map_len = (size_t)st.st_size;
	mb->msgs = msgs;
	mb->ids = ids;
	mb->n = n;
	mb->cap = (size_t)h.cap;
	mb->modseq = h.modseq;
	mb->uidnext = h.uidnext;
	return true;
}

void mailbox_view_unmap(struct store_mailbox *mb)
{
	if (mb->map == NULL)
		return;
	munmap(mb->map, mb->map_len);
	mb->map = NULL;
	mb->map_len = 0;
	mb->msgs = NULL;
	mb->ids = NULL;
	mb->n = mb->cap = 0;
}

void mailbox_view_to_heap(struct store_mailbox *mb, size_t cap)
{
	if (mb->map == NULL)
		return;
	struct store_msg *msgs = xmalloc(cap * sizeof(*msgs));
	int64_t *ids = xmalloc(cap * sizeof(*ids));
	size_t n = mb->n;
	memcpy(msgs, mb->msgs, n * sizeof(*msgs));
	memcpy(ids, mb->ids, n * sizeof(*ids));
	mailbox_view_unmap(mb);
	mb->msgs = msgs;
	mb->ids = ids;
	mb->n = n;
	mb->cap = cap;
}

static bool view_write(int fd, const struct store_mailbox *mb, const struct view_header *h)
{
	if (!fd_write_all(fd, h, sizeof(*h)))
		return false;
	enum { CHUNK = 1024 };
	struct store_msg *rec = xmalloc(CHUNK * sizeof(*rec));
	bool ok = true;
	for (size_t i = 0; ok && i < mb->n; i += CHUNK) {
		size_t k = mb->n - i < CHUNK ? mb->n - i : CHUNK;
		memset(rec, 0, k * sizeof(*rec));
		for (size_t j = 0; j < k; j++) {
			const struct store_msg *m = &mb->msgs[i + j];
			rec[j].uid = m->uid;
			rec[j].flags = m->flags;
			rec[j].keywords = m->keywords;
			rec[j].modseq = m->modseq;
			rec[j].size = m->size;
			rec[j].internal_date = m->internal_date;
		}
		ok = fd_write_all(fd, rec, k * sizeof(*rec));
	}
	xfree(rec);
	return ok && lseek(fd, view_ids_offset(h->cap), SEEK_SET) >= 0 &&
	       fd_write_all(fd, mb->ids, mb->n * sizeof(*mb->ids)) &&
	       ftruncate(fd, (off_t)view_file_size(h->cap)) == 0;
}

void mailbox_view_save(struct store_mailbox *mb)
{
	struct view_header h;
	memset(&h, 0, sizeof(h));
	if (mb->n == 0 || !view_instance(mb->u, true, &h.instance))
		return;
	memcpy(h.magic, VIEW_MAGIC, sizeof(h.magic));
	h.msg_size = sizeof(struct store_msg);
	h.folder = mb->folder;
	h.uidvalidity = mb->uidvalidity;
	h.uidnext = mb->uidnext;
	h.modseq = mb->modseq;
	h.count = mb->n;
	h.cap = view_cap(mb->n);
	static _Atomic unsigned counter;
	char *tmp = xasprintf("%s/tmp/" VIEW_FILE ".%ld.%u", mb->path, (long)getpid(), counter++);
	char *path = xasprintf("%s/" VIEW_FILE, mb->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0 && view_write(fd, mb, &h) && (!mb->u->fsync || fsync(fd) == 0);
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp, path) < 0) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		log_warn("store: op=view_save user=%s path=%s error=%s", mb->u->name, path,
		         store_errname(err));
		if (fd >= 0)
			unlink(tmp);
	}
	xfree(tmp);
	xfree(path);
}
