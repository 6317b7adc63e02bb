/*
 * pop3_parser.c - POP3 command lines into commands; see pop3_parser.h.
 *
 * Pure and allocation-free: the result points into the caller's line.
 * RFC 1939 3 defines a command as a keyword followed by arguments separated
 * by single spaces. We split on every single space, so "LIST  1" gives an
 * empty first argument that the command handler refuses, and "USER " (a
 * trailing space) gives one empty argument: a handler can tell "no
 * argument" from "an empty one".
 */
#include "pop3_parser.h"

#include "lib/strnum.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* RFC 2449 4 says keywords are 3 or 4 characters; extensions may define
 * longer ones, so we allow up to 8 before calling the line garbage. */
#define POP3_MAX_KEYWORD 8

static const struct {
	const char *name;
	enum pop3_cmd_id id;
} pop3_keywords[] = {
	{"USER", POP3_CMD_USER}, {"PASS", POP3_CMD_PASS}, {"APOP", POP3_CMD_APOP},
	{"AUTH", POP3_CMD_AUTH}, {"STLS", POP3_CMD_STLS}, {"CAPA", POP3_CMD_CAPA},
	{"UTF8", POP3_CMD_UTF8}, {"LANG", POP3_CMD_LANG}, {"STAT", POP3_CMD_STAT},
	{"LIST", POP3_CMD_LIST}, {"RETR", POP3_CMD_RETR}, {"DELE", POP3_CMD_DELE},
	{"NOOP", POP3_CMD_NOOP}, {"RSET", POP3_CMD_RSET}, {"QUIT", POP3_CMD_QUIT},
	{"TOP", POP3_CMD_TOP},   {"UIDL", POP3_CMD_UIDL},
};

/* Control bytes would let a peer forge log lines or confuse the state
 * machine; tab is allowed because some clients put it in passwords. */
static bool pop3_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool pop3_keyword_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static enum pop3_cmd_id pop3_lookup(const char *kw, size_t len)
{
	for (size_t i = 0; i < sizeof(pop3_keywords) / sizeof(pop3_keywords[0]); i++) {
		const char *name = pop3_keywords[i].name;
		if (strlen(name) == len && strncasecmp(name, kw, len) == 0)
			return pop3_keywords[i].id;
	}
	return POP3_CMD_UNKNOWN;
}

/* Split rest (which followed "KEYWORD ") on single spaces. Returns false if
 * there are more than POP3_MAX_ARGS pieces (argv keeps the first ones). */
static bool pop3_split_args(struct pop3_command *cmd)
{
	const char *p = cmd->rest.ptr;
	const char *end = p + cmd->rest.len;
	for (;;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *stop = sp != NULL ? sp : end;
		if (cmd->argc == POP3_MAX_ARGS)
			return false;
		cmd->argv[cmd->argc].ptr = p;
		cmd->argv[cmd->argc].len = (size_t)(stop - p);
		cmd->argc++;
		if (sp == NULL)
			return true;
		p = sp + 1;
	}
}

enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->rest.ptr = line;
	if (len == 0)
		return POP3_PARSE_EMPTY;
	for (size_t i = 0; i < len; i++) {
		if (pop3_bad_byte((unsigned char)line[i]))
			return POP3_PARSE_BAD_CHAR;
	}

	const char *sp = memchr(line, ' ', len);
	size_t kwlen = sp != NULL ? (size_t)(sp - line) : len;
	if (kwlen == 0 || kwlen > POP3_MAX_KEYWORD)
		return POP3_PARSE_BAD_KEYWORD;
	for (size_t i = 0; i < kwlen; i++) {
		if (!pop3_keyword_char((unsigned char)line[i]))
			return POP3_PARSE_BAD_KEYWORD;
	}
	cmd->keyword.ptr = line;
	cmd->keyword.len = kwlen;
	cmd->id = pop3_lookup(line, kwlen);
	cmd->rest.ptr = line + kwlen;
	if (sp == NULL)
		return POP3_PARSE_OK;

	cmd->rest.ptr = sp + 1;
	cmd->rest.len = len - kwlen - 1;
	if (cmd->id == POP3_CMD_PASS) {
		/* RFC 1939 7: the password may contain spaces, so PASS has
		 * exactly one argument: everything after "PASS ". */
		cmd->argc = 1;
		cmd->argv[0] = cmd->rest;
		return POP3_PARSE_OK;
	}
	/* An unknown command is answered as unknown whatever its arguments;
	 * argv then holds the first POP3_MAX_ARGS of them. */
	if (!pop3_split_args(cmd) && cmd->id != POP3_CMD_UNKNOWN)
		return POP3_PARSE_TOO_MANY_ARGS;
	return POP3_PARSE_OK;
}

/* Digits only: strnum refuses signs, spaces and empty input for us. */
bool pop3_parse_msgnum(struct pop3_span arg, size_t count, size_t *index_r)
{
	uint64_t n;
	if (!strnum_u64(arg.ptr, arg.len, SIZE_MAX, &n))
		return false;
	if (n < 1 || n > count)
		return false;
	*index_r = (size_t)(n - 1);
	return true;
}

bool pop3_parse_linecount(struct pop3_span arg, size_t *lines_r)
{
	if (arg.len == 0)
		return false;
	for (size_t i = 0; i < arg.len; i++) {
		if (arg.ptr[i] < '0' || arg.ptr[i] > '9')
			return false;
	}
	uint64_t n;
	/* All digits: the only way strnum can fail now is overflow, and a
	 * count beyond SIZE_MAX means "the whole body". */
	if (!strnum_u64(arg.ptr, arg.len, SIZE_MAX, &n))
		n = SIZE_MAX;
	*lines_r = (size_t)n;
	return true;
}
