/*
 * lmtp_parser.h - LMTP command lines into commands (pure: no I/O).
 *
 * LMTP (RFC 2033) is SMTP (RFC 5321) with LHLO instead of EHLO and one
 * reply per recipient after DATA. This module parses command lines
 * (without the line ending) and the MAIL FROM / RCPT TO paths and
 * parameters. It does not decide anything about users.
 */
#ifndef YUBIN_LMTP_LMTP_PARSER_H
#define YUBIN_LMTP_LMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.4: 512 octets including CRLF; we allow room for the
 * extension parameters that RFC 1870/6152/6531 add. */
#define LMTP_MAX_LINE 2048
/* RFC 5321 4.5.3.1.3: 256 octets for a path, including the brackets. */
#define LMTP_MAX_PATH 256

enum lmtp_cmd_id {
	LMTP_CMD_UNKNOWN = 0,
	LMTP_CMD_LHLO,
	LMTP_CMD_HELO, /* not LMTP: refused with a hint */
	LMTP_CMD_EHLO, /* not LMTP: refused with a hint */
	LMTP_CMD_MAIL,
	LMTP_CMD_RCPT,
	LMTP_CMD_DATA,
	LMTP_CMD_BDAT,
	LMTP_CMD_RSET,
	LMTP_CMD_NOOP,
	LMTP_CMD_QUIT,
	LMTP_CMD_VRFY,
	LMTP_CMD_HELP,
};

struct lmtp_command {
	enum lmtp_cmd_id id;
	const char *arg; /* after the verb and its space(s); points into the line */
	size_t arg_len;
};

/* Parse the verb. "MAIL FROM:" and "RCPT TO:" are matched as verbs MAIL and
 * RCPT with arg starting at "FROM:"/"TO:". False only for a line that is
 * empty or contains NUL/control bytes other than tab. */
bool lmtp_parse_command(const char *line, size_t len, struct lmtp_command *cmd);

enum lmtp_body_type { LMTP_BODY_7BIT, LMTP_BODY_8BITMIME, LMTP_BODY_BINARYMIME };

struct lmtp_mail_from {
	char path[LMTP_MAX_PATH + 1]; /* the address without <>; "" for the null path */
	uint64_t size;                /* SIZE= value, 0 if absent */
	bool has_size;
	enum lmtp_body_type body;
	bool smtputf8;
};

struct lmtp_rcpt_to {
	char path[LMTP_MAX_PATH + 1]; /* local@domain (or just local) without <> */
	char local[LMTP_MAX_PATH + 1]; /* unquoted local part */
	char domain[LMTP_MAX_PATH + 1]; /* "" if none */
};

/*
 * Parse the argument of MAIL ("FROM:<path> [params]") or RCPT
 * ("TO:<path> [params]"). Spaces after the colon are tolerated (common
 * clients send them). Source routes ("<@a,@b:user@c>") are accepted and
 * dropped (RFC 5321 4.1.1.3). Parameters: MAIL knows SIZE, BODY, SMTPUTF8,
 * and accepts RET/ENVID/AUTH (ignored); RCPT accepts NOTIFY/ORCPT
 * (ignored). Any other parameter or a malformed path fails; *why_r then
 * names the problem for a 501/555 reply (a constant string).
 */
bool lmtp_parse_mail_from(const char *arg, size_t len, struct lmtp_mail_from *out,
			  const char **why_r);
bool lmtp_parse_rcpt_to(const char *arg, size_t len, struct lmtp_rcpt_to *out,
			const char **why_r);

/* BDAT argument: "<size> [LAST]" (RFC 3030). */
bool lmtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r, bool *last_r);

#endif
