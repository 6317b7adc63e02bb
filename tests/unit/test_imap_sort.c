/*
 * test_imap_sort.c - the pure parts of SORT and THREAD (RFC 5256): base
 * subject extraction (2.1), sent dates (2.2), Message ID parsing, and
 * both threading algorithms with the thread-list response format (3, 4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "imap/imap_basesubject.h"
#include "imap/imap_thread.h"
#include "lib/buf.h"
#include "lib/mem.h"

#include <stdio.h>
#include <string.h>

/* ---- base subject ---- */

static const struct {
	const char *in, *out;
	bool reply;
} subjects[] = {
	{"", "", false},
	{"Hello", "Hello", false},
	{"  Hello \t  World  ", "Hello World", false},
	{"Subject\r\n continued", "Subject continued", false},
	{"Re: Hello", "Hello", true},
	{"RE:Hello", "Hello", true},
	{"re : hello", "hello", true},
	{"Re:  Re: Fwd: x", "x", true},
	{"Fw: x", "x", true},
	{"FWD:x", "x", true},
	{"Fwd x", "Fwd x", false},
	{"Reply: x", "Reply: x", false},
	{"Ree: x", "Ree: x", false},
	{"Re[2]: x", "x", true},
	{"Re [2] : x", "x", true},
	{"Re[2]x: y", "Re[2]x: y", false},
	{"Re: [list] Fwd: Subject (fwd)", "Subject", true},
	{"Subject (fwd)", "Subject", true},
	{"Subject (FWD) (fwd)  ", "Subject", true},
	{"(fwd)", "", true},
	{"Re:", "", true},
	{"Re: ", "", true},
	/* a blob goes only if something follows it, and alone is no reply */
	{"[list] Subject", "Subject", false},
	{"[list]", "[list]", false},
	{"[list]   ", "[list]", false},
	{"[a] [b]", "[b]", false},
	{"[a][b] x", "x", false},
	{"[list] Re: x", "x", true},
	{"[a] [b] Re: [c] x", "x", true},
	{"Re: [PATCH] foo", "foo", true},
	{"[PATCH 1/2] Re: foo", "foo", true},
	{"[broken x", "[broken x", false},
	{"x]", "x]", false},
	/* "[fwd:" ... "]" is unwrapped and the whole thing starts again */
	{"[fwd: Re: hello]", "hello", true},
	{"[Fwd: hello] (fwd)", "hello", true},
	{"[FWD: [fwd: x]]", "x", true},
	{"Re: [fwd: x]", "x", true},
	{"[fwd: x] y", "y", false}, /* a blob (4) before it could be a wrapper (6) */
	{"[fwd: ]", "", true},
	{"[fwd:]", "", true},
	/* 8-bit text is kept as it is */
	{"Re: Gr\xc3\xbc\xc3\x9f""e", "Gr\xc3\xbc\xc3\x9f""e", true},
	{"R\xc3\xa8: x", "R\xc3\xa8: x", false},
	{"[\xc3\xa9t\xc3\xa9] x", "x", false},
};

static void test_basesubject(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		size_t len = strlen(subjects[i].in);
		char *out = xmalloc(len + 1);
		bool reply = !subjects[i].reply;
		size_t n = imap_basesubject(subjects[i].in, len, out, &reply);
		if (n != strlen(subjects[i].out) || memcmp(out, subjects[i].out, n) != 0 ||
		    reply != subjects[i].reply)
			fail_msg("case %zu \"%s\": got \"%.*s\" reply=%d", i, subjects[i].in, (int)n,
				 out, reply);
		/* in place gives the same */
		char *copy = xstrdup(subjects[i].in);
		assert_int_equal(imap_basesubject(copy, len, copy, NULL), n);
		assert_memory_equal(copy, out, n);
		free(copy);
		free(out);
	}
}

/* Input is (ptr, len): bytes after len are never looked at. */
static void test_basesubject_not_terminated(void **state)
{
	(void)state;
	const char in[] = "Re: hello(fwd)";
	char out[32];
	bool reply;
	size_t n = imap_basesubject(in, 9, out, &reply); /* "Re: hello" */
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_true(reply);
	n = imap_basesubject("[a] xyz", 4, out, &reply); /* "[a] " */
	assert_int_equal(n, 3);
	assert_memory_equal(out, "[a]", 3);
}

static void test_fold_squeeze(void **state)
{
	(void)state;
	char s[] = "aBz\xc3\xa9[]09";
	imap_basesubject_fold(s, strlen(s));
	assert_string_equal(s, "ABZ\xc3\xa9[]09");
	char t[] = " \t John \r\n Doe  ";
	size_t n = imap_basesubject_squeeze(t, strlen(t));
	assert_int_equal(n, 8);
	assert_memory_equal(t, "John Doe", 8);
	char u[] = "   ";
	assert_int_equal(imap_basesubject_squeeze(u, 3), 0);
	assert_int_equal(imap_basesubject_squeeze(u, 0), 0);
}

/* ---- sent date ---- */

static const struct {
	const char *in;
	bool ok;
	int64_t t;
} dates[] = {
	{"Mon, 02 Mar 2026 10:00:00 +0000", true, 1772445600},
	{"2 Mar 2026 10:00 +0100", true, 1772442000},
	{"Mon, 2 Mar 26 10:00:00 GMT", true, 1772445600},
	{"Tue, 2 Mar 99 10:00:00 EST", true, 920386800},
	{"Mon, 2 Mar 2026 10:00:00 -0830 (PST)", true, 1772476200},
	{" Mon ,  2  mar  2026  10 : 00 : 00  +0000 ", true, 1772445600},
	{"(comment) Mon, (x (nested)) 2 Mar 2026 10:00:00 UT", true, 1772445600},
	{"Mon, 2 Mar 2026\r\n 10:00:00 +0000", true, 1772445600},
	{"Mon, 2 Mar 2026 10:00:00", true, 1772445600},
	{"Mon, 2 Mar 2026 10:00:00 Z", true, 1772445600},
	{"Mon, 2 Mar 2026 10:00:00 CEST", true, 1772445600}, /* unknown: -0000 */
	{"Thu, 1 Jan 1970 00:00:00 +0000", true, 0},
	{"Sat, 1 Jan 100 00:00:00 +0000", true, 946684800},
	{"Thu, 29 Feb 2024 12:00:00 +0000", true, 1709208000},
	{"1 Jun 50 00:00:00 +0000", true, -618105600},
	{"31 Dec 2049 23:59:60 +0000", true, 2524608000},
	{"", false, 0},
	{"garbage", false, 0},
	{"Mon, 32 Mar 2026 10:00:00 +0000", false, 0},
	{"Mon, 0 Mar 2026 10:00:00 +0000", false, 0},
	{"Mon, 2 Foo 2026 10:00:00 +0000", false, 0},
	{"Mon, 2 March 2026 10:00:00 +0000", false, 0},
	{"Mon, 2 Mar 2026 24:00:00 +0000", false, 0},
	{"Mon, 2 Mar 2026 10:60:00 +0000", false, 0},
	{"Mon, 2 Mar 2026 10:00:61 +0000", false, 0},
	{"Mon, 2 Mar 2026 10:00:00 +00", false, 0},
	{"Mon, 2 Mar 2026 10:00:00 +0099", false, 0},
	{"Mon, 2 Mar 2026 10:00:00 0000", false, 0},
	{"Mon, 2 Mar 2026", false, 0},
	{"Mon, 2 Mar 2026 10", false, 0},
	{"Mon, 2 Mar 2 10:00:00 +0000", false, 0},
	{"Mon, 2 Mar 20260 10:00:00 +0000", false, 0},
	{"Mon, 123 Mar 2026 10:00:00 +0000", false, 0},
};

static void test_sent_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		/* a heap copy without NUL, so that ASan sees any over-read */
		size_t len = strlen(dates[i].in);
		char *in = xmalloc(len + 1);
		memcpy(in, dates[i].in, len);
		int64_t t = -12345;
		bool ok = imap_basesubject_sent_date(len > 0 ? in : NULL, len, &t);
		if (ok != dates[i].ok || (ok && t != dates[i].t))
			fail_msg("case %zu \"%s\": ok=%d t=%lld", i, dates[i].in, ok, (long long)t);
		free(in);
	}
}

/* Every prefix of a valid date parses or fails cleanly, never reads
 * past its length. */
static void test_sent_date_prefixes(void **state)
{
	(void)state;
	const char *full = "Mon, 02 Mar 2026 10:00:00 +0000 (UTC)";
	size_t len = strlen(full);
	for (size_t n = 0; n <= len; n++) {
		char *in = xmalloc(n + 1);
		memcpy(in, full, n);
		int64_t t = 0;
		bool ok = imap_basesubject_sent_date(in, n, &t);
		/* "... 10:00" alone is a time without zone: accepted as UTC */
		if (ok)
			assert_true(t == 1772445600);
		if (n >= strlen("Mon, 02 Mar 2026 10:00:00 +0000"))
			assert_true(ok);
		free(in);
	}
}

/* ---- Message IDs ---- */

static void collect_ids(const char *in, char *out, size_t max)
{
	struct buf b;
	buf_init(&b, 0);
	size_t pos = 0, len = strlen(in);
	char *copy = xstrndup(in, len);
	out[0] = '\0';
	while (imap_thread_next_msgid(copy, len, &pos, &b)) {
		snprintf(out + strlen(out), max - strlen(out), "[%s]", b.ptr);
		buf_reset(&b);
	}
	assert_true(pos <= len);
	free(copy);
	buf_deinit(&b);
}

static void test_msgid(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"<a@b>", "[a@b]"},
		{"  <a@b>  <c@d>\r\n\t<e@f>", "[a@b][c@d][e@f]"},
		{"<a@b> (comment <x@y>) <c@d>", "[a@b][c@d]"},
		{"\"John <j@x> \\\" (\" <a@b>", "[a@b]"},
		{"\"unterminated <j@x>", ""},
		{"<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", "[01KF8JCEOCBS0045PS@xxx.yyy.com]"},
		{"<\"a\\\"b c\"@d>", "[a\"b c@d]"},
		{"<a . b @ c (comment)>", "[a.b@c]"},
		{"<a@b", ""},
		{"<> <x@y>", "[x@y]"},
		{"foo <bar <a@b>", "[a@b]"},
		{"Your message of Mon, 2 Mar 2026 <a@b>", "[a@b]"},
		{"no ids at all", ""},
		{"", ""},
		{"<CaseKept@Example>", "[CaseKept@Example]"},
	};
	char got[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		collect_ids(cases[i].in, got, sizeof(got));
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu \"%s\": got \"%s\"", i, cases[i].in, got);
	}
}

/* Every prefix: no id until the '>' has come, then the whole id. */
static void test_msgid_prefixes(void **state)
{
	(void)state;
	const char *full = "(c) <\"x y\"@host.example> (more)";
	size_t len = strlen(full);
	size_t close = (size_t)(strchr(full, '>') - full);
	for (size_t n = 0; n <= len; n++) {
		char *in = xmalloc(n + 1);
		memcpy(in, full, n);
		struct buf b;
		buf_init(&b, 0);
		size_t pos = 0;
		bool ok = imap_thread_next_msgid(in, n, &pos, &b);
		assert_int_equal(ok, n > close);
		if (ok)
			assert_string_equal(b.ptr, "x y@host.example");
		else
			assert_int_equal(b.len, 0);
		buf_deinit(&b);
		free(in);
	}
}

/* ---- threading ---- */

struct tm_in {
	const char *subject, *msgid, *irt, *refs;
	int64_t date;
};

/* Thread msgs (ids 1..n in this order) and return the response text. */
static char *run_thread(enum imap_thread_alg alg, const struct tm_in *msgs, size_t n)
{
	struct imap_thread *t = imap_thread_new(alg);
	for (size_t i = 0; i < n; i++) {
		struct imap_thread_msg m = {.id = (uint32_t)(i + 1), .date = msgs[i].date};
		m.subject = msgs[i].subject;
		m.subject_len = m.subject != NULL ? strlen(m.subject) : 0;
		m.message_id = msgs[i].msgid;
		m.message_id_len = m.message_id != NULL ? strlen(m.message_id) : 0;
		m.in_reply_to = msgs[i].irt;
		m.in_reply_to_len = m.in_reply_to != NULL ? strlen(m.in_reply_to) : 0;
		m.references = msgs[i].refs;
		m.references_len = m.references != NULL ? strlen(m.references) : 0;
		imap_thread_add(t, &m);
	}
	struct buf out;
	buf_init(&out, 0);
	assert_true(imap_thread_write(t, &out));
	imap_thread_free(&t);
	assert_null(t);
	return buf_steal(&out);
}

#define CHECK_THREAD(alg, msgs, expect)                                                   \
	do {                                                                              \
		char *got_ = run_thread(alg, msgs, sizeof(msgs) / sizeof(msgs[0]));       \
		assert_string_equal(got_, expect);                                        \
		free(got_);                                                               \
	} while (0)

static void test_orderedsubject(void **state)
{
	(void)state;
	/* groups by base subject (case-insensitive), sorted by date inside,
	 * threads in the order of their first message's date */
	static const struct tm_in m1[] = {
		{"A", NULL, NULL, NULL, 10},    {"Re: A", NULL, NULL, NULL, 20},
		{"B", NULL, NULL, NULL, 5},     {"re: a", NULL, NULL, NULL, 15},
		{"[x] B", NULL, NULL, NULL, 30}, {"C", NULL, NULL, NULL, 7},
	};
	CHECK_THREAD(IMAP_THREAD_ORDEREDSUBJECT, m1, "(3 5)(6)(1 (4)(2))");
	/* equal dates: mailbox order; messages without subject form a thread */
	static const struct tm_in m2[] = {
		{"S", NULL, NULL, NULL, 1}, {NULL, NULL, NULL, NULL, 1},
		{"Fwd: s", NULL, NULL, NULL, 1}, {"", NULL, NULL, NULL, 0},
		{"s (fwd)", NULL, NULL, NULL, 1},
	};
	CHECK_THREAD(IMAP_THREAD_ORDEREDSUBJECT, m2, "(4 2)(1 (3)(5))");
	/* references do not matter here */
	static const struct tm_in m3[] = {
		{"X", "<1@a>", NULL, NULL, 1},
		{"Y", "<2@a>", "<1@a>", "<1@a>", 2},
	};
	CHECK_THREAD(IMAP_THREAD_ORDEREDSUBJECT, m3, "(1)(2)");
	char *got = run_thread(IMAP_THREAD_ORDEREDSUBJECT, NULL, 0);
	assert_string_equal(got, "");
	free(got);
}

static void test_references_basic(void **state)
{
	(void)state;
	/* 1 <- 2 <- 3, 1 <- 4; 5 alone */
	static const struct tm_in chain[] = {
		{"a", "<1@x>", NULL, NULL, 1},
		{"Re: a", "<2@x>", "<1@x>", "<1@x>", 2},
		{"Re: a", "<3@x>", NULL, "<1@x> <2@x>", 3},
		{"Re: a", "<4@x>", "<1@x>", NULL, 4},
		{"other", "<5@x>", NULL, NULL, 0},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, chain, "(5)(1 (2 3)(4))");
	/* siblings by sent date, not arrival; equal dates by mailbox order */
	static const struct tm_in sibs[] = {
		{"p", "<p@x>", NULL, NULL, 0},
		{"c", "<c1@x>", NULL, "<p@x>", 9},
		{"c", "<c2@x>", NULL, "<p@x>", 3},
		{"c", "<c3@x>", NULL, "<p@x>", 9},
		{"c", "<c4@x>", NULL, "<p@x>", 3},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, sibs, "(1 (3)(5)(2)(4))");
	/* In-Reply-To is used only without valid References, and only its
	 * first id */
	static const struct tm_in irt[] = {
		{"a", "<a@x>", NULL, NULL, 1},
		{"b", "<b@x>", NULL, NULL, 2},
		{"c", "<c@x>", "<b@x> <a@x>", "junk, no ids", 3},
		{"d", "<d@x>", "<a@x>", "<b@x>", 4},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, irt, "(1)(2 (3)(4))");
	/* quoting does not matter, case does */
	static const struct tm_in quoting[] = {
		{"a", "<\"q.r\"@x>", NULL, NULL, 1},
		{"b", "<b@x>", NULL, "<q.r@x>", 2},
		{"c", "<c@x>", NULL, "<Q.R@x>", 3},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, quoting, "(1 2)(3)");
}

static void test_references_dummies(void **state)
{
	(void)state;
	/* two replies to a message we do not have: a dummy at the top */
	static const struct tm_in missing2[] = {
		{"a", "<1@x>", NULL, "<gone@x>", 2},
		{"b", "<2@x>", NULL, "<gone@x>", 1},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, missing2, "((2)(1))");
	/* one reply: the dummy goes, the reply stands alone */
	static const struct tm_in missing1[] = {
		{"a", "<1@x>", NULL, "<gone@x>", 1},
		{"b", "<2@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, missing1, "(1)(2)");
	/* a dummy inside a thread goes, its children move up */
	static const struct tm_in middle[] = {
		{"a", "<1@x>", NULL, NULL, 1},
		{"b", "<2@x>", NULL, "<1@x> <gone@x>", 2},
		{"c", "<3@x>", NULL, "<1@x> <gone@x>", 3},
		{"d", "<4@x>", NULL, "<1@x> <gone@x> <3@x>", 4},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, middle, "(1 (2)(3 4))");
	/* a dummy whose children are dummies with one child each */
	static const struct tm_in nested[] = {
		{"a", "<1@x>", NULL, "<g1@x> <g2@x>", 1},
		{"b", "<2@x>", NULL, "<g1@x> <g3@x>", 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, nested, "((1)(2))");
	/* chains of dummies above one message */
	static const struct tm_in deep[] = {
		{"a", "<1@x>", NULL, "<g1@x> <g2@x> <g3@x>", 1},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, deep, "(1)");
}

static void test_references_links(void **state)
{
	(void)state;
	/* a loop through References: the second link is refused */
	static const struct tm_in loop[] = {
		{"a", "<1@x>", NULL, "<2@x>", 1},
		{"b", "<2@x>", NULL, "<1@x>", 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, loop, "(2 1)");
	/* referring to itself */
	static const struct tm_in self[] = {
		{"a", "<1@x>", NULL, "<0@x> <1@x>", 1},
		{"b", "<0@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, self, "(1)(2)"); /* 1.B: unlinked, loop */
	/* duplicate Message IDs: only the first one is found */
	static const struct tm_in dup[] = {
		{"a", "<d@x>", NULL, NULL, 1},
		{"b", "<d@x>", NULL, NULL, 2},
		{"c", "<e@x>", NULL, "<d@x>", 3},
		{"d", NULL, NULL, "<d@x>", 4},
		{"e", "not an id", NULL, NULL, 5},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, dup, "(1 (3)(4))(2)(5)");
	/* 1.B: the message's own last reference beats what another message's
	 * (cut) References said about it; 1.A keeps existing parents */
	static const struct tm_in relink[] = {
		{"a", "<3@x>", NULL, "<1@x> <2@x>", 1},
		{"b", "<2@x>", NULL, "<9@x>", 2},
		{"c", "<1@x>", NULL, NULL, 3},
		{"d", "<4@x>", NULL, "<1@x> <3@x> <4b@x>", 4},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, relink, "(2 1 4)(3)");
}

static void test_references_subjects(void **state)
{
	(void)state;
	/* a reply without references joins the thread of its subject */
	static const struct tm_in reply[] = {
		{"Hello", "<1@x>", NULL, NULL, 1},
		{"Re: hello", "<2@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, reply, "(1 2)");
	/* ... even when it came first: the non-reply holds the table */
	static const struct tm_in first[] = {
		{"Re: Hello", "<1@x>", NULL, NULL, 1},
		{"Hello", "<2@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, first, "(2 1)");
	/* two non-replies: a new dummy above both */
	static const struct tm_in two[] = {
		{"Hello", "<1@x>", NULL, NULL, 1},
		{"[list] hello", "<2@x>", NULL, NULL, 2},
		{"Other", "<3@x>", NULL, NULL, 3},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, two, "((1)(2))(3)");
	/* two replies: also a dummy (neither is preferred) */
	static const struct tm_in replies[] = {
		{"Re: S", "<1@x>", NULL, NULL, 1},
		{"Fwd: S", "<2@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, replies, "((1)(2))");
	/* a message joins a dummy of the same subject (its first child's) */
	static const struct tm_in todummy[] = {
		{"S", "<1@x>", NULL, "<gone@x>", 1},
		{"Re: S", "<2@x>", NULL, "<gone@x>", 3},
		{"S", "<3@x>", NULL, NULL, 2},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, todummy, "((1)(3)(2))");
	/* two dummies of one subject merge their children */
	static const struct tm_in dummies[] = {
		{"S", "<1@x>", NULL, "<g1@x>", 1},
		{"S", "<2@x>", NULL, "<g1@x>", 4},
		{"Re: S", "<3@x>", NULL, "<g2@x>", 2},
		{"S", "<4@x>", NULL, "<g2@x>", 3},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, dummies, "((1)(3)(4)(2))");
	/* empty subjects are never merged; whole threads move with their
	 * head, which is what the subject is taken from */
	static const struct tm_in empty[] = {
		{"", "<1@x>", NULL, NULL, 1},
		{"Re:", "<2@x>", NULL, NULL, 2},
		{"T", "<3@x>", NULL, NULL, 3},
		{"Re: x", "<4@x>", NULL, "<3@x>", 4},
		{"Re: T", "<5@x>", NULL, NULL, 5},
	};
	CHECK_THREAD(IMAP_THREAD_REFERENCES, empty, "(1)(2)(3 (4)(5))");
}

/* ---- size: 100,000 messages, no recursion, no quadratic work ---- */

#define BIG 100000

static char *run_big(enum imap_thread_alg alg, bool reverse, bool star)
{
	struct imap_thread *t = imap_thread_new(alg);
	char id[32], ref[32];
	for (uint32_t i = 0; i < BIG; i++) {
		/* chain position p: message p refers to p - 1 (star: to 0) */
		uint32_t p = reverse ? BIG - 1 - i : i;
		snprintf(id, sizeof(id), "<%u@x>", p);
		snprintf(ref, sizeof(ref), "<%u@x>", star ? 0 : p - 1);
		struct imap_thread_msg m = {
			.id = i + 1, .date = p, .subject = "Re: big", .subject_len = 7,
			.message_id = id, .message_id_len = strlen(id),
			.references = p > 0 ? ref : NULL, .references_len = p > 0 ? strlen(ref) : 0,
		};
		imap_thread_add(t, &m);
	}
	struct buf out;
	buf_init(&out, 0);
	assert_true(imap_thread_write(t, &out));
	imap_thread_free(&t);
	return buf_steal(&out);
}

static void test_big_chain(void **state)
{
	(void)state;
	for (int reverse = 0; reverse < 2; reverse++) {
		char *got = run_big(IMAP_THREAD_REFERENCES, reverse, false);
		struct buf want;
		buf_init(&want, 0);
		buf_append_byte(&want, '(');
		for (uint32_t p = 0; p < BIG; p++)
			buf_appendf(&want, p > 0 ? " %u" : "%u", reverse ? BIG - p : p + 1);
		buf_append_byte(&want, ')');
		assert_string_equal(got, want.ptr);
		buf_deinit(&want);
		free(got);
	}
}

static void test_big_star(void **state)
{
	(void)state;
	enum imap_thread_alg algs[] = {IMAP_THREAD_REFERENCES, IMAP_THREAD_ORDEREDSUBJECT};
	for (int a = 0; a < 2; a++) {
		char *got = run_big(algs[a], false, true);
		struct buf want;
		buf_init(&want, 0);
		buf_append_str(&want, "(1 ");
		for (uint32_t i = 2; i <= BIG; i++)
			buf_appendf(&want, "(%u)", i);
		buf_append_byte(&want, ')');
		assert_string_equal(got, want.ptr);
		buf_deinit(&want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basesubject),
		cmocka_unit_test(test_basesubject_not_terminated),
		cmocka_unit_test(test_fold_squeeze),
		cmocka_unit_test(test_sent_date),
		cmocka_unit_test(test_sent_date_prefixes),
		cmocka_unit_test(test_msgid),
		cmocka_unit_test(test_msgid_prefixes),
		cmocka_unit_test(test_orderedsubject),
		cmocka_unit_test(test_references_basic),
		cmocka_unit_test(test_references_dummies),
		cmocka_unit_test(test_references_links),
		cmocka_unit_test(test_references_subjects),
		cmocka_unit_test(test_big_chain),
		cmocka_unit_test(test_big_star),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
