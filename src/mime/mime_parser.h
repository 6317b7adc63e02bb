/*
 * mime_parser.h - build a message's structure tree (mime_tree.h) from its
 * bytes, streaming.
 *
 * The caller feeds the stored message in chunks of any size (a byte at a
 * time gives the same tree as the whole buffer at once) and then calls
 * mime_parser_finish(). The parser does no I/O, never fails and never
 * rejects input: anything malformed still gives a valid tree (RFC 2045
 * defaults, RFC 2046 5.1 recovery), and the limits of mime_tree.h bound
 * its memory: at most one header line and one field value
 * (MIME_MAX_FIELD each), the boundaries of the open multiparts, and the
 * tree itself.
 *
 * What it follows (details in mime_parser.c):
 * - lines end in LF or CRLF, mixed freely; a lone CR is an ordinary byte;
 * - a header ends at its first empty line, or at a boundary line of an
 *   enclosing multipart, or at the end of the message;
 * - a boundary line is "--" + a boundary of an open multipart at the start
 *   of a line; only the start must match (RFC 2046 5.1.1), the longest
 *   match wins, an exact match of the innermost stops the search; "--"
 *   right after the boundary closes the multipart; the line break before a
 *   boundary line belongs to it (even that of the empty line ending a
 *   header) unless it ends a boundary line;
 * - multipart/\* without a boundary parameter has no parts; a missing
 *   closing boundary ends at the enclosing boundary or the end;
 * - message/rfc822 (and a part without Content-Type in multipart/digest)
 *   contains a message, whatever its Content-Transfer-Encoding;
 * - of repeated Content-* fields the first counts; envelope fields are
 *   all kept (mime_imap.h decides how repeats are shown);
 * - in a message header (part 0, or inside message/rfc822) Content-*
 *   fields count only with MIME-Version or Content-Type (RFC 2045 4;
 *   Content-Type alone is accepted, as Dovecot does);
 * - a boundary longer than MIME_MAX_BOUNDARY is compared on its first
 *   MIME_MAX_BOUNDARY bytes, and its closing line is recognised only
 *   without trailing white space.
 */
#ifndef YUBIN_MIME_PARSER_H
#define YUBIN_MIME_PARSER_H

#include "mime/mime_tree.h"

#include <stddef.h>

struct mime_parser;

struct mime_parser *mime_parser_new(void);

/* Feed the next len bytes of the message (len may be 0). */
void mime_parser_feed(struct mime_parser *p, const void *data, size_t len);

/* End of the message: frees the parser, sets *p to NULL and returns the
 * tree (never NULL; free it with mime_tree_free). */
struct mime_tree *mime_parser_finish(struct mime_parser **p);

/* Abandon a parse (NULL is fine). */
void mime_parser_free(struct mime_parser **p);

/* The whole message at once. */
struct mime_tree *mime_parse(const void *data, size_t len);

#endif
