/*
 * fuzz_sasl.c - libFuzzer harness for what a client sends to log in:
 * SASL exchanges (PLAIN, LOGIN, SCRAM-SHA-1/-256, CRAM-MD5... as GNU SASL
 * runs them with our callbacks answering from the user directory), POP3
 * USER/PASS and APOP, all through src/auth/auth.c on its thread pool.
 *
 * Input: the first byte picks the mechanism and whether the harness
 * base64-encodes each client step (so that the mechanisms' own parsers
 * see the bytes) or passes it raw (so that bad base64 is tried too); the
 * rest, split at '\n', is up to 8 client steps. Checks: a login succeeds
 * only as a user of the directory, challenges are base64 text, and the
 * exchange ends (success, failure) or asks for more; nothing leaks (LSan).
 */
#include "auth/auth.h"
#include "auth/password.h"
#include "daemon/config.h"
#include "net/workpool.h"

#include "fuzz_check.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 8

static const char *const mechs[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1",
				    "CRAM-MD5", "DIGEST-MD5", "USERPASS", "APOP"};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static struct config cfg;
static struct event_base *base;
static struct workpool *pool;
static struct auth_service *svc;

static void add_user(FILE *f, const char *name, const char *scheme, const char *password)
{
	const char *err = NULL;
	char *stored = password_hash(scheme, password, &err);
	CHECK(stored != NULL);
	fprintf(f, "%s:%s::::::\n", name, stored);
	free(stored);
}

static void init(void)
{
	static char dir[] = "/tmp/yubin-fuzz-sasl-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[sizeof(dir) + 16];
	snprintf(path, sizeof(path), "%s/users", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	add_user(f, "alice", "PLAIN", "secret");
	add_user(f, "bob", "SCRAM-SHA-256", "secret");
	add_user(f, "carol@example.org", "SHA256-CRYPT", "secret");
	fclose(f);
	cfg.data_dir = dir;
	cfg.auth_mechanisms = "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5";
	cfg.auth_default_scheme = "PLAIN"; /* the unknown-user dummy: cheap */
	cfg.auth_cache_ttl = 60;
	cfg.pop3_apop = POP3_APOP_AUTO;
	base = event_base_new();
	pool = workpool_new(base, 1);
	svc = auth_service_new(&cfg, pool);
}

static void done(struct auth_exchange *ex, uint64_t owner, void *arg)
{
	(void)ex;
	(void)owner;
	*(bool *)arg = true;
}

/* One step on the pool, waited for. */
static enum auth_status step(struct auth_exchange *ex, const char *in, size_t len)
{
	bool finished = false;
	auth_exchange_step(ex, in, len, 1, done, &finished);
	while (!finished)
		event_base_loop(base, EVLOOP_ONCE);
	enum auth_status st = auth_exchange_status(ex);
	if (st == AUTH_SUCCESS) {
		const char *user = auth_exchange_user(ex);
		CHECK(user != NULL && (strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0 ||
				       strcmp(user, "carol@example.org") == 0));
	}
	for (const char *p = auth_exchange_output(ex); *p != '\0'; p++)
		CHECK((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '+' || *p == '/' || *p == '=');
	return st;
}

/* Split at '\n' into at most n pieces (the last takes the rest). */
static size_t split(const char *in, size_t len, const char **v, size_t *lens, size_t n)
{
	size_t k = 0;
	while (k + 1 < n) {
		const char *nl = memchr(in, '\n', len);
		if (nl == NULL)
			break;
		v[k] = in;
		lens[k++] = (size_t)(nl - in);
		len -= (size_t)(nl - in) + 1;
		in = nl + 1;
	}
	v[k] = in;
	lens[k++] = len;
	return k;
}

static void sasl(const char *mech, bool encode, const char *in, size_t len)
{
	/* only what a session would start: the configured mechanisms the
	 * service accepts (DIGEST-MD5 is configured here, and refused) */
	if (!auth_service_mechanism_ok(svc, mech, true, true))
		return;
	struct auth_exchange_params params = {"imap", len % 3 == 0 ? "AAECAwQFBgc=" : NULL, NULL};
	struct auth_exchange *ex = auth_sasl_start(svc, mech, &params);
	if (ex == NULL)
		return; /* not supported by this GNU SASL */
	const char *v[MAX_STEPS];
	size_t lens[MAX_STEPS];
	size_t n = split(in, len, v, lens, MAX_STEPS);
	for (size_t i = 0; i < n; i++) {
		char *arg;
		size_t alen;
		if (encode) {
			arg = malloc(4 * (lens[i] / 3 + 1) + 1);
			alen = (size_t)EVP_EncodeBlock((unsigned char *)arg, (const unsigned char *)v[i],
						       (int)lens[i]);
		} else {
			arg = strndup(v[i], lens[i]);
			alen = strlen(arg);
		}
		enum auth_status st = step(ex, arg, alen);
		free(arg);
		if (st != AUTH_CONTINUE)
			break;
	}
	auth_exchange_free(&ex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (svc == NULL)
		init();
	if (size < 1 || size > 4096)
		return 0;
	const char *mech = mechs[data[0] % NMECHS];
	bool encode = (data[0] & 0x80) == 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (strcmp(mech, "USERPASS") == 0 || strcmp(mech, "APOP") == 0) {
		const char *v[3];
		size_t lens[3];
		size_t n = split(in, len, v, lens, 3);
		char *user = strndup(v[0], lens[0]);
		char *a = n > 1 ? strndup(v[1], lens[1]) : strdup("");
		char *b = n > 2 ? strndup(v[2], lens[2]) : strdup("");
		struct auth_exchange *ex = strcmp(mech, "APOP") == 0
						   ? auth_apop_start(svc, user, a, b)
						   : auth_plain_start(svc, user, a, strlen(a));
		step(ex, NULL, 0);
		auth_exchange_free(&ex);
		free(user);
		free(a);
		free(b);
		return 0;
	}
	sasl(mech, encode, in, len);
	return 0;
}
