/*
 * password.h - stored password schemes, compatible with Dovecot's.
 *
 * A stored password is "{SCHEME}data" (a bare crypt string without a
 * prefix is treated as {CRYPT}). Supported schemes:
 *
 *   PLAIN, CLEAR, CLEARTEXT   the password itself
 *   PLAIN.BASE64              base64 of the password (for ':' or odd bytes)
 *   CRYPT                     any crypt(3) string libxcrypt knows; new hashes
 *                             use its preferred method (yescrypt, "$y$")
 *   SHA512-CRYPT              "$6$..."
 *   SHA256-CRYPT              "$5$..."
 *   BLF-CRYPT                 bcrypt "$2y$..."
 *   MD5-CRYPT                 "$1$..." (verify only)
 *   SCRAM-SHA-256             "iter,salt_b64,storedkey_b64,serverkey_b64"
 *
 * Hashing is slow on purpose (tens of milliseconds): callers on an event
 * loop must run password_verify() and password_hash() on a thread pool.
 * All functions are thread-safe.
 */
#ifndef YUBIN_AUTH_PASSWORD_H
#define YUBIN_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Iterations for new SCRAM-SHA-256 secrets (RFC 7677 asks for >= 4096). */
#define PASSWORD_SCRAM_ITERATIONS 10000

enum password_result {
	PASSWORD_OK,
	PASSWORD_MISMATCH,
	PASSWORD_BAD_STORED, /* unknown scheme or malformed stored data */
};

/* True if scheme (without braces, case-insensitive) can be used by
 * password_hash(). */
bool password_scheme_can_hash(const char *scheme);

/*
 * Hash a new password: returns a heap "{SCHEME}data" string, or NULL with
 * *err_r set to a constant message.
 */
char *password_hash(const char *scheme, const char *password, const char **err_r);

/* Check a plaintext password against a stored one, in constant time where
 * the scheme allows. */
enum password_result password_verify(const char *stored, const char *password);

/*
 * The plaintext, if the stored scheme keeps it (PLAIN, CLEAR, CLEARTEXT,
 * PLAIN.BASE64): heap string the caller must wipe and free. NULL otherwise.
 * Needed by APOP and by SCRAM when no SCRAM secret is stored.
 */
char *password_plaintext(const char *stored);

struct password_scram {
	unsigned iterations;
	char salt_b64[128];
	char stored_key_b64[64]; /* base64 of 32 bytes */
	char server_key_b64[64];
};

/* Parse a {SCRAM-SHA-256} stored secret. */
bool password_scram_parse(const char *stored, struct password_scram *out);

#endif
