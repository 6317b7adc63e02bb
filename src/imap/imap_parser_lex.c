/*
 * imap_parser_lex.c - the byte-at-a-time state machine of the IMAP command
 * grammar (RFC 9051 9); see imap_parser.h for the accepted language.
 *
 * One function per state takes one byte of a command line (never literal
 * data: imap_parser.c copies that in bulk). A byte that is wrong is not
 * consumed: the error is set and resync starts discarding at that byte,
 * so the tail recogniser sees the whole rest of the line.
 */
#include "imap_parser_private.h"

#include <string.h>
#include <strings.h>

enum { TAIL_NONE, TAIL_OPEN, TAIL_DIGITS, TAIL_PLUS, TAIL_CLOSE, TAIL_CLOSE_CR };

/* ---- character classes (RFC 9051 9) ---- */

/* The parser's broad atom: any CHAR except SP, CTL, "(", ")", "{", DQUOTE
 * and "\" (which only starts a flag). */
static bool imap_lex_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"' && c != '\\';
}

/* RFC 9051 ATOM-CHAR: also without list-wildcards and resp-specials. */
static bool imap_lex_strict_atom_char(unsigned char c)
{
	return imap_lex_atom_char(c) && c != '%' && c != '*' && c != ']';
}

/* tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR adds "]". */
static bool imap_lex_tag_char(unsigned char c)
{
	return (imap_lex_strict_atom_char(c) || c == ']') && c != '+';
}

static bool imap_lex_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* ---- the tail recogniser (for resync) ---- */

void imap_parser_tail_reset(struct imap_tail *t)
{
	memset(t, 0, sizeof(*t));
}

void imap_parser_tail_byte(struct imap_tail *t, unsigned char c)
{
	if (c == '{') {
		imap_parser_tail_reset(t);
		t->state = TAIL_OPEN;
	} else if (imap_lex_digit(c) && (t->state == TAIL_OPEN || t->state == TAIL_DIGITS)) {
		uint64_t d = (uint64_t)(c - '0');
		if (t->n > (UINT64_MAX - d) / 10)
			t->overflow = true;
		else
			t->n = t->n * 10 + d;
		t->state = TAIL_DIGITS;
	} else if (c == '+' && t->state == TAIL_DIGITS) {
		t->plus = true;
		t->state = TAIL_PLUS;
	} else if (c == '}' && (t->state == TAIL_DIGITS || t->state == TAIL_PLUS)) {
		t->state = TAIL_CLOSE;
	} else if (c == '\r' && t->state == TAIL_CLOSE) {
		t->state = TAIL_CLOSE_CR;
	} else if (c != '\n') {
		t->state = TAIL_NONE;
	}
}

bool imap_parser_tail_literal(const struct imap_tail *t)
{
	return t->state == TAIL_CLOSE || t->state == TAIL_CLOSE_CR;
}

/* ---- building values ---- */

static enum imap_lex_status imap_lex_fail(struct imap_parser *p, enum imap_parse_error_code code,
					  const char *reason)
{
	imap_parser_fail(p, code, reason);
	return IMAP_LEX_ERROR;
}

static enum imap_lex_status imap_lex_new_value(struct imap_parser *p, enum imap_arg_type type,
					       enum imap_pstate next)
{
	if (!imap_parser_tree_add(p, type, &p->cur))
		return imap_lex_fail(p, IMAP_PERR_TOO_MANY_ARGS, "Too many arguments");
	p->state = next;
	return IMAP_LEX_OK;
}

/* Terminate the text of node cur. */
static void imap_lex_end_text(struct imap_parser *p)
{
	struct imap_pnode *n = &p->nodes[p->cur];
	n->len = p->len - n->off;
	imap_parser_tree_putc(p, '\0');
}

static bool imap_lex_section_prefix(const char *s, size_t len)
{
	static const char *const names[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
	                                    "BINARY.SIZE"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
			return true;
	}
	return false;
}

static enum imap_lex_status imap_lex_open(struct imap_parser *p, enum imap_arg_type type)
{
	if (p->depth >= p->lim.max_depth)
		return imap_lex_fail(p, IMAP_PERR_TOO_DEEP, "Too deeply nested");
	if (type == IMAP_ARG_LIST) {
		enum imap_lex_status st = imap_lex_new_value(p, IMAP_ARG_LIST, IMAP_PS_ARG);
		if (st != IMAP_LEX_OK)
			return st;
	} else {
		p->in_section = true;
		p->state = IMAP_PS_ARG;
	}
	p->stack[++p->depth] = p->cur;
	return IMAP_LEX_OK;
}

/* ---- line ends and separators, shared by several states ---- */

static enum imap_lex_status imap_lex_line_end(struct imap_parser *p)
{
	if (p->depth > 0) {
		return imap_lex_fail(p, IMAP_PERR_SYNTAX,
		                     p->in_section ? "Missing ']'" : "Missing ')'");
	}
	return IMAP_LEX_COMMAND;
}

/* c follows a complete value (or the command name when args are allowed). */
static enum imap_lex_status imap_lex_after(struct imap_parser *p, unsigned char c)
{
	struct imap_pnode *top = &p->nodes[p->stack[p->depth]];
	switch (c) {
	case ' ':
		p->state = IMAP_PS_ARG;
		return IMAP_LEX_OK;
	case ')':
		if (p->depth == 0 || top->type != IMAP_ARG_LIST)
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Unexpected ')'");
		p->depth--;
		p->state = IMAP_PS_AFTER;
		return IMAP_LEX_OK;
	case ']':
		if (p->depth == 0 || top->type != IMAP_ARG_SECTION)
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Unexpected ']'");
		p->depth--;
		p->in_section = false;
		p->cur = p->stack[p->depth + 1];
		top->suffix_off = p->len;
		p->state = IMAP_PS_SUFFIX;
		return IMAP_LEX_OK;
	case '\r':
		p->state = IMAP_PS_CR;
		return IMAP_LEX_OK;
	case '\n':
		return imap_lex_line_end(p);
	default:
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Expected a space between arguments");
	}
}

/* ---- the states ---- */

static enum imap_lex_status imap_lex_tag(struct imap_parser *p, unsigned char c)
{
	if (imap_lex_tag_char(c)) {
		imap_parser_tree_putc(p, (char)c);
		return IMAP_LEX_OK;
	}
	if (p->len == 0) {
		if (c == '\r' || c == '\n')
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Empty command line");
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid tag");
	}
	if (c != ' ' && c != '\r' && c != '\n')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid tag");
	p->tag_len = p->len;
	imap_parser_tree_putc(p, '\0');
	p->have_tag = true;
	if (c != ' ')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Missing command name");
	p->name_off = p->len;
	p->state = IMAP_PS_NAME;
	return IMAP_LEX_OK;
}

static enum imap_lex_status imap_lex_name(struct imap_parser *p, unsigned char c)
{
	if (imap_lex_strict_atom_char(c)) {
		imap_parser_tree_putc(p, (char)c);
		p->name_len++;
		return IMAP_LEX_OK;
	}
	if (c != ' ' && c != '\r' && c != '\n')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid command name");
	if (p->name_len == 0)
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Missing command name");
	imap_parser_tree_putc(p, '\0');
	return imap_lex_after(p, c);
}

static enum imap_lex_status imap_lex_arg(struct imap_parser *p, unsigned char c)
{
	struct imap_pnode *top = &p->nodes[p->stack[p->depth]];
	switch (c) {
	case '(':
		return imap_lex_open(p, IMAP_ARG_LIST);
	case ')':
	case ']':
		/* only right after "(" or "[": an empty list or section */
		if (p->depth > 0 && top->count == 0 &&
		    top->type == (c == ')' ? IMAP_ARG_LIST : IMAP_ARG_SECTION))
			return imap_lex_after(p, c);
		if (c == ']' && !p->in_section)
			break; /* "]" starts an atom (ASTRING-CHAR) */
		return imap_lex_fail(p, IMAP_PERR_SYNTAX,
		                     c == ')' ? "Unexpected ')'" : "Unexpected ']'");
	case '"':
		p->u8_need = 0;
		return imap_lex_new_value(p, IMAP_ARG_QUOTED, IMAP_PS_QUOTED);
	case '{':
		p->lit8 = false;
		p->state = IMAP_PS_LIT_OPEN;
		return IMAP_LEX_OK;
	case '~':
		p->state = IMAP_PS_TILDE;
		return IMAP_LEX_OK;
	case ' ':
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Unexpected space");
	case '\r':
	case '\n':
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Missing argument");
	default:
		break;
	}
	if (!imap_lex_atom_char(c) && c != '\\')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid character");
	enum imap_lex_status st = imap_lex_new_value(p, IMAP_ARG_ATOM, IMAP_PS_ATOM);
	if (st == IMAP_LEX_OK)
		imap_parser_tree_putc(p, (char)c);
	return st;
}

/* An atom ends: "\" alone is no flag; NIL is its own type. */
static enum imap_lex_status imap_lex_end_atom(struct imap_parser *p)
{
	struct imap_pnode *n = &p->nodes[p->cur];
	const char *s = p->buf + n->off;
	size_t len = p->len - n->off;
	if (len == 1 && s[0] == '\\')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid flag");
	if (len == 3 && strncasecmp(s, "NIL", 3) == 0)
		n->type = IMAP_ARG_NIL;
	imap_lex_end_text(p);
	return IMAP_LEX_OK;
}

static enum imap_lex_status imap_lex_atom(struct imap_parser *p, unsigned char c)
{
	struct imap_pnode *n = &p->nodes[p->cur];
	if (c == '[' && !p->in_section &&
	    imap_lex_section_prefix(p->buf + n->off, p->len - n->off)) {
		n->type = IMAP_ARG_SECTION;
		imap_lex_end_text(p);
		return imap_lex_open(p, IMAP_ARG_SECTION);
	}
	if (imap_lex_atom_char(c) && !(c == ']' && p->in_section)) {
		imap_parser_tree_putc(p, (char)c);
		return IMAP_LEX_OK;
	}
	if (c != ' ' && c != ')' && c != ']' && c != '\r' && c != '\n')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid character in atom");
	enum imap_lex_status st = imap_lex_end_atom(p);
	if (st != IMAP_LEX_OK)
		return st;
	return imap_lex_after(p, c);
}

static enum imap_lex_status imap_lex_tilde(struct imap_parser *p, unsigned char c)
{
	if (c == '{') {
		p->lit8 = true;
		p->state = IMAP_PS_LIT_OPEN;
		return IMAP_LEX_OK;
	}
	/* "~" began an atom after all (it is an ATOM-CHAR) */
	enum imap_lex_status st = imap_lex_new_value(p, IMAP_ARG_ATOM, IMAP_PS_ATOM);
	if (st != IMAP_LEX_OK)
		return st;
	imap_parser_tree_putc(p, '~');
	return imap_lex_atom(p, c);
}

static enum imap_lex_status imap_lex_suffix(struct imap_parser *p, unsigned char c)
{
	struct imap_pnode *n = &p->nodes[p->cur];
	if (imap_lex_atom_char(c) && c != '[' && c != ']') {
		imap_parser_tree_putc(p, (char)c);
		return IMAP_LEX_OK;
	}
	if (c != ' ' && c != ')' && c != '\r' && c != '\n')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid character after ']'");
	n->suffix_len = p->len - n->suffix_off;
	imap_parser_tree_putc(p, '\0');
	return imap_lex_after(p, c);
}

/* RFC 3629 4: the first byte decides the count and the range of the
 * second byte (no overlongs, no surrogates, nothing over U+10FFFF). */
static bool imap_lex_utf8_start(struct imap_parser *p, unsigned char c)
{
	p->u8_lo = 0x80;
	p->u8_hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		p->u8_need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		p->u8_need = 2;
		if (c == 0xe0)
			p->u8_lo = 0xa0;
		else if (c == 0xed)
			p->u8_hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		p->u8_need = 3;
		if (c == 0xf0)
			p->u8_lo = 0x90;
		else if (c == 0xf4)
			p->u8_hi = 0x8f;
	} else {
		return false;
	}
	return true;
}

static enum imap_lex_status imap_lex_quoted(struct imap_parser *p, unsigned char c)
{
	if (p->u8_need > 0) {
		if (c < p->u8_lo || c > p->u8_hi)
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid UTF-8 in quoted string");
		p->u8_need--;
		p->u8_lo = 0x80;
		p->u8_hi = 0xbf;
	} else if (c == '"') {
		imap_lex_end_text(p);
		p->state = IMAP_PS_AFTER;
		return IMAP_LEX_OK;
	} else if (c == '\\') {
		p->state = IMAP_PS_QUOTED_ESC;
		return IMAP_LEX_OK;
	} else if (c == '\r' || c == '\n') {
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Unterminated quoted string");
	} else if (c == '\0') {
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "NUL in quoted string");
	} else if (c >= 0x80 && !imap_lex_utf8_start(p, c)) {
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid UTF-8 in quoted string");
	}
	imap_parser_tree_putc(p, (char)c);
	return IMAP_LEX_OK;
}

static enum imap_lex_status imap_lex_quoted_esc(struct imap_parser *p, unsigned char c)
{
	/* QUOTED-CHAR: "\" quoted-specials, nothing else */
	if (c != '"' && c != '\\')
		return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid escape in quoted string");
	imap_parser_tree_putc(p, (char)c);
	p->state = IMAP_PS_QUOTED;
	return IMAP_LEX_OK;
}

/* "{" number64 ["+"] "}" CRLF, and "~{" for literal8 */
static enum imap_lex_status imap_lex_literal(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case IMAP_PS_LIT_OPEN:
		if (!imap_lex_digit(c))
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid literal");
		p->lit_n = 0;
		p->lit_overflow = false;
		p->lit_plus = false;
		p->state = IMAP_PS_LIT_DIGITS;
		/* fall through */
	case IMAP_PS_LIT_DIGITS:
		if (imap_lex_digit(c)) {
			uint64_t d = (uint64_t)(c - '0');
			if (p->lit_n > (UINT64_MAX - d) / 10)
				p->lit_overflow = true;
			else
				p->lit_n = p->lit_n * 10 + d;
			return IMAP_LEX_OK;
		}
		if (c != '+' && c != '}')
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid literal");
		p->lit_plus = c == '+';
		p->state = c == '+' ? IMAP_PS_LIT_PLUS : IMAP_PS_LIT_CLOSE;
		return IMAP_LEX_OK;
	case IMAP_PS_LIT_PLUS:
		if (c != '}')
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Invalid literal");
		p->state = IMAP_PS_LIT_CLOSE;
		return IMAP_LEX_OK;
	case IMAP_PS_LIT_CLOSE:
		if (c == '\r') {
			p->state = IMAP_PS_LIT_CR;
			return IMAP_LEX_OK;
		}
		/* fall through */
	default: /* IMAP_PS_LIT_CR */
		if (c != '\n')
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "Literal must end the line");
		return IMAP_LEX_LITERAL;
	}
}

enum imap_lex_status imap_parser_lex_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case IMAP_PS_TAG:
		return imap_lex_tag(p, c);
	case IMAP_PS_NAME:
		return imap_lex_name(p, c);
	case IMAP_PS_ARG:
		return imap_lex_arg(p, c);
	case IMAP_PS_AFTER:
		return imap_lex_after(p, c);
	case IMAP_PS_ATOM:
		return imap_lex_atom(p, c);
	case IMAP_PS_TILDE:
		return imap_lex_tilde(p, c);
	case IMAP_PS_QUOTED:
		return imap_lex_quoted(p, c);
	case IMAP_PS_QUOTED_ESC:
		return imap_lex_quoted_esc(p, c);
	case IMAP_PS_SUFFIX:
		return imap_lex_suffix(p, c);
	case IMAP_PS_CR:
		if (c != '\n')
			return imap_lex_fail(p, IMAP_PERR_SYNTAX, "CR not followed by LF");
		return imap_lex_line_end(p);
	default:
		return imap_lex_literal(p, c);
	}
}
