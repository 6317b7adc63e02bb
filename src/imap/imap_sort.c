/*
 * imap_sort.c - SORT and THREAD (RFC 5256).
 */
#include "imap/imap_internal.h"

void imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "SORT is not available.");
}

void imap_cmd_thread(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "THREAD is not available.");
}
