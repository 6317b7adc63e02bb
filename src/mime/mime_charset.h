/*
 * mime_charset.h - text to UTF-8 for SEARCH: charset conversion (glibc
 * iconv), RFC 2047 encoded words in header text, and UTF-8 clean-up.
 *
 * Everything appends to a bounded struct buf and is pure (no I/O; iconv
 * only loads its conversion modules). Output is always valid UTF-8: bytes
 * that cannot be converted become U+FFFD. An unknown charset is not an
 * error for the text around it (see each function).
 */
#ifndef YUBIN_MIME_CHARSET_H
#define YUBIN_MIME_CHARSET_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum mime_conv {
	MIME_CONV_OK,
	MIME_CONV_UNKNOWN, /* charset not known: ASCII kept, other bytes U+FFFD */
	MIME_CONV_FULL,    /* out reached its maximum: output cut there */
};

/*
 * Convert (in, len) from the charset named (name, name_len) (any case,
 * MIME or iconv names: UTF-8, US-ASCII, ISO-8859-*, Windows-125x, KOI8-R,
 * ISO-2022-JP, GB2312 (read as its superset GB18030), Big5, Shift_JIS,
 * EUC-*, ...) and append it to out. US-ASCII and UTF-8 (and an empty
 * name) are taken as UTF-8, since 8-bit bytes under US-ASCII are common.
 */
enum mime_conv mime_charset_to_utf8(const char *name, size_t name_len, const void *in, size_t len,
                                    struct buf *out);

/* True if the charset is known (mime_charset_to_utf8 would convert it). */
bool mime_charset_known(const char *name, size_t name_len);

/* Append (in, len): valid UTF-8 as it is, each invalid byte as U+FFFD.
 * False if out reached its maximum. */
bool mime_utf8_append(const void *in, size_t len, struct buf *out);
bool mime_utf8_valid(const void *in, size_t len);

/*
 * Decode a header value (RFC 2047), folded or not (line breaks are
 * dropped, the white space after them kept): every encoded word
 * ("=?charset[*lang]?B|Q?text?=") is decoded and converted to UTF-8,
 * white space between two adjacent encoded words is dropped (RFC 2047 6.2),
 * consecutive words in the same charset are converted together (so a
 * character split across words survives), and everything else is kept as
 * UTF-8 (8-bit text that is not UTF-8 becomes U+FFFD). A malformed encoded
 * word is kept as it is; one in an unknown charset is decoded with
 * U+FFFD for its non-ASCII bytes. Encoded words touching other text are
 * decoded too, as real mailers send them. False if out reached its maximum.
 */
bool mime_header_decode(const void *in, size_t len, struct buf *out);

/*
 * Decode an RFC 2231 extended parameter value, charset'language'%XX...
 * (as kept in a mime_tree for a "name*" parameter), to UTF-8. A value
 * without the two quotes is taken as %-encoded UTF-8. False if out
 * reached its maximum.
 */
bool mime_rfc2231_decode(const void *in, size_t len, struct buf *out);

#endif
