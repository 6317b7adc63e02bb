/*
 * test_maildir_name.c - src/store: Maildir file names (making, escaping,
 * parsing, ordering, uniqueness across threads) and the streaming CRLF
 * size / "clean" counter behind the W= field.
 *
 * Facts checked against Dovecot 2.3.19 (dovecot-lda + POP3 LIST):
 * a 34-byte LF message with 4 lines is named ...,S=34,W=38; the base name
 * ends at the first ':' (Dovecot cut "host:x" the same way); Dovecot itself
 * refuses a hostname with '/' and leaves ':' raw, while the Maildir spec's
 * escaping (\057, \072), which we use, keeps both out of the name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/crlf.h"
#include "store/maildir_name.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

/* ---- making names ---- */

static void test_format(void **state)
{
	(void)state;
	char name[MAILDIR_NAME_SIZE];
	maildir_name_format(name, 1700000000, 123, 4567, "mx.example.org", 100, 105);
	assert_string_equal(name, "1700000000.M123P4567.mx.example.org,S=100,W=105");
	maildir_name_format(name, 1795319629, 290909, 7590, "vm", 34, 38);
	assert_string_equal(name, "1795319629.M290909P7590.vm,S=34,W=38"); /* seen from Dovecot */
	maildir_name_format(name, 5, 0, 1, "a/b:c", 0, 0);
	assert_string_equal(name, "5.M0P1.a\\057b\\072c,S=0,W=0");
}

static void test_escape_host(void **state)
{
	(void)state;
	char out[MAILDIR_NAME_HOST_MAX + 1];
	maildir_name_escape_host("mail.example.org", out);
	assert_string_equal(out, "mail.example.org");
	maildir_name_escape_host("a/b", out);
	assert_string_equal(out, "a\\057b");
	maildir_name_escape_host("::", out);
	assert_string_equal(out, "\\072\\072");
	maildir_name_escape_host("", out);
	assert_string_equal(out, "localhost");
	maildir_name_escape_host(NULL, out);
	assert_string_equal(out, "localhost");

	/* Cut to the limit, never inside an escape. */
	char host[300];
	memset(host, 'h', MAILDIR_NAME_HOST_MAX - 2);
	strcpy(host + MAILDIR_NAME_HOST_MAX - 2, "/xyz");
	maildir_name_escape_host(host, out);
	assert_int_equal(strlen(out), MAILDIR_NAME_HOST_MAX - 2);
	assert_null(strchr(out, '\\'));
	memset(host, 'h', 299);
	host[299] = '\0';
	maildir_name_escape_host(host, out);
	assert_int_equal(strlen(out), MAILDIR_NAME_HOST_MAX);
}

static void test_new_names_parse_back(void **state)
{
	(void)state;
	char a[MAILDIR_NAME_SIZE], b[MAILDIR_NAME_SIZE];
	maildir_name_new(a, "h:1", 10, 12);
	maildir_name_new(b, "h:1", 10, 12);
	assert_string_not_equal(a, b);
	assert_true(maildir_name_cmp(a, strlen(a), b, strlen(b)) < 0);
	struct maildir_name_info info;
	maildir_name_parse(a, strlen(a), &info);
	assert_false(info.has_info); /* the ':' of the host is escaped */
	assert_int_equal(info.base_len, strlen(a));
	assert_true(info.has_size && info.has_vsize);
	assert_int_equal(info.size, 10);
	assert_int_equal(info.vsize, 12);
}

/* ---- parsing names ---- */

struct parse_case {
	const char *name;
	size_t base_len;
	bool has_info;
	const char *flags; /* NULL: no ":2," */
	int size;          /* -1: none */
	int vsize;
};

static const struct parse_case parse_cases[] = {
    {"1700000000.M123P4567.host,S=100,W=105", 37, false, NULL, 100, 105},
    {"1700000000.M123P4567.host,S=100,W=105:2,RS", 37, true, "RS", 100, 105},
    {"1700000000.M123P4567.host,S=100,W=105:2,", 37, true, "", 100, 105},
    {"1234.5678.host", 14, false, NULL, -1, -1},     /* qmail */
    {"1234.M1P2Q3.host:2,S", 16, true, "S", -1, -1}, /* Courier */
    {"1234.12345_1.host,S=7:2,FS", 21, true, "FS", 7, -1},
    {"x,W=5", 5, false, NULL, -1, 5},
    {"x,W=5,S=6", 9, false, NULL, 6, 5},
    {"x,S=1,S=2", 9, false, NULL, 1, -1}, /* first wins */
    {"x,S=abc,W=5", 11, false, NULL, -1, 5},
    {"x,S=,W=", 7, false, NULL, -1, -1},
    {"x,S=-1", 6, false, NULL, -1, -1},
    {"x,S=1x", 6, false, NULL, -1, -1},
    {"x,s=5", 5, false, NULL, -1, -1},
    {"x,S=99999999999999999999999", 27, false, NULL, -1, -1}, /* overflow */
    {"x:1,foo", 1, true, NULL, -1, -1},                       /* not info version 2 */
    {"x:2,S,extra", 1, true, "S,extra", -1, -1},
    {"x:2", 1, true, NULL, -1, -1},
    {"x:", 1, true, NULL, -1, -1},
    {":2,S", 0, true, "S", -1, -1},
    {"", 0, false, NULL, -1, -1},
    /* Dovecot 2.3 with hostname "my:host": the base ends at the ':'. */
    {"1795320462.M537367P16402.my:host,S=14,W=17", 27, true, NULL, -1, -1},
    /* S= after the info part does not count. */
    {"x:2,S,S=5", 1, true, "S,S=5", -1, -1},
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct maildir_name_info info;
		maildir_name_parse(c->name, strlen(c->name), &info);
		print_message("# case %zu: %s\n", i, c->name);
		assert_int_equal(info.base_len, c->base_len);
		assert_int_equal(info.has_info, c->has_info);
		if (c->flags == NULL) {
			assert_null(info.flags);
		} else {
			assert_non_null(info.flags);
			assert_int_equal(info.flags_len, strlen(c->flags));
			assert_memory_equal(info.flags, c->flags, info.flags_len);
		}
		assert_int_equal(info.has_size, c->size >= 0);
		if (c->size >= 0)
			assert_int_equal(info.size, (uint64_t)c->size);
		assert_int_equal(info.has_vsize, c->vsize >= 0);
		if (c->vsize >= 0)
			assert_int_equal(info.vsize, (uint64_t)c->vsize);
	}
}

static void test_parse_not_nul_terminated(void **state)
{
	(void)state;
	/* Only (ptr, len) is read: the ":2,S" past len must not count. */
	const char buf[] = "abc,S=12:2,S";
	struct maildir_name_info info;
	maildir_name_parse(buf, 6, &info); /* "abc,S=" */
	assert_false(info.has_info);
	assert_false(info.has_size);
	maildir_name_parse(buf, 7, &info); /* "abc,S=1" */
	assert_true(info.has_size);
	assert_int_equal(info.size, 1);
}

static int cmp_sign(const char *a, const char *b)
{
	int r = maildir_name_cmp(a, strlen(a), b, strlen(b));
	return r < 0 ? -1 : r > 0;
}

static void test_cmp(void **state)
{
	(void)state;
	/* Seconds compare as numbers, not strings. */
	assert_int_equal(cmp_sign("999999999.M1P1.h", "1000000000.M1P1.h"), -1);
	assert_int_equal(cmp_sign("1000000000.M1P1.h", "999999999.M1P1.h"), 1);
	/* Same second: microseconds as numbers. */
	assert_int_equal(cmp_sign("5.M9P1.h", "5.M10P1.h"), -1);
	assert_int_equal(cmp_sign("5.M10P1.h", "5.M9P1.h"), 1);
	assert_int_equal(cmp_sign("5.M000010P1.h", "5.M9P1.h"), 1);
	/* Then bytes. */
	assert_int_equal(cmp_sign("5.M9P1.a", "5.M9P1.b"), -1);
	assert_int_equal(cmp_sign("5.M9P1.a", "5.M9P1.a"), 0);
	assert_int_equal(cmp_sign("5.5678.host", "5.M1P2.host"), -1);
	assert_int_equal(cmp_sign("abc", "abd"), -1);
	assert_int_equal(cmp_sign("ab", "abc"), -1);
	assert_int_equal(cmp_sign("", "a"), -1);
	assert_int_equal(cmp_sign("12", "12"), 0);
}

/* ---- uniqueness across threads ---- */

#define UNIQ_THREADS 4
#define UNIQ_PER_THREAD 400

static int64_t uniq_times[UNIQ_THREADS][UNIQ_PER_THREAD];

static void *uniq_thread(void *arg)
{
	int64_t *out = arg;
	for (int i = 0; i < UNIQ_PER_THREAD; i++) {
		int64_t sec;
		uint32_t usec;
		maildir_name_next_time(&sec, &usec);
		out[i] = sec * 1000000 + usec;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_unique_time_threads(void **state)
{
	(void)state;
	pthread_t t[UNIQ_THREADS];
	for (int i = 0; i < UNIQ_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, uniq_thread, uniq_times[i]), 0);
	for (int i = 0; i < UNIQ_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < UNIQ_THREADS; i++)
		for (int j = 1; j < UNIQ_PER_THREAD; j++)
			assert_true(uniq_times[i][j] > uniq_times[i][j - 1]);
	int64_t *all = &uniq_times[0][0];
	qsort(all, UNIQ_THREADS * UNIQ_PER_THREAD, sizeof(*all), cmp_i64);
	for (int i = 1; i < UNIQ_THREADS * UNIQ_PER_THREAD; i++)
		assert_true(all[i] != all[i - 1]);
}

/* ---- CRLF size and clean ---- */

struct crlf_case {
	const char *in;
	size_t len;
	uint64_t crlf_size;
	bool clean;
	enum crlf_eol first;
};

#define C(lit, w, clean, first)                                                                    \
	{                                                                                          \
		lit, sizeof(lit) - 1, w, clean, first                                              \
	}

static const struct crlf_case crlf_cases[] = {
    C("", 0, true, CRLF_EOL_NONE),
    C("a\r\n", 3, true, CRLF_EOL_CRLF),
    C("a\n", 3, false, CRLF_EOL_LF),
    C("\n", 2, false, CRLF_EOL_LF),
    C("\n\n", 4, false, CRLF_EOL_LF),
    C("a\n\nb\n", 8, false, CRLF_EOL_LF),
    C("\r\n\r\n", 4, true, CRLF_EOL_CRLF),
    C("x", 1, false, CRLF_EOL_NONE), /* no final line ending */
    C("a\r\nb", 4, false, CRLF_EOL_CRLF),
    C("\r", 1, false, CRLF_EOL_NONE), /* lone CR counts 1 */
    C("a\r", 2, false, CRLF_EOL_NONE),
    C("a\rb\r\n", 5, true, CRLF_EOL_CRLF), /* lone CR inside is sent as is */
    C("a\r\r\n", 4, true, CRLF_EOL_CRLF),
    C("a\n\r\n", 5, false, CRLF_EOL_LF),
    C("a\r\nb\n", 6, false, CRLF_EOL_CRLF),
    C(".a\r\n", 4, false, CRLF_EOL_CRLF), /* dot at offset 0 */
    C("a\r\n.b\r\n", 7, false, CRLF_EOL_CRLF),
    C("a\r\n.\r\n", 6, false, CRLF_EOL_CRLF),
    C("a.\r\n", 4, true, CRLF_EOL_CRLF),   /* dot not at line start */
    C("a\r.\r\n", 5, true, CRLF_EOL_CRLF), /* after a lone CR is not a line start */
    C("a\n.b\n", 7, false, CRLF_EOL_LF),
    C("a\r\n\r\n.", 6, false, CRLF_EOL_CRLF),
    /* Dovecot 2.3: "From: a@b\nSubject: one\n\nbody line\n" is S=34,W=38. */
    C("From: a@b\nSubject: one\n\nbody line\n", 38, false, CRLF_EOL_LF),
};

static void check_count(const struct crlf_case *c, const struct crlf_count *cc)
{
	unsigned pad = c->len == 0 || c->in[c->len - 1] == '\n' ? 0
	               : c->in[c->len - 1] == '\r'              ? 1
	                                                        : 2;
	assert_int_equal(crlf_count_eol_pad(cc), pad);
	assert_int_equal(cc->size, c->len);
	assert_int_equal(cc->crlf_size, c->crlf_size);
	assert_int_equal(crlf_count_clean(cc), c->clean);
	assert_int_equal(cc->first_eol, c->first);
}

static void test_crlf_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(crlf_cases) / sizeof(crlf_cases[0]); i++) {
		const struct crlf_case *c = &crlf_cases[i];
		print_message("# case %zu\n", i);
		struct crlf_count cc;
		crlf_count_init(&cc); /* whole */
		crlf_count_feed(&cc, c->in, c->len);
		check_count(c, &cc);
		crlf_count_init(&cc); /* byte by byte, with empty feeds between */
		for (size_t j = 0; j < c->len; j++) {
			crlf_count_feed(&cc, c->in + j, 1);
			crlf_count_feed(&cc, "", 0);
		}
		check_count(c, &cc);
		for (size_t cut = 0; cut <= c->len; cut++) { /* every split point */
			crlf_count_init(&cc);
			crlf_count_feed(&cc, c->in, cut);
			crlf_count_feed(&cc, c->in + cut, c->len - cut);
			check_count(c, &cc);
		}
	}
}

/* A CR at the end of one chunk and the LF at the start of the next. */
static void test_crlf_split_crlf(void **state)
{
	(void)state;
	struct crlf_count cc;
	crlf_count_init(&cc);
	crlf_count_feed(&cc, S("abc\r"));
	assert_true(cc.prev_cr);
	crlf_count_feed(&cc, S("\n.x\r\n"));
	assert_int_equal(cc.crlf_size, 9);
	assert_false(crlf_count_clean(&cc)); /* ".x" starts a line */
}

static void test_crlf_joined(void **state)
{
	(void)state;
	static const char *const pieces[][2] = {
	    {"X: y\r", "\nbody\r\n"}, /* CR | LF across the join */
	    {"X: y\n", "\nbody\n"},
	    {"X: y\r\n", "body\r\n"},
	    {"", "a\n"},
	    {"a\n", ""},
	    {"\r", "\n"},
	    {"\r", "\r\n"},
	    {"x", "\n"},
	};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct crlf_count a, b, all;
		crlf_count_init(&a);
		crlf_count_init(&b);
		crlf_count_init(&all);
		crlf_count_feed(&a, pieces[i][0], strlen(pieces[i][0]));
		crlf_count_feed(&b, pieces[i][1], strlen(pieces[i][1]));
		crlf_count_feed(&all, pieces[i][0], strlen(pieces[i][0]));
		crlf_count_feed(&all, pieces[i][1], strlen(pieces[i][1]));
		assert_int_equal(crlf_count_joined_size(&a, &b), all.crlf_size);
	}
}

/* A large input in odd-sized chunks agrees with a byte-wise reference. */
static void test_crlf_random(void **state)
{
	(void)state;
	static const char alphabet[] = "\r\n.a";
	char data[4096];
	unsigned seed = 12345;
	for (int round = 0; round < 50; round++) {
		size_t len = 1 + (seed = seed * 1103515245 + 12345) % sizeof(data);
		for (size_t i = 0; i < len; i++)
			data[i] = alphabet[(seed = seed * 1103515245 + 12345) >> 16 & 3];
		uint64_t w = len;
		bool clean = data[len - 1] == '\n';
		for (size_t i = 0; i < len; i++) {
			bool line_start = i == 0 || data[i - 1] == '\n';
			if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
				w++;
				clean = false;
			}
			if (line_start && data[i] == '.')
				clean = false;
		}
		struct crlf_count cc;
		crlf_count_init(&cc);
		for (size_t off = 0; off < len;) {
			size_t n = 1 + (seed = seed * 1103515245 + 12345) % 97;
			if (n > len - off)
				n = len - off;
			crlf_count_feed(&cc, data + off, n);
			off += n;
		}
		assert_int_equal(cc.crlf_size, w);
		assert_int_equal(crlf_count_clean(&cc), clean);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_escape_host),
	    cmocka_unit_test(test_new_names_parse_back),
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_parse_not_nul_terminated),
	    cmocka_unit_test(test_cmp),
	    cmocka_unit_test(test_unique_time_threads),
	    cmocka_unit_test(test_crlf_table),
	    cmocka_unit_test(test_crlf_split_crlf),
	    cmocka_unit_test(test_crlf_joined),
	    cmocka_unit_test(test_crlf_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
