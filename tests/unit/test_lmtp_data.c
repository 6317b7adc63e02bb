/*
 * test_lmtp_data.c - the DATA decoder: the terminator, dot unstuffing,
 * smuggling sequences, chunk boundaries, pipelined input, and random
 * inputs against a whole-buffer reference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lmtp/lmtp_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN 512

struct result {
	enum lmtp_data_status status;
	char out[LMTP_DATA_OUT_MAX(MAX_IN)];
	size_t out_len;
	size_t consumed; /* total over all chunks */
};

/* Feed in[0..len) in chunks from `sizes` (cycled; NULL: whole), stopping at
 * the end of the data as a session would. Checks the per-call bounds. */
static void feed_chunks(const char *in, size_t len, const size_t *sizes, size_t nsizes,
			struct result *r)
{
	struct lmtp_data d;
	size_t i = 0, k = 0;
	lmtp_data_init(&d);
	memset(r, 0, sizeof(*r));
	r->status = LMTP_DATA_MORE;
	do {
		size_t n = sizes != NULL ? sizes[k++ % nsizes] : len;
		if (n > len - i)
			n = len - i;
		size_t o, c;
		r->status = lmtp_data_feed(&d, in + i, n, r->out + r->out_len, &o, &c);
		assert_true(o <= LMTP_DATA_OUT_MAX(n));
		assert_true(c <= n);
		if (r->status == LMTP_DATA_MORE)
			assert_int_equal(c, n);
		r->out_len += o;
		i += c;
	} while (r->status == LMTP_DATA_MORE && i < len);
	r->consumed = i;
}

static void feed_whole(const char *in, size_t len, struct result *r)
{
	feed_chunks(in, len, NULL, 0, r);
}

static void feed_bytes(const char *in, size_t len, struct result *r)
{
	static const size_t one = 1;
	feed_chunks(in, len, &one, 1, r);
}

/*
 * The reference: the header's rules read literally over the whole buffer.
 * A line starts at 0 or after CRLF. There, ".\r\n" ends the data; "." then
 * LF, or "." then CR then not-LF, keeps the dot; any other "." is removed.
 * A "." or ".\r" at the very end is held back (not output, but consumed).
 */
static void reference(const char *in, size_t len, struct result *r)
{
	size_t i = 0;
	bool at_start = true;
	memset(r, 0, sizeof(*r));
	r->status = LMTP_DATA_MORE;
	while (i < len) {
		if (at_start && in[i] == '.') {
			if (i + 1 == len || (in[i + 1] == '\r' && i + 2 == len))
				break; /* held back */
			if (in[i + 1] == '\r' && in[i + 2] == '\n') {
				r->status = LMTP_DATA_END;
				r->consumed = i + 3;
				return;
			}
			if (in[i + 1] == '\r' || in[i + 1] == '\n')
				r->out[r->out_len++] = '.';
			i++;
			at_start = false;
			continue;
		}
		r->out[r->out_len++] = in[i];
		at_start = in[i] == '\n' && i > 0 && in[i - 1] == '\r';
		i++;
	}
	r->consumed = len;
}

static void assert_same(const struct result *a, const struct result *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->out_len, b->out_len);
	assert_memory_equal(a->out, b->out, a->out_len);
}

struct data_case {
	const char *in;
	size_t in_len;
	enum lmtp_data_status status;
	const char *out;
	size_t out_len;
	size_t consumed;
};

#define END(in, out) {in, sizeof(in) - 1, LMTP_DATA_END, out, sizeof(out) - 1, sizeof(in) - 1}
/* the terminator followed by `rest`, which stays unconsumed */
#define ENDP(in, rest, out)                                                                     \
	{in rest, sizeof(in rest) - 1, LMTP_DATA_END, out, sizeof(out) - 1, sizeof(in) - 1}
#define MORE(in, out) {in, sizeof(in) - 1, LMTP_DATA_MORE, out, sizeof(out) - 1, sizeof(in) - 1}

static const struct data_case data_cases[] = {
	END(".\r\n", ""),
	END("\r\n.\r\n", "\r\n"),
	END("a\r\n.\r\n", "a\r\n"),
	END("Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n"),
	/* unstuffing */
	END("..\r\n.\r\n", ".\r\n"),
	END("...\r\n.\r\n", "..\r\n"),
	END("a\r\n..b\r\n.\r\n", "a\r\n.b\r\n"),
	END(".a\r\n.\r\n", "a\r\n"),
	END("a.\r\n.\r\n", "a.\r\n"),
	END("a\r\n..\r\n.\r\n", "a\r\n.\r\n"),
	/* smuggling sequences are content, unchanged */
	MORE("a\n.\nb", "a\n.\nb"),
	MORE("a\r.\rb", "a\r.\rb"),
	MORE("a\n.\r\nb", "a\n.\r\nb"),
	MORE("a\r\n.\nb", "a\r\n.\nb"),
	MORE("\n.\n", "\n.\n"),
	MORE("\r.\r", "\r.\r"),
	MORE("\n.\r\n", "\n.\r\n"),
	MORE("\r\n.\n", "\r\n.\n"),
	MORE(".\n", ".\n"),
	MORE("a\r\n.\rb\r\n", "a\r\n.\rb\r\n"),
	MORE("a\r\n.\r\rb", "a\r\n.\r\rb"),
	END("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n"),
	END("a\r\n.\nb\r\n.\r\n", "a\r\n.\nb\r\n"),
	END("a\r\n.\r.\r\n.\r\n", "a\r\n.\r.\r\n"),
	/* ".\r" then CR: the second CR may start a CRLF */
	END(".\r\r\n.\r\n", ".\r\r\n"),
	/* a bare LF after CRLF does not start a line */
	MORE("\r\n\n.\r\n", "\r\n\n.\r\n"),
	END("\r\n\n.\r\n.\r\n", "\r\n\n.\r\n"),
	/* held back at the end of input */
	MORE("a\r\n.", "a\r\n"),
	MORE("a\r\n.\r", "a\r\n"),
	MORE(".", ""),
	MORE(".\r", ""),
	MORE("", ""),
	/* pipelined data after the terminator is not consumed */
	ENDP(".\r\n", "QUIT\r\n", ""),
	ENDP("x\r\n.\r\n", "MAIL FROM:<a@b>\r\n", "x\r\n"),
	ENDP("x\r\n.\r\n", ".\r\n", "x\r\n"),
	/* binary content */
	END("\0\r\n.\r\n", "\0\r\n"),
	END("\xff\xfe\r\n.\r\n", "\xff\xfe\r\n"),
};

static void check_case(const struct data_case *c, const struct result *r, const char *how,
		       size_t idx)
{
	if (r->status != c->status || r->out_len != c->out_len ||
	    memcmp(r->out, c->out, r->out_len) != 0 || r->consumed != c->consumed)
		print_error("case %zu (%s) differs\n", idx, how);
	assert_int_equal(r->status, c->status);
	assert_int_equal(r->consumed, c->consumed);
	assert_int_equal(r->out_len, c->out_len);
	assert_memory_equal(r->out, c->out, r->out_len);
}

static void test_cases(void **state)
{
	(void)state;
	struct result r;
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		const struct data_case *c = &data_cases[i];
		feed_whole(c->in, c->in_len, &r);
		check_case(c, &r, "whole", i);
		feed_bytes(c->in, c->in_len, &r);
		check_case(c, &r, "bytes", i);
		reference(c->in, c->in_len, &r);
		check_case(c, &r, "reference", i);
	}
}

/* The terminator (and stuffed dots) split into two and three chunks at
 * every position. */
static void test_split_everywhere(void **state)
{
	(void)state;
	static const char msg[] = "A: b\r\n\r\n..x\r\n..\r\n\r\n.\r\nNEXT";
	static const char want[] = "A: b\r\n\r\n.x\r\n.\r\n\r\n";
	const size_t len = sizeof(msg) - 1, cons = len - 4;
	struct result r;
	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b++) {
			size_t sizes[3] = {a, b - a, len - b};
			feed_chunks(msg, len, sizes, 3, &r);
			assert_int_equal(r.status, LMTP_DATA_END);
			assert_int_equal(r.consumed, cons);
			assert_int_equal(r.out_len, sizeof(want) - 1);
			assert_memory_equal(r.out, want, r.out_len);
		}
	}
}

/* After the end, the decoder consumes nothing more. */
static void test_after_end(void **state)
{
	(void)state;
	struct lmtp_data d;
	char out[16];
	size_t o, c;
	lmtp_data_init(&d);
	assert_int_equal(lmtp_data_feed(&d, ".\r\n", 3, out, &o, &c), LMTP_DATA_END);
	assert_int_equal(o, 0);
	assert_int_equal(c, 3);
	assert_int_equal(lmtp_data_feed(&d, "abc", 3, out, &o, &c), LMTP_DATA_END);
	assert_int_equal(o, 0);
	assert_int_equal(c, 0);
	/* init starts a new message */
	lmtp_data_init(&d);
	assert_int_equal(lmtp_data_feed(&d, "..\r\n", 4, out, &o, &c), LMTP_DATA_MORE);
	assert_int_equal(o, 3);
	assert_memory_equal(out, ".\r\n", 3);
}

/* Bytes held back are released by the next chunk: ".\r" + "x". */
static void test_held_release(void **state)
{
	(void)state;
	struct lmtp_data d;
	char out[16];
	size_t o, c;
	lmtp_data_init(&d);
	assert_int_equal(lmtp_data_feed(&d, "\r\n.\r", 4, out, &o, &c), LMTP_DATA_MORE);
	assert_int_equal(o, 2);
	assert_int_equal(c, 4);
	assert_int_equal(lmtp_data_feed(&d, "x", 1, out, &o, &c), LMTP_DATA_MORE);
	assert_int_equal(o, 3); /* LMTP_DATA_OUT_MAX(1) */
	assert_memory_equal(out, ".\rx", 3);
	/* an empty chunk changes nothing */
	assert_int_equal(lmtp_data_feed(&d, "", 0, out, &o, &c), LMTP_DATA_MORE);
	assert_int_equal(o, 0);
	assert_int_equal(c, 0);
}

static void random_input(unsigned *seed, char *buf, size_t len)
{
	static const char alphabet[] = {'.', '\r', '\n', 'a'};
	for (size_t i = 0; i < len; i++)
		buf[i] = alphabet[rand_r(seed) % 4];
}

/* Random inputs over {'.', CR, LF, 'a'}: whole, byte-at-a-time and random
 * chunks all equal the reference. */
static void test_random_vs_reference(void **state)
{
	(void)state;
	unsigned seed = 5321;
	char in[96];
	static struct result ref, a, b, c;
	size_t ends = 0;
	for (int iter = 0; iter < 30000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(in));
		size_t sizes[4];
		random_input(&seed, in, len);
		/* empty chunks too, but never only empty ones */
		for (size_t k = 0; k < 4; k++)
			sizes[k] = (size_t)(rand_r(&seed) % 6) + (k == 0);
		reference(in, len, &ref);
		feed_whole(in, len, &a);
		feed_bytes(in, len, &b);
		feed_chunks(in, len, sizes, 4, &c);
		if (a.out_len != ref.out_len || a.consumed != ref.consumed)
			print_error("iteration %d differs from the reference\n", iter);
		assert_same(&a, &ref);
		assert_same(&b, &ref);
		assert_same(&c, &ref);
		ends += ref.status == LMTP_DATA_END;
	}
	/* the alphabet makes both outcomes common */
	assert_true(ends > 1000 && ends < 29000);
}

/* Random message bodies, dot-stuffed and terminated the way RFC 5321
 * 4.5.2 tells a client to, come back unchanged. */
static void test_random_roundtrip(void **state)
{
	(void)state;
	unsigned seed = 2033;
	char body[64], wire[2 * 64 + 8];
	static struct result r;
	for (int iter = 0; iter < 20000; iter++) {
		/* a body of CRLF-terminated lines over {'.', 'a', CR, LF} that
		 * a client would stuff by CRLF lines */
		size_t len = (size_t)(rand_r(&seed) % (sizeof(body) - 2));
		random_input(&seed, body, len);
		body[len++] = '\r';
		body[len++] = '\n';
		size_t w = 0;
		for (size_t i = 0; i < len; i++) {
			bool line_start = i == 0 || (body[i - 1] == '\n' && i > 1 && body[i - 2] == '\r');
			if (line_start && body[i] == '.')
				wire[w++] = '.';
			wire[w++] = body[i];
		}
		memcpy(wire + w, ".\r\n", 3);
		w += 3;
		feed_bytes(wire, w, &r);
		assert_int_equal(r.status, LMTP_DATA_END);
		assert_int_equal(r.consumed, w);
		assert_int_equal(r.out_len, len);
		assert_memory_equal(r.out, body, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_held_release),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_random_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
