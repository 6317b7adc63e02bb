/*
 * strlist.h - walking a list written in one configuration value, such as
 * "127.0.0.1:110, [::1]:110" (items separated by any of some characters;
 * empty items are skipped).
 */
#ifndef YUBIN_LIB_STRLIST_H
#define YUBIN_LIB_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Find the next item at or after *pos: false at the end of the string.
 * Otherwise (*item_r, *len_r) is the item (not NUL-terminated) and *pos
 * moves past it.
 */
bool strlist_next(const char **pos, const char *separators, const char **item_r,
		  size_t *len_r);

#endif
