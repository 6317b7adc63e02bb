/*
 * mime_charset.c - charset names, conversion to UTF-8 through glibc iconv,
 * UTF-8 validation and RFC 2231 value decoding; see mime_charset.h.
 */
#include "mime/mime_charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* MIME names that iconv does not know, or that are better read as a
 * superset (what senders mean; WHATWG Encoding makes the same choices). */
static const struct {
	const char *mime, *iconv;
} aliases[] = {
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"cp936", "GB18030"},
    {"big5", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"},
    {"ks_c_5601-1987", "CP949"},
    {"euc-kr", "CP949"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"x-sjis", "SHIFT_JIS"},
    {"shift-jis", "SHIFT_JIS"},
    {"x-mac-roman", "MACINTOSH"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"iso-8859-1", "WINDOWS-1252"}, /* C1 controls are never meant */
    {"latin1", "WINDOWS-1252"},
    {"us-ascii", ""},
    {"ascii", ""},
    {"utf-8", ""},
    {"utf8", ""},
    {"x-unknown", "?"},
    {"unknown-8bit", "?"},
};

#define NAME_MAX_LEN 64

/* The iconv name for a MIME charset name: "" means UTF-8 (no iconv), "?"
 * means unknown. dst has NAME_MAX_LEN + 1 bytes. */
static const char *resolve(const char *name, size_t len, char *dst)
{
	while (len > 0 && (*name == ' ' || *name == '\t' || *name == '"')) {
		name++;
		len--;
	}
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t' || name[len - 1] == '"'))
		len--;
	if (len == 0)
		return "";
	if (len > NAME_MAX_LEN)
		return "?";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* iconv names: letters, digits, - _ . : ( ) (and no "//") */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return "?";
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	dst[len] = '\0';
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(dst, aliases[i].mime) == 0)
			return aliases[i].iconv;
	}
	return dst;
}

static iconv_t open_conv(const char *name, size_t len, bool *utf8_r)
{
	char tmp[NAME_MAX_LEN + 1];
	const char *cs = resolve(name, len, tmp);
	*utf8_r = cs[0] == '\0';
	if (*utf8_r || strcmp(cs, "?") == 0)
		return (iconv_t)-1;
	return iconv_open("UTF-8", cs);
}

bool mime_charset_known(const char *name, size_t name_len)
{
	bool utf8;
	iconv_t cd = open_conv(name, name_len, &utf8);
	if (cd == (iconv_t)-1)
		return utf8;
	iconv_close(cd);
	return true;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* > U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

bool mime_utf8_valid(const void *in, size_t len)
{
	const unsigned char *s = in;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool mime_utf8_append(const void *in, size_t len, struct buf *out)
{
	const unsigned char *s = in;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		size_t n;
		while (i < len && (n = utf8_seq(s + i, len - i)) > 0)
			i += n;
		if (!buf_append(out, s + start, i - start))
			return false;
		if (i < len) {
			if (!buf_append(out, replacement, 3))
				return false;
			i++;
		}
	}
	return true;
}

/* Unknown charset: what can be trusted is ASCII. */
static bool ascii_append(const unsigned char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		bool ok = s[i] < 0x80 ? buf_append_byte(out, (char)s[i])
		                      : buf_append(out, replacement, 3);
		if (!ok)
			return false;
	}
	return true;
}

static bool iconv_append(iconv_t cd, const unsigned char *in, size_t len, struct buf *out)
{
	char tmp[1024];
	char *ip = (char *)in;
	size_t ileft = len;
	while (ileft > 0) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
		int err = errno;
		if (!buf_append(out, tmp, (size_t)(op - tmp)))
			return false;
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		/* EILSEQ: an invalid byte, skipped; EINVAL: cut at the end */
		if (!buf_append(out, replacement, 3))
			return false;
		if (err != EILSEQ)
			break;
		ip++;
		ileft--;
	}
	/* a stateful charset (ISO-2022-JP) returns to its initial state */
	char *op = tmp;
	size_t oleft = sizeof(tmp);
	(void)iconv(cd, NULL, NULL, &op, &oleft);
	return buf_append(out, tmp, (size_t)(op - tmp));
}

enum mime_conv mime_charset_to_utf8(const char *name, size_t name_len, const void *in, size_t len,
                                    struct buf *out)
{
	bool utf8;
	iconv_t cd = open_conv(name, name_len, &utf8);
	if (cd == (iconv_t)-1) {
		if (utf8)
			return mime_utf8_append(in, len, out) ? MIME_CONV_OK : MIME_CONV_FULL;
		return ascii_append(in, len, out) ? MIME_CONV_UNKNOWN : MIME_CONV_FULL;
	}
	bool ok = iconv_append(cd, in, len, out);
	iconv_close(cd);
	return ok ? MIME_CONV_OK : MIME_CONV_FULL;
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

bool mime_rfc2231_decode(const void *in, size_t len, struct buf *out)
{
	/* RFC 2231 4: charset "'" [language] "'" %-encoded octets */
	const char *s = in;
	const char *q1 = memchr(s, '\'', len);
	const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - s)) : NULL;
	const char *cs = "";
	size_t cs_len = 0, start = 0;
	if (q2 != NULL) {
		cs = s;
		cs_len = (size_t)(q1 - s);
		start = (size_t)(q2 + 1 - s);
	}
	struct buf raw;
	buf_init(&raw, len + 1);
	for (size_t i = start; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			(void)buf_append_byte(&raw, (char)(hi * 16 + lo));
			i += 2;
		} else {
			(void)buf_append_byte(&raw, s[i]);
		}
	}
	enum mime_conv r =
	    mime_charset_to_utf8(cs, cs_len, raw.ptr != NULL ? raw.ptr : "", raw.len, out);
	buf_deinit(&raw);
	return r != MIME_CONV_FULL;
}
