/*
 * imap_sort.c - SORT and UID SORT, THREAD and UID THREAD (RFC 5256), with
 * the DISPLAYFROM and DISPLAYTO keys of RFC 5957 and the MODSEQ of
 * RFC 7162 3.1.5 in the SORT response.
 *
 * The search program runs first (imap_search_run); then each hit's keys
 * come from the index (INTERNALDATE, RFC822.SIZE) and the cached MIME
 * tree (Date, Subject and address fields), REFERENCES' References field
 * from the message header itself, since the tree does not keep it. The
 * rules of comparison (base subject, sent date) and of threading are pure
 * code in imap_basesubject.c and imap_thread.c. Memory is O(hits): one
 * record per hit and the string keys in one pool.
 */
#include "imap/imap_internal.h"

#include "imap/imap_basesubject.h"
#include "imap/imap_thread.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mime/mime_address.h"
#include "mime/mime_charset.h"
#include "mime/mime_header.h"
#include "mime/mime_tree.h"
#include "store/store_imap.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Sort criteria in one command: more than anyone needs (there are nine
 * keys), fewer than a hostile client could send. */
#define SORT_MAX_CRITERIA 32
/* The most of a message header read for References. */
#define SORT_MAX_HEADER (1024 * 1024)

enum sort_kind {
	/* string keys first: their index is the slot in sort_item.str */
	SK_CC, SK_FROM, SK_SUBJECT, SK_TO, SK_DISPLAYFROM, SK_DISPLAYTO,
	SK_NSTRINGS,
	SK_ARRIVAL = SK_NSTRINGS, SK_DATE, SK_SIZE,
};

static const struct {
	const char *name;
	enum sort_kind kind;
} sort_names[] = {
	{"ARRIVAL", SK_ARRIVAL}, {"CC", SK_CC},           {"DATE", SK_DATE},
	{"FROM", SK_FROM},       {"SIZE", SK_SIZE},       {"SUBJECT", SK_SUBJECT},
	{"TO", SK_TO},           {"DISPLAYFROM", SK_DISPLAYFROM}, {"DISPLAYTO", SK_DISPLAYTO},
};

struct sort_criterion {
	enum sort_kind kind;
	bool reverse;
};

struct sort_item {
	uint32_t seq;
	uint64_t size;
	int64_t arrival, date;
	struct {
		size_t off, len; /* into sort_ctx.pool, folded (i;ascii-casemap) */
	} str[SK_NSTRINGS];
};

struct sort_ctx {
	struct sort_criterion crit[SORT_MAX_CRITERIA];
	size_t ncrit;
	bool wants[SK_NSTRINGS + 3];
	struct sort_item *items;
	struct buf pool;
};

/* ---- header values from the MIME tree ---- */

/* The last occurrence of a field in the message header (the one ENVELOPE
 * shows), or NULL. */
static const char *env_last(const struct mime_tree *t, enum mime_env_field f, size_t *len_r)
{
	const char *v = NULL;
	struct mime_list env = t->parts[0].env;
	for (uint32_t k = 0; k < env.count; k++) {
		const struct mime_env_hdr *h = &t->env[env.first + k];
		if (h->field == (uint32_t)f && mime_str_present(h->value)) {
			v = mime_str_ptr(t, h->value);
			*len_r = h->value.len;
		}
	}
	return v;
}

/* RFC 5256 2.2: the Date field in UTC, else the INTERNALDATE. */
static int64_t sent_date(const struct mime_tree *t, const struct store_msg *m)
{
	size_t len;
	const char *v = t != NULL ? env_last(t, MIME_ENV_DATE, &len) : NULL;
	int64_t date;
	if (v != NULL && imap_basesubject_sent_date(v, len, &date))
		return date;
	return (int64_t)m->internal_date;
}

/* The decoded (RFC 2047, UTF-8) Subject, appended to out. */
static void decoded_subject(const struct mime_tree *t, struct buf *out)
{
	size_t len;
	const char *v = t != NULL ? env_last(t, MIME_ENV_SUBJECT, &len) : NULL;
	if (v != NULL)
		mime_header_decode(v, len, out);
}

/* The first address of an address field (every occurrence counts, as in
 * ENVELOPE) for FROM/TO/CC (its addr-mailbox, RFC 5256 3) or DISPLAYFROM/
 * DISPLAYTO (the decoded display name, else the addr-spec, RFC 5957 3). */
static void address_key(const struct mime_tree *t, enum mime_env_field f, bool display,
			struct buf *out)
{
	struct mime_addr_list l;
	mime_addr_list_init(&l);
	struct mime_list env = t->parts[0].env;
	for (uint32_t k = 0; k < env.count && l.count == 0; k++) {
		const struct mime_env_hdr *h = &t->env[env.first + k];
		if (h->field == (uint32_t)f && mime_str_present(h->value))
			mime_address_parse(mime_str_ptr(t, h->value), h->value.len, &l);
	}
	if (l.count > 0) {
		const struct mime_addr *a = &l.v[0];
		const char *name = mime_addr_text(&l, a->name);
		const char *mbox = mime_addr_text(&l, a->mailbox);
		const char *host = mime_addr_text(&l, a->host);
		size_t start = out->len;
		if (display && name != NULL) {
			struct buf dec;
			buf_init(&dec, 0);
			mime_header_decode(name, a->name.len, &dec);
			size_t n = dec.len > 0 ? imap_basesubject_squeeze(dec.ptr, dec.len) : 0;
			buf_append(out, dec.ptr, n);
			buf_deinit(&dec);
		}
		if (out->len == start && mbox != NULL) {
			buf_append(out, mbox, a->mailbox.len);
			if (display && host != NULL) {
				buf_append_byte(out, '@');
				buf_append(out, host, a->host.len);
			}
		}
	}
	mime_addr_list_deinit(&l);
}

/* ---- SORT ---- */

static bool sort_parse_criteria(struct sort_ctx *c, const struct imap_arg *arg)
{
	const struct imap_arg *v;
	size_t n;
	if (!imap_arg_list(arg, &v, &n) || n == 0)
		return false;
	bool reverse = false;
	for (size_t i = 0; i < n; i++) {
		if (imap_arg_atom_is(&v[i], "REVERSE") && !reverse) {
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(sort_names) / sizeof(sort_names[0]) &&
		       !imap_arg_atom_is(&v[i], sort_names[k].name))
			k++;
		if (k == sizeof(sort_names) / sizeof(sort_names[0]) || c->ncrit == SORT_MAX_CRITERIA)
			return false;
		c->crit[c->ncrit].kind = sort_names[k].kind;
		c->crit[c->ncrit++].reverse = reverse;
		c->wants[sort_names[k].kind] = true;
		reverse = false;
	}
	return !reverse; /* REVERSE needs a key after it */
}

/* CHARSET (RFC 5256 3): the search strings' charset. */
static bool sort_charset_ok(struct imap_session *s, const struct imap_arg *arg)
{
	const char *cs;
	size_t len;
	if (!imap_arg_astring(arg, &cs, &len) ||
	    (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0)) {
		imap_tagged(s, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
		return false;
	}
	return true;
}

/* Append one string key to the pool, folded. */
static void sort_put_key(struct sort_ctx *c, struct sort_item *it, enum sort_kind k,
			 const struct buf *val)
{
	it->str[k].off = c->pool.len;
	it->str[k].len = val->len;
	buf_append(&c->pool, val->ptr, val->len);
	imap_basesubject_fold(c->pool.ptr + it->str[k].off, val->len);
}

static void sort_fill_strings(struct sort_ctx *c, struct sort_item *it, const struct mime_tree *t)
{
	static const enum mime_env_field fields[SK_NSTRINGS] = {
		[SK_CC] = MIME_ENV_CC,     [SK_FROM] = MIME_ENV_FROM,
		[SK_TO] = MIME_ENV_TO,     [SK_DISPLAYFROM] = MIME_ENV_FROM,
		[SK_DISPLAYTO] = MIME_ENV_TO,
	};
	struct buf val;
	buf_init(&val, 0);
	for (int k = 0; k < SK_NSTRINGS; k++) {
		if (!c->wants[k] || t == NULL)
			continue;
		buf_reset(&val);
		if (k == SK_SUBJECT) {
			decoded_subject(t, &val);
			if (val.len > 0) {
				val.len = imap_basesubject(val.ptr, val.len, val.ptr, NULL);
				val.ptr[val.len] = '\0'; /* keep buf's invariant */
			}
		} else {
			address_key(t, fields[k], k == SK_DISPLAYFROM || k == SK_DISPLAYTO, &val);
		}
		sort_put_key(c, it, (enum sort_kind)k, &val);
	}
	buf_deinit(&val);
}

static void sort_fill(struct imap_session *s, struct sort_ctx *c, struct sort_item *it,
		      uint32_t seq)
{
	const struct store_msg *m = store_mailbox_msg(s->mb, seq);
	it->seq = seq;
	it->size = m->size;
	it->arrival = (int64_t)m->internal_date;
	bool strings = false;
	for (int k = 0; k < SK_NSTRINGS; k++)
		strings = strings || c->wants[k];
	struct mime_tree *t = strings || c->wants[SK_DATE] ? imap_fetch_tree(s, seq) : NULL;
	it->date = sent_date(t, m);
	sort_fill_strings(c, it, t);
	mime_tree_free(&t);
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int sort_cmp_one(const struct sort_ctx *c, const struct sort_item *a,
			const struct sort_item *b, enum sort_kind k)
{
	switch (k) {
	case SK_ARRIVAL:
		return cmp_i64(a->arrival, b->arrival);
	case SK_DATE:
		return cmp_i64(a->date, b->date);
	case SK_SIZE:
		return a->size < b->size ? -1 : a->size > b->size;
	default: {
		size_t la = a->str[k].len, lb = b->str[k].len;
		int r = memcmp(c->pool.ptr + a->str[k].off, c->pool.ptr + b->str[k].off,
			       la < lb ? la : lb);
		return r != 0 ? r : la < lb ? -1 : la > lb;
	}
	}
}

/* The criteria in order, REVERSE turning one round; exact ties keep the
 * mailbox order (RFC 5256 3), whatever REVERSE says. */
static int sort_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sort_ctx *c = ctx;
	const struct sort_item *a = &c->items[*(const uint32_t *)pa];
	const struct sort_item *b = &c->items[*(const uint32_t *)pb];
	for (size_t i = 0; i < c->ncrit; i++) {
		int r = sort_cmp_one(c, a, b, c->crit[i].kind);
		if (r != 0)
			return c->crit[i].reverse ? -r : r;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void sort_reply(struct imap_session *s, struct sort_ctx *c, const uint32_t *order,
		       size_t n, uint64_t maxmodseq)
{
	struct buf line;
	buf_init(&line, 0);
	buf_append_str(&line, "* SORT");
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = c->items[order[i]].seq;
		buf_appendf(&line, " %u", s->uid_cmd ? store_mailbox_msg(s->mb, seq)->uid : seq);
	}
	if (maxmodseq > 0 && n > 0) /* RFC 7162 3.1.5 */
		buf_appendf(&line, " (MODSEQ %llu)", (unsigned long long)maxmodseq);
	buf_append_str(&line, "\r\n");
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
}

void imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	/* SORT (criteria) charset search-key... (RFC 5256 3) */
	struct sort_ctx *c = xmalloc(sizeof(*c));
	if (cmd->argc < 3 || !sort_parse_criteria(c, &cmd->args[0])) {
		imap_bad(s, "Invalid sort criteria.");
		free(c);
		return;
	}
	uint32_t *hits;
	size_t n;
	uint64_t maxmod;
	bool uses_modseq;
	if (!sort_charset_ok(s, &cmd->args[1]) ||
	    !imap_search_run(s, cmd->args + 2, cmd->argc - 2, &hits, &n, &maxmod, &uses_modseq)) {
		free(c);
		return; /* answered */
	}
	buf_init(&c->pool, 0);
	c->items = xcalloc(n + 1, sizeof(*c->items));
	uint32_t *order = xcalloc(n + 1, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		sort_fill(s, c, &c->items[i], hits[i]);
		order[i] = (uint32_t)i;
	}
	qsort_r(order, n, sizeof(*order), sort_cmp, c);
	sort_reply(s, c, order, n, uses_modseq ? maxmod : 0);
	free(order);
	free(c->items);
	buf_deinit(&c->pool);
	free(c);
	free(hits);
	imap_tagged(s, "OK %sSORT completed.", s->uid_cmd ? "UID " : "");
}

/* ---- THREAD ---- */

/* Every References field of the message header, joined by spaces. */
static void thread_references(struct imap_session *s, uint32_t seq, const struct mime_tree *t,
			      struct buf *out)
{
	int fd;
	uint64_t size;
	if (store_mailbox_msg_open(s->mb, seq, &fd, &size) != STORE_OK)
		return;
	uint64_t len = t->parts[0].hdr_len < SORT_MAX_HEADER ? t->parts[0].hdr_len
							      : SORT_MAX_HEADER;
	char *hdr = xmalloc((size_t)len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, hdr + got, (size_t)len - got, (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	size_t pos = 0;
	struct mime_header_field f;
	while (mime_header_next(hdr, got, &pos, &f)) {
		if (f.name_len == 0 || !mime_header_is(&f, "References"))
			continue;
		if (out->len > 0)
			buf_append_byte(out, ' ');
		buf_append(out, f.value, f.value_len);
	}
	free(hdr);
}

/* Hand one searched message to the threader. */
static void thread_add(struct imap_session *s, struct imap_thread *th,
		       enum imap_thread_alg alg, uint32_t seq)
{
	const struct store_msg *m = store_mailbox_msg(s->mb, seq);
	struct mime_tree *t = imap_fetch_tree(s, seq);
	struct buf subject, refs;
	buf_init(&subject, 0);
	buf_init(&refs, 0);
	struct imap_thread_msg tm = {
		.id = s->uid_cmd ? m->uid : seq,
		.date = sent_date(t, m),
	};
	if (t != NULL) {
		decoded_subject(t, &subject);
		tm.subject = subject.ptr != NULL ? subject.ptr : "";
		tm.subject_len = subject.len;
		tm.message_id = env_last(t, MIME_ENV_MESSAGE_ID, &tm.message_id_len);
		tm.in_reply_to = env_last(t, MIME_ENV_IN_REPLY_TO, &tm.in_reply_to_len);
		if (alg == IMAP_THREAD_REFERENCES)
			thread_references(s, seq, t, &refs);
		tm.references = refs.ptr;
		tm.references_len = refs.len;
	}
	imap_thread_add(th, &tm);
	buf_deinit(&subject);
	buf_deinit(&refs);
	mime_tree_free(&t);
}

void imap_cmd_thread(struct imap_session *s, const struct imap_command *cmd)
{
	/* THREAD algorithm charset search-key... (RFC 5256 3) */
	enum imap_thread_alg alg;
	if (cmd->argc >= 1 && imap_arg_atom_is(&cmd->args[0], "ORDEREDSUBJECT")) {
		alg = IMAP_THREAD_ORDEREDSUBJECT;
	} else if (cmd->argc >= 1 && imap_arg_atom_is(&cmd->args[0], "REFERENCES")) {
		alg = IMAP_THREAD_REFERENCES;
	} else {
		imap_bad(s, "Unknown threading algorithm.");
		return;
	}
	if (cmd->argc < 3) {
		imap_bad(s, "THREAD needs a charset and search keys.");
		return;
	}
	uint32_t *hits;
	size_t n;
	uint64_t maxmod;
	bool uses_modseq;
	if (!sort_charset_ok(s, &cmd->args[1]) ||
	    !imap_search_run(s, cmd->args + 2, cmd->argc - 2, &hits, &n, &maxmod, &uses_modseq))
		return; /* answered */
	struct imap_thread *th = imap_thread_new(alg);
	for (size_t i = 0; i < n; i++)
		thread_add(s, th, alg, hits[i]);
	free(hits);
	struct buf line;
	buf_init(&line, 0);
	buf_append_str(&line, n > 0 ? "* THREAD " : "* THREAD");
	imap_thread_write(th, &line);
	imap_thread_free(&th);
	buf_append_str(&line, "\r\n");
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
	imap_tagged(s, "OK %sTHREAD completed.", s->uid_cmd ? "UID " : "");
}
