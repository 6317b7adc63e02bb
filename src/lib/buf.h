/*
 * buf.h - a growable byte buffer with a hard upper bound.
 *
 * Every buffer that holds peer input has a maximum size: appends that would
 * exceed it fail (return false) and leave the buffer unchanged, so a caller
 * can never silently truncate or grow without limit. The content is always
 * followed by a NUL byte (not counted in len) for convenience, but the data
 * itself may contain NULs: use (ptr, len).
 */
#ifndef YUBIN_LIB_BUF_H
#define YUBIN_LIB_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max; /* 0 means SIZE_MAX / 2 */
};

void buf_init(struct buf *b, size_t max);
void buf_deinit(struct buf *b); /* frees memory, wiping is the caller's job */
void buf_reset(struct buf *b);  /* len = 0, memory kept */

/* Appending is on every response path (FETCH of 100,000 messages formats
 * millions of small pieces): the common case, room already there, is
 * inline; growing goes through buf_append_slow(). */
bool buf_append_slow(struct buf *b, const void *data, size_t n);

static inline bool buf_append(struct buf *b, const void *data, size_t n)
{
	/* len < cap whenever memory is there; len <= max always */
	if (n < b->cap - b->len && n <= b->max - b->len) {
		if (n > 0)
			__builtin_memcpy(b->ptr + b->len, data, n);
		b->len += n;
		b->ptr[b->len] = '\0';
		return true;
	}
	return buf_append_slow(b, data, n);
}

static inline bool buf_append_byte(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

bool buf_append_str(struct buf *b, const char *s);
bool buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);

/* Give the heap string to the caller (NUL-terminated); b becomes empty. */
char *buf_steal(struct buf *b);

#endif
