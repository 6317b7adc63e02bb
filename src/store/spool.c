/*
 * spool.c - hold an incoming message while it arrives; see store.h and
 * spool.h.
 *
 * The file, when needed, is created with O_TMPFILE (never visible in the
 * directory, gone when closed) or, where the filesystem lacks it, mkstemp()
 * followed at once by unlink(). Writes past max_size are counted but not
 * kept, so the caller can finish reading the DATA and then report the size.
 */
#include "store/store.h"

#include "store/maildir.h"
#include "store/spool.h"
#include "store/store_private.h"

#include "lib/fdio.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_spool *store_spool_new(const struct store_settings *s, uint64_t max_size)
{
	struct store_spool *sp = xmalloc(sizeof(*sp));
	sp->tmp_dir = xasprintf("%s/tmp", s->data_dir);
	sp->max_size = max_size;
	sp->fd = -1;
	crlf_count_init(&sp->count);
	return sp;
}

static int spool_open_file(struct store_spool *sp)
{
	if (mkdir(sp->tmp_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = open(sp->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	char *tmpl = xasprintf("%s/spool.XXXXXX", sp->tmp_dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	int e = errno;
	xfree(tmpl);
	errno = e;
	return fd;
}

/* Move the in-memory part to a file once it outgrows SPOOL_MEM_MAX. */
static int spool_to_file(struct store_spool *sp)
{
	sp->fd = spool_open_file(sp);
	if (sp->fd < 0)
		return -1;
	if (!fd_write_all(sp->fd, sp->mem, sp->mem_len))
		return -1;
	xfree(sp->mem);
	sp->mem_len = 0;
	sp->mem_cap = 0;
	return 0;
}

/* Over the limit: drop what we hold, keep only the counters. */
static void spool_drop(struct store_spool *sp)
{
	sp->over_quota = true;
	xfree(sp->mem);
	sp->mem_len = 0;
	sp->mem_cap = 0;
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
}

enum store_error store_spool_write(struct store_spool *sp, const void *data, size_t len)
{
	if (sp->failed)
		return STORE_ERR_TEMP;
	if (len == 0)
		return sp->over_quota ? STORE_ERR_QUOTA : STORE_OK;
	crlf_count_feed(&sp->count, data, len);
	if (sp->over_quota)
		return STORE_ERR_QUOTA;
	if (sp->count.size > sp->max_size) {
		spool_drop(sp);
		return STORE_ERR_QUOTA;
	}
	if (sp->fd < 0 && sp->mem_len + len <= SPOOL_MEM_MAX) {
		if (sp->mem_len + len > sp->mem_cap) {
			size_t cap = sp->mem_cap == 0 ? 4096 : sp->mem_cap;
			while (cap < sp->mem_len + len)
				cap *= 2;
			sp->mem_cap = cap < SPOOL_MEM_MAX ? cap : SPOOL_MEM_MAX;
			sp->mem = xrealloc(sp->mem, sp->mem_cap);
		}
		memcpy(sp->mem + sp->mem_len, data, len);
		sp->mem_len += len;
		return STORE_OK;
	}
	if ((sp->fd < 0 && spool_to_file(sp) < 0) || !fd_write_all(sp->fd, data, len)) {
		log_error("store: op=spool_write dir=%s error=%s", sp->tmp_dir,
		          store_errname(errno));
		sp->failed = true;
		return STORE_ERR_TEMP;
	}
	return STORE_OK;
}

uint64_t store_spool_size(const struct store_spool *sp)
{
	return sp->count.size;
}

bool store_spool_crlf(const struct store_spool *sp)
{
	return sp->count.first_eol == CRLF_EOL_CRLF;
}

bool store_spool_read(const struct store_spool *sp, struct buf *out)
{
	if (sp->failed || sp->over_quota)
		return false;
	if (sp->fd < 0)
		return buf_append(out, sp->mem, sp->mem_len);
	char chunk[65536];
	for (off_t off = 0;;) {
		ssize_t n = pread(sp->fd, chunk, sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			return true;
		buf_append(out, chunk, (size_t)n);
		off += n;
	}
}

enum store_error store_spool_replace(struct store_spool *sp, const void *data, size_t len)
{
	if (sp->fd >= 0 && (ftruncate(sp->fd, 0) < 0 || lseek(sp->fd, 0, SEEK_SET) < 0)) {
		sp->failed = true;
		return STORE_ERR_TEMP;
	}
	sp->mem_len = 0;
	sp->over_quota = false;
	crlf_count_init(&sp->count);
	return store_spool_write(sp, data, len);
}

void store_spool_free(struct store_spool **spp)
{
	struct store_spool *sp = *spp;
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	xfree(sp->mem);
	xfree(sp->tmp_dir);
	xfree(*spp);
}
