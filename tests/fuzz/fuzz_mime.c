/*
 * fuzz_mime.c - libFuzzer harness for src/mime/. The input is used three
 * ways: as a message (parsed whole and in chunks, which must give the same
 * tree; serialised, read back and serialised again, which must give the
 * same bytes; every part formatted, sections resolved, bodies decoded), as
 * a cache entry (deserialise; if accepted, it must serialise back to the
 * same bytes and format), and as encoded text for the decoders (whole and
 * chunked must agree).
 */
#include "mime/mime_address.h"
#include "mime/mime_binary.h"
#include "mime/mime_charset.h"
#include "mime/mime_decode.h"
#include "mime/mime_header.h"
#include "mime/mime_imap.h"
#include "mime/mime_parser.h"
#include "mime/mime_section.h"
#include "mime/mime_tree.h"

#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct buf *a, const struct buf *b)
{
	CHECK(a->len == b->len);
	CHECK(a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static void serialize(const struct mime_tree *t, struct buf *out)
{
	buf_init(out, 0);
	CHECK(mime_tree_serialize(t, out));
}

static void format_all(const struct mime_tree *t)
{
	struct buf b;
	buf_init(&b, 0);
	for (uint32_t i = 0; i < t->nparts; i++) {
		buf_reset(&b);
		CHECK(mime_imap_bodystructure(t, i, true, 0, &b));
		buf_reset(&b);
		CHECK(mime_imap_bodystructure(t, i, false, MIME_IMAP_UTF8, &b));
		buf_reset(&b);
		CHECK(mime_imap_envelope(t, i, i & 1 ? MIME_IMAP_UTF8 : 0, &b));
	}
	buf_deinit(&b);
}

/* The ranges a section resolves to lie inside the message. */
static void sections(const struct mime_tree *t)
{
	static const char *const specs[] = {"",      "HEADER", "TEXT",     "1",      "1.MIME",
	                                    "2",     "1.1",    "1.HEADER", "2.TEXT", "1.2.3",
	                                    "2.1.1", "3.MIME", "1.1.1.1",  "4.2"};
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		struct mime_section sec;
		struct mime_range r;
		CHECK(mime_section_parse(specs[k], strlen(specs[k]), &sec));
		if (!mime_section_find(t, &sec, &r))
			continue;
		CHECK(r.off <= t->size && r.len <= t->size - r.off);
		CHECK(r.size >= r.len && r.size <= 2 * r.len);
		CHECK(r.part < t->nparts);
	}
}

/* Decode (in, len) whole and in chunks; the outputs must agree. */
static void decode_both(enum mime_cte cte, const uint8_t *in, size_t len, size_t step)
{
	struct mime_decoder d;
	uint8_t *a = malloc(MIME_DECODE_OUT_MAX(len)), *b = malloc(MIME_DECODE_OUT_MAX(len) * 2);
	CHECK(a != NULL && b != NULL);
	mime_decoder_init(&d, cte);
	size_t na = mime_decoder_feed(&d, in, len, a);
	na += mime_decoder_finish(&d, a + na);
	CHECK(na <= MIME_DECODE_OUT_MAX(len));
	mime_decoder_init(&d, cte);
	size_t nb = 0;
	for (size_t i = 0; i < len; i += step) {
		size_t c = len - i < step ? len - i : step;
		size_t w = mime_decoder_feed(&d, in + i, c, b + nb);
		CHECK(w <= MIME_DECODE_OUT_MAX(c));
		nb += w;
	}
	nb += mime_decoder_finish(&d, b + nb);
	CHECK(na == nb && memcmp(a, b, na) == 0);
	free(a);
	free(b);
}

/* Leaf bodies through their decoder, header values through RFC 2047. */
static void decode_parts(const struct mime_tree *t, const uint8_t *m, size_t step)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		enum mime_cte cte =
		    mime_cte_from_name(mime_str_ptr(t, p->encoding), p->encoding.len);
		if (p->kind == MIME_KIND_LEAF && cte != MIME_CTE_UNKNOWN)
			decode_both(cte, m + p->body_off, p->body_len, step);
		for (uint32_t k = 0; k < p->env.count; k++) {
			struct mime_str v = t->env[p->env.first + k].value;
			buf_reset(&b);
			(void)mime_header_decode(mime_str_ptr(t, v), v.len, &b);
			CHECK(mime_utf8_valid(b.ptr, b.len));
		}
		buf_reset(&b);
		(void)mime_param_value(t, p->dparams, "filename", &b);
		(void)mime_param_value(t, p->params, "name", &b);
	}
	buf_deinit(&b);
}

static void as_message(const uint8_t *data, size_t size, size_t step)
{
	struct mime_tree *t = mime_parse(data, size);
	CHECK(t->size == size && t->nparts >= 1);
	struct mime_parser *p = mime_parser_new();
	for (size_t i = 0; i < size; i += step)
		mime_parser_feed(p, data + i, size - i < step ? size - i : step);
	struct mime_tree *tc = mime_parser_finish(&p);
	struct buf whole, chunked, again;
	serialize(t, &whole);
	serialize(tc, &chunked);
	same(&whole, &chunked);
	struct mime_tree *td = mime_tree_deserialize(whole.ptr, whole.len);
	CHECK(td != NULL);
	serialize(td, &again);
	same(&whole, &again);
	format_all(t);
	sections(t);
	decode_parts(t, data, step);
	buf_deinit(&whole);
	buf_deinit(&chunked);
	buf_deinit(&again);
	mime_tree_free(&t);
	mime_tree_free(&tc);
	mime_tree_free(&td);
}

static void as_cache_entry(const uint8_t *data, size_t size)
{
	struct mime_tree *t = mime_tree_deserialize(data, size);
	if (t == NULL)
		return;
	struct buf b;
	serialize(t, &b);
	CHECK(b.len == size && memcmp(b.ptr, data, size) == 0);
	format_all(t);
	sections(t);
	buf_deinit(&b);
	mime_tree_free(&t);
}

/* The input as a header block: fields lie inside it, one after another. */
static void as_header(const uint8_t *data, size_t size)
{
	const char *h = (const char *)data;
	struct mime_header_field f;
	size_t pos = 0, prev = 0;
	char *tmp = malloc(size + 1);
	CHECK(tmp != NULL);
	while (mime_header_next(h, size, &pos, &f)) {
		CHECK(f.raw == h + prev && pos == prev + f.raw_len && pos <= size && f.raw_len > 0);
		CHECK(f.value >= f.raw && f.value + f.value_len <= f.raw + f.raw_len);
		CHECK(f.name_len == 0 || (f.name == f.raw && f.name_len < f.raw_len));
		size_t n = mime_unfold(f.value, f.value_len, tmp);
		CHECK(n <= f.value_len);
		prev = pos;
	}
	free(tmp);
}

static void as_text(const uint8_t *data, size_t size, size_t step)
{
	as_header(data, size);
	decode_both(MIME_CTE_BASE64, data, size, step);
	decode_both(MIME_CTE_QP, data, size, step);
	decode_both(MIME_CTE_IDENTITY, data, size, step);
	struct mime_addr_list l;
	mime_addr_list_init(&l);
	mime_address_parse((const char *)data, size, &l);
	for (size_t i = 0; i < l.count; i++)
		CHECK(l.v[i].mailbox.off == UINT32_MAX || l.v[i].mailbox.off < l.text.len);
	mime_addr_list_deinit(&l);
}

/* Binary parts to base64 (APPEND of a literal8): never longer than the
 * base64 of everything plus the new header fields, and parseable. */
static void as_binary_append(const uint8_t *data, size_t size)
{
	struct buf out;
	buf_init(&out, 0);
	if (mime_binary_to_base64((const char *)data, size, &out)) {
		CHECK(out.len <= size * 2 + 64 * (size / 8 + 2));
		struct mime_tree *t = mime_parse(out.ptr, out.len);
		CHECK(t != NULL);
		mime_tree_free(&t);
	}
	buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* chunk sizes from the input itself, 1..17 */
	size_t step = size > 0 ? 1 + data[size / 2] % 17 : 1;
	as_message(data, size, step);
	if (size <= 4096)
		as_message(data, size, 1); /* byte at a time */
	as_cache_entry(data, size);
	as_text(data, size, step);
	as_binary_append(data, size);
	return 0;
}
