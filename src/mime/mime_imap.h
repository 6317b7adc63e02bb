/*
 * mime_imap.h - FETCH BODYSTRUCTURE, BODY and ENVELOPE from a mime_tree
 * (RFC 9051 7.5.2, RFC 3501 7.4.2), and the IMAP string forms they use.
 *
 * Output is byte-for-byte what Dovecot 2.3.19 sends for the same message
 * (tests/unit/test_mime_imap.c records its output for realistic messages
 * and edge cases), except where we differ on purpose, on malformed input:
 * - an invalid Content-Type means text/plain (RFC 2045 5.2); Dovecot shows
 *   what it could read, e.g. "text" "";
 * - a parameter without a value is skipped (Dovecot drops every later
 *   parameter, or keeps an empty name); an unquoted value runs to ';' or
 *   white space ("----=_Part_1"), Dovecot stops at '=';
 * - a lone extended RFC 2231 parameter "name*" keeps its name (Dovecot
 *   renames it after the previous parameter's section number);
 * - addresses: empty list members are skipped (RFC 5322 4.4), "<a@b"
 *   without '>' keeps its domain, "a . b @ c" (obsolete CFWS) is parsed;
 * - NUL is sent as U+FFFD (Dovecot: 0x80 in subjects and names);
 * - BODY of a single text/plain part shows the type as written (Dovecot
 *   writes "text" "plain" in lower case there, unlike its BODYSTRUCTURE);
 * - limits: see mime_tree.h (Dovecot nests 100 deep, and past its part
 *   limit stops seeing boundaries, so the rest joins the last part).
 *
 * Strings (RFC 9051 4.3) are written as:
 * - NIL when absent;
 * - a quoted string when every byte is 0x01-0x7f except CR and LF and at
 *   most 4 of them are '"' or '\' (escaped); with MIME_IMAP_UTF8, valid
 *   UTF-8 is allowed in quoted strings too (IMAP4rev2, UTF8=ACCEPT);
 * - otherwise a literal, {n} CRLF and the bytes (8-bit text is sent as
 *   it is in the header). NUL cannot be sent at all (CHAR8): it becomes
 *   U+FFFD.
 * Header text (Content-ID, -Description, -MD5, -Location, Date,
 * In-Reply-To, Message-ID) is unfolded: CR/LF before white space go, any
 * other CR/LF becomes a space. Text for humans (Subject, display names)
 * has each run of white space turned into one space and is trimmed, and
 * is sent quoted only if that changed nothing and it contains no '"',
 * '\' or 8-bit byte.
 *
 * Every function appends to out and returns false if out's maximum was
 * reached (the output is then incomplete and must not be sent).
 */
#ifndef YUBIN_MIME_IMAP_H
#define YUBIN_MIME_IMAP_H

#include "lib/buf.h"
#include "mime/mime_tree.h"

#include <stdbool.h>
#include <stddef.h>

/* Valid UTF-8 may be sent in quoted strings (IMAP4rev2 / UTF8=ACCEPT). */
#define MIME_IMAP_UTF8 0x01u

/*
 * BODYSTRUCTURE (extended = true) or BODY (false) of part i, with its
 * parentheses. For the FETCH item use part 0. RFC 9051 7.5.2 and 9
 * (body-type-*, body-ext-*): multipart extension data is parameters,
 * disposition, language, location; single-part adds MD5 first. A
 * multipart with no body parts (no boundary, or none found) shows one
 * empty text/plain part, since the grammar needs one.
 */
bool mime_imap_bodystructure(const struct mime_tree *t, uint32_t i, bool extended, unsigned flags,
                             struct buf *out);

/*
 * ENVELOPE of the message whose header is part i's (part 0 for the FETCH
 * item; mime_part_is_message(t, i)), with its parentheses: date, subject,
 * from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. Sender and
 * reply-to default to from (RFC 9051 7.5.2). Of repeated Date, Subject,
 * In-Reply-To and Message-ID fields the last counts; repeated address
 * fields are joined into one list. For a part that is not a message
 * header every field is NIL.
 */
bool mime_imap_envelope(const struct mime_tree *t, uint32_t i, unsigned flags, struct buf *out);

/* The string forms above, for other FETCH items: s == NULL writes NIL. */
bool mime_imap_nstring(struct buf *out, const char *s, size_t len, unsigned flags);
/* ... with header unfolding */
bool mime_imap_nstring_nolf(struct buf *out, const char *s, size_t len, unsigned flags);
/* ... as text for humans */
bool mime_imap_human(struct buf *out, const char *s, size_t len, unsigned flags);

#endif
