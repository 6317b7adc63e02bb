/*
 * uidl.c - POP3 unique ids; see uidl.h for the rules and why.
 */
#include "store/uidl.h"

#include "lib/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool uidl_valid(const char *s, size_t len)
{
	if (len == 0 || len > STORE_UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

void uidl_dovecot(uint32_t uid, uint32_t uidvalidity, char out[STORE_UIDL_MAX + 1])
{
	snprintf(out, STORE_UIDL_MAX + 1, "%08x%08x", (unsigned)uid, (unsigned)uidvalidity);
}

void uidl_hash(const char *data, size_t len, char out[STORE_UIDL_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 20) {
		/* A broken libcrypto: a constant id would make UIDLs collide. */
		log_error("store: op=uidl_hash error=sha256_unavailable");
		abort();
	}
	out[0] = 'H';
	for (size_t i = 0; i < 20; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 0xf];
	}
	out[41] = '\0';
}

void uidl_from_base(const char *base, size_t len, char out[STORE_UIDL_MAX + 1])
{
	if (uidl_valid(base, len)) {
		memcpy(out, base, len);
		out[len] = '\0';
	} else {
		uidl_hash(base, len, out);
	}
}
