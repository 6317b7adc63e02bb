/*
 * test_pop3_output.c - the POP3 multi-line body encoder: CRLF
 * normalisation, dot-stuffing, TOP, the trailer; any chunking must give the
 * same bytes, and random inputs must match a whole-buffer reference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pop3/pop3_output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL POP3_OUTPUT_ALL_LINES
#define MAX_IN 512
#define MAX_OUT (POP3_OUTPUT_MAX(MAX_IN) + POP3_OUTPUT_TRAILER_MAX)

/* Encode in[0..len) in chunks of `chunk` bytes (0: whole) and finish. */
static size_t encode_chunked(const char *in, size_t len, size_t lines, size_t chunk, char *out)
{
	struct pop3_output po;
	size_t o = 0;
	pop3_output_init(&po, lines);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		size_t w = pop3_output_encode(&po, in + i, n, out + o);
		assert_true(w <= POP3_OUTPUT_MAX(n));
		o += w;
	}
	size_t t = pop3_output_finish(&po, out + o);
	assert_true(t <= POP3_OUTPUT_TRAILER_MAX);
	return o + t;
}

/* Encode with random chunk sizes from the caller's PRNG. */
static size_t encode_random_chunks(const char *in, size_t len, size_t lines, unsigned *seed,
				   char *out)
{
	struct pop3_output po;
	size_t o = 0, i = 0;
	pop3_output_init(&po, lines);
	while (i < len) {
		size_t n = (size_t)(rand_r(seed) % 7);
		if (n > len - i)
			n = len - i;
		o += pop3_output_encode(&po, in + i, n, out + o);
		i += n;
	}
	return o + pop3_output_finish(&po, out + o);
}

/*
 * The reference: the obvious whole-buffer reading of RFC 1939 and the
 * header. Split into lines at LF; a line's content excludes the LF and one
 * CR right before it. Stuff a leading dot, end each complete line with
 * CRLF. The header ends at the first empty complete line; TOP stops after
 * n more complete lines. A last incomplete line is ended with CRLF, or
 * with just LF if it ends in a CR (the CR is completed).
 */
static size_t reference(const char *in, size_t len, size_t lines, char *out)
{
	size_t o = 0, pos = 0, body_seen = 0;
	bool in_header = true, stopped = false;
	while (pos < len && !stopped) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - in) : len;
		size_t clen = end - pos;
		if (lf != NULL && clen > 0 && in[end - 1] == '\r')
			clen--;
		if (clen > 0 && in[pos] == '.')
			out[o++] = '.';
		memcpy(out + o, in + pos, clen);
		o += clen;
		if (lf == NULL) {
			/* incomplete last line */
			if (in[len - 1] == '\r')
				out[o++] = '\n';
			else {
				out[o++] = '\r';
				out[o++] = '\n';
			}
			break;
		}
		out[o++] = '\r';
		out[o++] = '\n';
		pos = end + 1;
		if (in_header) {
			if (clen == 0) {
				in_header = false;
				stopped = lines == 0;
			}
		} else if (lines != ALL && ++body_seen == lines) {
			stopped = true;
		}
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

struct out_case {
	const char *in;
	size_t in_len;
	size_t lines;
	const char *want;
	size_t want_len;
};

/* Literal lengths, so that cases may contain NUL bytes. */
#define C(in, lines, want) {in, sizeof(in) - 1, lines, want, sizeof(want) - 1}

static const struct out_case out_cases[] = {
	C("", ALL, ".\r\n"),
	C("a", ALL, "a\r\n.\r\n"),
	C("a\r\n", ALL, "a\r\n.\r\n"),
	C("a\n", ALL, "a\r\n.\r\n"),
	C("a\nb\n", ALL, "a\r\nb\r\n.\r\n"),
	C("a\r\nb", ALL, "a\r\nb\r\n.\r\n"),
	/* stuffing only at line starts */
	C(".", ALL, "..\r\n.\r\n"),
	C(".\r\n", ALL, "..\r\n.\r\n"),
	C("..\n", ALL, "...\r\n.\r\n"),
	C("a.b\n.c\n", ALL, "a.b\r\n..c\r\n.\r\n"),
	C("x\n.\n", ALL, "x\r\n..\r\n.\r\n"),
	/* lone CR: passed through, never a line end, never a line start */
	C("a\rb\n", ALL, "a\rb\r\n.\r\n"),
	C("a\r.b\n", ALL, "a\r.b\r\n.\r\n"),
	C("\r.\r\n", ALL, "\r.\r\n.\r\n"),
	C("a\r", ALL, "a\r\n.\r\n"),
	C("\r", ALL, "\r\n.\r\n"),
	C("a\r\r\n", ALL, "a\r\r\n.\r\n"),
	C("\n\n", ALL, "\r\n\r\n.\r\n"),
	/* TOP */
	C("H: 1\r\n\r\nb1\r\nb2\r\n", 0, "H: 1\r\n\r\n.\r\n"),
	C("H: 1\r\n\r\nb1\r\nb2\r\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n"),
	C("H: 1\r\n\r\nb1\r\nb2\r\n", 2, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"),
	C("H: 1\r\n\r\nb1\r\nb2\r\n", 3, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"),
	C("H: 1\r\n\r\nb1\r\nb2", 5, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"),
	C("H: 1\n\nb1\nb2\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n"),
	C("H: 1\n\n.b1\nb2\n", 1, "H: 1\r\n\r\n..b1\r\n.\r\n"),
	C("H: 1\n\r\nb1\n", 0, "H: 1\r\n\r\n.\r\n"),
	/* "\r\r\n" is not an empty line: still header */
	C("H: 1\n\r\r\nb1\n\nb2\n", 0, "H: 1\r\n\r\r\nb1\r\n\r\n.\r\n"),
	C("H: 1\n\r\r\nb1\n\nb2\n", 1, "H: 1\r\n\r\r\nb1\r\n\r\nb2\r\n.\r\n"),
	/* no blank line at all: the whole message is header */
	C("H: 1\r\nH: 2\r\n", 0, "H: 1\r\nH: 2\r\n.\r\n"),
	C("H: 1\r\nH: 2", 0, "H: 1\r\nH: 2\r\n.\r\n"),
	/* empty header: the message starts with the blank line */
	C("\r\nbody\r\n", 0, "\r\n.\r\n"),
	C("\nbody\n", 1, "\r\nbody\r\n.\r\n"),
	/* empty body lines count as lines */
	C("H\n\n\n\nx\n", 2, "H\r\n\r\n\r\n\r\n.\r\n"),
	C("H\n\n\n\nx\n", 3, "H\r\n\r\n\r\n\r\nx\r\n.\r\n"),
	/* TOP's line count ignores lone CRs */
	C("H\n\na\rb\nc\n", 1, "H\r\n\r\na\rb\r\n.\r\n"),
	C("\0a\n", ALL, "\0a\r\n.\r\n"),
};

static void test_cases(void **state)
{
	(void)state;
	char out[MAX_OUT], ref[MAX_OUT];
	for (size_t i = 0; i < sizeof(out_cases) / sizeof(out_cases[0]); i++) {
		const struct out_case *c = &out_cases[i];
		size_t len = c->in_len, wlen = c->want_len;
		for (size_t chunk = 0; chunk <= 3; chunk++) {
			size_t n = encode_chunked(c->in, len, c->lines, chunk, out);
			if (n != wlen || memcmp(out, c->want, n) != 0)
				print_error("case %zu chunk %zu\n", i, chunk);
			assert_int_equal(n, wlen);
			assert_memory_equal(out, c->want, n);
		}
		/* the reference agrees with the table too */
		size_t r = reference(c->in, len, c->lines, ref);
		assert_int_equal(r, wlen);
		assert_memory_equal(ref, c->want, r);
	}
}

static void test_done_stops_input(void **state)
{
	(void)state;
	struct pop3_output po;
	char out[64];
	pop3_output_init(&po, 1);
	const char msg[] = "S: x\r\n\r\nline1\r\nline2\r\n";
	size_t n = pop3_output_encode(&po, msg, 12, out); /* up to "li" */
	assert_false(po.done);
	n += pop3_output_encode(&po, msg + 12, sizeof(msg) - 1 - 12, out + n);
	assert_true(po.done);
	assert_int_equal(n, strlen("S: x\r\n\r\nline1\r\n"));
	/* further input is ignored */
	assert_int_equal(pop3_output_encode(&po, "more\n", 5, out + n), 0);
	n += pop3_output_finish(&po, out + n);
	assert_int_equal(n, strlen("S: x\r\n\r\nline1\r\n.\r\n"));
	assert_memory_equal(out, "S: x\r\n\r\nline1\r\n.\r\n", n);
}

/* TOP 0 on a message whose blank line is split from its CR. */
static void test_top0_split_cr(void **state)
{
	(void)state;
	struct pop3_output po;
	char out[64];
	pop3_output_init(&po, 0);
	size_t n = pop3_output_encode(&po, "A: b\r\n\r", 7, out);
	assert_false(po.done);
	n += pop3_output_encode(&po, "\nbody", 5, out + n);
	assert_true(po.done);
	n += pop3_output_finish(&po, out + n);
	assert_int_equal(n, 11);
	assert_memory_equal(out, "A: b\r\n\r\n.\r\n", n);
}

/* Worst cases for the output bound: all LF, all dots after LFs. */
static void test_worst_case_size(void **state)
{
	(void)state;
	char in[MAX_IN], out[MAX_OUT];
	memset(in, '\n', sizeof(in));
	assert_int_equal(encode_chunked(in, sizeof(in), ALL, 0, out), 2 * MAX_IN + 3);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = i % 2 ? '\n' : '.';
	/* ".\n" -> "..\r\n": the bound is reached exactly */
	assert_int_equal(encode_chunked(in, sizeof(in), ALL, 0, out), 2 * MAX_IN + 3);
}

static void random_input(unsigned *seed, char *buf, size_t len)
{
	static const char alphabet[] = {'.', '\r', '\n', 'a'};
	for (size_t i = 0; i < len; i++)
		buf[i] = alphabet[rand_r(seed) % 4];
}

/* Random inputs over {'.', CR, LF, 'a'}: whole, byte-at-a-time and random
 * chunks all equal the reference, for RETR and several TOP counts. */
static void test_random_vs_reference(void **state)
{
	(void)state;
	static const size_t tops[] = {ALL, 0, 1, 2, 5};
	unsigned seed = 20240607;
	char in[64], ref[MAX_OUT], a[MAX_OUT], b[MAX_OUT], c[MAX_OUT];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(in));
		size_t lines = tops[rand_r(&seed) % 5];
		random_input(&seed, in, len);
		size_t r = reference(in, len, lines, ref);
		size_t na = encode_chunked(in, len, lines, 0, a);
		size_t nb = encode_chunked(in, len, lines, 1, b);
		size_t nc = encode_random_chunks(in, len, lines, &seed, c);
		if (na != r || memcmp(a, ref, r) != 0)
			print_error("iteration %d differs from the reference\n", iter);
		assert_int_equal(na, r);
		assert_memory_equal(a, ref, r);
		assert_int_equal(nb, r);
		assert_memory_equal(b, ref, r);
		assert_int_equal(nc, r);
		assert_memory_equal(c, ref, r);
	}
}

/* The output is valid POP3: no line is "." before the end, every CR...LF
 * pair is a line end, and it ends with CRLF ".\r\n". */
static void test_random_output_wellformed(void **state)
{
	(void)state;
	unsigned seed = 7;
	char in[128], out[POP3_OUTPUT_MAX(128) + POP3_OUTPUT_TRAILER_MAX];
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(in));
		random_input(&seed, in, len);
		size_t n = encode_chunked(in, len, ALL, 1, out);
		assert_true(n >= 3);
		assert_memory_equal(out + n - 3, ".\r\n", 3);
		assert_true(n == 3 || (out[n - 5] == '\r' && out[n - 4] == '\n'));
		for (size_t i = 0; i + 3 < n; i++) {
			bool line_start = i == 0 || (out[i - 1] == '\n');
			/* no "." line, and no bare LF, before the trailer */
			assert_false(line_start && out[i] == '.' && out[i + 1] == '\r' &&
				     out[i + 2] == '\n');
			if (out[i] == '\n')
				assert_true(i > 0 && out[i - 1] == '\r');
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_done_stops_input),
		cmocka_unit_test(test_top0_split_cr),
		cmocka_unit_test(test_worst_case_size),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_random_output_wellformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
