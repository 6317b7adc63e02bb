/*
 * mailbox_fts.c - the full-text index that makes SEARCH BODY/TEXT (and
 * header searches) on a big mailbox a lookup instead of reading every
 * message; see store_imap.h.
 *
 * SQLite FTS5 with the unicode61 tokenizer (case and diacritics folded):
 * an index of words, which keeps it a fraction of the mail's size (a
 * trigram index would be twice the size of the mail itself). SEARCH
 * matches substrings, so a needle becomes words, word prefixes and words
 * that contain a piece of it, looked up in the index's vocabulary: see
 * "candidates" below.
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

/* ---- candidates for a substring (RFC 9051 6.4.4: BODY and TEXT match
 * substrings, not words) ----
 *
 * The needle is cut into tokens by the index's own tokenizer. Where the
 * needle appears in a text, its inner tokens are whole tokens of the text
 * too; its first token may be the end of a longer one ("llo" of "hello"),
 * its last the start of one ("wor" of "world"), and a needle of one token
 * anything inside one. Tokens that may be partial are looked up in the
 * index's vocabulary (fts5vocab) and become an OR of the words that
 * contain them; a prefix is FTS5's own "t" *. The query is the AND of
 * all: every message that contains the needle is a candidate, and the
 * caller still checks each candidate exactly.
 */

/* Index tokenizer and its arguments: see the fts table in index.c. */
#define FTS_TOKENIZER "unicode61"
/* A partial token that more words contain than this narrows nothing
 * worth the query: it is left out (the others still narrow). */
#define FTS_EXPAND_MAX 256
#define FTS_TOKENS_MAX 16

struct fts_token {
	char *text; /* folded, as in the index */
	int start, end; /* bytes of the needle it came from */
};

struct fts_tokens {
	struct fts_token v[FTS_TOKENS_MAX];
	size_t n;
	bool overflow;
};

static int fts_token_cb(void *ctx, int flags, const char *tok, int len, int start, int end)
{
	(void)flags;
	struct fts_tokens *t = ctx;
	if (t->n == FTS_TOKENS_MAX) {
		t->overflow = true;
		return SQLITE_OK;
	}
	t->v[t->n].text = xstrndup(tok, (size_t)len);
	t->v[t->n].start = start;
	t->v[t->n].end = end;
	t->n++;
	return SQLITE_OK;
}

static void fts_tokens_free(struct fts_tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		xfree(t->v[i].text);
	t->n = 0;
}

static fts5_api *fts_api(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return api;
}

/* The needle's tokens as the index sees them; false if the tokenizer is
 * not available. */
static bool fts_tokenize(sqlite3 *db, const char *needle, struct fts_tokens *t)
{
	memset(t, 0, sizeof(*t));
	fts5_api *api = fts_api(db);
	void *ud = NULL;
	fts5_tokenizer tok;
	Fts5Tokenizer *tz = NULL;
	const char *args[] = {"remove_diacritics", "2"};
	if (api == NULL || api->xFindTokenizer(api, FTS_TOKENIZER, &ud, &tok) != SQLITE_OK ||
	    tok.xCreate(ud, args, 2, &tz) != SQLITE_OK)
		return false;
	int rc = tok.xTokenize(tz, t, FTS5_TOKENIZE_QUERY, needle, (int)strlen(needle),
	                       fts_token_cb);
	tok.xDelete(tz);
	if (rc != SQLITE_OK)
		fts_tokens_free(t);
	return rc == SQLITE_OK;
}

/* "t" with quotes doubled */
static void fts_quote(struct buf *q, const char *t)
{
	buf_append_byte(q, '"');
	for (const char *p = t; *p != '\0'; p++) {
		if (*p == '"')
			buf_append_byte(q, '"');
		buf_append_byte(q, *p);
	}
	buf_append_byte(q, '"');
}

enum fts_expand { FTS_EXPAND_OK, FTS_EXPAND_NONE, FTS_EXPAND_TOO_MANY, FTS_EXPAND_ERROR };

/* ("w1" OR "w2" ...) for the words of the vocabulary that end with
 * (suffix) or contain the token. */
static enum fts_expand fts_expand(sqlite3 *db, const char *token, bool suffix_only,
                                  struct buf *q)
{
	if (sqlite3_exec(db,
	                 "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab "
	                 "USING fts5vocab(main, 'fts', 'row')",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return FTS_EXPAND_ERROR;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT term FROM temp.fts_vocab WHERE term LIKE ?1 ESCAPE '\\'",
	                       -1, &st, NULL) != SQLITE_OK)
		return FTS_EXPAND_ERROR;
	struct buf pat;
	buf_init(&pat, 0);
	buf_append_byte(&pat, '%');
	for (const char *p = token; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_append_byte(&pat, '\\');
		buf_append_byte(&pat, *p);
	}
	if (!suffix_only)
		buf_append_byte(&pat, '%');
	sqlite3_bind_text(st, 1, pat.ptr, (int)pat.len, SQLITE_TRANSIENT);
	size_t n = 0, start = q->len;
	int rc;
	buf_append_byte(q, '(');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n <= FTS_EXPAND_MAX) {
		if (n++ > 0)
			buf_append_str(q, " OR ");
		fts_quote(q, (const char *)sqlite3_column_text(st, 0));
	}
	buf_append_byte(q, ')');
	sqlite3_finalize(st);
	buf_deinit(&pat);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return FTS_EXPAND_ERROR;
	if (n == 0 || n > FTS_EXPAND_MAX) {
		q->len = start; /* nothing added */
		if (q->ptr != NULL)
			q->ptr[start] = '\0';
		return n == 0 ? FTS_EXPAND_NONE : FTS_EXPAND_TOO_MANY;
	}
	return FTS_EXPAND_OK;
}

/* The FTS5 query for the needle's tokens (see above); *none_r when a
 * token is in no word at all (no message can match); false when nothing
 * narrows. */
static bool fts_substring_query(sqlite3 *db, unsigned fields, const char *needle,
                                const struct fts_tokens *t, struct buf *q, bool *none_r)
{
	*none_r = false;
	buf_append_str(q, fields == STORE_FTS_HEADER ? "{hdr} : ("
	                  : fields == STORE_FTS_BODY ? "{body} : ("
	                                             : "{hdr body} : (");
	size_t len = strlen(needle), terms = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct fts_token *k = &t->v[i];
		/* may the text's token go on before / after this one? */
		bool open_start = i == 0 && k->start == 0;
		bool open_end = i == t->n - 1 && (size_t)k->end == len;
		size_t before = q->len;
		if (terms > 0)
			buf_append_str(q, " AND ");
		if (open_start) {
			enum fts_expand x = fts_expand(db, k->text, !open_end, q);
			if (x == FTS_EXPAND_NONE) {
				*none_r = true;
				return true;
			}
			if (x != FTS_EXPAND_OK) {
				q->len = before; /* this token narrows nothing */
				q->ptr[before] = '\0';
				continue;
			}
		} else {
			fts_quote(q, k->text);
			if (open_end)
				buf_append_str(q, " *");
		}
		terms++;
	}
	buf_append_byte(q, ')');
	return terms > 0;
}

enum store_error store_fts_candidates(struct store_mailbox *mb, unsigned fields,
                                      const char *needle, bool **cand_r)
{
	*cand_r = NULL;
	sqlite3_stmt *st = index_stmt(mb->u, INDEX_FTS_QUERY);
	if (st == NULL)
		return STORE_ERR_TEMP;
	sqlite3 *db = sqlite3_db_handle(st);
	struct fts_tokens t;
	if (!fts_tokenize(db, needle, &t))
		return STORE_ERR_NOTFOUND;
	struct buf q;
	buf_init(&q, 0);
	bool none = false;
	/* a needle without any token (punctuation only) or with very many
	 * cannot be narrowed down: every message is a candidate */
	bool narrows = t.n > 0 && !t.overflow && fts_substring_query(db, fields, needle, &t, &q, &none);
	fts_tokens_free(&t);
	if (!narrows) {
		buf_deinit(&q);
		return STORE_ERR_NOTFOUND;
	}
	bool *cand = xcalloc(mb->n + 1, sizeof(bool));
	int rc = SQLITE_DONE;
	if (!none) {
		st = index_stmt(mb->u, INDEX_FTS_QUERY); /* reset by the vocabulary reads */
		index_bind_text(st, 1, q.ptr, q.len);
		bool sorted = fts_ids_sorted(mb);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			size_t seq = fts_seq_of_id(mb, sqlite3_column_int64(st, 0), sorted);
			cand[seq] = seq != 0;
		}
		sqlite3_reset(st);
	}
	buf_deinit(&q);
	if (rc != SQLITE_DONE) {
		/* a query the syntax cannot express: no narrowing */
		log_debug("store: op=fts_query user=%s error=%s", mb->u->name, sqlite3_errstr(rc));
		xfree(cand);
		return STORE_ERR_NOTFOUND;
	}
	cand[0] = false;
	*cand_r = cand;
	return STORE_OK;
}
