/*
 * imap_fetch.c - FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; BINARY, RFC
 * 3516; MODSEQ and CHANGEDSINCE, RFC 7162).
 *
 * Structure (ENVELOPE, BODYSTRUCTURE, section offsets) comes from the MIME
 * tree cached in the index; a message is parsed only the first time
 * anyone asks. Body sections are read from the file, converted to CRLF
 * (messages are stored as received, possibly with bare LF) and cut to the
 * requested partial range; every octet count announced is the count sent.
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mime/mime_decode.h"
#include "mime/mime_imap.h"
#include "mime/mime_parser.h"
#include "mime/mime_section.h"
#include "mime/mime_tree.h"
#include "net/conn.h"
#include "store/store_imap.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Largest section we hold in memory at once (the message size limit). */
#define IMAP_FETCH_READ_CHUNK (64 * 1024)

enum imap_fetch_kind {
	FI_FLAGS, FI_UID, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODYSTRUCTURE, FI_BODY,
	FI_MODSEQ, FI_SECTION, FI_BINARY, FI_BINARY_SIZE,
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	const char *label;      /* as echoed in the response, e.g. "BODY[HEADER]" */
	struct mime_section sec;
	const struct imap_arg *fields; /* HEADER.FIELDS (...) list */
	bool peek;
	bool partial;
	uint64_t offset, count;
	bool rfc822;  /* RFC822, RFC822.HEADER, RFC822.TEXT: label without partial */
	const struct imap_arg *src; /* the SECTION argument, for the echoed label */
};

struct imap_fetch {
	struct imap_fetch_item *items;
	size_t n;
	bool needs_tree;
	bool sets_seen;
	uint64_t changedsince;
	bool vanished; /* RFC 7162 3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED) */
	bool unknown_cte; /* a BINARY item met an encoding we cannot decode */
};

/* ---- parsing the item list ---- */

static struct imap_fetch_item *imap_fetch_add(struct imap_fetch *f, enum imap_fetch_kind kind,
					      const char *label)
{
	f->items = xrealloc(f->items, (f->n + 1) * sizeof(*f->items));
	struct imap_fetch_item *it = &f->items[f->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->label = label;
	if (kind == FI_ENVELOPE || kind == FI_BODYSTRUCTURE || kind == FI_BODY ||
	    kind == FI_SECTION || kind == FI_BINARY || kind == FI_BINARY_SIZE)
		f->needs_tree = true;
	return it;
}

static bool imap_fetch_simple(struct imap_fetch *f, const struct imap_arg *a)
{
	static const struct {
		const char *name;
		enum imap_fetch_kind kind;
	} simple[] = {
		{"FLAGS", FI_FLAGS},          {"UID", FI_UID},
		{"INTERNALDATE", FI_INTERNALDATE}, {"RFC822.SIZE", FI_SIZE},
		{"ENVELOPE", FI_ENVELOPE},    {"BODYSTRUCTURE", FI_BODYSTRUCTURE},
		{"BODY", FI_BODY},            {"MODSEQ", FI_MODSEQ},
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (imap_arg_atom_is(a, simple[i].name)) {
			imap_fetch_add(f, simple[i].kind, simple[i].name);
			return true;
		}
	}
	struct imap_fetch_item *it;
	if (imap_arg_atom_is(a, "RFC822")) {
		it = imap_fetch_add(f, FI_SECTION, "RFC822");
		f->sets_seen = true;
	} else if (imap_arg_atom_is(a, "RFC822.HEADER")) {
		it = imap_fetch_add(f, FI_SECTION, "RFC822.HEADER");
		it->sec.text = MIME_SECTION_HEADER;
		it->peek = true;
	} else if (imap_arg_atom_is(a, "RFC822.TEXT")) {
		it = imap_fetch_add(f, FI_SECTION, "RFC822.TEXT");
		it->sec.text = MIME_SECTION_TEXT;
		f->sets_seen = true;
	} else {
		return false;
	}
	it->rfc822 = true;
	return true;
}

/* BODY[...]<p>, BODY.PEEK[...], BINARY[...], BINARY.PEEK[...], BINARY.SIZE[...] */
static bool imap_fetch_section(struct imap_fetch *f, const struct imap_arg *a)
{
	const char *p = a->str;
	enum imap_fetch_kind kind;
	bool peek = false;
	if (strcasecmp(p, "BODY") == 0)
		kind = FI_SECTION;
	else if (strcasecmp(p, "BODY.PEEK") == 0)
		kind = FI_SECTION, peek = true;
	else if (strcasecmp(p, "BINARY") == 0)
		kind = FI_BINARY;
	else if (strcasecmp(p, "BINARY.PEEK") == 0)
		kind = FI_BINARY, peek = true;
	else if (strcasecmp(p, "BINARY.SIZE") == 0)
		kind = FI_BINARY_SIZE, peek = true;
	else
		return false;
	struct imap_fetch_item *it = imap_fetch_add(f, kind, NULL);
	it->peek = peek;
	it->src = a;
	const char *spec = "";
	size_t speclen = 0;
	if (a->count >= 1 && a->list[0].type == IMAP_ARG_ATOM) {
		spec = a->list[0].str;
		speclen = a->list[0].len;
	} else if (a->count >= 1) {
		return false;
	}
	if (!mime_section_parse(spec, speclen, &it->sec))
		return false;
	bool fields = it->sec.text == MIME_SECTION_HEADER_FIELDS ||
		      it->sec.text == MIME_SECTION_HEADER_FIELDS_NOT;
	if (fields != (a->count == 2) || a->count > 2)
		return false;
	if (fields) {
		if (a->list[1].type != IMAP_ARG_LIST || a->list[1].count == 0)
			return false;
		it->fields = &a->list[1];
	}
	if (kind != FI_SECTION && (it->sec.text != MIME_SECTION_BODY))
		return false; /* RFC 3516: BINARY sections are part numbers only */
	if (!imap_arg_section_partial(a, &it->partial, &it->offset, &it->count))
		return false;
	if (kind == FI_BINARY_SIZE && it->partial)
		return false;
	if (!peek && kind != FI_BINARY_SIZE)
		f->sets_seen = true;
	return true;
}

static bool imap_fetch_item(struct imap_fetch *f, const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_SECTION)
		return imap_fetch_section(f, a);
	return imap_fetch_simple(f, a);
}

/* RFC 9051 6.4.5 macros */
static bool imap_fetch_macro(struct imap_fetch *f, const struct imap_arg *a)
{
	const char *const fast[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE"};
	bool all = imap_arg_atom_is(a, "ALL"), full = imap_arg_atom_is(a, "FULL");
	if (!all && !full && !imap_arg_atom_is(a, "FAST"))
		return false;
	for (size_t i = 0; i < 3; i++) {
		struct imap_arg fake = {.type = IMAP_ARG_ATOM, .str = fast[i], .len = strlen(fast[i])};
		imap_fetch_simple(f, &fake);
	}
	if (all || full)
		imap_fetch_add(f, FI_ENVELOPE, "ENVELOPE");
	if (full)
		imap_fetch_add(f, FI_BODY, "BODY");
	return true;
}

static bool imap_fetch_parse(struct imap_session *s, const struct imap_command *cmd,
			     struct imap_fetch *f)
{
	if (cmd->argc < 2)
		return false;
	const struct imap_arg *a = &cmd->args[1];
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->count; i++)
			if (!imap_fetch_item(f, &a->list[i]))
				return false;
	} else if (!imap_fetch_macro(f, a) && !imap_fetch_item(f, a)) {
		return false;
	}
	/* RFC 7162 3.1.4: FETCH ... (CHANGEDSINCE n [VANISHED]) */
	if (cmd->argc == 3) {
		const struct imap_arg *mods;
		size_t n;
		if (!imap_arg_list(&cmd->args[2], &mods, &n) || n < 2 || n > 3 ||
		    !imap_arg_atom_is(&mods[0], "CHANGEDSINCE") ||
		    !imap_arg_number64(&mods[1], &f->changedsince))
			return false;
		if (n == 3) {
			/* only UID FETCH, only with QRESYNC enabled */
			if (!imap_arg_atom_is(&mods[2], "VANISHED") || !s->uid_cmd || !s->qresync)
				return false;
			f->vanished = true;
		}
		imap_condstore_on(s);
		imap_fetch_add(f, FI_MODSEQ, "MODSEQ");
	} else if (cmd->argc > 3) {
		return false;
	}
	bool has_uid = false;
	for (size_t i = 0; i < f->n; i++)
		has_uid = has_uid || f->items[i].kind == FI_UID;
	if (s->uid_cmd && !has_uid) /* RFC 9051 6.4.9: once is enough */
		imap_fetch_add(f, FI_UID, "UID");
	return f->n > 0;
}

/* ---- the message's structure ---- */

static struct mime_tree *imap_fetch_parse_file(int fd)
{
	struct mime_parser *p = mime_parser_new();
	char *chunk = xmalloc(IMAP_FETCH_READ_CHUNK);
	for (;;) {
		ssize_t n = read(fd, chunk, IMAP_FETCH_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		mime_parser_feed(p, chunk, (size_t)n);
	}
	free(chunk);
	return mime_parser_finish(&p);
}

struct mime_tree *imap_fetch_tree(struct imap_session *s, size_t seq)
{
	void *data = NULL;
	size_t len = 0;
	if (store_mailbox_cache_get(s->mb, seq, &data, &len) == STORE_OK) {
		struct mime_tree *t = mime_tree_deserialize(data, len);
		free(data);
		if (t != NULL)
			return t;
	}
	int fd;
	uint64_t size;
	if (store_mailbox_msg_open(s->mb, seq, &fd, &size) != STORE_OK)
		return NULL;
	struct mime_tree *t = imap_fetch_parse_file(fd);
	close(fd);
	if (t == NULL)
		return NULL;
	struct buf out;
	buf_init(&out, 0);
	if (mime_tree_serialize(t, &out))
		store_mailbox_cache_put(s->mb, seq, out.ptr, out.len);
	buf_deinit(&out);
	return t;
}

/* ---- body sections ---- */

/* Raw bytes [off, off+len) of message seq, into out. */
static bool imap_fetch_read(struct imap_session *s, size_t seq, uint64_t off, uint64_t len,
			    struct buf *out)
{
	int fd;
	uint64_t size;
	if (store_mailbox_msg_open(s->mb, seq, &fd, &size) != STORE_OK)
		return false;
	bool ok = true;
	char *chunk = xmalloc(IMAP_FETCH_READ_CHUNK);
	while (len > 0 && ok) {
		size_t want = len < IMAP_FETCH_READ_CHUNK ? (size_t)len : IMAP_FETCH_READ_CHUNK;
		ssize_t n = pread(fd, chunk, want, (off_t)off);
		if (n <= 0)
			break; /* the file is shorter than the index thought */
		ok = buf_append(out, chunk, (size_t)n);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(chunk);
	close(fd);
	return ok;
}

/* Bare LF -> CRLF, in place through a second buffer. */
static void imap_fetch_crlf(struct buf *b)
{
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] == '\n' && (i == 0 || b->ptr[i - 1] != '\r'))
			buf_append_byte(&out, '\r');
		buf_append_byte(&out, b->ptr[i]);
	}
	buf_deinit(b);
	*b = out;
}

static bool imap_field_listed(const struct imap_arg *fields, const char *name, size_t len)
{
	for (size_t i = 0; i < fields->count; i++) {
		const char *f;
		size_t fl;
		if (imap_arg_astring(&fields->list[i], &f, &fl) && fl == len &&
		    strncasecmp(f, name, len) == 0)
			return true;
	}
	return false;
}

/* HEADER.FIELDS [.NOT]: keep (or drop) the listed fields, end with the
 * blank line (RFC 9051 6.4.5). hdr is CRLF already. */
static void imap_fetch_filter_fields(struct buf *hdr, const struct imap_arg *fields, bool not)
{
	struct buf out;
	buf_init(&out, 0);
	bool keep = false;
	for (size_t i = 0; i < hdr->len;) {
		const char *line = hdr->ptr + i;
		const char *nl = memchr(line, '\n', hdr->len - i);
		size_t ll = nl != NULL ? (size_t)(nl - line) + 1 : hdr->len - i;
		if (ll <= 2 && (line[0] == '\r' || line[0] == '\n'))
			break; /* the blank line ending the header */
		if (line[0] != ' ' && line[0] != '\t') {
			const char *colon = memchr(line, ':', ll);
			size_t nlen = colon != NULL ? (size_t)(colon - line) : 0;
			while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
				nlen--;
			keep = colon != NULL && imap_field_listed(fields, line, nlen) != not;
		}
		if (keep)
			buf_append(&out, line, ll);
		i += ll;
	}
	buf_append_str(&out, "\r\n");
	buf_deinit(hdr);
	*hdr = out;
}

/* The decoded body of part (BINARY, RFC 3516). */
static void imap_fetch_decode(struct buf *b, const struct mime_tree *t, uint32_t part)
{
	const struct mime_part *mp = &t->parts[part];
	enum mime_cte cte = mime_cte_from_name(mime_str_ptr(t, mp->encoding), mp->encoding.len);
	struct mime_decoder d;
	mime_decoder_init(&d, cte);
	char *out = xmalloc(MIME_DECODE_OUT_MAX(b->len) + 16);
	size_t n = mime_decoder_feed(&d, b->ptr, b->len, out);
	n += mime_decoder_finish(&d, out + n);
	buf_reset(b);
	buf_append(b, out, n);
	free(out);
}

/* Fetch the bytes a section item names, as sent (before partial). */
static bool imap_fetch_section_bytes(struct imap_session *s, size_t seq, const struct mime_tree *t,
				     const struct imap_fetch_item *it, struct buf *out)
{
	struct mime_range r;
	if (!mime_section_find(t, &it->sec, &r))
		return true; /* a part that does not exist is empty */
	if (!imap_fetch_read(s, seq, r.off, r.len, out))
		return false;
	if (it->kind == FI_BINARY || it->kind == FI_BINARY_SIZE) {
		imap_fetch_decode(out, t, r.part);
		return true;
	}
	imap_fetch_crlf(out);
	if (it->fields != NULL)
		imap_fetch_filter_fields(out, it->fields,
					 it->sec.text == MIME_SECTION_HEADER_FIELDS_NOT);
	return true;
}

/* The label echoed for a section item: "BODY[1.2]<0>" etc. */
static void imap_fetch_label(const struct imap_fetch_item *it, struct buf *out)
{
	const struct imap_arg *src = it->src;
	if (it->rfc822) {
		buf_append_str(out, it->label);
		return;
	}
	const char *base = it->kind == FI_SECTION ? "BODY" : it->kind == FI_BINARY ? "BINARY"
									      : "BINARY.SIZE";
	buf_appendf(out, "%s[", base);
	if (src != NULL && src->count >= 1) {
		buf_append(out, src->list[0].str, src->list[0].len);
		if (src->count == 2) {
			buf_append_str(out, " (");
			for (size_t i = 0; i < src->list[1].count; i++) {
				const struct imap_arg *fa = &src->list[1].list[i];
				buf_appendf(out, "%s", i > 0 ? " " : "");
				buf_append(out, fa->str, fa->len);
			}
			buf_append_str(out, ")");
		}
	}
	buf_append_byte(out, ']');
	if (it->partial)
		buf_appendf(out, "<%llu>", (unsigned long long)it->offset);
}

/* ---- the response for one message ---- */

static void imap_fetch_date(time_t t, struct buf *out)
{
	struct tm tm;
	char date[64];
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "\"%d-%b-%Y %H:%M:%S %z\"", &tm);
	buf_append_str(out, date);
}

static bool imap_fetch_one_item(struct imap_session *s, size_t seq, const struct mime_tree *t,
				const struct imap_fetch_item *it, struct buf *line)
{
	const struct store_msg *m = store_mailbox_msg(s->mb, seq);
	switch (it->kind) {
	case FI_FLAGS:
		buf_append_str(line, "FLAGS ");
		imap_flags_format(s, m, line);
		return true;
	case FI_UID:
		buf_appendf(line, "UID %u", m->uid);
		return true;
	case FI_INTERNALDATE:
		buf_append_str(line, "INTERNALDATE ");
		imap_fetch_date(m->internal_date, line);
		return true;
	case FI_SIZE:
		buf_appendf(line, "RFC822.SIZE %llu", (unsigned long long)m->size);
		return true;
	case FI_MODSEQ:
		buf_appendf(line, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		return true;
	case FI_ENVELOPE:
		buf_append_str(line, "ENVELOPE ");
		return mime_imap_envelope(t, 0, s->utf8 ? MIME_IMAP_UTF8 : 0, line);
	case FI_BODYSTRUCTURE:
	case FI_BODY:
		buf_append_str(line, it->kind == FI_BODY ? "BODY " : "BODYSTRUCTURE ");
		return mime_imap_bodystructure(t, 0, it->kind == FI_BODYSTRUCTURE,
					       s->utf8 ? MIME_IMAP_UTF8 : 0, line);
	case FI_SECTION:
	case FI_BINARY:
	case FI_BINARY_SIZE:
		break;
	}
	struct buf data;
	buf_init(&data, 0);
	bool ok = imap_fetch_section_bytes(s, seq, t, it, &data);
	imap_fetch_label(it, line);
	if (it->kind == FI_BINARY_SIZE) {
		buf_appendf(line, " %zu", data.len);
	} else {
		size_t off = it->partial ? (it->offset < data.len ? (size_t)it->offset : data.len) : 0;
		size_t len = data.len - off;
		if (it->partial && it->count < len)
			len = (size_t)it->count;
		bool binary = it->kind == FI_BINARY && len > 0 &&
			      memchr(data.ptr + off, '\0', len) != NULL;
		buf_appendf(line, " %s{%zu}\r\n", binary ? "~" : "", len);
		size_t at = line->len;
		buf_append(line, data.ptr + off, len);
		/* RFC 9051 4.3: no NUL outside a literal8. A stored message may
		 * have them (a delivery that sent some): BODY[] shows each as
		 * 0x80, BINARY[] as it is */
		if (!binary) {
			char *p = line->ptr + at, *end = p + len;
			while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
				*p++ = (char)0x80;
		}
	}
	buf_deinit(&data);
	return ok;
}

/* RFC 3516 4.2: BINARY of a part in an encoding we do not know fails
 * with [UNKNOWN-CTE] rather than handing out undecoded bytes. */
static bool imap_fetch_cte_known(const struct mime_tree *t, const struct imap_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct imap_fetch_item *it = &f->items[i];
		struct mime_range r;
		if ((it->kind != FI_BINARY && it->kind != FI_BINARY_SIZE) ||
		    !mime_section_find(t, &it->sec, &r))
			continue;
		const struct mime_part *mp = &t->parts[r.part];
		if (mime_cte_from_name(mime_str_ptr(t, mp->encoding), mp->encoding.len) ==
		    MIME_CTE_UNKNOWN)
			return false;
	}
	return true;
}

static bool imap_fetch_message(struct imap_session *s, size_t seq, struct imap_fetch *f)
{
	struct mime_tree *t = f->needs_tree ? imap_fetch_tree(s, seq) : NULL;
	if (f->needs_tree && t == NULL)
		return false;
	if (t != NULL && !imap_fetch_cte_known(t, f)) {
		f->unknown_cte = true;
		mime_tree_free(&t);
		return false;
	}
	struct buf line;
	buf_init(&line, 0);
	buf_appendf(&line, "* %zu FETCH (", seq);
	bool ok = true;
	for (size_t i = 0; ok && i < f->n; i++) {
		if (i > 0)
			buf_append_byte(&line, ' ');
		ok = imap_fetch_one_item(s, seq, t, &f->items[i], &line);
	}
	buf_append_str(&line, ")\r\n");
	if (ok)
		imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
	mime_tree_free(&t);
	return ok;
}

/* Non-PEEK body fetches set \Seen (RFC 9051 6.4.5); FLAGS then goes along. */
static void imap_fetch_mark_seen(struct imap_session *s, const uint32_t *seqs, size_t n,
				 struct imap_fetch *f)
{
	if (!f->sets_seen || s->readonly)
		return;
	uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
	size_t nu = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = store_mailbox_msg(s->mb, seqs[i]);
		if (!(m->flags & STORE_FLAG_SEEN))
			uids[nu++] = m->uid;
	}
	uint32_t *failed = NULL;
	size_t nfailed = 0;
	if (nu > 0)
		store_mailbox_set_flags(s->mb, uids, nu, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
					0, &failed, &nfailed);
	free(failed);
	free(uids);
	bool has_flags = false;
	for (size_t i = 0; i < f->n; i++)
		has_flags = has_flags || f->items[i].kind == FI_FLAGS;
	if (nu > 0 && !has_flags)
		imap_fetch_add(f, FI_FLAGS, "FLAGS");
}

/* The UIDs of the set that were expunged after modseq (RFC 7162 3.2.6). */
static void imap_fetch_vanished(struct imap_session *s, const struct imap_arg *set_arg,
				uint64_t since)
{
	struct imap_seqset want, out;
	imap_seqset_init(&want, 0);
	imap_seqset_init(&out, 0);
	uint32_t *uids = NULL;
	size_t n = 0;
	if (set_arg->type == IMAP_ARG_ATOM &&
	    imap_seqset_parse(&want, set_arg->str, set_arg->len, UINT32_MAX) == IMAP_SEQSET_OK &&
	    store_mailbox_vanished(s->mb, since, &uids, &n) == STORE_OK) {
		for (size_t i = 0; i < n; i++)
			if (imap_seqset_contains(&want, uids[i]))
				imap_seqset_add(&out, uids[i], uids[i]);
	}
	if (out.count > 0) {
		struct buf line;
		buf_init(&line, 0);
		buf_append_str(&line, "* VANISHED (EARLIER) ");
		imap_seqset_write(&out, &line);
		buf_append_str(&line, "\r\n");
		imap_write(s, line.ptr, line.len);
		buf_deinit(&line);
	}
	free(uids);
	imap_seqset_deinit(&want);
	imap_seqset_deinit(&out);
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_fetch f = {0};
	uint32_t *seqs = NULL;
	size_t n = 0;
	if (!imap_fetch_parse(s, cmd, &f)) {
		free(f.items);
		imap_bad(s, "Invalid FETCH arguments.");
		return;
	}
	if (!imap_msgset(s, &cmd->args[0], &seqs, &n)) {
		free(f.items);
		return;
	}
	for (size_t i = 0; i < f.n; i++)
		if (f.items[i].kind == FI_MODSEQ)
			imap_condstore_on(s); /* RFC 7162 3.1: a CONDSTORE enabling command */
	imap_fetch_mark_seen(s, seqs, n, &f);
	if (f.vanished)
		imap_fetch_vanished(s, &cmd->args[0], f.changedsince);
	bool ok = true;
	if (f.needs_tree)
		store_mailbox_batch_begin(s->mb);
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = store_mailbox_msg(s->mb, seqs[i]);
		if (f.changedsince != 0 && m->modseq <= f.changedsince)
			continue;
		ok = imap_fetch_message(s, seqs[i], &f) && ok;
	}
	store_mailbox_batch_end(s->mb);
	free(seqs);
	free(f.items);
	if (f.unknown_cte)
		imap_tagged(s, "NO [UNKNOWN-CTE] Cannot decode that part's transfer encoding.");
	else if (ok)
		imap_tagged(s, "OK %sFETCH completed.", s->uid_cmd ? "UID " : "");
	else
		imap_tagged(s, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
}
