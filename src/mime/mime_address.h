/*
 * mime_address.h - RFC 5322 address lists (3.4, with the obsolete syntax
 * of 4.4) as IMAP ENVELOPE shows them: (name route mailbox host).
 *
 * The parser takes an unfolded field value and never fails: it keeps what
 * it can and recovers at the next ','. Results follow RFC 9051 7.5.2:
 * - a group "name: a, b;" gives a start marker (mailbox = group name,
 *   host absent), its members, and an end marker (all absent);
 * - the display name is the phrase before "<...>" with quoted strings
 *   unquoted and words joined by one space; encoded words (RFC 2047) are
 *   kept as sent (IMAP returns raw header text); for a bare addr-spec the
 *   last comment, if any, is the name ("a@b (Name)");
 * - route is the obsolete source route "@a,@b" of "<@a,@b:x@y>";
 * - a missing mailbox or domain is reported as "MISSING_MAILBOX" /
 *   "MISSING_DOMAIN" (like Dovecot), so that a host is never NIL outside
 *   group markers; a phrase without an address is kept as a name.
 * Empty list members (",,") are ignored (RFC 5322 4.4 obs-addr-list).
 */
#ifndef YUBIN_MIME_ADDRESS_H
#define YUBIN_MIME_ADDRESS_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (off, len) into mime_addr_list.text; off == UINT32_MAX: absent (NIL) */
struct mime_addr_str {
	uint32_t off, len;
};

struct mime_addr {
	struct mime_addr_str name, route, mailbox, host;
};

struct mime_addr_list {
	struct mime_addr *v;
	size_t count, cap;
	struct buf text; /* the strings, each NUL-terminated */
};

void mime_addr_list_init(struct mime_addr_list *l);
void mime_addr_list_deinit(struct mime_addr_list *l);

/* Parse (in, len) and append its addresses to l. */
void mime_address_parse(const char *in, size_t len, struct mime_addr_list *l);

/* The text of s, or NULL if absent. */
const char *mime_addr_text(const struct mime_addr_list *l, struct mime_addr_str s);

#endif
