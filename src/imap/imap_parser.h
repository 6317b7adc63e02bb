/*
 * imap_parser.h - IMAP client commands into argument trees, incrementally
 * (pure: no I/O).
 *
 * The connection layer feeds bytes as they arrive, in chunks of any size
 * (one byte at a time gives the same results as the whole buffer). The
 * parser copies what it keeps into a buffer it owns and reports:
 *
 *   NEED_MORE     all input was used; feed more when it arrives.
 *   LITERAL       a literal was announced ("{n}", "{n+}", "~{n}", "~{n+}"
 *                 followed by CRLF): the caller decides (below) whether it
 *                 is stored, streamed or refused. For a synchronizing
 *                 literal the client waits for a "+" continuation, which
 *                 the caller sends after a successful store or stream
 *                 decision (RFC 9051 4.3, 7.5).
 *   LITERAL_DATA  (streamed literals only) input[0..consumed) is literal
 *                 data for the caller to take; the parser keeps none of it.
 *   LITERAL_END   (streamed literals only) the literal is complete; the
 *                 next feed goes on parsing the rest of the command.
 *   COMMAND       a whole command is available: imap_parser_command().
 *   LINE          (line mode, imap_parser_feed_line) a line is available.
 *   ERROR         imap_parser_error() has a short reason for "tag BAD
 *                 reason" and, once it was read, the tag.
 *
 * Every call reports through *consumed_r how many input bytes it used; the
 * rest belongs to the caller, to be fed again (with more input appended)
 * in the next call. A call stops at the first event, so pipelined commands
 * come out one at a time.
 *
 * Grammar (RFC 9051 9, with RFC 3501 9 where rev1 differs):
 *   command  = tag SP name *(SP value) CRLF
 *   tag      = 1*<ASTRING-CHAR except "+">
 *   name     = atom (kept as sent; compare case-insensitively)
 *   value    = atom / quoted / literal / literal8 / "(" [value *(SP value)] ")"
 *            / section
 * Exactly one SP separates values; no leading, trailing or double spaces
 * (RFC 9051 9, note 2). A line ends with CRLF; a bare LF is accepted too,
 * a CR anywhere else is an error. NUL is refused everywhere except inside
 * literal8 data (RFC 9051 9, note 3). An empty line is an error ("Empty
 * command line"), like any other malformed command.
 *
 * Atoms are taken broadly so that one tokenizer serves every command: any
 * CHAR except SP, CTL, "(", ")", "{", DQUOTE, with "\" allowed only as the
 * first character (flags: "\Seen"). So list wildcards ("*", "%": LIST
 * patterns, "1:*"), resp-specials ("]": ASTRING-CHAR) and "[" are atom
 * characters; the command handler checks what it expects (number, flag,
 * sequence set...). "NIL" (any case) is reported as IMAP_ARG_NIL, with
 * its text kept so that an astring "NIL" (a mailbox) still works. 8-bit
 * bytes are refused in atoms (CHAR is 7-bit); in quoted strings they must
 * be well-formed UTF-8 (RFC 9051 4.3.1: IMAP4rev2 servers MUST accept
 * UTF-8 in quoted strings; RFC 3629 rules: no overlongs, no surrogates).
 *
 * Sections (the FETCH "fetch-att" syntax): an atom whose text before "["
 * is BODY, BODY.PEEK, BINARY, BINARY.PEEK or BINARY.SIZE (any case) opens
 * a section: what follows up to the matching "]" is parsed as values
 * (atoms stop at "]" there), and atom characters right after the "]" are
 * kept as the suffix (the partial, "<0.100>"). It becomes one
 * IMAP_ARG_SECTION:
 *   BODY[HEADER.FIELDS (From To)]<0.100>
 *     -> SECTION str "BODY", list [ATOM "HEADER.FIELDS", LIST [ATOM "From",
 *        ATOM "To"]], suffix "<0.100>"
 *   BODY.PEEK[1.2.MIME] -> SECTION "BODY.PEEK", [ATOM "1.2.MIME"], suffix ""
 *   BINARY[]            -> SECTION "BINARY", [], ""
 * Sections do not nest. Any other "[" is an ordinary atom character
 * ("[Gmail]/Sent" is an atom). Limitation: a mailbox sent as an atom
 * starting with "BODY[" etc. is parsed as a section (clients quote such
 * names in practice).
 *
 * Literals. Non-synchronizing literals ({n+}, RFC 7888) larger than
 * limits.max_nonsync are refused (IMAP_PERR_NONSYNC): 0 = none allowed
 * (rev1 without LITERAL+), IMAP_LITERAL_MINUS_MAX for LITERAL- and
 * IMAP4rev2 (RFC 9051 4.3), IMAP_NONSYNC_ANY for LITERAL+. Literals larger
 * than limits.max_literal are refused whatever the form (IMAP_PERR_TOO_BIG).
 * Everything else is reported as LITERAL and the caller calls exactly one
 * of:
 *   imap_parser_literal_store(p)   keep it in memory (as IMAP_ARG_LITERAL);
 *       fails with IMAP_PERR_TOO_BIG if the command would exceed
 *       limits.max_command;
 *   imap_parser_literal_stream(p)  the caller takes the bytes itself through
 *       LITERAL_DATA events (APPEND message bodies); the argument becomes
 *       IMAP_ARG_STREAMED with len = size and no data. Streamed bytes are
 *       not inspected (a NUL in a non-literal8 APPEND body is the caller's
 *       to refuse) and do not count towards max_command;
 *   imap_parser_literal_refuse(p)  drop the command (the caller answers
 *       "tag NO/BAD ..."): the parser skips what the client still sends of
 *       it (nothing for a synchronizing literal, RFC 9051 7.5; the literal
 *       and the rest of the command for a non-synchronizing one, RFC 7888 4).
 *
 * Errors and resynchronisation. Every limit violation is an ERROR that
 * says so, never a truncation. After ERROR the caller either closes the
 * connection or calls imap_parser_resync(), which makes the following
 * feeds discard the rest of the failed command as the client sends it:
 * up to the end of the line, and whenever a discarded line ends with a
 * non-synchronizing literal announcement, that many bytes and the next
 * line too (RFC 7888 3: the server MUST check the end of every line for
 * "{n+}"). A line ending with a synchronizing announcement ends the
 * command: the client waits for a "+" that never comes and takes the
 * tagged BAD as the end of its command. A fatal error (a non-synchronizing
 * literal whose size cannot be represented) cannot be resynchronised.
 *
 * Line mode (IDLE's "DONE", AUTHENTICATE continuation lines): between
 * commands, imap_parser_feed_line() reads one plain line (no literals, no
 * tokens) of at most limits.max_line bytes.
 *
 * Memory: the parser allocates (lib/mem.h) its value buffer and argument
 * nodes, growing on demand up to what the limits allow (about
 * max_command + max_args bytes of text and max_args nodes); a parser that
 * grew over IMAP_PARSER_KEEP_BYTES shrinks back when the next command
 * starts, so an idle connection stays small.
 */
#ifndef YUBIN_IMAP_IMAP_PARSER_H
#define YUBIN_IMAP_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ---- */

/* Longest line outside literals, without its CRLF. RFC 7162 4 asks
 * servers to accept at least 8192 octets; long UID sets and SEARCH
 * programs from real clients need more. */
#define IMAP_MAX_LINE (64 * 1024)
/* Before authentication only CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE
 * (with a SASL-IR initial response), ID, ENABLE... are possible. The
 * longest of them is a legal ID (RFC 2971 3.3: 30 fields of up to 30
 * octets with values of up to 1024): about 32 KiB. */
#define IMAP_MAX_LINE_PREAUTH (40 * 1024)
/* Whole command, not counting streamed literals: every line byte plus
 * every stored literal. */
#define IMAP_MAX_COMMAND (256 * 1024)
#define IMAP_MAX_COMMAND_PREAUTH (48 * 1024)
/* Largest literal of any kind, stored or streamed. Sessions should set the
 * configured message size limit (RFC 7889 APPENDLIMIT) here. */
#define IMAP_MAX_LITERAL (64 * 1024 * 1024)
/* Literals over 8 KiB are refused before login: a LOGIN password or an ID
 * value never needs more. */
#define IMAP_MAX_LITERAL_PREAUTH 8192
/* RFC 7888 5 (LITERAL-) and RFC 9051 4.3: non-synchronizing literals up
 * to 4096 octets. IMAP_NONSYNC_ANY: LITERAL+ (RFC 7888 3). */
#define IMAP_LITERAL_MINUS_MAX 4096
#define IMAP_NONSYNC_ANY UINT64_MAX
/* Parenthesis (and section) nesting. Nothing in RFC 9051 nests deeply in
 * a command: SEARCH "(OR (...) ...)" is the deepest real use. */
#define IMAP_MAX_DEPTH 32
#define IMAP_MAX_DEPTH_PREAUTH 8
/* Hard ceiling for limits.max_depth (the parser's stack). */
#define IMAP_PARSER_DEPTH_CAP 64
/* Argument nodes per command: every value, list and section counts. */
#define IMAP_MAX_ARGS 4096
#define IMAP_MAX_ARGS_PREAUTH 128
/* RFC 9051 9 number64: literal sizes beyond this are not numbers. */
#define IMAP_NUMBER64_MAX INT64_MAX
/* A parser that grew beyond this shrinks when the next command starts. */
#define IMAP_PARSER_KEEP_BYTES (16 * 1024)

struct imap_parser_limits {
	size_t max_line;
	size_t max_command;
	uint64_t max_literal;
	uint64_t max_nonsync; /* 0: no {n+}; IMAP_LITERAL_MINUS_MAX; IMAP_NONSYNC_ANY */
	unsigned max_depth;   /* 1 .. IMAP_PARSER_DEPTH_CAP */
	size_t max_args;
};

/* The defaults above: the _PREAUTH values unless authenticated; max_nonsync
 * is IMAP_LITERAL_MINUS_MAX in both. */
void imap_parser_limits_default(struct imap_parser_limits *limits, bool authenticated);

/* ---- the argument tree ---- */

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* str: the atom (numbers, sequence sets, flags too) */
	IMAP_ARG_NIL,      /* the atom NIL in any case; str: its text */
	IMAP_ARG_QUOTED,   /* str: the content, escapes removed */
	IMAP_ARG_LITERAL,  /* str: the stored data (literal8: may contain NUL) */
	IMAP_ARG_STREAMED, /* a streamed literal: len = its size, str = NULL */
	IMAP_ARG_LIST,     /* list/count: the items */
	IMAP_ARG_SECTION,  /* str: prefix before "[", list/count: the values
	                      inside the brackets, suffix: text after "]" */
};

/* flags, for IMAP_ARG_LITERAL and IMAP_ARG_STREAMED */
#define IMAP_ARG_NONSYNC 0x1u  /* sent as {n+} */
#define IMAP_ARG_LITERAL8 0x2u /* sent as ~{n} (RFC 3516 BINARY) */

struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	/* Text values are followed by a NUL byte (not counted in len) for
	 * convenience; only literal8 data may contain NUL itself. */
	const char *str;
	size_t len;
	const struct imap_arg *list; /* LIST, SECTION: count items in order */
	size_t count;
	const char *suffix; /* SECTION only: "" or e.g. "<0.100>" */
	size_t suffix_len;
};

struct imap_command {
	const char *tag; /* NUL-terminated */
	size_t tag_len;
	const char *name; /* as sent; NUL-terminated */
	size_t name_len;
	const struct imap_arg *args;
	size_t argc;
};

/* What was announced, valid with an IMAP_PARSE_LITERAL result. */
struct imap_literal {
	uint64_t size;
	bool sync;     /* {n}: the client waits for "+" */
	bool literal8; /* ~{n} */
	/* Where it goes: depth 0 is a top-level argument, index is the number
	 * of values before it in the same list (or at top level). */
	unsigned depth;
	size_t index;
};

/* ---- the parser ---- */

enum imap_parse_result {
	IMAP_PARSE_NEED_MORE,
	IMAP_PARSE_LITERAL,
	IMAP_PARSE_LITERAL_DATA,
	IMAP_PARSE_LITERAL_END,
	IMAP_PARSE_COMMAND,
	IMAP_PARSE_LINE,
	IMAP_PARSE_ERROR,
};

enum imap_parse_error_code {
	IMAP_PERR_SYNTAX,        /* not IMAP: "BAD" */
	IMAP_PERR_LINE_TOO_LONG, /* over max_line */
	IMAP_PERR_TOO_BIG,       /* over max_command or max_literal: "[TOOBIG]" */
	IMAP_PERR_NONSYNC,       /* {n+} over max_nonsync: "BAD [TOOBIG]" (RFC 7888 5) */
	IMAP_PERR_TOO_DEEP,      /* over max_depth */
	IMAP_PERR_TOO_MANY_ARGS, /* over max_args */
};

struct imap_parse_error {
	enum imap_parse_error_code code;
	const char *reason; /* a short constant English phrase, no CRLF */
	const char *tag;    /* NULL until a whole tag was read */
	size_t tag_len;
	/* Bytes of a non-synchronizing literal the client is sending that
	 * resync will discard (0 if none): a caller may prefer to say BYE and
	 * close when this is large (RFC 7888 4, choice 2). */
	uint64_t discard;
	bool fatal; /* resync is impossible: close the connection */
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);

/* Change the limits (e.g. after login). Only between commands: right
 * after COMMAND, LINE or a completed resync, or before any input. */
void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits);

/*
 * Feed input[0..len). Parses until an event or the end of the input and
 * returns it; *consumed_r is the number of bytes used (for LITERAL_DATA:
 * the data bytes, input[0..*consumed_r)). After COMMAND, the next call
 * starts the next command. After LITERAL, a decision (below) must come
 * before the next feed. After ERROR, call imap_parser_resync() or stop;
 * feeding without resync returns the same ERROR and consumes nothing.
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *input, size_t len,
					size_t *consumed_r);

/*
 * The command: complete after COMMAND; after LITERAL (and during the
 * LITERAL_DATA of a streamed one) the part parsed so far, open lists with
 * the items they have so far. Everything points into the parser and stays
 * valid until the next call of feed (except feeds returning LITERAL_DATA
 * or LITERAL_END), feed_line, a literal decision, resync or set_limits.
 */
const struct imap_command *imap_parser_command(struct imap_parser *p);

/* After LITERAL: the announcement. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);

/* The three decisions for a LITERAL. store returns IMAP_PARSE_NEED_MORE
 * (go on feeding) or IMAP_PARSE_ERROR (too big: then as for any error). */
enum imap_parse_result imap_parser_literal_store(struct imap_parser *p);
void imap_parser_literal_stream(struct imap_parser *p);
void imap_parser_literal_refuse(struct imap_parser *p);

/* Bytes of the streamed literal not yet delivered. */
uint64_t imap_parser_stream_remaining(const struct imap_parser *p);

/* After ERROR. */
const struct imap_parse_error *imap_parser_error(const struct imap_parser *p);

/* Discard the rest of the failed command as it arrives (see above). False
 * if the error was fatal: the connection must be closed. */
bool imap_parser_resync(struct imap_parser *p);

/*
 * Line mode: read one line (up to LF; a CR before the LF is removed) of at
 * most limits.max_line bytes. Only between commands. Returns NEED_MORE,
 * LINE (imap_parser_line) or ERROR (IMAP_PERR_LINE_TOO_LONG; resync then
 * discards up to the end of that line).
 */
enum imap_parse_result imap_parser_feed_line(struct imap_parser *p, const void *input, size_t len,
					     size_t *consumed_r);
/* After LINE: the line, NUL-terminated (it may contain NUL itself). Valid
 * until the next call that takes input. */
const char *imap_parser_line(const struct imap_parser *p, size_t *len_r);

/* True while part of a command (or line) has been consumed and not yet
 * returned or discarded: EOF now would cut a command. */
bool imap_parser_busy(const struct imap_parser *p);

#endif
