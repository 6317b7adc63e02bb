/*
 * authcache.h - remember recently verified passwords, so that a client
 * that logs in every few minutes (POP3 clients poll) does not cost a
 * deliberately slow password hash each time.
 *
 * An entry is an HMAC-SHA256, under a random key made at start-up, of
 * (user, password), together with a digest of the stored password it was
 * verified against and an expiry time. A login hits only if the user's
 * stored password is still the same one: `yubin user passwd` takes effect
 * at once. Only successes are cached. The table has a fixed size (older
 * entries are overwritten), is shared by the worker's threads (one mutex),
 * and never holds a password or a hash of one that is cheap to invert
 * without the key.
 */
#ifndef YUBIN_AUTH_AUTHCACHE_H
#define YUBIN_AUTH_AUTHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct authcache;

/* ttl 0 disables the cache (every call misses, nothing is stored). */
struct authcache *authcache_new(unsigned ttl_seconds, size_t entries);
void authcache_free(struct authcache **cache);

/* True if (user, password) was verified against this stored password
 * less than ttl seconds before now. */
bool authcache_hit(struct authcache *cache, const char *user, const char *stored,
		   const char *password, size_t password_len, time_t now);

/* Record a successful verification. */
void authcache_add(struct authcache *cache, const char *user, const char *stored,
		   const char *password, size_t password_len, time_t now);

#endif
