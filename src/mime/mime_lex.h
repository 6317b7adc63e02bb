/*
 * mime_lex.h - the lexical layer shared by the header-field parsers
 * (internal to src/mime/): white space, comments, tokens, atoms and
 * quoted strings of RFC 5322 3.2 and RFC 2045 5.1.
 *
 * A lexer walks (p, end) of one unfolded field value; nothing here
 * allocates except through the caller's bounded struct buf, and every
 * function stops at end, so unterminated comments and quoted strings
 * simply run to the end of the value.
 */
#ifndef YUBIN_MIME_LEX_H
#define YUBIN_MIME_LEX_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

struct mime_lex {
	const unsigned char *p, *end;
};

void mime_lex_init(struct mime_lex *lx, const void *data, size_t len);
bool mime_lex_eof(const struct mime_lex *lx);
/* The next byte, or -1 at the end. */
int mime_lex_peek(const struct mime_lex *lx);

/* Skip white space (SP, HT, CR, LF) and comments. If comment is not NULL
 * it is reset to the content of each comment met (nested comments kept
 * with their parentheses, quoted-pairs resolved), so the last one stays.
 * Returns true if anything was skipped. */
bool mime_lex_skip_cfws(struct mime_lex *lx, struct buf *comment);

/* RFC 2045 token (with 8-bit bytes allowed, as sent by real mailers):
 * returns its length (0 if none) and moves past it; *start_r is set. */
size_t mime_lex_token(struct mime_lex *lx, const unsigned char **start_r);

/* RFC 5322 atext run (8-bit bytes allowed, RFC 6532). */
size_t mime_lex_atom(struct mime_lex *lx, const unsigned char **start_r);
bool mime_lex_is_atext(unsigned char c);

/* At '"': append the quoted string's content to out with quoted-pairs
 * resolved and move past the closing quote (or to the end). Bytes that
 * do not fit in out are dropped. */
void mime_lex_quoted(struct mime_lex *lx, struct buf *out);

/* At '[': append the domain literal, brackets included, white space
 * removed, and move past ']' (or to the end). */
void mime_lex_domain_literal(struct mime_lex *lx, struct buf *out);

#endif
