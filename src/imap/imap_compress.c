/*
 * imap_compress.c - COMPRESS=DEFLATE (RFC 4978).
 */
#include "imap/imap_internal.h"

void imap_cmd_compress(struct imap_session *s, const struct imap_command *cmd)
{
	imap_bad(s, "COMPRESS is not available.");
}
