/*
 * mailbox_fts.c - the full-text index that makes SEARCH BODY/TEXT (and
 * header searches) on a big mailbox a lookup instead of reading every
 * message; see store_imap.h.
 *
 * SQLite FTS5 with the unicode61 tokenizer (case and diacritics folded):
 * words, not substrings, which keeps the index a fraction of the mail's
 * size (a trigram index would be several times larger than the mail). A
 * needle becomes a phrase query whose last word may be a prefix, so
 * "meet" finds "meeting" and "project upd" finds "project update".
 *
 * The caller extracts the text (it knows MIME); the store keeps it and
 * answers queries. Messages are indexed when a search needs them, so
 * delivery stays as fast as it is and only what is searched costs anything.
 */
#include "store/mailbox_private.h"

#include "store/index.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

/* Index row id -> sequence number in the view (0 if not in it). */
static size_t fts_seq_of_id(const struct store_mailbox *mb, int64_t id, bool sorted)
{
	if (!sorted) {
		for (size_t i = 0; i < mb->n; i++)
			if (mb->ids[i] == id)
				return i + 1;
		return 0;
	}
	size_t lo = 0, hi = mb->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mb->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mb->n && mb->ids[lo] == id ? lo + 1 : 0;
}

/* Ids grow with UIDs in practice (both are handed out in arrival order),
 * which makes the lookup a binary search; check rather than assume. */
static bool fts_ids_sorted(const struct store_mailbox *mb)
{
	for (size_t i = 1; i < mb->n; i++)
		if (mb->ids[i] <= mb->ids[i - 1])
			return false;
	return true;
}

enum store_error store_fts_missing(struct store_mailbox *mb, uint32_t **seqs_r, size_t *n_r)
{
	*seqs_r = NULL;
	*n_r = 0;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FTS_MISSING);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, mb->folder);
	bool sorted = fts_ids_sorted(mb);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t seq = fts_seq_of_id(mb, sqlite3_column_int64(st, 0), sorted);
		if (seq == 0)
			continue; /* arrived after the view was taken */
		if (*n_r == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			*seqs_r = xrealloc(*seqs_r, cap * sizeof(**seqs_r));
		}
		(*seqs_r)[(*n_r)++] = (uint32_t)seq;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		xfree(*seqs_r);
		*n_r = 0;
		return index_fail(mb->u, rc, "fts_missing");
	}
	return STORE_OK;
}

enum store_error store_fts_begin(struct store_mailbox *mb)
{
	return index_begin(mb->u);
}

enum store_error store_fts_end(struct store_mailbox *mb, bool commit)
{
	if (commit)
		return index_commit(mb->u);
	index_rollback(mb->u);
	return STORE_OK;
}

enum store_error store_fts_add(struct store_mailbox *mb, size_t seq, const char *hdr,
                               size_t hdr_len, const char *body, size_t body_len)
{
	if (seq < 1 || seq > mb->n)
		return STORE_ERR_NOTFOUND;
	int64_t id = mb->ids[seq - 1];
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FTS_DONE);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	enum store_error err = index_step_done(mb->u, st, "fts_done");
	if (err != STORE_OK || sqlite3_changes(sqlite3_db_handle(st)) == 0)
		return err; /* indexed meanwhile by another session */
	st = index_stmt(mb->u, INDEX_FTS_ADD);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(st, 1, id);
	index_bind_text(st, 2, hdr != NULL ? hdr : "", hdr != NULL ? hdr_len : 0);
	index_bind_text(st, 3, body != NULL ? body : "", body != NULL ? body_len : 0);
	return index_step_done(mb->u, st, "fts_add");
}

/* True if the needle has a character the tokenizer keeps (an ASCII letter
 * or digit, or any non-ASCII byte: unicode61 keeps letters of every
 * script). Without one the index cannot narrow anything down. */
static bool fts_has_word(const char *needle)
{
	for (const unsigned char *p = (const unsigned char *)needle; *p != '\0'; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p >= 0x80)
			return true;
	return false;
}

/* {hdr body} : "the words" *   (quotes doubled inside the phrase) */
static void fts_query(unsigned fields, const char *needle, struct buf *q)
{
	buf_append_str(q, fields == STORE_FTS_HEADER ? "{hdr} : \""
	                  : fields == STORE_FTS_BODY ? "{body} : \""
	                                             : "{hdr body} : \"");
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '"')
			buf_append_byte(q, '"');
		buf_append_byte(q, *p);
	}
	buf_append_str(q, "\" *");
}

enum store_error store_fts_candidates(struct store_mailbox *mb, unsigned fields,
                                      const char *needle, bool **cand_r)
{
	*cand_r = NULL;
	if (!fts_has_word(needle))
		return STORE_ERR_NOTFOUND;
	struct buf q;
	buf_init(&q, 0);
	fts_query(fields, needle, &q);
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FTS_QUERY);
	if (st == NULL) {
		buf_deinit(&q);
		return STORE_ERR_TEMP;
	}
	index_bind_text(st, 1, q.ptr, q.len);
	bool *cand = xcalloc(mb->n + 1, sizeof(bool));
	bool sorted = fts_ids_sorted(mb);
	size_t hits = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t seq = fts_seq_of_id(mb, sqlite3_column_int64(st, 0), sorted);
		cand[seq] = seq != 0;
		hits++;
	}
	sqlite3_reset(st);
	buf_deinit(&q);
	bool ascii_word = false;
	for (const char *p = needle; *p != '\0'; p++)
		ascii_word = ascii_word || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z');
	/* Non-ASCII punctuation only ("«»") makes a phrase of no words,
	 * which matches nothing: that must not hide real matches. */
	if (rc == SQLITE_DONE && hits == 0 && !ascii_word)
		rc = SQLITE_MISMATCH;
	if (rc != SQLITE_DONE) {
		/* a needle the query syntax cannot express: no narrowing */
		log_debug("store: op=fts_query user=%s error=%s", mb->u->name, sqlite3_errstr(rc));
		xfree(cand);
		return STORE_ERR_NOTFOUND;
	}
	cand[0] = false;
	*cand_r = cand;
	return STORE_OK;
}
