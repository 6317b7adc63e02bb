/*
 * imap_quota.c - QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA, SETQUOTA.
 *
 * A user has one quota root, named "" (what Dovecot calls its default
 * root too), governing every folder, with one resource: STORAGE, the sum
 * of RFC822.SIZE of all messages (store_quota.h) in units of 1024 octets
 * (RFC 9208 5.1). Usage is rounded up and the limit down, so a mailbox
 * holding anything never shows 0 and a full one shows usage >= limit.
 * The limit is quota.storage from the configuration; without one
 * (quota.storage = 0) there is no root at all: GETQUOTAROOT lists none
 * (RFC 9208 4.1.2, 4.2.2) and GETQUOTA "" answers NO [NONEXISTENT]
 * (4.1.1). Administrators set limits in the configuration, so SETQUOTA is
 * refused and QUOTASET is not advertised (RFC 9208 1, 4.1.3).
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "store/store_imap.h"
#include "store/store_quota.h"

#include <stdlib.h>

/* RFC 9208 5.1: STORAGE is counted in units of 1024 octets. */
#define IMAP_QUOTA_UNIT 1024

static uint64_t imap_quota_limit(const struct imap_session *s)
{
	return s->env->cfg->quota_storage;
}

/* "* QUOTA "" (STORAGE <used> <limit>)" into out (CRLF included). */
static void imap_quota_line(uint64_t used, uint64_t limit, struct buf *out)
{
	uint64_t used_units = used / IMAP_QUOTA_UNIT + (used % IMAP_QUOTA_UNIT != 0);
	buf_appendf(out, "* QUOTA \"\" (STORAGE %llu %llu)\r\n", (unsigned long long)used_units,
	            (unsigned long long)(limit / IMAP_QUOTA_UNIT));
}

/* The QUOTA response of the user's root; false after a NO. */
static bool imap_quota_send(struct imap_session *s, const char *what)
{
	uint64_t used, messages;
	enum store_error err = store_quota_usage(s->store, &used, &messages);
	if (err != STORE_OK) {
		imap_store_error(s, err, what);
		return false;
	}
	struct buf line;
	buf_init(&line, 0);
	imap_quota_line(used, imap_quota_limit(s), &line);
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
	return true;
}

void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	size_t len;
	if (cmd->argc != 1 || !imap_arg_astring(&cmd->args[0], &root, &len)) {
		imap_bad(s, "GETQUOTA needs a quota root name.");
		return;
	}
	if (len != 0 || imap_quota_limit(s) == 0) {
		imap_tagged(s, "NO [NONEXISTENT] No such quota root.");
		return;
	}
	if (imap_quota_send(s, "GETQUOTA"))
		imap_tagged(s, "OK GETQUOTA completed.");
}

void imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 1) {
		imap_bad(s, "GETQUOTAROOT needs a mailbox name.");
		return;
	}
	char *name = imap_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return;
	/* RFC 9208 4.1.2: the roots of an existing mailbox */
	struct store_folder_status st;
	enum store_error err = store_folder_status(s->store, name, &st);
	if (err != STORE_OK) {
		imap_store_error(s, err, "GETQUOTAROOT");
		free(name);
		return;
	}
	bool limited = imap_quota_limit(s) != 0;
	struct buf line;
	buf_init(&line, 0);
	buf_append_str(&line, "* QUOTAROOT ");
	imap_name_to_client(s, name, &line);
	buf_append_str(&line, limited ? " \"\"\r\n" : "\r\n");
	uint64_t used = 0, messages;
	err = limited ? store_quota_usage(s->store, &used, &messages) : STORE_OK;
	if (err != STORE_OK) {
		imap_store_error(s, err, "GETQUOTAROOT");
	} else {
		if (limited)
			imap_quota_line(used, imap_quota_limit(s), &line);
		imap_write(s, line.ptr, line.len);
		imap_tagged(s, "OK GETQUOTAROOT completed.");
	}
	buf_deinit(&line);
	free(name);
}

void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	size_t len;
	if (cmd->argc != 2 || !imap_arg_astring(&cmd->args[0], &root, &len) ||
	    cmd->args[1].type != IMAP_ARG_LIST) {
		imap_bad(s, "SETQUOTA needs a quota root name and a list of limits.");
		return;
	}
	/* RFC 5530 NOPERM: not for this user to change */
	imap_tagged(s, "NO [NOPERM] Quota limits are set by the administrator.");
}
