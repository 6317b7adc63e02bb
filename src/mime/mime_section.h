/*
 * mime_section.h - where BODY[section] / BINARY[section] is in the stored
 * file (RFC 9051 6.4.5 "BODY[<section>]<<partial>>", RFC 3516).
 *
 * mime_section_parse() reads a section-spec up to the header-list: the
 * caller parses the " (field ...)" of HEADER.FIELDS [.NOT] itself and
 * filters the header range that mime_section_find() returns. Partial
 * fetches (<start.count>) are the caller's too: they count octets of the
 * CRLF form, which the caller produces while streaming the range.
 *
 * Part numbers (RFC 9051 6.4.5): a multipart's children are 1..n; a
 * message that is not multipart has only part 1, its body; the parts of
 * a message/rfc822 part are those of the message inside it, so "2.1" is
 * the first part of the message in part 2 (its body if it is not
 * multipart). Any part that is not multipart has a part 1 too: itself
 * (Dovecot's reading; "1.1" of a leaf part 1 is part 1). HEADER and TEXT
 * after part numbers need a message/rfc822
 * part and mean the encapsulated message's header and body. MIME needs
 * part numbers and means that part's own header; for part 1 of a
 * non-multipart message that is the message header.
 */
#ifndef YUBIN_MIME_SECTION_H
#define YUBIN_MIME_SECTION_H

#include "mime/mime_tree.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Part numbers in one section: one per level, and message/rfc822 adds a
 * level of its own, so twice the nesting limit is enough. */
#define MIME_SECTION_MAX_PATH (2 * MIME_MAX_DEPTH + 2)

enum mime_section_text {
	MIME_SECTION_BODY,              /* no section-text: the part (or message) */
	MIME_SECTION_HEADER,            /* HEADER */
	MIME_SECTION_HEADER_FIELDS,     /* HEADER.FIELDS: the caller filters */
	MIME_SECTION_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT: likewise */
	MIME_SECTION_TEXT,              /* TEXT */
	MIME_SECTION_MIME,              /* MIME (only after part numbers) */
};

struct mime_section {
	uint32_t path[MIME_SECTION_MAX_PATH];
	unsigned npath;
	enum mime_section_text text;
};

/*
 * Parse (s, len), e.g. "", "1.2", "HEADER", "1.2.TEXT", "3.MIME",
 * "HEADER.FIELDS.NOT" (keywords in any case). Returns false if it is not
 * a section-spec (RFC 9051 9): numbers without leading zeros, no "MIME"
 * without part numbers, nothing after the keyword.
 */
bool mime_section_parse(const char *s, size_t len, struct mime_section *sec);

struct mime_range {
	uint64_t off, len; /* raw bytes of the stored file */
	uint64_t size;     /* the same in CRLF form: what will be sent */
	uint32_t part;     /* the part addressed (for BINARY: its encoding) */
};

/* Resolve sec in t. Returns false if the section does not exist in this
 * message (Dovecot then sends an empty string; that is the caller's
 * decision). */
bool mime_section_find(const struct mime_tree *t, const struct mime_section *sec,
                       struct mime_range *r);

#endif
