/*
 * uidl.h - POP3 unique ids (RFC 1939 7, UIDL).
 *
 * A UIDL is 1..70 characters in 0x21..0x7E and must never change for a
 * message nor be reused, also when the index is deleted and rebuilt. So it
 * is derived from things that survive a rebuild:
 *   - a message listed in a Dovecot dovecot-uidlist gets the UIDL Dovecot
 *     shows (uidlist.h: its 'P' field, else "%08x%08x" of UID and
 *     UIDVALIDITY, Dovecot's default pop3_uidl_format %08Xu%08Xv, which
 *     Dovecot prints in lower case);
 *   - any other message: its base file name if that is a valid UIDL,
 *     else 'H' + 40 hex digits of SHA-256 of the base name.
 */
#ifndef YUBIN_STORE_UIDL_H
#define YUBIN_STORE_UIDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* RFC 1939 7: 1..70 octets in 0x21..0x7E. */
bool uidl_valid(const char *s, size_t len);

/* Dovecot's default: uid and uidvalidity as 8 lower-case hex digits each. */
void uidl_dovecot(uint32_t uid, uint32_t uidvalidity, char out[STORE_UIDL_MAX + 1]);

/* 'H' + the first 40 hex digits of SHA-256(data). */
void uidl_hash(const char *data, size_t len, char out[STORE_UIDL_MAX + 1]);

/* The base name itself if valid, else uidl_hash() of it. */
void uidl_from_base(const char *base, size_t len, char out[STORE_UIDL_MAX + 1]);

#endif
