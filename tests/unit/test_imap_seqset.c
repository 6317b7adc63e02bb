/*
 * test_imap_seqset.c - sequence sets: the RFC 9051 grammar (valid and
 * invalid), normalisation, "*" and the empty mailbox, "$", the range
 * bound (with inputs that merge and inputs that do not), and membership,
 * counting, iteration, insertion and UID <-> sequence number conversion
 * against a naive bitmap on random sets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "imap/imap_seqset.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seq_case {
	const char *text;
	uint32_t star;
	enum imap_seqset_result result;
	const char *canonical; /* for OK */
};

static const struct seq_case cases[] = {
	{"1", 10, IMAP_SEQSET_OK, "1"},
	{"1:3", 10, IMAP_SEQSET_OK, "1:3"},
	{"3:1", 10, IMAP_SEQSET_OK, "1:3"},
	{"1,3:5,7:*", 10, IMAP_SEQSET_OK, "1,3:5,7:10"},
	{"*:10", 12, IMAP_SEQSET_OK, "10:12"},
	{"*", 5, IMAP_SEQSET_OK, "5"},
	{"*:*", 5, IMAP_SEQSET_OK, "5"},
	{"5:*", 3, IMAP_SEQSET_OK, "3:5"}, /* RFC 9051 9: 3291:* includes the last UID */
	{"2,4:7,9,12:*", 15, IMAP_SEQSET_OK, "2,4:7,9,12:15"}, /* RFC 9051 9 examples */
	{"*:4,5:7", 10, IMAP_SEQSET_OK, "4:10"},
	{"1,2,3", 10, IMAP_SEQSET_OK, "1:3"},
	{"3,1,2", 10, IMAP_SEQSET_OK, "1:3"},
	{"1:2,5:6,3:4", 10, IMAP_SEQSET_OK, "1:6"},
	{"1:5,2:3", 10, IMAP_SEQSET_OK, "1:5"},
	{"7,7,7", 10, IMAP_SEQSET_OK, "7"},
	{"1,3", 10, IMAP_SEQSET_OK, "1,3"},
	{"1:4294967295", 10, IMAP_SEQSET_OK, "1:4294967295"},
	{"4294967295,1", 10, IMAP_SEQSET_OK, "1,4294967295"},
	{"4294967294,4294967295", 10, IMAP_SEQSET_OK, "4294967294:4294967295"},
	{"4294967295:*", 4294967295u, IMAP_SEQSET_OK, "4294967295"},
	{"100", 10, IMAP_SEQSET_OK, "100"}, /* not checked against star */
	{"10", 0, IMAP_SEQSET_OK, "10"},
	{"4294967296", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"99999999999999999999999", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"0", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"1:0", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"01", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"1,00", 10, IMAP_SEQSET_BAD_NUMBER, NULL},
	{"", 10, IMAP_SEQSET_SYNTAX, NULL},
	{",", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1,", 10, IMAP_SEQSET_SYNTAX, NULL},
	{",1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1:", 10, IMAP_SEQSET_SYNTAX, NULL},
	{":1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1::2", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1:2:3", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1 2", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1,,2", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"a", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"-1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"+1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1a", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"**", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"*1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"$,1", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"1,$", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"$$", 10, IMAP_SEQSET_SYNTAX, NULL},
	{"$:1", 10, IMAP_SEQSET_SYNTAX, NULL},
	/* RFC 9051 9: "*" in an empty mailbox is a BAD */
	{"*", 0, IMAP_SEQSET_STAR_EMPTY, NULL},
	{"1:*", 0, IMAP_SEQSET_STAR_EMPTY, NULL},
	{"1,*:3", 0, IMAP_SEQSET_STAR_EMPTY, NULL},
};

static void format(const struct imap_seqset *set, struct buf *b)
{
	buf_reset(b);
	assert_true(imap_seqset_write(set, b));
	if (b->ptr == NULL)
		buf_append_str(b, "");
}

/* Normalised: sorted, disjoint, not adjacent, lo <= hi. */
static void check_normal(const struct imap_seqset *set)
{
	for (size_t i = 0; i < set->count; i++) {
		assert_true(set->ranges[i].lo >= 1);
		assert_true(set->ranges[i].lo <= set->ranges[i].hi);
		if (i > 0)
			assert_true((uint64_t)set->ranges[i - 1].hi + 1 < set->ranges[i].lo);
	}
}

static void test_cases(void **state)
{
	(void)state;
	struct imap_seqset set, again;
	struct buf b;
	imap_seqset_init(&set, 0);
	imap_seqset_init(&again, 0);
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct seq_case *c = &cases[i];
		enum imap_seqset_result r =
		    imap_seqset_parse(&set, c->text, strlen(c->text), c->star);
		if (r != c->result)
			fail_msg("\"%s\": %d, expected %d", c->text, r, c->result);
		assert_false(set.saved);
		if (r != IMAP_SEQSET_OK) {
			assert_int_equal(set.count, 0);
			continue;
		}
		check_normal(&set);
		format(&set, &b);
		assert_string_equal(b.ptr, c->canonical);
		/* the canonical form parses back to the same set */
		assert_int_equal(imap_seqset_parse(&again, b.ptr, b.len, c->star), IMAP_SEQSET_OK);
		assert_int_equal(again.count, set.count);
		assert_memory_equal(again.ranges, set.ranges, set.count * sizeof(set.ranges[0]));
	}
	/* "$" (RFC 5182) is only recognised */
	assert_int_equal(imap_seqset_parse(&set, "$", 1, 0), IMAP_SEQSET_OK);
	assert_true(set.saved);
	assert_int_equal(set.count, 0);
	assert_int_equal(imap_seqset_parse(&set, "1", 1, 0), IMAP_SEQSET_OK);
	assert_false(set.saved);
	buf_deinit(&b);
	imap_seqset_deinit(&set);
	imap_seqset_deinit(&again);
}

static void test_limit(void **state)
{
	(void)state;
	struct imap_seqset set;
	imap_seqset_init(&set, 4);
	assert_int_equal(imap_seqset_parse(&set, "1,3,5,7", 7, 9), IMAP_SEQSET_OK);
	assert_int_equal(set.count, 4);
	assert_int_equal(imap_seqset_parse(&set, "1,3,5,7,9", 9, 9), IMAP_SEQSET_TOO_MANY);
	assert_int_equal(set.count, 0);
	/* merging keeps it under the bound, however long the input */
	const char *merge = "1,3,5,7,1,3,5,7,2,9:3,1,3,5,7,8";
	assert_int_equal(imap_seqset_parse(&set, merge, strlen(merge), 9), IMAP_SEQSET_OK);
	assert_int_equal(set.count, 1);
	assert_true(set.cap <= 8);
	/* a compaction that cannot make room fails */
	const char *no = "1,3,5,7,9,11,13,15,17";
	assert_int_equal(imap_seqset_parse(&set, no, strlen(no), 9), IMAP_SEQSET_TOO_MANY);
	assert_true(set.cap <= 8);
	imap_seqset_deinit(&set);

	/* the default bound: "1,3,5,...,99999" is refused, memory stays bounded */
	imap_seqset_init(&set, 0);
	struct buf b;
	buf_init(&b, 0);
	for (unsigned n = 1; n < 100000; n += 2)
		buf_appendf(&b, "%s%u", n > 1 ? "," : "", n);
	assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, 1), IMAP_SEQSET_TOO_MANY);
	assert_true(set.cap <= 2 * IMAP_SEQSET_MAX_RANGES);
	/* exactly the bound is fine */
	buf_reset(&b);
	for (unsigned n = 0; n < IMAP_SEQSET_MAX_RANGES; n++)
		buf_appendf(&b, "%s%u", n > 0 ? "," : "", 2 * (IMAP_SEQSET_MAX_RANGES - n) - 1);
	assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, 1), IMAP_SEQSET_OK);
	assert_int_equal(set.count, IMAP_SEQSET_MAX_RANGES);
	check_normal(&set);
	buf_append_str(&b, ",99999");
	assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, 1), IMAP_SEQSET_TOO_MANY);
	/* 100000 repetitions of one number are one range */
	buf_reset(&b);
	for (unsigned n = 0; n < 100000; n++)
		buf_appendf(&b, "%s%u", n > 0 ? "," : "", 1 + n % 5);
	assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, 1), IMAP_SEQSET_OK);
	assert_int_equal(set.count, 1);
	assert_true(set.cap <= 2 * IMAP_SEQSET_MAX_RANGES);
	buf_deinit(&b);
	imap_seqset_deinit(&set);
}

/* ---- random sets against a bitmap ---- */

#define UNIVERSE 200

static unsigned rnd(unsigned n)
{
	return (unsigned)rand() % n;
}

/* A random set text over 1..UNIVERSE (with "*" = star) and its bitmap. */
static void random_set(struct buf *b, bool *bits, uint32_t star)
{
	buf_reset(b);
	memset(bits, 0, (UNIVERSE + 1) * sizeof(bool));
	size_t n = 1 + rnd(8);
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = 1 + rnd(UNIVERSE), hi = lo;
		bool slo = rnd(10) == 0, shi = false;
		if (slo)
			lo = star;
		if (rnd(2)) {
			hi = 1 + rnd(UNIVERSE);
			shi = rnd(10) == 0;
			if (shi)
				hi = star;
		}
		buf_appendf(b, "%s", i > 0 ? "," : "");
		slo ? buf_append_str(b, "*") : buf_appendf(b, "%u", lo);
		if (lo != hi || shi)
			shi ? buf_append_str(b, ":*") : buf_appendf(b, ":%u", hi);
		for (uint32_t k = lo < hi ? lo : hi; k <= (lo < hi ? hi : lo); k++)
			bits[k] = true;
	}
}

static void check_against(const struct imap_seqset *set, const bool *bits)
{
	uint64_t count = 0;
	uint32_t last = 0;
	struct imap_seqset_iter it;
	imap_seqset_iter_init(&it, set);
	for (uint32_t k = 0; k <= UNIVERSE + 1; k++) {
		bool in = k <= UNIVERSE && bits[k];
		assert_int_equal(imap_seqset_contains(set, k), in);
		if (!in)
			continue;
		count++;
		last = k;
		uint32_t n;
		assert_true(imap_seqset_iter_next(&it, &n));
		assert_int_equal(n, k);
	}
	uint32_t n;
	assert_false(imap_seqset_iter_next(&it, &n));
	assert_int_equal(imap_seqset_count(set), count);
	assert_int_equal(imap_seqset_last(set), last);
	check_normal(set);
}

static void test_random(void **state)
{
	(void)state;
	srand(42);
	struct imap_seqset set, added;
	imap_seqset_init(&set, 0);
	imap_seqset_init(&added, 0);
	struct buf b;
	buf_init(&b, 0);
	bool bits[UNIVERSE + 1];
	for (int iter = 0; iter < 3000; iter++) {
		uint32_t star = 1 + rnd(UNIVERSE);
		random_set(&b, bits, star);
		assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, star), IMAP_SEQSET_OK);
		check_against(&set, bits);
		/* the same members added one range at a time, in random order */
		imap_seqset_clear(&added);
		size_t order[UNIVERSE];
		for (size_t i = 0; i < set.count; i++)
			order[i] = i;
		for (size_t i = set.count; i > 1; i--) {
			size_t j = rnd((unsigned)i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < set.count; i++) {
			const struct imap_seq_range *r = &set.ranges[order[i]];
			assert_true(imap_seqset_add(&added, r->hi, r->lo));
		}
		for (size_t i = 0; i < set.count; i++)
			assert_true(imap_seqset_add(&added, set.ranges[i].lo, set.ranges[i].lo));
		assert_int_equal(added.count, set.count);
		assert_memory_equal(added.ranges, set.ranges, set.count * sizeof(set.ranges[0]));
	}
	/* single members in random order, against the bitmap */
	imap_seqset_clear(&added);
	memset(bits, 0, sizeof(bits));
	for (int i = 0; i < 400; i++) {
		uint32_t k = 1 + rnd(UNIVERSE);
		bits[k] = true;
		assert_true(imap_seqset_add(&added, k, k));
		check_normal(&added);
	}
	check_against(&added, bits);
	/* add refuses a new range beyond the bound, but merges are fine */
	struct imap_seqset two;
	imap_seqset_init(&two, 2);
	assert_true(imap_seqset_add(&two, 1, 1));
	assert_true(imap_seqset_add(&two, 5, 5));
	assert_false(imap_seqset_add(&two, 9, 9));
	assert_true(imap_seqset_add(&two, 2, 4));
	assert_int_equal(two.count, 1);
	assert_true(imap_seqset_add(&two, UINT32_MAX, UINT32_MAX));
	assert_true(imap_seqset_contains(&two, UINT32_MAX));
	assert_int_equal(imap_seqset_count(&two), 6);
	imap_seqset_deinit(&two);
	buf_deinit(&b);
	imap_seqset_deinit(&set);
	imap_seqset_deinit(&added);
}

/* UIDs <-> sequence numbers against the obvious loops. */
static void test_uids(void **state)
{
	(void)state;
	srand(7);
	struct imap_seqset set, out;
	imap_seqset_init(&set, 0);
	imap_seqset_init(&out, 0);
	struct buf b;
	buf_init(&b, 0);
	bool bits[UNIVERSE + 1], want[UNIVERSE + 1];
	uint32_t uids[UNIVERSE];
	for (int iter = 0; iter < 2000; iter++) {
		size_t count = 0;
		for (uint32_t u = 1; u <= UNIVERSE && count < UNIVERSE; u++)
			if (rnd(3) == 0)
				uids[count++] = u;
		/* uid_lookup */
		for (uint32_t u = 0; u <= UNIVERSE + 1; u++) {
			uint32_t seq = 0;
			bool found = imap_seqset_uid_lookup(uids, count, u, &seq);
			bool exp = false;
			for (size_t i = 0; i < count; i++)
				if (uids[i] == u) {
					exp = true;
					assert_int_equal(seq, i + 1);
				}
			assert_int_equal(found, exp);
		}
		/* a UID set to sequence numbers */
		uint32_t star = count > 0 ? uids[count - 1] : 1;
		random_set(&b, bits, star);
		assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, star), IMAP_SEQSET_OK);
		assert_int_equal(imap_seqset_uids_to_seqs(&set, uids, count, &out), IMAP_SEQSET_OK);
		memset(want, 0, sizeof(want));
		for (size_t i = 0; i < count; i++)
			want[i + 1] = bits[uids[i]];
		check_against(&out, want);
		/* a sequence set to UIDs (numbers over count are ignored) */
		star = count > 0 ? (uint32_t)count : 1;
		random_set(&b, bits, star);
		assert_int_equal(imap_seqset_parse(&set, b.ptr, b.len, star), IMAP_SEQSET_OK);
		assert_int_equal(imap_seqset_seqs_to_uids(&set, uids, count, &out), IMAP_SEQSET_OK);
		memset(want, 0, sizeof(want));
		for (size_t i = 0; i < count; i++)
			want[uids[i]] = bits[i + 1];
		check_against(&out, want);
	}
	/* every other UID: 1:* becomes many ranges, over a small bound */
	struct imap_seqset small;
	imap_seqset_init(&small, 3);
	uint32_t odd[] = {1, 3, 5, 7};
	assert_int_equal(imap_seqset_parse(&set, "1:*", 3, 4), IMAP_SEQSET_OK);
	assert_int_equal(imap_seqset_seqs_to_uids(&set, odd, 4, &small), IMAP_SEQSET_TOO_MANY);
	assert_int_equal(small.count, 0);
	assert_int_equal(imap_seqset_parse(&set, "1:3", 3, 4), IMAP_SEQSET_OK);
	assert_int_equal(imap_seqset_seqs_to_uids(&set, odd, 4, &small), IMAP_SEQSET_OK);
	format(&small, &b);
	assert_string_equal(b.ptr, "1,3,5");
	/* more UID ranges than out may hold */
	struct imap_seqset one;
	imap_seqset_init(&one, 1);
	assert_int_equal(imap_seqset_parse(&set, "1,5", 3, 9), IMAP_SEQSET_OK);
	assert_int_equal(imap_seqset_uids_to_seqs(&set, odd, 4, &one), IMAP_SEQSET_TOO_MANY);
	assert_int_equal(one.count, 0);
	assert_int_equal(imap_seqset_parse(&set, "1:5", 3, 9), IMAP_SEQSET_OK);
	assert_int_equal(imap_seqset_uids_to_seqs(&set, odd, 4, &one), IMAP_SEQSET_OK);
	format(&one, &b);
	assert_string_equal(b.ptr, "1:3");
	imap_seqset_deinit(&one);
	/* empty mailbox */
	assert_int_equal(imap_seqset_uids_to_seqs(&set, odd, 0, &small), IMAP_SEQSET_OK);
	assert_int_equal(small.count, 0);
	imap_seqset_deinit(&small);
	buf_deinit(&b);
	imap_seqset_deinit(&set);
	imap_seqset_deinit(&out);
}

static void test_write_bounded(void **state)
{
	(void)state;
	struct imap_seqset set;
	imap_seqset_init(&set, 0);
	assert_int_equal(imap_seqset_parse(&set, "1:3,5,7:9", 9, 9), IMAP_SEQSET_OK);
	struct buf b;
	buf_init(&b, 5);
	assert_false(imap_seqset_write(&set, &b));
	buf_deinit(&b);
	buf_init(&b, 9);
	assert_true(imap_seqset_write(&set, &b));
	assert_string_equal(b.ptr, "1:3,5,7:9");
	buf_deinit(&b);
	imap_seqset_deinit(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_uids),
		cmocka_unit_test(test_write_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
