/*
 * bench_imap.c - tagged IMAP commands and a response reader that follows
 * literals; see bench_imap.h.
 *
 * A response is read piece by piece (bench_conn hands out at most 64 KiB
 * of a line at a time, and a SEARCH over 100,000 messages is longer than
 * that). A piece that ends a line may end with a literal announcement;
 * then exactly that many octets follow and the response goes on with the
 * next line (RFC 9051 4.3). The last few octets of the line are kept
 * apart so that an announcement split between two pieces is still seen.
 * FETCH responses go through a small scanner that knows just enough of
 * the grammar (quoted strings, lists, bracketed section names, literals)
 * to find the top-level UID, RFC822.SIZE and BODY[] items.
 */
#include "bench_imap.h"

#include "bench_conn.h"

#include "lib/mem.h"
#include "lib/strnum.h"

#include <stdio.h>
#include <string.h>

#define BENCH_IMAP_TOK 48
#define BENCH_IMAP_TAIL 32
#define BENCH_IMAP_MAX_SEQ 50000000u /* far beyond any bench mailbox */

enum bench_imap_kind {
	KIND_OTHER,
	KIND_FETCH,
	KIND_SEARCH,
};

/* The state of one FETCH response being scanned (RFC 9051 7.5.2). */
struct bench_imap_scan {
	int depth, bdepth; /* parentheses; brackets of a section name */
	bool inq, esc, want_value, in_space;
	char tok[BENCH_IMAP_TOK];
	size_t toklen;
	char key[BENCH_IMAP_TOK];
	uint32_t uid;
	uint64_t size, body_len, words;
	bool have_body;
};

struct bench_imap {
	struct bench_conn *c;
	uint32_t next_tag;
	char tag[16];
	size_t tag_len;
	bool literal_plus;
	char cmd[160];
	struct bench_imap_msg *msgs;
	uint32_t nmsgs, cap;
	char tail[BENCH_IMAP_TAIL];
	size_t tail_len;
};

/* ---- small helpers ---- */

static void bench_imap_set_line(struct bench_imap_reply *r, const char *p, size_t len)
{
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= sizeof(r->line))
		len = sizeof(r->line) - 1;
	memcpy(r->line, p, len);
	r->line[len] = '\0';
}

static enum bench_imap_status bench_imap_fail(struct bench_imap_reply *r, enum bench_imap_status st,
                                              const char *why)
{
	r->status = st;
	snprintf(r->line, sizeof(r->line), "%s", why);
	return st;
}

static bool bench_imap_starts(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len >= n && memcmp(p, word, n) == 0;
}

/* Keep the last octets of the current line for bench_imap_literal_at_end. */
static void bench_imap_tail_push(struct bench_imap *im, const char *p, size_t len)
{
	if (len >= BENCH_IMAP_TAIL) {
		memcpy(im->tail, p + len - BENCH_IMAP_TAIL, BENCH_IMAP_TAIL);
		im->tail_len = BENCH_IMAP_TAIL;
		return;
	}
	size_t keep = im->tail_len + len > BENCH_IMAP_TAIL ? BENCH_IMAP_TAIL - len : im->tail_len;
	memmove(im->tail, im->tail + im->tail_len - keep, keep);
	memcpy(im->tail + keep, p, len);
	im->tail_len = keep + len;
}

/* Does the line end with "{n}", "{n+}" or "~{n}" (RFC 9051 4.3, RFC 7888,
 * RFC 3516)? A '}' right before CRLF can only close a literal: quoted
 * strings end with '"', and atoms may not contain braces. */
static bool bench_imap_literal_at_end(const struct bench_imap *im, uint64_t *n_r)
{
	const char *t = im->tail;
	size_t end = im->tail_len;
	if (end > 0 && t[end - 1] == '\n')
		end--;
	if (end > 0 && t[end - 1] == '\r')
		end--;
	if (end == 0 || t[end - 1] != '}')
		return false;
	end--;
	if (end > 0 && t[end - 1] == '+')
		end--;
	size_t start = end;
	while (start > 0 && t[start - 1] >= '0' && t[start - 1] <= '9')
		start--;
	if (start == end || start == 0 || t[start - 1] != '{')
		return false;
	return strnum_u64(t + start, end - start, UINT64_MAX, n_r);
}

/* ---- the FETCH scanner ---- */

static void bench_imap_scan_value(struct bench_imap_scan *s, const char *v, size_t len)
{
	if (strcmp(s->key, "UID") == 0)
		strnum_u32(v, len, UINT32_MAX, &s->uid);
	else if (strcmp(s->key, "RFC822.SIZE") == 0)
		strnum_u64(v, len, UINT64_MAX, &s->size);
	s->want_value = false;
}

/* A token (atom, number, section name) ended at the top level. */
static void bench_imap_scan_token(struct bench_imap_scan *s)
{
	size_t len = s->toklen;
	s->toklen = 0;
	if (len == 0 || s->depth != 1 || s->tok[0] == '{')
		return; /* nested, or a literal announcement (handled apart) */
	if (len >= BENCH_IMAP_TOK)
		len = BENCH_IMAP_TOK - 1;
	if (!s->want_value) {
		memcpy(s->key, s->tok, len);
		s->key[len] = '\0';
		s->want_value = true;
	} else {
		bench_imap_scan_value(s, s->tok, len);
	}
}

static void bench_imap_scan_char(struct bench_imap_scan *s, char ch)
{
	if (s->inq) {
		if (s->esc)
			s->esc = false;
		else if (ch == '\\')
			s->esc = true;
		else if (ch == '"') {
			s->inq = false;
			if (s->depth == 1)
				s->want_value = false; /* a quoted value ended */
		}
		return;
	}
	if (s->bdepth == 0 && (ch == ' ' || ch == '\r' || ch == '\n')) {
		bench_imap_scan_token(s);
	} else if (s->bdepth == 0 && ch == '"') {
		s->inq = true;
	} else if (s->bdepth == 0 && ch == '(') {
		bench_imap_scan_token(s);
		s->depth++;
	} else if (s->bdepth == 0 && ch == ')') {
		bench_imap_scan_token(s);
		if (--s->depth == 1)
			s->want_value = false; /* a list value ended */
	} else {
		s->bdepth += ch == '[';
		s->bdepth -= ch == ']' && s->bdepth > 0;
		if (s->toklen < BENCH_IMAP_TOK)
			s->tok[s->toklen] = ch;
		s->toklen++;
	}
}

static void bench_imap_scan_literal(struct bench_imap_scan *s, uint64_t n)
{
	s->toklen = 0;
	if (s->depth != 1 || !s->want_value)
		return; /* inside ENVELOPE or BODYSTRUCTURE */
	if (strncmp(s->key, "BODY[", 5) == 0 || strncmp(s->key, "BINARY[", 7) == 0 ||
	    strncmp(s->key, "RFC822", 6) == 0) {
		s->body_len = n;
		s->have_body = true;
	}
	s->want_value = false;
}

/* SEARCH results: count the words after "* SEARCH". */
static void bench_imap_scan_words(struct bench_imap_scan *s, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool space = p[i] == ' ' || p[i] == '\r' || p[i] == '\n';
		s->words += s->in_space && !space;
		s->in_space = space;
	}
}

static void bench_imap_feed(enum bench_imap_kind kind, struct bench_imap_scan *s, const char *p,
                            size_t len)
{
	if (kind == KIND_FETCH) {
		for (size_t i = 0; i < len; i++)
			bench_imap_scan_char(s, p[i]);
	} else if (kind == KIND_SEARCH) {
		bench_imap_scan_words(s, p, len);
	}
}

/* ---- reading responses ---- */

/* Read the rest of one response whose first piece is (p, len), feeding
 * kind's scanner from offset skip of that piece; follows literals. */
static bool bench_imap_consume(struct bench_imap *im, struct bench_imap_reply *r,
                               enum bench_imap_kind kind, struct bench_imap_scan *s, const char *p,
                               size_t len, bool complete, size_t skip)
{
	im->tail_len = 0;
	for (;;) {
		bench_imap_feed(kind, s, p + skip, len - skip);
		bench_imap_tail_push(im, p, len);
		skip = 0;
		if (complete) {
			uint64_t n;
			if (!bench_imap_literal_at_end(im, &n))
				return true;
			if (!bench_conn_skip(im->c, n))
				return false;
			r->literal_octets += n;
			if (kind == KIND_FETCH)
				bench_imap_scan_literal(s, n);
			im->tail_len = 0;
		}
		len = bench_conn_read_line(im->c, &p, &complete);
		if (len == 0)
			return false;
	}
}

static bool bench_imap_record_fetch(struct bench_imap *im, struct bench_imap_reply *r, uint32_t seq,
                                    const struct bench_imap_scan *s)
{
	if (seq == 0 || seq > BENCH_IMAP_MAX_SEQ)
		return false;
	if (seq > im->cap) {
		uint32_t cap = im->cap ? im->cap : 64;
		while (cap < seq)
			cap *= 2;
		im->msgs = xrealloc(im->msgs, cap * sizeof(*im->msgs));
		memset(im->msgs + im->cap, 0, (cap - im->cap) * sizeof(*im->msgs));
		im->cap = cap;
	}
	if (s->uid != 0)
		im->msgs[seq - 1].uid = s->uid;
	if (s->size != 0)
		im->msgs[seq - 1].size = s->size;
	if (seq > im->nmsgs)
		im->nmsgs = seq;
	if (s->have_body)
		r->body_len = s->body_len;
	r->fetches++;
	return true;
}

/* Note LITERAL+ in a CAPABILITY list (RFC 9051 7.2.2). */
static void bench_imap_check_caps(struct bench_imap *im, const char *p, size_t len)
{
	size_t head = len < 40 ? len : 40;
	if (memmem(p, head, "CAPABILITY", 10) == NULL)
		return;
	for (const char *q = p; (q = memmem(q, len - (size_t)(q - p), " LITERAL+", 9)) != NULL;) {
		q += 9;
		if (q == p + len || *q == ' ' || *q == ']' || *q == '\r')
			im->literal_plus = true;
	}
}

/* "* n WORD ...": the number and where WORD starts; false if no number. */
static bool bench_imap_numbered(const char *p, size_t len, uint32_t *n_r, size_t *word_r)
{
	size_t i = 2;
	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 2 || i >= len || p[i] != ' ' || !strnum_u32(p + 2, i - 2, UINT32_MAX, n_r))
		return false;
	*word_r = i + 1;
	return true;
}

static enum bench_imap_status bench_imap_untagged(struct bench_imap *im, struct bench_imap_reply *r,
                                                  const char *p, size_t len, bool complete)
{
	struct bench_imap_scan s = {.in_space = true};
	enum bench_imap_kind kind = KIND_OTHER;
	uint32_t n = 0;
	size_t w = 0, skip = len;
	if (bench_imap_numbered(p, len, &n, &w)) {
		if (bench_imap_starts(p + w, len - w, "FETCH ")) {
			kind = KIND_FETCH;
			skip = w + 6;
		} else if (bench_imap_starts(p + w, len - w, "EXISTS")) {
			r->exists = n;
		} else if (bench_imap_starts(p + w, len - w, "EXPUNGE")) {
			r->expunges++;
		}
	} else if (bench_imap_starts(p, len, "* SEARCH")) {
		kind = KIND_SEARCH;
		skip = 8;
	} else if (bench_imap_starts(p, len, "* BYE")) {
		r->bye = true;
	}
	bench_imap_check_caps(im, p, len);
	if (!bench_imap_consume(im, r, kind, &s, p, len, complete, skip))
		return bench_imap_fail(r, BENCH_IMAP_CLOSED, "connection closed in a response");
	if (kind == KIND_FETCH && (s.depth != 0 || !bench_imap_record_fetch(im, r, n, &s)))
		return bench_imap_fail(r, BENCH_IMAP_PROTO, "malformed FETCH response");
	r->search_hits += s.words;
	return BENCH_IMAP_OK;
}

/* Read responses up to the tagged reply of the current command (or a
 * continuation request). */
static enum bench_imap_status bench_imap_read(struct bench_imap *im, struct bench_imap_reply *r)
{
	for (;;) {
		const char *p;
		bool complete;
		size_t len = bench_conn_read_line(im->c, &p, &complete);
		if (len == 0)
			return bench_imap_fail(r, BENCH_IMAP_CLOSED,
			                       "connection closed or timed out");
		if (bench_imap_starts(p, len, "* ")) {
			if (bench_imap_untagged(im, r, p, len, complete) != BENCH_IMAP_OK)
				return r->status;
			continue;
		}
		struct bench_imap_scan s = {0};
		enum bench_imap_status st = BENCH_IMAP_PROTO;
		if (p[0] == '+') {
			st = BENCH_IMAP_CONT;
		} else if (len > im->tag_len && memcmp(p, im->tag, im->tag_len) == 0 &&
		           p[im->tag_len] == ' ') {
			const char *q = p + im->tag_len + 1;
			size_t qlen = len - im->tag_len - 1;
			st = bench_imap_starts(q, qlen, "OK")    ? BENCH_IMAP_OK
			     : bench_imap_starts(q, qlen, "NO")  ? BENCH_IMAP_NO
			     : bench_imap_starts(q, qlen, "BAD") ? BENCH_IMAP_BAD
			                                         : BENCH_IMAP_PROTO;
			bench_imap_check_caps(im, q, qlen);
		}
		bench_imap_set_line(r, p, len);
		if (!bench_imap_consume(im, r, KIND_OTHER, &s, p, len, complete, len))
			return bench_imap_fail(r, BENCH_IMAP_CLOSED,
			                       "connection closed in a reply");
		r->status = st;
		return st;
	}
}

/* ---- commands ---- */

static void bench_imap_reply_init(struct bench_imap_reply *r)
{
	*r = (struct bench_imap_reply){.exists = BENCH_IMAP_NONE, .body_len = UINT64_MAX};
}

static void bench_imap_next_tag(struct bench_imap *im)
{
	int n = snprintf(im->tag, sizeof(im->tag), "a%u", ++im->next_tag);
	im->tag_len = (size_t)n;
}

/* Send "<tag> <text>\r\n"; shown is what error messages show of it. */
static enum bench_imap_status bench_imap_send(struct bench_imap *im, struct bench_imap_reply *r,
                                              const char *text, const char *shown)
{
	bench_imap_reply_init(r);
	bench_imap_next_tag(im);
	snprintf(im->cmd, sizeof(im->cmd), "%s", shown);
	char *line = xasprintf("%s %s\r\n", im->tag, text);
	bool ok = bench_conn_write_str(im->c, line);
	xfree(line);
	if (!ok)
		return bench_imap_fail(r, BENCH_IMAP_CLOSED, "write failed");
	return BENCH_IMAP_OK;
}

enum bench_imap_status bench_imap_cmd(struct bench_imap *im, struct bench_imap_reply *r,
                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	enum bench_imap_status st = bench_imap_send(im, r, text, text);
	xfree(text);
	if (st != BENCH_IMAP_OK)
		return st;
	st = bench_imap_read(im, r);
	return st == BENCH_IMAP_CONT ? bench_imap_fail(r, BENCH_IMAP_PROTO, "unexpected '+'") : st;
}

enum bench_imap_status bench_imap_login(struct bench_imap *im, struct bench_imap_reply *r,
                                        const char *user, const char *password)
{
	char *text = xasprintf("LOGIN \"%s\" \"%s\"", user, password);
	char *shown = xasprintf("LOGIN \"%s\" ***", user);
	enum bench_imap_status st = bench_imap_send(im, r, text, shown);
	mem_wipe(text, strlen(text));
	xfree(text);
	xfree(shown);
	if (st != BENCH_IMAP_OK)
		return st;
	st = bench_imap_read(im, r);
	return st == BENCH_IMAP_CONT ? bench_imap_fail(r, BENCH_IMAP_PROTO, "unexpected '+'") : st;
}

enum bench_imap_status bench_imap_append(struct bench_imap *im, struct bench_imap_reply *r,
                                         const char *mailbox, const char *flags, const char *msg,
                                         size_t len, bool allow_nonsync)
{
	bool nonsync = allow_nonsync && im->literal_plus;
	char *text = xasprintf("APPEND %s%s%s {%zu%s}", mailbox, flags[0] ? " " : "", flags, len,
	                       nonsync ? "+" : "");
	enum bench_imap_status st = bench_imap_send(im, r, text, text);
	xfree(text);
	if (st != BENCH_IMAP_OK)
		return st;
	if (!nonsync) {
		st = bench_imap_read(im, r);
		if (st != BENCH_IMAP_CONT)
			return st == BENCH_IMAP_OK ? bench_imap_fail(r, BENCH_IMAP_PROTO, "no '+'")
			                           : st;
	}
	if (!bench_conn_write(im->c, msg, len) || !bench_conn_write(im->c, "\r\n", 2))
		return bench_imap_fail(r, BENCH_IMAP_CLOSED, "write failed");
	st = bench_imap_read(im, r);
	return st == BENCH_IMAP_CONT ? bench_imap_fail(r, BENCH_IMAP_PROTO, "unexpected '+'") : st;
}

enum bench_imap_status bench_imap_idle(struct bench_imap *im, struct bench_imap_reply *r)
{
	enum bench_imap_status st = bench_imap_send(im, r, "IDLE", "IDLE");
	if (st != BENCH_IMAP_OK)
		return st;
	st = bench_imap_read(im, r);
	return st == BENCH_IMAP_CONT ? BENCH_IMAP_OK
	       : st == BENCH_IMAP_OK ? bench_imap_fail(r, BENCH_IMAP_PROTO, "IDLE ended at once")
	                             : st;
}

enum bench_imap_status bench_imap_done(struct bench_imap *im, struct bench_imap_reply *r)
{
	bench_imap_reply_init(r);
	if (!bench_conn_write_str(im->c, "DONE\r\n"))
		return bench_imap_fail(r, BENCH_IMAP_CLOSED, "write failed");
	enum bench_imap_status st = bench_imap_read(im, r);
	return st == BENCH_IMAP_CONT ? bench_imap_fail(r, BENCH_IMAP_PROTO, "unexpected '+'") : st;
}

/* ---- the connection ---- */

struct bench_imap *bench_imap_open(const char *host, uint16_t port, bool tls, int timeout_ms,
                                   char *err, size_t size)
{
	const char *why = "";
	struct bench_conn *c = bench_conn_open(host, port, tls, timeout_ms, &why);
	if (c == NULL) {
		snprintf(err, size, "connect: %s", why);
		return NULL;
	}
	struct bench_imap *im = xmalloc(sizeof(*im));
	im->c = c;
	struct bench_imap_reply r;
	bench_imap_reply_init(&r);
	const char *p;
	bool complete;
	size_t len = bench_conn_read_line(c, &p, &complete);
	bool ok = len > 0 && bench_imap_starts(p, len, "* OK");
	if (ok)
		bench_imap_set_line(&r, p, len);
	if (ok && bench_imap_untagged(im, &r, p, len, complete) == BENCH_IMAP_OK)
		return im;
	snprintf(err, size, "greeting: %.*s", len > 0 ? (int)strcspn(p, "\r\n") : 6,
	         len > 0 ? p : "closed");
	bench_imap_free(&im);
	return NULL;
}

void bench_imap_free(struct bench_imap **imp)
{
	struct bench_imap *im = *imp;
	if (im == NULL)
		return;
	bench_conn_free(&im->c);
	xfree(im->msgs);
	xfree(*imp);
}

bool bench_imap_literal_plus(const struct bench_imap *im)
{
	return im->literal_plus;
}

const char *bench_imap_last_command(const struct bench_imap *im)
{
	return im->cmd;
}

const struct bench_imap_msg *bench_imap_msgs(const struct bench_imap *im, uint32_t *n_r)
{
	*n_r = im->nmsgs;
	return im->msgs;
}

void bench_imap_msgs_reset(struct bench_imap *im)
{
	if (im->msgs != NULL)
		memset(im->msgs, 0, im->cap * sizeof(*im->msgs));
	im->nmsgs = 0;
}
