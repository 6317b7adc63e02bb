/*
 * mime_field.h - the MIME header fields that BODYSTRUCTURE reports
 * (internal to src/mime/): Content-Type, -Disposition, -Language and
 * -Transfer-Encoding values parsed into a part of a tree being built.
 *
 * Each function takes one unfolded field value (ptr, len: the text after
 * the colon) and the index of the part being built, which must be the
 * last part of the tree. A value that is not valid leaves the part's
 * field absent (RFC 2045 5.2: an invalid Content-Type means the default).
 * Parameters follow RFC 2045 5.1 and RFC 2231 (see mime_field.c).
 */
#ifndef YUBIN_MIME_FIELD_H
#define YUBIN_MIME_FIELD_H

#include "mime/mime_tree.h"

void mime_field_content_type(struct mime_tree *t, uint32_t part, const char *v, size_t len);
void mime_field_disposition(struct mime_tree *t, uint32_t part, const char *v, size_t len);
void mime_field_language(struct mime_tree *t, uint32_t part, const char *v, size_t len);
void mime_field_encoding(struct mime_tree *t, uint32_t part, const char *v, size_t len);

#endif
