/*
 * mime_lex.c - tokens, atoms, quoted strings and comments of header field
 * values (RFC 5322 3.2.1-3.2.4, RFC 2045 5.1); see mime_lex.h.
 */
#include "mime/mime_lex.h"

#include <string.h>

void mime_lex_init(struct mime_lex *lx, const void *data, size_t len)
{
	lx->p = data;
	lx->end = lx->p + len;
}

bool mime_lex_eof(const struct mime_lex *lx)
{
	return lx->p >= lx->end;
}

int mime_lex_peek(const struct mime_lex *lx)
{
	return lx->p < lx->end ? *lx->p : -1;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* At '(': skip one comment, nesting included (RFC 5322 3.2.2). The
 * content goes to out (if not NULL) without the outer parentheses. */
static void skip_comment(struct mime_lex *lx, struct buf *out)
{
	unsigned depth = 0;
	while (lx->p < lx->end) {
		unsigned char c = *lx->p++;
		if (c == '\\' && lx->p < lx->end) {
			c = *lx->p++;
		} else if (c == '(') {
			if (depth++ == 0)
				continue;
		} else if (c == ')') {
			if (--depth == 0)
				return;
		}
		if (out != NULL)
			(void)buf_append_byte(out, (char)c);
	}
}

bool mime_lex_skip_cfws(struct mime_lex *lx, struct buf *comment)
{
	const unsigned char *start = lx->p;
	while (lx->p < lx->end) {
		if (is_ws(*lx->p)) {
			lx->p++;
		} else if (*lx->p == '(') {
			if (comment != NULL)
				buf_reset(comment);
			skip_comment(lx, comment);
		} else {
			break;
		}
	}
	return lx->p != start;
}

static bool is_token_char(unsigned char c)
{
	/* RFC 2045 5.1: any CHAR except SPACE, CTLs and tspecials */
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

size_t mime_lex_token(struct mime_lex *lx, const unsigned char **start_r)
{
	*start_r = lx->p;
	while (lx->p < lx->end && is_token_char(*lx->p))
		lx->p++;
	return (size_t)(lx->p - *start_r);
}

bool mime_lex_is_atext(unsigned char c)
{
	/* RFC 5322 3.2.3 atext, plus UTF8-non-ascii (RFC 6532 3.2) */
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

size_t mime_lex_atom(struct mime_lex *lx, const unsigned char **start_r)
{
	*start_r = lx->p;
	while (lx->p < lx->end && mime_lex_is_atext(*lx->p))
		lx->p++;
	return (size_t)(lx->p - *start_r);
}

void mime_lex_quoted(struct mime_lex *lx, struct buf *out)
{
	lx->p++; /* the opening quote */
	while (lx->p < lx->end) {
		unsigned char c = *lx->p++;
		if (c == '"')
			return;
		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		else if (c == '\r' || c == '\n')
			continue; /* left over from folding (RFC 5322 3.2.4) */
		(void)buf_append_byte(out, (char)c);
	}
}

void mime_lex_domain_literal(struct mime_lex *lx, struct buf *out)
{
	while (lx->p < lx->end) {
		unsigned char c = *lx->p++;
		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		else if (is_ws(c))
			continue;
		(void)buf_append_byte(out, (char)c);
		if (c == ']')
			return;
	}
}
