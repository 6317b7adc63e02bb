/*
 * test_pop3_parser.c - POP3 command-line parsing, message numbers, TOP
 * line counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pop3/pop3_parser.h"

#include <stdio.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

struct line_case {
	const char *line;
	size_t len;
	enum pop3_parse_result result;
	enum pop3_cmd_id id;
	size_t argc;
	const char *arg0, *arg1; /* NULL if not checked */
	const char *rest;
};

static const struct line_case line_cases[] = {
	{S("QUIT"), POP3_PARSE_OK, POP3_CMD_QUIT, 0, NULL, NULL, ""},
	{S("quit"), POP3_PARSE_OK, POP3_CMD_QUIT, 0, NULL, NULL, ""},
	{S("qUiT"), POP3_PARSE_OK, POP3_CMD_QUIT, 0, NULL, NULL, ""},
	{S("USER alice"), POP3_PARSE_OK, POP3_CMD_USER, 1, "alice", NULL, "alice"},
	{S("USER "), POP3_PARSE_OK, POP3_CMD_USER, 1, "", NULL, ""},
	{S("USER \xc3\xa9t\xc3\xa9"), POP3_PARSE_OK, POP3_CMD_USER, 1, "\xc3\xa9t\xc3\xa9", NULL,
	 "\xc3\xa9t\xc3\xa9"},
	{S("PASS secret"), POP3_PARSE_OK, POP3_CMD_PASS, 1, "secret", NULL, "secret"},
	{S("PASS a b  c "), POP3_PARSE_OK, POP3_CMD_PASS, 1, "a b  c ", NULL, "a b  c "},
	{S("PASS x\ty"), POP3_PARSE_OK, POP3_CMD_PASS, 1, "x\ty", NULL, "x\ty"},
	{S("TOP 1 10"), POP3_PARSE_OK, POP3_CMD_TOP, 2, "1", "10", "1 10"},
	{S("TOP 1 10 2"), POP3_PARSE_TOO_MANY_ARGS, POP3_CMD_TOP, 0, NULL, NULL, NULL},
	{S("LIST"), POP3_PARSE_OK, POP3_CMD_LIST, 0, NULL, NULL, ""},
	{S("LIST 3"), POP3_PARSE_OK, POP3_CMD_LIST, 1, "3", NULL, "3"},
	{S("LIST  3"), POP3_PARSE_OK, POP3_CMD_LIST, 2, "", "3", " 3"},
	{S("LIST 3 "), POP3_PARSE_OK, POP3_CMD_LIST, 2, "3", "", "3 "},
	{S("APOP bob c4c9334bac560ecc979e58001b3e22fb"), POP3_PARSE_OK, POP3_CMD_APOP, 2, "bob",
	 "c4c9334bac560ecc979e58001b3e22fb", NULL},
	{S("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), POP3_PARSE_OK, POP3_CMD_AUTH, 2, "PLAIN",
	 "AGFsaWNlAHNlY3JldA==", NULL},
	{S("AUTH"), POP3_PARSE_OK, POP3_CMD_AUTH, 0, NULL, NULL, ""},
	{S("STLS"), POP3_PARSE_OK, POP3_CMD_STLS, 0, NULL, NULL, ""},
	{S("CAPA"), POP3_PARSE_OK, POP3_CMD_CAPA, 0, NULL, NULL, ""},
	{S("UTF8"), POP3_PARSE_OK, POP3_CMD_UTF8, 0, NULL, NULL, ""},
	{S("LANG *"), POP3_PARSE_OK, POP3_CMD_LANG, 1, "*", NULL, "*"},
	{S("STAT"), POP3_PARSE_OK, POP3_CMD_STAT, 0, NULL, NULL, ""},
	{S("RETR 1"), POP3_PARSE_OK, POP3_CMD_RETR, 1, "1", NULL, "1"},
	{S("DELE 1"), POP3_PARSE_OK, POP3_CMD_DELE, 1, "1", NULL, "1"},
	{S("NOOP"), POP3_PARSE_OK, POP3_CMD_NOOP, 0, NULL, NULL, ""},
	{S("RSET"), POP3_PARSE_OK, POP3_CMD_RSET, 0, NULL, NULL, ""},
	{S("UIDL"), POP3_PARSE_OK, POP3_CMD_UIDL, 0, NULL, NULL, ""},
	{S("uidl 7"), POP3_PARSE_OK, POP3_CMD_UIDL, 1, "7", NULL, "7"},
	/* well-formed unknown keywords */
	{S("XTND"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("X2"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("ABCDEFGH"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("QUITS"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("QUI"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("TO"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 0, NULL, NULL, ""},
	{S("X a b c"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 2, "a", "b", "a b c"},
	{S("XTND a  b c d"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 2, "a", "", "a  b c d"},
	{S("UIDL 1 2 3"), POP3_PARSE_TOO_MANY_ARGS, POP3_CMD_UIDL, 0, NULL, NULL, NULL},
	/* bad keywords */
	{S("ABCDEFGHI"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S(" QUIT"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S(" "), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("QU-T"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("USER\talice"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("\xc3\x9cSER x"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("GET / HTTP/1.0"), POP3_PARSE_OK, POP3_CMD_UNKNOWN, 2, "/", "HTTP/1.0", NULL},
	{S("GET\t/"), POP3_PARSE_BAD_KEYWORD, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	/* control bytes anywhere */
	{S(""), POP3_PARSE_EMPTY, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("USER a\0b"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("\0"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("QUIT\r"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS a\nb"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS a\x7f"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS a\x1b[2J"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS \x08"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS \x0b"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS \x1f"), POP3_PARSE_BAD_CHAR, POP3_CMD_UNKNOWN, 0, NULL, NULL, NULL},
	{S("PASS \x80\xff"), POP3_PARSE_OK, POP3_CMD_PASS, 1, "\x80\xff", NULL, "\x80\xff"},
};

static void check_span(struct pop3_span sp, const char *want, const char *line, size_t len)
{
	assert_int_equal(sp.len, strlen(want));
	assert_memory_equal(sp.ptr, want, sp.len);
	/* spans point into the line, never elsewhere */
	assert_true(sp.ptr >= line && sp.ptr + sp.len <= line + len);
}

static void test_line_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		struct pop3_command cmd;
		memset(&cmd, 0xa5, sizeof(cmd));
		enum pop3_parse_result r = pop3_parse_line(c->line, c->len, &cmd);
		if (r != c->result)
			print_error("case %zu (%s): result %d\n", i, c->line, (int)r);
		assert_int_equal(r, c->result);
		if (r != POP3_PARSE_OK && r != POP3_PARSE_TOO_MANY_ARGS)
			continue;
		assert_int_equal(cmd.id, c->id);
		if (r != POP3_PARSE_OK)
			continue;
		assert_int_equal(cmd.argc, c->argc);
		if (c->arg0 != NULL)
			check_span(cmd.argv[0], c->arg0, c->line, c->len);
		if (c->arg1 != NULL)
			check_span(cmd.argv[1], c->arg1, c->line, c->len);
		if (c->rest != NULL)
			check_span(cmd.rest, c->rest, c->line, c->len);
	}
}

static void test_keyword_span(void **state)
{
	(void)state;
	struct pop3_command cmd;
	const char line[] = "rEtR 12";
	assert_int_equal(pop3_parse_line(line, 7, &cmd), POP3_PARSE_OK);
	assert_ptr_equal(cmd.keyword.ptr, line);
	assert_int_equal(cmd.keyword.len, 4);
	assert_int_equal(cmd.id, POP3_CMD_RETR);
}

/* The length is what counts, not a NUL: a line inside a larger buffer. */
static void test_not_nul_terminated(void **state)
{
	(void)state;
	struct pop3_command cmd;
	const char buf[] = "DELE 4XYZ";
	assert_int_equal(pop3_parse_line(buf, 6, &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.id, POP3_CMD_DELE);
	assert_int_equal(cmd.argc, 1);
	assert_int_equal(cmd.argv[0].len, 1);
	assert_int_equal(cmd.rest.len, 1);
	/* keyword cut by the length */
	assert_int_equal(pop3_parse_line(buf, 3, &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.id, POP3_CMD_UNKNOWN);
}

static void test_long_line(void **state)
{
	(void)state;
	static char line[POP3_MAX_LINE];
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	struct pop3_command cmd;
	assert_int_equal(pop3_parse_line(line, sizeof(line), &cmd), POP3_PARSE_OK);
	assert_int_equal(cmd.rest.len, sizeof(line) - 5);
}

struct num_case {
	const char *arg;
	size_t count;
	bool ok;
	size_t index;
};

static void test_msgnum(void **state)
{
	(void)state;
	static const struct num_case cases[] = {
		{"1", 1, true, 0},
		{"1", 0, false, 0},
		{"0", 5, false, 0},
		{"5", 5, true, 4},
		{"6", 5, false, 0},
		{"01", 5, true, 0},
		{"0005", 5, true, 4},
		{"000", 5, false, 0},
		{"+1", 5, false, 0},
		{"-1", 5, false, 0},
		{" 1", 5, false, 0},
		{"1 ", 5, false, 0},
		{"1a", 5, false, 0},
		{"0x1", 5, false, 0},
		{"", 5, false, 0},
		/* a count below 10 must still refuse larger single digits */
		{"7", 3, false, 0},
		{"9", 0, false, 0},
		{"3", 3, true, 2},
		{"18446744073709551615", SIZE_MAX, true, SIZE_MAX - 1},
		{"18446744073709551616", SIZE_MAX, false, 0},
		{"99999999999999999999999", SIZE_MAX, false, 0},
		{"4294967297", 5, false, 0}, /* would wrap to 1 in 32 bits */
		{"18446744073709551617", 5, false, 0}, /* would wrap to 1 in 64 bits */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t idx = 12345;
		struct pop3_span sp = {cases[i].arg, strlen(cases[i].arg)};
		bool ok = pop3_parse_msgnum(sp, cases[i].count, &idx);
		if (ok != cases[i].ok)
			print_error("msgnum case %zu (%s)\n", i, cases[i].arg);
		assert_int_equal(ok, cases[i].ok);
		if (ok)
			assert_int_equal(idx, cases[i].index);
		else
			assert_int_equal(idx, 12345);
	}
}

static void test_linecount(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		bool ok;
		size_t n;
	} cases[] = {
		{"0", true, 0},
		{"10", true, 10},
		{"007", true, 7},
		{"18446744073709551615", true, SIZE_MAX},
		{"18446744073709551616", true, SIZE_MAX},
		{"99999999999999999999999999999999", true, SIZE_MAX},
		{"", false, 0},
		{"-1", false, 0},
		{"+1", false, 0},
		{"1x", false, 0},
		{"99999999999999999999999999x", false, 0},
		{" 1", false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 4242;
		struct pop3_span sp = {cases[i].arg, strlen(cases[i].arg)};
		bool ok = pop3_parse_linecount(sp, &n);
		assert_int_equal(ok, cases[i].ok);
		assert_int_equal(n, ok ? cases[i].n : 4242);
	}
}

/* Every single-byte line: only letters/digits are keywords, control bytes
 * other than tab are BAD_CHAR. */
static void test_all_single_bytes(void **state)
{
	(void)state;
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		struct pop3_command cmd;
		enum pop3_parse_result r = pop3_parse_line(&c, 1, &cmd);
		bool alnum = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
			     (b >= '0' && b <= '9');
		bool ctl = (b < 0x20 && b != '\t') || b == 0x7f;
		if (alnum)
			assert_int_equal(r, POP3_PARSE_OK);
		else if (ctl)
			assert_int_equal(r, POP3_PARSE_BAD_CHAR);
		else
			assert_int_equal(r, POP3_PARSE_BAD_KEYWORD);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_table),    cmocka_unit_test(test_keyword_span),
		cmocka_unit_test(test_not_nul_terminated), cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_msgnum),        cmocka_unit_test(test_linecount),
		cmocka_unit_test(test_all_single_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
