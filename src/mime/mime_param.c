/*
 * mime_param.c - looking up a parameter of a part and decoding it
 * (mime_param_value in mime_tree.h).
 */
#include "mime/mime_charset.h"
#include "mime/mime_tree.h"

#include <string.h>

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool name_matches(const struct mime_tree *t, struct mime_str s, const char *name,
                         bool extended)
{
	size_t n = strlen(name);
	if (s.len != n + (extended ? 1 : 0))
		return false;
	const char *p = mime_str_ptr(t, s);
	for (size_t i = 0; i < n; i++) {
		if (lower((unsigned char)p[i]) != lower((unsigned char)name[i]))
			return false;
	}
	return !extended || p[n] == '*';
}

bool mime_param_value(const struct mime_tree *t, struct mime_list list, const char *name,
                      struct buf *out)
{
	/* RFC 2231 7: an extended value wins over a plain one */
	for (int extended = 1; extended >= 0; extended--) {
		for (uint32_t i = 0; i < list.count; i++) {
			const struct mime_param *pa = &t->params[list.first + i];
			if (!name_matches(t, pa->name, name, extended != 0))
				continue;
			const char *v = mime_str_ptr(t, pa->value);
			if (extended)
				return mime_rfc2231_decode(v, pa->value.len, out);
			return buf_append(out, v, pa->value.len);
		}
	}
	return false;
}
