/*
 * mime_section.c - BODY[section] addressing (RFC 9051 6.4.5); see
 * mime_section.h.
 */
#include "mime/mime_section.h"

#include "lib/strnum.h"

#include <string.h>

static bool keyword(const char *s, size_t len, const char *kw)
{
	if (strlen(kw) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
		if (c != kw[i])
			return false;
	}
	return true;
}

static bool parse_text(const char *s, size_t len, bool has_path, enum mime_section_text *text)
{
	if (keyword(s, len, "HEADER"))
		*text = MIME_SECTION_HEADER;
	else if (keyword(s, len, "HEADER.FIELDS"))
		*text = MIME_SECTION_HEADER_FIELDS;
	else if (keyword(s, len, "HEADER.FIELDS.NOT"))
		*text = MIME_SECTION_HEADER_FIELDS_NOT;
	else if (keyword(s, len, "TEXT"))
		*text = MIME_SECTION_TEXT;
	else if (has_path && keyword(s, len, "MIME"))
		*text = MIME_SECTION_MIME;
	else
		return false;
	return true;
}

bool mime_section_parse(const char *s, size_t len, struct mime_section *sec)
{
	memset(sec, 0, sizeof(*sec));
	size_t i = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		size_t j = i;
		while (j < len && s[j] >= '0' && s[j] <= '9')
			j++;
		uint32_t n;
		/* nz-number: no leading zero */
		if (s[i] == '0' || sec->npath == MIME_SECTION_MAX_PATH ||
		    !strnum_u32(s + i, j - i, UINT32_MAX, &n))
			return false;
		sec->path[sec->npath++] = n;
		if (j == len)
			return true;
		if (s[j] != '.' || j + 1 == len)
			return false;
		i = j + 1;
	}
	if (i == len)
		return true; /* "" : the whole message */
	return parse_text(s + i, len - i, sec->npath > 0, &sec->text);
}

/*
 * Walk the part numbers; the part they address, or MIME_NONE. A part
 * that is not multipart has only part 1, itself (for a message: its
 * body), and only a message/rfc822 part can be gone into further. So
 * "1.1" of a leaf is the leaf again, as in Dovecot (RFC 9051 only says so
 * of messages).
 */
static uint32_t walk(const struct mime_tree *t, const struct mime_section *sec)
{
	uint32_t cur = 0;
	for (unsigned k = 0; k < sec->npath && cur != MIME_NONE; k++) {
		bool more = k + 1 < sec->npath;
		const struct mime_part *p = &t->parts[cur];
		if (p->kind == MIME_KIND_MULTIPART)
			cur = mime_part_nth_child(t, cur, sec->path[k]);
		else if (sec->path[k] != 1 || (more && p->kind != MIME_KIND_MESSAGE))
			cur = MIME_NONE;
		if (cur != MIME_NONE && more && t->parts[cur].kind == MIME_KIND_MESSAGE)
			cur = t->parts[cur].child; /* the encapsulated message */
	}
	return cur;
}

static void header_of(const struct mime_part *p, uint32_t i, struct mime_range *r)
{
	r->off = p->hdr_off;
	r->len = p->hdr_len;
	r->size = p->hdr_size;
	r->part = i;
}

static void body_of(const struct mime_part *p, uint32_t i, struct mime_range *r)
{
	r->off = p->body_off;
	r->len = p->body_len;
	r->size = p->body_size;
	r->part = i;
}

bool mime_section_find(const struct mime_tree *t, const struct mime_section *sec,
                       struct mime_range *r)
{
	if (t->nparts == 0)
		return false;
	uint32_t cur = walk(t, sec);
	if (cur == MIME_NONE)
		return false;
	const struct mime_part *p = &t->parts[cur];
	switch (sec->text) {
	case MIME_SECTION_BODY:
		if (sec->npath == 0) {
			r->off = 0;
			r->len = t->size;
			r->size = t->crlf_size;
			r->part = 0;
		} else {
			body_of(p, cur, r);
		}
		return true;
	case MIME_SECTION_MIME:
		header_of(p, cur, r);
		return true;
	default:
		break;
	}
	/* HEADER / TEXT: of the message itself, or of a message/rfc822 part */
	if (sec->npath > 0) {
		if (p->kind != MIME_KIND_MESSAGE)
			return false;
		cur = p->child;
		p = &t->parts[cur];
	}
	if (sec->text == MIME_SECTION_TEXT)
		body_of(p, cur, r);
	else
		header_of(p, cur, r);
	return true;
}
