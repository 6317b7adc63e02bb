/*
 * test_utf7imap.c - modified UTF-7 mailbox names: the RFC 3501 5.1.3
 * examples, every strictness rule (valid and invalid tables both ways),
 * output bounds, random Unicode round trips, and random modified UTF-7
 * strings (everything the decoder accepts must be the canonical encoding
 * of what it decodes to). Then UTF-8 mailbox name validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/utf7imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

struct pair {
	const char *utf7;
	size_t utf7_len;
	const char *utf8;
	size_t utf8_len;
};

/* Both directions: utf7 <-> utf8. */
static const struct pair pairs[] = {
	{S(""), S("")},
	{S("INBOX"), S("INBOX")},
	{S("&-"), S("&")},
	{S("a&-b&-"), S("a&b&")},
	{S("&--"), S("&-")},
	{S("-&-"), S("-&")},
	{S(" ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}"), S(" ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}")},
	/* RFC 3501 5.1.3 */
	{S("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
	 S("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e")},
	{S("&Jjo-!"), S("\xe2\x98\xba!")},
	{S("&U,BTF2XlZyyKng-"), S("\xe5\x8f\xb0\xe5\x8c\x97\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e")},
	{S("&AOk-"), S("\xc3\xa9")},
	{S("&AOkA6Q-"), S("\xc3\xa9\xc3\xa9")},
	{S("&AOk-a&AOk-"), S("\xc3\xa9"
			 "a"
			 "\xc3\xa9")},
	{S("&AOk-&-"), S("\xc3\xa9&")},
	{S("&AOk--"), S("\xc3\xa9-")},
	{S("&AKA-"), S("\xc2\xa0")},
	{S("&2D3c5w-"), S("\xf0\x9f\x93\xa7")},
	{S("&2D3c59g93Oc-"), S("\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7")},
	{S("&2D3c5wDp-"), S("\xf0\x9f\x93\xa7\xc3\xa9")},
	{S("&,,8-"), S("\xef\xbf\xbf")},
	{S("&2,,f,w-"), S("\xf4\x8f\xbf\xbf")},
	{S("Entw&APw-rfe"), S("Entw\xc3\xbcrfe")},
};

static void test_pairs(void **state)
{
	(void)state;
	char out[256];
	size_t n;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];
		if (utf7imap_to_utf8(p->utf7, p->utf7_len, out, sizeof(out), &n) != UTF7IMAP_OK)
			fail_msg("decode %s", p->utf7);
		assert_int_equal(n, p->utf8_len);
		assert_memory_equal(out, p->utf8, n);
		assert_int_equal(out[n], '\0');
		assert_true(utf7imap_valid(p->utf7, p->utf7_len));
		if (utf7imap_from_utf8(p->utf8, p->utf8_len, out, sizeof(out), &n) != UTF7IMAP_OK)
			fail_msg("encode %s", p->utf7);
		assert_int_equal(n, p->utf7_len);
		assert_memory_equal(out, p->utf7, n);
		assert_true(utf7imap_utf8_name_valid(p->utf8, p->utf8_len));
	}
}

struct bad {
	const char *s;
	size_t len;
};

static const struct bad bad_utf7[] = {
	{S("&")}, /* not closed */
	{S("a&")},
	{S("&AOk")},               /* not closed */
	{S("&Jjo!")},              /* RFC 3501 5.1.3: no implicit shift back */
	{S("&U,BTFw-&ZeVnLIqe-")}, /* RFC 3501 5.1.3: superfluous shift */
	{S("&AOk-&AOk-")},
	{S("&AGE-")},    /* "a" encoded */
	{S("&ACA-")},    /* space encoded */
	{S("&ACY-")},    /* "&" encoded */
	{S("&AH4-")},    /* "~" encoded */
	{S("&AOkAYQ-")}, /* "a" encoded after a good character */
	{S("&AAA-")},    /* U+0000 */
	{S("&AAE-")},    /* U+0001 */
	{S("&AH8-")},    /* U+007F */
	{S("&AIA-")},    /* U+0080 */
	{S("&AJ8-")},    /* U+009F */
	{S("&AOl-")},    /* leftover bits not zero */
	{S("&AOkA-")},   /* a whole extra base64 character */
	{S("&AOkAAA-")}, /* 8 extra zero bits: still an extra character */
	{S("&A-")},      /* 6 bits, no character */
	{S("&AO/-")},    /* "/" is not modified base64 */
	{S("&AOk=-")},   /* no padding */
	{S("&AO k-")},
	{S("&2D0-")},      /* unpaired high surrogate */
	{S("&3Oc-")},      /* unpaired low surrogate */
	{S("&2D3YPQ-")},   /* high surrogate, high surrogate */
	{S("&2D0AOQ-")},   /* high surrogate, then not a low one */
	{S("&2D0-&3Oc-")}, /* a pair split by a shift */
	{S("a\x01")},      /* control characters are never direct */
	{S("\x7f")},
	{S("\t")},
	{S("\xc3\xa9")}, /* 8-bit is never direct */
	{S("a\0b")},
};

static void test_bad_utf7(void **state)
{
	(void)state;
	char out[256];
	size_t n = 12345;
	for (size_t i = 0; i < sizeof(bad_utf7) / sizeof(bad_utf7[0]); i++) {
		const struct bad *b = &bad_utf7[i];
		if (utf7imap_to_utf8(b->s, b->len, out, sizeof(out), &n) != UTF7IMAP_INVALID)
			fail_msg("accepted \"%s\"", b->s);
		assert_false(utf7imap_valid(b->s, b->len));
	}
	assert_int_equal(n, 12345);
}

static const struct bad bad_utf8[] = {
	{S("\xc3")}, /* truncated */
	{S("a\xe2\x82")},
	{S("\xf0\x9f\x93")},
	{S("\x80")},     /* lone continuation */
	{S("\xc0\x80")}, /* overlong */
	{S("\xc1\xbf")},
	{S("\xe0\x9f\xbf")},
	{S("\xf0\x8f\xbf\xbf")},
	{S("\xed\xa0\x80")}, /* surrogate */
	{S("\xed\xbf\xbf")},
	{S("\xf4\x90\x80\x80")}, /* over U+10FFFF */
	{S("\xf5\x80\x80\x80")},
	{S("\xff")},
	{S("\xc3\x28")},
	{S("a\x01")}, /* C0, DEL, C1 */
	{S("\x1f")},
	{S("\x7f")},
	{S("\xc2\x80")},
	{S("\xc2\x9f")},
	{S("a\0")},
};

static void test_bad_utf8(void **state)
{
	(void)state;
	char out[256];
	size_t n;
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		const struct bad *b = &bad_utf8[i];
		if (utf7imap_from_utf8(b->s, b->len, out, sizeof(out), &n) != UTF7IMAP_INVALID)
			fail_msg("encoded bad UTF-8 #%zu", i);
		assert_false(utf7imap_utf8_name_valid(b->s, b->len));
	}
	/* U+2028/U+2029 are not for names (RFC 5198 2), but modified UTF-7
	 * can carry them */
	assert_false(utf7imap_utf8_name_valid(S("a\xe2\x80\xa8")));
	assert_false(utf7imap_utf8_name_valid(S("\xe2\x80\xa9")));
	assert_true(utf7imap_utf8_name_valid(S("\xe2\x80\xaa")));
	assert_true(utf7imap_utf8_name_valid(S("")));
	assert_true(utf7imap_utf8_name_valid(S("Archiv/2024 \xc3\xa9t\xc3\xa9 &*%")));
	assert_int_equal(utf7imap_from_utf8(S("\xe2\x80\xa8"), out, sizeof(out), &n), UTF7IMAP_OK);
}

static void test_nospace(void **state)
{
	(void)state;
	char out[16];
	size_t n;
	/* "&AOk-" needs 6 bytes with the NUL, "é" 3 */
	assert_int_equal(utf7imap_from_utf8(S("\xc3\xa9"), out, 6, &n), UTF7IMAP_OK);
	assert_int_equal(utf7imap_from_utf8(S("\xc3\xa9"), out, 5, &n), UTF7IMAP_NOSPACE);
	assert_int_equal(utf7imap_to_utf8(S("&AOk-"), out, 3, &n), UTF7IMAP_OK);
	assert_int_equal(utf7imap_to_utf8(S("&AOk-"), out, 2, &n), UTF7IMAP_NOSPACE);
	assert_int_equal(utf7imap_to_utf8(S(""), out, 1, &n), UTF7IMAP_OK);
	assert_int_equal(utf7imap_to_utf8(S(""), out, 0, &n), UTF7IMAP_NOSPACE);
	assert_int_equal(utf7imap_from_utf8(S("&"), out, 3, &n), UTF7IMAP_OK);
	assert_int_equal(utf7imap_from_utf8(S("&"), out, 2, &n), UTF7IMAP_NOSPACE);
	/* invalid wins over small */
	assert_int_equal(utf7imap_to_utf8(S("&AGE-xxxxxxxx"), out, 2, &n), UTF7IMAP_INVALID);
	/* the bounds the macros promise, at their tightest cases */
	assert_int_equal(UTF7IMAP_ENCODE_MAX(5), 13);
	assert_int_equal(utf7imap_from_utf8(S("\xc3\xa9&\xc3\xa9"), out, 13, &n), UTF7IMAP_OK);
	assert_int_equal(n, 12);
	assert_int_equal(UTF7IMAP_DECODE_MAX(18), 21);
}

/* ---- random round trips ---- */

static unsigned rnd(unsigned n)
{
	return (unsigned)rand() % n;
}

static uint32_t random_cp(void)
{
	switch (rnd(6)) {
	case 0:
		return 0x20 + rnd(0x5f); /* printable ASCII, "&" and "-" included */
	case 1:
		return rnd(2) ? '&' : '-';
	case 2:
		return 0xa0 + rnd(0x60);
	case 3: {
		uint32_t cp = 0x100 + rnd(0xd800 - 0x100);
		return cp == 0x2028 || cp == 0x2029 ? 0x2030 : cp; /* not for names */
	}
	case 4:
		return 0xe000 + rnd(0x10000 - 0xe000);
	default:
		return 0x10000 + rnd(0x100000);
	}
}

static size_t put_utf8(char *s, uint32_t cp)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | (cp >> 18));
	s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	s[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static void test_random_roundtrip(void **state)
{
	(void)state;
	srand(3501);
	char in[4 * 24], enc[UTF7IMAP_ENCODE_MAX(sizeof(in))], dec[sizeof(in) + 1];
	for (int iter = 0; iter < 50000; iter++) {
		size_t len = 0, count = rnd(24);
		for (size_t i = 0; i < count; i++)
			len += put_utf8(in + len, random_cp());
		size_t elen, dlen;
		assert_int_equal(utf7imap_from_utf8(in, len, enc, sizeof(enc), &elen), UTF7IMAP_OK);
		assert_true(elen < UTF7IMAP_ENCODE_MAX(len));
		/* the encoding is printable ASCII and the strict decoder takes it */
		for (size_t i = 0; i < elen; i++)
			assert_true(enc[i] >= 0x20 && enc[i] <= 0x7e);
		assert_true(utf7imap_valid(enc, elen));
		assert_int_equal(utf7imap_to_utf8(enc, elen, dec, sizeof(dec), &dlen), UTF7IMAP_OK);
		assert_true(dlen < UTF7IMAP_DECODE_MAX(elen));
		assert_int_equal(dlen, len);
		assert_memory_equal(dec, in, len);
		assert_true(utf7imap_utf8_name_valid(in, len));
	}
}

/* Random modified UTF-7 strings: whatever decodes must encode back to the
 * very same string (one spelling per name), within the bounds. */
static void test_random_canonical(void **state)
{
	(void)state;
	srand(9051);
	static const char alphabet[] = "&&&---AAAOkZz09+,/a2D3cw5_8=. ";
	char in[32], dec[UTF7IMAP_DECODE_MAX(sizeof(in))], enc[UTF7IMAP_ENCODE_MAX(sizeof(dec))];
	unsigned accepted = 0;
	for (int iter = 0; iter < 300000; iter++) {
		size_t len = rnd(sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rnd(sizeof(alphabet) - 1)];
		size_t dlen, elen;
		enum utf7imap_result r = utf7imap_to_utf8(in, len, dec, sizeof(dec), &dlen);
		assert_int_equal(r == UTF7IMAP_OK, utf7imap_valid(in, len));
		if (r != UTF7IMAP_OK) {
			assert_int_equal(r, UTF7IMAP_INVALID);
			continue;
		}
		accepted++;
		assert_true(dlen < UTF7IMAP_DECODE_MAX(len));
		assert_int_equal(utf7imap_from_utf8(dec, dlen, enc, sizeof(enc), &elen),
		                 UTF7IMAP_OK);
		assert_int_equal(elen, len);
		assert_memory_equal(enc, in, len);
	}
	assert_true(accepted > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_bad_utf7),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_nospace),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_random_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
