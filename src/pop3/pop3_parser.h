/*
 * pop3_parser.h - POP3 command lines into commands (pure: no I/O).
 *
 * The connection layer splits input into lines (without the CRLF or LF) and
 * hands each one here. RFC 1939 3: a command is a case-insensitive keyword,
 * possibly followed by arguments separated by single spaces. RFC 2449 4
 * bounds keywords at 4 characters, arguments at 40 and the line at 255
 * octets; we accept longer lines (POP3_MAX_LINE) because PASS passwords and
 * AUTH initial responses legitimately exceed that.
 */
#ifndef YUBIN_POP3_POP3_PARSER_H
#define YUBIN_POP3_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>

/* Longest command line we read, without CRLF. A longer line is answered
 * with -ERR and the connection is closed (we cannot know where the next
 * command starts). The limit before login is the same: passwords and SASL
 * initial responses arrive before login. */
#define POP3_MAX_LINE 1024
/* Longest SASL continuation line (RFC 5034 4: unbounded; we bound it). */
#define POP3_MAX_SASL_LINE 8192
/* Most arguments any command takes (TOP msg n). More is a syntax error. */
#define POP3_MAX_ARGS 2

enum pop3_cmd_id {
	POP3_CMD_UNKNOWN = 0,
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_UTF8,
	POP3_CMD_LANG,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_QUIT,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
};

struct pop3_span {
	const char *ptr; /* points into the line given to pop3_parse_line() */
	size_t len;
};

struct pop3_command {
	enum pop3_cmd_id id;
	struct pop3_span keyword; /* as sent */
	size_t argc;
	struct pop3_span argv[POP3_MAX_ARGS];
	/* Everything after the keyword and one space, verbatim (may contain
	 * spaces): PASS takes its password from here (RFC 1939 7 notes that
	 * passwords may contain spaces). Empty if no argument. */
	struct pop3_span rest;
};

enum pop3_parse_result {
	POP3_PARSE_OK,
	POP3_PARSE_EMPTY,          /* empty line */
	POP3_PARSE_BAD_CHAR,       /* NUL or other control byte in the line */
	POP3_PARSE_TOO_MANY_ARGS,  /* more than POP3_MAX_ARGS space-separated arguments */
	POP3_PARSE_BAD_KEYWORD,    /* keyword longer than 8 or not ASCII letters/digits */
};

/*
 * Parse one line (without line ending). An unknown but well-formed keyword
 * gives POP3_PARSE_OK with id POP3_CMD_UNKNOWN. Arguments are split on single
 * spaces; empty arguments (two spaces in a row) are kept as zero-length
 * spans so that the command handler can reject them. For PASS, argc/argv
 * are not meaningful if the password has spaces: use rest. Tab (0x09) and
 * bytes >= 0x80 are allowed (UTF-8 user names and passwords, RFC 6856).
 */
enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_command *cmd);

/*
 * A message-number argument (RFC 1939 5: 1-based, decimal, no sign or
 * leading '+'); true and *index_r = n - 1 if 1 <= n <= count.
 */
bool pop3_parse_msgnum(struct pop3_span arg, size_t count, size_t *index_r);

/* A non-negative line count for TOP (decimal; huge values are clamped to
 * SIZE_MAX rather than refused: "TOP 1 99999999999" means the whole body). */
bool pop3_parse_linecount(struct pop3_span arg, size_t *lines_r);

#endif
