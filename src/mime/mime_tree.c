/*
 * mime_tree.c - the message structure tree: building, links, accessors;
 * see mime_tree.h. Serialisation is in mime_serial.c.
 */
#include "mime/mime_tree.h"
#include "mime/mime_tree_private.h"

#include "lib/mem.h"

#include <string.h>

struct mime_tree *mime_tree_new(void)
{
	return xmalloc(sizeof(struct mime_tree));
}

void mime_tree_free(struct mime_tree **tp)
{
	struct mime_tree *t = *tp;
	if (t == NULL)
		return;
	xfree(t->parts);
	xfree(t->params);
	xfree(t->langs);
	xfree(t->env);
	xfree(t->pool);
	xfree(*tp);
}

/* Make room for one more element in an array of elem-sized entries. */
static void *grow(void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	uint32_t ncap = *cap ? *cap * 2 : 8;
	arr = xrealloc(arr, (size_t)ncap * elem);
	memset((char *)arr + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
	*cap = ncap;
	return arr;
}

static const struct mime_str str_none = {MIME_NONE, 0};

uint32_t mime_tree_add_part(struct mime_tree *t, uint32_t parent)
{
	t->parts = grow(t->parts, t->nparts, &t->cap_parts, sizeof(struct mime_part));
	uint32_t i = t->nparts++;
	struct mime_part *p = &t->parts[i];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->child = p->next = MIME_NONE;
	p->type = p->subtype = p->id = p->descr = p->encoding = str_none;
	p->md5 = p->disposition = p->location = str_none;
	if (parent == MIME_NONE)
		return i;
	struct mime_part *par = &t->parts[parent];
	p->depth = par->depth + 1;
	/* pre-order: the previous sibling, if any, is the ancestor-or-self
	 * of part i - 1 that hangs directly below parent (depth steps) */
	uint32_t c = i - 1;
	while (c != parent && t->parts[c].parent != parent)
		c = t->parts[c].parent;
	if (c == parent)
		par->child = i;
	else
		t->parts[c].next = i;
	par->nchildren++;
	return i;
}

struct mime_str mime_tree_add_str(struct mime_tree *t, const void *p, size_t len)
{
	if (len >= MIME_MAX_POOL || t->pool_len > MIME_MAX_POOL - 1 - len) {
		t->flags |= MIME_TREE_LIMITED;
		return str_none;
	}
	uint32_t need = t->pool_len + (uint32_t)len + 1;
	if (need > t->cap_pool) {
		uint32_t cap = t->cap_pool ? t->cap_pool : 256;
		while (cap < need)
			cap *= 2;
		t->pool = xrealloc(t->pool, cap);
		t->cap_pool = cap;
	}
	struct mime_str s = {t->pool_len, (uint32_t)len};
	if (len > 0)
		memcpy(t->pool + t->pool_len, p, len);
	t->pool[t->pool_len + len] = '\0';
	t->pool_len = need;
	return s;
}

static bool full(struct mime_tree *t, uint32_t n)
{
	if (n < MIME_MAX_ENTRIES)
		return false;
	t->flags |= MIME_TREE_LIMITED;
	return true;
}

static void list_add(struct mime_list *list, uint32_t index)
{
	if (list->count == 0)
		list->first = index;
	list->count++;
}

void mime_tree_add_param(struct mime_tree *t, struct mime_list *list, struct mime_str name,
                         struct mime_str value)
{
	if (full(t, t->nparams))
		return;
	t->params = grow(t->params, t->nparams, &t->cap_params, sizeof(struct mime_param));
	t->params[t->nparams].name = name;
	t->params[t->nparams].value = value;
	list_add(list, t->nparams++);
}

void mime_tree_add_lang(struct mime_tree *t, struct mime_list *list, struct mime_str lang)
{
	if (full(t, t->nlangs))
		return;
	t->langs = grow(t->langs, t->nlangs, &t->cap_langs, sizeof(struct mime_str));
	t->langs[t->nlangs] = lang;
	list_add(list, t->nlangs++);
}

void mime_tree_add_env(struct mime_tree *t, struct mime_list *list, uint32_t field,
                       struct mime_str value)
{
	if (full(t, t->nenv))
		return;
	t->env = grow(t->env, t->nenv, &t->cap_env, sizeof(struct mime_env_hdr));
	t->env[t->nenv].field = field;
	t->env[t->nenv].value = value;
	list_add(list, t->nenv++);
}

bool mime_str_present(struct mime_str s)
{
	return s.off != MIME_NONE;
}

const char *mime_str_ptr(const struct mime_tree *t, struct mime_str s)
{
	return s.off == MIME_NONE ? NULL : t->pool + s.off;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool mime_str_eq(const struct mime_tree *t, struct mime_str s, const char *lit)
{
	if (s.off == MIME_NONE || strlen(lit) != s.len)
		return false;
	const unsigned char *p = (const unsigned char *)t->pool + s.off;
	for (uint32_t i = 0; i < s.len; i++) {
		if (ascii_lower(p[i]) != ascii_lower((unsigned char)lit[i]))
			return false;
	}
	return true;
}

bool mime_part_is_message(const struct mime_tree *t, uint32_t i)
{
	if (i >= t->nparts)
		return false;
	uint32_t parent = t->parts[i].parent;
	return parent == MIME_NONE || t->parts[parent].kind == MIME_KIND_MESSAGE;
}

uint32_t mime_part_nth_child(const struct mime_tree *t, uint32_t i, uint32_t n)
{
	if (i >= t->nparts || n == 0)
		return MIME_NONE;
	uint32_t c = t->parts[i].child;
	while (c != MIME_NONE && --n > 0)
		c = t->parts[c].next;
	return c;
}
