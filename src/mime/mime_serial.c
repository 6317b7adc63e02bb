/*
 * mime_serial.c - the cache encoding of a mime_tree (mime_tree_serialize,
 * mime_tree_deserialize in mime_tree.h).
 *
 * Layout, every number an unsigned LEB128 varint in its shortest form:
 *   "YM" MIME_TREE_FORMAT        magic and version
 *   flags size bare_lfs          tree flags; crlf_size = size + bare_lfs
 *   pool_len <pool bytes>
 *   nparts, then for each part in pre-order:
 *     parent_delta               0 for part 0, else index - parent index
 *     kind flags
 *     gap hdr_len body_len       hdr_off = parent's next free offset + gap
 *     hdr_extra body_extra lines sizes minus lengths, LF count
 *     8 strings                  type subtype id descr encoding md5
 *                                disposition location
 *     nparams (name value)*  ndparams (name value)*  nlangs string*
 *     nenv (field string)*
 *   a string is 0 (absent) or len + 1 followed by its pool offset.
 * Derived data (links, depth, offsets) is rebuilt, not stored, so a
 * stored tree cannot contradict itself; everything else is checked.
 */
#include "mime/mime_tree.h"
#include "mime/mime_tree_private.h"

#include "lib/mem.h"

#include <string.h>

static const unsigned char magic[3] = {'Y', 'M', MIME_TREE_FORMAT};

/* ---- writing ---- */

struct writer {
	struct buf *out;
	bool ok;
};

static void put(struct writer *w, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	w->ok = w->ok && buf_append(w->out, b, n);
}

static void put_str(struct writer *w, struct mime_str s)
{
	if (s.off == MIME_NONE) {
		put(w, 0);
		return;
	}
	put(w, (uint64_t)s.len + 1);
	put(w, s.off);
}

static void put_params(struct writer *w, const struct mime_tree *t, struct mime_list l)
{
	put(w, l.count);
	for (uint32_t i = 0; i < l.count; i++) {
		put_str(w, t->params[l.first + i].name);
		put_str(w, t->params[l.first + i].value);
	}
}

/* free_at[k]: where the next child of part k may start (after the last
 * one written); parts come in pre-order, so siblings are in order. */
static void put_part(struct writer *w, const struct mime_tree *t, uint32_t i, uint64_t *free_at)
{
	const struct mime_part *p = &t->parts[i];
	put(w, p->parent == MIME_NONE ? 0 : i - p->parent);
	put(w, p->kind);
	put(w, p->flags);
	if (p->parent == MIME_NONE) {
		put(w, p->hdr_off);
	} else {
		put(w, p->hdr_off - free_at[p->parent]);
		free_at[p->parent] = p->body_off + p->body_len;
	}
	free_at[i] = p->body_off;
	put(w, p->hdr_len);
	put(w, p->body_len);
	put(w, p->hdr_size - p->hdr_len);
	put(w, p->body_size - p->body_len);
	put(w, p->body_lines);
	const struct mime_str strs[] = {p->type,     p->subtype, p->id,          p->descr,
	                                p->encoding, p->md5,     p->disposition, p->location};
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
		put_str(w, strs[k]);
	put_params(w, t, p->params);
	put_params(w, t, p->dparams);
	put(w, p->langs.count);
	for (uint32_t k = 0; k < p->langs.count; k++)
		put_str(w, t->langs[p->langs.first + k]);
	put(w, p->env.count);
	for (uint32_t k = 0; k < p->env.count; k++) {
		put(w, t->env[p->env.first + k].field);
		put_str(w, t->env[p->env.first + k].value);
	}
}

bool mime_tree_serialize(const struct mime_tree *t, struct buf *out)
{
	struct writer w = {out, true};
	w.ok = buf_append(out, magic, sizeof(magic));
	put(&w, t->flags);
	put(&w, t->size);
	put(&w, t->crlf_size - t->size);
	put(&w, t->pool_len);
	w.ok = w.ok && buf_append(out, t->pool, t->pool_len);
	put(&w, t->nparts);
	uint64_t *free_at = xcalloc(t->nparts + 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < t->nparts && w.ok; i++)
		put_part(&w, t, i, free_at);
	free(free_at);
	return w.ok;
}

/* ---- reading ---- */

struct reader {
	const unsigned char *p, *end;
	bool ok;
	struct mime_tree *t;
	uint64_t *free_at; /* per part: where its next child may start */
};

static uint64_t get(struct reader *r, uint64_t max)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->ok; shift += 7) {
		if (r->p >= r->end || shift > 63) {
			r->ok = false;
			break;
		}
		unsigned char b = *r->p++;
		if (shift == 63 && b > 1)
			r->ok = false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			if (b == 0 && shift > 0)
				r->ok = false; /* not the shortest form */
			break;
		}
	}
	if (v > max)
		r->ok = false;
	return r->ok ? v : 0;
}

static struct mime_str get_str(struct reader *r)
{
	struct mime_str s = {MIME_NONE, 0};
	uint64_t len1 = get(r, MIME_MAX_POOL);
	if (len1 == 0 || !r->ok)
		return s;
	uint64_t off = get(r, MIME_MAX_POOL);
	const struct mime_tree *t = r->t;
	/* inside the pool and NUL-terminated there */
	if (!r->ok || off + len1 > t->pool_len || t->pool[off + len1 - 1] != '\0') {
		r->ok = false;
		return s;
	}
	s.off = (uint32_t)off;
	s.len = (uint32_t)(len1 - 1);
	return s;
}

static struct mime_str get_present(struct reader *r)
{
	struct mime_str s = get_str(r);
	if (s.off == MIME_NONE)
		r->ok = false;
	return s;
}

static void get_params(struct reader *r, struct mime_list *list)
{
	uint64_t n = get(r, MIME_MAX_PARAMS);
	for (uint64_t k = 0; k < n && r->ok; k++) {
		struct mime_str name = get_present(r);
		struct mime_str value = get_present(r);
		if (r->t->nparams >= MIME_MAX_ENTRIES)
			r->ok = false;
		if (r->ok)
			mime_tree_add_param(r->t, list, name, value);
	}
}

static void get_lists(struct reader *r, struct mime_part *p, bool message)
{
	get_params(r, &p->params);
	get_params(r, &p->dparams);
	uint64_t n = get(r, MIME_MAX_LANGS);
	for (uint64_t k = 0; k < n && r->ok; k++) {
		struct mime_str s = get_present(r);
		r->ok = r->ok && r->t->nlangs < MIME_MAX_ENTRIES;
		if (r->ok)
			mime_tree_add_lang(r->t, &p->langs, s);
	}
	n = get(r, message ? MIME_MAX_ENV_FIELDS : 0);
	for (uint64_t k = 0; k < n && r->ok; k++) {
		uint64_t field = get(r, MIME_ENV_COUNT - 1);
		struct mime_str s = get_present(r);
		r->ok = r->ok && r->t->nenv < MIME_MAX_ENTRIES;
		if (r->ok)
			mime_tree_add_env(r->t, &p->env, (uint32_t)field, s);
	}
}

/* The parent of the next part (index i): on the ancestor chain of i - 1,
 * able to have children. */
static uint32_t get_parent(struct reader *r, uint32_t i)
{
	uint64_t delta = get(r, i);
	if (!r->ok || (i == 0) != (delta == 0)) {
		r->ok = false;
		return MIME_NONE;
	}
	if (i == 0)
		return MIME_NONE;
	uint32_t parent = i - (uint32_t)delta, c = i - 1;
	while (c != parent && c != MIME_NONE)
		c = r->t->parts[c].parent;
	const struct mime_part *par = c != MIME_NONE ? &r->t->parts[parent] : NULL;
	if (par == NULL || par->kind == MIME_KIND_LEAF || par->depth >= MIME_MAX_DEPTH ||
	    (par->kind == MIME_KIND_MESSAGE && par->nchildren > 0))
		r->ok = false;
	return parent;
}

/* Offsets and sizes of part i, checked against its parent. */
static void get_ranges(struct reader *r, struct mime_part *p, uint32_t i)
{
	uint64_t lim = r->t->size;
	uint64_t gap = get(r, lim), hl = get(r, lim), bl = get(r, lim);
	uint64_t hx = get(r, hl), bx = get(r, bl), lines = get(r, bl);
	if (!r->ok)
		return;
	uint64_t start = p->parent == MIME_NONE ? 0 : r->free_at[p->parent];
	uint64_t end = p->parent == MIME_NONE
	                   ? lim
	                   : r->t->parts[p->parent].body_off + r->t->parts[p->parent].body_len;
	p->hdr_off = start + gap;
	p->hdr_len = hl;
	p->body_off = p->hdr_off + hl;
	p->body_len = bl;
	p->hdr_size = hl + hx;
	p->body_size = bl + bx;
	p->body_lines = lines;
	bool message_child =
	    p->parent != MIME_NONE && r->t->parts[p->parent].kind == MIME_KIND_MESSAGE;
	/* no overflow: each term is at most size; inside the parent's body.
	 * The encapsulated message starts where its message/rfc822 part's
	 * body does, and may end a line break before it (mime_parser.c) */
	if (gap > end - start || hl > end - p->hdr_off || bl > end - p->body_off ||
	    (message_child && gap != 0) ||
	    (p->parent == MIME_NONE && (gap != 0 || p->body_off + bl != end ||
	                                p->hdr_size + p->body_size != r->t->crlf_size)))
		r->ok = false;
	if (r->ok && p->parent != MIME_NONE)
		r->free_at[p->parent] = p->body_off + bl;
	r->free_at[i] = p->body_off;
}

static void get_part(struct reader *r, uint32_t i)
{
	uint32_t parent = get_parent(r, i);
	uint64_t kind = get(r, MIME_KIND_MESSAGE), flags = get(r, MIME_PART_FLAGS_ALL);
	if (!r->ok)
		return;
	(void)mime_tree_add_part(r->t, parent);
	struct mime_part *p = &r->t->parts[i];
	p->kind = (uint8_t)kind;
	p->flags = (uint8_t)flags;
	get_ranges(r, p, i);
	struct mime_str *strs[] = {&p->type,     &p->subtype, &p->id,          &p->descr,
	                           &p->encoding, &p->md5,     &p->disposition, &p->location};
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]) && r->ok; k++)
		*strs[k] = get_str(r);
	get_lists(r, p, mime_part_is_message(r->t, i));
}

static bool header_ok(struct reader *r)
{
	if ((size_t)(r->end - r->p) < sizeof(magic) || memcmp(r->p, magic, sizeof(magic)) != 0)
		return false;
	r->p += sizeof(magic);
	struct mime_tree *t = r->t;
	t->flags = (uint32_t)get(r, MIME_TREE_LIMITED);
	t->size = get(r, UINT64_MAX / 4);
	t->crlf_size = t->size + get(r, t->size);
	uint64_t pool_len = get(r, MIME_MAX_POOL);
	if (!r->ok || pool_len > (uint64_t)(r->end - r->p))
		return false;
	t->pool = xmalloc(pool_len + 1);
	memcpy(t->pool, r->p, pool_len);
	t->pool_len = t->cap_pool = (uint32_t)pool_len;
	r->p += pool_len;
	return true;
}

/* Every multipart may have any number of children (and has a type, as
 * BODYSTRUCTURE needs its subtype), a message exactly one, a leaf none. */
static bool shape_ok(const struct mime_tree *t)
{
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		if ((p->kind == MIME_KIND_MESSAGE && p->nchildren != 1) ||
		    (p->kind == MIME_KIND_LEAF && p->nchildren != 0) ||
		    (p->kind == MIME_KIND_MULTIPART && !mime_str_present(p->subtype)) ||
		    mime_str_present(p->type) != mime_str_present(p->subtype))
			return false;
	}
	return true;
}

struct mime_tree *mime_tree_deserialize(const void *data, size_t len)
{
	struct reader r = {data, (const unsigned char *)data + len, true, mime_tree_new(), NULL};
	if (!header_ok(&r)) {
		mime_tree_free(&r.t);
		return NULL;
	}
	uint64_t nparts = get(&r, MIME_MAX_PARTS);
	if (nparts == 0)
		r.ok = false;
	if (r.ok)
		r.free_at = xcalloc(nparts, sizeof(uint64_t));
	for (uint32_t i = 0; i < nparts && r.ok; i++)
		get_part(&r, i);
	free(r.free_at);
	if (!r.ok || r.p != r.end || !shape_ok(r.t))
		mime_tree_free(&r.t);
	return r.t;
}
