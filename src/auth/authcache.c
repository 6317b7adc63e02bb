/*
 * authcache.c - verified-password cache; see authcache.h.
 *
 * Direct-mapped: the entry's slot is picked by the first bytes of its
 * HMAC, so a lookup is one slot compare under the mutex; a collision just
 * evicts the older entry. Comparisons are constant-time.
 */
#include "auth/authcache.h"

#include "lib/mem.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define AUTHCACHE_MAC 32

struct authcache_entry {
	unsigned char mac[AUTHCACHE_MAC];    /* HMAC(key, user NUL password) */
	unsigned char stored[AUTHCACHE_MAC]; /* SHA-256 of the stored password */
	time_t expires;                       /* 0 = empty */
};

struct authcache {
	pthread_mutex_t lock;
	unsigned ttl;
	size_t n;
	struct authcache_entry *slots;
	unsigned char key[32];
};

struct authcache *authcache_new(unsigned ttl_seconds, size_t entries)
{
	struct authcache *c = xmalloc(sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->ttl = ttl_seconds;
	c->n = entries > 0 ? entries : 1;
	if (ttl_seconds > 0)
		c->slots = xcalloc(c->n, sizeof(*c->slots));
	if (RAND_bytes(c->key, sizeof(c->key)) != 1)
		abort(); /* no randomness: nothing is safe */
	return c;
}

void authcache_free(struct authcache **cp)
{
	struct authcache *c = *cp;
	if (c == NULL)
		return;
	if (c->slots != NULL)
		mem_wipe(c->slots, c->n * sizeof(*c->slots));
	free(c->slots);
	mem_wipe(c->key, sizeof(c->key));
	pthread_mutex_destroy(&c->lock);
	xfree(*cp);
}

/* Passwords longer than this are never cached (they are refused anyway). */
#define AUTHCACHE_INPUT_MAX 2048

static bool authcache_mac(const struct authcache *c, const char *user, const char *password,
			  size_t password_len, unsigned char out[AUTHCACHE_MAC])
{
	unsigned char in[AUTHCACHE_INPUT_MAX];
	size_t ulen = strlen(user) + 1; /* with the NUL: user and password cannot blur */
	if (ulen + password_len > sizeof(in))
		return false;
	memcpy(in, user, ulen);
	memcpy(in + ulen, password, password_len);
	unsigned int len = AUTHCACHE_MAC;
	HMAC(EVP_sha256(), c->key, sizeof(c->key), in, ulen + password_len, out, &len);
	mem_wipe(in, ulen + password_len);
	return true;
}

static void authcache_stored_digest(const char *stored, unsigned char out[AUTHCACHE_MAC])
{
	unsigned int len = AUTHCACHE_MAC;
	EVP_Digest(stored, strlen(stored), out, &len, EVP_sha256(), NULL);
}

static struct authcache_entry *authcache_slot(struct authcache *c,
					      const unsigned char mac[AUTHCACHE_MAC])
{
	uint64_t h;
	memcpy(&h, mac, sizeof(h));
	return &c->slots[h % c->n];
}

bool authcache_hit(struct authcache *c, const char *user, const char *stored,
		   const char *password, size_t password_len, time_t now)
{
	if (c->ttl == 0)
		return false;
	unsigned char mac[AUTHCACHE_MAC], digest[AUTHCACHE_MAC];
	if (!authcache_mac(c, user, password, password_len, mac))
		return false;
	authcache_stored_digest(stored, digest);
	pthread_mutex_lock(&c->lock);
	const struct authcache_entry *e = authcache_slot(c, mac);
	bool hit = e->expires > now && CRYPTO_memcmp(e->mac, mac, AUTHCACHE_MAC) == 0 &&
		   CRYPTO_memcmp(e->stored, digest, AUTHCACHE_MAC) == 0;
	pthread_mutex_unlock(&c->lock);
	mem_wipe(mac, sizeof(mac));
	return hit;
}

void authcache_add(struct authcache *c, const char *user, const char *stored,
		   const char *password, size_t password_len, time_t now)
{
	if (c->ttl == 0)
		return;
	struct authcache_entry e;
	if (!authcache_mac(c, user, password, password_len, e.mac))
		return;
	authcache_stored_digest(stored, e.stored);
	e.expires = now + (time_t)c->ttl;
	pthread_mutex_lock(&c->lock);
	*authcache_slot(c, e.mac) = e;
	pthread_mutex_unlock(&c->lock);
	mem_wipe(&e, sizeof(e));
}
