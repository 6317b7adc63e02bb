/*
 * mime_binary.c - binary parts to base64, for messages that arrive as
 * binary (IMAP APPEND with a literal8, RFC 3516); see mime_binary.h.
 *
 * A part sent with Content-Transfer-Encoding "binary" (or with NUL bytes,
 * which no other encoding allows) is not text: its bytes are not lines,
 * and a bare LF in it is data, not a line end that IMAP may send as CRLF.
 * Stored as it is, FETCH BODY[] would have to send NULs (RFC 9051 4.3
 * forbids them outside literal8) and every reader would take the bytes
 * for lines. So such a part is stored as base64 (RFC 2045 6.8) under a
 * Content-Transfer-Encoding: base64 field; BINARY[] (RFC 3516) decodes it
 * back to exactly the bytes that were sent. Everything else of the
 * message is kept byte for byte.
 */
#include "mime/mime_binary.h"

#include "mime/mime_header.h"
#include "mime/mime_parser.h"
#include "mime/mime_tree.h"

#include <string.h>
#include <strings.h>

/* RFC 2045 6.8: lines of at most 76 characters */
#define B64_LINE 76

static void b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		char q[4] = {abc[(v >> 18) & 63], abc[(v >> 12) & 63],
		             i + 1 < len ? abc[(v >> 6) & 63] : '=', i + 2 < len ? abc[v & 63] : '='};
		buf_append(out, q, 4);
		col += 4;
		if (col == B64_LINE) {
			buf_append(out, "\r\n", 2);
			col = 0;
		}
	}
	if (col > 0)
		buf_append(out, "\r\n", 2);
}

static bool part_is_binary(const struct mime_tree *t, const struct mime_part *p, const char *raw)
{
	if (p->child != MIME_NONE)
		return false; /* a container: its leaves are looked at */
	if (p->encoding.off != MIME_NONE && p->encoding.len == 6 &&
	    strncasecmp(mime_str_ptr(t, p->encoding), "binary", 6) == 0)
		return true;
	return memchr(raw + p->body_off, '\0', p->body_len) != NULL;
}

/* The part's header without its Content-Transfer-Encoding field, then
 * "Content-Transfer-Encoding: base64" and the empty line. A message
 * header (not a body part's) also needs MIME-Version, or its Content-*
 * fields mean nothing (RFC 2045 4). */
static void rewrite_header(const char *hdr, size_t len, bool message, struct buf *out)
{
	size_t pos = 0;
	struct mime_header_field f;
	const char *eol = "\r\n";
	bool has_version = false;
	while (mime_header_next(hdr, len, &pos, &f)) {
		if (f.name_len > 0 && mime_header_is(&f, "Content-Transfer-Encoding"))
			continue;
		has_version = has_version || (f.name_len > 0 && mime_header_is(&f, "MIME-Version"));
		buf_append(out, f.raw, f.raw_len);
		if (f.raw_len > 0 && f.raw[f.raw_len - 1] == '\n' &&
		    (f.raw_len < 2 || f.raw[f.raw_len - 2] != '\r'))
			eol = "\n"; /* the header's own line ends */
	}
	if (message && !has_version) {
		buf_append_str(out, "MIME-Version: 1.0");
		buf_append_str(out, eol);
	}
	buf_append_str(out, "Content-Transfer-Encoding: base64");
	buf_append_str(out, eol);
	buf_append_str(out, eol);
}

bool mime_binary_to_base64(const char *raw, size_t len, struct buf *out)
{
	struct mime_tree *t = mime_parse(raw, len);
	if (t == NULL)
		return false;
	bool changed = false;
	uint64_t cursor = 0;
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		if (p->body_off + p->body_len > len || p->hdr_off < cursor || !part_is_binary(t, p, raw))
			continue;
		buf_append(out, raw + cursor, (size_t)(p->hdr_off - cursor));
		bool message = p->parent == MIME_NONE || t->parts[p->parent].kind == MIME_KIND_MESSAGE;
		rewrite_header(raw + p->hdr_off, (size_t)p->hdr_len, message, out);
		b64_encode((const unsigned char *)raw + p->body_off, (size_t)p->body_len, out);
		cursor = p->body_off + p->body_len;
		/* the line break that ends the base64 is ours; the one before a
		 * boundary that followed the data belongs to the boundary */
		changed = true;
	}
	if (changed)
		buf_append(out, raw + cursor, (size_t)(len - cursor));
	mime_tree_free(&t);
	return changed;
}
