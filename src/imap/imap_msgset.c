/*
 * imap_msgset.c - turning a sequence set or UID set argument into the
 * messages it names (RFC 9051 9 "sequence-set", 6.4.9 UID commands).
 *
 * "*" is the last message (or the highest UID; for an empty mailbox in a
 * UID command, RFC 9051 says it stands for UIDNEXT - 1, which names no
 * message). Message numbers beyond the mailbox are an error for plain
 * commands (BAD) and simply match nothing for UID commands.
 */
#include "imap/imap_internal.h"

#include "imap/imap_seqset.h"
#include "lib/mem.h"
#include "store/store_imap.h"

#include <string.h>

static uint32_t *imap_view_uids(struct imap_session *s, size_t *n_r)
{
	size_t n = store_mailbox_count(s->mb);
	uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		uids[i] = store_mailbox_msg(s->mb, i + 1)->uid;
	*n_r = n;
	return uids;
}

static bool imap_parse_set(struct imap_session *s, const struct imap_arg *arg, uint32_t star,
			   struct imap_seqset *set)
{
	const char *text;
	size_t len;
	if (arg->type != IMAP_ARG_ATOM) {
		imap_bad(s, "A sequence set is expected.");
		return false;
	}
	text = arg->str;
	len = arg->len;
	imap_seqset_init(set, 0);
	enum imap_seqset_result r = imap_seqset_parse(set, text, len, star);
	if (r == IMAP_SEQSET_STAR_EMPTY && s->uid_cmd) {
		/* "*" in an empty mailbox: nothing */
		imap_seqset_clear(set);
		return true;
	}
	if (r != IMAP_SEQSET_OK) {
		imap_seqset_deinit(set);
		imap_bad(s, r == IMAP_SEQSET_TOO_MANY ? "[LIMIT] Sequence set too large."
						      : "Invalid sequence set.");
		return false;
	}
	return true;
}

/* The sorted members of a set as an array. */
static uint32_t *imap_set_members(const struct imap_seqset *set, size_t *n_r)
{
	uint64_t count = imap_seqset_count(set);
	uint32_t *out = xcalloc(count + 1, sizeof(uint32_t));
	struct imap_seqset_iter it;
	imap_seqset_iter_init(&it, set);
	size_t n = 0;
	uint32_t v;
	while (imap_seqset_iter_next(&it, &v))
		out[n++] = v;
	*n_r = n;
	return out;
}

bool imap_msgset(struct imap_session *s, const struct imap_arg *arg, uint32_t **seqs_r,
		 size_t *n_r)
{
	size_t count;
	uint32_t *uids = imap_view_uids(s, &count);
	uint32_t star = s->uid_cmd ? (count > 0 ? uids[count - 1] : 0) : (uint32_t)count;
	struct imap_seqset set, seqs;
	if (!imap_parse_set(s, arg, star, &set)) {
		free(uids);
		return false;
	}
	if (s->uid_cmd) {
		imap_seqset_init(&seqs, 0);
		imap_seqset_uids_to_seqs(&set, uids, count, &seqs);
		*seqs_r = imap_set_members(&seqs, n_r);
		imap_seqset_deinit(&seqs);
	} else if (imap_seqset_last(&set) > count) {
		imap_seqset_deinit(&set);
		free(uids);
		imap_bad(s, "No such message.");
		return false;
	} else {
		*seqs_r = imap_set_members(&set, n_r);
	}
	imap_seqset_deinit(&set);
	free(uids);
	return true;
}

bool imap_uid_list(struct imap_session *s, const struct imap_arg *arg, uint32_t **uids_r,
		   size_t *n_r)
{
	bool was_uid = s->uid_cmd;
	s->uid_cmd = true;
	uint32_t *seqs;
	size_t n;
	bool ok = imap_msgset(s, arg, &seqs, &n);
	s->uid_cmd = was_uid;
	if (!ok)
		return false;
	for (size_t i = 0; i < n; i++)
		seqs[i] = store_mailbox_msg(s->mb, seqs[i])->uid;
	*uids_r = seqs;
	*n_r = n;
	return true;
}
