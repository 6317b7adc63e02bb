/*
 * mime_parser.c - the streaming structure parser; see mime_parser.h.
 *
 * The input is cut into lines (LF-terminated; the CR of a CRLF is part of
 * the line's terminator). For every line the parser knows its raw offset,
 * its offset in CRLF form and the number of LFs before it, so part ranges
 * and their IMAP sizes are differences of those counters. Only a bounded
 * prefix of a line is kept: the whole line (up to MIME_MAX_FIELD) in a
 * header, enough for a boundary comparison in a body, nothing when no
 * multipart is open.
 *
 * Open parts form a stack (part 0 at the bottom); the innermost is either
 * in its header or in its body. A part's end is known only when a boundary
 * line of an enclosing multipart or the end of the message arrives; then
 * every part inside that multipart is closed at once.
 *
 * Where the RFCs leave room, the choices are Dovecot's (so that
 * BODYSTRUCTURE sizes and line counts agree): the line break before a
 * boundary line belongs to the boundary (RFC 2046 5.1.1), also when it
 * ends the empty line that ended a header (the header then gives it up),
 * except when the line before was itself a boundary line, which keeps its
 * line break; at the end of the message nothing is taken away. See
 * close_at() for the one odd case.
 */
#include "mime/mime_parser.h"
#include "mime/mime_field.h"
#include "mime/mime_tree_private.h"

#include "lib/mem.h"

#include <stddef.h>
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

/* Bytes of a body line kept for the boundary comparison: "--", the
 * boundary, "--" and one more to know whether the line is longer. */
#define BODY_KEEP (MIME_MAX_BOUNDARY + 5)
/* a header line: the name, the colon, white space and MIME_MAX_FIELD */
#define HEADER_KEEP (MIME_MAX_FIELD + 256)

struct counters {
	uint64_t pos;  /* raw offset */
	uint64_t crlf; /* offset in CRLF form */
	uint64_t nl;   /* LFs before it */
};

struct open_part {
	uint32_t part;
	bool in_header;
	bool digest; /* multipart/digest: children default to message/rfc822 */
	bool active; /* multipart whose boundary has not been closed */
	struct counters hdr, body;
	size_t blen;  /* bytes of the boundary kept, at most MIME_MAX_BOUNDARY */
	size_t bfull; /* its real length */
	char boundary[MIME_MAX_BOUNDARY];
};

struct mime_parser {
	struct mime_tree *t;
	struct open_part stack[MIME_MAX_DEPTH + 1];
	unsigned depth;   /* open parts */
	unsigned nactive; /* open parts with an active boundary */

	struct counters at; /* the current position */
	bool prev_cr;       /* the last byte of the current line was CR */

	bool in_line;
	struct counters line; /* where the current line starts */
	uint64_t line_len;    /* its raw bytes so far, without the LF */
	size_t keep, kept;    /* bytes of it to keep, kept */
	char *lbuf;           /* HEADER_KEEP bytes */
	char last[3];         /* its last three bytes */
	char tail[2];         /* the last two without the CR of CRLF */

	unsigned prev_eol; /* terminator length of the previous line */
	enum { PREV_BOUNDARY, PREV_HEADER, PREV_BODY } prev_kind; /* ... what it was */
	unsigned prev_hdr; /* PREV_HEADER: stack index of the part it belonged to */

	/* the header field being collected */
	int field;
	struct buf fbuf;
	bool field_cut;
	unsigned seen;   /* F_* bits of Content-* fields seen in this header */
	unsigned nenv;   /* envelope fields kept from this header */
	bool is_message; /* this header is a message header */
	uint32_t hdr_nparams, hdr_nlangs; /* array sizes when it started */
};

struct mime_parser *mime_parser_new(void)
{
	struct mime_parser *p = xmalloc(sizeof(*p));
	p->t = mime_tree_new();
	p->lbuf = xmalloc(HEADER_KEEP);
	buf_init(&p->fbuf, MIME_MAX_FIELD);
	p->field = F_NONE;
	p->prev_kind = PREV_BOUNDARY; /* nothing before the first line to give */
	/* part 0: the message, its header starts at offset 0 */
	(void)mime_tree_add_part(p->t, MIME_NONE);
	p->stack[0].part = 0;
	p->stack[0].in_header = true;
	p->depth = 1;
	p->is_message = true;
	return p;
}

void mime_parser_free(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	if (p == NULL)
		return;
	mime_tree_free(&p->t);
	buf_deinit(&p->fbuf);
	xfree(p->lbuf);
	xfree(*pp);
}

static struct open_part *top(struct mime_parser *p)
{
	return &p->stack[p->depth - 1];
}

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

/* ---- header fields ---- */

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
static void finish_field(struct mime_parser *p)
{
	int field = p->field;
	if (field == F_NONE)
		return;
	p->field = F_NONE;
	uint32_t part = top(p)->part;
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

/* ---- parts ---- */

/* A new part below parent whose header starts at `at`. */
static void push_part(struct mime_parser *p, uint32_t parent, const struct counters *at)
{
	struct open_part *o = &p->stack[p->depth++];
	memset(o, 0, offsetof(struct open_part, boundary));
	o->part = mime_tree_add_part(p->t, parent);
	o->in_header = true;
	o->hdr = *at;
	p->t->parts[o->part].hdr_off = at->pos;
	p->field = F_NONE;
	p->seen = 0;
	p->nenv = 0;
	p->is_message = p->t->parts[parent].kind == MIME_KIND_MESSAGE;
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

static bool can_add(struct mime_parser *p)
{
	if (p->t->nparts < MIME_MAX_PARTS)
		return true;
	p->t->flags |= MIME_TREE_LIMITED;
	return false;
}

static void set_boundary(struct mime_parser *p, struct open_part *o)
{
	struct buf b;
	buf_init(&b, MIME_MAX_FIELD * 3);
	if (mime_param_value(p->t, p->t->parts[o->part].params, "boundary", &b) && b.len > 0) {
		o->bfull = b.len;
		o->blen = b.len < MIME_MAX_BOUNDARY ? b.len : MIME_MAX_BOUNDARY;
		memcpy(o->boundary, b.ptr, o->blen);
		o->active = true;
		p->nactive++;
	}
	buf_deinit(&b);
}

/* The header of the innermost part ended: decide what its body is. A
 * message/rfc822 part gets its child (the encapsulated message) now. */
static void classify(struct mime_parser *p, struct open_part *o, const struct counters *end)
{
	struct mime_tree *t = p->t;
	struct mime_part *part = &t->parts[o->part];
	bool in_digest = part->parent != MIME_NONE && p->depth >= 2 && p->stack[p->depth - 2].digest;
	bool message, multipart = false;
	if (!mime_str_present(part->type)) {
		message = in_digest; /* RFC 2046 5.1.5 */
	} else {
		multipart = mime_str_eq(t, part->type, "multipart");
		message = mime_str_eq(t, part->type, "message") &&
			  mime_str_eq(t, part->subtype, "rfc822");
	}
	if (!multipart && !message)
		return;
	if (part->depth >= MIME_MAX_DEPTH || (message && !can_add(p))) {
		part->flags |= MIME_PART_TRUNCATED;
		t->flags |= MIME_TREE_LIMITED;
		return;
	}
	if (multipart) {
		part->kind = MIME_KIND_MULTIPART;
		o->digest = mime_str_eq(t, part->subtype, "digest");
		set_boundary(p, o);
	} else {
		part->kind = MIME_KIND_MESSAGE;
		push_part(p, o->part, end);
	}
}

/* End the innermost part's header at `end` (and start its body there). */
static void end_header(struct mime_parser *p, const struct counters *end)
{
	struct open_part *o = top(p);
	finish_field(p);
	struct mime_part *part = &p->t->parts[o->part];
	part->hdr_len = end->pos - o->hdr.pos;
	part->hdr_size = end->crlf - o->hdr.crlf;
	part->body_off = end->pos;
	o->body = *end;
	o->in_header = false;
	drop_non_mime(p, o->part);
	classify(p, o, end);
}

/*
 * Close the innermost part at `end`. If it was still in its header it may
 * get a child first (message/rfc822): the caller loops until done. `end`
 * may lie before where the part's current region starts, by the line
 * break of an empty line that ended its header (that line break belongs
 * to the boundary): then its header gives it up.
 */
static void close_top(struct mime_parser *p, const struct counters *end)
{
	struct open_part *o = top(p);
	struct mime_part *part = &p->t->parts[o->part];
	if (o->hdr.pos > end->pos) { /* a message/rfc822 child that had not begun */
		o->hdr = *end;
		part->hdr_off = end->pos;
	}
	if (o->in_header) {
		end_header(p, end);
		if (top(p) != o)
			return;
	} else if (o->body.pos > end->pos) {
		part->hdr_len = end->pos - o->hdr.pos;
		part->hdr_size = end->crlf - o->hdr.crlf;
		part->body_off = end->pos;
		o->body = *end;
	}
	part = &p->t->parts[o->part];
	part->body_len = end->pos - o->body.pos;
	part->body_size = end->crlf - o->body.crlf;
	part->body_lines = end->nl - o->body.nl;
	if (o->active)
		p->nactive--;
	p->depth--;
}

/* ---- lines ---- */

/* Is the line (length n without its terminator) a closing delimiter of
 * o, "--" boundary "--" (RFC 2046 5.1.1)? For a boundary longer than what
 * is kept, only an exact line can be recognised. */
static bool is_closing(const struct mime_parser *p, const struct open_part *o, uint64_t n)
{
	if (o->blen == o->bfull)
		return p->kept >= o->blen + 4 && n >= o->blen + 4 && p->lbuf[o->blen + 2] == '-' &&
		       p->lbuf[o->blen + 3] == '-';
	return n == o->bfull + 4 && p->tail[0] == '-' && p->tail[1] == '-';
}

/*
 * The open multipart whose boundary starts this line (stack index), or
 * -1. n is the line's length without its terminator, of which the first
 * `kept` bytes are in p->lbuf. RFC 2046 5.1.1 asks only that the boundary
 * start the line; of several, the longest wins, and an exact match ("--b"
 * or "--b--") of the innermost ends the search (as in Dovecot).
 */
static int find_boundary(struct mime_parser *p, uint64_t n, bool *closing_r)
{
	if (p->nactive == 0 || n < 2 || p->lbuf[0] != '-' || p->lbuf[1] != '-')
		return -1;
	const char *d = p->lbuf + 2;
	size_t avail = (n < p->kept ? (size_t)n : p->kept) - 2;
	uint64_t len = n - 2;
	bool dashes = len > 2 && p->tail[0] == '-' && p->tail[1] == '-';
	int best = -1;
	for (int i = (int)p->depth - 1; i >= 0; i--) {
		const struct open_part *o = &p->stack[i];
		if (!o->active || o->blen > avail || o->bfull > len ||
		    memcmp(o->boundary, d, o->blen) != 0)
			continue;
		if (best >= 0 && p->stack[best].bfull >= o->bfull)
			continue;
		best = i;
		if (o->bfull == len || (dashes && o->bfull + 2 == len))
			break; /* exactly this boundary: nothing can match better */
	}
	if (best >= 0)
		*closing_r = is_closing(p, &p->stack[best], n);
	return best;
}

/*
 * Where a part closed by a boundary line ends. RFC 2046 5.1.1: the line
 * break before the boundary belongs to it, so parts end before it; if it
 * ended a header line (the empty one included), that header and what is
 * inside its part end there, and the parts around it end after it (they
 * are not a header: Dovecot gives the line break to the enclosing part,
 * which shows in a message/rfc822 part's size); after a boundary line
 * nothing is given up.
 */
static const struct counters *close_at(const struct mime_parser *p, unsigned idx,
				       const struct counters *at_line, const struct counters *before)
{
	if (p->prev_kind == PREV_BOUNDARY || p->prev_eol == 0)
		return at_line;
	if (p->prev_kind == PREV_HEADER && idx < p->prev_hdr)
		return at_line;
	return before;
}

static void boundary_line(struct mime_parser *p, int mp, bool closing)
{
	struct counters before = p->line;
	if (p->prev_eol > 0) {
		before.pos -= p->prev_eol;
		before.crlf -= 2; /* a line break counts 2 in CRLF form */
		before.nl -= 1;
	}
	while ((int)p->depth - 1 > mp)
		close_top(p, close_at(p, p->depth - 1, &p->line, &before));
	struct open_part *o = top(p);
	if (closing) {
		o->active = false;
		p->nactive--;
	} else if (can_add(p)) {
		push_part(p, o->part, &p->at); /* the next part's header starts */
	} else {
		p->t->parts[o->part].flags |= MIME_PART_DROPPED;
	}
	p->prev_kind = PREV_BOUNDARY;
}

static void header_line(struct mime_parser *p, uint64_t n, unsigned eol)
{
	size_t kept = n < p->kept ? (size_t)n : p->kept;
	p->prev_kind = PREV_HEADER;
	p->prev_hdr = p->depth - 1;
	if (n == 0 && eol > 0) {
		end_header(p, &p->at); /* the empty line is part of the header */
		return;
	}
	if (p->lbuf[0] == ' ' || p->lbuf[0] == '\t') {
		if (p->field != F_NONE) {
			/* folded: the line break is kept as one LF */
			field_append(p, "\n", 1, 1);
			field_append(p, p->lbuf, kept, n);
		}
		return;
	}
	finish_field(p);
	start_field(p, p->lbuf, kept, n);
}

/* A complete line (eol: its terminator's length, 0 at the end of data). */
static void process_line(struct mime_parser *p, unsigned eol)
{
	uint64_t n = p->line_len;
	if (eol == 2)
		n--; /* the CR of CRLF is not content */
	p->tail[0] = p->last[eol == 2 ? 0 : 1];
	p->tail[1] = p->last[eol == 2 ? 1 : 2];
	bool closing = false;
	int mp = find_boundary(p, n, &closing);
	if (mp >= 0) {
		if (top(p)->in_header)
			finish_field(p);
		boundary_line(p, mp, closing);
	} else if (top(p)->in_header) {
		header_line(p, n, eol);
	} else {
		p->prev_kind = PREV_BODY;
	}
	p->prev_eol = eol;
}

static void start_line(struct mime_parser *p)
{
	p->in_line = true;
	p->line = p->at;
	p->line_len = 0;
	p->kept = 0;
	p->prev_cr = false;
	memset(p->last, 0, sizeof(p->last));
	p->keep = top(p)->in_header ? HEADER_KEEP : p->nactive > 0 ? BODY_KEEP : 0;
}

static void line_append(struct mime_parser *p, const unsigned char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->kept < p->keep) {
		size_t k = p->keep - p->kept < n ? p->keep - p->kept : n;
		memcpy(p->lbuf + p->kept, s, k);
		p->kept += k;
	}
	p->line_len += n;
	p->at.pos += n;
	p->at.crlf += n;
	p->prev_cr = s[n - 1] == '\r';
	for (size_t i = n > 3 ? n - 3 : 0; i < n; i++) {
		p->last[0] = p->last[1];
		p->last[1] = p->last[2];
		p->last[2] = (char)s[i];
	}
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	const unsigned char *d = data;
	size_t i = 0;
	while (i < len) {
		if (!p->in_line)
			start_line(p);
		const unsigned char *lf = memchr(d + i, '\n', len - i);
		size_t seg = lf != NULL ? (size_t)(lf - (d + i)) : len - i;
		line_append(p, d + i, seg);
		i += seg;
		if (lf == NULL)
			break;
		i++;
		/* a bare LF is sent as CRLF: it counts 2 */
		p->at.pos++;
		p->at.crlf += p->prev_cr ? 1 : 2;
		p->at.nl++;
		p->in_line = false;
		process_line(p, p->prev_cr ? 2 : 1);
	}
}

struct mime_tree *mime_parser_finish(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	if (p->in_line) {
		p->in_line = false;
		process_line(p, 0); /* the last line, without a line break */
	}
	if (top(p)->in_header)
		finish_field(p);
	while (p->depth > 0)
		close_top(p, &p->at);
	struct mime_tree *t = p->t;
	t->size = p->at.pos;
	t->crlf_size = p->at.crlf;
	for (uint32_t i = 0; i < t->nparts; i++) {
		if (t->parts[i].flags != 0)
			t->flags |= MIME_TREE_LIMITED;
	}
	p->t = NULL;
	mime_parser_free(pp);
	return t;
}

struct mime_tree *mime_parse(const void *data, size_t len)
{
	struct mime_parser *p = mime_parser_new();
	mime_parser_feed(p, data, len);
	return mime_parser_finish(&p);
}
