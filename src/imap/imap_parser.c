/*
 * imap_parser.c - the incremental IMAP command parser's public side: the
 * feed loop with its limits, literal announcements and the caller's
 * decisions, literal data, resynchronisation after errors, and line mode.
 * The grammar itself is in imap_parser_lex.c, the argument tree in
 * imap_parser_tree.c; the contract is in imap_parser.h.
 */
#include "imap_parser_private.h"

#include "lib/mem.h"

#include <assert.h>
#include <string.h>

void imap_parser_limits_default(struct imap_parser_limits *limits, bool authenticated)
{
	limits->max_line = authenticated ? IMAP_MAX_LINE : IMAP_MAX_LINE_PREAUTH;
	limits->max_command = authenticated ? IMAP_MAX_COMMAND : IMAP_MAX_COMMAND_PREAUTH;
	limits->max_literal = authenticated ? IMAP_MAX_LITERAL : IMAP_MAX_LITERAL_PREAUTH;
	limits->max_nonsync = IMAP_LITERAL_MINUS_MAX;
	limits->max_depth = authenticated ? IMAP_MAX_DEPTH : IMAP_MAX_DEPTH_PREAUTH;
	limits->max_args = authenticated ? IMAP_MAX_ARGS : IMAP_MAX_ARGS_PREAUTH;
}

static void imap_parser_check_limits(const struct imap_parser_limits *l)
{
	assert(l->max_depth >= 1 && l->max_depth <= IMAP_PARSER_DEPTH_CAP);
	assert(l->max_args >= 1 && l->max_args < UINT32_MAX - 1);
	assert(l->max_line >= 1 && l->max_command >= 1);
	assert(l->max_command <= SIZE_MAX / 4);
	(void)l;
}

/* Start a new command (or line): everything of the previous one goes. */
static void imap_parser_begin(struct imap_parser *p)
{
	imap_parser_tree_reset(p);
	p->state = IMAP_PS_TAG;
	p->have_tag = false;
	p->tag_off = p->tag_len = 0;
	p->name_off = p->name_len = 0;
	p->line_len = 0;
	p->cmd_bytes = 0;
	p->busy = false;
	p->line_mode = false;
	p->pending_cr = false;
	p->remaining = 0;
	imap_parser_tail_reset(&p->tail);
	memset(&p->err, 0, sizeof(p->err));
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xmalloc(sizeof(*p));
	imap_parser_check_limits(limits);
	p->lim = *limits;
	imap_parser_tree_init(p);
	imap_parser_begin(p);
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	imap_parser_tree_deinit(p);
	xfree(*pp);
}

void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits)
{
	assert(p->state == IMAP_PS_DONE || (p->state == IMAP_PS_TAG && !p->busy));
	imap_parser_check_limits(limits);
	p->lim = *limits;
}

/* ---- errors ---- */

/* How resync continues after the error just recorded: by default the
 * rest of the current line is discarded, starting with the byte that was
 * refused (it was not consumed). */
static void imap_parser_resync_plan(struct imap_parser *p, uint64_t data, bool line)
{
	p->err.discard = data;
	p->remaining = data;
	p->resync_line = line;
}

void imap_parser_fail(struct imap_parser *p, enum imap_parse_error_code code, const char *reason)
{
	p->err.code = code;
	p->err.reason = reason;
	p->err.tag = p->have_tag ? p->buf + p->tag_off : NULL;
	p->err.tag_len = p->have_tag ? p->tag_len : 0;
	p->err.fatal = false;
	imap_parser_resync_plan(p, 0, true);
	p->state = IMAP_PS_ERROR;
}

/* An error about a literal whose announcement was consumed: the client
 * sends a non-synchronizing literal's data and the rest of the command
 * anyway (RFC 7888 4); after a synchronizing one it sends nothing more of
 * this command (RFC 9051 7.5). */
static void imap_parser_fail_literal(struct imap_parser *p, enum imap_parse_error_code code,
				     const char *reason)
{
	imap_parser_fail(p, code, reason);
	bool huge = p->lit_overflow || p->lit_n > IMAP_NUMBER64_MAX;
	if (!p->lit_plus) {
		imap_parser_resync_plan(p, 0, false);
	} else if (huge) {
		p->err.fatal = true; /* cannot be skipped: the client is broken */
	} else {
		imap_parser_resync_plan(p, p->lit_n, true);
	}
}

const struct imap_parse_error *imap_parser_error(const struct imap_parser *p)
{
	assert(p->state == IMAP_PS_ERROR);
	return &p->err;
}

bool imap_parser_resync(struct imap_parser *p)
{
	assert(p->state == IMAP_PS_ERROR);
	if (p->err.fatal)
		return false;
	if (p->remaining > 0) {
		p->state = IMAP_PS_SKIP_DATA;
	} else if (p->resync_line) {
		p->state = IMAP_PS_SKIP_LINE;
	} else {
		imap_parser_begin(p);
	}
	return true;
}

/* ---- discarding (resync) ---- */

enum imap_skip_status { IMAP_SKIP_MORE, IMAP_SKIP_DONE, IMAP_SKIP_FATAL };

/* Discard from in[*i...]; IMAP_SKIP_DONE when the failed command is over. */
static enum imap_skip_status imap_parser_skip(struct imap_parser *p, const unsigned char *in,
					      size_t len, size_t *i)
{
	while (*i < len) {
		if (p->state == IMAP_PS_SKIP_DATA) {
			size_t k = len - *i;
			if (k > p->remaining)
				k = (size_t)p->remaining;
			*i += k;
			p->remaining -= k;
			if (p->remaining == 0) {
				p->state = IMAP_PS_SKIP_LINE;
				imap_parser_tail_reset(&p->tail);
			}
			continue;
		}
		unsigned char c = in[(*i)++];
		if (c != '\n') {
			imap_parser_tail_byte(&p->tail, c);
			continue;
		}
		if (p->line_mode || !imap_parser_tail_literal(&p->tail) || !p->tail.plus)
			return IMAP_SKIP_DONE;
		if (p->tail.overflow || p->tail.n > IMAP_NUMBER64_MAX)
			return IMAP_SKIP_FATAL;
		p->remaining = p->tail.n;
		p->state = p->remaining > 0 ? IMAP_PS_SKIP_DATA : IMAP_PS_SKIP_LINE;
		imap_parser_tail_reset(&p->tail);
	}
	return IMAP_SKIP_MORE;
}

/* Run the skip for a feed call: true if the caller may go on parsing
 * from in[*i]; false with *result set otherwise. */
static bool imap_parser_run_skip(struct imap_parser *p, const unsigned char *in, size_t len,
				 size_t *i, enum imap_parse_result *result)
{
	switch (imap_parser_skip(p, in, len, i)) {
	case IMAP_SKIP_MORE:
		*result = IMAP_PARSE_NEED_MORE;
		return false;
	case IMAP_SKIP_FATAL:
		imap_parser_fail(p, IMAP_PERR_NONSYNC, "Literal size out of range");
		p->err.fatal = true;
		*result = IMAP_PARSE_ERROR;
		return false;
	default:
		imap_parser_begin(p);
		return true;
	}
}

/* ---- literals ---- */

/* The LF of "{n}" CRLF was consumed: check the announcement. */
static enum imap_parse_result imap_parser_announce(struct imap_parser *p)
{
	bool huge = p->lit_overflow || p->lit_n > IMAP_NUMBER64_MAX;
	p->line_len = 0;
	imap_parser_tail_reset(&p->tail);
	if (p->lit_plus && p->lim.max_nonsync == 0) {
		imap_parser_fail_literal(p, IMAP_PERR_NONSYNC,
		                         "Non-synchronizing literals not allowed");
		return IMAP_PARSE_ERROR;
	}
	if (p->lit_plus && (huge || p->lit_n > p->lim.max_nonsync)) {
		imap_parser_fail_literal(p, IMAP_PERR_NONSYNC,
		                         "Non-synchronizing literal too large");
		return IMAP_PARSE_ERROR;
	}
	if (huge || p->lit_n > p->lim.max_literal) {
		imap_parser_fail_literal(p, IMAP_PERR_TOO_BIG, "Literal too large");
		return IMAP_PARSE_ERROR;
	}
	if (p->nnodes - 1 >= p->lim.max_args) {
		imap_parser_fail_literal(p, IMAP_PERR_TOO_MANY_ARGS, "Too many arguments");
		return IMAP_PARSE_ERROR;
	}
	p->lit.size = p->lit_n;
	p->lit.sync = !p->lit_plus;
	p->lit.literal8 = p->lit8;
	p->lit.depth = p->depth;
	p->lit.index = p->nodes[p->stack[p->depth]].count;
	p->state = IMAP_PS_DECIDE;
	return IMAP_PARSE_LITERAL;
}

const struct imap_literal *imap_parser_literal(const struct imap_parser *p)
{
	assert(p->state == IMAP_PS_DECIDE);
	return &p->lit;
}

static void imap_parser_literal_node(struct imap_parser *p, enum imap_arg_type type)
{
	bool ok = imap_parser_tree_add(p, type, &p->cur);
	assert(ok); /* imap_parser_announce checked max_args */
	(void)ok;
	struct imap_pnode *n = &p->nodes[p->cur];
	n->flags = (p->lit.sync ? 0 : IMAP_ARG_NONSYNC) | (p->lit.literal8 ? IMAP_ARG_LITERAL8 : 0);
	p->remaining = p->lit.size;
}

/* A literal's data is complete: the command line goes on after it. */
static void imap_parser_literal_done(struct imap_parser *p)
{
	p->state = IMAP_PS_AFTER;
	p->line_len = 0;
	imap_parser_tail_reset(&p->tail);
}

enum imap_parse_result imap_parser_literal_store(struct imap_parser *p)
{
	assert(p->state == IMAP_PS_DECIDE);
	if (p->lit.size > p->lim.max_command - p->cmd_bytes) {
		imap_parser_fail_literal(p, IMAP_PERR_TOO_BIG, "Command too large");
		return IMAP_PARSE_ERROR;
	}
	imap_parser_literal_node(p, IMAP_ARG_LITERAL);
	imap_parser_tree_reserve(p, (size_t)p->lit.size + 1);
	p->cmd_bytes += (size_t)p->lit.size;
	p->state = IMAP_PS_LIT_DATA;
	if (p->remaining == 0) {
		p->nodes[p->cur].len = 0;
		imap_parser_tree_putc(p, '\0');
		imap_parser_literal_done(p);
	}
	return IMAP_PARSE_NEED_MORE;
}

void imap_parser_literal_stream(struct imap_parser *p)
{
	assert(p->state == IMAP_PS_DECIDE);
	imap_parser_literal_node(p, IMAP_ARG_STREAMED);
	p->nodes[p->cur].len = (size_t)p->lit.size;
	p->state = IMAP_PS_STREAM;
}

void imap_parser_literal_refuse(struct imap_parser *p)
{
	assert(p->state == IMAP_PS_DECIDE);
	imap_parser_fail_literal(p, IMAP_PERR_TOO_BIG, "Literal refused");
	bool ok = imap_parser_resync(p);
	assert(ok); /* announce refused sizes that cannot be skipped */
	(void)ok;
}

uint64_t imap_parser_stream_remaining(const struct imap_parser *p)
{
	return p->state == IMAP_PS_STREAM ? p->remaining : 0;
}

/* Copy literal data from in[0..len); returns the bytes used. A NUL in a
 * literal that is not literal8 is an error (RFC 9051 9: CHAR8). */
static size_t imap_parser_store_data(struct imap_parser *p, const unsigned char *in, size_t len)
{
	size_t k = len < p->remaining ? len : (size_t)p->remaining;
	struct imap_pnode *n = &p->nodes[p->cur];
	if ((n->flags & IMAP_ARG_LITERAL8) == 0) {
		const unsigned char *nul = memchr(in, '\0', k);
		if (nul != NULL) {
			size_t good = (size_t)(nul - in);
			imap_parser_tree_put(p, in, good);
			uint64_t rest = p->remaining - good;
			imap_parser_fail(p, IMAP_PERR_SYNTAX, "NUL in literal");
			imap_parser_resync_plan(p, rest, true);
			return good;
		}
	}
	imap_parser_tree_put(p, in, k);
	p->remaining -= k;
	if (p->remaining == 0) {
		n->len = p->len - n->off;
		imap_parser_tree_putc(p, '\0');
		imap_parser_literal_done(p);
	}
	return k;
}

static enum imap_parse_result imap_parser_stream(struct imap_parser *p, size_t len,
						 size_t *consumed_r)
{
	if (p->remaining == 0) {
		imap_parser_literal_done(p);
		return IMAP_PARSE_LITERAL_END;
	}
	if (len == 0)
		return IMAP_PARSE_NEED_MORE;
	size_t k = len < p->remaining ? len : (size_t)p->remaining;
	p->remaining -= k;
	*consumed_r = k;
	return IMAP_PARSE_LITERAL_DATA;
}

/* ---- the feed loop ---- */

/* One byte of a command line: the limits, then the grammar. */
static enum imap_lex_status imap_parser_line_byte(struct imap_parser *p, unsigned char c)
{
	bool eol = c == '\r' || c == '\n';
	if (!eol && p->line_len >= p->lim.max_line) {
		imap_parser_fail(p, IMAP_PERR_LINE_TOO_LONG, "Line too long");
		return IMAP_LEX_ERROR;
	}
	if (!eol && p->cmd_bytes >= p->lim.max_command) {
		imap_parser_fail(p, IMAP_PERR_TOO_BIG, "Command too large");
		return IMAP_LEX_ERROR;
	}
	enum imap_lex_status st = imap_parser_lex_byte(p, c);
	if (st == IMAP_LEX_ERROR)
		return st;
	p->busy = true;
	if (!eol) {
		p->line_len++;
		p->cmd_bytes++;
	}
	imap_parser_tail_byte(&p->tail, c);
	return st;
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *input, size_t len,
					size_t *consumed_r)
{
	const unsigned char *in = input;
	enum imap_parse_result result = IMAP_PARSE_NEED_MORE;
	size_t i = 0;
	*consumed_r = 0;
	assert(p->state != IMAP_PS_DECIDE);
	assert(p->state != IMAP_PS_LINE);
	if (p->state == IMAP_PS_ERROR)
		return IMAP_PARSE_ERROR;
	if (p->state == IMAP_PS_STREAM)
		return imap_parser_stream(p, len, consumed_r);
	if (p->state == IMAP_PS_DONE)
		imap_parser_begin(p);
	while (i < len) {
		if (p->state == IMAP_PS_SKIP_DATA || p->state == IMAP_PS_SKIP_LINE) {
			if (!imap_parser_run_skip(p, in, len, &i, &result))
				break;
			continue;
		}
		if (p->state == IMAP_PS_LIT_DATA) {
			i += imap_parser_store_data(p, in + i, len - i);
			if (p->state == IMAP_PS_ERROR) {
				result = IMAP_PARSE_ERROR;
				break;
			}
			continue;
		}
		enum imap_lex_status st = imap_parser_line_byte(p, in[i]);
		if (st == IMAP_LEX_ERROR) {
			result = IMAP_PARSE_ERROR;
			break;
		}
		i++;
		if (st == IMAP_LEX_COMMAND) {
			p->state = IMAP_PS_DONE;
			result = IMAP_PARSE_COMMAND;
			break;
		}
		if (st == IMAP_LEX_LITERAL) {
			result = imap_parser_announce(p);
			break;
		}
	}
	*consumed_r = i;
	return result;
}

const struct imap_command *imap_parser_command(struct imap_parser *p)
{
	imap_parser_tree_publish(p);
	return &p->cmd;
}

/* ---- line mode ---- */

static enum imap_lex_status imap_parser_line_mode_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		imap_parser_tree_putc(p, '\0');
		p->len--; /* the NUL is not part of the line */
		return IMAP_LEX_COMMAND;
	}
	/* a CR is held back until we know it is not the end of the line */
	if (p->pending_cr) {
		if (p->len >= p->lim.max_line)
			goto too_long;
		imap_parser_tree_putc(p, '\r');
		p->pending_cr = false;
	}
	if (c == '\r') {
		p->pending_cr = true;
		return IMAP_LEX_OK;
	}
	if (p->len >= p->lim.max_line)
		goto too_long;
	imap_parser_tree_putc(p, (char)c);
	return IMAP_LEX_OK;
too_long:
	imap_parser_fail(p, IMAP_PERR_LINE_TOO_LONG, "Line too long");
	return IMAP_LEX_ERROR;
}

static void imap_parser_begin_line(struct imap_parser *p)
{
	imap_parser_begin(p);
	p->line_mode = true;
	p->state = IMAP_PS_LINE;
}

enum imap_parse_result imap_parser_feed_line(struct imap_parser *p, const void *input, size_t len,
					     size_t *consumed_r)
{
	const unsigned char *in = input;
	enum imap_parse_result result = IMAP_PARSE_NEED_MORE;
	size_t i = 0;
	*consumed_r = 0;
	if (p->state == IMAP_PS_ERROR)
		return IMAP_PARSE_ERROR;
	if (p->state == IMAP_PS_DONE || (p->state == IMAP_PS_TAG && !p->busy))
		imap_parser_begin_line(p);
	while (i < len) {
		if (p->state == IMAP_PS_SKIP_DATA || p->state == IMAP_PS_SKIP_LINE) {
			if (!imap_parser_run_skip(p, in, len, &i, &result))
				break;
			imap_parser_begin_line(p);
			continue;
		}
		assert(p->state == IMAP_PS_LINE); /* not in the middle of a command */
		enum imap_lex_status st = imap_parser_line_mode_byte(p, in[i]);
		if (st == IMAP_LEX_ERROR) {
			result = IMAP_PARSE_ERROR;
			break;
		}
		i++;
		p->busy = true;
		if (st == IMAP_LEX_COMMAND) {
			p->state = IMAP_PS_DONE;
			result = IMAP_PARSE_LINE;
			break;
		}
	}
	*consumed_r = i;
	return result;
}

const char *imap_parser_line(const struct imap_parser *p, size_t *len_r)
{
	assert(p->state == IMAP_PS_DONE && p->line_mode);
	*len_r = p->len;
	return p->buf;
}

bool imap_parser_busy(const struct imap_parser *p)
{
	switch (p->state) {
	case IMAP_PS_DONE:
	case IMAP_PS_ERROR:
	case IMAP_PS_SKIP_DATA:
	case IMAP_PS_SKIP_LINE:
		return false;
	case IMAP_PS_TAG:
	case IMAP_PS_LINE:
		return p->busy;
	default:
		return true;
	}
}
