/*
 * test_mime.c - the structure parser, the tree and its cache encoding,
 * and BODY[section] offsets: named structures, a generated corpus of
 * tricky messages (deep nesting, missing and prefixed boundaries, empty
 * parts, CRLF/LF mixes, no final newline, 8-bit and huge headers, RFC 2231
 * parameters, digests, message/rfc822 in multipart in message/rfc822),
 * the limits, byte-at-a-time feeding, and corrupt cache entries.
 *
 * The section cases were checked against Dovecot 2.3.19.1 (BODY.PEEK of
 * the same sections on the same messages gives the same bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mime/mime_imap.h"
#include "mime/mime_parser.h"
#include "mime/mime_section.h"
#include "mime/mime_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static char *crlf_of(const char *text, size_t *len)
{
	size_t n = strlen(text), k = 0;
	char *s = malloc(2 * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n')
			s[k++] = '\r';
		s[k++] = text[i];
	}
	*len = k;
	return s;
}

/* Bytes [off, off+len) as IMAP sends them: bare LF as CRLF. */
static void sent_form(const char *m, uint64_t off, uint64_t len, struct buf *out)
{
	for (uint64_t i = off; i < off + len; i++) {
		if (m[i] == '\n' && (i == off || m[i - 1] != '\r'))
			assert_true(buf_append_byte(out, '\r'));
		assert_true(buf_append_byte(out, m[i]));
	}
}

static uint64_t crlf_size(const char *m, uint64_t off, uint64_t len)
{
	uint64_t n = len;
	for (uint64_t i = off; i < off + len; i++) {
		if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			n++;
	}
	return n;
}

static uint64_t lf_count(const char *m, uint64_t off, uint64_t len)
{
	uint64_t n = 0;
	for (uint64_t i = off; i < off + len; i++)
		n += m[i] == '\n';
	return n;
}

static void serialize(const struct mime_tree *t, struct buf *b)
{
	buf_init(b, 0);
	assert_true(mime_tree_serialize(t, b));
}

/* Parse in chunks of sizes from `sizes` (cycled); NULL: one byte each. */
static struct mime_tree *parse_chunked(const char *m, size_t len, const size_t *sizes, size_t n)
{
	struct mime_parser *p = mime_parser_new();
	size_t k = 0;
	for (size_t i = 0; i < len;) {
		size_t c = sizes != NULL ? sizes[k++ % n] : 1;
		if (c > len - i)
			c = len - i;
		mime_parser_feed(p, m + i, c);
		i += c;
	}
	mime_parser_feed(p, m, 0);
	return mime_parser_finish(&p);
}

/* Every invariant a tree of message m must satisfy. */
static void check_tree(const struct mime_tree *t, const char *m, size_t len)
{
	assert_int_equal(t->size, len);
	assert_int_equal(t->crlf_size, crlf_size(m, 0, len));
	assert_true(t->nparts >= 1 && t->nparts <= MIME_MAX_PARTS);
	assert_int_equal(t->parts[0].hdr_off, 0);
	assert_int_equal(t->parts[0].body_off + t->parts[0].body_len, len);
	uint64_t *next = calloc(t->nparts, sizeof(uint64_t));
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		assert_int_equal(p->body_off, p->hdr_off + p->hdr_len);
		assert_int_equal(p->hdr_size, crlf_size(m, p->hdr_off, p->hdr_len));
		assert_int_equal(p->body_size, crlf_size(m, p->body_off, p->body_len));
		assert_int_equal(p->body_lines, lf_count(m, p->body_off, p->body_len));
		assert_true(p->depth <= MIME_MAX_DEPTH);
		next[i] = p->body_off;
		if (p->kind == MIME_KIND_MESSAGE)
			assert_int_equal(p->nchildren, 1);
		if (p->kind == MIME_KIND_LEAF)
			assert_int_equal(p->nchildren, 0);
		if (p->parent == MIME_NONE)
			continue;
		const struct mime_part *par = &t->parts[p->parent];
		assert_true(p->parent < i);
		assert_true(p->hdr_off >= next[p->parent]);
		assert_true(p->body_off + p->body_len <= par->body_off + par->body_len);
		if (par->kind == MIME_KIND_MESSAGE) {
			assert_int_equal(p->hdr_off, par->body_off);
			assert_true(par->body_off + par->body_len - (p->body_off + p->body_len) <=
			            2);
		}
		next[p->parent] = p->body_off + p->body_len;
	}
	free(next);
}

/* Parenthesis balance outside quoted strings and literals. */
static void check_balanced(const struct buf *b)
{
	int depth = 0;
	for (size_t i = 0; i < b->len; i++) {
		char c = b->ptr[i];
		if (c == '"') {
			for (i++; i < b->len && b->ptr[i] != '"'; i++)
				i += b->ptr[i] == '\\';
		} else if (c == '{') {
			size_t n = strtoul(b->ptr + i + 1, NULL, 10);
			i = (size_t)(strchr(b->ptr + i, '}') - b->ptr) + 2 + n;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			assert_true(--depth >= 0);
		}
	}
	assert_int_equal(depth, 0);
}

static void check_formats(const struct mime_tree *t)
{
	for (uint32_t i = 0; i < t->nparts; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_true(mime_imap_bodystructure(t, i, true, 0, &b));
		check_balanced(&b);
		buf_reset(&b);
		assert_true(mime_imap_bodystructure(t, i, false, MIME_IMAP_UTF8, &b));
		check_balanced(&b);
		buf_reset(&b);
		assert_true(mime_imap_envelope(t, i, 0, &b));
		check_balanced(&b);
		buf_deinit(&b);
	}
}

/* Whole == byte at a time == odd chunks; the cache encoding round-trips. */
static void check_message(const char *m, size_t len)
{
	static const size_t odd[] = {7, 1, 13, 2, 64, 3, 1000};
	struct mime_tree *t = mime_parse(m, len);
	check_tree(t, m, len);
	check_formats(t);
	struct buf whole, other;
	serialize(t, &whole);
	struct mime_tree *t1 = parse_chunked(m, len, NULL, 0);
	serialize(t1, &other);
	assert_int_equal(whole.len, other.len);
	assert_memory_equal(whole.ptr, other.ptr, whole.len);
	mime_tree_free(&t1);
	buf_deinit(&other);
	t1 = parse_chunked(m, len, odd, COUNT(odd));
	serialize(t1, &other);
	assert_int_equal(whole.len, other.len);
	assert_memory_equal(whole.ptr, other.ptr, whole.len);
	mime_tree_free(&t1);
	buf_deinit(&other);

	struct mime_tree *t2 = mime_tree_deserialize(whole.ptr, whole.len);
	assert_non_null(t2);
	check_tree(t2, m, len);
	serialize(t2, &other);
	assert_int_equal(whole.len, other.len);
	assert_memory_equal(whole.ptr, other.ptr, whole.len);
	mime_tree_free(&t2);
	buf_deinit(&other);
	buf_deinit(&whole);
	mime_tree_free(&t);
}

/* ---- named structures ---- */

static const char msg_nested[] = "From: a@example.com\n"
                                 "Subject: nested\n"
                                 "MIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=\"outer\"\n"
                                 "\n"
                                 "preamble\n"
                                 "--outer\n"
                                 "Content-Type: text/plain\n"
                                 "\n"
                                 "first\n"
                                 "--outer\n"
                                 "Content-Type: message/rfc822\n"
                                 "\n"
                                 "Subject: inner\n"
                                 "Content-Type: multipart/alternative; boundary=in\n"
                                 "\n"
                                 "--in\n"
                                 "\n"
                                 "plain\n"
                                 "--in\n"
                                 "Content-Type: text/html\n"
                                 "\n"
                                 "<b>html</b>\n"
                                 "--in--\n"
                                 "\n"
                                 "--outer\n"
                                 "Content-Type: image/png\n"
                                 "Content-Transfer-Encoding: base64\n"
                                 "\n"
                                 "iVBORw0KGgo=\n"
                                 "--outer--\n"
                                 "epilogue\n";

static const struct {
	const char *section;
	const char *want; /* as sent (CRLF); NULL: no such section */
} nested_sections[] = {
    {"HEADER", "From: a@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"},
    {"1", "first"},
    {"1.MIME", "Content-Type: text/plain\r\n\r\n"},
    {"1.1", "first"}, /* a leaf's part 1 is itself (as in Dovecot) */
    {"1.2", NULL},
    {"1.HEADER", NULL},
    {"2.MIME", "Content-Type: message/rfc822\r\n\r\n"},
    {"2.HEADER", "Subject: inner\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"},
    {"2.TEXT", "--in\r\n\r\nplain\r\n--in\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n"
               "--in--\r\n"},
    {"2.1", "plain"},
    {"2.1.MIME", "\r\n"}, /* a header that is only the empty line */
    {"2.2", "<b>html</b>"},
    {"2.2.MIME", "Content-Type: text/html\r\n\r\n"},
    {"2.3", NULL},
    {"3", "iVBORw0KGgo="},
    {"3.MIME", "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"},
    {"4", NULL},
    {"0", NULL}, /* not a section-spec: parse fails */
};

static void find(const struct mime_tree *t, const char *m, const char *spec, const char *want)
{
	struct mime_section sec;
	struct mime_range r;
	if (!mime_section_parse(spec, strlen(spec), &sec)) {
		assert_null(want);
		return;
	}
	bool found = mime_section_find(t, &sec, &r);
	if (want == NULL) {
		if (found)
			fail_msg("section %s exists", spec);
		return;
	}
	if (!found)
		fail_msg("section %s not found", spec);
	struct buf b;
	buf_init(&b, 0);
	sent_form(m, r.off, r.len, &b);
	assert_int_equal(r.size, b.len);
	if (b.len != strlen(want) || (b.len > 0 && memcmp(b.ptr, want, b.len) != 0))
		fail_msg("section %s: got \"%.*s\"", spec, (int)b.len, b.ptr);
	buf_deinit(&b);
}

static void test_sections_nested(void **state)
{
	(void)state;
	/* the same answers for the LF and the CRLF form of the message */
	for (int crlf = 0; crlf < 2; crlf++) {
		size_t len = strlen(msg_nested);
		char *m = crlf ? crlf_of(msg_nested, &len) : strdup(msg_nested);
		struct mime_tree *t = mime_parse(m, len);
		for (size_t i = 0; i < COUNT(nested_sections); i++)
			find(t, m, nested_sections[i].section, nested_sections[i].want);
		struct mime_section sec;
		struct mime_range r;
		assert_true(mime_section_parse("", 0, &sec));
		assert_true(mime_section_find(t, &sec, &r));
		assert_true(r.off == 0 && r.len == len && r.size == t->crlf_size);
		check_message(m, len);
		mime_tree_free(&t);
		free(m);
	}
}

static const struct {
	const char *msg;
	const char *section, *want;
} single_sections[] = {
    /* a non-multipart message has part 1, its body */
    {"Subject: s\n\nbody\n", "1", "body\r\n"},
    {"Subject: s\n\nbody\n", "1.MIME", "Subject: s\r\n\r\n"},
    {"Subject: s\n\nbody\n", "TEXT", "body\r\n"},
    {"Subject: s\n\nbody\n", "2", NULL},
    {"Subject: s\n\nbody\n", "1.HEADER", NULL},
    {"Subject: s\n\nbody", "1", "body"},
    {"Subject: s\n", "TEXT", ""},
    {"Subject: s\n", "HEADER", "Subject: s\r\n"},
    {"", "HEADER", ""},
    /* a top-level message/rfc822: 1 is the whole encapsulated message */
    {"Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", "1", "Subject: in\r\n\r\nbody\r\n"},
    {"Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", "1.HEADER", "Subject: in\r\n\r\n"},
    {"Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", "1.TEXT", "body\r\n"},
    {"Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", "1.1", "body\r\n"},
    {"Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", "1.1.MIME", "Subject: in\r\n\r\n"},
    /* multipart with no parts (no boundary) */
    {"Content-Type: multipart/mixed\n\n--x\n\nA\n", "1", NULL},
    {"Content-Type: multipart/mixed\n\n--x\n\nA\n", "TEXT", "--x\r\n\r\nA\r\n"},
    /* keywords in any case, nothing after them */
    {"Subject: s\n\nbody\n", "header", "Subject: s\r\n\r\n"},
    {"Subject: s\n\nbody\n", "HEADER.FIELDS", "Subject: s\r\n\r\n"},
    {"Subject: s\n\nbody\n", "header.fields.not", "Subject: s\r\n\r\n"},
    {"Subject: s\n\nbody\n", "MIME", NULL},
    {"Subject: s\n\nbody\n", "TEXT.", NULL},
    {"Subject: s\n\nbody\n", "1.", NULL},
    {"Subject: s\n\nbody\n", "01", NULL},
    {"Subject: s\n\nbody\n", "1..1", NULL},
    {"Subject: s\n\nbody\n", "4294967296", NULL},
};

static void test_sections_single(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(single_sections); i++) {
		const char *m = single_sections[i].msg;
		struct mime_tree *t = mime_parse(m, strlen(m));
		find(t, m, single_sections[i].section, single_sections[i].want);
		mime_tree_free(&t);
	}
}

/* What the parser found for msg_nested, part by part. */
static void test_structure(void **state)
{
	(void)state;
	size_t len = strlen(msg_nested);
	struct mime_tree *t = mime_parse(msg_nested, len);
	assert_int_equal(t->nparts, 7);
	static const uint8_t kinds[] = {MIME_KIND_MULTIPART, MIME_KIND_LEAF, MIME_KIND_MESSAGE,
	                                MIME_KIND_MULTIPART, MIME_KIND_LEAF, MIME_KIND_LEAF,
	                                MIME_KIND_LEAF};
	static const uint32_t parents[] = {MIME_NONE, 0, 0, 2, 3, 3, 0};
	for (uint32_t i = 0; i < 7; i++) {
		assert_int_equal(t->parts[i].kind, kinds[i]);
		assert_int_equal(t->parts[i].parent, parents[i]);
		assert_int_equal(t->parts[i].flags, 0);
	}
	assert_true(mime_part_is_message(t, 0));
	assert_true(mime_part_is_message(t, 3));
	assert_false(mime_part_is_message(t, 1));
	assert_true(mime_str_eq(t, t->parts[6].encoding, "BASE64"));
	assert_false(mime_str_present(t->parts[1].id));
	struct buf b;
	buf_init(&b, 0);
	assert_true(mime_param_value(t, t->parts[0].params, "Boundary", &b));
	assert_string_equal(b.ptr, "outer");
	buf_deinit(&b);
	/* the encapsulated message's envelope fields, in header order */
	assert_int_equal(t->parts[3].env.count, 1);
	assert_int_equal(t->env[t->parts[3].env.first].field, MIME_ENV_SUBJECT);
	assert_string_equal(mime_str_ptr(t, t->env[t->parts[3].env.first].value), "inner");
	assert_int_equal(t->parts[2].env.count, 0);
	assert_int_equal(t->flags, 0);
	mime_tree_free(&t);
}

/* Header values as kept: after the colon and its white space, folds as
 * one LF; the first of repeated Content-* fields counts. */
static void test_header_values(void **state)
{
	(void)state;
	const char *m = "Subject:   folded\r\n\tline\r\nMessage-ID: \r\n <id@x>\r\n"
	                "Content-Type: text/plain;\r\n charset=\"utf-8\"\r\n"
	                "Content-Type: text/html\r\nMIME-Version: 1.0\r\n\r\n";
	struct mime_tree *t = mime_parse(m, strlen(m));
	const struct mime_part *p = &t->parts[0];
	assert_int_equal(p->env.count, 2);
	assert_string_equal(mime_str_ptr(t, t->env[p->env.first].value), "folded\n\tline");
	assert_string_equal(mime_str_ptr(t, t->env[p->env.first + 1].value), "\n <id@x>");
	assert_string_equal(mime_str_ptr(t, p->subtype), "plain");
	struct buf b;
	buf_init(&b, 0);
	assert_true(mime_param_value(t, p->params, "charset", &b));
	assert_string_equal(b.ptr, "utf-8");
	buf_deinit(&b);
	mime_tree_free(&t);
}

/* ---- limits ---- */

static void append_n(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(buf_append_str(b, s));
}

static void test_limit_depth(void **state)
{
	(void)state;
	struct buf m;
	buf_init(&m, 0);
	/* b<n>x: no boundary is a prefix of another (that would be a match) */
	for (int i = 0; i < 70; i++)
		assert_true(buf_appendf(
		    &m, "Content-Type: multipart/mixed; boundary=b%dx\n\n--b%dx\n", i, i));
	assert_true(buf_append_str(&m, "\ndeep\n"));
	for (int i = 69; i >= 0; i--)
		assert_true(buf_appendf(&m, "--b%dx--\n", i));
	struct mime_tree *t = mime_parse(m.ptr, m.len);
	assert_int_equal(t->nparts, MIME_MAX_DEPTH + 1);
	const struct mime_part *last = &t->parts[t->nparts - 1];
	assert_int_equal(last->depth, MIME_MAX_DEPTH);
	assert_int_equal(last->kind, MIME_KIND_LEAF);
	assert_true(last->flags & MIME_PART_TRUNCATED);
	assert_true(t->flags & MIME_TREE_LIMITED);
	struct buf b;
	buf_init(&b, 0);
	assert_true(mime_imap_bodystructure(t, t->nparts - 1, true, 0, &b));
	assert_memory_equal(b.ptr, "(\"application\" \"octet-stream\" (\"boundary\" \"b50x\")", 48);
	buf_deinit(&b);
	check_message(m.ptr, m.len);
	mime_tree_free(&t);

	/* message/rfc822 in message/rfc822 ... */
	buf_reset(&m);
	append_n(&m, "Content-Type: message/rfc822\n\n", 80);
	assert_true(buf_append_str(&m, "Subject: deepest\n\ntext\n"));
	t = mime_parse(m.ptr, m.len);
	assert_int_equal(t->nparts, MIME_MAX_DEPTH + 1);
	assert_true(t->parts[MIME_MAX_DEPTH].flags & MIME_PART_TRUNCATED);
	check_message(m.ptr, m.len);
	mime_tree_free(&t);
	buf_deinit(&m);
}

static void test_limit_parts(void **state)
{
	(void)state;
	struct buf m;
	buf_init(&m, 0);
	assert_true(buf_append_str(&m, "Content-Type: multipart/mixed; boundary=p\n\n"));
	append_n(&m, "--p\n\nx\n", MIME_MAX_PARTS + 50);
	assert_true(buf_append_str(&m, "--p--\nepilogue\n"));
	struct mime_tree *t = mime_parse(m.ptr, m.len);
	assert_int_equal(t->nparts, MIME_MAX_PARTS);
	assert_true(t->parts[0].flags & MIME_PART_DROPPED);
	assert_int_equal(t->parts[0].nchildren, MIME_MAX_PARTS - 1);
	/* the parts that were kept are exact, dropped ones belong to none */
	const struct mime_part *p = &t->parts[MIME_MAX_PARTS - 1];
	assert_int_equal(p->body_len, 1);
	assert_int_equal(p->body_off, 43 + 7 * (uint64_t)(MIME_MAX_PARTS - 2) + 5);
	check_message(m.ptr, m.len);
	mime_tree_free(&t);
	buf_deinit(&m);
}

static void test_limit_fields(void **state)
{
	(void)state;
	struct buf m;
	buf_init(&m, 0);
	/* a 200 KB Subject, 100 parameters, 300 To fields */
	assert_true(buf_append_str(&m, "Subject: "));
	append_n(&m, "0123456789", 20000);
	assert_true(buf_append_str(&m, "\nMIME-Version: 1.0\nContent-Type: text/plain"));
	for (int i = 0; i < 100; i++)
		assert_true(buf_appendf(&m, "; p%d=v%d", i, i));
	assert_true(buf_append_str(&m, "\n"));
	append_n(&m, "To: a@example.com\n", 300);
	assert_true(buf_append_str(&m, "\nbody\n"));
	struct mime_tree *t = mime_parse(m.ptr, m.len);
	const struct mime_part *p = &t->parts[0];
	assert_true(p->flags & MIME_PART_CUT);
	assert_int_equal(p->params.count, MIME_MAX_PARAMS);
	assert_int_equal(p->env.count, MIME_MAX_ENV_FIELDS);
	assert_int_equal(t->env[p->env.first].value.len, MIME_MAX_FIELD);
	assert_int_equal(p->body_len, 5);
	check_message(m.ptr, m.len);
	mime_tree_free(&t);

	/* a boundary longer than MIME_MAX_BOUNDARY still works (prefix) */
	buf_reset(&m);
	char bnd[301];
	memset(bnd, 'q', 300);
	bnd[300] = '\0';
	assert_true(
	    buf_appendf(&m, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\nA\n--%s--\n",
	                bnd, bnd, bnd));
	t = mime_parse(m.ptr, m.len);
	assert_int_equal(t->nparts, 2);
	assert_int_equal(t->parts[1].body_len, 1);
	mime_tree_free(&t);

	/* a 4 MB body line and a 1 MB header line: parsed, nothing kept */
	buf_reset(&m);
	assert_true(buf_append_str(&m, "X-Long: "));
	append_n(&m, "y", 1 << 20);
	assert_true(buf_append_str(&m, "\n\n"));
	append_n(&m, "z", 4 << 20);
	t = mime_parse(m.ptr, m.len);
	assert_int_equal(t->parts[0].body_len, 4 << 20);
	assert_true(t->pool_len < 64);
	mime_tree_free(&t);
	buf_deinit(&m);
}

/* ---- generated corpus ---- */

struct rng {
	uint64_t s;
};

static uint32_t rnd(struct rng *r, uint32_t n)
{
	r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(r->s >> 33) % n;
}

static const char *pick(struct rng *r, const char *const *v, size_t n)
{
	return v[rnd(r, (uint32_t)n)];
}

#define PICK(r, v) pick(r, v, COUNT(v))

static void eol(struct rng *r, struct buf *m)
{
	assert_true(buf_append_str(m, rnd(r, 3) == 0 ? "\n" : "\r\n"));
}

static void line(struct rng *r, struct buf *m, const char *s)
{
	assert_true(buf_append_str(m, s));
	eol(r, m);
}

static const char *const boundaries[] = {
    "b", "b1", "b10", "bound", "boundary", "==x", "--", "simple boundary", "----=_Part_0", "b1 "};
static const char *const headers[] = {
    "Subject: =?utf-8?q?caf=C3=A9?= =?iso-8859-1?b?6Q==?=",
    "Subject: caf\xc3\xa9 \xe9",
    "From: \"J\xc3\xb6rg\" <j@x>, grp: a@b, c@d;, undisclosed-recipients:;",
    "To: <@r.x:a@b>, x@y (Comment), a . b @ c . d",
    "Cc: broken <a@b",
    "Date: Mon, 1 Jan 2024",
    "Message-ID: <a@b>",
    "X-Junk: \x01\x7f",
    "no colon line",
    " continuation first",
    "Subject:\tfolded",
    " \tcontinued",
    "Content-ID: <c@x>",
    "Content-Description: d",
    "Content-Language: en, de",
    "Content-Location: http://x",
    "Content-MD5: abc=",
    "Content-Disposition: attachment; filename*=utf-8''%C3%A9.txt; size=3",
    "Content-Transfer-Encoding: base64",
    "MIME-Version: 1.0",
};
static const char *const leaf_types[] = {
    "text/plain",
    "text/html; charset=utf-8",
    "application/pdf; name*0*=utf-8''a; name*1=b",
    "image/png; name=\"x.png\"",
    "text",
    "text/plain garbage",
    "message/delivery-status",
    "TEXT/PLAIN; CHARSET=US-ASCII",
    "application/octet-stream; foo; bar=",
};
static const char *const body_lines[] = {"text", "",     "--",   "--b", "--b1x",   "--boundary--",
                                         "=3D",  "\xe9", "a\rb", " ",   "--simple"};

static void gen_part(struct rng *r, struct buf *m, unsigned depth, bool digest);

static void gen_headers(struct rng *r, struct buf *m)
{
	for (uint32_t n = rnd(r, 4); n > 0; n--)
		line(r, m, PICK(r, headers));
}

static void gen_body(struct rng *r, struct buf *m)
{
	for (uint32_t n = rnd(r, 4); n > 0; n--)
		line(r, m, PICK(r, body_lines));
}

static void gen_multipart(struct rng *r, struct buf *m, unsigned depth)
{
	const char *b = PICK(r, boundaries);
	bool digest = rnd(r, 4) == 0;
	assert_true(buf_appendf(m, "Content-Type: multipart/%s; boundary=\"%s\"",
	                        digest ? "digest" : "mixed", b));
	eol(r, m);
	gen_headers(r, m);
	eol(r, m);
	if (rnd(r, 3) == 0)
		gen_body(r, m); /* preamble */
	for (uint32_t n = rnd(r, 4); n > 0; n--) {
		assert_true(buf_appendf(m, "--%s%s", b, rnd(r, 4) == 0 ? " \t" : ""));
		eol(r, m);
		gen_part(r, m, depth + 1, digest);
	}
	uint32_t close = rnd(r, 4);
	if (close < 2) {
		assert_true(buf_appendf(m, "--%s--", b));
		eol(r, m);
		if (close == 0)
			gen_body(r, m); /* epilogue */
	}
}

static void gen_part(struct rng *r, struct buf *m, unsigned depth, bool digest)
{
	uint32_t k = depth < 6 ? rnd(r, 8) : 7;
	if (k < 2) {
		gen_multipart(r, m, depth);
	} else if (k == 2 || (digest && k == 3)) {
		if (!digest || rnd(r, 2) == 0)
			line(r, m, "Content-Type: message/rfc822");
		gen_headers(r, m);
		eol(r, m);
		gen_part(r, m, depth + 1, false);
	} else {
		if (rnd(r, 3) != 0) {
			assert_true(buf_appendf(m, "Content-Type: %s", PICK(r, leaf_types)));
			eol(r, m);
		}
		gen_headers(r, m);
		if (rnd(r, 8) != 0)
			eol(r, m);
		gen_body(r, m);
	}
}

static void test_generated(void **state)
{
	(void)state;
	struct rng r = {42};
	for (int i = 0; i < 3000; i++) {
		struct buf m;
		buf_init(&m, 0);
		gen_part(&r, &m, 0, false);
		if (m.len > 0 && rnd(&r, 4) == 0)
			m.len -= m.ptr[m.len - 1] == '\n' ? 1 : 0; /* no final line break */
		check_message(m.ptr != NULL ? m.ptr : "", m.len);
		buf_deinit(&m);
	}
}

/* Random bytes with MIME-ish words in them: never a crash, always a tree. */
static void test_random_bytes(void **state)
{
	(void)state;
	static const char *const words[] = {"\n",
	                                    "\r\n",
	                                    "--",
	                                    "b",
	                                    ":",
	                                    " ",
	                                    "\t",
	                                    "Content-Type: multipart/mixed; boundary=b\n",
	                                    "Content-Type: message/rfc822\n",
	                                    "\r",
	                                    "\0",
	                                    "=?"};
	struct rng r = {7};
	for (int i = 0; i < 2000; i++) {
		struct buf m;
		buf_init(&m, 0);
		for (uint32_t n = rnd(&r, 60); n > 0; n--) {
			const char *w = PICK(&r, words);
			assert_true(buf_append(&m, w, w[0] == '\0' ? 1 : strlen(w)));
		}
		check_message(m.ptr != NULL ? m.ptr : "", m.len);
		buf_deinit(&m);
	}
}

/* ---- the cache encoding ---- */

static void test_serial_corrupt(void **state)
{
	(void)state;
	struct mime_tree *t = mime_parse(msg_nested, strlen(msg_nested));
	struct buf good;
	serialize(t, &good);
	/* every proper prefix is refused, and so is a trailing byte */
	for (size_t n = 0; n < good.len; n++)
		assert_null(mime_tree_deserialize(good.ptr, n));
	assert_true(buf_append_byte(&good, 0));
	assert_null(mime_tree_deserialize(good.ptr, good.len));
	good.len--;
	/* a wrong magic or version */
	good.ptr[2] = MIME_TREE_FORMAT + 1;
	assert_null(mime_tree_deserialize(good.ptr, good.len));
	good.ptr[2] = MIME_TREE_FORMAT;
	/* every single-byte change: refused, or a valid tree that encodes back
	 * to exactly these bytes and formats */
	for (size_t i = 0; i < good.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			good.ptr[i] ^= (char)(1 << bit);
			struct mime_tree *x = mime_tree_deserialize(good.ptr, good.len);
			if (x != NULL) {
				struct buf again;
				serialize(x, &again);
				assert_int_equal(again.len, good.len);
				assert_memory_equal(again.ptr, good.ptr, good.len);
				check_formats(x);
				buf_deinit(&again);
				mime_tree_free(&x);
			}
			good.ptr[i] ^= (char)(1 << bit);
		}
	}
	mime_tree_free(&t);
	assert_non_null(t = mime_tree_deserialize(good.ptr, good.len));
	mime_tree_free(&t);
	buf_deinit(&good);
}

/* Hand-made entries that are well-formed varints but wrong trees. */
static void test_serial_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		size_t len;
		const char *bytes;
	} bad[] = {
	    {"no parts", 8, "YM\x01\x00\x00\x00\x00\x00"},
	    {"non-minimal varint", 9, "YM\x01\x80\x00\x00\x00\x00\x00"},
	    {"pool past the end", 7, "YM\x01\x00\x00\x00\x05"},
	    /* root: flags size=4 extra=0 pool=0, 1 part, delta=0 kind=leaf
	     * flags=0 gap=0 hl=2 bl=3 (2+3 != 4) */
	    {"root does not cover the message", 24,
	     "YM\x01\x00\x04\x00\x00\x01\x00\x00\x00\x00\x02\x03\x00\x00\x00"
	     "\x00\x00\x00\x00\x00\x00\x00"},
	    {"root with a parent", 11, "YM\x01\x00\x00\x00\x00\x01\x01\x00\x00"},
	    {"string outside the pool", 23,
	     "YM\x01\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	     "\x02\x00\x00\x00"},
	};
	for (size_t i = 0; i < COUNT(bad); i++) {
		if (mime_tree_deserialize(bad[i].bytes, bad[i].len) != NULL)
			fail_msg("accepted: %s", bad[i].what);
	}
	/* and a minimal valid one: an empty message */
	struct mime_tree *t = mime_parse("", 0);
	struct buf b;
	serialize(t, &b);
	mime_tree_free(&t);
	assert_non_null(t = mime_tree_deserialize(b.ptr, b.len));
	assert_int_equal(t->nparts, 1);
	mime_tree_free(&t);
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sections_nested), cmocka_unit_test(test_sections_single),
	    cmocka_unit_test(test_structure),       cmocka_unit_test(test_header_values),
	    cmocka_unit_test(test_limit_depth),     cmocka_unit_test(test_limit_parts),
	    cmocka_unit_test(test_limit_fields),    cmocka_unit_test(test_generated),
	    cmocka_unit_test(test_random_bytes),    cmocka_unit_test(test_serial_corrupt),
	    cmocka_unit_test(test_serial_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
