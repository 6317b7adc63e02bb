/*
 * imap_parser_tree.c - the parser's value buffer and argument nodes, and
 * their publication as the public struct imap_arg tree.
 *
 * While parsing, nodes refer to their text by offset (the buffer grows by
 * reallocation) and to each other by index (children as a linked list,
 * because a list's items arrive interleaved with their own children).
 * Publishing lays the tree out breadth-first so that every list's items
 * are one contiguous array, which is what command handlers want
 * (args[i], count), and turns offsets into pointers.
 *
 * Growth is bounded by the caller's accounting: every stored byte was a
 * byte of input counted against limits.max_command (plus one NUL per
 * value), and nodes are counted against limits.max_args.
 */
#include "imap_parser_private.h"

#include "lib/mem.h"

#include <assert.h>
#include <string.h>

#define IMAP_TREE_MIN_BYTES 256
#define IMAP_TREE_MIN_NODES 16

static void imap_tree_alloc(struct imap_parser *p)
{
	p->cap = IMAP_TREE_MIN_BYTES;
	p->buf = xmalloc(p->cap);
	p->ncap = IMAP_TREE_MIN_NODES;
	p->nodes = xcalloc(p->ncap, sizeof(*p->nodes));
	p->pubcap = 0;
	p->pub = NULL;
	p->pub_src = NULL;
}

void imap_parser_tree_init(struct imap_parser *p)
{
	imap_tree_alloc(p);
	imap_parser_tree_reset(p);
}

void imap_parser_tree_deinit(struct imap_parser *p)
{
	xfree(p->buf);
	xfree(p->nodes);
	xfree(p->pub);
	xfree(p->pub_src);
	p->cap = p->ncap = p->pubcap = 0;
}

void imap_parser_tree_reset(struct imap_parser *p)
{
	size_t node_bytes = p->ncap * (sizeof(*p->nodes) + sizeof(*p->pub) + sizeof(*p->pub_src));
	if (p->cap + node_bytes > IMAP_PARSER_KEEP_BYTES) {
		imap_parser_tree_deinit(p);
		imap_tree_alloc(p);
	}
	p->len = 0;
	p->nnodes = 1;
	memset(&p->nodes[0], 0, sizeof(p->nodes[0]));
	p->nodes[0].type = IMAP_ARG_LIST;
	p->nodes[0].first = p->nodes[0].last = p->nodes[0].next = IMAP_NODE_NONE;
	p->stack[0] = 0;
	p->depth = 0;
	p->in_section = false;
	p->published = false;
}

void imap_parser_tree_reserve(struct imap_parser *p, size_t extra)
{
	assert(extra <= SIZE_MAX / 2 - p->len);
	if (p->len + extra <= p->cap)
		return;
	size_t cap = p->cap;
	while (cap < p->len + extra)
		cap *= 2;
	p->buf = xrealloc(p->buf, cap);
	p->cap = cap;
}

void imap_parser_tree_putc(struct imap_parser *p, char c)
{
	if (p->len == p->cap)
		imap_parser_tree_reserve(p, 1);
	p->buf[p->len++] = c;
	p->published = false;
}

void imap_parser_tree_put(struct imap_parser *p, const void *data, size_t n)
{
	imap_parser_tree_reserve(p, n);
	memcpy(p->buf + p->len, data, n);
	p->len += n;
	p->published = false;
}

bool imap_parser_tree_add(struct imap_parser *p, enum imap_arg_type type, uint32_t *index_r)
{
	/* node 0 is the root, which is not an argument */
	if (p->nnodes - 1 >= p->lim.max_args)
		return false;
	if (p->nnodes == p->ncap) {
		p->nodes = xrealloc(p->nodes, 2 * p->ncap * sizeof(*p->nodes));
		p->ncap *= 2;
	}
	uint32_t idx = (uint32_t)p->nnodes++;
	struct imap_pnode *n = &p->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->off = p->len;
	n->first = n->last = n->next = IMAP_NODE_NONE;

	struct imap_pnode *parent = &p->nodes[p->stack[p->depth]];
	if (parent->last == IMAP_NODE_NONE)
		parent->first = idx;
	else
		p->nodes[parent->last].next = idx;
	parent->last = idx;
	parent->count++;
	p->published = false;
	*index_r = idx;
	return true;
}

static void imap_tree_fill(struct imap_parser *p, struct imap_arg *a, const struct imap_pnode *n)
{
	a->type = n->type;
	a->flags = n->flags;
	a->len = n->len;
	a->str = NULL;
	a->list = NULL;
	a->count = 0;
	a->suffix = NULL;
	a->suffix_len = 0;
	if (n->type != IMAP_ARG_STREAMED && n->type != IMAP_ARG_LIST)
		a->str = p->buf + n->off;
	if (n->type == IMAP_ARG_SECTION) {
		a->suffix = p->buf + n->suffix_off;
		a->suffix_len = n->suffix_len;
		/* an open section (partial command) has no suffix yet */
		if (n->suffix_off == 0 && n->suffix_len == 0)
			a->suffix = "";
	}
}

/* Place the children of node src at pub[*k...], breadth-first. */
static const struct imap_arg *imap_tree_place(struct imap_parser *p, uint32_t src, size_t *k)
{
	const struct imap_arg *start = p->pub + *k;
	for (uint32_t c = p->nodes[src].first; c != IMAP_NODE_NONE; c = p->nodes[c].next) {
		imap_tree_fill(p, &p->pub[*k], &p->nodes[c]);
		p->pub_src[*k] = c;
		(*k)++;
	}
	return start;
}

void imap_parser_tree_publish(struct imap_parser *p)
{
	if (p->published)
		return;
	size_t need = p->nnodes;
	if (need > p->pubcap) {
		xfree(p->pub);
		xfree(p->pub_src);
		p->pub = xcalloc(need, sizeof(*p->pub));
		p->pub_src = xcalloc(need, sizeof(*p->pub_src));
		p->pubcap = need;
	}
	size_t k = 0;
	p->cmd.args = imap_tree_place(p, 0, &k);
	p->cmd.argc = p->nodes[0].count;
	/* pub[] is its own queue: entries before k are placed, entries from
	 * j on still need their children placed */
	for (size_t j = 0; j < k; j++) {
		const struct imap_pnode *n = &p->nodes[p->pub_src[j]];
		if (n->type == IMAP_ARG_LIST || n->type == IMAP_ARG_SECTION) {
			p->pub[j].list = imap_tree_place(p, p->pub_src[j], &k);
			p->pub[j].count = n->count;
		}
	}
	assert(k == p->nnodes - 1);
	p->cmd.tag = p->have_tag ? p->buf + p->tag_off : "";
	p->cmd.tag_len = p->have_tag ? p->tag_len : 0;
	p->cmd.name = p->name_len > 0 ? p->buf + p->name_off : "";
	p->cmd.name_len = p->name_len;
	p->published = true;
}
