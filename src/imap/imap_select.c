/*
 * imap_select.c - the selected state: SELECT, EXAMINE (RFC 9051 6.3.2,
 * 6.3.3), CLOSE, UNSELECT (RFC 3691), CHECK, EXPUNGE, UID EXPUNGE (RFC
 * 4315), and the untagged updates that tell the client what others
 * changed (RFC 9051 7.3.1 EXISTS, 7.5.1 EXPUNGE, 7.5.2 FETCH FLAGS).
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/conn.h"
#include "store/store_imap.h"

#include <stdio.h>
#include <string.h>

static const char *const imap_system_flags[] = {"\\Seen", "\\Answered", "\\Flagged",
						 "\\Deleted", "\\Draft"};

void imap_flags_format(struct imap_session *s, const struct store_msg *m, struct buf *out)
{
	buf_append_byte(out, '(');
	size_t start = out->len;
	for (size_t i = 0; i < 5; i++)
		if (m->flags & (1u << i))
			buf_appendf(out, "%s%s", out->len > start ? " " : "", imap_system_flags[i]);
	size_t nk;
	const char *const *kw = store_mailbox_keywords(s->mb, &nk);
	for (size_t i = 0; i < nk && i < 32; i++)
		if ((m->keywords & (1u << i)) && kw[i] != NULL)
			buf_appendf(out, "%s%s", out->len > start ? " " : "", kw[i]);
	if (m->recent && !s->rev2)
		buf_appendf(out, "%s\\Recent", out->len > start ? " " : "");
	buf_append_byte(out, ')');
}

/* "* seq FETCH (FLAGS (...) UID n [MODSEQ (m)])" for a changed message. */
static void imap_send_flags(struct imap_session *s, size_t seq, bool with_uid)
{
	const struct store_msg *m = store_mailbox_msg(s->mb, seq);
	struct buf line;
	buf_init(&line, 0);
	buf_appendf(&line, "* %zu FETCH (FLAGS ", seq);
	imap_flags_format(s, m, &line);
	if (with_uid || s->qresync || s->condstore)
		buf_appendf(&line, " UID %u", m->uid);
	if (s->condstore)
		buf_appendf(&line, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_append_str(&line, ")\r\n");
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
}

/* Tell the client what changed meanwhile; expunges only if allowed
 * (RFC 9051 7.5.1: not during FETCH, STORE or SEARCH). */
void imap_report_changes(struct imap_session *s, bool allow_expunge)
{
	if (s->mb == NULL)
		return;
	struct store_changes ch;
	memset(&ch, 0, sizeof(ch));
	enum store_error err = store_mailbox_sync(s->mb, !allow_expunge, &ch);
	if (err == STORE_ERR_NOTFOUND) {
		/* deleted by another session: nothing sensible remains */
		store_changes_free(&ch);
		imap_untagged(s, "BYE Selected mailbox was deleted, have to disconnect.");
		conn_close(s->conn, true);
		return;
	}
	if (err != STORE_OK) {
		store_changes_free(&ch);
		return;
	}
	if (ch.uidvalidity_changed) {
		imap_untagged(s, "BYE Mailbox UIDVALIDITY changed, please reconnect.");
		conn_close(s->conn, true);
		store_changes_free(&ch);
		return;
	}
	if (s->qresync && ch.n_expunged > 0) {
		struct buf line;
		buf_init(&line, 0);
		buf_append_str(&line, "* VANISHED ");
		for (size_t i = 0; i < ch.n_expunged; i++)
			buf_appendf(&line, "%s%u", i > 0 ? "," : "", ch.expunged_uids[i]);
		buf_append_str(&line, "\r\n");
		imap_write(s, line.ptr, line.len);
		buf_deinit(&line);
	} else {
		for (size_t i = 0; i < ch.n_expunged; i++)
			imap_untagged(s, "%u EXPUNGE", ch.expunged_seqs[i]);
	}
	/* the client counts its expunges itself (RFC 9051 7.5.1): EXISTS
	 * only for what arrived, also after a MOVE into the same mailbox */
	s->reported_exists -= ch.n_expunged <= s->reported_exists ? ch.n_expunged : s->reported_exists;
	imap_report_flags_list(s);
	if (ch.exists != s->reported_exists) {
		imap_untagged(s, "%zu EXISTS", ch.exists);
		if (!s->rev2)
			imap_untagged(s, "%zu RECENT", ch.recent);
		s->reported_exists = ch.exists;
	}
	for (size_t i = 0; i < ch.n_changed; i++)
		imap_send_flags(s, ch.changed_seqs[i], false);
	store_changes_free(&ch);
}

void imap_close_selected(struct imap_session *s)
{
	store_mailbox_close(&s->mb);
	xfree(s->mailbox);
	xfree(s->reported_flags);
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

/* The system flags and the folder's keywords, space-separated. */
static char *imap_flags_list(struct imap_session *s, size_t *nkeywords_r)
{
	struct buf flags;
	buf_init(&flags, 0);
	buf_append_str(&flags, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	size_t nk, used = 0;
	const char *const *kw = store_mailbox_keywords(s->mb, &nk);
	for (size_t i = 0; i < nk; i++) {
		if (kw[i] != NULL) {
			buf_appendf(&flags, " %s", kw[i]);
			used++;
		}
	}
	*nkeywords_r = used;
	return buf_steal(&flags);
}

/* FLAGS and PERMANENTFLAGS from the list; remembered as reported. */
static void imap_send_flags_list(struct imap_session *s, char *list, size_t nkeywords)
{
	imap_untagged(s, "FLAGS (%s)", list);
	/* \* only while a new keyword can still be made (26 Maildir letters) */
	imap_untagged(s, "OK [PERMANENTFLAGS (%s%s)] Flags permitted.", s->readonly ? "" : list,
		      s->readonly || nkeywords >= STORE_KEYWORDS_MAX ? "" : " \\*");
	xfree(s->reported_flags);
	s->reported_flags = list;
}

void imap_condstore_on(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->mb != NULL)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest.",
			      (unsigned long long)store_mailbox_highestmodseq(s->mb));
}

void imap_report_flags_list(struct imap_session *s)
{
	if (s->mb == NULL)
		return;
	size_t nk;
	char *list = imap_flags_list(s, &nk);
	if (s->reported_flags != NULL && strcmp(list, s->reported_flags) == 0)
		xfree(list);
	else
		imap_send_flags_list(s, list, nk);
}

static void imap_select_responses(struct imap_session *s)
{
	size_t n = store_mailbox_count(s->mb);
	imap_untagged(s, "%zu EXISTS", n);
	s->reported_exists = n;
	if (!s->rev2)
		imap_untagged(s, "%zu RECENT", store_mailbox_recent(s->mb));
	size_t nk;
	char *list = imap_flags_list(s, &nk);
	imap_send_flags_list(s, list, nk);
	size_t first_unseen = s->rev2 ? 0 : store_mailbox_first_unseen(s->mb);
	if (first_unseen != 0)
		imap_untagged(s, "OK [UNSEEN %zu] First unseen.", first_unseen);
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid.", store_mailbox_uidvalidity(s->mb));
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID.", store_mailbox_uidnext(s->mb));
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest.",
		      (unsigned long long)store_mailbox_highestmodseq(s->mb));
	if (s->rev2) {
		/* RFC 9051 6.3.2: the name as the server knows it */
		struct buf line;
		buf_init(&line, 0);
		buf_append_str(&line, "* LIST () \"/\" ");
		imap_name_to_client(s, s->mailbox, &line);
		buf_append_str(&line, "\r\n");
		imap_write(s, line.ptr, line.len);
		buf_deinit(&line);
	}
}

/* RFC 7162 3.2.5: (QRESYNC (uidvalidity modseq [known-uids ...])) */
struct imap_qresync {
	bool on;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known; /* empty: all */
	bool has_known;
};

/* SELECT/EXAMINE parameters: (CONDSTORE) and (QRESYNC (...)). */
static bool imap_select_params(struct imap_session *s, const struct imap_command *cmd,
			       struct imap_qresync *q)
{
	if (cmd->argc == 1)
		return true;
	const struct imap_arg *ps, *qa;
	size_t n, nq;
	if (cmd->argc != 2 || !imap_arg_list(&cmd->args[1], &ps, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (imap_arg_atom_is(&ps[i], "CONDSTORE")) {
			s->condstore = true;
			continue;
		}
		/* RFC 7162 3.2.5: only after ENABLE QRESYNC */
		if (!s->qresync || !imap_arg_atom_is(&ps[i], "QRESYNC") || i + 1 >= n ||
		    !imap_arg_list(&ps[++i], &qa, &nq) || nq < 2 ||
		    !imap_arg_nz_number(&qa[0], &q->uidvalidity) ||
		    !imap_arg_number64(&qa[1], &q->modseq))
			return false;
		q->on = true;
		if (nq >= 3) {
			if (qa[2].type != IMAP_ARG_ATOM ||
			    imap_seqset_parse(&q->known, qa[2].str, qa[2].len, UINT32_MAX) !=
				    IMAP_SEQSET_OK)
				return false;
			q->has_known = true;
		}
	}
	return true;
}

/* After the SELECT responses: what the client missed since its modseq
 * (RFC 7162 3.2.5.1): VANISHED (EARLIER), then FETCH of changed flags. */
static void imap_qresync_report(struct imap_session *s, const struct imap_qresync *q)
{
	if (!q->on || q->uidvalidity != store_mailbox_uidvalidity(s->mb))
		return;
	uint32_t *uids = NULL;
	size_t n = 0;
	if (store_mailbox_vanished(s->mb, q->modseq, &uids, &n) == STORE_OK && n > 0) {
		struct imap_seqset set;
		imap_seqset_init(&set, 0);
		for (size_t i = 0; i < n; i++)
			if (!q->has_known || imap_seqset_contains(&q->known, uids[i]))
				imap_seqset_add(&set, uids[i], uids[i]);
		if (set.count > 0) {
			struct buf line;
			buf_init(&line, 0);
			buf_append_str(&line, "* VANISHED (EARLIER) ");
			imap_seqset_write(&set, &line);
			buf_append_str(&line, "\r\n");
			imap_write(s, line.ptr, line.len);
			buf_deinit(&line);
		}
		imap_seqset_deinit(&set);
	}
	free(uids);
	size_t count = store_mailbox_count(s->mb);
	for (size_t seq = 1; seq <= count; seq++)
		if (store_mailbox_msg(s->mb, seq)->modseq > q->modseq)
			imap_send_flags(s, seq, true);
}

static void imap_select(struct imap_session *s, const struct imap_command *cmd, bool readonly)
{
	const char *what = readonly ? "EXAMINE" : "SELECT";
	if (cmd->argc < 1) {
		imap_bad(s, "A mailbox name is needed.");
		return;
	}
	struct imap_qresync q = {0};
	imap_seqset_init(&q.known, 0);
	if (!imap_select_params(s, cmd, &q)) {
		imap_seqset_deinit(&q.known);
		imap_bad(s, "Invalid SELECT parameters.");
		return;
	}
	char *name = imap_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL) {
		imap_seqset_deinit(&q.known);
		return;
	}
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected; any
	 * previous one is closed first, without expunging (with CLOSED). */
	if (s->mb != NULL) {
		imap_close_selected(s);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed.");
	}
	enum store_error err = store_mailbox_open(s->store, name, readonly, &s->mb);
	if (err != STORE_OK) {
		free(name);
		imap_seqset_deinit(&q.known);
		imap_store_error(s, err, what);
		return;
	}
	s->mailbox = name;
	s->readonly = readonly;
	s->state = IMAP_STATE_SELECTED;
	imap_select_responses(s);
	imap_qresync_report(s, &q);
	imap_seqset_deinit(&q.known);
	imap_tagged(s, "OK [%s] %s completed.", readonly ? "READ-ONLY" : "READ-WRITE", what);
}

void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	imap_select(s, cmd, false);
}

void imap_cmd_examine(struct imap_session *s, const struct imap_command *cmd)
{
	imap_select(s, cmd, true);
}

void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 6.4.1: expunge silently, unless read-only */
	if (!s->readonly)
		store_mailbox_expunge(s->mb, NULL, 0);
	imap_close_selected(s);
	imap_tagged(s, "OK CLOSE completed.");
}

void imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	imap_close_selected(s);
	imap_tagged(s, "OK UNSELECT completed.");
}

void imap_cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	imap_tagged(s, "OK CHECK completed.");
}

void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	if (s->readonly) {
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	enum store_error err;
	if (!s->uid_cmd && cmd->argc != 0) {
		imap_bad(s, "EXPUNGE takes no arguments.");
		return;
	}
	if (s->uid_cmd) {
		uint32_t *uids;
		size_t n;
		if (cmd->argc != 1) {
			imap_bad(s, "UID EXPUNGE needs a UID set.");
			return;
		}
		if (!imap_uid_list(s, &cmd->args[0], &uids, &n))
			return; /* answered */
		err = n > 0 ? store_mailbox_expunge(s->mb, uids, n) : STORE_OK;
		free(uids);
	} else {
		err = store_mailbox_expunge(s->mb, NULL, 0);
	}
	if (err == STORE_OK)
		imap_report_changes(s, true);
	imap_store_error(s, err, "EXPUNGE");
}
