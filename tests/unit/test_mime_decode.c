/*
 * test_mime_decode.c - the decoders SEARCH and BINARY use: base64,
 * quoted-printable and identity Content-Transfer-Encodings (streaming,
 * every chunking equal to whole, garbage tolerated), RFC 2047 encoded
 * words in many charsets, RFC 2231 parameter values, UTF-8 clean-up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mime/mime_charset.h"
#include "mime/mime_decode.h"
#include "mime/mime_header.h"
#include "mime/mime_parser.h"
#include "mime/mime_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Decode in chunks of `step` bytes (0: whole) into out (malloc'd). */
static size_t decode(enum mime_cte cte, const char *in, size_t len, size_t step, char **out)
{
	struct mime_decoder d;
	mime_decoder_init(&d, cte);
	char *o = malloc(MIME_DECODE_OUT_MAX(len) * 2 + 16);
	assert_non_null(o);
	size_t n = 0;
	if (step == 0)
		step = len > 0 ? len : 1;
	for (size_t i = 0; i < len; i += step) {
		size_t c = len - i < step ? len - i : step;
		size_t w = mime_decoder_feed(&d, in + i, c, o + n);
		assert_true(w <= MIME_DECODE_OUT_MAX(c));
		n += w;
	}
	size_t w = mime_decoder_finish(&d, o + n);
	assert_true(w <= MIME_DECODE_OUT_MAX(0));
	assert_int_equal(d.total, n + w); /* BINARY.SIZE */
	*out = o;
	return n + w;
}

static void check_decode(enum mime_cte cte, const char *in, size_t len, const char *want,
                         size_t want_len)
{
	for (size_t step = 0; step <= len + 1; step++) {
		char *out;
		size_t n = decode(cte, in, len, step, &out);
		if (n != want_len || memcmp(out, want, n) != 0)
			fail_msg("decoding \"%.*s\" by %zu: got \"%.*s\"", (int)len, in, step,
			         (int)n, out);
		free(out);
	}
}

static const struct {
	enum mime_cte cte;
	const char *in, *out;
} cases[] = {
    {MIME_CTE_BASE64, "aGVsbG8=", "hello"},
    {MIME_CTE_BASE64, "aGVs\r\nbG8=\r\n", "hello"},
    {MIME_CTE_BASE64, "aGVsbG8", "hello"},            /* no padding */
    {MIME_CTE_BASE64, "aGVsbG8=aGk=", "hellohi"},     /* concatenated */
    {MIME_CTE_BASE64, " a*G!V s\tb G 8 = ", "hello"}, /* RFC 2045 6.8: ignored */
    {MIME_CTE_BASE64, "YQ", "a"},
    {MIME_CTE_BASE64, "Y", ""},
    {MIME_CTE_BASE64, "====", ""},
    {MIME_CTE_BASE64, "", ""},
    {MIME_CTE_QP, "a=3Db", "a=b"},
    {MIME_CTE_QP, "soft=\nbreak", "softbreak"},
    {MIME_CTE_QP, "soft=\r\nbreak", "softbreak"},
    {MIME_CTE_QP, "soft= \t\r\nbreak", "softbreak"}, /* white space after = */
    {MIME_CTE_QP, "trail  \nx", "trail\r\nx"},       /* 6.7 note 3 */
    {MIME_CTE_QP, "trail \t\r\nx", "trail\r\nx"},
    {MIME_CTE_QP, "in  side", "in  side"},
    {MIME_CTE_QP, "a\nb\r\n", "a\r\nb\r\n"},
    {MIME_CTE_QP, "=4a=4A", "JJ"}, /* lower-case hex tolerated */
    {MIME_CTE_QP, "=ZZ", "=ZZ"},   /* not an escape: kept */
    {MIME_CTE_QP, "=4", "=4"},
    {MIME_CTE_QP, "=4x", "=4x"},
    {MIME_CTE_QP, "end=", "end"},
    {MIME_CTE_QP, "end= ", "end"},
    {MIME_CTE_QP, "end=\r", "end"},
    {MIME_CTE_QP, "= x", "= x"},
    {MIME_CTE_QP, "=\rx", "=\rx"},
    {MIME_CTE_QP, "x\ry", "x\ry"},
    {MIME_CTE_QP, "ws \r", "ws \r"},
    {MIME_CTE_QP, "last  ", "last"},
    {MIME_CTE_QP, "caf=C3=A9 =E2=82=AC", "caf\xc3\xa9 \xe2\x82\xac"},
    {MIME_CTE_IDENTITY, "a\nb\r\nc\n", "a\r\nb\r\nc\r\n"},
    {MIME_CTE_IDENTITY, "\r\r\n\n", "\r\r\n\r\n"},
    {MIME_CTE_IDENTITY, "no break", "no break"},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(cases); i++)
		check_decode(cases[i].cte, cases[i].in, strlen(cases[i].in), cases[i].out,
		             strlen(cases[i].out));
}

/* Every byte value through a reference base64 encoder and back. */
static void test_base64_roundtrip(void **state)
{
	(void)state;
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[300];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len < sizeof(raw); len += 37) {
		char enc[500];
		size_t n = 0;
		for (size_t i = 0; i < len; i += 3) {
			uint32_t v = (uint32_t)raw[i] << 16;
			v |= i + 1 < len ? (uint32_t)raw[i + 1] << 8 : 0;
			v |= i + 2 < len ? raw[i + 2] : 0;
			enc[n++] = alphabet[v >> 18];
			enc[n++] = alphabet[(v >> 12) & 63];
			enc[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
			enc[n++] = i + 2 < len ? alphabet[v & 63] : '=';
			if (i % 57 == 54)
				enc[n++] = '\n';
		}
		check_decode(MIME_CTE_BASE64, enc, n, (const char *)raw, len);
	}
}

/* A white space run longer than what is held back is written out: the
 * result does not depend on the chunking either. */
static void test_qp_long_whitespace(void **state)
{
	(void)state;
	char in[MIME_QP_WS_MAX + 60], want[MIME_QP_WS_MAX + 60];
	size_t run = MIME_QP_WS_MAX + 40;
	memset(in, ' ', run);
	memcpy(in + run, "x\n", 2);
	memcpy(want, in, run + 1);
	memcpy(want + run + 1, "\r\n", 2);
	check_decode(MIME_CTE_QP, in, run + 2, want, run + 3);
	/* at the end of a line only the held part goes */
	in[run] = '\n';
	memset(want, ' ', MIME_QP_WS_MAX);
	memcpy(want + MIME_QP_WS_MAX, "\r\n", 2);
	check_decode(MIME_CTE_QP, in, run + 1, want, MIME_QP_WS_MAX + 2);
}

static void test_cte_names(void **state)
{
	(void)state;
	assert_int_equal(mime_cte_from_name(NULL, 0), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name("7BIT", 4), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name("8bit", 4), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name("Binary", 6), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_from_name("Base64", 6), MIME_CTE_BASE64);
	assert_int_equal(mime_cte_from_name("QUOTED-PRINTABLE", 16), MIME_CTE_QP);
	assert_int_equal(mime_cte_from_name("x-uuencode", 10), MIME_CTE_UNKNOWN);
	assert_int_equal(mime_cte_from_name("base64x", 6), MIME_CTE_BASE64); /* (ptr, len) */
	assert_int_equal(mime_cte_from_name("", 0), MIME_CTE_UNKNOWN);
}

static const struct {
	const char *in, *out;
} words[] = {
    {"=?UTF-8?Q?caf=C3=A9?=", "caf\xc3\xa9"},
    {"=?utf-8?B?Y2Fmw6k=?=", "caf\xc3\xa9"},
    {"=?ISO-8859-1?Q?caf=E9?=", "caf\xc3\xa9"},
    {"=?iso-8859-1?b?6Q==?=", "\xc3\xa9"},
    {"=?iso-8859-2?q?=B1?=", "\xc4\x85"},      /* a ogonek */
    {"=?ISO-8859-15?Q?=A4?=", "\xe2\x82\xac"}, /* euro */
    {"=?windows-1252?q?=80?=", "\xe2\x82\xac"},
    {"=?windows-1251?q?=CF=F0=E8=E2=E5=F2?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {"=?koi8-r?b?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {"=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
     "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"},
    {"=?shift_jis?b?grGC8YLJgr+CzQ==?=",
     "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"},
    {"=?gb2312?b?xOO6ww==?=", "\xe4\xbd\xa0\xe5\xa5\xbd"},
    {"=?big5?b?p0Gmbg==?=", "\xe4\xbd\xa0\xe5\xa5\xbd"},
    {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},     /* RFC 2047 6.2 */
    {"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"}, /* folded */
    {"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
    {"a =?utf-8?q?b?= c", "a b c"},
    {"=?utf-8?q?a_b?=", "a b"},
    {"=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9"},               /* split character */
    {"=?utf-8?b?w6k=?= =?iso-8859-1?q?=E9?=", "\xc3\xa9\xc3\xa9"}, /* two charsets */
    {"=?utf-8*en?q?hi?=", "hi"},                                   /* RFC 2231 5 */
    {"foo=?utf-8?q?bar?=baz", "foobarbaz"},                        /* as mailers send */
    {"=?x-unknown?q?a=E9b?=", "a\xef\xbf\xbd"
                              "b"},
    {"=?no-such-charset?q?a?=", "a"},
    {"=?utf-8?q?=FF?=", "\xef\xbf\xbd"},
    {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="}, /* malformed: kept */
    {"=?utf-8?q?abc", "=?utf-8?q?abc"},
    {"=?\?q?a?=", "=?\?q?a?="}, /* "?\?" keeps C from reading a trigraph */
    {"=?utf-8?q?a b?=", "=?utf-8?q?a b?="},
    {"=?utf-8?q?\?=", ""},
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"caf\xe9", "caf\xef\xbf\xbd"},
    {"folded\r\n line", "folded line"},
    {"", ""},
};

static void test_encoded_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(words); i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_true(mime_header_decode(words[i].in, strlen(words[i].in), &b));
		if (b.len != strlen(words[i].out) ||
		    (b.len > 0 && memcmp(b.ptr, words[i].out, b.len) != 0))
			fail_msg("%s: got \"%.*s\"", words[i].in, (int)b.len, b.ptr);
		assert_true(mime_utf8_valid(b.ptr, b.len));
		buf_deinit(&b);
	}
	/* a full output buffer is reported */
	struct buf b;
	buf_init(&b, 3);
	assert_false(mime_header_decode("=?utf-8?q?abcdef?=", 18, &b));
	buf_deinit(&b);
}

static void test_charsets(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(mime_charset_to_utf8("UTF-8//IGNORE", 13, "a", 1, &b), MIME_CONV_UNKNOWN);
	assert_int_equal(mime_charset_to_utf8("latin1", 6, "\xe9\x81", 2, &b), MIME_CONV_OK);
	assert_int_equal(mime_charset_to_utf8(" \"UTF-8\" ", 9, "\xc3\xa9", 2, &b), MIME_CONV_OK);
	assert_int_equal(mime_charset_to_utf8("us-ascii", 8, "\xc3\xa9", 2, &b), MIME_CONV_OK);
	/* invalid input in the middle and a cut sequence at the end */
	assert_int_equal(mime_charset_to_utf8("shift_jis", 9, "a\x82", 2, &b), MIME_CONV_OK);
	assert_string_equal(b.ptr, "a\xc3\xa9\xef\xbf\xbd\xc3\xa9\xc3\xa9"
	                           "a\xef\xbf\xbd");
	assert_true(mime_charset_known("KOI8-R", 6));
	assert_true(mime_charset_known("", 0));
	assert_false(mime_charset_known("x-unknown", 9));
	assert_false(mime_charset_known("no/such", 7));
	buf_reset(&b);
	assert_true(
	    mime_utf8_append("\xf4\x90\x80\x80 \xc0\xaf ok", 10, &b)); /* > U+10FFFF, overlong */
	assert_string_equal(b.ptr, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd"
	                           "\xef\xbf\xbd ok");
	buf_deinit(&b);
}

/* RFC 2231 parameters through the tree: merged, then decoded on lookup. */
static void test_rfc2231(void **state)
{
	(void)state;
	static const struct {
		const char *header, *name, *want; /* want NULL: not found */
	} params[] = {
	    {"name*0*=utf-8'en'%E2%82%AC; name*1=\" rest\"", "name", "\xe2\x82\xac rest"},
	    {"title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title",
	     "This is ***fun***"},
	    {"name*=iso-8859-1''%E9t%E9.txt", "NAME", "\xc3\xa9t\xc3\xa9.txt"},
	    {"name=\"plain\"; name*=utf-8''ext", "name", "ext"}, /* extended wins */
	    {"name*0=\"a\"; name*1=\"b\"; name*2=c", "name", "abc"},
	    {"name*1=\"b\"; name*0=\"a\"", "name", "ab"}, /* any order */
	    {"name*0=\"a\"; name*2=\"c\"", "name", NULL}, /* a gap: kept apart */
	    {"name*0*=utf-8''%41; name*1=100%", "name", "A100%"},
	    {"name*=%41%4", "name", "A%4"}, /* no charset part, a cut escape */
	    {"name*=x-unknown''a%E9", "name", "a\xef\xbf\xbd"},
	    {"other=1", "name", NULL},
	};
	for (size_t i = 0; i < COUNT(params); i++) {
		struct buf m, v;
		buf_init(&m, 0);
		buf_init(&v, 0);
		assert_true(buf_appendf(&m, "Content-Type: text/plain; %s\n\n", params[i].header));
		struct mime_tree *t = mime_parse(m.ptr, m.len);
		bool found = mime_param_value(t, t->parts[0].params, params[i].name, &v);
		if (params[i].want == NULL) {
			assert_false(found);
		} else {
			assert_true(found);
			if (strcmp(v.ptr, params[i].want) != 0)
				fail_msg("%s: got \"%s\"", params[i].header, v.ptr);
		}
		mime_tree_free(&t);
		buf_deinit(&m);
		buf_deinit(&v);
	}
}

/* Walking a stored header, as HEADER.FIELDS and SEARCH HEADER do. */
static void test_header_walk(void **state)
{
	(void)state;
	static const char hdr[] = "Subject: one\r\n two\r\nX-Empty:\nno colon here\n"
				  "To : a@b\n\tc@d\r\n\r\nbody: not a field\n";
	static const struct {
		const char *name, *value, *raw;
	} want[] = {
	    {"Subject", " one\r\n two", "Subject: one\r\n two\r\n"},
	    {"X-Empty", "", "X-Empty:\n"},
	    {"", "no colon here", "no colon here\n"},
	    {"To", " a@b\n\tc@d", "To : a@b\n\tc@d\r\n"},
	};
	size_t pos = 0, k = 0;
	struct mime_header_field f;
	while (mime_header_next(hdr, sizeof(hdr) - 1, &pos, &f)) {
		assert_true(k < COUNT(want));
		assert_int_equal(f.name_len, strlen(want[k].name));
		assert_memory_equal(f.name != NULL ? f.name : "", want[k].name, f.name_len);
		assert_int_equal(f.value_len, strlen(want[k].value));
		assert_memory_equal(f.value, want[k].value, f.value_len);
		assert_int_equal(f.raw_len, strlen(want[k].raw));
		assert_memory_equal(f.raw, want[k].raw, f.raw_len);
		k++;
	}
	assert_int_equal(k, COUNT(want));
	pos = 0;
	assert_true(mime_header_next(hdr, sizeof(hdr) - 1, &pos, &f));
	assert_true(mime_header_is(&f, "SUBJECT"));
	assert_false(mime_header_is(&f, "Subjec"));
	/* a header cut anywhere: no overrun, fields end at the cut */
	for (size_t len = 0; len < sizeof(hdr) - 1; len++) {
		pos = 0;
		while (mime_header_next(hdr, len, &pos, &f))
			assert_true(pos <= len && f.raw + f.raw_len == hdr + pos);
	}
}

static void test_unfold(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} folds[] = {
	    {"a\r\n b", "a b"},
	    {"a\n\tb\n", "a\tb"},
	    {"a\r\n", "a"},
	    {"a\rb", "a\rb"},
	    {"a\nb", "a\nb"}, /* not a fold: kept */
	    {"\r\n\r\n x", "\r\n x"},
	    {"", ""},
	};
	for (size_t i = 0; i < COUNT(folds); i++) {
		char buf[64];
		strcpy(buf, folds[i].in);
		size_t n = mime_unfold(buf, strlen(buf), buf); /* in place */
		assert_int_equal(n, strlen(folds[i].out));
		assert_memory_equal(buf, folds[i].out, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_base64_roundtrip),
	    cmocka_unit_test(test_qp_long_whitespace),
	    cmocka_unit_test(test_cte_names),
	    cmocka_unit_test(test_encoded_words),
	    cmocka_unit_test(test_charsets),
	    cmocka_unit_test(test_rfc2231),
	    cmocka_unit_test(test_header_walk),
	    cmocka_unit_test(test_unfold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
