/*
 * mime_parser_private.h - the parser's state, shared by mime_parser.c
 * (lines, boundaries, parts) and mime_parser_header.c (header fields);
 * internal to src/mime/.
 */
#ifndef YUBIN_MIME_PARSER_PRIVATE_H
#define YUBIN_MIME_PARSER_PRIVATE_H

#include "mime/mime_parser.h"

#include "lib/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* Bytes of a body line kept for the boundary comparison: "--", the
 * boundary, "--" and one more to know whether the line is longer. */
#define BODY_KEEP (MIME_MAX_BOUNDARY + 5)
/* a header line: the name, the colon, white space and MIME_MAX_FIELD */
#define HEADER_KEEP (MIME_MAX_FIELD + 256)

struct counters {
	uint64_t pos;  /* raw offset */
	uint64_t crlf; /* offset in CRLF form */
	uint64_t nl;   /* LFs before it */
};

struct open_part {
	uint32_t part;
	bool in_header;
	bool digest; /* multipart/digest: children default to message/rfc822 */
	bool active; /* multipart whose boundary has not been closed */
	struct counters hdr, body;
	size_t blen;  /* bytes of the boundary kept, at most MIME_MAX_BOUNDARY */
	size_t bfull; /* its real length */
	char boundary[MIME_MAX_BOUNDARY];
};

struct mime_parser {
	struct mime_tree *t;
	struct open_part stack[MIME_MAX_DEPTH + 1];
	unsigned depth;   /* open parts */
	unsigned nactive; /* open parts with an active boundary */

	struct counters at; /* the current position */
	bool prev_cr;       /* the last byte of the current line was CR */

	bool in_line;
	struct counters line; /* where the current line starts */
	uint64_t line_len;    /* its raw bytes so far, without the LF */
	size_t keep, kept;    /* bytes of it to keep, kept */
	char *lbuf;           /* HEADER_KEEP bytes */
	char last[3];         /* its last three bytes */
	char tail[2];         /* the last two without the CR of CRLF */

	unsigned prev_eol; /* terminator length of the previous line */
	enum { PREV_BOUNDARY, PREV_HEADER, PREV_BODY } prev_kind; /* ... what it was */
	unsigned prev_hdr; /* PREV_HEADER: stack index of the part it belonged to */

	/* the header being read (mime_parser_header.c) */
	int field; /* the field being collected, or -1 */
	struct buf fbuf;
	bool field_cut;
	unsigned seen;                    /* F_* bits of Content-* fields seen in this header */
	unsigned nenv;                    /* envelope fields kept from this header */
	bool is_message;                  /* this header is a message header */
	uint32_t hdr_nparams, hdr_nlangs; /* array sizes when it started */
};

/* A new header starts (of a message header: envelope fields are kept). */
void mime_parser_header_start(struct mime_parser *p, bool is_message);

/* A header line that is not empty and not a boundary line; n bytes of it
 * are in line, true_len is its real length (more if it was cut). */
void mime_parser_header_line(struct mime_parser *p, const char *line, size_t n, uint64_t true_len);

/* The field being collected is complete (a boundary line came). */
void mime_parser_header_finish(struct mime_parser *p);

/* The header of part i ended: store the last field, apply RFC 2045 4. */
void mime_parser_header_end(struct mime_parser *p, uint32_t i);

#endif
