/*
 * fuzz_lmtp.c - libFuzzer harness for the pure LMTP code: every line of
 * the input through lmtp_parse_command and the MAIL/RCPT/BDAT argument
 * parsers (a parsed path must re-parse to itself), and the whole input
 * through the DATA decoder, whole versus chunked.
 */
#include "lmtp/lmtp_data.h"
#include "lmtp/lmtp_parser.h"

#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(const char *why)
{
	CHECK(why != NULL);
	size_t n = strnlen(why, 100);
	CHECK(n > 0 && n < 100);
	for (size_t i = 0; i < n; i++)
		CHECK(why[i] >= 0x20 && why[i] < 0x7f);
}

static void check_field(const char *s)
{
	size_t n = strnlen(s, LMTP_MAX_PATH + 1);
	CHECK(n <= LMTP_MAX_PATH);
}

/* The canonical path is a fixed point: "TO:<path>" parses to itself. */
static void check_reparse(const char *path, const struct lmtp_rcpt_to *want)
{
	char arg[LMTP_MAX_PATH + 8];
	struct lmtp_rcpt_to again;
	const char *why;
	int n = snprintf(arg, sizeof(arg), "TO:<%s>", path);
	CHECK(n > 0 && (size_t)n < sizeof(arg));
	CHECK(lmtp_parse_rcpt_to(arg, (size_t)n, &again, &why));
	CHECK(strcmp(again.path, path) == 0);
	if (want != NULL) {
		CHECK(strcmp(again.local, want->local) == 0);
		CHECK(strcmp(again.domain, want->domain) == 0);
	}
}

static void fuzz_mail(const char *arg, size_t len)
{
	struct lmtp_mail_from m;
	const char *why = NULL;
	if (!lmtp_parse_mail_from(arg, len, &m, &why)) {
		check_why(why);
		return;
	}
	check_field(m.path);
	CHECK(!m.has_size || m.size <= UINT64_MAX / 2);
	if (m.path[0] != '\0')
		check_reparse(m.path, NULL);
}

static void fuzz_rcpt(const char *arg, size_t len)
{
	struct lmtp_rcpt_to r;
	const char *why = NULL;
	if (!lmtp_parse_rcpt_to(arg, len, &r, &why)) {
		check_why(why);
		return;
	}
	check_field(r.path);
	check_field(r.local);
	check_field(r.domain);
	CHECK(r.path[0] != '\0' && r.local[0] != '\0');
	check_reparse(r.path, &r);
}

static void fuzz_line(const char *line, size_t len)
{
	struct lmtp_command cmd;
	uint64_t size;
	bool last;
	/* the argument parsers must cope with anything, not only with what
	 * lmtp_parse_command lets through */
	fuzz_mail(line, len);
	fuzz_rcpt(line, len);
	(void)lmtp_parse_bdat(line, len, &size, &last);
	if (!lmtp_parse_command(line, len, &cmd))
		return;
	CHECK(cmd.arg >= line && cmd.arg_len <= len && cmd.arg + cmd.arg_len == line + len);
	if (cmd.id == LMTP_CMD_MAIL)
		fuzz_mail(cmd.arg, cmd.arg_len);
	else if (cmd.id == LMTP_CMD_RCPT)
		fuzz_rcpt(cmd.arg, cmd.arg_len);
	else if (cmd.id == LMTP_CMD_BDAT && lmtp_parse_bdat(cmd.arg, cmd.arg_len, &size, &last))
		CHECK(size <= UINT64_MAX / 2);
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

struct decoded {
	enum lmtp_data_status status;
	size_t out_len, consumed;
};

/* Feed in[0..size) in chunks of `step` bytes (0: whole), stopping at the
 * end of the data. */
static struct decoded decode(const char *in, size_t size, size_t step, char *out)
{
	struct lmtp_data d;
	struct decoded r = {LMTP_DATA_MORE, 0, 0};
	lmtp_data_init(&d);
	if (step == 0)
		step = size > 0 ? size : 1;
	do {
		size_t n = size - r.consumed < step ? size - r.consumed : step;
		size_t o, c;
		r.status = lmtp_data_feed(&d, in + r.consumed, n, out + r.out_len, &o, &c);
		CHECK(o <= LMTP_DATA_OUT_MAX(n) && c <= n);
		CHECK(r.status == LMTP_DATA_END || c == n);
		r.out_len += o;
		r.consumed += c;
	} while (r.status == LMTP_DATA_MORE && r.consumed < size);
	return r;
}

static void check_same(const struct decoded *a, const char *aout, const struct decoded *b,
		       const char *bout)
{
	CHECK(a->status == b->status && a->consumed == b->consumed && a->out_len == b->out_len);
	CHECK(memcmp(aout, bout, a->out_len) == 0);
}

static void fuzz_data(const char *in, size_t size)
{
	char *whole = malloc(LMTP_DATA_OUT_MAX(size)), *other = malloc(LMTP_DATA_OUT_MAX(size));
	CHECK(whole != NULL && other != NULL);
	struct decoded w = decode(in, size, 0, whole);
	CHECK(w.out_len <= w.consumed);
	if (w.status == LMTP_DATA_END) {
		/* RFC 5321 4.1.1.4: only CRLF "." CRLF (or "." CRLF at the
		 * very start) ends the data */
		CHECK(w.consumed >= 3 && memcmp(in + w.consumed - 3, ".\r\n", 3) == 0);
		CHECK(w.consumed == 3 || (w.consumed >= 5 && in[w.consumed - 5] == '\r' &&
					  in[w.consumed - 4] == '\n'));
		CHECK(w.out_len == 0 || (w.out_len >= 2 && whole[w.out_len - 2] == '\r' &&
					 whole[w.out_len - 1] == '\n'));
	} else {
		CHECK(w.consumed == size);
	}
	size_t step = size > 0 ? 1 + (unsigned char)in[0] % 13 : 1;
	struct decoded c = decode(in, size, step, other);
	check_same(&w, whole, &c, other);
	if (size <= 4096) {
		c = decode(in, size, 1, other);
		check_same(&w, whole, &c, other);
	}
	free(whole);
	free(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	fuzz_lines(in, size);
	fuzz_data(in, size);
	return 0;
}
