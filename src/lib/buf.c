/*
 * buf.c - bounded byte buffer; see buf.h.
 */
#include "buf.h"
#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void buf_deinit(struct buf *b)
{
	xfree(b->ptr);
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr != NULL)
		b->ptr[0] = '\0';
}

static bool buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return false;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->ptr = xrealloc(b->ptr, cap);
	b->cap = cap;
	return true;
}

bool buf_append_slow(struct buf *b, const void *data, size_t n)
{
	if (!buf_reserve(b, n))
		return false;
	if (n > 0)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return true;
}

bool buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bool buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	/* usually it fits in the room there is: one formatting pass */
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	if (room > b->max - b->len + 1)
		room = b->max - b->len + 1;
	if (room > 1) {
		va_start(ap, fmt);
		int n = vsnprintf(b->ptr + b->len, room, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return true;
		}
		b->ptr[b->len] = '\0'; /* undo the partial output */
	}
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

char *buf_steal(struct buf *b)
{
	char *p = b->ptr != NULL ? b->ptr : xstrdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}
