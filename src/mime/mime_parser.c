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
#include "mime/mime_parser_private.h"
#include "mime/mime_tree_private.h"

#include "lib/mem.h"

#include <stddef.h>
#include <string.h>

struct mime_parser *mime_parser_new(void)
{
	struct mime_parser *p = xmalloc(sizeof(*p));
	p->t = mime_tree_new();
	p->lbuf = xmalloc(HEADER_KEEP);
	buf_init(&p->fbuf, MIME_MAX_FIELD);
	p->prev_kind = PREV_BOUNDARY; /* nothing before the first line to give */
	/* part 0: the message, its header starts at offset 0 */
	(void)mime_tree_add_part(p->t, MIME_NONE);
	p->stack[0].part = 0;
	p->stack[0].in_header = true;
	p->depth = 1;
	mime_parser_header_start(p, true);
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
	mime_parser_header_start(p, p->t->parts[parent].kind == MIME_KIND_MESSAGE);
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
	bool in_digest =
	    part->parent != MIME_NONE && p->depth >= 2 && p->stack[p->depth - 2].digest;
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
	mime_parser_header_end(p, o->part);
	struct mime_part *part = &p->t->parts[o->part];
	part->hdr_len = end->pos - o->hdr.pos;
	part->hdr_size = end->crlf - o->hdr.crlf;
	part->body_off = end->pos;
	o->body = *end;
	o->in_header = false;
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
                                       const struct counters *at_line,
                                       const struct counters *before)
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
	if (n == 0 && eol > 0)
		end_header(p, &p->at); /* the empty line is part of the header */
	else
		mime_parser_header_line(p, p->lbuf, kept, n);
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
			mime_parser_header_finish(p);
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
		mime_parser_header_finish(p);
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
