/*
 * test_lib.c - src/lib: the bounded buffer, checked number parsing, user
 * name validation and log_safe().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/strlist.h"
#include "lib/strnum.h"
#include "lib/username.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

/* ---- buf ---- */

static void test_buf_append(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(b.max, SIZE_MAX / 2);
	assert_true(buf_append(&b, "ab", 2));
	assert_true(buf_append_str(&b, "cd"));
	assert_true(buf_append_byte(&b, '\0'));
	assert_true(buf_append_byte(&b, 'e'));
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.ptr, "abcd\0e", 7); /* NUL after the content too */
	assert_true(buf_append(&b, NULL, 0));
	assert_int_equal(b.len, 6);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	buf_deinit(&b);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
}

static void test_buf_max(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 5);
	assert_true(buf_append(&b, "abc", 3));
	/* an append that would pass max fails and changes nothing */
	assert_false(buf_append(&b, "def", 3));
	assert_int_equal(b.len, 3);
	assert_string_equal(b.ptr, "abc");
	assert_false(buf_appendf(&b, "%s", "xyz"));
	assert_int_equal(b.len, 3);
	assert_true(buf_append(&b, "de", 2));
	assert_int_equal(b.len, 5);
	assert_false(buf_append_byte(&b, 'f'));
	assert_true(buf_append(&b, "", 0));
	assert_false(buf_append(&b, "x", SIZE_MAX)); /* no overflow in the check */
	assert_string_equal(b.ptr, "abcde");
	buf_deinit(&b);

	buf_init(&b, 1);
	assert_false(buf_append(&b, "ab", 2));
	assert_int_equal(b.len, 0);
	buf_deinit(&b);
}

static void test_buf_appendf_grow(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100000);
	for (int i = 0; i < 1000; i++)
		assert_true(buf_appendf(&b, "%d,", i));
	assert_true(b.len > 3000);
	assert_true(b.cap > b.len);
	assert_int_equal(strlen(b.ptr), b.len);
	assert_memory_equal(b.ptr, "0,1,2,", 6);
	assert_memory_equal(b.ptr + b.len - 4, "999,", 4);
	assert_true(buf_appendf(&b, "%s", ""));
	buf_deinit(&b);

	buf_init(&b, 0);
	assert_true(buf_appendf(&b, "%s", ""));
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	buf_deinit(&b);
}

static void test_buf_consume_steal(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	buf_consume(&b, 3); /* on an empty buffer */
	assert_int_equal(b.len, 0);
	assert_true(buf_append_str(&b, "hello world"));
	buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.ptr, "world");
	buf_consume(&b, 0);
	assert_string_equal(b.ptr, "world");
	buf_consume(&b, 99);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	assert_true(buf_append_str(&b, "keep"));
	char *s = buf_steal(&b);
	assert_string_equal(s, "keep");
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	xfree(s);
	assert_null(s);
	/* stealing an empty buffer still gives a string */
	s = buf_steal(&b);
	assert_string_equal(s, "");
	xfree(s);
	/* the buffer is usable after a steal */
	assert_true(buf_append_str(&b, "again"));
	assert_string_equal(b.ptr, "again");
	buf_deinit(&b);
}

/* ---- strnum ---- */

struct u64_case {
	const char *s;
	uint64_t max;
	bool ok;
	uint64_t v;
};

static void test_strnum_u64(void **state)
{
	(void)state;
	static const struct u64_case cases[] = {
		{"0", 0, true, 0},
		{"0", UINT64_MAX, true, 0},
		{"42", 100, true, 42},
		{"100", 100, true, 100},
		{"101", 100, false, 0},
		{"000123", 1000, true, 123},
		{"18446744073709551615", UINT64_MAX, true, UINT64_MAX},
		{"18446744073709551616", UINT64_MAX, false, 0},
		{"18446744073709551620", UINT64_MAX, false, 0},
		{"99999999999999999999", UINT64_MAX, false, 0},
		{"184467440737095516150", UINT64_MAX, false, 0},
		{"9223372036854775807", UINT64_MAX / 2, true, UINT64_MAX / 2},
		{"9223372036854775808", UINT64_MAX / 2, false, 0},
		{"", UINT64_MAX, false, 0},
		{" 1", UINT64_MAX, false, 0},
		{"1 ", UINT64_MAX, false, 0},
		{"+1", UINT64_MAX, false, 0},
		{"-1", UINT64_MAX, false, 0},
		{"0x10", UINT64_MAX, false, 0},
		{"1.5", UINT64_MAX, false, 0},
		{"12a", UINT64_MAX, false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 777;
		bool ok = strnum_u64(cases[i].s, strlen(cases[i].s), cases[i].max, &v);
		if (ok != cases[i].ok)
			print_error("strnum_u64 case %zu (%s)\n", i, cases[i].s);
		assert_int_equal(ok, cases[i].ok);
		assert_int_equal(v, ok ? cases[i].v : 777); /* untouched on failure */
	}
	/* the length counts, not a NUL */
	uint64_t v;
	assert_true(strnum_u64("123456", 3, UINT64_MAX, &v));
	assert_int_equal(v, 123);
	assert_false(strnum_u64("1\0002", 3, UINT64_MAX, &v));
	assert_true(strnum_u64_str("65535", 65535, &v));
	assert_int_equal(v, 65535);
	assert_false(strnum_u64_str("65536", 65535, &v));
}

/*
 * Maxima below 10. Every value 0..99 against every max 0..20: accepted
 * exactly when value <= max. (strnum_u64 computes max - digit, which must
 * not wrap when the digit is larger than max.)
 */
static void test_strnum_small_max(void **state)
{
	(void)state;
	for (uint64_t max = 0; max <= 20; max++) {
		for (unsigned n = 0; n < 100; n++) {
			char s[8];
			int len = snprintf(s, sizeof(s), "%u", n);
			uint64_t v = 777;
			bool ok = strnum_u64(s, (size_t)len, max, &v);
			if (ok != (n <= max))
				print_error("strnum_u64(\"%s\", max %llu) = %d\n", s,
					    (unsigned long long)max, ok);
			assert_int_equal(ok, n <= max);
			assert_int_equal(v, ok ? n : 777);
		}
	}
	uint32_t w = 5;
	assert_false(strnum_u32("8", 1, 3, &w));
	assert_int_equal(w, 5);
	uint64_t v;
	assert_false(strnum_u64("007", 3, 5, &v));
}

static void test_strnum_u32(void **state)
{
	(void)state;
	uint32_t v = 1;
	assert_true(strnum_u32("4294967295", 10, UINT32_MAX, &v));
	assert_int_equal(v, UINT32_MAX);
	v = 1;
	assert_false(strnum_u32("4294967296", 10, UINT32_MAX, &v));
	assert_int_equal(v, 1);
	assert_true(strnum_u32("65535", 5, 65535, &v));
	assert_false(strnum_u32("65536", 5, 65535, &v));
}

static void test_strnum_size_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t max;
		bool ok;
		uint64_t v;
	} sizes[] = {
		{"100", UINT64_MAX, true, 100},
		{"100b", UINT64_MAX, true, 100},
		{"1k", UINT64_MAX, true, 1024},
		{"1KB", UINT64_MAX, true, 1024},
		{"64M", UINT64_MAX, true, 64ULL << 20},
		{"2g", UINT64_MAX, true, 2ULL << 30},
		{"2GB", UINT64_MAX, true, 2ULL << 30},
		{"0k", UINT64_MAX, true, 0},
		{"1M", 1024 * 1024, true, 1024 * 1024},
		{"1M", 1024 * 1024 - 1, false, 0},
		{"17179869184G", UINT64_MAX, false, 0}, /* 2^34 G overflows 64 bits */
		{"16777215G", UINT64_MAX, true, 16777215ULL << 30},
		{"", UINT64_MAX, false, 0},
		{"k", UINT64_MAX, false, 0},
		{"1T", UINT64_MAX, false, 0},
		{"1 k", UINT64_MAX, false, 0},
		{"1kk", UINT64_MAX, false, 0},
		{"-1k", UINT64_MAX, false, 0},
		{"1.5M", UINT64_MAX, false, 0},
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t v = 3;
		bool ok = strnum_size(sizes[i].s, sizes[i].max, &v);
		if (ok != sizes[i].ok)
			print_error("strnum_size case %zu (%s)\n", i, sizes[i].s);
		assert_int_equal(ok, sizes[i].ok);
		assert_int_equal(v, ok ? sizes[i].v : 3);
	}
	static const struct {
		const char *s;
		bool ok;
		uint64_t v;
	} durs[] = {
		{"90", true, 90},   {"90s", true, 90},  {"10m", true, 600}, {"2h", true, 7200},
		{"1d", true, 86400}, {"1D", true, 86400}, {"1w", false, 0},  {"", false, 0},
		{"m", false, 0},    {"1ms", false, 0},
	};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		uint64_t v = 3;
		bool ok = strnum_duration(durs[i].s, UINT64_MAX, &v);
		assert_int_equal(ok, durs[i].ok);
		assert_int_equal(v, ok ? durs[i].v : 3);
	}
	uint64_t v;
	assert_false(strnum_duration("2h", 3599, &v));
	assert_true(strnum_duration("1h", 3600, &v));
}

/* ---- username ---- */

static void test_username_valid(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"alice", true},
		{"alice@example.com", true},
		{"Alice@Example.COM", true},
		{"a.b-c_d+e@x.y", true},
		{"!#$&'*+-=?^_`{|}~@x", true},
		{"a@b", true},
		{"a@1-2.x", true},
		{"", false},
		{"@example.com", false},
		{"alice@", false},
		{".alice", false},
		{"alice.", false},
		{"a..b", false},
		{"..", false},
		{".", false},
		{"a/b", false},
		{"../etc", false},
		{"a%b", false},
		{"a\\b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\"b", false},
		{"a@b@c", false},
		{"a@.b", false},
		{"a@b.", false},
		{"a@b..c", false},
		{"a@-b", false},
		{"a@b-", false},
		{"a@b-.c", false},
		{"a@b_c", false},
		{"a@b/c", false},
		{"\xc3\xa9", false},
		{"a@\xc3\xa9.x", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = username_valid(cases[i].name, strlen(cases[i].name));
		if (ok != cases[i].ok)
			print_error("username case %zu (%s)\n", i, cases[i].name);
		assert_int_equal(ok, cases[i].ok);
	}
	/* NUL inside, and bytes past len ignored */
	assert_false(username_valid("a\0b", 3));
	assert_true(username_valid("bob/../x", 3));
}

static void test_username_lengths(void **state)
{
	(void)state;
	char name[600];
	/* local part: 64 octets */
	memset(name, 'a', 65);
	assert_true(username_valid(name, 64));
	assert_false(username_valid(name, 65));
	/* a label: 63 octets */
	memcpy(name, "a@", 2);
	memset(name + 2, 'b', 64);
	assert_true(username_valid(name, 2 + 63));
	assert_false(username_valid(name, 2 + 64));
	/* the domain: 253 octets in labels of 50 */
	size_t n = 2;
	while (n < 2 + 253) {
		memset(name + n, 'c', 50);
		n += 50;
		name[n++] = '.';
	}
	name[2 + 253] = 'd';
	assert_true(username_valid(name, 2 + 253));
	name[2 + 253 + 1] = 'd';
	assert_false(username_valid(name, 2 + 254));
}

static void test_username_normalize(void **state)
{
	(void)state;
	char dst[USERNAME_MAX + 1];
	assert_true(username_normalize(S("Alice.B@Example.COM"), dst));
	assert_string_equal(dst, "alice.b@example.com");
	assert_false(username_normalize(S("a..b"), dst));
	/* longest: 64 + 1 + 253 */
	char name[USERNAME_MAX + 2];
	memset(name, 'A', 64);
	name[64] = '@';
	size_t n = 65;
	while (n < USERNAME_MAX) {
		size_t label = USERNAME_MAX - n < 60 ? USERNAME_MAX - n : 60;
		memset(name + n, 'B', label);
		n += label;
		if (n < USERNAME_MAX - 1)
			name[n++] = '.';
	}
	assert_int_equal(n, USERNAME_MAX);
	assert_true(username_normalize(name, n, dst));
	assert_int_equal(strlen(dst), USERNAME_MAX);
	assert_int_equal(dst[0], 'a');
	assert_int_equal(dst[USERNAME_MAX - 1], 'b');
}

/* ---- log_safe ---- */

static void test_log_safe(void **state)
{
	(void)state;
	char dst[LOG_SAFE_MAX];
	assert_string_equal(log_safe(dst, "alice", 5), "alice");
	assert_string_equal(log_safe(dst, "", 0), "-");
	assert_string_equal(log_safe(dst, NULL, 0), "-");
	assert_string_equal(log_safe(dst, "a b", 3), "a?b");
	assert_string_equal(log_safe(dst, S("x\r\nuser=root")), "x??user?root");
	assert_string_equal(log_safe(dst, S("\"q\\\"")), "?q??");
	assert_string_equal(log_safe(dst, S("\0\x7f\x80\xff\t")), "?????");
	assert_string_equal(log_safe(dst, S("!~")), "!~");
	assert_ptr_equal(log_safe(dst, "x", 1), dst);
	/* only len bytes are read */
	assert_string_equal(log_safe(dst, "abcdef", 3), "abc");
}

static void test_log_safe_long(void **state)
{
	(void)state;
	char src[400], dst[LOG_SAFE_MAX + 16];
	memset(src, 'x', sizeof(src));
	for (size_t len = LOG_SAFE_MAX - 8; len < LOG_SAFE_MAX + 8; len++) {
		memset(dst, 'Z', sizeof(dst));
		log_safe(dst, src, len);
		size_t out = strlen(dst);
		assert_true(out < LOG_SAFE_MAX);
		/* nothing written past LOG_SAFE_MAX */
		for (size_t i = LOG_SAFE_MAX; i < sizeof(dst); i++)
			assert_int_equal(dst[i], 'Z');
		if (len <= LOG_SAFE_MAX - 4) {
			assert_int_equal(out, len);
		} else {
			assert_int_equal(out, LOG_SAFE_MAX - 1);
			assert_memory_equal(dst + out - 3, "...", 3);
		}
	}
	log_safe(dst, src, sizeof(src));
	assert_int_equal(strlen(dst), LOG_SAFE_MAX - 1);
}

static void test_log_level_parse(void **state)
{
	(void)state;
	enum log_level l = LOG_LEVEL_ERROR;
	assert_true(log_level_parse("debug", &l));
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_true(log_level_parse("WARN", &l));
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_false(log_level_parse("verbose", &l));
	assert_int_equal(l, LOG_LEVEL_WARN);
	log_set_level(LOG_LEVEL_WARN);
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	log_set_level(LOG_LEVEL_INFO);
}

/* ---- mem ---- */

static void test_mem(void **state)
{
	(void)state;
	unsigned char *p = xmalloc(64);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xaa, 64);
	mem_wipe(p, 64);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	xfree(p);
	assert_null(p);
	xfree(p); /* freeing NULL is fine */
	char *s = xasprintf("%s-%d", "a", 7);
	assert_string_equal(s, "a-7");
	xfree(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	xfree(s);
}

static void test_strlist(void **state)
{
	static const struct {
		const char *in;
		const char *items[4];
	} cases[] = {
		{"", {NULL}},
		{" , ,", {NULL}},
		{"a", {"a", NULL}},
		{"127.0.0.1:110, [::1]:110", {"127.0.0.1:110", "[::1]:110", NULL}},
		{",a,,b ,c,", {"a", "b", "c", NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = cases[i].in, *item;
		size_t len, k = 0;
		while (strlist_next(&p, ", ", &item, &len)) {
			assert_non_null(cases[i].items[k]);
			assert_int_equal(len, strlen(cases[i].items[k]));
			assert_memory_equal(item, cases[i].items[k], len);
			k++;
		}
		assert_null(cases[i].items[k]);
		assert_int_equal(*p, '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_buf_appendf_grow),
		cmocka_unit_test(test_buf_consume_steal),
		cmocka_unit_test(test_strnum_u64),
		cmocka_unit_test(test_strnum_small_max),
		cmocka_unit_test(test_strnum_u32),
		cmocka_unit_test(test_strnum_size_duration),
		cmocka_unit_test(test_username_valid),
		cmocka_unit_test(test_username_lengths),
		cmocka_unit_test(test_username_normalize),
		cmocka_unit_test(test_log_safe),
		cmocka_unit_test(test_log_safe_long),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_strlist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
