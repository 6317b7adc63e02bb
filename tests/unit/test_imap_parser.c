/*
 * test_imap_parser.c - the incremental IMAP command parser: the RFC 9051
 * grammar (valid and invalid commands), literals stored, streamed and
 * refused, resynchronisation after errors, every limit at its edge, line
 * mode, the argument views, and random commands written out and parsed
 * back. Every table case is fed whole, a byte at a time, in odd chunks and
 * split at every position, and must give the same transcript each time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "imap/imap_arg.h"
#include "imap/imap_parser.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S(lit) lit, sizeof(lit) - 1

/* ---- a transcript of everything the parser reports ---- */

static void dump_str(struct buf *b, const char *s, size_t len)
{
	buf_append_byte(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_appendf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_appendf(b, "\\x%02x", c);
		else
			buf_append_byte(b, (char)c);
	}
	buf_append_byte(b, '"');
}

static void dump_args(struct buf *b, const struct imap_arg *args, size_t count);

static void dump_arg(struct buf *b, const struct imap_arg *a)
{
	switch (a->type) {
	case IMAP_ARG_ATOM:
		buf_append(b, a->str, a->len);
		break;
	case IMAP_ARG_NIL:
		buf_append_str(b, "NIL");
		break;
	case IMAP_ARG_QUOTED:
		dump_str(b, a->str, a->len);
		break;
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_STREAMED:
		buf_appendf(b, "%s%s%zu%s}", a->type == IMAP_ARG_STREAMED ? "<stream>" : "",
		            a->flags & IMAP_ARG_LITERAL8 ? "~{" : "{", a->len,
		            a->flags & IMAP_ARG_NONSYNC ? "+" : "");
		if (a->type == IMAP_ARG_LITERAL)
			dump_str(b, a->str, a->len);
		break;
	case IMAP_ARG_LIST:
		buf_append_byte(b, '(');
		dump_args(b, a->list, a->count);
		buf_append_byte(b, ')');
		break;
	case IMAP_ARG_SECTION:
		buf_appendf(b, "S:%.*s[", (int)a->len, a->str);
		dump_args(b, a->list, a->count);
		buf_appendf(b, "]%.*s", (int)a->suffix_len, a->suffix);
		break;
	}
}

static void dump_args(struct buf *b, const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append_byte(b, ' ');
		dump_arg(b, &args[i]);
	}
}

static void dump_command(struct buf *b, const struct imap_command *cmd)
{
	assert_int_equal(strlen(cmd->tag), cmd->tag_len);
	assert_int_equal(strlen(cmd->name), cmd->name_len);
	buf_appendf(b, "%s %s", cmd->tag, cmd->name);
	if (cmd->argc > 0)
		buf_append_byte(b, ' ');
	dump_args(b, cmd->args, cmd->argc);
}

static const char *const code_names[] = {"SYNTAX", "LINE", "TOOBIG", "NONSYNC", "DEEP", "ARGS"};

enum policy { STORE, STREAM, STREAM_APPEND, REFUSE };

struct run_opts {
	const struct imap_parser_limits *limits; /* NULL: authenticated defaults */
	enum policy policy;
	bool quiet;           /* only C lines */
	const size_t *chunks; /* cycled; NULL: whole */
	size_t nchunks;
};

static bool want_stream(enum policy pol, struct imap_parser *p, const struct imap_literal *lit)
{
	if (pol == STREAM)
		return true;
	if (pol != STREAM_APPEND)
		return false;
	const struct imap_command *cmd = imap_parser_command(p);
	return strcasecmp(cmd->name, "APPEND") == 0 && lit->depth == 0 && lit->index >= 1;
}

/* LITERAL: log it with the partial command, then decide. */
static enum imap_parse_result on_literal(struct imap_parser *p, const struct run_opts *o,
					 struct buf *out)
{
	const struct imap_literal *lit = imap_parser_literal(p);
	if (!o->quiet) {
		buf_appendf(out, "L %llu %s%s d%u i%zu [", (unsigned long long)lit->size,
		            lit->sync ? "s" : "n", lit->literal8 ? "8" : "", lit->depth,
		            lit->index);
		dump_command(out, imap_parser_command(p));
		buf_append_str(out, "]\n");
	}
	if (o->policy == REFUSE) {
		imap_parser_literal_refuse(p);
		return IMAP_PARSE_NEED_MORE;
	}
	if (want_stream(o->policy, p, lit)) {
		imap_parser_literal_stream(p);
		assert_int_equal(imap_parser_stream_remaining(p), lit->size);
		return IMAP_PARSE_NEED_MORE;
	}
	return imap_parser_literal_store(p);
}

/* ERROR: log it; false if the run must stop. */
static bool on_error(struct imap_parser *p, struct buf *out)
{
	const struct imap_parse_error *e = imap_parser_error(p);
	buf_appendf(out, "E %s %s tag=%s", code_names[e->code], e->reason,
	            e->tag != NULL ? e->tag : "-");
	if (e->tag != NULL)
		assert_int_equal(strlen(e->tag), e->tag_len);
	if (e->discard > 0)
		buf_appendf(out, " discard=%llu", (unsigned long long)e->discard);
	if (e->fatal)
		buf_append_str(out, " fatal");
	buf_append_byte(out, '\n');
	bool ok = imap_parser_resync(p);
	assert_true(ok == !e->fatal);
	return ok;
}

/* Feed in[0..len) as a connection would: chunks arrive one by one, and
 * after every event the rest of what has arrived is fed again. */
static void run(const char *in, size_t len, const struct run_opts *o, struct buf *out)
{
	struct imap_parser_limits def;
	imap_parser_limits_default(&def, true);
	struct imap_parser *p = imap_parser_new(o->limits != NULL ? o->limits : &def);
	struct buf data;
	buf_init(&data, 0);
	size_t pos = 0, avail = 0, k = 0, guard = 0;
	bool line_next = false;
	buf_reset(out);
	for (;;) {
		assert_true(guard++ < 10 * len + 1000);
		if (avail == pos) {
			if (avail == len)
				break;
			size_t n = o->chunks != NULL ? o->chunks[k++ % o->nchunks] : len;
			avail = avail + n > len ? len : avail + n;
		}
		size_t used;
		enum imap_parse_result r =
		    line_next ? imap_parser_feed_line(p, in + pos, avail - pos, &used)
		              : imap_parser_feed(p, in + pos, avail - pos, &used);
		assert_true(used <= avail - pos);
		pos += used;
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			assert_int_equal(pos, avail);
			break;
		case IMAP_PARSE_LITERAL:
			if (on_literal(p, o, out) == IMAP_PARSE_ERROR && !on_error(p, out))
				goto done;
			break;
		case IMAP_PARSE_LITERAL_DATA:
			assert_true(used > 0);
			buf_append(&data, in + pos - used, used);
			break;
		case IMAP_PARSE_LITERAL_END:
			assert_int_equal(used, 0);
			buf_append_str(out, "D ");
			dump_str(out, data.ptr != NULL ? data.ptr : "", data.len);
			buf_append_byte(out, '\n');
			buf_reset(&data);
			break;
		case IMAP_PARSE_COMMAND: {
			const struct imap_command *cmd = imap_parser_command(p);
			buf_append_str(out, "C ");
			dump_command(out, cmd);
			buf_append_byte(out, '\n');
			line_next = strcasecmp(cmd->name, "IDLE") == 0 ||
			            strcasecmp(cmd->name, "AUTHENTICATE") == 0;
			break;
		}
		case IMAP_PARSE_LINE: {
			size_t n;
			const char *line = imap_parser_line(p, &n);
			assert_int_equal(line[n], '\0');
			buf_append_str(out, "N ");
			dump_str(out, line, n);
			buf_append_byte(out, '\n');
			line_next = false;
			break;
		}
		case IMAP_PARSE_ERROR:
			line_next = false;
			if (!on_error(p, out))
				goto done;
			break;
		}
	}
	if (imap_parser_busy(p))
		buf_append_str(out, "busy\n");
done:
	buf_deinit(&data);
	imap_parser_free(&p);
	assert_null(p);
	if (out->ptr == NULL)
		buf_append_str(out, "");
}

/* Run with every chunking and check that all agree with expected. */
static void check_opts(const char *in, size_t len, struct run_opts o, const char *expected)
{
	static const size_t one = 1, odd[] = {3, 1, 7, 2, 64};
	struct buf out;
	buf_init(&out, 0);
	o.chunks = NULL;
	run(in, len, &o, &out);
	if (strcmp(out.ptr, expected) != 0)
		fail_msg("input %.*s\ngot:\n%s\nexpected:\n%s", (int)len, in, out.ptr, expected);
	o.chunks = &one;
	o.nchunks = 1;
	run(in, len, &o, &out);
	assert_string_equal(out.ptr, expected);
	o.chunks = odd;
	o.nchunks = 5;
	run(in, len, &o, &out);
	assert_string_equal(out.ptr, expected);
	for (size_t cut = 1; len <= 400 && cut < len; cut++) {
		size_t two[2] = {cut, len};
		o.chunks = two;
		o.nchunks = 2;
		run(in, len, &o, &out);
		if (strcmp(out.ptr, expected) != 0)
			fail_msg("split at %zu: got:\n%s\nexpected:\n%s", cut, out.ptr, expected);
	}
	buf_deinit(&out);
}

static void check(const char *in, size_t len, const char *expected)
{
	struct run_opts o = {NULL, STORE, false, NULL, 0};
	check_opts(in, len, o, expected);
}

/* ---- the grammar: valid commands ---- */

struct parse_case {
	const char *in;
	size_t len;
	const char *expected;
};

static const struct parse_case valid_cases[] = {
	{S("a001 NOOP\r\n"), "C a001 NOOP\n"},
	{S("a NOOP\n"), "C a NOOP\n"},
	{S("a.1]x noop\r\n"), "C a.1]x noop\n"},
	{S("A1 LOGIN alice secret\r\n"), "C A1 LOGIN alice secret\n"},
	{S("a LOGIN \"al\\\"ice\" \"p\\\\w d\"\r\n"), "C a LOGIN \"al\\\"ice\" \"p\\\\w d\"\n"},
	{S("a SELECT \"\"\r\n"), "C a SELECT \"\"\n"},
	{S("a SELECT \"B\xc3\xbc\x63her \xe2\x82\xac \xf0\x9f\x93\xa7\"\r\n"),
	 "C a SELECT \"B\\xc3\\xbccher \\xe2\\x82\\xac \\xf0\\x9f\\x93\\xa7\"\n"},
	{S("a X \"tab\there\x7f\"\r\n"), "C a X \"tab\\x09here\\x7f\"\n"},
	{S("a FETCH 1:* (FLAGS UID)\r\n"), "C a FETCH 1:* (FLAGS UID)\n"},
	{S("a UID FETCH 1,3:5,7:* FAST\r\n"), "C a UID FETCH 1,3:5,7:* FAST\n"},
	{S("a SEARCH OR (FROM a SUBJECT b) (NOT (SEEN))\r\n"),
	 "C a SEARCH OR (FROM a SUBJECT b) (NOT (SEEN))\n"},
	{S("a STORE 1 FLAGS ()\r\n"), "C a STORE 1 FLAGS ()\n"},
	{S("a X (()) ((a) b)\r\n"), "C a X (()) ((a) b)\n"},
	{S("a STORE 1:3 +FLAGS.SILENT (\\Seen \\Deleted $Junk)\r\n"),
	 "C a STORE 1:3 +FLAGS.SILENT (\\Seen \\Deleted $Junk)\n"},
	{S("a STORE 1 -FLAGS \\Answered\r\n"), "C a STORE 1 -FLAGS \\Answered\n"},
	{S("a FETCH 1 (BODY[HEADER.FIELDS (From To)]<0.100> BODY.PEEK[1.2.MIME] BINARY[1]<0.10> "
	   "BINARY.SIZE[2] BODY[])\r\n"),
	 "C a FETCH 1 (S:BODY[HEADER.FIELDS (From To)]<0.100> S:BODY.PEEK[1.2.MIME] "
	 "S:BINARY[1]<0.10> S:BINARY.SIZE[2] S:BODY[])\n"},
	{S("a FETCH 1 body.peek[header.fields.not (\"X-A\" b)]\r\n"),
	 "C a FETCH 1 S:body.peek[header.fields.not (\"X-A\" b)]\n"},
	{S("a FETCH 1 BINARY.PEEK[]<7.1>\r\n"), "C a FETCH 1 S:BINARY.PEEK[]<7.1>\n"},
	{S("a FETCH 1 BODY\r\n"), "C a FETCH 1 BODY\n"},
	{S("a FETCH 1 (BODY[TEXT])\r\n"), "C a FETCH 1 (S:BODY[TEXT])\n"},
	{S("a X NIL nil \"NIL\" NILS\r\n"), "C a X NIL NIL \"NIL\" NILS\n"},
	{S("a LIST \"\" *\r\n"), "C a LIST \"\" *\n"},
	{S("a LIST \"\" %/foo]\r\n"), "C a LIST \"\" %/foo]\n"},
	{S("a LIST \"\" [Gmail]/*\r\n"), "C a LIST \"\" [Gmail]/*\n"},
	{S("a SELECT ]\r\n"), "C a SELECT ]\n"},
	{S("a SELECT x[y\r\n"), "C a SELECT x[y\n"},
	{S("a X ~foo ~ ~~\r\n"), "C a X ~foo ~ ~~\n"},
	{S("a UID SEARCH $\r\n"), "C a UID SEARCH $\n"},
	{S("a NOOP\r\nb CAPABILITY\r\n"), "C a NOOP\nC b CAPABILITY\n"},
	{S("a X <0.1> a.b-c_d:e+f!#&'=?@^`|~\r\n"), "C a X <0.1> a.b-c_d:e+f!#&'=?@^`|~\n"},
	/* literals (stored) */
	{S("a LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"),
	 "L 5 s d0 i0 [a LOGIN]\nL 6 n d0 i1 [a LOGIN {5}\"alice\"]\n"
	 "C a LOGIN {5}\"alice\" {6+}\"secret\"\n"},
	{S("a X {0}\r\n\r\n"), "L 0 s d0 i0 [a X]\nC a X {0}\"\"\n"},
	{S("a X {0+}\n\n"), "L 0 n d0 i0 [a X]\nC a X {0+}\"\"\n"},
	{S("a X {1}\r\nx y\r\n"), "L 1 s d0 i0 [a X]\nC a X {1}\"x\" y\n"},
	{S("a X {4}\r\n\r\n\"(\r\n"), "L 4 s d0 i0 [a X]\nC a X {4}\"\\x0d\\x0a\\\"(\"\n"},
	{S("a X (y {1}\r\nx)\r\n"), "L 1 s d1 i1 [a X (y)]\nC a X (y {1}\"x\")\n"},
	{S("a X 007 {002}\r\nab\r\n"), "L 2 s d0 i1 [a X 007]\nC a X 007 {2}\"ab\"\n"},
	{S("a APPEND INBOX ~{3}\r\na\0b\r\n"),
	 "L 3 s8 d0 i1 [a APPEND INBOX]\nC a APPEND INBOX ~{3}\"a\\x00b\"\n"},
	{S("a APPEND INBOX ~{3+}\r\n\0\0\0\r\n"),
	 "L 3 n8 d0 i1 [a APPEND INBOX]\nC a APPEND INBOX ~{3+}\"\\x00\\x00\\x00\"\n"},
	{S("a APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello\r\n"),
	 "L 5 s d0 i3 [a APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\"]\n"
	 "C a APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\"hello\"\n"},
	{S("a FETCH 1 BODY[HEADER.FIELDS (\"X-A\" {3}\r\nX-B)]<1.2>\r\n"),
	 "L 3 s d2 i1 [a FETCH 1 S:BODY[HEADER.FIELDS (\"X-A\")]]\n"
	 "C a FETCH 1 S:BODY[HEADER.FIELDS (\"X-A\" {3}\"X-B\")]<1.2>\n"},
	{S("a X {2}\r\n\xff\x80\r\n"), "L 2 s d0 i0 [a X]\nC a X {2}\"\\xff\\x80\"\n"},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++)
		check(valid_cases[i].in, valid_cases[i].len, valid_cases[i].expected);
}

/* ---- the grammar: invalid commands, each followed by a good one that
 * must come through after resync ---- */

static const struct parse_case invalid_cases[] = {
	{S("\r\nz NOOP\r\n"), "E SYNTAX Empty command line tag=-\nC z NOOP\n"},
	{S("\nz NOOP\r\n"), "E SYNTAX Empty command line tag=-\nC z NOOP\n"},
	{S(" a NOOP\r\nz NOOP\r\n"), "E SYNTAX Invalid tag tag=-\nC z NOOP\n"},
	{S("* NOOP\r\nz NOOP\r\n"), "E SYNTAX Invalid tag tag=-\nC z NOOP\n"},
	{S("+a NOOP\r\nz NOOP\r\n"), "E SYNTAX Invalid tag tag=-\nC z NOOP\n"},
	{S("a+ NOOP\r\nz NOOP\r\n"), "E SYNTAX Invalid tag tag=-\nC z NOOP\n"},
	{S("a\"b NOOP\r\nz NOOP\r\n"), "E SYNTAX Invalid tag tag=-\nC z NOOP\n"},
	{S("a\r\nz NOOP\r\n"), "E SYNTAX Missing command name tag=a\nC z NOOP\n"},
	{S("a  NOOP\r\nz NOOP\r\n"), "E SYNTAX Missing command name tag=a\nC z NOOP\n"},
	{S("a \r\nz NOOP\r\n"), "E SYNTAX Missing command name tag=a\nC z NOOP\n"},
	{S("a NO*OP\r\nz NOOP\r\n"), "E SYNTAX Invalid command name tag=a\nC z NOOP\n"},
	{S("a X\x00\r\nz NOOP\r\n"), "E SYNTAX Invalid command name tag=a\nC z NOOP\n"},
	{S("a NOOP \r\nz NOOP\r\n"), "E SYNTAX Missing argument tag=a\nC z NOOP\n"},
	{S("a X  y\r\nz NOOP\r\n"), "E SYNTAX Unexpected space tag=a\nC z NOOP\n"},
	{S("a X (a )\r\nz NOOP\r\n"), "E SYNTAX Unexpected ')' tag=a\nC z NOOP\n"},
	{S("a X ( a)\r\nz NOOP\r\n"), "E SYNTAX Unexpected space tag=a\nC z NOOP\n"},
	{S("a X (a\r\nz NOOP\r\n"), "E SYNTAX Missing ')' tag=a\nC z NOOP\n"},
	{S("a X ((a)\r\nz NOOP\r\n"), "E SYNTAX Missing ')' tag=a\nC z NOOP\n"},
	{S("a X (\r\nz NOOP\r\n"), "E SYNTAX Missing argument tag=a\nC z NOOP\n"},
	{S("a X a)\r\nz NOOP\r\n"), "E SYNTAX Unexpected ')' tag=a\nC z NOOP\n"},
	{S("a X )\r\nz NOOP\r\n"), "E SYNTAX Unexpected ')' tag=a\nC z NOOP\n"},
	{S("a X (a)b\r\nz NOOP\r\n"), "E SYNTAX Expected a space between arguments tag=a\nC z NOOP\n"},
	{S("a X \"a\"b\r\nz NOOP\r\n"),
	 "E SYNTAX Expected a space between arguments tag=a\nC z NOOP\n"},
	{S("a X a(\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X a{1}\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X a\"\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X a\\b\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X ab\x01\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X a\tb\r\nz NOOP\r\n"), "E SYNTAX Invalid character in atom tag=a\nC z NOOP\n"},
	{S("a X \xc3\xa9\r\nz NOOP\r\n"), "E SYNTAX Invalid character tag=a\nC z NOOP\n"},
	{S("a X \x01\r\nz NOOP\r\n"), "E SYNTAX Invalid character tag=a\nC z NOOP\n"},
	{S("a X \\\r\nz NOOP\r\n"), "E SYNTAX Invalid flag tag=a\nC z NOOP\n"},
	{S("a X (\\)\r\nz NOOP\r\n"), "E SYNTAX Invalid flag tag=a\nC z NOOP\n"},
	{S("a X \"abc\r\nz NOOP\r\n"), "E SYNTAX Unterminated quoted string tag=a\nC z NOOP\n"},
	{S("a X \"a\\b\"\r\nz NOOP\r\n"), "E SYNTAX Invalid escape in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"a\0\"\r\nz NOOP\r\n"), "E SYNTAX NUL in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xff\"\r\nz NOOP\r\n"), "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xc0\x80\"\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xe0\x9f\xbf\"\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xed\xa0\x80\"\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xf4\x90\x80\x80\"\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\xc3\"\r\nz NOOP\r\n"), "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X \"\x80\"\r\nz NOOP\r\n"), "E SYNTAX Invalid UTF-8 in quoted string tag=a\nC z NOOP\n"},
	{S("a X {5a}\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X {}\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X {+}\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X {5+\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X {5++}\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X ~{-1}\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X {5} x\r\nz NOOP\r\n"), "E SYNTAX Literal must end the line tag=a\nC z NOOP\n"},
	{S("a X {5}\rx\r\nz NOOP\r\n"), "E SYNTAX Literal must end the line tag=a\nC z NOOP\n"},
	{S("a NO\rOP\r\nz NOOP\r\n"), "E SYNTAX CR not followed by LF tag=a\nC z NOOP\n"},
	{S("a X y\r\r\nz NOOP\r\n"), "E SYNTAX CR not followed by LF tag=a\nC z NOOP\n"},
	{S("a X BODY[\r\nz NOOP\r\n"), "E SYNTAX Missing argument tag=a\nC z NOOP\n"},
	{S("a X BODY[TEXT\r\nz NOOP\r\n"), "E SYNTAX Missing ']' tag=a\nC z NOOP\n"},
	{S("a X (BODY[TEXT)]\r\nz NOOP\r\n"), "E SYNTAX Unexpected ')' tag=a\nC z NOOP\n"},
	{S("a X BODY[(a]\r\nz NOOP\r\n"), "E SYNTAX Unexpected ']' tag=a\nC z NOOP\n"},
	{S("a X BODY[a ]\r\nz NOOP\r\n"), "E SYNTAX Unexpected ']' tag=a\nC z NOOP\n"},
	{S("a X BODY[]x[\r\nz NOOP\r\n"), "E SYNTAX Invalid character after ']' tag=a\nC z NOOP\n"},
	{S("a X BODY[1]]\r\nz NOOP\r\n"), "E SYNTAX Invalid character after ']' tag=a\nC z NOOP\n"},
	{S("a X BODY[BODY[1]]\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid character after ']' tag=a\nC z NOOP\n"},
	{S("a X y]\r\nz NOOP\r\n"), "C a X y]\nC z NOOP\n"},
	/* a NUL in a literal (not literal8): the rest of the literal and of
	 * its line are discarded */
	{S("a X {3}\r\na\0b (\r\nz NOOP\r\n"),
	 "L 3 s d0 i0 [a X]\nE SYNTAX NUL in literal tag=a discard=2\nC z NOOP\n"},
	/* discarding finds literals at the ends of skipped lines */
	{S("a X \x01 {5+}\r\nb NOO y {2+}\r\nzz\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid character tag=a\nC z NOOP\n"},
	{S("a X \x01 {5}\r\nz NOOP\r\n"), "E SYNTAX Invalid character tag=a\nC z NOOP\n"},
	{S("a X \x01 ~{0+}\r\n\r\nz NOOP\r\n"), "E SYNTAX Invalid character tag=a\nC z NOOP\n"},
	{S("a X \"a{3+}\r\nb\r\n\r\nz NOOP\r\n"),
	 "E SYNTAX Unterminated quoted string tag=a\nC z NOOP\n"},
	{S("a X {5x{5+}\r\n12345\r\nz NOOP\r\n"), "E SYNTAX Invalid literal tag=a\nC z NOOP\n"},
	{S("a X \x01 {99999999999999999999+}\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid character tag=a\nE NONSYNC Literal size out of range tag=a fatal\n"},
	{S("a X \x01 {9223372036854775808+}\r\nz NOOP\r\n"),
	 "E SYNTAX Invalid character tag=a\nE NONSYNC Literal size out of range tag=a fatal\n"},
	{S("a X {99999999999999999999}\r\nz NOOP\r\n"), "E TOOBIG Literal too large tag=a\nC z NOOP\n"},
	{S("a X {99999999999999999999+}\r\nz NOOP\r\n"),
	 "E NONSYNC Non-synchronizing literal too large tag=a fatal\n"},
	{S("a X {4097+}\r\nz NOOP\r\n"),
	 "E NONSYNC Non-synchronizing literal too large tag=a discard=4097\n"},
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct parse_case *c = &invalid_cases[i];
		check(c->in, c->len, c->expected);
	}
}

/* "]" is an atom character outside sections, but not a closing bracket */
static void test_brackets(void **state)
{
	(void)state;
	check(S("a X (a]\r\nz NOOP\r\n"), "E SYNTAX Missing ')' tag=a\nC z NOOP\n");
	check(S("a X (a])\r\n"), "C a X (a])\n");
	check(S("a X [\r\n"), "C a X [\n");
	check(S("a X BODY[1]<0.>\r\n"), "C a X S:BODY[1]<0.>\n");
	check(S("a X xBODY[1 2]\r\n"), "C a X xBODY[1 2]\n");
	check(S("a X BODY.PEEK.x[1]\r\n"), "C a X BODY.PEEK.x[1]\n");
}

/* ---- literals: streaming and refusing ---- */

static void check_policy(const char *in, size_t len, enum policy pol, const char *expected)
{
	struct run_opts o = {NULL, pol, false, NULL, 0};
	check_opts(in, len, o, expected);
}

static void test_stream(void **state)
{
	(void)state;
	check_policy(S("a APPEND INBOX {5}\r\nhello\r\nz NOOP\r\n"), STREAM_APPEND,
	             "L 5 s d0 i1 [a APPEND INBOX]\nD \"hello\"\n"
	             "C a APPEND INBOX <stream>{5}\nC z NOOP\n");
	/* MULTIAPPEND (RFC 3502) with LITERAL+, the mailbox name a literal */
	check_policy(S("a APPEND {5+}\r\nINBOX {3+}\r\nabc (\\Seen) ~{2}\r\n\0\n\r\n"),
	             STREAM_APPEND,
	             "L 5 n d0 i0 [a APPEND]\n"
	             "L 3 n d0 i1 [a APPEND {5+}\"INBOX\"]\nD \"abc\"\n"
	             "L 2 s8 d0 i3 [a APPEND {5+}\"INBOX\" <stream>{3+} (\\Seen)]\n"
	             "D \"\\x00\\x0a\"\n"
	             "C a APPEND {5+}\"INBOX\" <stream>{3+} (\\Seen) <stream>~{2}\n");
	check_policy(S("a X {0}\r\n {0}\r\n\r\n"), STREAM,
	             "L 0 s d0 i0 [a X]\nD \"\"\nL 0 s d0 i1 [a X <stream>{0}]\nD \"\"\n"
	             "C a X <stream>{0} <stream>{0}\n");
	/* a stream inside a list (CATENATE, RFC 4469) */
	check_policy(S("a APPEND x CATENATE (TEXT {3}\r\nabc)\r\n"), STREAM,
	             "L 3 s d1 i1 [a APPEND x CATENATE (TEXT)]\nD \"abc\"\n"
	             "C a APPEND x CATENATE (TEXT <stream>{3})\n");
}

/* A 1 MB message is streamed through a parser whose command limit is far
 * smaller, in random chunks; nothing of it is kept. */
static void test_stream_large(void **state)
{
	(void)state;
	size_t body = 1024 * 1024;
	const char head[] = "a APPEND INBOX {1048576}\r\n";
	size_t len = sizeof(head) - 1 + body + 2;
	char *in = malloc(len);
	assert_non_null(in);
	memcpy(in, head, sizeof(head) - 1);
	for (size_t i = 0; i < body; i++)
		in[sizeof(head) - 1 + i] = (char)(i * 7 + 1);
	memcpy(in + len - 2, "\r\n", 2);

	struct imap_parser_limits lim;
	imap_parser_limits_default(&lim, true);
	lim.max_command = 1024;
	struct imap_parser *p = imap_parser_new(&lim);
	size_t pos = 0, got = 0, used;
	srand(7);
	enum imap_parse_result r;
	while ((r = imap_parser_feed(p, in + pos, (size_t)rand() % 9000 % (len - pos + 1),
	                             &used)) != IMAP_PARSE_COMMAND) {
		if (r == IMAP_PARSE_LITERAL)
			imap_parser_literal_stream(p);
		if (r == IMAP_PARSE_LITERAL_DATA) {
			assert_memory_equal(in + pos, in + sizeof(head) - 1 + got, used);
			got += used;
			assert_int_equal(imap_parser_stream_remaining(p), body - got);
		}
		assert_true(r != IMAP_PARSE_ERROR);
		pos += used;
	}
	pos += used;
	assert_int_equal(pos, len);
	assert_int_equal(got, body);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_int_equal(cmd->argc, 2);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_STREAMED);
	assert_int_equal(cmd->args[1].len, body);
	assert_null(cmd->args[1].str);
	imap_parser_free(&p);
	free(in);
}

static void test_refuse(void **state)
{
	(void)state;
	/* synchronizing: the client sends nothing more of the command */
	check_policy(S("a APPEND INBOX {100}\r\nz NOOP\r\n"), REFUSE,
	             "L 100 s d0 i1 [a APPEND INBOX]\nC z NOOP\n");
	/* non-synchronizing: its data and the rest of the command follow */
	check_policy(S("a APPEND INBOX {5+}\r\nhello\r\nz NOOP\r\n"), REFUSE,
	             "L 5 n d0 i1 [a APPEND INBOX]\nC z NOOP\n");
	check_policy(S("a APPEND INBOX {5+}\r\nhello (x) {3+}\r\nbye {2}\r\nz NOOP\r\n"), REFUSE,
	             "L 5 n d0 i1 [a APPEND INBOX]\nC z NOOP\n");
	check_policy(S("a APPEND INBOX {5+}\r\nhel"), REFUSE, "L 5 n d0 i1 [a APPEND INBOX]\n");
}

/* ---- limits, each at its edge ---- */

static struct imap_parser_limits small_limits(void)
{
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, true);
	l.max_line = 20;
	l.max_command = 60;
	l.max_literal = 30;
	l.max_nonsync = 10;
	l.max_depth = 3;
	l.max_args = 6;
	return l;
}

static void check_limits(const char *in, size_t len, const struct imap_parser_limits *l,
			 const char *expected)
{
	struct run_opts o = {l, STORE, false, NULL, 0};
	check_opts(in, len, o, expected);
}

static void test_limit_line(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	/* 20 bytes without the CRLF */
	check_limits(S("a X 0123456789abcdef\r\n"), &l, "C a X 0123456789abcdef\n");
	check_limits(S("a X 0123456789abcdef\n"), &l, "C a X 0123456789abcdef\n");
	check_limits(S("a X 0123456789abcdefg\r\nz NOOP\r\n"), &l,
	             "E LINE Line too long tag=a\nC z NOOP\n");
	check_limits(S("aaaaaaaaaaaaaaaaaaaaa NOOP\r\nz NOOP\r\n"), &l,
	             "E LINE Line too long tag=-\nC z NOOP\n");
	/* the count starts again after a literal */
	check_limits(S("a X {2}\r\nxx 0123456789abcdef\r\n"), &l,
	             "L 2 s d0 i0 [a X]\nC a X {2}\"xx\" 0123456789abcdef\n");
	check_limits(S("a X {2}\r\nxx 0123456789abcdefghij\r\n"), &l,
	             "L 2 s d0 i0 [a X]\nE LINE Line too long tag=a\n");
	/* the literal announcement counts: "a X 0123456789ab {2}" is 20 */
	check_limits(S("a X 0123456789ab {2}\r\nxx\r\n"), &l,
	             "L 2 s d0 i1 [a X 0123456789ab]\nC a X 0123456789ab {2}\"xx\"\n");
	check_limits(S("a X 0123456789abc {2}\r\nz NOOP\r\n"), &l,
	             "E LINE Line too long tag=a\nC z NOOP\n");
}

static void test_limit_command(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	/* 8 + 30 + 5 + 17 = 60 bytes of line and literal */
	check_limits(S("a X {30}\r\n012345678901234567890123456789 {17}\r\n01234567890123456\r\n"),
	             &l,
	             "L 30 s d0 i0 [a X]\n"
	             "L 17 s d0 i1 [a X {30}\"012345678901234567890123456789\"]\n"
	             "C a X {30}\"012345678901234567890123456789\" "
	             "{17}\"01234567890123456\"\n");
	check_limits(S("a X {30}\r\n012345678901234567890123456789 {18}\r\nz NOOP\r\n"), &l,
	             "L 30 s d0 i0 [a X]\n"
	             "L 18 s d0 i1 [a X {30}\"012345678901234567890123456789\"]\n"
	             "E TOOBIG Command too large tag=a\nC z NOOP\n");
	/* the same as a non-synchronizing literal is discarded */
	l.max_nonsync = 100;
	check_limits(S("a X {30}\r\n012345678901234567890123456789 {18+}\r\n"
	               "012345678901234567 x\r\nz NOOP\r\n"),
	             &l,
	             "L 30 s d0 i0 [a X]\n"
	             "L 18 n d0 i1 [a X {30}\"012345678901234567890123456789\"]\n"
	             "E TOOBIG Command too large tag=a discard=18\nC z NOOP\n");
	/* line bytes count too: 8 + 30 + 4 + 5 + 13 = 60 */
	check_limits(S("a X {30}\r\n012345678901234567890123456789 {5}\r\n01234 012345678901\r\n"),
	             &l,
	             "L 30 s d0 i0 [a X]\n"
	             "L 5 s d0 i1 [a X {30}\"012345678901234567890123456789\"]\n"
	             "C a X {30}\"012345678901234567890123456789\" {5}\"01234\" 012345678901\n");
	check_limits(S("a X {30}\r\n012345678901234567890123456789 {5}\r\n01234 0123456789012\r\n"),
	             &l,
	             "L 30 s d0 i0 [a X]\n"
	             "L 5 s d0 i1 [a X {30}\"012345678901234567890123456789\"]\n"
	             "E TOOBIG Command too large tag=a\n");
}

static void test_limit_literal(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	check_limits(S("a X {30}\r\n012345678901234567890123456789\r\n"), &l,
	             "L 30 s d0 i0 [a X]\nC a X {30}\"012345678901234567890123456789\"\n");
	check_limits(S("a X {31}\r\nz NOOP\r\n"), &l,
	             "E TOOBIG Literal too large tag=a\nC z NOOP\n");
	check_limits(S("a X ~{31}\r\nz NOOP\r\n"), &l,
	             "E TOOBIG Literal too large tag=a\nC z NOOP\n");
	/* non-synchronizing: LITERAL- style limit, then the data is skipped */
	check_limits(S("a X {10+}\r\n0123456789\r\n"), &l,
	             "L 10 n d0 i0 [a X]\nC a X {10+}\"0123456789\"\n");
	check_limits(S("a X {11+}\r\n0123456789a {1}\r\nz NOOP\r\n"), &l,
	             "E NONSYNC Non-synchronizing literal too large tag=a discard=11\nC z NOOP\n");
	l.max_nonsync = 0;
	check_limits(S("a X {0+}\r\n\r\nz NOOP\r\n"), &l,
	             "E NONSYNC Non-synchronizing literals not allowed tag=a\nC z NOOP\n");
	l.max_nonsync = IMAP_NONSYNC_ANY;
	check_limits(S("a X {30+}\r\n012345678901234567890123456789\r\n"), &l,
	             "L 30 n d0 i0 [a X]\nC a X {30+}\"012345678901234567890123456789\"\n");
	check_limits(S("a X {31+}\r\n0123456789012345678901234567890\r\nz NOOP\r\n"), &l,
	             "E TOOBIG Literal too large tag=a discard=31\nC z NOOP\n");
}

/* RFC 7888 5 and RFC 9051 4.3: 4096 is allowed, 4097 is not */
static void test_limit_literal_minus(void **state)
{
	(void)state;
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, true);
	assert_int_equal(l.max_nonsync, 4096);
	static char in[2 * 4100 + 100];
	struct buf exp;
	buf_init(&exp, 0);
	for (size_t n = 4096; n <= 4097; n++) {
		int h = snprintf(in, sizeof(in), "a X {%zu+}\r\n", n);
		memset(in + h, 'x', n);
		size_t len = (size_t)h + n;
		len += (size_t)snprintf(in + len, sizeof(in) - len, "\r\nz NOOP\r\n");
		struct buf out;
		buf_init(&out, 0);
		struct run_opts o = {&l, STORE, true, NULL, 0};
		run(in, len, &o, &out);
		buf_reset(&exp);
		if (n == 4096) {
			buf_append_str(&exp, "C a X {4096+}");
			dump_str(&exp, in + h, n);
			buf_append_str(&exp, "\nC z NOOP\n");
		} else {
			buf_append_str(&exp, "E NONSYNC Non-synchronizing literal too large tag=a "
			                     "discard=4097\nC z NOOP\n");
		}
		assert_string_equal(out.ptr, exp.ptr);
		buf_deinit(&out);
	}
	buf_deinit(&exp);
}

/* Before login: literals over 8 KiB are refused, 8 KiB is stored. */
static void test_limit_preauth(void **state)
{
	(void)state;
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, false);
	assert_int_equal(l.max_literal, 8192);
	static char in[8300];
	int h = snprintf(in, sizeof(in), "a LOGIN u {8192}\r\n");
	memset(in + h, 'p', 8192);
	memcpy(in + h + 8192, "\r\n", 2);
	struct buf out;
	buf_init(&out, 0);
	struct run_opts o = {&l, STORE, true, NULL, 0};
	run(in, (size_t)h + 8194, &o, &out);
	assert_true(strncmp(out.ptr, "C a LOGIN u {8192}\"pppp", 23) == 0);
	check_limits(S("a LOGIN u {8193}\r\nz NOOP\r\n"), &l,
	             "E TOOBIG Literal too large tag=a\nC z NOOP\n");
	buf_deinit(&out);
}

static void test_limit_depth(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	check_limits(S("a X (((a)))\r\n"), &l, "C a X (((a)))\n");
	check_limits(S("a X ((((a))))\r\nz NOOP\r\n"), &l,
	             "E DEEP Too deeply nested tag=a\nC z NOOP\n");
	/* a section is a level too */
	check_limits(S("a X (BODY[(a)])\r\n"), &l, "C a X (S:BODY[(a)])\n");
	check_limits(S("a X ((BODY[1]))\r\n"), &l, "C a X ((S:BODY[1]))\n");
	check_limits(S("a X ((BODY[(a)]))\r\nz NOOP\r\n"), &l,
	             "E DEEP Too deeply nested tag=a\nC z NOOP\n");
	check_limits(S("a X (((BODY[1])))\r\nz NOOP\r\n"), &l,
	             "E DEEP Too deeply nested tag=a\nC z NOOP\n");
}

static void test_limit_args(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	/* six nodes: lists and sections count */
	check_limits(S("a X 1 (2 3) BODY[4]\r\n"), &l, "C a X 1 (2 3) S:BODY[4]\n");
	check_limits(S("a X 1 2 3 4 5 6\r\n"), &l, "C a X 1 2 3 4 5 6\n");
	check_limits(S("a X 1 2 3 4 5 6 7\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 ()\r\n"), &l, "C a X 1 2 3 4 5 ()\n");
	check_limits(S("a X 1 2 3 4 5 (6)\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 \"6\" \"7\"\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 {1}\r\n6\r\n"), &l,
	             "L 1 s d0 i5 [a X 1 2 3 4 5]\nC a X 1 2 3 4 5 {1}\"6\"\n");
	check_limits(S("a X 1 2 3 4 5 6 {1}\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 6 {1+}\r\n7\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a discard=1\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 6 (\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
	check_limits(S("a X 1 2 3 4 5 6 ~x\r\nz NOOP\r\n"), &l,
	             "E ARGS Too many arguments tag=a\nC z NOOP\n");
}

/* ---- line mode ---- */

static void test_line_mode(void **state)
{
	(void)state;
	check(S("a IDLE\r\nDONE\r\nb NOOP\r\n"), "C a IDLE\nN \"DONE\"\nC b NOOP\n");
	check(S("a IDLE\nDONE\nb NOOP\n"), "C a IDLE\nN \"DONE\"\nC b NOOP\n");
	check(S("a AUTHENTICATE PLAIN\r\n\r\n"), "C a AUTHENTICATE PLAIN\nN \"\"\n");
	check(S("a IDLE\r\nA\rB\0{5+}\r\nb NOOP\r\n"),
	      "C a IDLE\nN \"A\\x0dB\\x00{5+}\"\nC b NOOP\n");
	check(S("a IDLE\r\nDO"), "C a IDLE\nbusy\n");
	check(S("a IDLE\r\n\r"), "C a IDLE\nbusy\n");
	struct imap_parser_limits l = small_limits();
	check_limits(S("a IDLE\r\n01234567890123456789\r\nb NOOP\r\n"), &l,
	             "C a IDLE\nN \"01234567890123456789\"\nC b NOOP\n");
	check_limits(S("a IDLE\r\n0123456789012345678\r\r\nb NOOP\r\n"), &l,
	             "C a IDLE\nN \"0123456789012345678\\x0d\"\nC b NOOP\n");
	/* too long: discarded to its end (no literal rules in line mode) */
	check_limits(S("a IDLE\r\n012345678901234567890 {5+}\r\nb NOOP\r\n"), &l,
	             "C a IDLE\nE LINE Line too long tag=-\nC b NOOP\n");
	check_limits(S("a IDLE\r\n01234567890123456789\r\r\nb NOOP\r\n"), &l,
	             "C a IDLE\nE LINE Line too long tag=-\nC b NOOP\n");
}

/* ---- the parser's state between calls ---- */

/* After a line-mode error, reading lines again first discards the rest of
 * the bad line. */
static void test_line_mode_resync(void **state)
{
	(void)state;
	struct imap_parser_limits l = small_limits();
	struct imap_parser *p = imap_parser_new(&l);
	const char in[] = "012345678901234567890 {5+}\r\nnext\r\n";
	size_t used, n;
	assert_int_equal(imap_parser_feed_line(p, in, 10, &used), IMAP_PARSE_NEED_MORE);
	assert_int_equal(used, 10);
	assert_int_equal(imap_parser_feed_line(p, in + 10, sizeof(in) - 11, &used),
	                 IMAP_PARSE_ERROR);
	assert_int_equal(used, 10);
	assert_int_equal(imap_parser_error(p)->code, IMAP_PERR_LINE_TOO_LONG);
	assert_null(imap_parser_error(p)->tag);
	assert_int_equal(imap_parser_feed_line(p, in + 20, 5, &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_true(imap_parser_resync(p));
	assert_false(imap_parser_busy(p));
	assert_int_equal(imap_parser_feed_line(p, in + 20, sizeof(in) - 21, &used),
	                 IMAP_PARSE_LINE);
	assert_int_equal(used, sizeof(in) - 21);
	assert_string_equal(imap_parser_line(p, &n), "next");
	assert_int_equal(n, 4);
	imap_parser_free(&p);
}

static void test_busy_and_limits(void **state)
{
	(void)state;
	struct imap_parser_limits pre, post;
	imap_parser_limits_default(&pre, false);
	imap_parser_limits_default(&post, true);
	struct imap_parser *p = imap_parser_new(&pre);
	size_t used;
	assert_false(imap_parser_busy(p));
	assert_int_equal(imap_parser_feed(p, "a LOG", 5, &used), IMAP_PARSE_NEED_MORE);
	assert_int_equal(used, 5);
	assert_true(imap_parser_busy(p));
	assert_int_equal(imap_parser_feed(p, "IN u p\r\nb", 9, &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, 8);
	assert_false(imap_parser_busy(p));
	imap_parser_set_limits(p, &post);
	/* a literal refused before login is fine now */
	assert_int_equal(imap_parser_feed(p, "b X {9000}\r\n", 12, &used), IMAP_PARSE_LITERAL);
	assert_true(imap_parser_busy(p));
	assert_int_equal(imap_parser_literal(p)->size, 9000);
	imap_parser_literal_refuse(p);
	assert_false(imap_parser_busy(p));
	/* ERROR repeats until resync */
	assert_int_equal(imap_parser_feed(p, "(\r\n", 3, &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_int_equal(imap_parser_feed(p, "(\r\n", 3, &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 0);
	assert_true(imap_parser_resync(p));
	assert_int_equal(imap_parser_feed(p, "(\r\nc NOOP\r\n", 11, &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, 11);
	assert_string_equal(imap_parser_command(p)->tag, "c");
	imap_parser_free(&p);
	imap_parser_free(&p);
}

/* A parser that grew for a big command shrinks back for the next one, and
 * the values of a command stay valid while it grows. */
static void test_growth(void **state)
{
	(void)state;
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, true);
	struct imap_parser *p = imap_parser_new(&l);
	struct buf in;
	buf_init(&in, 0);
	buf_append_str(&in, "a X");
	for (int i = 0; i < 1300; i++)
		buf_appendf(&in, " (%d \"q%d\")", i, i);
	buf_append_str(&in, "\r\nb NOOP\r\n");
	size_t used;
	assert_int_equal(imap_parser_feed(p, in.ptr, in.len, &used), IMAP_PARSE_COMMAND);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_int_equal(cmd->argc, 1300);
	for (int i = 0; i < 1300; i++) {
		char want[16];
		snprintf(want, sizeof(want), "q%d", i);
		assert_int_equal(cmd->args[i].count, 2);
		assert_string_equal(cmd->args[i].list[1].str, want);
	}
	assert_int_equal(imap_parser_feed(p, in.ptr + used, in.len - used, &used),
	                 IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->name, "NOOP");
	buf_deinit(&in);
	imap_parser_free(&p);
}

/* ---- argument views ---- */

static const struct imap_command *parse_one(struct imap_parser *p, const char *line)
{
	size_t used;
	enum imap_parse_result r = imap_parser_feed(p, line, strlen(line), &used);
	while (r == IMAP_PARSE_LITERAL) {
		assert_int_equal(imap_parser_literal_store(p), IMAP_PARSE_NEED_MORE);
		line += used;
		r = imap_parser_feed(p, line, strlen(line), &used);
	}
	assert_int_equal(r, IMAP_PARSE_COMMAND);
	return imap_parser_command(p);
}

static void test_arg_views(void **state)
{
	(void)state;
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, true);
	struct imap_parser *p = imap_parser_new(&l);
	const struct imap_command *c = parse_one(
	    p, "a X 0 4294967295 4294967296 01 9223372036854775807 9223372036854775808 "
	       "uid Nil \"s\" {1}\r\nl ~{1}\r\nb ]x *% \\Seen (1) BODY[]<0.5> BODY[]<01.5> "
	       "BODY[]<1.05> BODY[] BODY[]<0.0> BODY[]<1> BODY[]<1.>\r\n");
	const struct imap_arg *a = c->args;
	uint32_t u;
	uint64_t v;
	const char *s;
	size_t n;
	assert_true(imap_arg_number(&a[0], &u) && u == 0);
	assert_false(imap_arg_nz_number(&a[0], &u));
	assert_true(imap_arg_nz_number(&a[1], &u) && u == UINT32_MAX);
	assert_false(imap_arg_number(&a[2], &u));
	assert_true(imap_arg_number64(&a[2], &v) && v == 4294967296ull);
	assert_true(imap_arg_number(&a[3], &u) && u == 1);
	assert_false(imap_arg_nz_number(&a[3], &u));
	assert_true(imap_arg_number64(&a[4], &v) && v == INT64_MAX);
	assert_false(imap_arg_number64(&a[5], &v));
	assert_true(imap_arg_atom_is(&a[6], "UID"));
	assert_false(imap_arg_atom_is(&a[6], "UI"));
	assert_false(imap_arg_number(&a[6], &u));
	/* NIL: an nstring nil, an astring "Nil" */
	assert_int_equal(a[7].type, IMAP_ARG_NIL);
	assert_true(imap_arg_nstring(&a[7], &s, &n) && s == NULL && n == 0);
	assert_true(imap_arg_astring(&a[7], &s, &n) && n == 3 && memcmp(s, "Nil", 3) == 0);
	assert_false(imap_arg_string(&a[7], &s, &n));
	assert_true(imap_arg_string(&a[8], &s, &n) && n == 1 && s[0] == 's');
	assert_true(imap_arg_nstring(&a[8], &s, &n) && n == 1);
	assert_false(imap_arg_atom(&a[8], &s, &n));
	assert_true(imap_arg_string(&a[9], &s, &n) && n == 1 && s[0] == 'l');
	assert_false(imap_arg_string(&a[10], &s, &n)); /* literal8 */
	assert_false(imap_arg_astring(&a[10], &s, &n));
	assert_true(imap_arg_astring(&a[11], &s, &n) && n == 2);
	assert_false(imap_arg_atom(&a[11], &s, &n)); /* "]" */
	assert_false(imap_arg_astring(&a[12], &s, &n));
	assert_true(imap_arg_list_mailbox(&a[12], &s, &n) && n == 2);
	assert_true(imap_arg_list_mailbox(&a[11], &s, &n));
	assert_true(imap_arg_flag(&a[13], &s, &n) && n == 5);
	assert_false(imap_arg_atom(&a[13], &s, &n));
	assert_false(imap_arg_astring(&a[13], &s, &n));
	assert_true(imap_arg_flag(&a[6], &s, &n));
	assert_true(imap_arg_atom(&a[6], &s, &n) && n == 3 && s == a[6].str);
	assert_false(imap_arg_flag(&a[8], &s, &n));
	assert_false(imap_arg_flag(&a[11], &s, &n));
	assert_true(imap_arg_list_mailbox(&a[9], &s, &n) && n == 1);
	assert_false(imap_arg_list_mailbox(&a[14], &s, &n));
	assert_false(imap_arg_number(&a[8], &u));
	assert_false(imap_arg_nz_number(&a[12], &u));
	const struct imap_arg *items;
	assert_false(imap_arg_list(&a[6], &items, &n));
	assert_true(imap_arg_list(&a[14], &items, &n) && n == 1 && items == a[14].list);
	bool present;
	uint64_t off, len;
	assert_true(imap_arg_section_partial(&a[15], &present, &off, &len) && present && off == 0 &&
	            len == 5);
	assert_true(imap_arg_section_partial(&a[16], &present, &off, &len) && off == 1);
	assert_false(imap_arg_section_partial(&a[17], &present, &off, &len));
	assert_true(imap_arg_section_partial(&a[18], &present, &off, &len) && !present);
	assert_false(imap_arg_section_partial(&a[19], &present, &off, &len));
	assert_false(imap_arg_section_partial(&a[20], &present, &off, &len));
	assert_false(imap_arg_section_partial(&a[21], &present, &off, &len));
	assert_false(imap_arg_section_partial(&a[6], &present, &off, &len));
	assert_int_equal(c->argc, 22);
	imap_parser_free(&p);
}

/* ---- random commands: write out, parse back ---- */

struct gen {
	struct buf wire, want;
	unsigned depth, nodes;
	bool in_section;
};

static unsigned rnd(unsigned n)
{
	return (unsigned)rand() % n;
}

static void gen_atom(struct gen *g)
{
	static const char chars[] = "abcXYZ019.:*%,$<>+-_!#&'=?@^`|~]";
	size_t len = 1 + rnd(8);
	char a[10];
	for (size_t i = 0; i < len; i++) {
		a[i] = chars[rnd(sizeof(chars) - 1)];
		if (g->in_section && a[i] == ']')
			a[i] = 'q';
	}
	if (len > 1 && rnd(8) == 0)
		a[0] = '\\';
	if (a[0] == '~')
		a[0] = 't';
	buf_append(&g->wire, a, len);
	if (len == 3 && strncasecmp(a, "NIL", 3) == 0)
		buf_append_str(&g->want, "NIL");
	else
		buf_append(&g->want, a, len);
}

static void gen_quoted(struct gen *g)
{
	static const char *const pieces[] = {
	    "a",        " ",   "\t",  "\\",           "\"",
	    "\xc3\xa9", "(",   "{1}", "\xe2\x82\xac", "\xf0\x9f\x93\xa7",
	    "]",        "\x7f"};
	struct buf raw;
	buf_init(&raw, 0);
	buf_append_str(&raw, "");
	size_t n = rnd(6);
	for (size_t i = 0; i < n; i++)
		buf_append_str(&raw, pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
	buf_append_byte(&g->wire, '"');
	for (size_t i = 0; i < raw.len; i++) {
		if (raw.ptr[i] == '"' || raw.ptr[i] == '\\')
			buf_append_byte(&g->wire, '\\');
		buf_append_byte(&g->wire, raw.ptr[i]);
	}
	buf_append_byte(&g->wire, '"');
	dump_str(&g->want, raw.ptr, raw.len);
	buf_deinit(&raw);
}

static void gen_literal(struct gen *g)
{
	bool lit8 = rnd(4) == 0, plus = rnd(2) == 0;
	size_t n = rnd(12);
	char data[12];
	for (size_t i = 0; i < n; i++) {
		data[i] = (char)rnd(256);
		if (!lit8 && data[i] == '\0')
			data[i] = '\n';
	}
	buf_appendf(&g->wire, "%s%zu%s}\r\n", lit8 ? "~{" : "{", n, plus ? "+" : "");
	buf_append(&g->wire, data, n);
	buf_appendf(&g->want, "%s%zu%s}", lit8 ? "~{" : "{", n, plus ? "+" : "");
	dump_str(&g->want, data, n);
}

static void gen_value(struct gen *g);

static void gen_items(struct gen *g, const char *close)
{
	size_t n = rnd(4);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			buf_append_byte(&g->wire, ' ');
			buf_append_byte(&g->want, ' ');
		}
		gen_value(g);
	}
	buf_append_str(&g->wire, close);
	buf_append_str(&g->want, close);
}

static void gen_section(struct gen *g)
{
	static const char *const prefixes[] = {"BODY", "body.peek", "BINARY", "BINARY.PEEK",
	                                       "BINARY.SIZE"};
	static const char *const suffixes[] = {"", "<0.10>", "<5.1>", "x"};
	const char *pre = prefixes[rnd(5)];
	buf_appendf(&g->wire, "%s[", pre);
	buf_appendf(&g->want, "S:%s[", pre);
	g->in_section = true;
	g->depth++;
	gen_items(g, "]");
	g->depth--;
	g->in_section = false;
	const char *suf = suffixes[rnd(4)];
	buf_append_str(&g->wire, suf);
	buf_append_str(&g->want, suf);
}

static void gen_value(struct gen *g)
{
	unsigned k = rnd(g->depth < 5 && g->nodes < 200 ? 6 : 3);
	g->nodes++;
	if (k == 0) {
		gen_atom(g);
	} else if (k == 1) {
		gen_quoted(g);
	} else if (k == 2) {
		gen_literal(g);
	} else if (k == 3 || k == 4 || g->in_section) {
		buf_append_byte(&g->wire, '(');
		buf_append_byte(&g->want, '(');
		g->depth++;
		gen_items(g, ")");
		g->depth--;
	} else {
		gen_section(g);
	}
}

static void test_random_roundtrip(void **state)
{
	(void)state;
	srand(20240611);
	struct imap_parser_limits l;
	imap_parser_limits_default(&l, true);
	l.max_nonsync = IMAP_NONSYNC_ANY;
	struct buf out;
	buf_init(&out, 0);
	for (int iter = 0; iter < 600; iter++) {
		struct gen g;
		memset(&g, 0, sizeof(g));
		buf_init(&g.wire, 0);
		buf_init(&g.want, 0);
		buf_appendf(&g.wire, "t%d CMD", iter);
		buf_appendf(&g.want, "C t%d CMD", iter);
		size_t n = rnd(5);
		for (size_t i = 0; i < n; i++) {
			buf_append_byte(&g.wire, ' ');
			buf_append_byte(&g.want, ' ');
			gen_value(&g);
		}
		buf_append_str(&g.wire, rnd(2) ? "\r\n" : "\n");
		buf_append_byte(&g.want, '\n');
		struct run_opts o = {&l, STORE, true, NULL, 0};
		run(g.wire.ptr, g.wire.len, &o, &out);
		if (strcmp(out.ptr, g.want.ptr) != 0)
			fail_msg("wire %s\ngot  %s\nwant %s", g.wire.ptr, out.ptr, g.want.ptr);
		static const size_t one = 1;
		o.chunks = &one;
		o.nchunks = 1;
		run(g.wire.ptr, g.wire.len, &o, &out);
		assert_string_equal(out.ptr, g.want.ptr);
		buf_deinit(&g.wire);
		buf_deinit(&g.want);
	}
	buf_deinit(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_brackets),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_large),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_limit_command),
		cmocka_unit_test(test_limit_literal),
		cmocka_unit_test(test_limit_literal_minus),
		cmocka_unit_test(test_limit_preauth),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_args),
		cmocka_unit_test(test_line_mode),
		cmocka_unit_test(test_line_mode_resync),
		cmocka_unit_test(test_busy_and_limits),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_arg_views),
		cmocka_unit_test(test_random_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
