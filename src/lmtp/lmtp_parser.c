/*
 * lmtp_parser.c - LMTP command lines, MAIL/RCPT paths and parameters; see
 * lmtp_parser.h.
 *
 * Paths follow RFC 5321 4.1.2 with the RFC 6531 3.3 UTF-8 extensions:
 *
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *
 * What we do beyond or instead of the grammar, and why:
 * - Angle brackets are required (4.1.2); spaces after the colon are
 *   tolerated because common clients send them.
 * - A mailbox without "@domain" is accepted ("<postmaster>", 4.1.1.3; some
 *   MTAs send unqualified local senders too).
 * - An unquoted local part may have leading, trailing or doubled dots
 *   ("a..b@example.jp" exists in the wild); the user lookup after us
 *   refuses such names for recipients anyway.
 * - `local` is the local part unquoted (escapes resolved). `path` is the
 *   address in the one form it must be compared in: the local part without
 *   quotes if every byte is atext, '.' or UTF-8, otherwise in quotes with
 *   only '"' and '\' escaped, then "@" and the domain as sent. So
 *   "<\"ab\"@x>" and "<ab@x>" give the same path. Domains are compared
 *   case-insensitively by the caller, local parts case-sensitively.
 * - UTF-8 must be well-formed (RFC 3629); whether the client announced
 *   SMTPUTF8 is the session's business.
 */
#include "lmtp_parser.h"

#include "lib/strnum.h"

#include <string.h>
#include <strings.h>

#define LMTP_MAX_VERB 4

static const struct {
	const char *name;
	enum lmtp_cmd_id id;
} lmtp_verbs[] = {
	{"LHLO", LMTP_CMD_LHLO}, {"HELO", LMTP_CMD_HELO}, {"EHLO", LMTP_CMD_EHLO},
	{"MAIL", LMTP_CMD_MAIL}, {"RCPT", LMTP_CMD_RCPT}, {"DATA", LMTP_CMD_DATA},
	{"BDAT", LMTP_CMD_BDAT}, {"RSET", LMTP_CMD_RSET}, {"NOOP", LMTP_CMD_NOOP},
	{"QUIT", LMTP_CMD_QUIT}, {"VRFY", LMTP_CMD_VRFY}, {"HELP", LMTP_CMD_HELP},
};

/* A bounded output string: appends past the capacity set `over`. */
struct lmtp_out {
	char *ptr;
	size_t len;
	size_t cap; /* excluding the NUL */
	bool over;
};

struct lmtp_addr {
	bool null;
	char local[LMTP_MAX_PATH + 1];
	size_t local_len;
	const char *domain; /* into the input; NULL if no "@" */
	size_t domain_len;
};

bool lmtp_parse_command(const char *line, size_t len, struct lmtp_command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->arg = line;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	const char *sp = memchr(line, ' ', len);
	size_t vlen = sp != NULL ? (size_t)(sp - line) : len;
	if (vlen == LMTP_MAX_VERB) {
		for (size_t i = 0; i < sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0]); i++) {
			if (strncasecmp(lmtp_verbs[i].name, line, vlen) == 0)
				cmd->id = lmtp_verbs[i].id;
		}
	}
	size_t pos = vlen;
	while (pos < len && line[pos] == ' ')
		pos++;
	cmd->arg = line + pos;
	cmd->arg_len = len - pos;
	return true;
}

static void lmtp_out_add(struct lmtp_out *o, const char *p, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->ptr + o->len, p, n);
	o->len += n;
	o->ptr[o->len] = '\0';
}

static bool lmtp_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 3.2.3 atext. */
static bool lmtp_is_atext(unsigned char c)
{
	return lmtp_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 4), 0 if it is
 * not one. Refuses overlong forms, surrogates and code points > U+10FFFF. */
static size_t lmtp_utf8_len(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* RFC 5321 4.1.2 Domain (LDH labels, RFC 6531 U-labels) or an
 * address-literal "[...]" with dcontent. */
static bool lmtp_domain_valid(const char *d, size_t len)
{
	const unsigned char *u = (const unsigned char *)d;
	if (len >= 2 && d[0] == '[' && d[len - 1] == ']') {
		for (size_t i = 1; i + 1 < len; i++) {
			if (u[i] < 33 || u[i] > 126 || u[i] == '[' || u[i] == ']' || u[i] == '\\')
				return false;
		}
		return len > 2;
	}
	size_t label = 0;
	for (size_t i = 0; i < len;) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			i++;
			continue;
		}
		size_t n = u[i] >= 0x80 ? lmtp_utf8_len(u + i, len - i) : 1;
		if (n == 0 || (n == 1 && !lmtp_is_alnum(u[i]) && !(d[i] == '-' && label > 0)))
			return false;
		label += n;
		i += n;
	}
	return label > 0 && d[len - 1] != '-';
}

/* Quoted-string (RFC 5321 4.1.2, RFC 6531 3.3): s[*pos] is the opening
 * quote. The unquoted bytes go to out. */
static const char *lmtp_parse_quoted(const char *s, size_t len, size_t *pos, struct lmtp_out *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = *pos + 1;
	while (i < len && s[i] != '"') {
		size_t n = 1;
		if (s[i] == '\\') {
			/* quoted-pairSMTP = "\" %d32-126 */
			if (i + 1 >= len || u[i + 1] < 32 || u[i + 1] > 126)
				return "Invalid local part";
			i++;
		} else if (u[i] >= 0x80) {
			n = lmtp_utf8_len(u + i, len - i);
			if (n == 0)
				return "Invalid UTF-8 in address";
		} else if (u[i] < 32 || u[i] > 126) {
			return "Invalid local part";
		}
		lmtp_out_add(out, s + i, n);
		i += n;
	}
	if (i >= len)
		return "Invalid local part";
	*pos = i + 1;
	return NULL;
}

/* Dot-string, leniently (see the top of this file): atext, '.', UTF-8. */
static const char *lmtp_parse_dot_string(const char *s, size_t len, size_t *pos,
					 struct lmtp_out *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = *pos;
	while (i < len && s[i] != '@' && s[i] != '>') {
		size_t n = 1;
		if (u[i] >= 0x80) {
			n = lmtp_utf8_len(u + i, len - i);
			if (n == 0)
				return "Invalid UTF-8 in address";
		} else if (!lmtp_is_atext(u[i]) && s[i] != '.') {
			return "Invalid local part";
		}
		lmtp_out_add(out, s + i, n);
		i += n;
	}
	*pos = i;
	return NULL;
}

/* A-d-l ":" (RFC 5321 4.1.1.3: accepted, then ignored). s[*pos] is '@'. */
static const char *lmtp_skip_route(const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	for (;;) {
		if (i >= len || s[i] != '@')
			return "Invalid source route";
		size_t start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':' && s[i] != '>')
			i++;
		if (i >= len || s[i] == '>' || !lmtp_domain_valid(s + start, i - start))
			return "Invalid source route";
		if (s[i++] == ':')
			break;
	}
	*pos = i;
	return NULL;
}

/* "@" domain ">" or just ">" after the local part. *pos is advanced even
 * on failure, so that an overlong path is reported as such. */
static const char *lmtp_parse_domain(const char *s, size_t len, size_t *pos, struct lmtp_addr *a)
{
	size_t i = *pos;
	if (i < len && s[i] == '@') {
		size_t start = ++i;
		while (i < len && s[i] != '>')
			i++;
		*pos = i;
		if (!lmtp_domain_valid(s + start, i - start))
			return "Invalid domain";
		a->domain = s + start;
		a->domain_len = i - start;
	}
	if (i >= len)
		return "Address must be in angle brackets";
	if (s[i] != '>')
		return "Invalid local part"; /* e.g. "a"b@c */
	*pos = i + 1;
	return NULL;
}

/* Path at s[*pos] (RFC 5321 4.1.2); the whole path, brackets included, is
 * at most LMTP_MAX_PATH octets (4.5.3.1.3). */
static const char *lmtp_parse_path(const char *s, size_t len, size_t *pos, struct lmtp_addr *a)
{
	size_t start = *pos, i = *pos;
	struct lmtp_out local = {a->local, 0, LMTP_MAX_PATH, false};
	const char *why;
	memset(a, 0, sizeof(*a));
	if (i >= len || s[i] != '<')
		return "Address must be in angle brackets";
	i++;
	if (i < len && s[i] == '>') {
		a->null = true;
		*pos = i + 1;
		return NULL;
	}
	if (i < len && s[i] == '@' && (why = lmtp_skip_route(s, len, &i)) != NULL)
		return why;
	if (i < len && s[i] == '"')
		why = lmtp_parse_quoted(s, len, &i, &local);
	else
		why = lmtp_parse_dot_string(s, len, &i, &local);
	if (why == NULL && local.len == 0)
		why = i >= len ? "Address must be in angle brackets" : "Invalid local part";
	if (why == NULL)
		why = lmtp_parse_domain(s, len, &i, a);
	if (local.over || i - start > LMTP_MAX_PATH)
		return "Address too long";
	if (why != NULL)
		return why;
	a->local_len = local.len;
	*pos = i;
	return NULL;
}

/* The comparable form of the address (see the top of this file). */
static void lmtp_canonical_path(const struct lmtp_addr *a, char dst[LMTP_MAX_PATH + 1])
{
	struct lmtp_out o = {dst, 0, LMTP_MAX_PATH, false};
	bool plain = true;
	dst[0] = '\0';
	for (size_t i = 0; i < a->local_len && plain; i++) {
		unsigned char c = (unsigned char)a->local[i];
		plain = c >= 0x80 || c == '.' || lmtp_is_atext(c);
	}
	if (plain) {
		lmtp_out_add(&o, a->local, a->local_len);
	} else {
		lmtp_out_add(&o, "\"", 1);
		for (size_t i = 0; i < a->local_len; i++) {
			if (a->local[i] == '"' || a->local[i] == '\\')
				lmtp_out_add(&o, "\\", 1);
			lmtp_out_add(&o, a->local + i, 1);
		}
		lmtp_out_add(&o, "\"", 1);
	}
	if (a->domain != NULL) {
		lmtp_out_add(&o, "@", 1);
		lmtp_out_add(&o, a->domain, a->domain_len);
	}
	/* Canonical quoting never needs more room than the client used. */
	if (o.over)
		dst[0] = '\0';
}

/* One "keyword[=value]" parameter (RFC 5321 4.1.2 esmtp-param). */
struct lmtp_param {
	const char *key;
	size_t key_len;
	const char *val; /* NULL if no "=" */
	size_t val_len;
};

typedef const char *lmtp_param_fn(void *ctx, const struct lmtp_param *p);

static bool lmtp_param_is(const struct lmtp_param *p, const char *name)
{
	return strlen(name) == p->key_len && strncasecmp(name, p->key, p->key_len) == 0;
}

static const char *lmtp_param_check(const struct lmtp_param *p)
{
	if (p->key_len == 0 || p->key[0] == '-')
		return "Malformed parameter";
	for (size_t i = 0; i < p->key_len; i++) {
		if (!lmtp_is_alnum((unsigned char)p->key[i]) && p->key[i] != '-')
			return "Malformed parameter";
	}
	if (p->val == NULL)
		return NULL;
	if (p->val_len == 0)
		return "Malformed parameter";
	for (size_t i = 0; i < p->val_len; i++) {
		unsigned char c = (unsigned char)p->val[i];
		/* esmtp-value = 1*(%d33-60 / %d62-126), UTF-8 per RFC 6531 */
		if (c < 33 || c == '=' || c == 127)
			return "Malformed parameter";
	}
	return NULL;
}

/* The parameters after the path: separated by spaces (runs tolerated). */
static const char *lmtp_parse_params(const char *s, size_t len, size_t pos, lmtp_param_fn *fn,
				     void *ctx)
{
	if (pos < len && s[pos] != ' ')
		return "Syntax error after address";
	while (pos < len) {
		while (pos < len && s[pos] == ' ')
			pos++;
		if (pos == len)
			break;
		size_t start = pos;
		while (pos < len && s[pos] != ' ')
			pos++;
		struct lmtp_param p = {s + start, pos - start, NULL, 0};
		const char *eq = memchr(p.key, '=', p.key_len);
		if (eq != NULL) {
			p.val = eq + 1;
			p.val_len = p.key_len - (size_t)(p.val - p.key);
			p.key_len = (size_t)(eq - p.key);
		}
		const char *why = lmtp_param_check(&p);
		if (why == NULL)
			why = fn(ctx, &p);
		if (why != NULL)
			return why;
	}
	return NULL;
}

/* Keyword "FROM:"/"TO:", spaces, path. */
static const char *lmtp_parse_head(const char *s, size_t len, const char *kw, const char *syntax,
				   size_t *pos, struct lmtp_addr *a)
{
	size_t kwlen = strlen(kw);
	if (len < kwlen || strncasecmp(s, kw, kwlen) != 0)
		return syntax;
	size_t i = kwlen;
	while (i < len && s[i] == ' ')
		i++;
	if (i == len)
		return syntax;
	const char *why = lmtp_parse_path(s, len, &i, a);
	if (why != NULL)
		return why;
	*pos = i;
	return NULL;
}

enum {
	LMTP_SEEN_SIZE = 1 << 0,
	LMTP_SEEN_BODY = 1 << 1,
	LMTP_SEEN_UTF8 = 1 << 2,
	LMTP_SEEN_RET = 1 << 3,
	LMTP_SEEN_ENVID = 1 << 4,
	LMTP_SEEN_AUTH = 1 << 5,
	LMTP_SEEN_NOTIFY = 1 << 6,
	LMTP_SEEN_ORCPT = 1 << 7,
};

struct lmtp_mail_ctx {
	struct lmtp_mail_from *out;
	unsigned seen;
};

static const char *lmtp_mark(unsigned *seen, unsigned bit)
{
	if (*seen & bit)
		return "Duplicate parameter";
	*seen |= bit;
	return NULL;
}

/* SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531); RET and
 * ENVID (RFC 3461) and AUTH (RFC 4954) are accepted and ignored. */
static const char *lmtp_mail_param(void *vctx, const struct lmtp_param *p)
{
	struct lmtp_mail_ctx *ctx = vctx;
	const char *why;
	if (lmtp_param_is(p, "SMTPUTF8")) {
		if (p->val != NULL)
			return "SMTPUTF8 takes no value";
		ctx->out->smtputf8 = true;
		return lmtp_mark(&ctx->seen, LMTP_SEEN_UTF8);
	}
	if (p->val == NULL && (lmtp_param_is(p, "SIZE") || lmtp_param_is(p, "BODY") ||
			       lmtp_param_is(p, "RET") || lmtp_param_is(p, "ENVID") ||
			       lmtp_param_is(p, "AUTH")))
		return "Parameter needs a value";
	if (lmtp_param_is(p, "SIZE")) {
		if (!strnum_u64(p->val, p->val_len, UINT64_MAX / 2, &ctx->out->size))
			return "Invalid SIZE value";
		ctx->out->has_size = true;
		return lmtp_mark(&ctx->seen, LMTP_SEEN_SIZE);
	}
	if (lmtp_param_is(p, "BODY")) {
		static const char *const names[] = {"7BIT", "8BITMIME", "BINARYMIME"};
		static const enum lmtp_body_type types[] = {LMTP_BODY_7BIT, LMTP_BODY_8BITMIME,
							    LMTP_BODY_BINARYMIME};
		why = "Invalid BODY value";
		for (size_t i = 0; i < 3; i++) {
			if (strlen(names[i]) == p->val_len &&
			    strncasecmp(names[i], p->val, p->val_len) == 0) {
				ctx->out->body = types[i];
				why = NULL;
			}
		}
		return why != NULL ? why : lmtp_mark(&ctx->seen, LMTP_SEEN_BODY);
	}
	if (lmtp_param_is(p, "RET"))
		return lmtp_mark(&ctx->seen, LMTP_SEEN_RET);
	if (lmtp_param_is(p, "ENVID"))
		return lmtp_mark(&ctx->seen, LMTP_SEEN_ENVID);
	if (lmtp_param_is(p, "AUTH"))
		return lmtp_mark(&ctx->seen, LMTP_SEEN_AUTH);
	return "Unknown parameter";
}

bool lmtp_parse_mail_from(const char *arg, size_t len, struct lmtp_mail_from *out,
			  const char **why_r)
{
	struct lmtp_addr a;
	struct lmtp_mail_ctx ctx = {out, 0};
	size_t pos = 0;
	memset(out, 0, sizeof(*out));
	*why_r = lmtp_parse_head(arg, len, "FROM:", "Syntax: MAIL FROM:<address>", &pos, &a);
	if (*why_r == NULL)
		*why_r = lmtp_parse_params(arg, len, pos, lmtp_mail_param, &ctx);
	if (*why_r != NULL) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	if (!a.null)
		lmtp_canonical_path(&a, out->path);
	return true;
}

/* NOTIFY and ORCPT (RFC 3461) are accepted and ignored. */
static const char *lmtp_rcpt_param(void *vctx, const struct lmtp_param *p)
{
	unsigned *seen = vctx;
	bool notify = lmtp_param_is(p, "NOTIFY");
	if (!notify && !lmtp_param_is(p, "ORCPT"))
		return "Unknown parameter";
	if (p->val == NULL)
		return "Parameter needs a value";
	return lmtp_mark(seen, notify ? LMTP_SEEN_NOTIFY : LMTP_SEEN_ORCPT);
}

bool lmtp_parse_rcpt_to(const char *arg, size_t len, struct lmtp_rcpt_to *out,
			const char **why_r)
{
	struct lmtp_addr a;
	unsigned seen = 0;
	size_t pos = 0;
	memset(out, 0, sizeof(*out));
	*why_r = lmtp_parse_head(arg, len, "TO:", "Syntax: RCPT TO:<address>", &pos, &a);
	if (*why_r == NULL && a.null)
		*why_r = "Null address not allowed here";
	if (*why_r == NULL)
		*why_r = lmtp_parse_params(arg, len, pos, lmtp_rcpt_param, &seen);
	if (*why_r != NULL)
		return false;
	lmtp_canonical_path(&a, out->path);
	memcpy(out->local, a.local, a.local_len);
	out->local[a.local_len] = '\0';
	if (a.domain != NULL) {
		memcpy(out->domain, a.domain, a.domain_len);
		out->domain[a.domain_len] = '\0';
	}
	return true;
}

/* RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]. */
bool lmtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r, bool *last_r)
{
	size_t i = 0;
	while (i < len && arg[i] == ' ')
		i++;
	size_t start = i;
	while (i < len && arg[i] != ' ')
		i++;
	uint64_t size;
	if (!strnum_u64(arg + start, i - start, UINT64_MAX / 2, &size))
		return false;
	while (i < len && arg[i] == ' ')
		i++;
	size_t mstart = i;
	while (i < len && arg[i] != ' ')
		i++;
	size_t mlen = i - mstart;
	while (i < len && arg[i] == ' ')
		i++;
	if (i != len || (mlen != 0 && (mlen != 4 || strncasecmp(arg + mstart, "LAST", 4) != 0)))
		return false;
	*size_r = size;
	*last_r = mlen != 0;
	return true;
}
