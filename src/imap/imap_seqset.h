/*
 * imap_seqset.h - IMAP sequence sets (RFC 9051 9 "sequence-set"): parsing
 * into a normalised range list, membership, iteration, UID <-> message
 * sequence number conversion and formatting (pure: no I/O).
 *
 *   sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
 *   seq-range    = seq-number ":" seq-number     (5:1 means 1:5)
 *   seq-number   = nz-number / "*"               (1 .. 4294967295)
 *
 * A parsed set is normalised: ranges sorted, disjoint and not adjacent
 * ("3:5,1,2,4" becomes 1:5), so its size in memory depends on how many
 * separate ranges it has, never on how it was written. That number is
 * bounded (max_ranges): "1,3,5,...,99999" is refused rather than grown
 * without limit, while "1,1,1,...,2,3" (merging to one range) is fine.
 * Memory comes from lib/mem.h and grows up to 2 * max_ranges ranges while
 * parsing (unmerged input is compacted when the array fills).
 *
 * "*" is the largest number in use (RFC 9051 9 seq-number): the caller
 * passes it as star. For message sequence numbers that is the message
 * count, and star = 0 (an empty mailbox) makes "*" an error, which the
 * server answers with a tagged BAD (RFC 9051 9). For UIDs it is the
 * highest UID, or (RFC 9051 9) the mailbox's UIDNEXT when it is empty.
 * Numbers are not checked against star: "FETCH 7" in a 5-message mailbox
 * parses, and the handler compares imap_seqset_last() with the count
 * (BAD for sequence numbers; nonexistent UIDs are simply not matched).
 *
 * "$" (RFC 5182 SEARCHRES, seq-last-command) is only recognised: the set
 * comes back empty with saved = true, and the caller substitutes the
 * saved search result.
 */
#ifndef YUBIN_IMAP_IMAP_SEQSET_H
#define YUBIN_IMAP_IMAP_SEQSET_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Separate ranges a set may have after merging. A 64 KiB command line
 * holds at most about 16000 ("1,3,5,..."), so this refuses only sets
 * no real client sends. */
#define IMAP_SEQSET_MAX_RANGES 16384

struct imap_seq_range {
	uint32_t lo, hi; /* lo <= hi */
};

struct imap_seqset {
	struct imap_seq_range *ranges; /* sorted, disjoint, not adjacent */
	size_t count;
	bool saved; /* the set was "$" */
	/* private */
	size_t cap;
	size_t max_ranges;
};

enum imap_seqset_result {
	IMAP_SEQSET_OK,
	IMAP_SEQSET_SYNTAX,     /* not a sequence set */
	IMAP_SEQSET_BAD_NUMBER, /* 0, a leading zero, or over 4294967295 */
	IMAP_SEQSET_STAR_EMPTY, /* "*" with star == 0 */
	IMAP_SEQSET_TOO_MANY,   /* more than max_ranges separate ranges */
};

/* max_ranges 0 means IMAP_SEQSET_MAX_RANGES. */
void imap_seqset_init(struct imap_seqset *set, size_t max_ranges);
void imap_seqset_deinit(struct imap_seqset *set);
/* Empty the set (memory kept). */
void imap_seqset_clear(struct imap_seqset *set);

/* Parse text[0..len) (e.g. an atom argument) into set, replacing what it
 * held. On failure the set is left empty. */
enum imap_seqset_result imap_seqset_parse(struct imap_seqset *set, const char *text, size_t len,
					  uint32_t star);

/* Add lo:hi (either order), keeping the set normalised. False (set
 * unchanged) if that would exceed max_ranges. lo, hi >= 1. */
bool imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi);

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n); /* O(log ranges) */
uint64_t imap_seqset_count(const struct imap_seqset *set);            /* members */
uint32_t imap_seqset_last(const struct imap_seqset *set);             /* 0 if empty */

/* Ascending iteration:
 *   struct imap_seqset_iter it; uint32_t n;
 *   imap_seqset_iter_init(&it, set);
 *   while (imap_seqset_iter_next(&it, &n)) ...
 * The set must not change meanwhile. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t range;
	uint64_t next;
};
void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set);
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r);

/*
 * UIDs and sequence numbers. uids[0..count) are the mailbox's UIDs in
 * ascending order, without duplicates: message n has UID uids[n - 1].
 *
 * uid_lookup: the sequence number of a UID (binary search), false if no
 * message has it. uids_to_seqs: the sequence numbers of the messages whose
 * UID is in uid_set (UIDs no message has are ignored). seqs_to_uids: the
 * UIDs of the messages in seq_set (numbers over count are ignored). out is
 * replaced; IMAP_SEQSET_TOO_MANY if it needs more than its max_ranges
 * (only possible for seqs_to_uids: consecutive messages rarely have
 * consecutive UIDs).
 */
bool imap_seqset_uid_lookup(const uint32_t *uids, size_t count, uint32_t uid, uint32_t *seq_r);
enum imap_seqset_result imap_seqset_uids_to_seqs(const struct imap_seqset *uid_set,
						 const uint32_t *uids, size_t count,
						 struct imap_seqset *out);
enum imap_seqset_result imap_seqset_seqs_to_uids(const struct imap_seqset *seq_set,
						 const uint32_t *uids, size_t count,
						 struct imap_seqset *out);

/* Append the set in canonical form ("1:3,5,7:9"; "" for an empty set) to
 * out. False if out's maximum was reached (out then holds a prefix). */
bool imap_seqset_write(const struct imap_seqset *set, struct buf *out);

#endif
