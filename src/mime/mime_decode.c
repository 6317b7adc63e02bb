/*
 * mime_decode.c - streaming base64, quoted-printable and identity
 * decoders (RFC 2045 6.2, 6.7, 6.8); see mime_decode.h.
 */
#include "mime/mime_decode.h"

#include <string.h>

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool name_is(const char *s, size_t len, const char *lit)
{
	if (strlen(lit) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	}
	return true;
}

enum mime_cte mime_cte_from_name(const char *name, size_t len)
{
	if (name == NULL || name_is(name, len, "7bit") || name_is(name, len, "8bit") ||
	    name_is(name, len, "binary"))
		return MIME_CTE_IDENTITY;
	if (name_is(name, len, "base64"))
		return MIME_CTE_BASE64;
	if (name_is(name, len, "quoted-printable"))
		return MIME_CTE_QP;
	return MIME_CTE_UNKNOWN;
}

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte)
{
	memset(d, 0, offsetof(struct mime_decoder, ws));
	d->cte = cte;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Padding or the end: write the bytes of an incomplete quantum (2 or 3
 * characters; a single one carries no whole byte). */
static size_t b64_flush(struct mime_decoder *d, unsigned char *o)
{
	size_t n = 0;
	if (d->nacc == 2) {
		o[n++] = (unsigned char)(d->acc >> 4);
	} else if (d->nacc == 3) {
		o[n++] = (unsigned char)(d->acc >> 10);
		o[n++] = (unsigned char)(d->acc >> 2);
	}
	d->acc = 0;
	d->nacc = 0;
	return n;
}

static size_t b64_feed(struct mime_decoder *d, const unsigned char *s, size_t len, unsigned char *o)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);
		if (v < 0) {
			if (s[i] == '=')
				n += b64_flush(d, o + n);
			continue; /* RFC 2045 6.8: other bytes are ignored */
		}
		d->acc = (d->acc << 6) | (uint32_t)v;
		if (++d->nacc == 4) {
			o[n++] = (unsigned char)(d->acc >> 16);
			o[n++] = (unsigned char)(d->acc >> 8);
			o[n++] = (unsigned char)d->acc;
			d->acc = 0;
			d->nacc = 0;
		}
	}
	return n;
}

size_t mime_base64_decode(const void *in, size_t len, void *out)
{
	struct mime_decoder d;
	mime_decoder_init(&d, MIME_CTE_BASE64);
	size_t n = b64_feed(&d, in, len, out);
	return n + b64_flush(&d, (unsigned char *)out + n);
}

/* ---- quoted-printable ---- */

enum qp_state {
	QP_TEXT,
	QP_CR,      /* CR in text: a line break if LF follows */
	QP_EQ,      /* "=" */
	QP_EQ_HEX,  /* "=" and one hex digit (hex1) */
	QP_SOFT,    /* "=" and white space (held in ws): a soft break if EOL follows */
	QP_SOFT_CR, /* "=" [white space] CR */
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t put_ws(struct mime_decoder *d, unsigned char *o)
{
	size_t n = d->nws;
	memcpy(o, d->ws, n);
	d->nws = 0;
	return n;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* One byte in QP_TEXT. */
static size_t qp_text(struct mime_decoder *d, unsigned char c, unsigned char *o)
{
	size_t n = 0;
	if (is_wsp(c)) {
		if (d->nws == MIME_QP_WS_MAX)
			n = put_ws(d, o);
		d->ws[d->nws++] = (char)c;
	} else if (c == '\n') {
		d->nws = 0; /* trailing white space is removed (6.7 note 3) */
		o[n++] = '\r';
		o[n++] = '\n';
	} else if (c == '\r') {
		d->state = QP_CR;
	} else {
		n = put_ws(d, o);
		if (c == '=')
			d->state = QP_EQ;
		else
			o[n++] = c;
	}
	return n;
}

/* One byte in the other states; *again: c must be processed again. */
static size_t qp_other(struct mime_decoder *d, unsigned char c, unsigned char *o, bool *again)
{
	size_t n = 0;
	int h;
	*again = false;
	switch (d->state) {
	case QP_CR:
		if (c != '\n') {
			n = put_ws(d, o);
			o[n++] = '\r';
			*again = true;
		} else {
			d->nws = 0;
			o[n++] = '\r';
			o[n++] = '\n';
		}
		break;
	case QP_EQ:
		if ((h = hexval(c)) >= 0) {
			d->hex1 = c;
			d->state = QP_EQ_HEX;
			return 0;
		}
		if (c == '\r' || is_wsp(c)) {
			d->state = c == '\r' ? QP_SOFT_CR : QP_SOFT;
			if (c != '\r')
				d->ws[d->nws++] = (char)c;
			return 0;
		}
		if (c != '\n') { /* "=" then LF: soft break; else a literal "=" */
			o[n++] = '=';
			*again = true;
		}
		break;
	case QP_EQ_HEX:
		if ((h = hexval(c)) >= 0) {
			o[n++] = (unsigned char)(hexval(d->hex1) * 16 + h);
		} else {
			o[n++] = '=';
			o[n++] = d->hex1;
			*again = true;
		}
		break;
	case QP_SOFT:
		if (is_wsp(c) && d->nws < MIME_QP_WS_MAX) {
			d->ws[d->nws++] = (char)c;
			return 0;
		}
		if (c == '\r') {
			d->state = QP_SOFT_CR;
			return 0;
		}
		if (c == '\n') {
			d->nws = 0;
		} else {
			o[n++] = '=';
			n += put_ws(d, o + n);
			*again = true;
		}
		break;
	case QP_SOFT_CR:
		if (c == '\n') {
			d->nws = 0;
		} else {
			o[n++] = '=';
			n += put_ws(d, o + n);
			o[n++] = '\r';
			*again = true;
		}
		break;
	}
	d->state = QP_TEXT;
	return n;
}

static size_t qp_feed(struct mime_decoder *d, const unsigned char *s, size_t len, unsigned char *o)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		bool again = true;
		while (again) {
			if (d->state == QP_TEXT) {
				n += qp_text(d, s[i], o + n);
				again = false;
			} else {
				n += qp_other(d, s[i], o + n, &again);
			}
		}
	}
	return n;
}

static size_t qp_finish(struct mime_decoder *d, unsigned char *o)
{
	size_t n = 0;
	switch (d->state) {
	case QP_CR: /* white space before a final lone CR is not trailing */
		n = put_ws(d, o);
		o[n++] = '\r';
		break;
	case QP_EQ_HEX:
		o[n++] = '=';
		o[n++] = d->hex1;
		break;
	default:
		/* QP_TEXT: trailing white space of the last line goes; "=" at
		 * the very end (with white space or CR) is a soft break */
		break;
	}
	d->nws = 0;
	d->state = QP_TEXT;
	return n;
}

/* ---- identity ---- */

static size_t id_feed(struct mime_decoder *d, const unsigned char *s, size_t len, unsigned char *o)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && !d->prev_cr)
			o[n++] = '\r'; /* sent as CRLF */
		o[n++] = s[i];
		d->prev_cr = s[i] == '\r';
	}
	return n;
}

static size_t feed(struct mime_decoder *d, const void *in, size_t len, void *out)
{
	switch (d->cte) {
	case MIME_CTE_BASE64:
		return b64_feed(d, in, len, out);
	case MIME_CTE_QP:
		return qp_feed(d, in, len, out);
	default:
		return id_feed(d, in, len, out);
	}
}

size_t mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len, void *out)
{
	size_t n = feed(d, in, len, out);
	d->total += n;
	return n;
}

size_t mime_decoder_finish(struct mime_decoder *d, void *out)
{
	size_t n = 0;
	if (d->cte == MIME_CTE_BASE64)
		n = b64_flush(d, out);
	else if (d->cte == MIME_CTE_QP)
		n = qp_finish(d, out);
	d->total += n;
	return n;
}
