/*
 * mime_header.h - header blocks as stored, for FETCH BODY[HEADER.FIELDS
 * (...)] / [HEADER.FIELDS.NOT (...)] and SEARCH HEADER / FROM / SUBJECT:
 * walking the fields of a header and unfolding a value.
 *
 * The caller reads a header range (mime_section.h) from the file and
 * walks it here; nothing is copied. Line breaks may be CRLF or LF.
 */
#ifndef YUBIN_MIME_HEADER_H
#define YUBIN_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct mime_header_field {
	const char *name;  /* up to the colon, white space before it removed */
	size_t name_len;   /* 0: a line without a colon (kept as it is) */
	const char *value; /* after the colon, folds included, no final line break */
	size_t value_len;
	const char *raw; /* the whole field with its continuation lines and */
	size_t raw_len;  /* final line break: what HEADER.FIELDS sends */
};

/*
 * The next field of the header block (hdr, len) at *pos (start at 0):
 * false at the end of the block (its end, or the empty line that ends a
 * header). A field is its line and the lines after it that start with
 * white space (RFC 5322 2.2.3).
 */
bool mime_header_next(const char *hdr, size_t len, size_t *pos, struct mime_header_field *f);

/* True if the field's name is name (ASCII case-insensitive). */
bool mime_header_is(const struct mime_header_field *f, const char *name);

/*
 * Unfold (in, len) into out (len bytes; out may be in): every CR LF or LF
 * followed by white space is removed (RFC 5322 2.2.3, the white space
 * stays), and so is a final line break. Returns the length written.
 */
size_t mime_unfold(const char *in, size_t len, char *out);

#endif
