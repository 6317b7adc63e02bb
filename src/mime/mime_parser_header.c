/*
 * mime_parser_header.c - the header fields the structure parser keeps:
 * Content-* (RFC 2045, first occurrence counts), MIME-Version, and in
 * message headers the envelope fields (RFC 9051 7.5.2). Lines arrive from
 * mime_parser.c; a field is complete when the next line does not start
 * with white space (RFC 5322 2.2.3), and its folds are kept as one LF.
 */
#include "mime/mime_field.h"
#include "mime/mime_parser_private.h"
#include "mime/mime_tree_private.h"

#include <string.h>

/* Content-* fields, for "the first one counts" */
enum field_id {
	F_NONE = -1,
	F_TYPE,
	F_ENCODING,
	F_ID,
	F_DESCR,
	F_DISPOSITION,
	F_LANGUAGE,
	F_LOCATION,
	F_MD5,
	F_MIME_VERSION,
	F_ENV_FIRST, /* F_ENV_FIRST + enum mime_env_field */
};

static const struct {
	const char *name;
	int id;
} field_names[] = {
    {"content-type", F_TYPE},
    {"content-transfer-encoding", F_ENCODING},
    {"content-id", F_ID},
    {"content-description", F_DESCR},
    {"content-disposition", F_DISPOSITION},
    {"content-language", F_LANGUAGE},
    {"content-location", F_LOCATION},
    {"content-md5", F_MD5},
    {"mime-version", F_MIME_VERSION},
    {"date", F_ENV_FIRST + MIME_ENV_DATE},
    {"subject", F_ENV_FIRST + MIME_ENV_SUBJECT},
    {"from", F_ENV_FIRST + MIME_ENV_FROM},
    {"sender", F_ENV_FIRST + MIME_ENV_SENDER},
    {"reply-to", F_ENV_FIRST + MIME_ENV_REPLY_TO},
    {"to", F_ENV_FIRST + MIME_ENV_TO},
    {"cc", F_ENV_FIRST + MIME_ENV_CC},
    {"bcc", F_ENV_FIRST + MIME_ENV_BCC},
    {"in-reply-to", F_ENV_FIRST + MIME_ENV_IN_REPLY_TO},
    {"message-id", F_ENV_FIRST + MIME_ENV_MESSAGE_ID},
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool name_is(const char *name, size_t len, const char *lit)
{
	if (strlen(lit) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (lower((unsigned char)name[i]) != (unsigned char)lit[i])
			return false;
	}
	return true;
}

static void store_env(struct mime_parser *p, uint32_t part, int field, const char *v, size_t n)
{
	if (p->nenv == MIME_MAX_ENV_FIELDS) {
		p->t->parts[part].flags |= MIME_PART_CUT;
		return;
	}
	struct mime_str s = mime_tree_add_str(p->t, v, n);
	if (!mime_str_present(s))
		return;
	p->nenv++;
	mime_tree_add_env(p->t, &p->t->parts[part].env, (uint32_t)(field - F_ENV_FIRST), s);
}

/* The collected field is complete: store what it means. */
void mime_parser_header_finish(struct mime_parser *p)
{
	int field = p->field;
	if (field == F_NONE)
		return;
	p->field = F_NONE;
	uint32_t part = p->stack[p->depth - 1].part;
	struct mime_tree *t = p->t;
	const char *v = p->fbuf.ptr != NULL ? p->fbuf.ptr : "";
	size_t n = p->fbuf.len;
	if (p->field_cut)
		t->parts[part].flags |= MIME_PART_CUT;
	if (field >= F_ENV_FIRST) {
		store_env(p, part, field, v, n);
		return;
	}
	p->seen |= 1u << field;
	if (field == F_MIME_VERSION)
		return;
	switch (field) {
	case F_TYPE:
		mime_field_content_type(t, part, v, n);
		break;
	case F_ENCODING:
		mime_field_encoding(t, part, v, n);
		break;
	case F_DISPOSITION:
		mime_field_disposition(t, part, v, n);
		break;
	case F_LANGUAGE:
		mime_field_language(t, part, v, n);
		break;
	case F_ID:
		t->parts[part].id = mime_tree_add_str(t, v, n);
		break;
	case F_DESCR:
		t->parts[part].descr = mime_tree_add_str(t, v, n);
		break;
	case F_LOCATION:
		t->parts[part].location = mime_tree_add_str(t, v, n);
		break;
	case F_MD5:
		t->parts[part].md5 = mime_tree_add_str(t, v, n);
		break;
	}
}

/* Append (s, n) of a field line; true_len is the line's real length
 * (more than n if the line was longer than what was kept). */
static void field_append(struct mime_parser *p, const char *s, size_t n, uint64_t true_len)
{
	size_t room = p->fbuf.max - p->fbuf.len;
	if (n > room || true_len > n) {
		p->field_cut = true;
		if (n > room)
			n = room;
	}
	(void)buf_append(&p->fbuf, s, n);
}

/* A header line that starts a field ("Name: value"). */
static void start_field(struct mime_parser *p, const char *line, size_t n, uint64_t true_len)
{
	const char *colon = memchr(line, ':', n);
	if (colon == NULL)
		return; /* not a field: ignored, like any unknown field */
	size_t name_len = (size_t)(colon - line);
	while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
		name_len--; /* RFC 5322 4.5.1 obs-optional: WSP before ':' */
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++) {
		int id = field_names[i].id;
		if (!name_is(line, name_len, field_names[i].name))
			continue;
		if (id >= F_ENV_FIRST ? !p->is_message : (p->seen & (1u << id)) != 0)
			return;
		p->field = id;
		buf_reset(&p->fbuf);
		p->field_cut = false;
		/* the value starts after the colon and its white space, but if
		 * the first line has nothing else, after one white space only:
		 * what Dovecot does, and it shows in ENVELOPE (Message-ID) */
		size_t skip = (size_t)(colon - line) + 1, ws = skip;
		while (ws < n && (line[ws] == ' ' || line[ws] == '\t'))
			ws++;
		if (ws < n)
			skip = ws;
		else if (skip < n)
			skip++;
		field_append(p, line + skip, n - skip, true_len - skip);
		return;
	}
}

void mime_parser_header_line(struct mime_parser *p, const char *line, size_t n, uint64_t true_len)
{
	if (line[0] == ' ' || line[0] == '\t') {
		if (p->field != F_NONE) {
			/* folded: the line break is kept as one LF */
			field_append(p, "\n", 1, 1);
			field_append(p, line, n, true_len);
		}
		return;
	}
	mime_parser_header_finish(p);
	start_field(p, line, n, true_len);
}

void mime_parser_header_start(struct mime_parser *p, bool is_message)
{
	p->field = F_NONE;
	p->seen = 0;
	p->nenv = 0;
	p->is_message = is_message;
	p->hdr_nparams = p->t->nparams;
	p->hdr_nlangs = p->t->nlangs;
}

/* RFC 2045 4: in a message header, Content-* fields mean something only
 * with MIME-Version (or, leniently, Content-Type, as Dovecot accepts);
 * in a body part's header they always do. Otherwise forget them. */
static void drop_non_mime(struct mime_parser *p, uint32_t i)
{
	const unsigned mime = (1u << F_MIME_VERSION) | (1u << F_TYPE);
	if (!p->is_message || (p->seen & mime) != 0)
		return;
	struct mime_part *part = &p->t->parts[i];
	const struct mime_str none = {MIME_NONE, 0};
	const struct mime_list empty = {0, 0};
	part->id = part->descr = part->encoding = part->md5 = none;
	part->disposition = part->location = none;
	part->dparams = part->langs = empty;
	/* their entries are the last ones in the arrays */
	p->t->nparams = p->hdr_nparams;
	p->t->nlangs = p->hdr_nlangs;
}

void mime_parser_header_end(struct mime_parser *p, uint32_t i)
{
	mime_parser_header_finish(p);
	drop_non_mime(p, i);
}
