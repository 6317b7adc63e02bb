/*
 * mem.h - allocation that never returns NULL.
 *
 * A mail server cannot do anything sensible half-way through a command when
 * malloc fails, so every allocation goes through these wrappers: they abort
 * with a message instead of returning NULL, and memory comes back zeroed.
 */
#ifndef YUBIN_LIB_MEM_H
#define YUBIN_LIB_MEM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h> /* free(), for memory from these functions */

void *xmalloc(size_t size);             /* zeroed */
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size); /* new tail is NOT zeroed */
char *xstrdup(const char *s);
/* Copies exactly n bytes (which may include NULs) and adds a NUL:
 * for (ptr, len) data, unlike strndup. */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Free *p and set it to NULL. */
#define xfree(p) mem_free_ptr((void **)&(p))
void mem_free_ptr(void **p);

/* Overwrite a secret so that it does not linger in freed memory. */
void mem_wipe(void *p, size_t n);

#endif
