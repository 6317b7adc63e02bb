/*
 * fuzz_pop3.c - libFuzzer harness for the pure POP3 code: pop3_parse_line
 * and the number parsers on every line of the input, and pop3_output over
 * the whole input, whole versus chunked (the encoder must not depend on
 * chunk boundaries), checking that the output is well-formed POP3.
 */
#include "pop3/pop3_output.h"
#include "pop3/pop3_parser.h"

#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool span_inside(struct pop3_span sp, const char *line, size_t len)
{
	return sp.ptr >= line && sp.len <= len && sp.ptr + sp.len <= line + len;
}

static void fuzz_line(const char *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_parse_result r = pop3_parse_line(line, len, &cmd);
	if (r != POP3_PARSE_OK)
		return;
	CHECK(cmd.argc <= POP3_MAX_ARGS);
	CHECK(cmd.keyword.len >= 1 && cmd.keyword.len <= 8 && cmd.keyword.ptr == line);
	CHECK(span_inside(cmd.rest, line, len));
	for (size_t i = 0; i < cmd.argc; i++) {
		size_t idx, lines;
		CHECK(span_inside(cmd.argv[i], line, len));
		if (pop3_parse_msgnum(cmd.argv[i], len, &idx))
			CHECK(idx < len);
		if (pop3_parse_msgnum(cmd.argv[i], SIZE_MAX, &idx))
			CHECK(idx < SIZE_MAX);
		(void)pop3_parse_linecount(cmd.argv[i], &lines);
	}
}

static void fuzz_lines(const char *in, size_t size)
{
	size_t pos = 0;
	while (pos < size) {
		const char *lf = memchr(in + pos, '\n', size - pos);
		size_t end = lf != NULL ? (size_t)(lf - in) : size;
		size_t len = end - pos;
		if (len > 0 && in[end - 1] == '\r')
			len--;
		fuzz_line(in + pos, len);
		pos = end + 1;
	}
}

/* Encode in[0..size) split at the given offsets (ascending), then finish. */
static size_t encode_split(const char *in, size_t size, size_t lines, const size_t *cuts,
			   size_t ncuts, char *out)
{
	struct pop3_output po;
	size_t o = 0, prev = 0;
	pop3_output_init(&po, lines);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t cut = k < ncuts ? cuts[k] : size;
		size_t w = pop3_output_encode(&po, in + prev, cut - prev, out + o);
		CHECK(w <= POP3_OUTPUT_MAX(cut - prev));
		o += w;
		prev = cut;
	}
	size_t t = pop3_output_finish(&po, out + o);
	CHECK(t <= POP3_OUTPUT_TRAILER_MAX);
	return o + t;
}

/* RFC 1939 3: CRLF lines, a line starting with "." is stuffed, and the
 * response ends with CRLF ".\r\n" (or is just ".\r\n"). */
static void check_wellformed(const char *out, size_t n)
{
	CHECK(n >= 3 && memcmp(out + n - 3, ".\r\n", 3) == 0);
	CHECK(n == 3 || (out[n - 5] == '\r' && out[n - 4] == '\n'));
	for (size_t i = 0; i + 3 < n; i++) {
		if (out[i] == '\n')
			CHECK(i > 0 && out[i - 1] == '\r');
		bool line_start = i == 0 || out[i - 1] == '\n';
		if (line_start && out[i] == '.')
			CHECK(out[i + 1] == '.');
	}
}

static void fuzz_output(const char *in, size_t size)
{
	size_t lines = POP3_OUTPUT_ALL_LINES;
	if (size > 0 && (unsigned char)in[0] < 0xc0)
		lines = (unsigned char)in[0] % 8;
	size_t cap = POP3_OUTPUT_MAX(size) + POP3_OUTPUT_TRAILER_MAX;
	char *whole = malloc(cap), *split = malloc(cap);
	CHECK(whole != NULL && split != NULL);

	size_t nw = encode_split(in, size, lines, NULL, 0, whole);
	check_wellformed(whole, nw);

	size_t cut = 0;
	if (size >= 2)
		cut = ((size_t)(unsigned char)in[1] * 257 + (unsigned char)in[size - 1]) % (size + 1);
	size_t ns = encode_split(in, size, lines, &cut, 1, split);
	CHECK(ns == nw && memcmp(whole, split, nw) == 0);

	if (size <= 1024) {
		size_t cuts[1024];
		for (size_t i = 0; i < size; i++)
			cuts[i] = i;
		ns = encode_split(in, size, lines, cuts, size, split);
		CHECK(ns == nw && memcmp(whole, split, nw) == 0);
	}
	free(whole);
	free(split);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	fuzz_lines(in, size);
	fuzz_output(in, size);
	return 0;
}
