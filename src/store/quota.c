/*
 * quota.c - a user's storage usage and the over-quota check; see
 * store_quota.h.
 *
 * Usage comes from the index through store_folder_status(), which syncs
 * the folder and sums crlf_size over its rows: no schema of its own.
 * Measured for 100,000 messages (files and index in the page cache): about
 * 24 ms of CPU when they sit in cur/, also right after a delivery (sync
 * then re-reads only new/); about 160 ms after a delivery when all of
 * them sit in new/ (a POP3-only user), as the whole of new/ is re-read.
 * Most of the 24 ms is the sum over the rows: a per-folder aggregate kept
 * by triggers (like pop3_size) would make it one row per folder.
 */
#include "store/store_quota.h"

#include "store/crlf.h"
#include "store/spool.h"
#include "store/store_imap.h"
#include "store/store_private.h"

#include "lib/log.h"

#include <string.h>

enum store_error store_quota_usage(struct store_user *u, uint64_t *bytes_r, uint64_t *messages_r)
{
	*bytes_r = 0;
	*messages_r = 0;
	struct store_folder_info *list;
	size_t n;
	enum store_error err = store_folder_list(u, &list, &n);
	if (err != STORE_OK)
		return err;
	uint64_t bytes = 0, messages = 0;
	for (size_t i = 0; i < n; i++) {
		if (list[i].noselect)
			continue;
		struct store_folder_status st;
		err = store_folder_status(u, list[i].name, &st);
		if (err == STORE_ERR_NOTFOUND) {
			/* removed since it was listed: it holds nothing now */
			err = STORE_OK;
			continue;
		}
		if (err != STORE_OK)
			break;
		bytes += st.size;
		messages += st.messages;
	}
	store_folder_list_free(&list, n);
	if (err == STORE_OK) {
		*bytes_r = bytes;
		*messages_r = messages;
	}
	return err;
}

/* Does adding fit beside usage under limit? Written so nothing overflows. */
static bool quota_fits(uint64_t usage, uint64_t adding, uint64_t limit)
{
	return adding <= limit && usage <= limit - adding;
}

static void quota_log_over(const char *user, uint64_t usage, uint64_t adding, uint64_t limit)
{
	log_info("event=quota_exceeded user=%s usage=%llu adding=%llu limit=%llu", user,
	         (unsigned long long)usage, (unsigned long long)adding, (unsigned long long)limit);
}

enum store_error store_quota_check(struct store_user *u, uint64_t limit, uint64_t adding)
{
	if (limit == 0)
		return STORE_OK;
	uint64_t usage, messages;
	enum store_error err = store_quota_usage(u, &usage, &messages);
	if (err != STORE_OK)
		return err;
	if (quota_fits(usage, adding, limit))
		return STORE_OK;
	quota_log_over(u->name, usage, adding, limit);
	return STORE_ERR_QUOTA;
}

enum store_error store_quota_check_user(const struct store_settings *s, const char *user,
                                        uint64_t limit, uint64_t adding)
{
	if (limit == 0)
		return STORE_OK;
	struct store_user *u;
	enum store_error err = store_user_open(s, user, false, &u);
	if (err == STORE_ERR_NOTFOUND) {
		/* no Maildir yet: the first delivery creates it, usage is 0 */
		if (quota_fits(0, adding, limit))
			return STORE_OK;
		quota_log_over(user, 0, adding, limit);
		return STORE_ERR_QUOTA;
	}
	if (err != STORE_OK)
		return err;
	err = store_quota_check(u, limit, adding);
	store_user_close(&u);
	return err;
}

uint64_t store_quota_message_size(const char *prefix, size_t prefix_len,
                                  const struct store_spool *body)
{
	struct crlf_count pc;
	crlf_count_init(&pc);
	if (prefix_len > 0)
		crlf_count_feed(&pc, prefix, prefix_len);
	return crlf_count_joined_size(&pc, &body->count);
}
