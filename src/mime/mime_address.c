/*
 * mime_address.c - RFC 5322 address-list parser for ENVELOPE; see
 * mime_address.h.
 *
 * Recursive descent over mime_lex: address-list -> address (group or
 * mailbox) -> name-addr / addr-spec. Every loop consumes input or stops,
 * so any byte string terminates; the number of addresses is bounded by
 * the length of the value.
 *
 * Differences from Dovecot 2.3 (on malformed input only): empty list
 * members are skipped instead of giving a MISSING_MAILBOX entry, and an
 * unterminated "<a@b" keeps its domain instead of "SYNTAX_ERROR".
 */
#include "mime/mime_address.h"
#include "mime/mime_lex.h"

#include "lib/mem.h"

#include <string.h>

#define NONE UINT32_MAX

void mime_addr_list_init(struct mime_addr_list *l)
{
	memset(l, 0, sizeof(*l));
	buf_init(&l->text, 0);
}

void mime_addr_list_deinit(struct mime_addr_list *l)
{
	xfree(l->v);
	buf_deinit(&l->text);
	l->count = l->cap = 0;
}

const char *mime_addr_text(const struct mime_addr_list *l, struct mime_addr_str s)
{
	return s.off == NONE ? NULL : l->text.ptr + s.off;
}

static const struct mime_addr_str absent = {NONE, 0};

static struct mime_addr_str save(struct mime_addr_list *l, const char *s, size_t len)
{
	struct mime_addr_str r = {(uint32_t)l->text.len, (uint32_t)len};
	if (l->text.len > UINT32_MAX / 2 || !buf_append(&l->text, s, len) ||
	    !buf_append_byte(&l->text, '\0'))
		return absent;
	return r;
}

static void push(struct mime_addr_list *l, const struct mime_addr *a)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->count++] = *a;
}

/* Parsing state: the lexer and scratch buffers for the parts. */
struct ctx {
	struct mime_lex lx;
	struct mime_addr_list *l;
	struct buf comment; /* last comment seen */
	bool saw_comment;
};

static void cfws(struct ctx *c)
{
	const unsigned char *before = c->lx.p;
	(void)mime_lex_skip_cfws(&c->lx, &c->comment);
	/* what was skipped is white space and comments: a '(' starts one */
	if (memchr(before, '(', (size_t)(c->lx.p - before)) != NULL)
		c->saw_comment = true;
}

/* phrase = 1*(word / "." / CFWS) (RFC 5322 3.2.5, obs-phrase 4.1):
 * words joined by one space where white space or a comment separated
 * them. Returns the number of words. */
static size_t phrase(struct ctx *c, struct buf *out)
{
	size_t words = 0;
	for (;;) {
		bool sep = false;
		const unsigned char *before = c->lx.p;
		cfws(c);
		sep = c->lx.p != before;
		int ch = mime_lex_peek(&c->lx);
		const unsigned char *tok;
		size_t n;
		if (ch < 0)
			break;
		if (ch != '"' && ch != '.' && !mime_lex_is_atext((unsigned char)ch))
			break;
		if (sep && out->len > 0)
			(void)buf_append_byte(out, ' ');
		if (ch == '"') {
			mime_lex_quoted(&c->lx, out);
		} else if (ch == '.') {
			(void)buf_append_byte(out, '.');
			c->lx.p++;
			continue;
		} else {
			n = mime_lex_atom(&c->lx, &tok);
			(void)buf_append(out, tok, n);
		}
		words++;
	}
	return words;
}

/* local-part = dot-atom / quoted-string / obs-local-part (words joined by
 * '.', CFWS around them dropped). */
static void local_part(struct ctx *c, struct buf *out)
{
	for (;;) {
		cfws(c);
		int ch = mime_lex_peek(&c->lx);
		const unsigned char *tok;
		if (ch == '"') {
			mime_lex_quoted(&c->lx, out);
		} else if (ch >= 0 && mime_lex_is_atext((unsigned char)ch)) {
			size_t n = mime_lex_atom(&c->lx, &tok);
			(void)buf_append(out, tok, n);
		} else if (ch != '.') {
			return;
		}
		cfws(c);
		if (mime_lex_peek(&c->lx) != '.')
			return;
		(void)buf_append_byte(out, '.');
		c->lx.p++;
	}
}

/* domain = dot-atom / domain-literal / obs-domain */
static void domain(struct ctx *c, struct buf *out)
{
	cfws(c);
	if (mime_lex_peek(&c->lx) == '[') {
		mime_lex_domain_literal(&c->lx, out);
		cfws(c);
		return;
	}
	for (;;) {
		const unsigned char *tok;
		size_t n = mime_lex_atom(&c->lx, &tok);
		(void)buf_append(out, tok, n);
		cfws(c);
		if (mime_lex_peek(&c->lx) != '.')
			return;
		(void)buf_append_byte(out, '.');
		c->lx.p++;
		cfws(c);
	}
}

/* RFC 9051 7.5.2 has no way to say "no mailbox" or "no host" outside
 * group markers: name what is missing instead (as Dovecot does). */
static struct mime_addr_str fill(struct ctx *c, const struct buf *s, const char *missing)
{
	if (s->len > 0)
		return save(c->l, s->ptr, s->len);
	return save(c->l, missing, strlen(missing));
}

/* obs-route = obs-domain-list ":" ; "@a,@b" */
static void route(struct ctx *c, struct buf *out)
{
	while (mime_lex_peek(&c->lx) == '@') {
		c->lx.p++;
		if (out->len > 0)
			(void)buf_append_byte(out, ',');
		(void)buf_append_byte(out, '@');
		domain(c, out);
		while (mime_lex_peek(&c->lx) == ',') {
			c->lx.p++;
			cfws(c);
		}
	}
	if (mime_lex_peek(&c->lx) == ':')
		c->lx.p++;
}

/* "<" [route] addr-spec ">" after a display name (may be empty). */
static void angle_addr(struct ctx *c, const struct buf *name)
{
	struct buf rt, mb, host;
	buf_init(&rt, 0);
	buf_init(&mb, 0);
	buf_init(&host, 0);
	struct mime_addr a = {absent, absent, absent, absent};
	c->lx.p++; /* '<' */
	cfws(c);
	route(c, &rt);
	local_part(c, &mb);
	if (mime_lex_peek(&c->lx) == '@') {
		c->lx.p++;
		domain(c, &host);
	}
	if (mime_lex_peek(&c->lx) == '>')
		c->lx.p++;
	if (name->len > 0)
		a.name = save(c->l, name->ptr, name->len);
	if (rt.len > 0)
		a.route = save(c->l, rt.ptr, rt.len);
	a.mailbox = fill(c, &mb, "MISSING_MAILBOX");
	a.host = fill(c, &host, "MISSING_DOMAIN");
	push(c->l, &a);
	buf_deinit(&rt);
	buf_deinit(&mb);
	buf_deinit(&host);
}

/* addr-spec (with the last comment as the name), or a lone phrase. */
static void addr_spec(struct ctx *c, const unsigned char *start)
{
	struct buf mb, host, name;
	buf_init(&mb, 0);
	buf_init(&host, 0);
	buf_init(&name, 0);
	struct mime_addr a = {absent, absent, absent, absent};
	c->lx.p = start;
	buf_reset(&c->comment);
	c->saw_comment = false;
	local_part(c, &mb);
	bool at = mime_lex_peek(&c->lx) == '@';
	if (at) {
		c->lx.p++;
		domain(c, &host);
	} else {
		/* "user" alone is a mailbox, "some words" a name */
		c->lx.p = start;
		if (phrase(c, &name) > 1)
			buf_reset(&mb);
		else
			buf_reset(&name);
	}
	if (name.len == 0 && c->saw_comment && c->comment.len > 0)
		(void)buf_append(&name, c->comment.ptr, c->comment.len);
	if (at || mb.len > 0 || name.len > 0) { /* else nothing was there */
		if (name.len > 0)
			a.name = save(c->l, name.ptr, name.len);
		a.mailbox = fill(c, &mb, "MISSING_MAILBOX");
		a.host = fill(c, &host, "MISSING_DOMAIN");
		push(c->l, &a);
	}
	buf_deinit(&mb);
	buf_deinit(&host);
	buf_deinit(&name);
}

/* mailbox = name-addr / addr-spec */
static void mailbox(struct ctx *c)
{
	const unsigned char *start = c->lx.p;
	struct buf name;
	buf_init(&name, 0);
	(void)phrase(c, &name);
	cfws(c);
	if (mime_lex_peek(&c->lx) == '<')
		angle_addr(c, &name);
	else
		addr_spec(c, start);
	buf_deinit(&name);
}

/* Skip what cannot be parsed, up to a ',' (or ';' in a group) outside
 * quoted strings, comments and angle brackets. */
static void skip_junk(struct ctx *c, bool in_group)
{
	struct buf dummy;
	buf_init(&dummy, 1);
	for (int ch; (ch = mime_lex_peek(&c->lx)) >= 0;) {
		if (ch == ',' || (in_group && ch == ';'))
			break;
		if (ch == '"')
			mime_lex_quoted(&c->lx, &dummy);
		else if (ch == '(')
			cfws(c);
		else
			c->lx.p++;
		buf_reset(&dummy);
	}
	buf_deinit(&dummy);
}

/* After a member: the separator, or junk up to it. */
static void after_member(struct ctx *c, bool in_group)
{
	cfws(c);
	int ch = mime_lex_peek(&c->lx);
	if (ch == ',')
		c->lx.p++;
	else if (ch >= 0 && !(in_group && ch == ';'))
		skip_junk(c, in_group);
}

static void group_body(struct ctx *c)
{
	for (;;) {
		cfws(c);
		int ch = mime_lex_peek(&c->lx);
		if (ch < 0)
			break;
		if (ch == ';') {
			c->lx.p++;
			break;
		}
		if (ch == ',') {
			c->lx.p++;
			continue;
		}
		const unsigned char *before = c->lx.p;
		mailbox(c);
		if (c->lx.p == before)
			c->lx.p++; /* something no mailbox starts with */
		after_member(c, true);
	}
	struct mime_addr end = {absent, absent, absent, absent};
	push(c->l, &end);
}

/* address = mailbox / group */
static void address(struct ctx *c)
{
	const unsigned char *start = c->lx.p;
	struct buf name;
	buf_init(&name, 0);
	if (phrase(c, &name) > 0 && (cfws(c), mime_lex_peek(&c->lx) == ':')) {
		c->lx.p++;
		struct mime_addr a = {absent, absent, absent, absent};
		a.mailbox = save(c->l, name.ptr, name.len);
		push(c->l, &a);
		group_body(c);
	} else {
		c->lx.p = start;
		mailbox(c);
		if (c->lx.p == start)
			c->lx.p++;
	}
	buf_deinit(&name);
}

void mime_address_parse(const char *in, size_t len, struct mime_addr_list *l)
{
	struct ctx c;
	mime_lex_init(&c.lx, in, len);
	c.l = l;
	c.saw_comment = false;
	buf_init(&c.comment, 0);
	for (;;) {
		cfws(&c);
		int ch = mime_lex_peek(&c.lx);
		if (ch < 0)
			break;
		if (ch == ',') { /* an empty member (obs-addr-list) */
			c.lx.p++;
			continue;
		}
		address(&c);
		after_member(&c, false);
	}
	buf_deinit(&c.comment);
}
