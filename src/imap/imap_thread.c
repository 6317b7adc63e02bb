/*
 * imap_thread.c - THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256
 * section 3) and the thread-list format (section 4); see imap_thread.h.
 *
 * Both algorithms build one tree of nodes below a dummy root; a node is a
 * message or a dummy (a Message ID that was referenced but not searched,
 * or a thread joined by subject). Nodes live in one array and point at
 * each other by index: parent, first and last child, previous and next
 * sibling, so that unlinking and splicing are O(1). Every walk is a loop
 * over those links, never recursion (a reply chain may be 100,000 deep).
 */
#include "imap/imap_thread.h"

#include "imap/imap_basesubject.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct node {
	uint32_t parent, first, last, prev, next;
	uint32_t nchildren;
	uint32_t msg; /* index into imap_thread.msgs; NONE: a dummy */
};

struct tmsg {
	uint32_t id;
	bool reply; /* RFC 5256 2.1: the subject said reply or forward */
	int64_t date;
	size_t subj_off, subj_len; /* folded base subject, in imap_thread.subjects */
};

/* A hash table from byte strings to node indexes (open addressing). */
struct strmap_slot {
	uint64_t hash;
	size_t off, len; /* the key, in strmap.keys */
	uint32_t value;  /* NONE: free slot */
};

struct strmap {
	struct strmap_slot *v;
	size_t cap, count;
	struct buf keys;
};

struct imap_thread {
	enum imap_thread_alg alg;
	struct tmsg *msgs;
	size_t nmsgs, cap_msgs;
	struct buf subjects;
	struct node *nodes;
	size_t nnodes, cap_nodes;
	struct strmap ids; /* REFERENCES: Message ID -> node */
	struct buf id;     /* the Message ID being looked at */
	uint32_t *refs;    /* the nodes of one message's references */
	size_t cap_refs;
	char *scratch; /* for the base subject */
	size_t cap_scratch;
};

/* ---- hash table ---- */

static uint64_t strmap_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

static void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->keys, 0);
}

static void strmap_deinit(struct strmap *m)
{
	free(m->v);
	buf_deinit(&m->keys);
}

/* The slot holding key, or the free slot where it would go. */
static struct strmap_slot *strmap_slot(const struct strmap *m, const char *key, size_t len,
				       uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->v[i];
		if (s->value == NONE ||
		    (s->hash == h && s->len == len && memcmp(m->keys.ptr + s->off, key, len) == 0))
			return s;
	}
}

static void strmap_grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap = old.cap == 0 ? 1024 : old.cap * 2;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	for (size_t i = 0; i < m->cap; i++)
		m->v[i].value = NONE;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.v[i].value == NONE)
			continue;
		*strmap_slot(m, old.keys.ptr + old.v[i].off, old.v[i].len, old.v[i].hash) =
			old.v[i];
	}
	free(old.v);
}

static uint32_t strmap_get(const struct strmap *m, const char *key, size_t len)
{
	if (m->cap == 0)
		return NONE;
	return strmap_slot(m, key, len, strmap_hash(key, len))->value;
}

/* Add key or change its value. */
static void strmap_put(struct strmap *m, const char *key, size_t len, uint32_t value)
{
	if (2 * (m->count + 1) > m->cap)
		strmap_grow(m);
	uint64_t h = strmap_hash(key, len);
	struct strmap_slot *s = strmap_slot(m, key, len, h);
	if (s->value == NONE) {
		s->hash = h;
		s->off = m->keys.len;
		s->len = len;
		buf_append(&m->keys, key, len);
		m->count++;
	}
	s->value = value;
}

/* ---- nodes ---- */

static uint32_t node_new(struct imap_thread *t, uint32_t msg)
{
	if (t->nnodes == t->cap_nodes) {
		t->cap_nodes = t->cap_nodes == 0 ? 256 : t->cap_nodes * 2;
		t->nodes = xrealloc(t->nodes, t->cap_nodes * sizeof(*t->nodes));
	}
	struct node *n = &t->nodes[t->nnodes];
	n->parent = n->first = n->last = n->prev = n->next = NONE;
	n->nchildren = 0;
	n->msg = msg;
	return (uint32_t)t->nnodes++;
}

static bool is_dummy(const struct imap_thread *t, uint32_t x)
{
	return t->nodes[x].msg == NONE;
}

static void node_unlink(struct imap_thread *t, uint32_t c)
{
	struct node *n = &t->nodes[c];
	if (n->parent == NONE)
		return;
	struct node *p = &t->nodes[n->parent];
	if (n->prev != NONE)
		t->nodes[n->prev].next = n->next;
	else
		p->first = n->next;
	if (n->next != NONE)
		t->nodes[n->next].prev = n->prev;
	else
		p->last = n->prev;
	p->nchildren--;
	n->parent = n->prev = n->next = NONE;
}

/* Make c (without a parent) a child of p, before sibling `before` (NONE:
 * as the last child). */
static void node_insert(struct imap_thread *t, uint32_t p, uint32_t c, uint32_t before)
{
	struct node *n = &t->nodes[c], *pn = &t->nodes[p];
	n->parent = p;
	n->next = before;
	n->prev = before == NONE ? pn->last : t->nodes[before].prev;
	if (n->prev != NONE)
		t->nodes[n->prev].next = c;
	else
		pn->first = c;
	if (before != NONE)
		t->nodes[before].prev = c;
	else
		pn->last = c;
	pn->nchildren++;
}

static void node_link(struct imap_thread *t, uint32_t p, uint32_t c)
{
	node_insert(t, p, c, NONE);
}

/* Would making p the parent of c close a loop (p is c or below it)?
 * RFC 5256 3 REFERENCES 1.A. A childless c cannot be above p. */
static bool node_would_loop(const struct imap_thread *t, uint32_t p, uint32_t c)
{
	if (p == c)
		return true;
	if (t->nodes[c].first == NONE)
		return false;
	for (uint32_t x = t->nodes[p].parent; x != NONE; x = t->nodes[x].parent)
		if (x == c)
			return true;
	return false;
}

/* The message that stands for x when sorting (a dummy: its first child). */
static uint32_t node_msg(const struct imap_thread *t, uint32_t x)
{
	while (t->nodes[x].msg == NONE && t->nodes[x].first != NONE)
		x = t->nodes[x].first;
	return t->nodes[x].msg;
}

/* RFC 5256 2.2: by sent date, equal dates in mailbox order. */
static int node_cmp(const void *a, const void *b, void *ctx)
{
	const struct imap_thread *t = ctx;
	uint32_t ma = node_msg(t, *(const uint32_t *)a), mb = node_msg(t, *(const uint32_t *)b);
	if (ma == NONE || mb == NONE)
		return ma == mb ? 0 : ma == NONE ? 1 : -1;
	if (t->msgs[ma].date != t->msgs[mb].date)
		return t->msgs[ma].date < t->msgs[mb].date ? -1 : 1;
	return ma < mb ? -1 : ma > mb;
}

static void sort_children(struct imap_thread *t, uint32_t p)
{
	size_t n = t->nodes[p].nchildren;
	if (n < 2)
		return;
	uint32_t *v = xcalloc(n, sizeof(*v));
	size_t k = 0;
	for (uint32_t c = t->nodes[p].first; c != NONE; c = t->nodes[c].next)
		v[k++] = c;
	qsort_r(v, n, sizeof(*v), node_cmp, t);
	t->nodes[p].first = v[0];
	t->nodes[p].last = v[n - 1];
	for (size_t i = 0; i < n; i++) {
		t->nodes[v[i]].prev = i > 0 ? v[i - 1] : NONE;
		t->nodes[v[i]].next = i + 1 < n ? v[i + 1] : NONE;
	}
	free(v);
}

/* ---- adding messages ---- */

struct imap_thread *imap_thread_new(enum imap_thread_alg alg)
{
	struct imap_thread *t = xmalloc(sizeof(*t));
	t->alg = alg;
	buf_init(&t->subjects, 0);
	buf_init(&t->id, 0);
	strmap_init(&t->ids);
	return t;
}

void imap_thread_free(struct imap_thread **tp)
{
	struct imap_thread *t = *tp;
	if (t == NULL)
		return;
	free(t->msgs);
	buf_deinit(&t->subjects);
	free(t->nodes);
	strmap_deinit(&t->ids);
	buf_deinit(&t->id);
	free(t->refs);
	free(t->scratch);
	free(t);
	*tp = NULL;
}

static void skip_comment(const char *s, size_t len, size_t *pos)
{
	unsigned depth = 0;
	for (; *pos < len; (*pos)++) {
		if (s[*pos] == '\\' && *pos + 1 < len)
			(*pos)++;
		else if (s[*pos] == '(')
			depth++;
		else if (s[*pos] == ')' && --depth == 0)
			break;
	}
	if (*pos < len)
		(*pos)++;
}

/* Inside "<...>" up to '>' (true: an id was appended) or a '<' (left
 * for the caller to start again at) or the end. */
static bool msgid_body(const char *s, size_t len, size_t *pos, struct buf *out)
{
	size_t start = out->len;
	while (*pos < len) {
		char c = s[*pos];
		if (c == '>') {
			(*pos)++;
			return out->len > start;
		}
		if (c == '<')
			return false;
		if (c == '(') {
			skip_comment(s, len, pos);
		} else if (c == '"') {
			for ((*pos)++; *pos < len && s[*pos] != '"'; (*pos)++) {
				if (s[*pos] == '\\' && *pos + 1 < len)
					(*pos)++;
				buf_append_byte(out, s[*pos]);
			}
			if (*pos < len)
				(*pos)++;
		} else {
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				buf_append_byte(out, c);
			(*pos)++;
		}
	}
	return false;
}

bool imap_thread_next_msgid(const char *s, size_t len, size_t *pos, struct buf *out)
{
	size_t start = out->len;
	while (*pos < len) {
		if (s[*pos] == '(') {
			skip_comment(s, len, pos);
			continue;
		}
		if (s[*pos] == '"') { /* a phrase: "John <j@x>" <id@x> */
			for ((*pos)++; *pos < len && s[*pos] != '"'; (*pos)++)
				if (s[*pos] == '\\' && *pos + 1 < len)
					(*pos)++;
			if (*pos < len)
				(*pos)++;
			continue;
		}
		if (s[(*pos)++] != '<')
			continue;
		if (msgid_body(s, len, pos, out))
			return true;
		/* not an id: drop what was appended (buf has no truncate) */
		while (out->len > start)
			out->len--;
		if (out->ptr != NULL)
			out->ptr[out->len] = '\0';
	}
	return false;
}

/* The node of a referenced Message ID, a new dummy if it is unknown. */
static uint32_t node_of_id(struct imap_thread *t, const char *id, size_t len)
{
	uint32_t x = strmap_get(&t->ids, id, len);
	if (x == NONE) {
		x = node_new(t, NONE);
		strmap_put(&t->ids, id, len, x);
	}
	return x;
}

/* The message's own node: its Message ID's, unless it has none or a
 * message before it had the same (then a node of its own, as if it had
 * a unique id: RFC 5256 3 REFERENCES 1.A). */
static uint32_t own_node(struct imap_thread *t, const struct imap_thread_msg *m, uint32_t msg)
{
	size_t pos = 0;
	buf_reset(&t->id);
	if (m->message_id == NULL ||
	    !imap_thread_next_msgid(m->message_id, m->message_id_len, &pos, &t->id))
		return node_new(t, msg);
	uint32_t x = strmap_get(&t->ids, t->id.ptr, t->id.len);
	if (x == NONE) {
		x = node_new(t, msg);
		strmap_put(&t->ids, t->id.ptr, t->id.len, x);
	} else if (t->nodes[x].msg == NONE) {
		t->nodes[x].msg = msg;
	} else {
		x = node_new(t, msg);
	}
	return x;
}

/* The references (RFC 5256 3): References, else the first Message ID of
 * In-Reply-To. Their nodes go to t->refs; returns how many. */
static size_t collect_refs(struct imap_thread *t, const struct imap_thread_msg *m)
{
	size_t n = 0, pos = 0;
	const char *s = m->references;
	size_t len = m->references_len;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		if (pass == 1) {
			s = m->in_reply_to;
			len = m->in_reply_to_len;
			pos = 0;
		}
		buf_reset(&t->id);
		while (s != NULL && imap_thread_next_msgid(s, len, &pos, &t->id)) {
			if (n == t->cap_refs) {
				t->cap_refs = t->cap_refs == 0 ? 64 : t->cap_refs * 2;
				t->refs = xrealloc(t->refs, t->cap_refs * sizeof(*t->refs));
			}
			t->refs[n++] = node_of_id(t, t->id.ptr, t->id.len);
			buf_reset(&t->id);
			if (pass == 1)
				break; /* only the first of In-Reply-To */
		}
	}
	return n;
}

/* RFC 5256 3 REFERENCES step 1 for one message. */
static void add_references(struct imap_thread *t, const struct imap_thread_msg *m, uint32_t msg)
{
	uint32_t self = own_node(t, m, msg);
	size_t n = collect_refs(t, m);
	/* (A) each reference is the parent of the next, unless that one has a
	 * parent already (References may have been cut) or it would loop */
	for (size_t k = 0; k + 1 < n; k++) {
		uint32_t p = t->refs[k], c = t->refs[k + 1];
		if (t->nodes[c].parent == NONE && !node_would_loop(t, p, c))
			node_link(t, p, c);
	}
	/* (B) the last reference is the parent of the message, replacing
	 * what (A) guessed from someone else's cut References */
	uint32_t parent = n > 0 ? t->refs[n - 1] : NONE;
	if (t->nodes[self].parent == parent)
		return;
	node_unlink(t, self);
	if (parent != NONE && !node_would_loop(t, parent, self))
		node_link(t, parent, self);
}

void imap_thread_add(struct imap_thread *t, const struct imap_thread_msg *m)
{
	if (t->nmsgs == t->cap_msgs) {
		t->cap_msgs = t->cap_msgs == 0 ? 256 : t->cap_msgs * 2;
		t->msgs = xrealloc(t->msgs, t->cap_msgs * sizeof(*t->msgs));
	}
	uint32_t msg = (uint32_t)t->nmsgs++;
	struct tmsg *tm = &t->msgs[msg];
	tm->id = m->id;
	tm->date = m->date;
	if (m->subject_len > t->cap_scratch) {
		t->cap_scratch = m->subject_len;
		t->scratch = xrealloc(t->scratch, t->cap_scratch);
	}
	size_t n = m->subject == NULL ? 0
				      : imap_basesubject(m->subject, m->subject_len, t->scratch,
							 &tm->reply);
	if (m->subject == NULL)
		tm->reply = false;
	imap_basesubject_fold(t->scratch, n);
	tm->subj_off = t->subjects.len;
	tm->subj_len = n;
	buf_append(&t->subjects, t->scratch, n);
	if (t->alg == IMAP_THREAD_REFERENCES)
		add_references(t, m, msg);
}

/* ---- REFERENCES, steps 2 to 6 ---- */

static uint32_t leftmost(const struct imap_thread *t, uint32_t x)
{
	while (t->nodes[x].first != NONE)
		x = t->nodes[x].first;
	return x;
}

/* Step 3 for one node whose children are done: a dummy goes; its
 * children take its place, unless that would put several at the root. */
static void prune_one(struct imap_thread *t, uint32_t x, uint32_t root)
{
	if (!is_dummy(t, x))
		return;
	uint32_t p = t->nodes[x].parent;
	if (t->nodes[x].nchildren > 1 && p == root)
		return;
	uint32_t c;
	while ((c = t->nodes[x].first) != NONE) {
		node_unlink(t, c);
		node_insert(t, p, c, x);
	}
	node_unlink(t, x);
}

/* Step 3, bottom-up (post-order), so that a dummy left without children
 * by its own pruned dummies goes too. */
static void prune(struct imap_thread *t, uint32_t root)
{
	if (t->nodes[root].first == NONE)
		return;
	uint32_t x = leftmost(t, t->nodes[root].first);
	for (;;) {
		uint32_t next = t->nodes[x].next != NONE ? leftmost(t, t->nodes[x].next)
							 : t->nodes[x].parent;
		prune_one(t, x, root);
		if (next == root)
			return;
		x = next;
	}
}

/* Steps 4 and 6 at the top: dummies (only there) sort by their first
 * child, so their children are sorted first. */
static void sort_top(struct imap_thread *t, uint32_t root)
{
	for (uint32_t c = t->nodes[root].first; c != NONE; c = t->nodes[c].next)
		if (is_dummy(t, c))
			sort_children(t, c);
	sort_children(t, root);
}

/* The thread subject of a top-level node (step 5.B.i), and its length. */
static const char *thread_subject(const struct imap_thread *t, uint32_t x, size_t *len_r)
{
	uint32_t m = node_msg(t, x);
	if (m == NONE) {
		*len_r = 0;
		return "";
	}
	*len_r = t->msgs[m].subj_len;
	return t->subjects.ptr + t->msgs[m].subj_off;
}

static bool is_reply(const struct imap_thread *t, uint32_t x)
{
	return !is_dummy(t, x) && t->msgs[t->nodes[x].msg].reply;
}

/* Step 5.B: one thread per base subject, preferring a dummy, then a
 * message that is not a reply. */
static void subjects_fill(struct imap_thread *t, uint32_t root, struct strmap *map)
{
	for (uint32_t c = t->nodes[root].first; c != NONE; c = t->nodes[c].next) {
		size_t len;
		const char *s = thread_subject(t, c, &len);
		if (len == 0)
			continue;
		uint32_t v = strmap_get(map, s, len);
		if (v == NONE ||
		    (!is_dummy(t, v) && (is_dummy(t, c) || (is_reply(t, v) && !is_reply(t, c)))))
			strmap_put(map, s, len, c);
	}
}

/* Step 5.C: merge c into v, the thread the table holds for its subject. */
static void subjects_merge_one(struct imap_thread *t, uint32_t root, struct strmap *map,
			       uint32_t c, uint32_t v, const char *s, size_t len)
{
	if (is_dummy(t, v) && is_dummy(t, c)) {
		uint32_t k;
		while ((k = t->nodes[c].first) != NONE) {
			node_unlink(t, k);
			node_link(t, v, k);
		}
		node_unlink(t, c);
	} else if (is_dummy(t, v) || (is_reply(t, c) && !is_reply(t, v))) {
		node_unlink(t, c);
		node_link(t, v, c);
	} else {
		uint32_t d = node_new(t, NONE);
		node_insert(t, root, d, v);
		node_unlink(t, v);
		node_unlink(t, c);
		node_link(t, d, v);
		node_link(t, d, c);
		strmap_put(map, s, len, d);
	}
}

static void subjects_merge(struct imap_thread *t, uint32_t root)
{
	struct strmap map;
	strmap_init(&map);
	subjects_fill(t, root, &map);
	/* the top level changes as threads merge: walk a copy of it, and
	 * skip what has been moved below another thread meanwhile */
	size_t n = t->nodes[root].nchildren, k = 0;
	uint32_t *top = xcalloc(n + 1, sizeof(*top));
	for (uint32_t c = t->nodes[root].first; c != NONE; c = t->nodes[c].next)
		top[k++] = c;
	for (k = 0; k < n; k++) {
		uint32_t c = top[k];
		if (t->nodes[c].parent != root)
			continue;
		size_t len;
		const char *s = thread_subject(t, c, &len);
		if (len == 0)
			continue;
		uint32_t v = strmap_get(&map, s, len);
		if (v != c)
			subjects_merge_one(t, root, &map, c, v, s, len);
	}
	free(top);
	strmap_deinit(&map);
}

static uint32_t build_references(struct imap_thread *t)
{
	size_t n = t->nnodes;
	uint32_t root = node_new(t, NONE);
	for (uint32_t x = 0; x < n; x++) /* (2) */
		if (t->nodes[x].parent == NONE)
			node_link(t, root, x);
	prune(t, root);         /* (3) */
	sort_top(t, root);      /* (4) */
	subjects_merge(t, root); /* (5) */
	/* (6) below the top level there are only messages, whose order does
	 * not depend on the sorting of their children */
	for (uint32_t x = 0; x < t->nnodes; x++)
		if (!is_dummy(t, x))
			sort_children(t, x);
	sort_top(t, root);
	return root;
}

/* ---- ORDEREDSUBJECT ---- */

static int subject_cmp(const void *a, const void *b, void *ctx)
{
	const struct imap_thread *t = ctx;
	const struct tmsg *ma = &t->msgs[*(const uint32_t *)a], *mb = &t->msgs[*(const uint32_t *)b];
	size_t n = ma->subj_len < mb->subj_len ? ma->subj_len : mb->subj_len;
	int r = memcmp(t->subjects.ptr + ma->subj_off, t->subjects.ptr + mb->subj_off, n);
	if (r != 0)
		return r;
	if (ma->subj_len != mb->subj_len)
		return ma->subj_len < mb->subj_len ? -1 : 1;
	if (ma->date != mb->date)
		return ma->date < mb->date ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Sorted by base subject, then sent date; each run of one subject is a
 * thread whose first message is the parent of all the others; threads
 * in the order of their first message's date (RFC 5256 3). */
static uint32_t build_orderedsubject(struct imap_thread *t)
{
	uint32_t root = node_new(t, NONE);
	size_t n = t->nmsgs;
	if (n == 0)
		return root;
	uint32_t *v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (uint32_t)i;
	qsort_r(v, n, sizeof(*v), subject_cmp, t);
	uint32_t head = NONE;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = node_new(t, v[i]);
		const struct tmsg *m = &t->msgs[v[i]];
		const struct tmsg *h = head == NONE ? NULL : &t->msgs[t->nodes[head].msg];
		if (h != NULL && h->subj_len == m->subj_len &&
		    memcmp(t->subjects.ptr + h->subj_off, t->subjects.ptr + m->subj_off,
			   m->subj_len) == 0) {
			node_link(t, head, x);
		} else {
			node_link(t, root, x);
			head = x;
		}
	}
	free(v);
	sort_children(t, root);
	return root;
}

/* ---- the response (RFC 5256 4) ---- */

/*
 * thread-list = "(" (thread-members / thread-nested) ")": a node with one
 * child continues the list ("3 6"), several children are nested lists
 * ("6 (4 23)(44 7 96)"); every thread, and each child of a node with
 * several, is in parentheses. A dummy shows no number: "((170)(179))".
 */
static bool wrapped(const struct imap_thread *t, uint32_t x, uint32_t root)
{
	uint32_t p = t->nodes[x].parent;
	return p == root || t->nodes[p].nchildren > 1;
}

static bool write_enter(const struct imap_thread *t, uint32_t x, uint32_t root, struct buf *out)
{
	uint32_t p = t->nodes[x].parent;
	bool ok = true;
	if (wrapped(t, x, root)) {
		if (p != root && !is_dummy(t, p) && t->nodes[p].first == x)
			ok = buf_append_byte(out, ' ');
		ok = ok && buf_append_byte(out, '(');
	} else if (!is_dummy(t, p)) {
		ok = buf_append_byte(out, ' ');
	}
	if (ok && !is_dummy(t, x))
		ok = buf_appendf(out, "%u", t->msgs[t->nodes[x].msg].id);
	return ok;
}

static bool write_tree(const struct imap_thread *t, uint32_t root, struct buf *out)
{
	uint32_t x = t->nodes[root].first;
	bool ok = true;
	while (x != NONE && ok) {
		ok = write_enter(t, x, root, out);
		if (t->nodes[x].first != NONE) {
			x = t->nodes[x].first;
			continue;
		}
		for (;;) { /* leave x and its ancestors that have no next sibling */
			if (ok && wrapped(t, x, root))
				ok = buf_append_byte(out, ')');
			if (t->nodes[x].next != NONE) {
				x = t->nodes[x].next;
				break;
			}
			x = t->nodes[x].parent;
			if (x == root) {
				x = NONE;
				break;
			}
		}
	}
	return ok;
}

bool imap_thread_write(struct imap_thread *t, struct buf *out)
{
	uint32_t root = t->alg == IMAP_THREAD_REFERENCES ? build_references(t)
							 : build_orderedsubject(t);
	return write_tree(t, root, out);
}
