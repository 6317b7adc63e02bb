/*
 * password.c - stored password schemes; see password.h.
 *
 * The "{SCHEME}data" notation and the scheme names are Dovecot's, so that
 * a Dovecot passwd-file can be used as it is. The crypt family is handed to
 * libxcrypt, which reads the algorithm from the "$id$" of the data; the
 * scheme name only matters when a new hash is made. SCRAM-SHA-256 secrets
 * follow RFC 5802 section 3 / RFC 7677, derived with OpenSSL:
 *
 *     SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i)
 *     StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
 *     ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * The password goes into PBKDF2 as its raw UTF-8 bytes, without SASLprep
 * (RFC 4013); that is the identity for printable ASCII and what Dovecot
 * does, so secrets stay interchangeable.
 *
 * SECURITY: every comparison is constant-time (CRYPTO_memcmp); plaintext
 * comparisons compare SHA-256 digests so that not even the length leaks.
 * Intermediate keys and crypt(3) work areas are wiped before release.
 */
#include "auth/password.h"

#include "lib/mem.h"
#include "lib/strnum.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Limits against absurd input: nothing legitimate comes close. */
#define PASSWORD_STORED_MAX 4096
#define PASSWORD_INPUT_MAX 1024
#define PASSWORD_SCHEME_NAME_MAX 32

#define SCRAM_KEY_LEN 32 /* SHA-256 output */
#define SCRAM_SALT_LEN 16
#define SCRAM_ITER_MAX 10000000u
#define SCRAM_SALT_RAW_MAX 96 /* 127 base64 characters decode to <= 95 */

/* bcrypt cost for new BLF-CRYPT hashes: 2^10 rounds, ~50 ms today. */
#define BLF_CRYPT_COST 10

enum password_kind { KIND_PLAIN, KIND_PLAIN_BASE64, KIND_CRYPT, KIND_SCRAM };

struct password_scheme {
	const char *name;
	enum password_kind kind;
	bool can_hash;
	const char *gensalt_prefix; /* crypt only; NULL = libxcrypt's default */
	unsigned long gensalt_count; /* crypt only; 0 = the method's default */
};

static const struct password_scheme password_schemes[] = {
	{"PLAIN", KIND_PLAIN, true, NULL, 0},
	{"CLEAR", KIND_PLAIN, true, NULL, 0},
	{"CLEARTEXT", KIND_PLAIN, true, NULL, 0},
	{"PLAIN.BASE64", KIND_PLAIN_BASE64, true, NULL, 0},
	{"CRYPT", KIND_CRYPT, true, NULL, 0},
	{"SHA512-CRYPT", KIND_CRYPT, true, "$6$", 0},
	{"SHA256-CRYPT", KIND_CRYPT, true, "$5$", 0},
	{"BLF-CRYPT", KIND_CRYPT, true, "$2y$", BLF_CRYPT_COST},
	{"MD5-CRYPT", KIND_CRYPT, false, "$1$", 0}, /* broken: verify only */
	{"SCRAM-SHA-256", KIND_SCRAM, true, NULL, 0},
};

static const struct password_scheme *password_scheme_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(password_schemes) / sizeof(password_schemes[0]); i++) {
		const struct password_scheme *s = &password_schemes[i];
		if (strlen(s->name) == len && strncasecmp(s->name, name, len) == 0)
			return s;
	}
	return NULL;
}

/* Split "{SCHEME}data"; a string without '{' is a bare crypt(3) hash. */
static const struct password_scheme *password_split(const char *stored, const char **data_r)
{
	if (stored[0] != '{') {
		*data_r = stored;
		return password_scheme_find("CRYPT", 5);
	}
	const char *end = memchr(stored + 1, '}', strnlen(stored + 1, PASSWORD_SCHEME_NAME_MAX));
	if (end == NULL)
		return NULL;
	*data_r = end + 1;
	return password_scheme_find(stored + 1, (size_t)(end - stored - 1));
}

/* ---- base64 (RFC 4648 section 4) ----------------------------------------- */

static int password_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode (in, len) into out (cap bytes). No whitespace; the '=' padding
 * may be left out, but when present it must complete the last quantum.
 */
static bool password_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
				size_t *out_len_r)
{
	size_t pad = 0;
	while (pad < 2 && len > 0 && in[len - 1] == '=') {
		len--;
		pad++;
	}
	if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1)
		return false;
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = password_b64_value((unsigned char)in[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return false;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*out_len_r = n;
	return true;
}

/* Heap base64 of (in, len), padded. */
static char *password_b64_encode(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* ---- plaintext ------------------------------------------------------------ */

/* Compare digests, not the strings: constant time whatever the lengths. */
static bool password_equal_plain(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned la = 0, lb = 0;
	if (EVP_Digest(a, alen, da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, blen, db, &lb, EVP_sha256(), NULL) != 1)
		return false;
	return la == lb && CRYPTO_memcmp(da, db, la) == 0;
}

/* The plaintext kept by a PLAIN-family scheme, or NULL; *len_r its length. */
static char *password_plain_data(const struct password_scheme *s, const char *data, size_t *len_r)
{
	if (s->kind == KIND_PLAIN) {
		*len_r = strlen(data);
		return xstrdup(data);
	}
	if (s->kind != KIND_PLAIN_BASE64)
		return NULL;
	size_t in_len = strlen(data);
	size_t cap = in_len / 4 * 3 + 3;
	char *out = xmalloc(cap + 1);
	if (!password_b64_decode(data, in_len, (unsigned char *)out, cap, len_r)) {
		mem_wipe(out, cap);
		free(out);
		return NULL;
	}
	return out;
}

/* The passwd-file is ':'-separated and line-based: anything odd is encoded. */
static bool password_plain_needs_base64(const char *password)
{
	for (const unsigned char *p = (const unsigned char *)password; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == ':')
			return true;
	}
	return false;
}

static char *password_hash_plain(const struct password_scheme *s, const char *password)
{
	if (s->kind == KIND_PLAIN && !password_plain_needs_base64(password))
		return xasprintf("{%s}%s", s->name, password);
	char *b64 = password_b64_encode((const unsigned char *)password, strlen(password));
	char *out = xasprintf("{PLAIN.BASE64}%s", b64);
	mem_wipe(b64, strlen(b64));
	free(b64);
	return out;
}

/* ---- crypt(3) ------------------------------------------------------------- */

/* Run crypt_rn with a heap work area (about 32 KiB: too big for a thread
 * stack). Returns a heap copy of the result, or NULL on failure. */
static char *password_crypt(const char *password, const char *setting)
{
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	const char *res = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	/* libxcrypt signals failure with NULL or a string starting with '*'. */
	char *out = (res != NULL && res[0] != '*') ? xstrdup(res) : NULL;
	mem_wipe(cd, sizeof(*cd));
	free(cd);
	return out;
}

static enum password_result password_verify_crypt(const char *data, const char *password)
{
	if (data[0] == '\0')
		return PASSWORD_BAD_STORED;
	char *res = password_crypt(password, data);
	if (res == NULL)
		return PASSWORD_BAD_STORED;
	size_t len = strlen(res);
	bool ok = len == strlen(data) && CRYPTO_memcmp(res, data, len) == 0;
	free(res);
	return ok ? PASSWORD_OK : PASSWORD_MISMATCH;
}

static char *password_hash_crypt(const struct password_scheme *s, const char *password,
				 const char **err_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *prefix = s->gensalt_prefix;
	bool make_2y = false;
	if (crypt_gensalt_rn(prefix, s->gensalt_count, NULL, 0, setting, sizeof(setting)) ==
	    NULL) {
		/* Older libxcrypt may only generate "$2b$": same algorithm,
		 * so relabel it "$2y$" the way Dovecot writes BLF-CRYPT. */
		if (prefix == NULL || strcmp(prefix, "$2y$") != 0 ||
		    crypt_gensalt_rn("$2b$", s->gensalt_count, NULL, 0, setting,
				     sizeof(setting)) == NULL) {
			*err_r = "cannot generate a salt for this scheme";
			return NULL;
		}
		make_2y = true;
	}
	if (make_2y)
		setting[2] = 'y';
	char *res = password_crypt(password, setting);
	if (res == NULL) {
		*err_r = "crypt(3) failed for this scheme";
		return NULL;
	}
	char *out = xasprintf("{%s}%s", s->name, res);
	free(res);
	return out;
}

/* ---- SCRAM-SHA-256 -------------------------------------------------------- */

static bool password_scram_keys(const char *password, const unsigned char *salt, size_t salt_len,
				unsigned iterations, unsigned char stored_key[SCRAM_KEY_LEN],
				unsigned char server_key[SCRAM_KEY_LEN])
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[EVP_MAX_MD_SIZE];
	unsigned char server[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
	unsigned len1 = 0, len2 = 0, len3 = 0;
	const EVP_MD *md = EVP_sha256();
	bool ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
				    (int)iterations, md, SCRAM_KEY_LEN, salted) == 1 &&
		  HMAC(md, salted, SCRAM_KEY_LEN, (const unsigned char *)"Client Key", 10,
		       client_key, &len1) != NULL &&
		  HMAC(md, salted, SCRAM_KEY_LEN, (const unsigned char *)"Server Key", 10, server,
		       &len2) != NULL &&
		  EVP_Digest(client_key, len1, stored, &len3, md, NULL) == 1 &&
		  len2 == SCRAM_KEY_LEN && len3 == SCRAM_KEY_LEN;
	if (ok) {
		memcpy(stored_key, stored, SCRAM_KEY_LEN);
		memcpy(server_key, server, SCRAM_KEY_LEN);
	}
	mem_wipe(salted, sizeof(salted));
	mem_wipe(client_key, sizeof(client_key));
	mem_wipe(server, sizeof(server));
	mem_wipe(stored, sizeof(stored));
	return ok;
}

/* Copy a base64 field of (p, len) into dst (cap bytes) if it decodes to
 * want bytes (any non-zero count if want is 0); raw decoded into raw. */
static bool password_scram_field(const char *p, size_t len, char *dst, size_t cap, size_t want,
				 unsigned char *raw, size_t raw_cap, size_t *raw_len_r)
{
	if (len == 0 || len >= cap)
		return false;
	if (!password_b64_decode(p, len, raw, raw_cap, raw_len_r))
		return false;
	if (want != 0 ? *raw_len_r != want : *raw_len_r == 0)
		return false;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return true;
}

/* Parse "iter,salt,stored,server" (Dovecot's layout); salt decoded too. */
static bool password_scram_data(const char *data, struct password_scram *out,
				unsigned char salt[SCRAM_SALT_RAW_MAX], size_t *salt_len_r)
{
	const char *f[4];
	size_t flen[4];
	const char *p = data;
	for (int i = 0; i < 4; i++) {
		const char *comma = strchr(p, ',');
		if ((comma == NULL) != (i == 3))
			return false; /* too few or too many fields */
		f[i] = p;
		flen[i] = comma != NULL ? (size_t)(comma - p) : strlen(p);
		p = comma != NULL ? comma + 1 : p;
	}
	memset(out, 0, sizeof(*out));
	uint32_t iter;
	if (!strnum_u32(f[0], flen[0], SCRAM_ITER_MAX, &iter) || iter < 1)
		return false;
	out->iterations = iter;
	unsigned char key[SCRAM_KEY_LEN + 3];
	size_t key_len;
	return password_scram_field(f[1], flen[1], out->salt_b64, sizeof(out->salt_b64), 0, salt,
				    SCRAM_SALT_RAW_MAX, salt_len_r) &&
	       password_scram_field(f[2], flen[2], out->stored_key_b64,
				    sizeof(out->stored_key_b64), SCRAM_KEY_LEN, key, sizeof(key),
				    &key_len) &&
	       password_scram_field(f[3], flen[3], out->server_key_b64,
				    sizeof(out->server_key_b64), SCRAM_KEY_LEN, key, sizeof(key),
				    &key_len);
}

bool password_scram_parse(const char *stored, struct password_scram *out)
{
	const char *data;
	unsigned char salt[SCRAM_SALT_RAW_MAX];
	size_t salt_len;
	if (strnlen(stored, PASSWORD_STORED_MAX + 1) > PASSWORD_STORED_MAX)
		return false;
	const struct password_scheme *s = password_split(stored, &data);
	if (s == NULL || s->kind != KIND_SCRAM ||
	    !password_scram_data(data, out, salt, &salt_len)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

static enum password_result password_verify_scram(const char *data, const char *password)
{
	struct password_scram sc;
	unsigned char salt[SCRAM_SALT_RAW_MAX], want[SCRAM_KEY_LEN + 3];
	unsigned char stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	size_t salt_len, want_len;
	if (!password_scram_data(data, &sc, salt, &salt_len) ||
	    !password_b64_decode(sc.stored_key_b64, strlen(sc.stored_key_b64), want, sizeof(want),
				 &want_len))
		return PASSWORD_BAD_STORED;
	if (!password_scram_keys(password, salt, salt_len, sc.iterations, stored_key, server_key))
		return PASSWORD_BAD_STORED;
	bool ok = CRYPTO_memcmp(stored_key, want, SCRAM_KEY_LEN) == 0;
	mem_wipe(stored_key, sizeof(stored_key));
	mem_wipe(server_key, sizeof(server_key));
	return ok ? PASSWORD_OK : PASSWORD_MISMATCH;
}

static char *password_hash_scram(const char *password, const char **err_r)
{
	unsigned char salt[SCRAM_SALT_LEN], stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		*err_r = "no random bytes for a salt";
		return NULL;
	}
	if (!password_scram_keys(password, salt, sizeof(salt), PASSWORD_SCRAM_ITERATIONS,
				 stored_key, server_key)) {
		*err_r = "SCRAM key derivation failed";
		return NULL;
	}
	char *salt_b64 = password_b64_encode(salt, sizeof(salt));
	char *stored_b64 = password_b64_encode(stored_key, sizeof(stored_key));
	char *server_b64 = password_b64_encode(server_key, sizeof(server_key));
	char *out = xasprintf("{SCRAM-SHA-256}%u,%s,%s,%s", (unsigned)PASSWORD_SCRAM_ITERATIONS,
			      salt_b64, stored_b64, server_b64);
	mem_wipe(stored_key, sizeof(stored_key));
	mem_wipe(server_key, sizeof(server_key));
	free(salt_b64);
	free(stored_b64);
	free(server_b64);
	return out;
}

/* ---- public API ----------------------------------------------------------- */

bool password_scheme_can_hash(const char *scheme)
{
	const struct password_scheme *s = password_scheme_find(scheme, strlen(scheme));
	return s != NULL && s->can_hash;
}

char *password_hash(const char *scheme, const char *password, const char **err_r)
{
	const struct password_scheme *s = password_scheme_find(scheme, strlen(scheme));
	if (s == NULL || !s->can_hash) {
		*err_r = s == NULL ? "unknown password scheme" : "scheme can only verify";
		return NULL;
	}
	size_t len = strnlen(password, PASSWORD_INPUT_MAX + 1);
	if (len == 0 || len > PASSWORD_INPUT_MAX) {
		*err_r = len == 0 ? "empty password" : "password too long";
		return NULL;
	}
	switch (s->kind) {
	case KIND_PLAIN:
	case KIND_PLAIN_BASE64:
		return password_hash_plain(s, password);
	case KIND_CRYPT:
		return password_hash_crypt(s, password, err_r);
	case KIND_SCRAM:
		return password_hash_scram(password, err_r);
	}
	*err_r = "unknown password scheme";
	return NULL;
}

enum password_result password_verify(const char *stored, const char *password)
{
	if (strnlen(stored, PASSWORD_STORED_MAX + 1) > PASSWORD_STORED_MAX)
		return PASSWORD_BAD_STORED;
	/* An empty password never matches: password_hash() refuses to make
	 * one, and an empty stored PLAIN field is a mistake, not an account
	 * without password. */
	size_t len = strnlen(password, PASSWORD_INPUT_MAX + 1);
	const char *data;
	const struct password_scheme *s = password_split(stored, &data);
	if (s == NULL)
		return PASSWORD_BAD_STORED;
	if (len == 0 || len > PASSWORD_INPUT_MAX)
		return PASSWORD_MISMATCH;
	switch (s->kind) {
	case KIND_PLAIN:
	case KIND_PLAIN_BASE64: {
		size_t plain_len;
		char *plain = password_plain_data(s, data, &plain_len);
		if (plain == NULL)
			return PASSWORD_BAD_STORED;
		bool ok = password_equal_plain(plain, plain_len, password, len);
		mem_wipe(plain, plain_len);
		free(plain);
		return ok ? PASSWORD_OK : PASSWORD_MISMATCH;
	}
	case KIND_CRYPT:
		return password_verify_crypt(data, password);
	case KIND_SCRAM:
		return password_verify_scram(data, password);
	}
	return PASSWORD_BAD_STORED;
}

char *password_plaintext(const char *stored)
{
	if (strnlen(stored, PASSWORD_STORED_MAX + 1) > PASSWORD_STORED_MAX)
		return NULL;
	const char *data;
	const struct password_scheme *s = password_split(stored, &data);
	if (s == NULL)
		return NULL;
	size_t len;
	char *plain = password_plain_data(s, data, &len);
	if (plain != NULL && memchr(plain, '\0', len) != NULL) {
		/* A NUL inside cannot be handed out as a C string. */
		mem_wipe(plain, len);
		free(plain);
		return NULL;
	}
	return plain;
}
