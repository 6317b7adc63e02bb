/*
 * imap_quota.c - QUOTA (RFC 9208).
 */
#include "imap/imap_internal.h"

void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "QUOTA is not available.");
}

void imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "QUOTA is not available.");
}

void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "QUOTA is not available.");
}
