/*
 * imap_seqset.c - sequence sets as normalised range lists; see
 * imap_seqset.h for the contract.
 *
 * Parsing appends ranges as written and normalises (sort, merge) when the
 * array is full and at the end. The array may hold 2 * max_ranges before a
 * compaction, and a compaction that leaves more than max_ranges fails, so
 * after each compaction at least max_ranges slots are free: the work stays
 * O(n log n) in the input however the ranges repeat.
 */
#include "imap_seqset.h"

#include "lib/mem.h"

#include <stdlib.h>

void imap_seqset_init(struct imap_seqset *set, size_t max_ranges)
{
	set->ranges = NULL;
	set->count = 0;
	set->cap = 0;
	set->saved = false;
	set->max_ranges = max_ranges != 0 ? max_ranges : IMAP_SEQSET_MAX_RANGES;
}

void imap_seqset_deinit(struct imap_seqset *set)
{
	xfree(set->ranges);
	set->count = set->cap = 0;
}

void imap_seqset_clear(struct imap_seqset *set)
{
	set->count = 0;
	set->saved = false;
}

/* Make room for one more range, up to 2 * max_ranges. */
static bool imap_seqset_grow(struct imap_seqset *set)
{
	if (set->count < set->cap)
		return true;
	size_t limit = 2 * set->max_ranges;
	if (set->cap >= limit)
		return false;
	size_t cap = set->cap == 0 ? 8 : set->cap * 2;
	if (cap > limit)
		cap = limit;
	set->ranges = xrealloc(set->ranges, cap * sizeof(*set->ranges));
	set->cap = cap;
	return true;
}

static int imap_seqset_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge overlapping or adjacent ranges. */
static void imap_seqset_normalise(struct imap_seqset *set)
{
	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), imap_seqset_cmp);
	size_t w = 0;
	for (size_t r = 1; r < set->count; r++) {
		struct imap_seq_range *last = &set->ranges[w];
		const struct imap_seq_range *cur = &set->ranges[r];
		if ((uint64_t)cur->lo <= (uint64_t)last->hi + 1) {
			if (cur->hi > last->hi)
				last->hi = cur->hi;
		} else {
			set->ranges[++w] = *cur;
		}
	}
	set->count = w + 1;
}

/* Append a range while parsing (not normalised yet). */
static bool imap_seqset_push(struct imap_seqset *set, uint32_t a, uint32_t b)
{
	if (!imap_seqset_grow(set)) {
		imap_seqset_normalise(set);
		if (set->count > set->max_ranges)
			return false;
	}
	set->ranges[set->count].lo = a < b ? a : b;
	set->ranges[set->count].hi = a < b ? b : a;
	set->count++;
	return true;
}

/* seq-number = nz-number / "*" at text[*i]. */
static enum imap_seqset_result imap_seqset_number(const char *text, size_t len, size_t *i,
						  uint32_t star, uint32_t *n_r)
{
	if (*i < len && text[*i] == '*') {
		(*i)++;
		*n_r = star;
		return star == 0 ? IMAP_SEQSET_STAR_EMPTY : IMAP_SEQSET_OK;
	}
	if (*i == len || text[*i] < '0' || text[*i] > '9')
		return IMAP_SEQSET_SYNTAX;
	/* nz-number = digit-nz *DIGIT: no 0, no leading zero */
	bool zero = text[*i] == '0';
	uint64_t v = 0;
	while (*i < len && text[*i] >= '0' && text[*i] <= '9') {
		v = v * 10 + (uint64_t)(text[*i] - '0');
		if (v > UINT32_MAX)
			return IMAP_SEQSET_BAD_NUMBER;
		(*i)++;
	}
	if (zero)
		return IMAP_SEQSET_BAD_NUMBER;
	*n_r = (uint32_t)v;
	return IMAP_SEQSET_OK;
}

static enum imap_seqset_result imap_seqset_parse_ranges(struct imap_seqset *set, const char *text,
							size_t len, uint32_t star)
{
	size_t i = 0;
	for (;;) {
		uint32_t a, b;
		enum imap_seqset_result r = imap_seqset_number(text, len, &i, star, &a);
		if (r != IMAP_SEQSET_OK)
			return r;
		b = a;
		if (i < len && text[i] == ':') {
			i++;
			if ((r = imap_seqset_number(text, len, &i, star, &b)) != IMAP_SEQSET_OK)
				return r;
		}
		if (!imap_seqset_push(set, a, b))
			return IMAP_SEQSET_TOO_MANY;
		if (i == len)
			break;
		if (text[i++] != ',')
			return IMAP_SEQSET_SYNTAX;
	}
	imap_seqset_normalise(set);
	return set->count > set->max_ranges ? IMAP_SEQSET_TOO_MANY : IMAP_SEQSET_OK;
}

enum imap_seqset_result imap_seqset_parse(struct imap_seqset *set, const char *text, size_t len,
					  uint32_t star)
{
	imap_seqset_clear(set);
	if (len == 1 && text[0] == '$') {
		set->saved = true;
		return IMAP_SEQSET_OK;
	}
	enum imap_seqset_result r = imap_seqset_parse_ranges(set, text, len, star);
	if (r != IMAP_SEQSET_OK)
		imap_seqset_clear(set);
	return r;
}

/* First range index whose hi + 1 >= n (ranges before it end before n - 1). */
static size_t imap_seqset_first_reaching(const struct imap_seqset *set, uint64_t n)
{
	size_t lo = 0, hi = set->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)set->ranges[mid].hi + 1 < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	size_t i = imap_seqset_first_reaching(set, lo);
	size_t j = i; /* ranges i..j-1 touch lo:hi and merge with it */
	while (j < set->count && (uint64_t)set->ranges[j].lo <= (uint64_t)hi + 1)
		j++;
	if (i == j) {
		if (set->count >= set->max_ranges || !imap_seqset_grow(set))
			return false;
		for (size_t k = set->count; k > i; k--)
			set->ranges[k] = set->ranges[k - 1];
		set->count++;
	} else {
		if (set->ranges[i].lo < lo)
			lo = set->ranges[i].lo;
		if (set->ranges[j - 1].hi > hi)
			hi = set->ranges[j - 1].hi;
		for (size_t k = j; k < set->count; k++)
			set->ranges[i + 1 + k - j] = set->ranges[k];
		set->count -= j - i - 1;
	}
	set->ranges[i].lo = lo;
	set->ranges[i].hi = hi;
	return true;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t i = imap_seqset_first_reaching(set, (uint64_t)n + 1);
	return i < set->count && set->ranges[i].lo <= n && n <= set->ranges[i].hi;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t total = 0;
	for (size_t i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return total;
}

uint32_t imap_seqset_last(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->count > 0 ? set->ranges[0].lo : 0;
}

bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r)
{
	const struct imap_seqset *set = it->set;
	if (it->range >= set->count)
		return false;
	*n_r = (uint32_t)it->next;
	if (it->next < set->ranges[it->range].hi) {
		it->next++;
	} else if (++it->range < set->count) {
		it->next = set->ranges[it->range].lo;
	}
	return true;
}

bool imap_seqset_write(const struct imap_seqset *set, struct buf *out)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];
		bool ok = r->lo == r->hi
		              ? buf_appendf(out, "%s%u", i > 0 ? "," : "", r->lo)
		              : buf_appendf(out, "%s%u:%u", i > 0 ? "," : "", r->lo, r->hi);
		if (!ok)
			return false;
	}
	return true;
}

/* ---- UIDs and sequence numbers ---- */

/* First index with uids[i] >= uid. */
static size_t imap_seqset_lower_bound(const uint32_t *uids, size_t count, uint64_t uid)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool imap_seqset_uid_lookup(const uint32_t *uids, size_t count, uint32_t uid, uint32_t *seq_r)
{
	size_t i = imap_seqset_lower_bound(uids, count, uid);
	if (i == count || uids[i] != uid)
		return false;
	*seq_r = (uint32_t)(i + 1);
	return true;
}

enum imap_seqset_result imap_seqset_uids_to_seqs(const struct imap_seqset *uid_set,
						 const uint32_t *uids, size_t count,
						 struct imap_seqset *out)
{
	imap_seqset_clear(out);
	for (size_t r = 0; r < uid_set->count; r++) {
		/* the UIDs of lo:hi are a contiguous run of the sorted array */
		size_t a = imap_seqset_lower_bound(uids, count, uid_set->ranges[r].lo);
		size_t b =
		    imap_seqset_lower_bound(uids, count, (uint64_t)uid_set->ranges[r].hi + 1);
		if (a < b && !imap_seqset_add(out, (uint32_t)(a + 1), (uint32_t)b)) {
			imap_seqset_clear(out);
			return IMAP_SEQSET_TOO_MANY;
		}
	}
	return IMAP_SEQSET_OK;
}

enum imap_seqset_result imap_seqset_seqs_to_uids(const struct imap_seqset *seq_set,
						 const uint32_t *uids, size_t count,
						 struct imap_seqset *out)
{
	imap_seqset_clear(out);
	for (size_t r = 0; r < seq_set->count; r++) {
		uint64_t lo = seq_set->ranges[r].lo, hi = seq_set->ranges[r].hi;
		if (hi > count)
			hi = count;
		/* ascending sequence numbers give ascending UIDs: adding at the
		 * end only ever merges with the last range */
		for (uint64_t n = lo; n <= hi; n++) {
			if (!imap_seqset_add(out, uids[n - 1], uids[n - 1])) {
				imap_seqset_clear(out);
				return IMAP_SEQSET_TOO_MANY;
			}
		}
	}
	return IMAP_SEQSET_OK;
}
