/*
 * strlist.c - list items in a string; see strlist.h.
 */
#include "lib/strlist.h"

#include <string.h>

bool strlist_next(const char **pos, const char *separators, const char **item_r,
		  size_t *len_r)
{
	const char *p = *pos + strspn(*pos, separators);
	if (*p == '\0') {
		*pos = p;
		return false;
	}
	size_t n = strcspn(p, separators);
	*item_r = p;
	*len_r = n;
	*pos = p + n;
	return true;
}
