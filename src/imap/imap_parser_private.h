/*
 * imap_parser_private.h - the parser's state, shared by imap_parser.c (the
 * public calls, literals, resync, line mode), imap_parser_lex.c (the byte
 * state machine of the command grammar) and imap_parser_tree.c (the value
 * buffer, the argument nodes and their publication). Not for other users.
 */
#ifndef YUBIN_IMAP_IMAP_PARSER_PRIVATE_H
#define YUBIN_IMAP_IMAP_PARSER_PRIVATE_H

#include "imap_parser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_pstate {
	IMAP_PS_TAG,        /* reading the tag */
	IMAP_PS_NAME,       /* reading the command name */
	IMAP_PS_ARG,        /* a value must start here */
	IMAP_PS_AFTER,      /* a value ended: SP, ")", "]" or the line end */
	IMAP_PS_ATOM,       /* inside an atom */
	IMAP_PS_TILDE,      /* "~" at a value start: literal8 or an atom */
	IMAP_PS_QUOTED,     /* inside a quoted string */
	IMAP_PS_QUOTED_ESC, /* after "\" inside a quoted string */
	IMAP_PS_LIT_OPEN,   /* after "{": a digit must follow */
	IMAP_PS_LIT_DIGITS, /* digits of the size */
	IMAP_PS_LIT_PLUS,   /* after "+": "}" must follow */
	IMAP_PS_LIT_CLOSE,  /* after "}": the line must end */
	IMAP_PS_LIT_CR,     /* after "}" CR */
	IMAP_PS_SUFFIX,     /* atom characters after a section's "]" */
	IMAP_PS_CR,         /* CR at the end of the command line */
	IMAP_PS_DECIDE,     /* LITERAL returned: waiting for a decision */
	IMAP_PS_LIT_DATA,   /* storing literal data */
	IMAP_PS_STREAM,     /* the caller takes literal data */
	IMAP_PS_DONE,       /* COMMAND or LINE returned */
	IMAP_PS_ERROR,      /* ERROR returned, no resync yet */
	IMAP_PS_SKIP_DATA,  /* resync: discarding literal data */
	IMAP_PS_SKIP_LINE,  /* resync: discarding up to the end of a line */
	IMAP_PS_LINE,       /* line mode */
};

/* What the lexer did with one byte. */
enum imap_lex_status {
	IMAP_LEX_OK,          /* consumed, go on */
	IMAP_LEX_COMMAND,     /* consumed the final LF: a command is complete */
	IMAP_LEX_LITERAL,     /* consumed the LF of "{n}": decide */
	IMAP_LEX_ERROR,       /* not consumed: error set */
};

#define IMAP_NODE_NONE UINT32_MAX

/* An argument while parsing: offsets, not pointers, because the buffer
 * may move while it grows. Node 0 is the root (the argument list). */
struct imap_pnode {
	enum imap_arg_type type;
	unsigned flags;
	size_t off, len;               /* text in buf (STREAMED: len = size) */
	size_t suffix_off, suffix_len; /* SECTION */
	uint32_t first, last, next;    /* children and sibling links */
	size_t count;                  /* children */
};

/* Recognises "{digits[+]}" right before a line end while discarding,
 * so that a non-synchronizing literal inside a failed command is skipped
 * too (RFC 7888 3). Fed with every line byte. */
struct imap_tail {
	unsigned state;
	bool plus;
	bool overflow;
	uint64_t n;
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum imap_pstate state;

	/* values: NUL-terminated texts, appended in arrival order */
	char *buf;
	size_t len, cap;

	/* argument nodes, then their published form */
	struct imap_pnode *nodes;
	size_t nnodes, ncap;
	struct imap_arg *pub;
	uint32_t *pub_src;
	size_t pubcap;
	bool published;
	struct imap_command cmd;

	/* open lists and sections: stack[0] is the root */
	uint32_t stack[IMAP_PARSER_DEPTH_CAP + 1];
	unsigned depth;
	bool in_section;
	uint32_t cur; /* node being built (atom, quoted, literal) */

	size_t tag_off, tag_len, name_off, name_len;
	bool have_tag;

	size_t line_len;  /* bytes of the current line so far */
	size_t cmd_bytes; /* line bytes and stored literal bytes so far */
	bool busy;

	/* a literal announcement, then its data */
	uint64_t lit_n;
	bool lit_overflow, lit_plus, lit8;
	struct imap_literal lit;
	uint64_t remaining;

	/* UTF-8 in quoted strings: continuation bytes still expected and
	 * the range allowed for the next one (RFC 3629 4) */
	unsigned u8_need;
	unsigned char u8_lo, u8_hi;

	/* resync: the tail recogniser, and whether the rest of a line
	 * follows the literal data to discard (p->remaining) */
	struct imap_tail tail;
	bool resync_line;

	/* line mode */
	bool line_mode, pending_cr;

	struct imap_parse_error err;
};

/* imap_parser_tree.c */
void imap_parser_tree_init(struct imap_parser *p);
void imap_parser_tree_deinit(struct imap_parser *p);
/* Empty everything for a new command; shrink if it grew large. */
void imap_parser_tree_reset(struct imap_parser *p);
void imap_parser_tree_reserve(struct imap_parser *p, size_t extra);
void imap_parser_tree_putc(struct imap_parser *p, char c);
void imap_parser_tree_put(struct imap_parser *p, const void *data, size_t n);
/* Add a child of the innermost open list/section; its text starts at the
 * buffer's end. False (no node) if limits.max_args would be exceeded. */
bool imap_parser_tree_add(struct imap_parser *p, enum imap_arg_type type, uint32_t *index_r);
/* Build p->cmd and the public argument tree (if not done since the last
 * change). */
void imap_parser_tree_publish(struct imap_parser *p);

/* imap_parser_lex.c */
enum imap_lex_status imap_parser_lex_byte(struct imap_parser *p, unsigned char c);
void imap_parser_tail_reset(struct imap_tail *t);
void imap_parser_tail_byte(struct imap_tail *t, unsigned char c);
/* At a line end: true if the line ended with a literal announcement. */
bool imap_parser_tail_literal(const struct imap_tail *t);

/* imap_parser.c */
/* Record an error (the state becomes IMAP_PS_ERROR). */
void imap_parser_fail(struct imap_parser *p, enum imap_parse_error_code code, const char *reason);

#endif
