/*
 * mime_bodystructure.c - FETCH BODY and BODYSTRUCTURE (RFC 9051 7.5.2,
 * RFC 3501 7.4.2) from a mime_tree; see mime_imap.h.
 *
 * Choices where the RFCs leave room, all as Dovecot 2.3 makes them:
 * - types, subtypes, parameter names and values are sent as written in
 *   the header (case kept); message/rfc822 is always "message" "rfc822";
 * - text/\* gets ("charset" "us-ascii") appended when it has no charset
 *   (RFC 2045 5.2); a part without a valid Content-Type is text/plain
 *   (RFC 2045 5.2), and that also applies to an invalid one (Dovecot shows
 *   what it could read of an invalid one, e.g. "text" "");
 * - a part whose structure was hidden by a limit (MIME_PART_TRUNCATED)
 *   is "application" "octet-stream": not text/plain, so that a client does
 *   not show fifty levels of raw MIME as text;
 * - a multipart with no body parts gets one empty text/plain part;
 * - parameters: see mime_field.c (RFC 2231 merged; Dovecot keeps an
 *   extended "name*" single section under a wrong name, we do not).
 */
#include "mime/mime_imap.h"

#include <inttypes.h>

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

struct writer {
	const struct mime_tree *t;
	bool extended;
	unsigned flags;
	struct buf *out;
	bool ok;
};

static void lit(struct writer *w, const char *s)
{
	w->ok = w->ok && buf_append_str(w->out, s);
}

static void str(struct writer *w, struct mime_str s)
{
	w->ok = w->ok && mime_imap_nstring(w->out, mime_str_ptr(w->t, s), s.len, w->flags);
}

static void str_nolf(struct writer *w, struct mime_str s)
{
	w->ok = w->ok && mime_imap_nstring_nolf(w->out, mime_str_ptr(w->t, s), s.len, w->flags);
}

static void num(struct writer *w, uint64_t v)
{
	w->ok = w->ok && buf_appendf(w->out, " %" PRIu64, v);
}

/* body-fld-param; text/\* gets the default charset (RFC 2045 5.2) */
static void params(struct writer *w, struct mime_list list, bool text)
{
	if (list.count == 0 && !text) {
		lit(w, "NIL");
		return;
	}
	bool charset = false;
	lit(w, "(");
	for (uint32_t k = 0; k < list.count; k++) {
		const struct mime_param *pa = &w->t->params[list.first + k];
		if (k > 0)
			lit(w, " ");
		str(w, pa->name);
		lit(w, " ");
		str(w, pa->value);
		charset = charset || mime_str_eq(w->t, pa->name, "charset");
	}
	if (text && !charset)
		lit(w, list.count > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	lit(w, ")");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void ext_common(struct writer *w, const struct mime_part *p)
{
	lit(w, " ");
	if (!mime_str_present(p->disposition)) {
		lit(w, "NIL");
	} else {
		lit(w, "(");
		str(w, p->disposition);
		lit(w, " ");
		params(w, p->dparams, false);
		lit(w, ")");
	}
	lit(w, " ");
	if (p->langs.count == 0) {
		lit(w, "NIL");
	} else {
		lit(w, "(");
		for (uint32_t k = 0; k < p->langs.count; k++) {
			if (k > 0)
				lit(w, " ");
			str(w, w->t->langs[p->langs.first + k]);
		}
		lit(w, ")");
	}
	lit(w, " ");
	str_nolf(w, p->location);
}

static void body(struct writer *w, uint32_t i);

static void multipart(struct writer *w, const struct mime_part *p)
{
	lit(w, "(");
	for (uint32_t c = p->child; c != MIME_NONE && w->ok; c = w->t->parts[c].next)
		body(w, c);
	if (p->child == MIME_NONE)
		lit(w, w->extended ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
	lit(w, " ");
	str(w, p->subtype);
	if (w->extended) {
		lit(w, " ");
		params(w, p->params, false);
		ext_common(w, p);
	}
	lit(w, ")");
}

static void single(struct writer *w, uint32_t i)
{
	const struct mime_part *p = &w->t->parts[i];
	bool text = false;
	lit(w, "(");
	if (p->kind == MIME_KIND_MESSAGE) {
		lit(w, "\"message\" \"rfc822\"");
	} else if ((p->flags & MIME_PART_TRUNCATED) != 0) {
		lit(w, "\"application\" \"octet-stream\"");
	} else if (!mime_str_present(p->type)) {
		lit(w, "\"text\" \"plain\"");
		text = true;
	} else {
		str(w, p->type);
		lit(w, " ");
		str(w, p->subtype);
		text = mime_str_eq(w->t, p->type, "text");
	}
	lit(w, " ");
	params(w, p->params, text);
	lit(w, " ");
	str_nolf(w, p->id);
	lit(w, " ");
	str_nolf(w, p->descr);
	lit(w, " ");
	if (mime_str_present(p->encoding))
		str(w, p->encoding);
	else
		lit(w, "\"7bit\"");
	num(w, p->body_size);
	if (text) {
		num(w, p->body_lines);
	} else if (p->kind == MIME_KIND_MESSAGE && p->child != MIME_NONE) {
		lit(w, " ");
		w->ok = w->ok && mime_imap_envelope(w->t, p->child, w->flags, w->out);
		lit(w, " ");
		body(w, p->child);
		num(w, p->body_lines);
	}
	if (w->extended) {
		lit(w, " ");
		str_nolf(w, p->md5);
		ext_common(w, p);
	}
	lit(w, ")");
}

static void body(struct writer *w, uint32_t i)
{
	if (w->t->parts[i].kind == MIME_KIND_MULTIPART)
		multipart(w, &w->t->parts[i]);
	else
		single(w, i);
}

bool mime_imap_bodystructure(const struct mime_tree *t, uint32_t i, bool extended, unsigned flags,
                             struct buf *out)
{
	if (i >= t->nparts)
		return false;
	struct writer w = {t, extended, flags, out, true};
	body(&w, i);
	return w.ok;
}
