/*
 * mime_decode.h - Content-Transfer-Encoding decoders (RFC 2045 6), for
 * IMAP BINARY / BINARY.SIZE (RFC 3516) and SEARCH of body text.
 *
 * A decoder is fed a part's body (the raw stored bytes, in chunks of any
 * size: chunked and whole give the same output) and writes the decoded
 * content. Line breaks: for identity encodings (7bit, 8bit, binary) and
 * quoted-printable, every line break is written as CRLF (what is sent,
 * RFC 9051 2.3.4, and the canonical form of text); base64 output is the
 * decoded bytes exactly. The decoded size for BINARY.SIZE is the sum of
 * what feed and finish return (kept in mime_decoder.total).
 *
 * Garbage is tolerated as RFC 2045 recommends: base64 ignores bytes
 * outside its alphabet (6.8) and restarts after padding (concatenated
 * encodings); quoted-printable keeps a '=' that starts no valid escape,
 * accepts lower-case hex and removes white space at the end of lines
 * (6.7 note 3).
 */
#ifndef YUBIN_MIME_DECODE_H
#define YUBIN_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mime_cte {
	MIME_CTE_IDENTITY, /* absent, 7bit, 8bit, binary */
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_UNKNOWN, /* anything else: RFC 3516 [UNKNOWN-CTE] */
};

/* The encoding named by a Content-Transfer-Encoding token (any case);
 * name NULL means the field is absent (7bit). */
enum mime_cte mime_cte_from_name(const char *name, size_t len);

/* Trailing white space held back by quoted-printable (longer runs are
 * written out in pieces: they are not at the end of a line anyway). */
#define MIME_QP_WS_MAX 256

struct mime_decoder {
	enum mime_cte cte;
	uint64_t total; /* bytes written by feed and finish so far: BINARY.SIZE */
	unsigned state;
	uint32_t acc;       /* base64 bits */
	unsigned nacc;      /* base64 characters in acc */
	unsigned char hex1; /* quoted-printable: first digit of =XY */
	bool prev_cr;       /* identity: last byte was CR */
	size_t nws;         /* quoted-printable: white space held */
	char ws[MIME_QP_WS_MAX];
};

/* Room the output of one feed of n bytes (or of finish, n = 0) needs. */
#define MIME_DECODE_OUT_MAX(n) (2 * (size_t)(n) + MIME_QP_WS_MAX + 8)

/* cte must not be MIME_CTE_UNKNOWN. */
void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte);

/* Decode len bytes into out (MIME_DECODE_OUT_MAX(len) bytes); returns the
 * number of bytes written. */
size_t mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len, void *out);

/* End of the body: write what was held back (out: MIME_DECODE_OUT_MAX(0)
 * bytes); returns the number of bytes written. */
size_t mime_decoder_finish(struct mime_decoder *d, void *out);

/*
 * One-shot base64 for short text (RFC 2047 "B" words): decode (in, len)
 * into out (at least len * 3 / 4 + 3 bytes), same tolerance as above.
 * Returns the number of bytes written.
 */
size_t mime_base64_decode(const void *in, size_t len, void *out);

#endif
