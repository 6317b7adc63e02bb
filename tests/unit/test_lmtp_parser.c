/*
 * test_lmtp_parser.c - LMTP verbs, MAIL FROM / RCPT TO paths and
 * parameters, BDAT arguments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lmtp/lmtp_parser.h"

#include <stdio.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

struct cmd_case {
	const char *line;
	size_t len;
	bool ok;
	enum lmtp_cmd_id id;
	const char *arg;
};

static const struct cmd_case cmd_cases[] = {
	{S("LHLO mx.example.com"), true, LMTP_CMD_LHLO, "mx.example.com"},
	{S("lhlo x"), true, LMTP_CMD_LHLO, "x"},
	{S("HELO x"), true, LMTP_CMD_HELO, "x"},
	{S("EhLo x"), true, LMTP_CMD_EHLO, "x"},
	{S("MAIL FROM:<a@b>"), true, LMTP_CMD_MAIL, "FROM:<a@b>"},
	{S("mail from:<>"), true, LMTP_CMD_MAIL, "from:<>"},
	{S("MAIL   FROM: <a@b>"), true, LMTP_CMD_MAIL, "FROM: <a@b>"},
	{S("RCPT TO:<a@b> NOTIFY=NEVER"), true, LMTP_CMD_RCPT, "TO:<a@b> NOTIFY=NEVER"},
	{S("DATA"), true, LMTP_CMD_DATA, ""},
	{S("DATA   "), true, LMTP_CMD_DATA, ""},
	{S("BDAT 10 LAST"), true, LMTP_CMD_BDAT, "10 LAST"},
	{S("RSET"), true, LMTP_CMD_RSET, ""},
	{S("NOOP"), true, LMTP_CMD_NOOP, ""},
	{S("noop hello"), true, LMTP_CMD_NOOP, "hello"},
	{S("QUIT"), true, LMTP_CMD_QUIT, ""},
	{S("VRFY alice"), true, LMTP_CMD_VRFY, "alice"},
	{S("HELP"), true, LMTP_CMD_HELP, ""},
	{S("STARTTLS"), true, LMTP_CMD_UNKNOWN, ""},
	{S("MAILX FROM:<a@b>"), true, LMTP_CMD_UNKNOWN, "FROM:<a@b>"},
	{S("MAI"), true, LMTP_CMD_UNKNOWN, ""},
	{S("DAT"), true, LMTP_CMD_UNKNOWN, ""},
	{S("NOOP\tx"), true, LMTP_CMD_UNKNOWN, ""},
	{S("   "), true, LMTP_CMD_UNKNOWN, ""},
	{S("\xc3\x9f\xc3\x9f"), true, LMTP_CMD_UNKNOWN, ""},
	{S(""), false, LMTP_CMD_UNKNOWN, NULL},
	{S("DATA\r"), false, LMTP_CMD_UNKNOWN, NULL},
	{S("QUIT\n"), false, LMTP_CMD_UNKNOWN, NULL},
	{S("MAIL FROM:<a\0b@c>"), false, LMTP_CMD_UNKNOWN, NULL},
	{S("NOOP \x7f"), false, LMTP_CMD_UNKNOWN, NULL},
	{S("NOOP \x1b"), false, LMTP_CMD_UNKNOWN, NULL},
};

static void test_commands(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		struct lmtp_command cmd;
		bool ok = lmtp_parse_command(c->line, c->len, &cmd);
		if (ok != c->ok)
			print_error("command case %zu\n", i);
		assert_int_equal(ok, c->ok);
		if (!ok)
			continue;
		assert_int_equal(cmd.id, c->id);
		if (c->id == LMTP_CMD_UNKNOWN && c->arg[0] == '\0')
			continue;
		assert_int_equal(cmd.arg_len, strlen(c->arg));
		assert_memory_equal(cmd.arg, c->arg, cmd.arg_len);
		assert_true(cmd.arg >= c->line && cmd.arg + cmd.arg_len <= c->line + c->len);
	}
}

/* A why string must fit after "501 5.5.4 ": short, printable, one line. */
static void check_why(const char *why)
{
	assert_non_null(why);
	size_t n = strlen(why);
	assert_true(n > 0 && n < 60);
	for (size_t i = 0; i < n; i++)
		assert_true(why[i] >= 0x20 && why[i] < 0x7f);
}

struct mail_case {
	const char *arg;
	size_t len;
	const char *path; /* NULL: must fail */
	const char *why;  /* expected why on failure (NULL: not checked) */
	uint64_t size;
	bool has_size;
	enum lmtp_body_type body;
	bool smtputf8;
};

#define OK(arg, path) {S(arg), path, NULL, 0, false, LMTP_BODY_7BIT, false}
#define BAD(arg, why) {S(arg), NULL, why, 0, false, LMTP_BODY_7BIT, false}

static const struct mail_case mail_cases[] = {
	OK("FROM:<alice@example.com>", "alice@example.com"),
	OK("from:<alice@example.com>", "alice@example.com"),
	OK("From: <alice@example.com>", "alice@example.com"),
	OK("FROM:   <alice@example.com>", "alice@example.com"),
	OK("FROM:<>", ""),
	OK("FROM:<MAILER-DAEMON>", "MAILER-DAEMON"),
	OK("FROM:<Alice.Smith+tag@Example.COM>", "Alice.Smith+tag@Example.COM"),
	OK("FROM:<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~@x"),
	OK("FROM:<a..b@docomo.ne.jp>", "a..b@docomo.ne.jp"),
	OK("FROM:<a.@docomo.ne.jp>", "a.@docomo.ne.jp"),
	/* source routes are dropped */
	OK("FROM:<@a.example,@b.example:user@c.example>", "user@c.example"),
	OK("FROM:<@a.example:user@c.example>", "user@c.example"),
	/* quoted local parts: quotes only where needed */
	OK("FROM:<\"ab\"@x>", "ab@x"),
	OK("FROM:<\"a.b\"@x>", "a.b@x"),
	OK("FROM:<\"a b\"@x>", "\"a b\"@x"),
	OK("FROM:<\"a\\ b\"@x>", "\"a b\"@x"),
	OK("FROM:<\"\\a\\b\"@x>", "ab@x"),
	OK("FROM:<\"a\\\"b\"@x>", "\"a\\\"b\"@x"),
	OK("FROM:<\"a\\\\b\"@x>", "\"a\\\\b\"@x"),
	OK("FROM:<\"a>b\"@x>", "\"a>b\"@x"),
	OK("FROM:<\"a@b\"@x>", "\"a@b\"@x"),
	OK("FROM:<\"a,b:c\"@x>", "\"a,b:c\"@x"),
	/* domains */
	OK("FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]"),
	OK("FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]"),
	OK("FROM:<a@x-y.example>", "a@x-y.example"),
	OK("FROM:<a@1.2.3.4>", "a@1.2.3.4"),
	/* UTF-8 (RFC 6531) */
	OK("FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>",
	   "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a"),
	OK("FROM:<\xf0\x9f\x93\xa7@x>", "\xf0\x9f\x93\xa7@x"),
	OK("FROM:<\"\xc3\xa9 \xc3\xa9\"@x>", "\"\xc3\xa9 \xc3\xa9\"@x"),
	OK("FROM:<\"\xc3\xa9\"@x>", "\xc3\xa9@x"),
	OK("FROM:<a@b>  ", "a@b"),
	/* refused paths */
	BAD("FROM:alice@example.com", "Address must be in angle brackets"),
	BAD("FROM:<alice@example.com", "Address must be in angle brackets"),
	BAD("FROM:<alice", "Address must be in angle brackets"),
	BAD("FROM:<", "Address must be in angle brackets"),
	BAD("FROM:", "Syntax: MAIL FROM:<address>"),
	BAD("FROM:   ", "Syntax: MAIL FROM:<address>"),
	BAD("FROM", "Syntax: MAIL FROM:<address>"),
	BAD("", "Syntax: MAIL FROM:<address>"),
	BAD("FROM :<a@b>", "Syntax: MAIL FROM:<address>"),
	BAD("TO:<a@b>", "Syntax: MAIL FROM:<address>"),
	BAD("FROM:<a b@x>", "Invalid local part"),
	BAD("FROM:<a\"b@x>", "Invalid local part"),
	BAD("FROM:<a(b)@x>", "Invalid local part"),
	BAD("FROM:<a\\b@x>", "Invalid local part"),
	BAD("FROM:<a\tb@x>", "Invalid local part"),
	BAD("FROM:<@x>", "Invalid source route"),
	BAD("FROM:<@:a@x>", "Invalid source route"),
	BAD("FROM:<@a b:u@x>", "Invalid source route"),
	BAD("FROM:<@a,u@x>", "Invalid source route"),
	BAD("FROM:<\"\"@x>", "Invalid local part"),
	BAD("FROM:<\"a@x>", "Invalid local part"),
	BAD("FROM:<\"a\"b@x>", "Invalid local part"),
	BAD("FROM:<\"a\tb\"@x>", "Invalid local part"),
	BAD("FROM:<\"a\\\x01\"@x>", "Invalid local part"),
	BAD("FROM:<a@>", "Invalid domain"),
	BAD("FROM:<a@.x>", "Invalid domain"),
	BAD("FROM:<a@x.>", "Invalid domain"),
	BAD("FROM:<a@x..y>", "Invalid domain"),
	BAD("FROM:<a@-x>", "Invalid domain"),
	BAD("FROM:<a@x->", "Invalid domain"),
	BAD("FROM:<a@x-.y>", "Invalid domain"),
	BAD("FROM:<a@x_y>", "Invalid domain"),
	BAD("FROM:<a@x y>", "Invalid domain"),
	BAD("FROM:<a@b@c>", "Invalid domain"),
	BAD("FROM:<a@[]>", "Invalid domain"),
	BAD("FROM:<a@[1.2.3.4>", "Invalid domain"),
	BAD("FROM:<a@[a]b]>", "Invalid domain"),
	BAD("FROM:<a@\xff>", "Invalid domain"),
	BAD("FROM:<\xff@x>", "Invalid UTF-8 in address"),
	BAD("FROM:<\xc0\xaf@x>", "Invalid UTF-8 in address"),          /* overlong '/' */
	BAD("FROM:<\xe0\x80\xaf@x>", "Invalid UTF-8 in address"),      /* overlong */
	BAD("FROM:<\xed\xa0\x80@x>", "Invalid UTF-8 in address"),      /* surrogate */
	BAD("FROM:<\xf4\x90\x80\x80@x>", "Invalid UTF-8 in address"),  /* > U+10FFFF */
	BAD("FROM:<\xc3@x>", "Invalid UTF-8 in address"),              /* truncated */
	BAD("FROM:<\"\xc3\"@x>", "Invalid UTF-8 in address"),
	BAD("FROM:<\xe7\x94>", "Invalid UTF-8 in address"),
	/* parameters */
	{S("FROM:<a@b> SIZE=12345"), "a@b", NULL, 12345, true, LMTP_BODY_7BIT, false},
	{S("FROM:<a@b> size=0"), "a@b", NULL, 0, true, LMTP_BODY_7BIT, false},
	{S("FROM:<> SIZE=9223372036854775807"), "", NULL, 9223372036854775807ULL, true,
	 LMTP_BODY_7BIT, false},
	{S("FROM:<a@b> BODY=8BITMIME"), "a@b", NULL, 0, false, LMTP_BODY_8BITMIME, false},
	{S("FROM:<a@b> body=binarymime"), "a@b", NULL, 0, false, LMTP_BODY_BINARYMIME, false},
	{S("FROM:<a@b> BODY=7bit"), "a@b", NULL, 0, false, LMTP_BODY_7BIT, false},
	{S("FROM:<a@b> SMTPUTF8"), "a@b", NULL, 0, false, LMTP_BODY_7BIT, true},
	{S("FROM:<\xc3\xa9@b>  SIZE=7   BODY=8BITMIME smtputf8 "), "\xc3\xa9@b", NULL, 7, true,
	 LMTP_BODY_8BITMIME, true},
	OK("FROM:<a@b> RET=HDRS ENVID=QQ314159 AUTH=<>", "a@b"),
	OK("FROM:<a@b> AUTH=e+3Dmc2@example.com", "a@b"),
	BAD("FROM:<a@b> SIZE=9223372036854775808", "Invalid SIZE value"),
	BAD("FROM:<a@b> SIZE=18446744073709551616", "Invalid SIZE value"),
	BAD("FROM:<a@b> SIZE=-1", "Invalid SIZE value"),
	BAD("FROM:<a@b> SIZE=+1", "Invalid SIZE value"),
	BAD("FROM:<a@b> SIZE=1k", "Invalid SIZE value"),
	BAD("FROM:<a@b> SIZE", "Parameter needs a value"),
	BAD("FROM:<a@b> SIZE=", "Malformed parameter"),
	BAD("FROM:<a@b> SIZE==1", "Malformed parameter"),
	BAD("FROM:<a@b> SIZE=1 SIZE=2", "Duplicate parameter"),
	BAD("FROM:<a@b> BODY=8BIT", "Invalid BODY value"),
	BAD("FROM:<a@b> BODY=8BITMIMEX", "Invalid BODY value"),
	BAD("FROM:<a@b> BODY=7BIT BODY=7BIT", "Duplicate parameter"),
	BAD("FROM:<a@b> SMTPUTF8=yes", "SMTPUTF8 takes no value"),
	BAD("FROM:<a@b> SMTPUTF8 SMTPUTF8", "Duplicate parameter"),
	BAD("FROM:<a@b> RET", "Parameter needs a value"),
	BAD("FROM:<a@b> XFOO=1", "Unknown parameter"),
	BAD("FROM:<a@b> NOTIFY=NEVER", "Unknown parameter"),
	BAD("FROM:<a@b> X", "Unknown parameter"),
	BAD("FROM:<a@b> =x", "Malformed parameter"),
	BAD("FROM:<a@b> -X=1", "Malformed parameter"),
	BAD("FROM:<a@b> X_Y=1", "Malformed parameter"),
	BAD("FROM:<a@b> SIZE=1\t", "Malformed parameter"),
	BAD("FROM:<a@b>SIZE=1", "Syntax error after address"),
	BAD("FROM:<a@b>>", "Syntax error after address"),
	BAD("FROM:<> <a@b>", "Malformed parameter"),
};

static void test_mail_from(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		const struct mail_case *c = &mail_cases[i];
		struct lmtp_mail_from m;
		const char *why = NULL;
		memset(&m, 0x5a, sizeof(m));
		bool ok = lmtp_parse_mail_from(c->arg, c->len, &m, &why);
		if (ok != (c->path != NULL) ||
		    (!ok && c->why != NULL && why != NULL && strcmp(why, c->why) != 0))
			print_error("MAIL case %zu (%s): %s\n", i, c->arg, ok ? "ok" : why);
		assert_int_equal(ok, c->path != NULL);
		if (!ok) {
			check_why(why);
			if (c->why != NULL)
				assert_string_equal(why, c->why);
			continue;
		}
		assert_string_equal(m.path, c->path);
		assert_int_equal(m.has_size, c->has_size);
		assert_int_equal(m.size, c->size);
		assert_int_equal(m.body, c->body);
		assert_int_equal(m.smtputf8, c->smtputf8);
	}
}

struct rcpt_case {
	const char *arg;
	size_t len;
	const char *path, *local, *domain; /* path NULL: must fail */
	const char *why;
};

static const struct rcpt_case rcpt_cases[] = {
	{S("TO:<alice@example.com>"), "alice@example.com", "alice", "example.com", NULL},
	{S("to: <Alice@Example.com>"), "Alice@Example.com", "Alice", "Example.com", NULL},
	{S("TO:<Postmaster>"), "Postmaster", "Postmaster", "", NULL},
	{S("TO:<\"a b\"@x>"), "\"a b\"@x", "a b", "x", NULL},
	{S("TO:<\"a\\\"b\"@x>"), "\"a\\\"b\"@x", "a\"b", "x", NULL},
	{S("TO:<\"bob\"@x>"), "bob@x", "bob", "x", NULL},
	{S("TO:<@relay.example:bob@x>"), "bob@x", "bob", "x", NULL},
	{S("TO:<bob@[192.0.2.1]>"), "bob@[192.0.2.1]", "bob", "[192.0.2.1]", NULL},
	{S("TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b"), "a@b", "a", "b", NULL},
	{S("TO:<\xc3\xa9@\xc3\xa9.x>"), "\xc3\xa9@\xc3\xa9.x", "\xc3\xa9", "\xc3\xa9.x", NULL},
	{S("TO:<>"), NULL, NULL, NULL, "Null address not allowed here"},
	{S("TO:<> NOTIFY=NEVER"), NULL, NULL, NULL, "Null address not allowed here"},
	{S("TO:<a@b> SIZE=1"), NULL, NULL, NULL, "Unknown parameter"},
	{S("TO:<a@b> SMTPUTF8"), NULL, NULL, NULL, "Unknown parameter"},
	{S("TO:<a@b> NOTIFY"), NULL, NULL, NULL, "Parameter needs a value"},
	{S("TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER"), NULL, NULL, NULL, "Duplicate parameter"},
	{S("TO:a@b"), NULL, NULL, NULL, "Address must be in angle brackets"},
	{S("FROM:<a@b>"), NULL, NULL, NULL, "Syntax: RCPT TO:<address>"},
	{S("TO:"), NULL, NULL, NULL, "Syntax: RCPT TO:<address>"},
	{S("TO:<a@b"), NULL, NULL, NULL, "Address must be in angle brackets"},
	{S("TO:<a/b@"), NULL, NULL, NULL, "Invalid domain"},
};

static void test_rcpt_to(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		const struct rcpt_case *c = &rcpt_cases[i];
		struct lmtp_rcpt_to r;
		const char *why = NULL;
		bool ok = lmtp_parse_rcpt_to(c->arg, c->len, &r, &why);
		if (ok != (c->path != NULL))
			print_error("RCPT case %zu (%s): %s\n", i, c->arg, ok ? "ok" : why);
		assert_int_equal(ok, c->path != NULL);
		if (!ok) {
			check_why(why);
			assert_string_equal(why, c->why);
			continue;
		}
		assert_string_equal(r.path, c->path);
		assert_string_equal(r.local, c->local);
		assert_string_equal(r.domain, c->domain);
	}
}

/* RFC 5321 4.5.3.1.3: 256 octets including the brackets, exactly. */
static void test_path_length(void **state)
{
	(void)state;
	char arg[600], want[LMTP_MAX_PATH + 1];
	struct lmtp_rcpt_to r;
	struct lmtp_mail_from m;
	const char *why;

	/* "TO:<" + local + "@x>": the path is local + 4 octets */
	for (size_t local = LMTP_MAX_PATH - 8; local <= LMTP_MAX_PATH + 8; local++) {
		size_t n = (size_t)snprintf(arg, sizeof(arg), "TO:<");
		memset(arg + n, 'a', local);
		n += local;
		n += (size_t)snprintf(arg + n, sizeof(arg) - n, "@x>");
		bool ok = lmtp_parse_rcpt_to(arg, n, &r, &why);
		assert_int_equal(ok, local + 4 <= LMTP_MAX_PATH);
		if (!ok) {
			assert_string_equal(why, "Address too long");
			continue;
		}
		assert_int_equal(strlen(r.path), local + 2);
		assert_int_equal(strlen(r.local), local);
	}

	/* the longest quoted local part, all escapes: "<\"" 125 x "\\\"" "\"@x>" */
	size_t n = (size_t)snprintf(arg, sizeof(arg), "FROM:<\"");
	size_t w = (size_t)snprintf(want, sizeof(want), "\"");
	for (int i = 0; i < 125; i++) {
		memcpy(arg + n, "\\\"", 2);
		memcpy(want + w, "\\\"", 2);
		n += 2;
		w += 2;
	}
	n += (size_t)snprintf(arg + n, sizeof(arg) - n, "\"@x>");
	snprintf(want + w, sizeof(want) - w, "\"@x");
	assert_int_equal(n - 5, LMTP_MAX_PATH);
	assert_true(lmtp_parse_mail_from(arg, n, &m, &why));
	assert_string_equal(m.path, want);
	/* one more escape is too long, with or without a closing bracket */
	memmove(arg + 7 + 2, arg + 7, n - 7);
	n += 2;
	assert_false(lmtp_parse_mail_from(arg, n, &m, &why));
	assert_string_equal(why, "Address too long");
	assert_false(lmtp_parse_mail_from(arg, n - 1, &m, &why));
	assert_string_equal(why, "Address too long");

	/* a long source route counts too */
	n = (size_t)snprintf(arg, sizeof(arg), "TO:<@");
	memset(arg + n, 'r', 250);
	n += 250;
	n += (size_t)snprintf(arg + n, sizeof(arg) - n, ":a@b>");
	assert_false(lmtp_parse_rcpt_to(arg, n, &r, &why));
	assert_string_equal(why, "Address too long");
}

/* Input is (ptr, len): bytes after len are never looked at. */
static void test_not_nul_terminated(void **state)
{
	(void)state;
	struct lmtp_mail_from m;
	struct lmtp_rcpt_to r;
	const char *why;
	const char buf[] = "FROM:<a@b> SIZE=12XYZ";
	assert_true(lmtp_parse_mail_from(buf, 18, &m, &why));
	assert_int_equal(m.size, 12);
	assert_false(lmtp_parse_mail_from(buf, 9, &m, &why));
	const char rbuf[] = "TO:<bob@example.com>>>";
	assert_true(lmtp_parse_rcpt_to(rbuf, 20, &r, &why));
	assert_string_equal(r.path, "bob@example.com");
}

static void test_bdat(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		bool ok;
		uint64_t size;
		bool last;
	} cases[] = {
		{"100", true, 100, false},
		{"100 LAST", true, 100, true},
		{"0 LAST", true, 0, true},
		{"0", true, 0, false},
		{"100 last", true, 100, true},
		{"100  LAST ", true, 100, true},
		{"007", true, 7, false},
		{"9223372036854775807", true, 9223372036854775807ULL, false},
		{"9223372036854775808", false, 0, false},
		{"", false, 0, false},
		{" ", false, 0, false},
		{"LAST", false, 0, false},
		{"100 LAS", false, 0, false},
		{"100 LASTX", false, 0, false},
		{"100 LAST x", false, 0, false},
		{"-1", false, 0, false},
		{"+1", false, 0, false},
		{"1e3", false, 0, false},
		{"100\tLAST", false, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t size = 99;
		bool last = false;
		bool ok = lmtp_parse_bdat(cases[i].arg, strlen(cases[i].arg), &size, &last);
		if (ok != cases[i].ok)
			print_error("BDAT case %zu (%s)\n", i, cases[i].arg);
		assert_int_equal(ok, cases[i].ok);
		if (ok) {
			assert_int_equal(size, cases[i].size);
			assert_int_equal(last, cases[i].last);
		}
	}
}

/* Every single byte as a local part: exactly atext, '.' are plain. */
static void test_local_part_bytes(void **state)
{
	(void)state;
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~.";
	for (int b = 1; b < 256; b++) {
		char arg[16];
		int n = snprintf(arg, sizeof(arg), "TO:<%c@x>", b);
		struct lmtp_rcpt_to r;
		const char *why;
		bool ok = lmtp_parse_rcpt_to(arg, (size_t)n, &r, &why);
		bool alnum = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
			     (b >= '0' && b <= '9');
		bool want = alnum || (b < 0x80 && strchr(atext, b) != NULL);
		if (ok != want)
			print_error("byte 0x%02x\n", b);
		assert_int_equal(ok, want);
		if (!ok)
			check_why(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),      cmocka_unit_test(test_mail_from),
		cmocka_unit_test(test_rcpt_to),       cmocka_unit_test(test_path_length),
		cmocka_unit_test(test_not_nul_terminated), cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_local_part_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
