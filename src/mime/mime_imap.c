/*
 * mime_imap.c - IMAP strings: NIL, quoted, literal (RFC 9051 4.3); the
 * rules are in mime_imap.h.
 */
#include "mime/mime_imap.h"
#include "mime/mime_charset.h"

#include "lib/mem.h"

#include <stdio.h>
#include <string.h>

/* Beyond this many '"' and '\' a literal is shorter than escaping (the
 * same trade-off Dovecot makes, so the output matches). */
#define QUOTED_MAX_ESCAPES 4

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Valid UTF-8 sequence length at s, 0 if not (only with MIME_IMAP_UTF8). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	return len <= n && mime_utf8_valid(s, len) ? len : 0;
}

/* Can s go into a quoted string? */
static bool quotable(const unsigned char *s, size_t len, unsigned flags)
{
	unsigned escapes = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			if (++escapes > QUOTED_MAX_ESCAPES)
				return false;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			return false;
		} else if (c >= 0x80) {
			size_t n = (flags & MIME_IMAP_UTF8) != 0 ? utf8_len(s + i, len - i) : 0;
			if (n == 0)
				return false;
			i += n - 1;
		}
	}
	return true;
}

static bool append_quoted(struct buf *out, const unsigned char *s, size_t len)
{
	bool ok = buf_append_byte(out, '"');
	for (size_t i = 0; i < len && ok; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ok = buf_append_byte(out, '\\');
		ok = ok && buf_append_byte(out, (char)s[i]);
	}
	return ok && buf_append_byte(out, '"');
}

/* A literal; NUL (not allowed in CHAR8) becomes U+FFFD. */
static bool append_literal(struct buf *out, const unsigned char *s, size_t len)
{
	size_t nuls = 0;
	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	bool ok = buf_appendf(out, "{%zu}\r\n", len + nuls * 2);
	size_t start = 0;
	for (size_t i = 0; i <= len && ok; i++) {
		if (i < len && s[i] != '\0')
			continue;
		ok = buf_append(out, s + start, i - start);
		if (i < len)
			ok = ok && buf_append(out, replacement, 3);
		start = i + 1;
	}
	return ok;
}

bool mime_imap_nstring(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (s == NULL)
		return buf_append_str(out, "NIL");
	const unsigned char *u = (const unsigned char *)s;
	if (quotable(u, len, flags))
		return append_quoted(out, u, len);
	return append_literal(out, u, len);
}

static bool is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool mime_imap_nstring_nolf(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (s == NULL || (memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL))
		return mime_imap_nstring(out, s, len, flags);
	struct buf tmp;
	buf_init(&tmp, 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			(void)buf_append_byte(&tmp, s[i]);
		else if (i + 1 < len && !is_lwsp((unsigned char)s[i + 1]))
			(void)buf_append_byte(&tmp, ' '); /* a lone line break */
	}
	bool ok = mime_imap_nstring(out, tmp.ptr != NULL ? tmp.ptr : "", tmp.len, flags);
	buf_deinit(&tmp);
	return ok;
}

bool mime_imap_human(struct buf *out, const char *s, size_t len, unsigned flags)
{
	if (s == NULL)
		return buf_append_str(out, "NIL");
	struct buf tmp;
	buf_init(&tmp, 0);
	bool space = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_lwsp(c)) {
			space = tmp.len > 0;
			continue;
		}
		if (space)
			(void)buf_append_byte(&tmp, ' ');
		space = false;
		(void)buf_append_byte(&tmp, (char)c);
	}
	const unsigned char *u = (const unsigned char *)(tmp.ptr != NULL ? tmp.ptr : "");
	bool changed = tmp.len != len || memcmp(u, s, len) != 0;
	bool plain = !changed && memchr(u, '"', tmp.len) == NULL &&
	             memchr(u, '\\', tmp.len) == NULL && quotable(u, tmp.len, flags);
	bool ok = plain || tmp.len == 0 ? append_quoted(out, u, tmp.len)
	                                : append_literal(out, u, tmp.len);
	buf_deinit(&tmp);
	return ok;
}
