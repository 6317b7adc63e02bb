/*
 * imap_change.c - commands that change messages: STORE (RFC 9051 6.4.6,
 * UNCHANGEDSINCE from RFC 7162 3.1.3), COPY (6.4.7, COPYUID from RFC
 * 4315) and MOVE (RFC 6851), with their UID variants.
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "imap/imap_seqset.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "store/store_imap.h"
#include "store/store_quota.h"

#include <string.h>
#include <strings.h>

static const char *const imap_flag_names[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
					       "\\Draft"};

/* A flag list: system flags into *flags, keywords into keywords[] (pointers
 * into the parser). False if malformed or an unknown "\" flag. */
bool imap_parse_flags(const struct imap_arg *arg, unsigned *flags_r, const char ***keywords_r,
		      size_t *nkeywords_r)
{
	const struct imap_arg *items = arg;
	size_t n = 1;
	if (arg->type == IMAP_ARG_LIST && !imap_arg_list(arg, &items, &n))
		return false;
	const char **kw = xcalloc(n + 1, sizeof(char *));
	size_t nk = 0;
	unsigned flags = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f;
		size_t len;
		if (!imap_arg_flag(&items[i], &f, &len)) {
			free(kw);
			return false;
		}
		if (f[0] != '\\') {
			kw[nk++] = items[i].str;
			continue;
		}
		size_t k = 0;
		for (; k < 5; k++)
			if (strcasecmp(f, imap_flag_names[k]) == 0)
				break;
		if (k == 5 && strcasecmp(f, "\\Recent") != 0) {
			free(kw);
			return false;
		}
		if (k < 5)
			flags |= 1u << k;
	}
	*flags_r = flags;
	*keywords_r = kw;
	*nkeywords_r = nk;
	return true;
}

struct imap_store_args {
	enum store_flags_mode mode;
	bool silent;
	uint64_t unchangedsince;
	bool has_unchangedsince;
	unsigned flags;
	const char **keywords;
	size_t nkeywords;
};

static bool imap_store_parse(const struct imap_command *cmd, struct imap_store_args *a)
{
	size_t i = 1;
	if (cmd->argc < 3)
		return false;
	if (cmd->args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *mods;
		size_t n;
		if (!imap_arg_list(&cmd->args[1], &mods, &n) || n != 2 ||
		    !imap_arg_atom_is(&mods[0], "UNCHANGEDSINCE") ||
		    !imap_arg_number64(&mods[1], &a->unchangedsince))
			return false;
		a->has_unchangedsince = true;
		i = 2;
	}
	if (cmd->argc != i + 2 || cmd->args[i].type != IMAP_ARG_ATOM)
		return false;
	const char *op = cmd->args[i].str;
	a->mode = STORE_FLAGS_SET;
	if (op[0] == '+' || op[0] == '-') {
		a->mode = op[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		op++;
	}
	if (strcasecmp(op, "FLAGS.SILENT") == 0)
		a->silent = true;
	else if (strcasecmp(op, "FLAGS") != 0)
		return false;
	return imap_parse_flags(&cmd->args[i + 1], &a->flags, &a->keywords, &a->nkeywords);
}

static bool imap_in(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_store_args a = {0};
	if (!imap_store_parse(cmd, &a)) {
		free(a.keywords);
		imap_bad(s, "Invalid STORE arguments.");
		return;
	}
	if (s->readonly) {
		free(a.keywords);
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	uint32_t *seqs;
	size_t n;
	if (!imap_msgset(s, &cmd->args[0], &seqs, &n)) {
		free(a.keywords);
		return;
	}
	if (a.has_unchangedsince)
		imap_condstore_on(s);
	uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		uids[i] = store_mailbox_msg(s->mb, seqs[i])->uid;
	uint32_t *failed = NULL;
	size_t nfailed = 0;
	enum store_error err = STORE_OK;
	if (a.has_unchangedsince && a.unchangedsince == 0) {
		/* RFC 7162 3.1.3: every message has a modseq above 0, so
		 * UNCHANGEDSINCE 0 fails for all of them */
		failed = xcalloc(n + 1, sizeof(uint32_t));
		memcpy(failed, uids, n * sizeof(uint32_t));
		nfailed = n;
	} else if (n > 0) {
		err = store_mailbox_set_flags(s->mb, uids, n, a.mode, a.flags, a.keywords,
					      a.nkeywords, a.unchangedsince, &failed, &nfailed);
		imap_report_flags_list(s); /* before a new keyword is used */
	}
	for (size_t i = 0; err == STORE_OK && i < n; i++) {
		if (imap_in(failed, nfailed, uids[i]))
			continue;
		/* RFC 7162 3.1.3: with CONDSTORE, also .SILENT gets MODSEQ */
		if (a.silent && !s->condstore)
			continue;
		const struct store_msg *m = store_mailbox_msg(s->mb, seqs[i]);
		struct buf line;
		buf_init(&line, 0);
		buf_appendf(&line, "* %u FETCH (", seqs[i]);
		if (!a.silent) {
			buf_append_str(&line, "FLAGS ");
			imap_flags_format(s, m, &line);
			buf_append_byte(&line, ' ');
		}
		/* RFC 7162 3.1: with CONDSTORE on, FETCH responses carry UID too */
		if (s->uid_cmd || s->condstore)
			buf_appendf(&line, "UID %u ", m->uid);
		if (s->condstore)
			buf_appendf(&line, "MODSEQ (%llu) ", (unsigned long long)m->modseq);
		line.ptr[line.len - 1] = ')';
		buf_append_str(&line, "\r\n");
		imap_write(s, line.ptr, line.len);
		buf_deinit(&line);
	}
	if (err == STORE_OK && nfailed > 0) {
		struct imap_seqset set;
		imap_seqset_init(&set, 0);
		for (size_t i = 0; i < n; i++)
			if (imap_in(failed, nfailed, uids[i]))
				imap_seqset_add(&set, s->uid_cmd ? uids[i] : seqs[i],
						s->uid_cmd ? uids[i] : seqs[i]);
		struct buf text;
		buf_init(&text, 0);
		imap_seqset_write(&set, &text);
		imap_tagged(s, "OK [MODIFIED %s] Conditional STORE failed for some.", text.ptr);
		buf_deinit(&text);
		imap_seqset_deinit(&set);
	} else if (err == STORE_ERR_QUOTA) {
		/* the folder has all 26 Maildir keyword letters in use */
		imap_tagged(s, "NO [LIMIT] Too many keywords in this mailbox.");
	} else {
		imap_store_error(s, err, s->uid_cmd ? "UID STORE" : "STORE");
	}
	free(failed);
	free(uids);
	free(seqs);
	free(a.keywords);
}

/* "1:3,7" for COPYUID from a list of UIDs in a given order. */
static void imap_uid_text(const uint32_t *uids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		buf_appendf(out, "%s%u", i > 0 ? "," : "", uids[i]);
		if (j > i)
			buf_appendf(out, ":%u", uids[j]);
		i = j;
	}
}

static void imap_copy_move(struct imap_session *s, const struct imap_command *cmd, bool move)
{
	const char *what = move ? "MOVE" : "COPY";
	if (cmd->argc != 2) {
		imap_bad(s, "A message set and a mailbox are needed.");
		return;
	}
	if (move && s->readonly) {
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	uint32_t *seqs;
	size_t n;
	if (!imap_msgset(s, &cmd->args[0], &seqs, &n))
		return;
	char *dest = imap_mailbox_arg(s, &cmd->args[1]);
	if (dest == NULL) {
		free(seqs);
		return;
	}
	uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
	uint64_t adding = 0;
	for (size_t i = 0; i < n; i++) {
		uids[i] = store_mailbox_msg(s->mb, seqs[i])->uid;
		adding += store_mailbox_msg(s->mb, seqs[i])->size;
	}
	uint32_t validity = 0, *dest_uids = NULL;
	/* RFC 9208 4.3.1: a COPY over quota.storage is NO [OVERQUOTA]; a MOVE
	 * stays within the user's one quota root and changes nothing */
	enum store_error err = STORE_OK;
	if (n > 0 && !move)
		err = store_quota_check(s->store, s->env->cfg->quota_storage, adding);
	if (err == STORE_OK && n > 0)
		err = store_mailbox_copy(s->mb, uids, n, dest, move, &validity, &dest_uids);
	if (err == STORE_ERR_NOTFOUND) {
		imap_tagged(s, "NO [TRYCREATE] No such mailbox.");
	} else if (err != STORE_OK) {
		imap_store_error(s, err, what);
	} else if (n == 0) {
		imap_tagged(s, "OK %s completed (nothing to do).", what);
	} else {
		/* messages expunged meanwhile were not copied: leave them out
		 * (RFC 4315 3: both sets name the same messages) */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (dest_uids[i] == 0)
				continue;
			uids[k] = uids[i];
			dest_uids[k++] = dest_uids[i];
		}
		if (k == 0) {
			imap_tagged(s, "NO [EXPUNGEISSUED] The messages no longer exist.");
			free(dest_uids);
			free(uids);
			free(seqs);
			free(dest);
			return;
		}
		struct buf code;
		buf_init(&code, 0);
		buf_appendf(&code, "COPYUID %u ", validity);
		imap_uid_text(uids, k, &code);
		buf_append_byte(&code, ' ');
		imap_uid_text(dest_uids, k, &code);
		if (move) {
			/* RFC 6851 4.3: COPYUID in an untagged OK, then EXPUNGEs */
			imap_untagged(s, "OK [%s] Moved.", code.ptr);
			imap_report_changes(s, true);
			imap_tagged(s, "OK %s completed.", what);
		} else {
			imap_tagged(s, "OK [%s] %s completed.", code.ptr, what);
		}
		buf_deinit(&code);
	}
	free(dest_uids);
	free(uids);
	free(seqs);
	free(dest);
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy_move(s, cmd, false);
}

void imap_cmd_move(struct imap_session *s, const struct imap_command *cmd)
{
	imap_copy_move(s, cmd, true);
}
