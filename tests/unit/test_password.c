/*
 * test_password.c - stored password schemes: round trips for every scheme,
 * known vectors made by other software (OpenSSL `openssl passwd`, Dovecot's
 * `doveadm pw`, GNU SASL's `gsasl --mkpasswd`, RFC 7677's example),
 * malformed stored strings, plaintext extraction and SCRAM field checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/password.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- round trips ---------------------------------------------------------- */

struct roundtrip_case {
	const char *scheme;
	const char *password;
	const char *prefix; /* expected start of the result */
};

static const struct roundtrip_case roundtrip_cases[] = {
	{"PLAIN", "pencil", "{PLAIN}pencil"},
	{"plain", "pencil", "{PLAIN}pencil"},
	{"CLEAR", "pencil", "{CLEAR}pencil"},
	{"CLEARTEXT", "pencil", "{CLEARTEXT}pencil"},
	{"PLAIN.BASE64", "pencil", "{PLAIN.BASE64}cGVuY2ls"},
	{"PLAIN", "a:b", "{PLAIN.BASE64}YTpi"},
	{"CLEAR", "tab\there", "{PLAIN.BASE64}"},
	{"PLAIN", "h\xc3\xa9llo", "{PLAIN.BASE64}"},
	{"PLAIN", "with space ", "{PLAIN}with space "},
	{"CRYPT", "pencil", "{CRYPT}$y$"},
	{"SHA512-CRYPT", "pencil", "{SHA512-CRYPT}$6$"},
	{"sha256-crypt", "pencil", "{SHA256-CRYPT}$5$"},
	{"BLF-CRYPT", "pencil", "{BLF-CRYPT}$2y$10$"},
	{"SCRAM-SHA-256", "pencil", "{SCRAM-SHA-256}10000,"},
	{"SCRAM-SHA-256", "p:w \xc3\xb6", "{SCRAM-SHA-256}10000,"},
	{"SHA512-CRYPT", "a:b\x01", "{SHA512-CRYPT}$6$"},
};

static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(roundtrip_cases) / sizeof(roundtrip_cases[0]); i++) {
		const struct roundtrip_case *c = &roundtrip_cases[i];
		const char *err = NULL;
		char *stored = password_hash(c->scheme, c->password, &err);
		assert_non_null(stored);
		if (strncmp(stored, c->prefix, strlen(c->prefix)) != 0)
			fail_msg("case %zu: %s does not start with %s", i, stored, c->prefix);
		/* The passwd-file is ':'- and line-separated. */
		assert_null(strpbrk(stored, ":\n\r"));
		assert_int_equal(password_verify(stored, c->password), PASSWORD_OK);
		char wrong[64];
		snprintf(wrong, sizeof(wrong), "%sx", c->password);
		assert_int_equal(password_verify(stored, wrong), PASSWORD_MISMATCH);
		wrong[strlen(c->password) - 1] = '\0'; /* a prefix */
		assert_int_equal(password_verify(stored, wrong), PASSWORD_MISMATCH);
		assert_int_equal(password_verify(stored, ""), PASSWORD_MISMATCH);
		free(stored);
	}
}

/* Salts are random: the same password never gives the same string twice. */
static void test_salted(void **state)
{
	(void)state;
	static const char *const schemes[] = {"CRYPT", "SHA512-CRYPT", "SHA256-CRYPT",
					      "BLF-CRYPT", "SCRAM-SHA-256"};
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		const char *err = NULL;
		char *a = password_hash(schemes[i], "pencil", &err);
		char *b = password_hash(schemes[i], "pencil", &err);
		assert_non_null(a);
		assert_non_null(b);
		assert_string_not_equal(a, b);
		free(a);
		free(b);
	}
}

/* Every byte 0x01..0xff survives PLAIN (via PLAIN.BASE64). */
static void test_plain_all_bytes(void **state)
{
	(void)state;
	char pw[256];
	for (int i = 1; i < 256; i++)
		pw[i - 1] = (char)i;
	pw[255] = '\0';
	const char *err = NULL;
	char *stored = password_hash("PLAIN", pw, &err);
	assert_non_null(stored);
	assert_true(strncmp(stored, "{PLAIN.BASE64}", 14) == 0);
	assert_int_equal(password_verify(stored, pw), PASSWORD_OK);
	char *plain = password_plaintext(stored);
	assert_non_null(plain);
	assert_string_equal(plain, pw);
	free(plain);
	free(stored);
}

static void test_hash_errors(void **state)
{
	(void)state;
	static const char *const bad_schemes[] = {"MD5-CRYPT", "FOO", "", "{PLAIN}", "PLAIN ",
						  "SCRAM-SHA-1", "SHA512"};
	for (size_t i = 0; i < sizeof(bad_schemes) / sizeof(bad_schemes[0]); i++) {
		const char *err = NULL;
		assert_false(password_scheme_can_hash(bad_schemes[i]));
		assert_null(password_hash(bad_schemes[i], "pencil", &err));
		assert_non_null(err);
	}
	static const char *const good_schemes[] = {
		"PLAIN", "CLEAR", "CLEARTEXT", "PLAIN.BASE64", "CRYPT", "SHA512-CRYPT",
		"SHA256-CRYPT", "BLF-CRYPT", "SCRAM-SHA-256", "scram-sha-256", "Blf-Crypt"};
	for (size_t i = 0; i < sizeof(good_schemes) / sizeof(good_schemes[0]); i++)
		assert_true(password_scheme_can_hash(good_schemes[i]));

	const char *err = NULL;
	assert_null(password_hash("PLAIN", "", &err));
	assert_non_null(err);
	char *big = malloc(1026);
	memset(big, 'a', 1025);
	big[1025] = '\0';
	err = NULL;
	assert_null(password_hash("SHA512-CRYPT", big, &err));
	assert_non_null(err);
	big[1024] = '\0'; /* exactly the limit is fine */
	char *stored = password_hash("PLAIN", big, &err);
	assert_non_null(stored);
	assert_int_equal(password_verify(stored, big), PASSWORD_OK);
	free(stored);
	free(big);
}

/* ---- known vectors --------------------------------------------------------- */

struct vector_case {
	const char *stored;
	const char *password;
	enum password_result want;
};

/* Each stored string was made by another program, named beside it. */
static const struct vector_case vector_cases[] = {
	/* openssl passwd -6 -salt saltsalt pencil */
	{"{SHA512-CRYPT}$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/XlgKD9E9aEbzqGZipjiFxGo/"
	 "4wWXDA6jV6/vZO.kKdDSfUJb0",
	 "pencil", PASSWORD_OK},
	{"{SHA512-CRYPT}$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/XlgKD9E9aEbzqGZipjiFxGo/"
	 "4wWXDA6jV6/vZO.kKdDSfUJb0",
	 "Pencil", PASSWORD_MISMATCH},
	/* the same without a prefix: bare crypt strings are {CRYPT} */
	{"$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/XlgKD9E9aEbzqGZipjiFxGo/"
	 "4wWXDA6jV6/vZO.kKdDSfUJb0",
	 "pencil", PASSWORD_OK},
	{"$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/XlgKD9E9aEbzqGZipjiFxGo/"
	 "4wWXDA6jV6/vZO.kKdDSfUJb0",
	 "pencil2", PASSWORD_MISMATCH},
	/* doveadm pw -s SHA512-CRYPT -p pencil */
	{"{SHA512-CRYPT}$6$HOagsvM5Lk4ulMNN$chggQYmGZSf7i8V6xi6uozbWY0o07JkqUzf32kiXqDQrO9QEHTzMi/"
	 "CreURkFyZXv0HnEBkW77wNHoBZ4aLqp1",
	 "pencil", PASSWORD_OK},
	/* openssl passwd -5 -salt saltsalt pencil */
	{"{SHA256-CRYPT}$5$saltsalt$hl9BvcGsj7AkON13nbqeQHDgRpHyFxt7WDzLoS.OCQ/", "pencil",
	 PASSWORD_OK},
	{"{SHA256-CRYPT}$5$saltsalt$hl9BvcGsj7AkON13nbqeQHDgRpHyFxt7WDzLoS.OCQ/", "pencil ",
	 PASSWORD_MISMATCH},
	/* doveadm pw -s SHA256-CRYPT -p pencil */
	{"{SHA256-CRYPT}$5$.75K8Ol3i.MBIzdN$XUdz.8GKUqgQQ3YKk9g2DaYY./gM3xGHn4GbEP5qM39", "pencil",
	 PASSWORD_OK},
	/* openssl passwd -1 -salt saltsalt pencil; doveadm pw -s MD5-CRYPT */
	{"{MD5-CRYPT}$1$saltsalt$wCrc3hcrR95SV83Xh8Z.41", "pencil", PASSWORD_OK},
	{"{md5-crypt}$1$saltsalt$wCrc3hcrR95SV83Xh8Z.41", "pencil!", PASSWORD_MISMATCH},
	{"{MD5-CRYPT}$1$oZqjOuDm$KmJOKkjeVKvoESGjfeEVe0", "pencil", PASSWORD_OK},
	/* doveadm pw -s BLF-CRYPT -p pencil ($2y$, Dovecot's own bcrypt) */
	{"{BLF-CRYPT}$2y$05$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW", "pencil",
	 PASSWORD_OK},
	{"{BLF-CRYPT}$2y$05$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW", "pencik",
	 PASSWORD_MISMATCH},
	/* the same hash labelled $2b$ (identical algorithm) */
	{"{BLF-CRYPT}$2b$05$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW", "pencil",
	 PASSWORD_OK},
	/* doveadm pw -s CRYPT -p pencil (Dovecot's CRYPT default is bcrypt) */
	{"{CRYPT}$2y$05$z84yUxPcXb.6nHe4uxkUfOzE.SCHY5EijYu/G2u4hOWpVQrKxcZ3u", "pencil",
	 PASSWORD_OK},
	/* yescrypt, python3 crypt.crypt("pencil", "$y$j9T$S/sORSM1Jx.cDQVBKaxh5/") */
	{"{CRYPT}$y$j9T$S/sORSM1Jx.cDQVBKaxh5/$PPoBD74p9YEhcdDqg5X.gaOVV5RoWpYGJD01pZA.Co6",
	 "pencil", PASSWORD_OK},
	{"$y$j9T$S/sORSM1Jx.cDQVBKaxh5/$PPoBD74p9YEhcdDqg5X.gaOVV5RoWpYGJD01pZA.Co6", "pencil1",
	 PASSWORD_MISMATCH},
	/* gsasl --mkpasswd --mechanism SCRAM-SHA-256 --password pencil
	 * --salt QSXCR+Q6sek8bf92 --iteration-count 4096 */
	{"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	 "qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	 "pencil", PASSWORD_OK},
	{"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	 "qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	 "pencil2", PASSWORD_MISMATCH},
	/* the same, RFC 7677 section 3's salt (see test_scram_rfc7677) */
	{"{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
	 ",wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	 "pencil", PASSWORD_OK},
	/* doveadm pw -s SCRAM-SHA-256 -p 'pencil' and -p 'pa:ss wörd' (UTF-8) */
	{"{SCRAM-SHA-256}4096,VKVC/X04CXvnzqWCfk4H5A==,79JBcXVgr1ml/JjvSHAYW/rfxNlyYCgamzC99Wjva+A="
	 ",+frnfwquvqT5OPTVyHI5wF2oPfoVpYg23t7ALJ0NV4Y=",
	 "pencil", PASSWORD_OK},
	{"{SCRAM-SHA-256}4096,ekrgqm6gzVkZc3M/U+UdLg==,AL49JqA1BC9JDmypvp7eWEGFkun4sJh1MsPS/fiUJvs="
	 ",ehJupgjIU1Xsit2f7c6h2UbDFuVjVQWdZIc0jXZOlqM=",
	 "pa:ss w\xc3\xb6rd", PASSWORD_OK},
	/* doveadm pw -s PLAIN.BASE64 -p 'p:w' */
	{"{PLAIN.BASE64}cDp3", "p:w", PASSWORD_OK},
	{"{PLAIN.BASE64}cDp3", "p:W", PASSWORD_MISMATCH},
	{"{PLAIN.BASE64}cGVuY2lsMQ", "pencil1", PASSWORD_OK}, /* padding left out */
	{"{PLAIN}pencil", "pencil", PASSWORD_OK},
	{"{Plain}pencil", "pencil", PASSWORD_OK},
	{"{CLEAR}pencil", "pencil", PASSWORD_OK},
	{"{CLEARTEXT}pencil", "pencil", PASSWORD_OK},
	{"{PLAIN}pencil", "pencil\n", PASSWORD_MISMATCH},
	{"{PLAIN}pencil", "Pencil", PASSWORD_MISMATCH},
	{"{PLAIN}a}b", "a}b", PASSWORD_OK},
	{"{PLAIN}", "", PASSWORD_MISMATCH}, /* an empty password never matches */
	{"{PLAIN}", "x", PASSWORD_MISMATCH},
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vector_cases) / sizeof(vector_cases[0]); i++) {
		const struct vector_case *c = &vector_cases[i];
		enum password_result got = password_verify(c->stored, c->password);
		if (got != c->want)
			fail_msg("case %zu (%s): got %d, want %d", i, c->stored, got, c->want);
	}
}

/* ---- malformed stored strings ----------------------------------------------- */

static const char *const bad_stored[] = {
	"",
	"{FOO}pencil",
	"{}pencil",
	"{PLAIN",
	"{SHA512-CRYPT",
	"{CRYPT}",
	"{SHA512-CRYPT}",
	"{CRYPT}*",
	"{CRYPT}*0",
	"{CRYPT}!$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw",
	"{BLF-CRYPT}$2y$99$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW",
	"{CRYPT}$9$nonsense",
	"{PLAIN.BASE64}!!!!",
	"{PLAIN.BASE64}a",
	"{PLAIN.BASE64}YTpi=",
	"{PLAIN.BASE64}YT pi",
	"{PLAIN.BASE64}Y===",
	"{SCRAM-SHA-256}",
	"{SCRAM-SHA-256}4096",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=,extra",
	"{SCRAM-SHA-256}0,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	"{SCRAM-SHA-256}-1,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	"{SCRAM-SHA-256}4096,,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	"{SCRAM-SHA-256}4096,QSXC%Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	"qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=AAAA",
	"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,short,short",
};

static void test_bad_stored(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_stored) / sizeof(bad_stored[0]); i++) {
		enum password_result got = password_verify(bad_stored[i], "pencil");
		if (got != PASSWORD_BAD_STORED)
			fail_msg("case %zu (%s): got %d", i, bad_stored[i], got);
		char *plain = password_plaintext(bad_stored[i]);
		assert_null(plain);
	}
}

/* Absurd sizes are refused without hashing them. */
static void test_limits(void **state)
{
	(void)state;
	char *big = malloc(5000);
	memcpy(big, "{PLAIN}", 7);
	memset(big + 7, 'a', 4992);
	big[4999] = '\0';
	assert_int_equal(password_verify(big, big + 7), PASSWORD_BAD_STORED);
	assert_null(password_plaintext(big));
	struct password_scram sc;
	assert_false(password_scram_parse(big, &sc));
	/* A 1025-byte password never matches, even when it is the stored one. */
	big[7 + 1025] = '\0';
	assert_int_equal(password_verify(big, big + 7), PASSWORD_MISMATCH);
	big[7 + 1024] = '\0';
	assert_int_equal(password_verify(big, big + 7), PASSWORD_OK);
	free(big);
}

/* ---- plaintext ---------------------------------------------------------------- */

struct plaintext_case {
	const char *stored;
	const char *want; /* NULL: no plaintext */
};

static const struct plaintext_case plaintext_cases[] = {
	{"{PLAIN}pencil", "pencil"},
	{"{plain}pencil", "pencil"},
	{"{CLEAR}pen cil", "pen cil"},
	{"{CLEARTEXT}pencil", "pencil"},
	{"{PLAIN.BASE64}YTpi", "a:b"},
	{"{PLAIN.BASE64}cGVuY2lsMQ", "pencil1"},
	{"{PLAIN}", ""},
	{"{PLAIN.BASE64}AGE=", NULL}, /* "\0a" */
	{"{PLAIN.BASE64}!", NULL},
	{"{SHA512-CRYPT}$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw", NULL},
	{"$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw", NULL},
	{"{MD5-CRYPT}$1$saltsalt$wCrc3hcrR95SV83Xh8Z.41", NULL},
	{"{BLF-CRYPT}$2y$05$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW", NULL},
	{"{CRYPT}$y$j9T$S/sORSM1Jx.cDQVBKaxh5/$PPoBD74p9YEhcdDqg5X.gaOVV5RoWpYGJD01pZA.Co6", NULL},
	{"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8=,"
	 "qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	 NULL},
	{"{FOO}pencil", NULL},
};

static void test_plaintext(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plaintext_cases) / sizeof(plaintext_cases[0]); i++) {
		const struct plaintext_case *c = &plaintext_cases[i];
		char *got = password_plaintext(c->stored);
		if (c->want == NULL) {
			if (got != NULL)
				fail_msg("case %zu (%s): got %s", i, c->stored, got);
		} else {
			assert_non_null(got);
			assert_string_equal(got, c->want);
		}
		free(got);
	}
}

/* ---- SCRAM ---------------------------------------------------------------------- */

#define GSASL_SALT "QSXCR+Q6sek8bf92"
#define GSASL_STORED "FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE8="
#define GSASL_SERVER "qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo="
#define SCRAM_KEYS "," GSASL_STORED "," GSASL_SERVER

struct scram_case {
	const char *stored;
	bool ok;
	unsigned iterations;
};

static const struct scram_case scram_cases[] = {
	{"{SCRAM-SHA-256}4096," GSASL_SALT SCRAM_KEYS, true, 4096},
	{"{scram-sha-256}4096," GSASL_SALT SCRAM_KEYS, true, 4096},
	{"{SCRAM-SHA-256}1," GSASL_SALT SCRAM_KEYS, true, 1},
	{"{SCRAM-SHA-256}10000000," GSASL_SALT SCRAM_KEYS, true, 10000000},
	{"{SCRAM-SHA-256}10000001," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}0," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}+4096," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256} 4096," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}4e3," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}99999999999999999999," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}," GSASL_SALT SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}4096,," GSASL_STORED "," GSASL_SERVER, false, 0},
	{"{SCRAM-SHA-256}4096,QQ" SCRAM_KEYS, true, 4096}, /* one-byte salt */
	{"{SCRAM-SHA-256}4096,Q" SCRAM_KEYS, false, 0},
	{"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf9*" SCRAM_KEYS, false, 0},
	/* 31-byte and 33-byte keys */
	{"{SCRAM-SHA-256}4096," GSASL_SALT ",FO+9jBb3MUukt6jJnzjPZOWc5ow/Pu6JtPyju0aqaE=,"
	 GSASL_SERVER,
	 false, 0},
	{"{SCRAM-SHA-256}4096," GSASL_SALT "," GSASL_STORED ",qxJ1SbmSAi5EcS0J5Ck/cKAm/"
	 "+Ixa+Kwp63f4OHDgzo+AA==",
	 false, 0},
	{"{SCRAM-SHA-256}4096," GSASL_SALT "," GSASL_STORED, false, 0},
	{"{SCRAM-SHA-256}4096," GSASL_SALT SCRAM_KEYS ",", false, 0},
	{"{SCRAM-SHA-256}4096," GSASL_SALT SCRAM_KEYS ",x", false, 0},
	{"4096," GSASL_SALT SCRAM_KEYS, false, 0}, /* no prefix: that is CRYPT */
	{"{PLAIN}4096," GSASL_SALT SCRAM_KEYS, false, 0},
	/* a salt too long for salt_b64[128] */
	{"{SCRAM-SHA-256}4096,"
	 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" SCRAM_KEYS,
	 false, 0},
};

static void test_scram_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scram_cases) / sizeof(scram_cases[0]); i++) {
		const struct scram_case *c = &scram_cases[i];
		struct password_scram sc;
		memset(&sc, 0x55, sizeof(sc));
		bool ok = password_scram_parse(c->stored, &sc);
		if (ok != c->ok)
			fail_msg("case %zu (%s): got %d", i, c->stored, ok);
		if (!ok)
			continue;
		assert_int_equal(sc.iterations, c->iterations);
		assert_string_equal(sc.stored_key_b64, GSASL_STORED);
		assert_string_equal(sc.server_key_b64, GSASL_SERVER);
		assert_true(strlen(sc.salt_b64) > 0);
	}
	struct password_scram sc;
	assert_true(password_scram_parse("{SCRAM-SHA-256}4096," GSASL_SALT SCRAM_KEYS, &sc));
	assert_string_equal(sc.salt_b64, GSASL_SALT);
}

/* New secrets parse and carry PASSWORD_SCRAM_ITERATIONS and 16 salt bytes. */
static void test_scram_new(void **state)
{
	(void)state;
	const char *err = NULL;
	char *stored = password_hash("SCRAM-SHA-256", "pencil", &err);
	assert_non_null(stored);
	struct password_scram sc;
	assert_true(password_scram_parse(stored, &sc));
	assert_int_equal(sc.iterations, PASSWORD_SCRAM_ITERATIONS);
	assert_int_equal(strlen(sc.salt_b64), 24); /* 16 bytes */
	assert_int_equal(strlen(sc.stored_key_b64), 44);
	assert_int_equal(strlen(sc.server_key_b64), 44);
	free(stored);
}

static void b64_32(const char *b64, unsigned char out[32])
{
	unsigned char tmp[48];
	assert_int_equal(EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)strlen(b64)), 33);
	memcpy(out, tmp, 32);
}

/*
 * RFC 7677 section 3: user "user", password "pencil". With the keys of the
 * secret stored for that salt, the exchange's ServerSignature and
 * ClientProof must come out as printed in the RFC.
 */
static void test_scram_rfc7677(void **state)
{
	(void)state;
	const char *stored = "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
			     "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
			     "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
	assert_int_equal(password_verify(stored, "pencil"), PASSWORD_OK);
	struct password_scram sc;
	assert_true(password_scram_parse(stored, &sc));
	const char *auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
				   "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				   "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
				   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	unsigned char server_key[32], stored_key[32], want[32], sig[EVP_MAX_MD_SIZE];
	unsigned sig_len = 0;
	b64_32(sc.server_key_b64, server_key);
	b64_32(sc.stored_key_b64, stored_key);
	HMAC(EVP_sha256(), server_key, 32, (const unsigned char *)auth_message,
	     strlen(auth_message), sig, &sig_len);
	b64_32("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", want);
	assert_memory_equal(sig, want, 32);
	/* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage);
	 * StoredKey = H(ClientKey) (RFC 5802 section 3). */
	unsigned char proof[32], client_key[32], h[EVP_MAX_MD_SIZE];
	unsigned h_len = 0;
	b64_32("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", proof);
	HMAC(EVP_sha256(), stored_key, 32, (const unsigned char *)auth_message,
	     strlen(auth_message), sig, &sig_len);
	for (int i = 0; i < 32; i++)
		client_key[i] = proof[i] ^ sig[i];
	EVP_Digest(client_key, 32, h, &h_len, EVP_sha256(), NULL);
	assert_memory_equal(h, stored_key, 32);
}

/* ---- threads ---------------------------------------------------------------- */

/* Verification on a small thread stack: crypt's work area must be on the heap. */
static void *verify_thread(void *arg)
{
	const char *stored = arg;
	return (void *)(intptr_t)password_verify(stored, "pencil");
}

static void test_small_stack_threads(void **state)
{
	(void)state;
	static const char *const stored[] = {
		"{CRYPT}$y$j9T$S/sORSM1Jx.cDQVBKaxh5/$PPoBD74p9YEhcdDqg5X.gaOVV5RoWpYGJD01pZA.Co6",
		"{BLF-CRYPT}$2y$05$tSUiFsxncrbv01bELp/Qo.UZsZsgwlLyBd.qz7F98LETr72zHewdW",
		"{SHA512-CRYPT}$6$saltsalt$rD9fW1BwIrjB90WCgCTdIQc3phTBhf04I6Iw/"
		"XlgKD9E9aEbzqGZipjiFxGo/4wWXDA6jV6/vZO.kKdDSfUJb0",
		"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,FO+9jBb3MUukt6jJnzjPZOWc5ow/"
		"Pu6JtPyju0aqaE8=,qxJ1SbmSAi5EcS0J5Ck/cKAm/+Ixa+Kwp63f4OHDgzo=",
	};
	enum { N = sizeof(stored) / sizeof(stored[0]) };
	pthread_t tid[N];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Far less than the 32 KiB struct crypt_data plus working room;
	 * sanitizer builds need more stack for their own bookkeeping. */
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (int i = 0; i < N; i++)
		assert_int_equal(
			pthread_create(&tid[i], &attr, verify_thread, (void *)stored[i]), 0);
	for (int i = 0; i < N; i++) {
		void *res;
		pthread_join(tid[i], &res);
		assert_int_equal((intptr_t)res, PASSWORD_OK);
	}
	pthread_attr_destroy(&attr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_salted),
		cmocka_unit_test(test_plain_all_bytes),
		cmocka_unit_test(test_hash_errors),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bad_stored),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_plaintext),
		cmocka_unit_test(test_scram_parse),
		cmocka_unit_test(test_scram_new),
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_small_stack_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
