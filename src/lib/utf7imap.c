/*
 * utf7imap.c - modified UTF-7 mailbox names (RFC 3501 5.1.3) and UTF-8
 * mailbox name checks (RFC 9051 5.1, RFC 5198 2); see utf7imap.h.
 *
 * Both directions work one code point at a time with a small bit
 * accumulator for base64; every rule that makes the encoding canonical is
 * checked where the decoder could otherwise accept a second spelling.
 */
#include "utf7imap.h"

#include <stdint.h>

static const char utf7imap_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct utf7imap_out {
	char *ptr;
	size_t len, cap;
	bool full;
};

static void utf7imap_put(struct utf7imap_out *o, char c)
{
	/* keep one byte for the NUL */
	if (o->len + 1 >= o->cap) {
		o->full = true;
		return;
	}
	o->ptr[o->len++] = c;
}

static enum utf7imap_result utf7imap_finish(struct utf7imap_out *o, size_t *out_len_r)
{
	if (o->full || o->cap == 0)
		return UTF7IMAP_NOSPACE;
	o->ptr[o->len] = '\0';
	*out_len_r = o->len;
	return UTF7IMAP_OK;
}

/* C0 controls, DEL and C1 controls (RFC 5198 2; RFC 9051 5.1 item 2). */
static bool utf7imap_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool utf7imap_printable(uint32_t cp)
{
	return cp >= 0x20 && cp <= 0x7e;
}

/* One code point of strict UTF-8 (RFC 3629 4) at s[*i]. */
static bool utf7imap_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp_r)
{
	unsigned char c = s[*i];
	size_t n;
	uint32_t cp, min;
	if (c < 0x80) {
		*cp_r = c;
		(*i)++;
		return true;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return false;
	}
	if (len - *i <= n)
		return false;
	for (size_t k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xc0) != 0x80)
			return false;
		cp = (cp << 6) | (cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	*i += n + 1;
	*cp_r = cp;
	return true;
}

static void utf7imap_put_utf8(struct utf7imap_out *o, uint32_t cp)
{
	if (cp < 0x80) {
		utf7imap_put(o, (char)cp);
	} else if (cp < 0x800) {
		utf7imap_put(o, (char)(0xc0 | (cp >> 6)));
		utf7imap_put(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		utf7imap_put(o, (char)(0xe0 | (cp >> 12)));
		utf7imap_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		utf7imap_put(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		utf7imap_put(o, (char)(0xf0 | (cp >> 18)));
		utf7imap_put(o, (char)(0x80 | ((cp >> 12) & 0x3f)));
		utf7imap_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		utf7imap_put(o, (char)(0x80 | (cp & 0x3f)));
	}
}

/* ---- decoding ---- */

static int utf7imap_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

struct utf7imap_run {
	uint32_t acc;
	unsigned nbits;
	uint32_t high; /* a high surrogate waiting for its low half, or 0 */
	bool any;      /* at least one character decoded */
};

/* One UTF-16 unit of a run: pair surrogates, refuse what must not be
 * encoded (printable ASCII, RFC 3501 5.1.3; controls, by policy). */
static bool utf7imap_unit(struct utf7imap_run *r, uint32_t unit, struct utf7imap_out *o)
{
	uint32_t cp = unit;
	if (r->high != 0) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return false;
		cp = 0x10000 + ((r->high - 0xd800) << 10) + (unit - 0xdc00);
		r->high = 0;
	} else if (unit >= 0xd800 && unit <= 0xdbff) {
		r->high = unit;
		return true;
	} else if (unit >= 0xdc00 && unit <= 0xdfff) {
		return false;
	}
	if (utf7imap_printable(cp) || utf7imap_control(cp))
		return false;
	utf7imap_put_utf8(o, cp);
	r->any = true;
	return true;
}

/* The base64 run at in[*i] (after "&", not "&-"), through its "-". */
static bool utf7imap_decode_run(const unsigned char *in, size_t len, size_t *i,
				struct utf7imap_out *o)
{
	struct utf7imap_run r = {0, 0, 0, false};
	while (*i < len && in[*i] != '-') {
		int v = utf7imap_b64_value(in[(*i)++]);
		if (v < 0)
			return false;
		r.acc = ((r.acc << 6) | (uint32_t)v) & 0x3fffff;
		r.nbits += 6;
		if (r.nbits >= 16) {
			r.nbits -= 16;
			if (!utf7imap_unit(&r, (r.acc >> r.nbits) & 0xffff, o))
				return false;
		}
	}
	if (*i == len)
		return false; /* no shift back to US-ASCII */
	(*i)++;
	/* canonical base64: fewer than 6 leftover bits, all zero */
	if (r.nbits >= 6 || (r.acc & ((1u << r.nbits) - 1)) != 0)
		return false;
	return r.high == 0 && r.any;
}

static enum utf7imap_result utf7imap_decode(const char *text, size_t len, struct utf7imap_out *o)
{
	const unsigned char *in = (const unsigned char *)text;
	size_t i = 0;
	bool after_run = false;
	while (i < len) {
		unsigned char c = in[i++];
		if (!utf7imap_printable(c))
			return UTF7IMAP_INVALID;
		if (c != '&') {
			utf7imap_put(o, (char)c);
			after_run = false;
		} else if (i < len && in[i] == '-') {
			utf7imap_put(o, '&');
			i++;
			after_run = false;
		} else {
			/* "-&" between two runs is a null shift */
			if (after_run || !utf7imap_decode_run(in, len, &i, o))
				return UTF7IMAP_INVALID;
			after_run = true;
		}
	}
	return UTF7IMAP_OK;
}

enum utf7imap_result utf7imap_to_utf8(const char *in, size_t len, char *out, size_t cap,
				      size_t *out_len_r)
{
	struct utf7imap_out o = {out, 0, cap, false};
	enum utf7imap_result r = utf7imap_decode(in, len, &o);
	if (r != UTF7IMAP_OK)
		return r;
	return utf7imap_finish(&o, out_len_r);
}

bool utf7imap_valid(const char *in, size_t len)
{
	struct utf7imap_out o = {NULL, 0, 0, false};
	return utf7imap_decode(in, len, &o) == UTF7IMAP_OK;
}

/* ---- encoding ---- */

static void utf7imap_put_bits(struct utf7imap_run *r, uint32_t unit, struct utf7imap_out *o)
{
	r->acc = (r->acc << 16) | unit;
	r->nbits += 16;
	while (r->nbits >= 6) {
		r->nbits -= 6;
		utf7imap_put(o, utf7imap_b64[(r->acc >> r->nbits) & 0x3f]);
	}
	r->acc &= (1u << r->nbits) - 1;
}

/* Encode the run of non-printable characters starting with cp; *i is
 * just after cp and ends just after the run. */
static bool utf7imap_encode_run(const unsigned char *in, size_t len, size_t *i, uint32_t cp,
				struct utf7imap_out *o)
{
	struct utf7imap_run r = {0, 0, 0, false};
	utf7imap_put(o, '&');
	for (;;) {
		if (utf7imap_control(cp))
			return false;
		if (cp >= 0x10000) {
			utf7imap_put_bits(&r, 0xd800 + ((cp - 0x10000) >> 10), o);
			utf7imap_put_bits(&r, 0xdc00 + ((cp - 0x10000) & 0x3ff), o);
		} else {
			utf7imap_put_bits(&r, cp, o);
		}
		size_t next = *i;
		if (next == len || !utf7imap_utf8_next(in, len, &next, &cp))
			break; /* the end, or invalid UTF-8 the caller will refuse */
		if (utf7imap_printable(cp))
			break;
		*i = next;
	}
	if (r.nbits > 0)
		utf7imap_put(o, utf7imap_b64[(r.acc << (6 - r.nbits)) & 0x3f]);
	utf7imap_put(o, '-');
	return true;
}

enum utf7imap_result utf7imap_from_utf8(const char *text, size_t len, char *out, size_t cap,
					size_t *out_len_r)
{
	const unsigned char *in = (const unsigned char *)text;
	struct utf7imap_out o = {out, 0, cap, false};
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		if (!utf7imap_utf8_next(in, len, &i, &cp))
			return UTF7IMAP_INVALID;
		if (cp == '&') {
			utf7imap_put(&o, '&');
			utf7imap_put(&o, '-');
		} else if (utf7imap_printable(cp)) {
			utf7imap_put(&o, (char)cp);
		} else if (!utf7imap_encode_run(in, len, &i, cp, &o)) {
			return UTF7IMAP_INVALID;
		}
	}
	return utf7imap_finish(&o, out_len_r);
}

/* ---- UTF-8 names ---- */

bool utf7imap_utf8_name_valid(const char *text, size_t len)
{
	const unsigned char *in = (const unsigned char *)text;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		if (!utf7imap_utf8_next(in, len, &i, &cp))
			return false;
		/* RFC 5198 2: no controls; U+2028/U+2029 SHOULD NOT be used */
		if (utf7imap_control(cp) || cp == 0x2028 || cp == 0x2029)
			return false;
	}
	return true;
}
