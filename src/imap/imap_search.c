/*
 * imap_search.c - SEARCH and UID SEARCH (RFC 9051 6.4.4, with ESEARCH
 * results, RFC 4731 / RFC 9051 7.3.4; SEARCHRES "$" and SAVE, RFC 5182;
 * MODSEQ, RFC 7162).
 *
 * The search program is parsed into a small tree and evaluated per
 * message. Keys that need only the index (flags, sizes, dates, UIDs) cost
 * nothing more; header keys read the message's header, BODY and TEXT its
 * text, after RFC 2047 and transfer-encoding decoding and conversion to
 * UTF-8. Matching is case-insensitive for ASCII letters (RFC 9051 6.4.4:
 * "case-insensitive substring"). BODY and TEXT first ask the full-text
 * index (store_fts_*) which messages may contain the needle (words that
 * contain its pieces) and read only those: still substrings, "dfg" finds
 * "asdfghjk".
 */
#include "imap/imap_internal.h"

#include "imap/imap_seqset.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mime/mime_address.h"
#include "mime/mime_charset.h"
#include "mime/mime_decode.h"
#include "mime/mime_header.h"
#include "mime/mime_parser.h"
#include "mime/mime_tree.h"
#include "store/store_imap.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Nesting of NOT/OR/() in a program, beyond the parser's own bound. */
#define IMAP_SEARCH_MAX_DEPTH 32
/* The most of one message read for BODY/TEXT. */
#define IMAP_SEARCH_MAX_READ (64 * 1024 * 1024)

enum key_kind {
	K_ALL, K_FLAG, K_NOFLAG, K_KEYWORD, K_UNKEYWORD, K_NEW, K_OLD, K_RECENT,
	K_LARGER, K_SMALLER, K_BEFORE, K_ON, K_SINCE, K_SENTBEFORE, K_SENTON, K_SENTSINCE,
	K_HEADER, K_BODY, K_TEXT, K_SEQSET, K_UIDSET, K_MODSEQ, K_NOT, K_OR, K_AND,
};

struct key {
	enum key_kind kind;
	unsigned flag;
	const char *str; /* header name, keyword or text (in the parser) */
	const char *field;
	uint64_t num;
	time_t day;
	struct imap_seqset set;
	struct key *a, *b; /* NOT: a; OR: a, b; AND: a..., list */
	struct key **list;
	size_t nlist;
	bool *cand; /* from the full-text index: by sequence number, NULL = all */
};

struct search_ctx {
	struct imap_session *s;
	size_t seq;
	const struct store_msg *m;
	struct buf header; /* loaded on demand: the message header, UTF-8 decoded per field */
	bool header_loaded;
	struct buf text;   /* decoded text of the body */
	bool text_loaded;
	bool any_recent_flag;
	struct mime_tree *tree; /* the cached structure, when there is one */
	bool tree_tried;
};

static void key_free(struct key *k)
{
	if (k == NULL)
		return;
	key_free(k->a);
	key_free(k->b);
	for (size_t i = 0; i < k->nlist; i++)
		key_free(k->list[i]);
	free(k->list);
	if (k->kind == K_SEQSET || k->kind == K_UIDSET)
		imap_seqset_deinit(&k->set);
	free(k->cand);
	free(k);
}

/* ---- parsing ---- */

static bool parse_date(const struct imap_arg *a, time_t *day_r)
{
	/* date = "d-Mon-yyyy" (RFC 9051 9), possibly quoted */
	const char *s;
	size_t len;
	if (!imap_arg_astring(a, &s, &len) || len > 12)
		return false;
	char buf[16];
	memcpy(buf, s, len);
	buf[len] = '\0';
	struct tm tm = {0};
	const char *end = strptime(buf, "%d-%b-%Y", &tm);
	if (end == NULL || *end != '\0')
		return false;
	tm.tm_isdst = -1;
	*day_r = timegm(&tm);
	return true;
}

static const struct {
	const char *name;
	enum key_kind kind;
	unsigned flag;
} simple_keys[] = {
	{"ALL", K_ALL, 0},
	{"ANSWERED", K_FLAG, STORE_FLAG_ANSWERED},   {"UNANSWERED", K_NOFLAG, STORE_FLAG_ANSWERED},
	{"DELETED", K_FLAG, STORE_FLAG_DELETED},     {"UNDELETED", K_NOFLAG, STORE_FLAG_DELETED},
	{"DRAFT", K_FLAG, STORE_FLAG_DRAFT},         {"UNDRAFT", K_NOFLAG, STORE_FLAG_DRAFT},
	{"FLAGGED", K_FLAG, STORE_FLAG_FLAGGED},     {"UNFLAGGED", K_NOFLAG, STORE_FLAG_FLAGGED},
	{"SEEN", K_FLAG, STORE_FLAG_SEEN},           {"UNSEEN", K_NOFLAG, STORE_FLAG_SEEN},
	{"NEW", K_NEW, 0},  {"OLD", K_OLD, 0},       {"RECENT", K_RECENT, 0},
};

static const struct {
	const char *name;
	const char *field; /* NULL: BODY/TEXT */
	enum key_kind kind;
} text_keys[] = {
	{"FROM", "From", K_HEADER},  {"TO", "To", K_HEADER},       {"CC", "Cc", K_HEADER},
	{"BCC", "Bcc", K_HEADER},    {"SUBJECT", "Subject", K_HEADER},
	{"BODY", NULL, K_BODY},      {"TEXT", NULL, K_TEXT},
};

static const struct {
	const char *name;
	enum key_kind kind;
} date_keys[] = {
	{"BEFORE", K_BEFORE},         {"ON", K_ON},         {"SINCE", K_SINCE},
	{"SENTBEFORE", K_SENTBEFORE}, {"SENTON", K_SENTON}, {"SENTSINCE", K_SENTSINCE},
};

static struct key *key_new(enum key_kind kind)
{
	struct key *k = xmalloc(sizeof(*k));
	k->kind = kind;
	return k;
}

struct parse_state {
	struct imap_session *s;
	const struct imap_arg *args;
	size_t n, i;
	int depth;
	bool uses_save;  /* "$" seen */
	bool uses_modseq; /* a MODSEQ key: the result carries MODSEQ (RFC 7162 3.1.5) */
};

static struct key *parse_key(struct parse_state *p);

/* A sequence of keys up to the end of args (AND). */
static struct key *parse_and(struct parse_state *p, const struct imap_arg *args, size_t n)
{
	struct parse_state sub = *p;
	sub.args = args;
	sub.n = n;
	sub.i = 0;
	sub.depth = p->depth + 1;
	if (sub.depth > IMAP_SEARCH_MAX_DEPTH || n == 0)
		return NULL;
	struct key *k = key_new(K_AND);
	while (sub.i < sub.n) {
		struct key *c = parse_key(&sub);
		if (c == NULL) {
			key_free(k);
			return NULL;
		}
		k->list = xrealloc(k->list, (k->nlist + 1) * sizeof(*k->list));
		k->list[k->nlist++] = c;
	}
	p->uses_save = p->uses_save || sub.uses_save;
	p->uses_modseq = p->uses_modseq || sub.uses_modseq;
	return k;
}

static bool parse_arg_string(struct parse_state *p, const char **str_r)
{
	size_t len;
	if (p->i >= p->n || !imap_arg_astring(&p->args[p->i], str_r, &len))
		return false;
	p->i++;
	return true;
}

static struct key *parse_named(struct parse_state *p, const struct imap_arg *a)
{
	for (size_t k = 0; k < sizeof(simple_keys) / sizeof(simple_keys[0]); k++)
		if (imap_arg_atom_is(a, simple_keys[k].name)) {
			struct key *key = key_new(simple_keys[k].kind);
			key->flag = simple_keys[k].flag;
			return key;
		}
	for (size_t k = 0; k < sizeof(text_keys) / sizeof(text_keys[0]); k++)
		if (imap_arg_atom_is(a, text_keys[k].name)) {
			struct key *key = key_new(text_keys[k].kind);
			key->field = text_keys[k].field;
			if (!parse_arg_string(p, &key->str)) {
				key_free(key);
				return NULL;
			}
			return key;
		}
	for (size_t k = 0; k < sizeof(date_keys) / sizeof(date_keys[0]); k++)
		if (imap_arg_atom_is(a, date_keys[k].name)) {
			struct key *key = key_new(date_keys[k].kind);
			if (p->i >= p->n || !parse_date(&p->args[p->i++], &key->day)) {
				key_free(key);
				return NULL;
			}
			return key;
		}
	return NULL;
}

static struct key *parse_set_key(struct parse_state *p, const struct imap_arg *a, bool uid)
{
	struct key *k = key_new(uid ? K_UIDSET : K_SEQSET);
	imap_seqset_init(&k->set, 0);
	if (a->type != IMAP_ARG_ATOM) {
		key_free(k);
		return NULL;
	}
	if (a->len == 1 && a->str[0] == '$') {
		p->uses_save = true;
		k->kind = K_UIDSET; /* the saved result is kept as UIDs */
		imap_seqset_add(&k->set, 0, 0); /* replaced at evaluation */
		k->num = 1;                     /* marks "$" */
		return k;
	}
	uint32_t star = uid ? store_mailbox_uidnext(p->s->mb) - 1
			    : (uint32_t)store_mailbox_count(p->s->mb);
	enum imap_seqset_result r = imap_seqset_parse(&k->set, a->str, a->len, star);
	if (r == IMAP_SEQSET_STAR_EMPTY) {
		imap_seqset_clear(&k->set);
	} else if (r != IMAP_SEQSET_OK) {
		key_free(k);
		return NULL;
	}
	return k;
}

static struct key *parse_key(struct parse_state *p)
{
	if (p->i >= p->n)
		return NULL;
	const struct imap_arg *a = &p->args[p->i++];
	if (a->type == IMAP_ARG_LIST)
		return parse_and(p, a->list, a->count);
	struct key *k = parse_named(p, a);
	if (k != NULL || a->type != IMAP_ARG_ATOM)
		return k;
	if (imap_arg_atom_is(a, "NOT") || imap_arg_atom_is(a, "OR")) {
		bool or = imap_arg_atom_is(a, "OR");
		if (++p->depth > IMAP_SEARCH_MAX_DEPTH)
			return NULL;
		k = key_new(or ? K_OR : K_NOT);
		k->a = parse_key(p);
		k->b = or && k->a != NULL ? parse_key(p) : NULL;
		p->depth--;
		if (k->a == NULL || (or && k->b == NULL)) {
			key_free(k);
			return NULL;
		}
		return k;
	}
	if (imap_arg_atom_is(a, "KEYWORD") || imap_arg_atom_is(a, "UNKEYWORD")) {
		k = key_new(imap_arg_atom_is(a, "KEYWORD") ? K_KEYWORD : K_UNKEYWORD);
		if (!parse_arg_string(p, &k->str)) {
			key_free(k);
			return NULL;
		}
		return k;
	}
	if (imap_arg_atom_is(a, "HEADER")) {
		k = key_new(K_HEADER);
		if (!parse_arg_string(p, &k->field) || !parse_arg_string(p, &k->str)) {
			key_free(k);
			return NULL;
		}
		return k;
	}
	bool larger = imap_arg_atom_is(a, "LARGER");
	if (larger || imap_arg_atom_is(a, "SMALLER") || imap_arg_atom_is(a, "MODSEQ")) {
		k = key_new(larger ? K_LARGER : imap_arg_atom_is(a, "MODSEQ") ? K_MODSEQ : K_SMALLER);
		if (k->kind == K_MODSEQ && p->i + 1 < p->n && p->args[p->i].type == IMAP_ARG_QUOTED)
			p->i += 2; /* entry-name entry-type-req: metadata, ignored */
		if (p->i >= p->n || !imap_arg_number64(&p->args[p->i++], &k->num)) {
			key_free(k);
			return NULL;
		}
		if (k->kind == K_MODSEQ) {
			imap_condstore_on(p->s);
			p->uses_modseq = true;
		}
		return k;
	}
	if (imap_arg_atom_is(a, "UID")) {
		if (p->i >= p->n)
			return NULL;
		return parse_set_key(p, &p->args[p->i++], true);
	}
	return parse_set_key(p, a, false);
}

/* ---- evaluation ---- */

/* ASCII case-insensitive substring search in UTF-8 text. */
static bool contains_ci(const char *hay, size_t hlen, const char *needle)
{
	size_t nlen = strlen(needle);
	if (nlen == 0)
		return true;
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (strncasecmp(hay + i, needle, nlen) == 0)
			return true;
	return false;
}

static bool search_read(struct search_ctx *c, uint64_t off, uint64_t len, struct buf *out)
{
	int fd;
	uint64_t size;
	if (store_mailbox_msg_open(c->s->mb, c->seq, &fd, &size) != STORE_OK)
		return false;
	if (len > IMAP_SEARCH_MAX_READ)
		len = IMAP_SEARCH_MAX_READ;
	char *chunk = xmalloc(64 * 1024);
	while (len > 0) {
		ssize_t n = pread(fd, chunk, len < 65536 ? (size_t)len : 65536, (off_t)off);
		if (n <= 0)
			break;
		buf_append(out, chunk, (size_t)n);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(chunk);
	close(fd);
	return true;
}

/* The raw header of the message (up to the blank line). */
static void search_load_header(struct search_ctx *c)
{
	if (c->header_loaded)
		return;
	c->header_loaded = true;
	struct buf raw;
	buf_init(&raw, 0);
	search_read(c, 0, 256 * 1024, &raw);
	size_t end = raw.len;
	for (size_t i = 0; i + 1 < raw.len; i++) {
		if (raw.ptr[i] == '\n' && (raw.ptr[i + 1] == '\n' ||
					   (raw.ptr[i + 1] == '\r' && i + 2 < raw.len &&
					    raw.ptr[i + 2] == '\n'))) {
			end = i + 1;
			break;
		}
	}
	buf_append(&c->header, raw.ptr, end);
	buf_deinit(&raw);
}

/*
 * FROM, TO, CC and BCC search the envelope's addresses (RFC 9051 6.4.4),
 * not only the field's text: "a (comment)@ b.org" is the address
 * a@b.org. Each address is tried as "name <mailbox@host>", the name
 * decoded (RFC 2047).
 */
static bool search_address_hit(const char *value, size_t len, const char *needle)
{
	struct mime_addr_list l;
	mime_addr_list_init(&l);
	mime_address_parse(value, len, &l);
	bool hit = false;
	struct buf a;
	buf_init(&a, 0);
	for (size_t i = 0; !hit && i < l.count; i++) {
		const char *name = mime_addr_text(&l, l.v[i].name);
		const char *mailbox = mime_addr_text(&l, l.v[i].mailbox);
		const char *host = mime_addr_text(&l, l.v[i].host);
		if (mailbox == NULL || host == NULL)
			continue; /* a group marker */
		a.len = 0;
		if (name != NULL) {
			mime_header_decode(name, strlen(name), &a);
			buf_append_byte(&a, ' ');
		}
		buf_appendf(&a, "<%s@%s>", mailbox, host);
		hit = contains_ci(a.ptr, a.len, needle);
	}
	buf_deinit(&a);
	mime_addr_list_deinit(&l);
	return hit;
}

static bool search_is_address(int env_field)
{
	return env_field == MIME_ENV_FROM || env_field == MIME_ENV_TO || env_field == MIME_ENV_CC ||
	       env_field == MIME_ENV_BCC;
}

/* The envelope field a header key names, or -1. */
static int search_env_field(const char *field)
{
	static const struct {
		const char *name;
		int field;
	} map[] = {{"Subject", MIME_ENV_SUBJECT}, {"From", MIME_ENV_FROM}, {"To", MIME_ENV_TO},
		   {"Cc", MIME_ENV_CC}, {"Bcc", MIME_ENV_BCC}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(map[i].name, field) == 0)
			return map[i].field;
	return -1;
}

/*
 * SUBJECT, FROM, TO, CC, BCC from the message's cached structure, which
 * keeps those fields' raw values (what FETCH ENVELOPE is made from): no
 * file is read. -1 when there is no complete cached structure.
 */
static int search_header_cached(struct search_ctx *c, int env_field, const char *needle)
{
	if (!c->tree_tried) {
		c->tree_tried = true;
		void *data;
		size_t len;
		if (store_mailbox_cache_get(c->s->mb, c->seq, &data, &len) == STORE_OK) {
			c->tree = mime_tree_deserialize(data, len);
			free(data);
		}
	}
	const struct mime_tree *t = c->tree;
	if (t == NULL || t->nparts == 0 || (t->flags & MIME_TREE_LIMITED))
		return -1;
	const struct mime_list env = t->parts[0].env;
	for (uint32_t i = env.first; i < env.first + env.count && i < t->nenv; i++) {
		if ((int)t->env[i].field != env_field)
			continue;
		struct buf dec;
		buf_init(&dec, 0);
		mime_header_decode(mime_str_ptr(t, t->env[i].value), t->env[i].value.len, &dec);
		bool hit = contains_ci(dec.ptr != NULL ? dec.ptr : "", dec.len, needle) ||
			   (search_is_address(env_field) &&
			    search_address_hit(mime_str_ptr(t, t->env[i].value), t->env[i].value.len,
					       needle));
		buf_deinit(&dec);
		if (hit)
			return 1;
	}
	return 0;
}

static bool search_header(struct search_ctx *c, const char *field, const char *needle)
{
	int env_field = search_env_field(field);
	int cached = env_field >= 0 ? search_header_cached(c, env_field, needle) : -1;
	if (cached >= 0)
		return cached == 1;
	search_load_header(c);
	size_t pos = 0;
	struct mime_header_field f;
	while (mime_header_next(c->header.ptr, c->header.len, &pos, &f)) {
		if (f.name_len == 0 || !mime_header_is(&f, field))
			continue;
		struct buf dec;
		buf_init(&dec, 0);
		mime_header_decode(f.value, f.value_len, &dec);
		bool hit = contains_ci(dec.ptr != NULL ? dec.ptr : "", dec.len, needle) ||
			   (search_is_address(env_field) &&
			    search_address_hit(f.value, f.value_len, needle));
		buf_deinit(&dec);
		if (hit)
			return true;
	}
	return false;
}

/* The decoded, UTF-8 text of the message's leaf parts (BODY/TEXT). */
static void search_load_text(struct search_ctx *c)
{
	if (c->text_loaded)
		return;
	c->text_loaded = true;
	struct buf raw;
	buf_init(&raw, 0);
	search_read(c, 0, IMAP_SEARCH_MAX_READ, &raw);
	struct mime_tree *t = mime_parse(raw.ptr != NULL ? raw.ptr : "", raw.len);
	for (uint32_t i = 0; t != NULL && i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		if (p->child != MIME_NONE || p->body_off + p->body_len > raw.len)
			continue;
		/* text parts only (RFC 2045 5.2: no type is text/plain); words
		 * inside images and archives are not what anyone searches for */
		if (mime_str_present(p->type) &&
		    (p->type.len != 4 || strncasecmp(mime_str_ptr(t, p->type), "text", 4) != 0))
			continue;
		enum mime_cte cte =
			mime_cte_from_name(mime_str_ptr(t, p->encoding), p->encoding.len);
		struct mime_decoder d;
		mime_decoder_init(&d, cte);
		char *out = xmalloc(MIME_DECODE_OUT_MAX(p->body_len) + 16);
		size_t n = mime_decoder_feed(&d, raw.ptr + p->body_off, p->body_len, out);
		n += mime_decoder_finish(&d, out + n);
		struct buf cs;
		buf_init(&cs, 256);
		if (mime_param_value(t, p->params, "charset", &cs) && cs.len > 0)
			mime_charset_to_utf8(cs.ptr, cs.len, out, n, &c->text);
		else
			mime_utf8_append(out, n, &c->text);
		buf_deinit(&cs);
		buf_append_byte(&c->text, '\n');
		free(out);
	}
	mime_tree_free(&t);
	buf_deinit(&raw);
}

static time_t search_day(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return timegm(&tm);
}

/* The Date: header as a day, or -1. */
static time_t search_sent_day(struct search_ctx *c)
{
	search_load_header(c);
	size_t pos = 0;
	struct mime_header_field f;
	while (mime_header_next(c->header.ptr, c->header.len, &pos, &f)) {
		if (f.name_len == 0 || !mime_header_is(&f, "Date"))
			continue;
		char v[128];
		size_t len = f.value_len < sizeof(v) - 1 ? f.value_len : sizeof(v) - 1;
		memcpy(v, f.value, len);
		v[len] = '\0';
		struct tm tm = {0};
		const char *p = v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strchr(p, ',') != NULL)
			p = strchr(p, ',') + 1;
		if (strptime(p, " %d %b %Y", &tm) == NULL)
			return -1;
		return timegm(&tm);
	}
	return -1;
}

static bool key_match(struct search_ctx *c, const struct key *k);

static bool key_match_keyword(struct search_ctx *c, const char *name)
{
	size_t nk;
	const char *const *kw = store_mailbox_keywords(c->s->mb, &nk);
	for (size_t i = 0; i < nk && i < 32; i++)
		if (strcasecmp(kw[i], name) == 0)
			return (c->m->keywords & (1u << i)) != 0;
	return false;
}

static bool key_match_date(struct search_ctx *c, const struct key *k)
{
	bool sent = k->kind == K_SENTBEFORE || k->kind == K_SENTON || k->kind == K_SENTSINCE;
	time_t day = sent ? search_sent_day(c) : search_day(c->m->internal_date);
	if (day < 0)
		return false;
	switch (k->kind) {
	case K_BEFORE:
	case K_SENTBEFORE:
		return day < k->day;
	case K_ON:
	case K_SENTON:
		return day == k->day;
	default:
		return day >= k->day;
	}
}

static bool key_match_text(struct search_ctx *c, const struct key *k)
{
	if (k->kind == K_HEADER)
		return search_header(c, k->field, k->str);
	if (k->kind == K_TEXT) {
		search_load_header(c);
		if (contains_ci(c->header.ptr != NULL ? c->header.ptr : "", c->header.len, k->str))
			return true;
	}
	search_load_text(c);
	return contains_ci(c->text.ptr != NULL ? c->text.ptr : "", c->text.len, k->str);
}

static bool key_match(struct search_ctx *c, const struct key *k)
{
	const struct store_msg *m = c->m;
	switch (k->kind) {
	case K_ALL:
		return true;
	case K_FLAG:
		return (m->flags & k->flag) != 0;
	case K_NOFLAG:
		return (m->flags & k->flag) == 0;
	case K_KEYWORD:
		return key_match_keyword(c, k->str);
	case K_UNKEYWORD:
		return !key_match_keyword(c, k->str);
	case K_NEW:
		return m->recent && !(m->flags & STORE_FLAG_SEEN);
	case K_OLD:
		return !m->recent;
	case K_RECENT:
		return m->recent;
	case K_LARGER:
		return m->size > k->num;
	case K_SMALLER:
		return m->size < k->num;
	case K_MODSEQ:
		return m->modseq >= k->num;
	case K_BEFORE: case K_ON: case K_SINCE:
	case K_SENTBEFORE: case K_SENTON: case K_SENTSINCE:
		return key_match_date(c, k);
	case K_HEADER:
	case K_BODY:
	case K_TEXT:
		/* BODY/TEXT: the full-text index matches words and word
		 * prefixes; a message it rules out is not read at all */
		if (k->cand != NULL && !k->cand[c->seq])
			return false; /* the index says the words are not there */
		return key_match_text(c, k);
	case K_SEQSET:
		return imap_seqset_contains(&k->set, (uint32_t)c->seq);
	case K_UIDSET:
		if (k->num == 1) /* "$" */
			return imap_seqset_contains(&c->s->saved, m->uid);
		return imap_seqset_contains(&k->set, m->uid);
	case K_NOT:
		return !key_match(c, k->a);
	case K_OR:
		return key_match(c, k->a) || key_match(c, k->b);
	case K_AND:
		for (size_t i = 0; i < k->nlist; i++)
			if (!key_match(c, k->list[i]))
				return false;
		return true;
	}
	return false;
}

/* ---- the command ---- */

struct search_return {
	bool esearch; /* RETURN (...) given, or IMAP4rev2 */
	bool min, max, all, count, save;
};

static bool parse_return(const struct imap_arg *args, size_t n, size_t *i, struct search_return *r)
{
	if (*i + 1 >= n || !imap_arg_atom_is(&args[*i], "RETURN"))
		return true;
	const struct imap_arg *opts;
	size_t no;
	if (!imap_arg_list(&args[*i + 1], &opts, &no))
		return false;
	r->esearch = true;
	for (size_t k = 0; k < no; k++) {
		if (imap_arg_atom_is(&opts[k], "MIN"))
			r->min = true;
		else if (imap_arg_atom_is(&opts[k], "MAX"))
			r->max = true;
		else if (imap_arg_atom_is(&opts[k], "ALL"))
			r->all = true;
		else if (imap_arg_atom_is(&opts[k], "COUNT"))
			r->count = true;
		else if (imap_arg_atom_is(&opts[k], "SAVE"))
			r->save = true;
		else
			return false;
	}
	if (no == 0)
		r->all = true; /* RFC 4731 3.1: "RETURN ()" means ALL */
	*i += 2;
	return true;
}

static void search_reply(struct imap_session *s, const uint32_t *hits, size_t n,
			 const struct search_return *r, uint64_t maxmodseq)
{
	struct buf line;
	buf_init(&line, 0);
	if (!r->esearch) {
		buf_append_str(&line, "* SEARCH");
		for (size_t i = 0; i < n; i++)
			buf_appendf(&line, " %u", hits[i]);
		if (maxmodseq > 0 && n > 0)
			buf_appendf(&line, " (MODSEQ %llu)", (unsigned long long)maxmodseq);
	} else {
		buf_appendf(&line, "* ESEARCH (TAG \"%s\")%s", s->tag, s->uid_cmd ? " UID" : "");
		if (r->min && n > 0)
			buf_appendf(&line, " MIN %u", hits[0]);
		if (r->max && n > 0)
			buf_appendf(&line, " MAX %u", hits[n - 1]);
		if (r->count)
			buf_appendf(&line, " COUNT %zu", n);
		if (r->all && n > 0) {
			struct imap_seqset set;
			imap_seqset_init(&set, 0);
			for (size_t i = 0; i < n; i++)
				imap_seqset_add(&set, hits[i], hits[i]);
			buf_append_str(&line, " ALL ");
			imap_seqset_write(&set, &line);
			imap_seqset_deinit(&set);
		}
		if (maxmodseq > 0 && n > 0)
			buf_appendf(&line, " MODSEQ %llu", (unsigned long long)maxmodseq);
	}
	buf_append_str(&line, "\r\n");
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
}

/* ---- the full-text index ---- */

/* Messages indexed per transaction: others wait for the index meanwhile. */
#define IMAP_FTS_BATCH 200

/* What the index gets for a message: the raw header and every field's
 * decoded value (so that both what TEXT and what the header keys compare
 * are there), and the decoded text parts (what BODY compares). */
static void search_fts_texts(struct search_ctx *c, struct buf *hdr)
{
	search_load_header(c);
	buf_append(hdr, c->header.ptr != NULL ? c->header.ptr : "", c->header.len);
	size_t pos = 0;
	struct mime_header_field f;
	while (mime_header_next(c->header.ptr, c->header.len, &pos, &f)) {
		buf_append_byte(hdr, '\n');
		mime_header_decode(f.value, f.value_len, hdr);
	}
	search_load_text(c);
}

/* Bring the index up to date for the view (only new messages cost). */
static void search_fts_update(struct imap_session *s)
{
	uint32_t *seqs;
	size_t n;
	if (store_fts_missing(s->mb, &seqs, &n) != STORE_OK || n == 0)
		return;
	bool ok = true;
	for (size_t i = 0; ok && i < n; i += IMAP_FTS_BATCH) {
		if (store_fts_begin(s->mb) != STORE_OK)
			break;
		for (size_t k = i; ok && k < n && k < i + IMAP_FTS_BATCH; k++) {
			struct search_ctx c = {.s = s, .seq = seqs[k],
					       .m = store_mailbox_msg(s->mb, seqs[k])};
			struct buf hdr;
			buf_init(&hdr, 0);
			buf_init(&c.header, 0);
			buf_init(&c.text, 0);
			search_fts_texts(&c, &hdr);
			ok = store_fts_add(s->mb, seqs[k], hdr.ptr, hdr.len, c.text.ptr, c.text.len) ==
			     STORE_OK;
			buf_deinit(&hdr);
			buf_deinit(&c.header);
			buf_deinit(&c.text);
		}
		store_fts_end(s->mb, ok);
	}
	free(seqs);
}

/* Give every text key of the program its candidates from the index. */
static void search_fts_prepare(struct imap_session *s, struct key *k, bool *updated)
{
	if (k == NULL)
		return;
	search_fts_prepare(s, k->a, updated);
	search_fts_prepare(s, k->b, updated);
	for (size_t i = 0; i < k->nlist; i++)
		search_fts_prepare(s, k->list[i], updated);
	/* BODY and TEXT only: header keys stay exact substring searches
	 * (RFC 9051 6.4.4), which words cannot promise ("ello" in "Hello") */
	if ((k->kind != K_BODY && k->kind != K_TEXT) || k->str == NULL || k->str[0] == '\0')
		return;
	if (!*updated) {
		search_fts_update(s);
		*updated = true;
	}
	unsigned fields = k->kind == K_BODY ? STORE_FTS_BODY : STORE_FTS_HEADER | STORE_FTS_BODY;
	if (store_fts_candidates(s->mb, fields, k->str, &k->cand) != STORE_OK)
		k->cand = NULL;
}

bool imap_search_run(struct imap_session *s, const struct imap_arg *args, size_t n,
		     uint32_t **seqs_r, size_t *n_r, uint64_t *maxmodseq_r, bool *uses_modseq_r)
{
	struct parse_state p = {.s = s, .args = args, .n = n};
	struct key *prog = parse_and(&p, args, n);
	if (prog == NULL) {
		imap_bad(s, "Invalid search program.");
		return false;
	}
	bool updated = false;
	search_fts_prepare(s, prog, &updated);
	size_t count = store_mailbox_count(s->mb);
	uint32_t *hits = xcalloc(count + 1, sizeof(uint32_t));
	size_t nh = 0;
	uint64_t maxmod = 0;
	store_mailbox_batch_begin(s->mb); /* one read transaction for the cache */
	for (size_t seq = 1; seq <= count; seq++) {
		struct search_ctx c = {.s = s, .seq = seq, .m = store_mailbox_msg(s->mb, seq)};
		buf_init(&c.header, 0);
		buf_init(&c.text, 0);
		if (key_match(&c, prog)) {
			hits[nh++] = (uint32_t)seq;
			if (c.m->modseq > maxmod)
				maxmod = c.m->modseq;
		}
		buf_deinit(&c.header);
		buf_deinit(&c.text);
		mime_tree_free(&c.tree);
	}
	store_mailbox_batch_end(s->mb);
	key_free(prog);
	*seqs_r = hits;
	*n_r = nh;
	*maxmodseq_r = maxmod;
	*uses_modseq_r = p.uses_modseq;
	return true;
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	size_t i = 0;
	struct search_return ret = {.esearch = false};
	if (!parse_return(cmd->args, cmd->argc, &i, &ret)) {
		imap_bad(s, "Invalid RETURN options.");
		return;
	}
	if (i + 1 < cmd->argc && imap_arg_atom_is(&cmd->args[i], "CHARSET")) {
		const char *cs;
		size_t len;
		if (!imap_arg_astring(&cmd->args[i + 1], &cs, &len) ||
		    (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0)) {
			imap_tagged(s, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
			return;
		}
		i += 2;
	}
	if (s->rev2 && !ret.esearch) {
		ret.esearch = true; /* RFC 9051 7.3.4: IMAP4rev2 answers with ESEARCH */
		ret.all = true;
	}
	uint32_t *hits;
	size_t nh;
	uint64_t maxmod;
	bool uses_modseq;
	if (!imap_search_run(s, cmd->args + i, cmd->argc - i, &hits, &nh, &maxmod, &uses_modseq))
		return; /* answered */
	/* RFC 7162 3.1.5: returning only MIN and/or MAX, the MODSEQ is that
	 * of the messages returned */
	if (ret.esearch && (ret.min || ret.max) && !ret.all && !ret.count && nh > 0) {
		uint64_t lo = store_mailbox_msg(s->mb, hits[0])->modseq;
		uint64_t hi = store_mailbox_msg(s->mb, hits[nh - 1])->modseq;
		maxmod = ret.min && ret.max ? (lo > hi ? lo : hi) : ret.min ? lo : hi;
	}
	for (size_t k = 0; s->uid_cmd && k < nh; k++)
		hits[k] = store_mailbox_msg(s->mb, hits[k])->uid;
	if (ret.save) {
		/* RFC 5182: remember the result as UIDs */
		imap_seqset_clear(&s->saved);
		/* RFC 5182 2.1: with MIN and/or MAX (and no ALL/COUNT), only
		 * those are saved */
		bool some = (ret.min || ret.max) && !ret.all && !ret.count;
		for (size_t k = 0; k < nh; k++) {
			if (some && !((ret.min && k == 0) || (ret.max && k == nh - 1)))
				continue;
			uint32_t uid = s->uid_cmd ? hits[k] : store_mailbox_msg(s->mb, hits[k])->uid;
			imap_seqset_add(&s->saved, uid, uid);
		}
	}
	bool only_save = ret.save && !ret.min && !ret.max && !ret.all && !ret.count;
	if (!only_save)
		search_reply(s, hits, nh, &ret, uses_modseq ? maxmod : 0);
	free(hits);
	imap_tagged(s, "OK %sSEARCH completed.", s->uid_cmd ? "UID " : "");
}
