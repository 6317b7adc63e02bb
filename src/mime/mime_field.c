/*
 * mime_field.c - Content-Type, Content-Disposition, Content-Language and
 * Content-Transfer-Encoding values (RFC 2045 5-6, RFC 2183, RFC 3282)
 * with their parameters (RFC 2045 5.1, RFC 2231); see mime_field.h.
 *
 * Parameters are kept the way BODYSTRUCTURE shows them, which is also
 * what Dovecot shows: plain parameters in the order sent, then RFC 2231
 * parameters merged per name, sorted by name. A complete run of sections
 * name*0, name*1, ... becomes one parameter; it is called "name*" (an
 * extended value, still charset'language'%XX) if any section was
 * extended, and then plain sections are %-escaped ('%' only, which is
 * all the decoder needs) and "''" is put in front when section 0 was
 * plain. A run with a gap or a duplicate is kept section by section.
 * mime_param_value() (mime_param.c) decodes the result.
 */
#include "mime/mime_field.h"
#include "mime/mime_lex.h"
#include "mime/mime_tree_private.h"

#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

struct raw_param {
	const unsigned char *name;
	size_t name_len;
	size_t value_off, value_len; /* in the scratch buffer */
	/* RFC 2231 section syntax: name = base "*" [index] ["*"] */
	bool rfc2231, extended;
	size_t base_len;
	unsigned index;
	size_t order; /* position as sent, for a stable sort */
};

struct param_set {
	struct raw_param items[MIME_MAX_PARAMS];
	size_t count;
	bool cut;
	struct buf values; /* unquoted values, one after the other */
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* name*, name*N or name*N* (RFC 2231 3, 4); a bare "name*" is section 0
 * of an extended value. Anything else with a '*' is a plain name. */
static void classify(struct raw_param *r)
{
	const unsigned char *star = memchr(r->name, '*', r->name_len);
	if (star == NULL || star == r->name)
		return;
	size_t i = (size_t)(star - r->name) + 1;
	if (i == r->name_len) { /* "name*": one extended section */
		r->rfc2231 = r->extended = true;
		r->base_len = i - 1;
		return;
	}
	unsigned index = 0, digits = 0;
	while (i < r->name_len && r->name[i] >= '0' && r->name[i] <= '9' && digits < 4) {
		index = index * 10 + (unsigned)(r->name[i++] - '0');
		digits++;
	}
	bool ext = i < r->name_len && r->name[i] == '*';
	if (ext)
		i++;
	if (i != r->name_len || (digits == 0 && !ext))
		return;
	r->rfc2231 = true;
	r->extended = ext;
	r->base_len = (size_t)(star - r->name);
	r->index = index;
}

/* Skip to the next ';' outside quoted strings and comments: the rest of
 * a parameter that could not be parsed. */
static void skip_junk(struct mime_lex *lx)
{
	struct buf dummy;
	buf_init(&dummy, 1);
	while (!mime_lex_eof(lx) && mime_lex_peek(lx) != ';') {
		int c = mime_lex_peek(lx);
		if (c == '"')
			mime_lex_quoted(lx, &dummy);
		else if (c == '(')
			(void)mime_lex_skip_cfws(lx, NULL);
		else
			lx->p++;
		buf_reset(&dummy);
	}
	buf_deinit(&dummy);
}

/* An unquoted value: a token, but leniently up to white space or ';'
 * because unquoted boundaries like ----=_Part_1 are common. */
static size_t lenient_value(struct mime_lex *lx, const unsigned char **start_r)
{
	*start_r = lx->p;
	while (lx->p<lx->end && * lx->p> ' ' && *lx->p != ';' && *lx->p != '"' && *lx->p != '(' &&
	       *lx->p != 0x7f)
		lx->p++;
	return (size_t)(lx->p - *start_r);
}

/* One "; attribute = value"; false if it was not valid (skipped). */
static bool parse_one(struct mime_lex *lx, struct param_set *ps)
{
	const unsigned char *name, *v;
	(void)mime_lex_skip_cfws(lx, NULL);
	size_t name_len = mime_lex_token(lx, &name);
	(void)mime_lex_skip_cfws(lx, NULL);
	if (name_len == 0 || mime_lex_peek(lx) != '=')
		return false;
	lx->p++;
	(void)mime_lex_skip_cfws(lx, NULL);
	size_t off = ps->values.len;
	if (mime_lex_peek(lx) == '"') {
		mime_lex_quoted(lx, &ps->values);
	} else {
		size_t n = lenient_value(lx, &v);
		if (n == 0)
			return false;
		(void)buf_append(&ps->values, v, n);
	}
	if (ps->count == MIME_MAX_PARAMS) {
		ps->cut = true;
		return true;
	}
	struct raw_param *r = &ps->items[ps->count];
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->name_len = name_len;
	r->value_off = off;
	r->value_len = ps->values.len - off;
	r->order = ps->count++;
	classify(r);
	return true;
}

static void parse_params(struct mime_lex *lx, struct param_set *ps)
{
	for (;;) {
		(void)mime_lex_skip_cfws(lx, NULL);
		if (mime_lex_eof(lx))
			return;
		if (mime_lex_peek(lx) != ';') {
			skip_junk(lx);
			continue;
		}
		lx->p++;
		if (!parse_one(lx, ps))
			skip_junk(lx);
	}
}

static int cmp_base(const struct raw_param *a, const struct raw_param *b)
{
	size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	for (size_t i = 0; i < n; i++) {
		int d = (int)lower(a->name[i]) - (int)lower(b->name[i]);
		if (d != 0)
			return d;
	}
	return a->base_len < b->base_len ? -1 : a->base_len > b->base_len;
}

static int cmp_section(const void *x, const void *y)
{
	const struct raw_param *a = *(const struct raw_param *const *)x;
	const struct raw_param *b = *(const struct raw_param *const *)y;
	int d = cmp_base(a, b);
	if (d != 0)
		return d;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static const char *value_of(const struct param_set *ps, const struct raw_param *r)
{
	return ps->values.ptr != NULL ? ps->values.ptr + r->value_off : ""; /* all empty */
}

static void add_raw(struct mime_tree *t, struct mime_list *list, const struct param_set *ps,
                    const struct raw_param *r)
{
	struct mime_str name = mime_tree_add_str(t, r->name, r->name_len);
	struct mime_str value = mime_tree_add_str(t, value_of(ps, r), r->value_len);
	if (mime_str_present(name) && mime_str_present(value))
		mime_tree_add_param(t, list, name, value);
}

/* Merge sections sec[0..n) (one name, sorted by index). */
static void add_merged(struct mime_tree *t, struct mime_list *list, const struct param_set *ps,
                       struct raw_param **sec, size_t n)
{
	bool complete = true, any_ext = false;
	for (size_t i = 0; i < n; i++) {
		complete = complete && sec[i]->index == i;
		any_ext = any_ext || sec[i]->extended;
	}
	if (!complete) {
		for (size_t i = 0; i < n; i++)
			add_raw(t, list, ps, sec[i]);
		return;
	}
	struct buf v;
	buf_init(&v, 3 * MIME_MAX_FIELD + 2);
	if (any_ext && !sec[0]->extended)
		(void)buf_append_str(&v, "''"); /* no charset, no language */
	for (size_t i = 0; i < n; i++) {
		const char *s = value_of(ps, sec[i]);
		for (size_t k = 0; k < sec[i]->value_len; k++) {
			if (s[k] == '%' && any_ext && !sec[i]->extended)
				(void)buf_append_str(&v, "%25");
			else
				(void)buf_append_byte(&v, s[k]);
		}
	}
	struct buf name;
	buf_init(&name, 0);
	(void)buf_append(&name, sec[0]->name, sec[0]->base_len);
	if (any_ext)
		(void)buf_append_byte(&name, '*');
	struct mime_str ns = mime_tree_add_str(t, name.ptr, name.len);
	struct mime_str vs = mime_tree_add_str(t, v.ptr != NULL ? v.ptr : "", v.len);
	if (mime_str_present(ns) && mime_str_present(vs))
		mime_tree_add_param(t, list, ns, vs);
	buf_deinit(&name);
	buf_deinit(&v);
}

static void store_params(struct mime_tree *t, struct mime_list *list, struct param_set *ps)
{
	struct raw_param *sec[MIME_MAX_PARAMS];
	size_t nsec = 0;
	for (size_t i = 0; i < ps->count; i++) {
		if (ps->items[i].rfc2231)
			sec[nsec++] = &ps->items[i];
		else
			add_raw(t, list, ps, &ps->items[i]);
	}
	qsort(sec, nsec, sizeof(sec[0]), cmp_section);
	for (size_t i = 0; i < nsec;) {
		size_t j = i + 1;
		while (j < nsec && cmp_base(sec[i], sec[j]) == 0)
			j++;
		add_merged(t, list, ps, sec + i, j - i);
		i = j;
	}
}

static void params_into(struct mime_tree *t, uint32_t part, struct mime_lex *lx, bool disposition)
{
	struct param_set *ps = xmalloc(sizeof(*ps));
	buf_init(&ps->values, MIME_MAX_FIELD + 1);
	parse_params(lx, ps);
	struct mime_list list = {0, 0};
	store_params(t, &list, ps);
	struct mime_part *p = &t->parts[part];
	if (disposition)
		p->dparams = list;
	else
		p->params = list;
	if (ps->cut)
		p->flags |= MIME_PART_CUT;
	buf_deinit(&ps->values);
	free(ps);
}

void mime_field_content_type(struct mime_tree *t, uint32_t part, const char *v, size_t len)
{
	struct mime_lex lx;
	const unsigned char *type, *sub;
	mime_lex_init(&lx, v, len);
	(void)mime_lex_skip_cfws(&lx, NULL);
	size_t type_len = mime_lex_token(&lx, &type);
	(void)mime_lex_skip_cfws(&lx, NULL);
	if (type_len == 0 || mime_lex_peek(&lx) != '/')
		return;
	lx.p++;
	(void)mime_lex_skip_cfws(&lx, NULL);
	size_t sub_len = mime_lex_token(&lx, &sub);
	(void)mime_lex_skip_cfws(&lx, NULL);
	if (sub_len == 0 || (!mime_lex_eof(&lx) && mime_lex_peek(&lx) != ';'))
		return; /* RFC 2045 5.2: not valid, so the default applies */
	struct mime_str ts = mime_tree_add_str(t, type, type_len);
	struct mime_str ss = mime_tree_add_str(t, sub, sub_len);
	if (!mime_str_present(ts) || !mime_str_present(ss))
		return;
	t->parts[part].type = ts;
	t->parts[part].subtype = ss;
	params_into(t, part, &lx, false);
}

void mime_field_disposition(struct mime_tree *t, uint32_t part, const char *v, size_t len)
{
	struct mime_lex lx;
	const unsigned char *tok;
	mime_lex_init(&lx, v, len);
	(void)mime_lex_skip_cfws(&lx, NULL);
	size_t n = mime_lex_token(&lx, &tok);
	if (n == 0)
		return;
	t->parts[part].disposition = mime_tree_add_str(t, tok, n);
	if (mime_str_present(t->parts[part].disposition))
		params_into(t, part, &lx, true);
}

void mime_field_language(struct mime_tree *t, uint32_t part, const char *v, size_t len)
{
	/* RFC 3282 2: Content-Language = 1#Language-tag, CFWS allowed */
	struct mime_lex lx;
	const unsigned char *tok;
	struct mime_list list = {0, 0};
	mime_lex_init(&lx, v, len);
	(void)mime_lex_skip_cfws(&lx, NULL);
	for (;;) {
		size_t n = mime_lex_atom(&lx, &tok);
		if (n == 0)
			break;
		if (list.count == MIME_MAX_LANGS) {
			t->parts[part].flags |= MIME_PART_CUT;
			break;
		}
		struct mime_str s = mime_tree_add_str(t, tok, n);
		if (!mime_str_present(s))
			break;
		mime_tree_add_lang(t, &list, s);
		(void)mime_lex_skip_cfws(&lx, NULL);
		if (mime_lex_peek(&lx) != ',')
			break;
		lx.p++;
		(void)mime_lex_skip_cfws(&lx, NULL);
	}
	t->parts[part].langs = list;
}

void mime_field_encoding(struct mime_tree *t, uint32_t part, const char *v, size_t len)
{
	/* RFC 2045 6.1: mechanism = token, nothing else */
	struct mime_lex lx;
	const unsigned char *tok;
	mime_lex_init(&lx, v, len);
	(void)mime_lex_skip_cfws(&lx, NULL);
	size_t n = mime_lex_token(&lx, &tok);
	(void)mime_lex_skip_cfws(&lx, NULL);
	if (n == 0 || !mime_lex_eof(&lx))
		return;
	t->parts[part].encoding = mime_tree_add_str(t, tok, n);
}
