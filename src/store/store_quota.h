/*
 * store_quota.h - how much mail a user keeps, and whether one more
 * message fits under a storage limit (IMAP QUOTA, RFC 9208; LMTP and
 * `yubin deliver` answering "mailbox full").
 *
 * Usage is the sum of RFC822.SIZE (the CRLF size, W= of the file name) of
 * every message in every folder of the user, as the index knows it after
 * syncing each folder with the disk. Syncing first matters: deliveries
 * write files without touching the index, so a user who never logs in
 * would otherwise look empty forever. A folder whose directories did not
 * change costs two stat calls; one that did is scanned (see sync.h).
 *
 * The limit is the caller's (configuration: quota.storage); 0 means none,
 * and then nothing is read at all. A message fits if usage + its size
 * does not exceed the limit. Two deliveries checked at the same moment
 * can both fit and together go over by up to one message each: the check
 * is not a reservation (Dovecot's quota behaves the same way).
 *
 * Threads: like store.h (a struct store_user is used by one thread at a
 * time; store_quota_check_user() opens its own).
 */
#ifndef YUBIN_STORE_STORE_QUOTA_H
#define YUBIN_STORE_STORE_QUOTA_H

#include "store/store.h"

#include <stdint.h>

/*
 * Sum of RFC822.SIZE and number of messages over all of u's folders
 * (INBOX and every Maildir++ folder; \Noselect parents hold nothing).
 * Each folder is synced first. A folder deleted meanwhile is skipped.
 */
enum store_error store_quota_usage(struct store_user *u, uint64_t *bytes_r, uint64_t *messages_r);

/*
 * STORE_ERR_QUOTA if adding `adding` octets would take u over limit
 * (logged with the figures), STORE_OK if it fits or limit is 0, or the
 * error that kept usage from being known.
 */
enum store_error store_quota_check(struct store_user *u, uint64_t limit, uint64_t adding);

/*
 * The same for a delivery, by user name: opens the user (without creating
 * anything; a user without a Maildir yet uses nothing) and closes it again.
 * With limit 0 it returns STORE_OK at once.
 */
enum store_error store_quota_check_user(const struct store_settings *s, const char *user,
                                        uint64_t limit, uint64_t adding);

/*
 * RFC822.SIZE of the message store_deliver() would write from prefix and
 * body (the W= of its file name): what a delivery adds to the usage.
 * prefix may be NULL when prefix_len is 0 (APPEND).
 */
uint64_t store_quota_message_size(const char *prefix, size_t prefix_len,
                                  const struct store_spool *body);

#endif
