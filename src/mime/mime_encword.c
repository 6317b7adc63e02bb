/*
 * mime_encword.c - RFC 2047 encoded words in header text, decoded to
 * UTF-8 (mime_header_decode in mime_charset.h).
 *
 * The text is cut into encoded words and the plain text between them.
 * Decoded bytes of consecutive encoded words in the same charset are
 * collected and converted together: senders split multi-byte characters
 * (and ISO-2022-JP escape sequences) across words.
 */
#include "mime/mime_charset.h"
#include "mime/mime_decode.h"

#include "lib/mem.h"

#include <string.h>

struct encword {
	const char *charset;
	size_t charset_len;
	char enc; /* 'b' or 'q' */
	const char *text;
	size_t text_len;
	size_t len; /* of the whole word */
};

/* Parse "=?charset[*lang]?enc?text?=" at s (RFC 2047 2, RFC 2231 5). */
static bool parse_word(const char *s, size_t len, struct encword *w)
{
	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	size_t i = 2;
	while (i < len && s[i] != '?' && (unsigned char)s[i] > ' ' && s[i] != 0x7f)
		i++;
	if (i == 2 || i + 3 >= len || s[i] != '?' || s[i + 2] != '?')
		return false;
	w->charset = s + 2;
	w->charset_len = i - 2;
	const char *star = memchr(w->charset, '*', w->charset_len);
	if (star != NULL)
		w->charset_len = (size_t)(star - w->charset); /* language dropped */
	char e = s[i + 1];
	if (e != 'b' && e != 'B' && e != 'q' && e != 'Q')
		return false;
	w->enc = (char)(e | 0x20);
	size_t start = i + 3;
	for (i = start; i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '?' && s[i + 1] == '=')
			break;
		if (c == '?' || c <= ' ' || c == 0x7f)
			return false;
	}
	if (i + 1 >= len)
		return false;
	w->text = s + start;
	w->text_len = i - start;
	w->len = i + 2;
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 2047 4.2: "_" is a space, "=XX" an octet. */
static size_t q_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '_') {
			out[n++] = ' ';
		} else if (s[i] == '=' && i + 2 < len &&
		           (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		           (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[n++] = s[i];
		}
	}
	return n;
}

struct state {
	struct buf *out;
	struct buf pending; /* decoded bytes of words in one charset */
	const char *charset;
	size_t charset_len;
	bool ok;
};

static void flush(struct state *st)
{
	if (st->pending.len > 0 || st->charset != NULL) {
		enum mime_conv r = mime_charset_to_utf8(st->charset, st->charset_len,
		                                        st->pending.ptr, st->pending.len, st->out);
		st->ok = st->ok && r != MIME_CONV_FULL;
	}
	buf_reset(&st->pending);
	st->charset = NULL;
}

static bool same_charset(const struct state *st, const struct encword *w)
{
	if (st->charset == NULL || st->charset_len != w->charset_len)
		return false;
	for (size_t i = 0; i < w->charset_len; i++) {
		if ((st->charset[i] | 0x20) != (w->charset[i] | 0x20))
			return false;
	}
	return true;
}

static void add_word(struct state *st, const struct encword *w)
{
	if (!same_charset(st, w)) {
		flush(st);
		st->charset = w->charset;
		st->charset_len = w->charset_len;
	}
	char *tmp = xmalloc(w->text_len + 4);
	size_t n = w->enc == 'b' ? mime_base64_decode(w->text, w->text_len, tmp)
	                         : q_decode(w->text, w->text_len, tmp);
	st->ok = buf_append(&st->pending, tmp, n) && st->ok;
	free(tmp);
}

/* Plain text, unfolded: the line breaks of folding are dropped (the
 * white space after them stays). */
static void add_text(struct state *st, const char *s, size_t len)
{
	flush(st);
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '\r' && s[i] != '\n')
			continue;
		st->ok = mime_utf8_append(s + start, i - start, st->out) && st->ok;
		start = i + 1;
	}
}

static bool only_ws(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	}
	return true;
}

bool mime_header_decode(const void *in, size_t len, struct buf *out)
{
	const char *s = in;
	struct state st = {out, {0}, NULL, 0, true};
	buf_init(&st.pending, len + 1);
	size_t text = 0; /* start of plain text not yet written */
	bool after_word = false;
	for (size_t i = 0; i < len;) {
		struct encword w;
		const char *q = memchr(s + i, '=', len - i);
		if (q == NULL)
			break;
		i = (size_t)(q - s);
		if (!parse_word(s + i, len - i, &w)) {
			i++;
			continue;
		}
		/* RFC 2047 6.2: white space between encoded words is dropped */
		if (!(after_word && only_ws(s + text, i - text)))
			add_text(&st, s + text, i - text);
		add_word(&st, &w);
		i += w.len;
		text = i;
		after_word = true;
	}
	add_text(&st, s + text, len - text);
	flush(&st);
	buf_deinit(&st.pending);
	return st.ok;
}
