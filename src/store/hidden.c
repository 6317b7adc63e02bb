/*
 * hidden.c - the yubin-pop3-hidden file of a folder; see hidden.h.
 *
 * Appends are a single write() on an O_APPEND descriptor, so two sessions
 * committing at once cannot interleave their lines. Reading sorts the
 * names once so that a rebuild of a large folder looks each file up in
 * O(log n).
 */
#include "store/hidden.h"

#include "store/store_private.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hidden_name {
	const char *p;
	size_t len;
};

struct hidden_set {
	char *data;
	struct hidden_name *names; /* sorted */
	size_t count;
};

int hidden_append(const char *folder_dir, const char *const *bases, const size_t *lens, size_t n,
                  bool do_fsync)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] == 0 || memchr(bases[i], '\n', lens[i]) != NULL)
			continue;
		buf_append(&b, bases[i], lens[i]);
		buf_append_byte(&b, '\n');
	}
	if (b.len == 0) {
		buf_deinit(&b);
		return 0;
	}
	char *path = xasprintf("%s/%s", folder_dir, HIDDEN_FILE_NAME);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	xfree(path);
	int ret = -1;
	if (fd >= 0) {
		ssize_t w = write(fd, b.ptr, b.len);
		if (w == (ssize_t)b.len)
			ret = do_fsync && fsync(fd) < 0 ? -1 : 0;
		else if (w >= 0)
			errno = ENOSPC; /* a short write to a regular file */
	}
	int e = errno;
	if (fd >= 0)
		close(fd);
	buf_deinit(&b);
	errno = e;
	return ret;
}

static int hidden_cmp(const void *x, const void *y)
{
	const struct hidden_name *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->p, b->p, n);
	if (r != 0)
		return r;
	return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Split the file's data into sorted names (empty lines skipped). */
static void hidden_index(struct hidden_set *h, size_t len)
{
	size_t cap = 0;
	for (const char *p = h->data, *end = h->data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0) {
			if (h->count == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				h->names = xrealloc(h->names, cap * sizeof(*h->names));
			}
			h->names[h->count++] = (struct hidden_name){p, n};
		}
		p += n + 1;
	}
	if (h->count > 1)
		qsort(h->names, h->count, sizeof(*h->names), hidden_cmp);
}

static char *hidden_slurp(int fd, size_t *len_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > HIDDEN_MAX_SIZE) {
		errno = EFBIG;
		return NULL;
	}
	size_t size = (size_t)st.st_size, len = 0;
	char *data = xmalloc(size + 1);
	while (len < size) {
		ssize_t n = pread(fd, data + len, size - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			xfree(data);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break; /* shrank meanwhile: use what is there */
		len += (size_t)n;
	}
	*len_r = len;
	return data;
}

struct hidden_set *hidden_read(const char *folder_dir)
{
	char *path = xasprintf("%s/%s", folder_dir, HIDDEN_FILE_NAME);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	xfree(path);
	if (fd < 0) {
		if (errno != ENOENT)
			log_error("store: op=hidden_read error=%s", store_errname(errno));
		return NULL;
	}
	size_t len = 0;
	char *data = hidden_slurp(fd, &len);
	int e = errno;
	close(fd);
	if (data == NULL) {
		log_error("store: op=hidden_read error=%s", store_errname(e));
		return NULL;
	}
	struct hidden_set *h = xmalloc(sizeof(*h));
	h->data = data;
	hidden_index(h, len);
	return h;
}

bool hidden_contains(const struct hidden_set *h, const char *base, size_t len)
{
	if (h == NULL || h->count == 0)
		return false;
	struct hidden_name key = {base, len};
	return bsearch(&key, h->names, h->count, sizeof(*h->names), hidden_cmp) != NULL;
}

void hidden_free(struct hidden_set **h)
{
	if (*h == NULL)
		return;
	xfree((*h)->data);
	xfree((*h)->names);
	xfree(*h);
}
