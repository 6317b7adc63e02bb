/*
 * mime_header.c - walking and unfolding stored header fields; see
 * mime_header.h.
 */
#include "mime/mime_header.h"

#include <string.h>

/* End of the line starting at i: the index after its LF (or len). */
static size_t line_end(const char *s, size_t len, size_t i)
{
	const char *lf = memchr(s + i, '\n', len - i);
	return lf != NULL ? (size_t)(lf - s) + 1 : len;
}

/* Length of the line [i, end) without its line break. */
static size_t content_len(const char *s, size_t i, size_t end)
{
	size_t n = end - i;
	if (n > 0 && s[end - 1] == '\n') {
		n--;
		if (n > 0 && s[end - 2] == '\r')
			n--;
	}
	return n;
}

bool mime_header_next(const char *hdr, size_t len, size_t *pos, struct mime_header_field *f)
{
	size_t i = *pos;
	if (i >= len || hdr[i] == '\n' || (hdr[i] == '\r' && i + 1 < len && hdr[i + 1] == '\n'))
		return false; /* the end, or the empty line that ends the header */
	size_t end = line_end(hdr, len, i);
	while (end < len && (hdr[end] == ' ' || hdr[end] == '\t'))
		end = line_end(hdr, len, end); /* continuation lines */
	memset(f, 0, sizeof(*f));
	f->raw = hdr + i;
	f->raw_len = end - i;
	size_t n = content_len(hdr, i, end);
	const char *colon = memchr(hdr + i, ':', n);
	if (colon != NULL) {
		size_t name_len = (size_t)(colon - (hdr + i));
		while (name_len > 0 &&
		       (hdr[i + name_len - 1] == ' ' || hdr[i + name_len - 1] == '\t'))
			name_len--; /* RFC 5322 4.5.1: obs-optional */
		f->name = hdr + i;
		f->name_len = name_len;
		f->value = colon + 1;
		f->value_len = n - (size_t)(colon + 1 - (hdr + i));
	} else {
		f->value = hdr + i;
		f->value_len = n;
	}
	*pos = end;
	return true;
}

bool mime_header_is(const struct mime_header_field *f, const char *name)
{
	size_t n = strlen(name);
	if (f->name_len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)f->name[i], b = (unsigned char)name[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

size_t mime_unfold(const char *in, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		size_t brk = in[i] == '\n'                                       ? 1
		             : in[i] == '\r' && i + 1 < len && in[i + 1] == '\n' ? 2
		                                                                 : 0;
		if (brk > 0 && (i + brk == len || in[i + brk] == ' ' || in[i + brk] == '\t')) {
			i += brk - 1; /* a fold, or the final line break */
			continue;
		}
		out[n++] = in[i];
	}
	return n;
}
