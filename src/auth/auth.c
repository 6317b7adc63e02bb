/*
 * auth.c - authentication exchanges on the thread pool; see auth.h.
 *
 * GNU SASL runs the mechanisms; this file answers its questions (the
 * callback) from the user directory: "is this password right" for PLAIN
 * and LOGIN, "what are the salt, iteration count and keys" for SCRAM.
 * The callback runs on a pool thread inside gsasl_step64(), so it only
 * touches the exchange it belongs to and the thread-safe userdb.
 *
 * Unknown users get the same treatment as wrong passwords, in time too:
 * a password is verified against a dummy secret, and SCRAM gets a salt
 * derived from the name, so that answers do not reveal who exists.
 */
#include "auth/auth.h"

#include "auth/authcache.h"
#include "auth/password.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"
#include "net/workpool.h"

#include <ctype.h>
#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Verified logins remembered per worker (auth.cache_ttl). */
#define AUTH_CACHE_ENTRIES 8192

struct auth_service {
	const struct config *cfg;
	struct workpool *pool;
	Gsasl *gsasl;
	struct userdb *userdb;
	struct authcache *cache;
	char *dummy_stored;            /* verified for unknown users */
	unsigned char fake_key[32];    /* fake SCRAM salts for unknown users */
	char mechs[512];               /* configured and supported, space-separated */
};

enum auth_kind { AUTH_KIND_SASL, AUTH_KIND_PLAIN, AUTH_KIND_APOP };

struct auth_exchange {
	struct auth_service *svc;
	enum auth_kind kind;
	char mech[32];
	Gsasl_session *sctx;
	enum auth_status status;
	char *output;
	char *user;   /* canonical name once known */
	char *stored; /* the user's stored password, looked up once */
	bool looked_up;
	bool tempfail;
	bool started; /* the first SASL step has run */
	char *input;
	char *claimed_user; /* USER/PASS and APOP: the name given */
	char *password;
	size_t password_len;
	char *challenge, *digest;
	uint64_t owner;
	auth_done_fn *done;
	void *done_arg;
	auth_then_fn *then;
	void *then_arg;
	bool then_ran;
};

static bool auth_is_plaintext_mech(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
}

static bool auth_is_plus_mech(const char *mech)
{
	size_t n = strlen(mech);
	return n > 5 && strcasecmp(mech + n - 5, "-PLUS") == 0;
}

/* ---- the user directory, from a pool thread ---- */

/* Look up the exchange's user once; false if unknown or unavailable. */
static bool auth_lookup(struct auth_exchange *ex, const char *name)
{
	if (ex->looked_up)
		return ex->stored != NULL;
	ex->looked_up = true;
	char canon[USERNAME_MAX + 1];
	if (name == NULL || !username_normalize(name, strlen(name), canon))
		return false;
	ex->user = xstrdup(canon);
	enum userdb_result r = userdb_lookup(ex->svc->userdb, canon, &ex->stored);
	if (r == USERDB_TEMPFAIL)
		ex->tempfail = true;
	return r == USERDB_OK;
}

static bool auth_verify_password(struct auth_exchange *ex, const char *name,
				 const char *password)
{
	if (password == NULL)
		return false;
	if (!auth_lookup(ex, name)) {
		/* same cost as a real check */
		(void)password_verify(ex->svc->dummy_stored, password);
		return false;
	}
	size_t len = strlen(password);
	time_t now = time(NULL);
	if (authcache_hit(ex->svc->cache, ex->user, ex->stored, password, len, now))
		return true;
	if (password_verify(ex->stored, password) != PASSWORD_OK)
		return false;
	authcache_add(ex->svc->cache, ex->user, ex->stored, password, len, now);
	return true;
}

/* ---- GNU SASL callback ---- */

/* A salt and iteration count for a user we cannot do SCRAM for: stable
 * per name (so that probing twice gives the same answer) and unguessable. */
static void auth_fake_scram(struct auth_exchange *ex, const char *name)
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	const char *n = name != NULL ? name : "";
	HMAC(EVP_sha256(), ex->svc->fake_key, sizeof(ex->svc->fake_key), (const unsigned char *)n,
	     strlen(n), mac, &maclen);
	char salt[64];
	EVP_EncodeBlock((unsigned char *)salt, mac, 16);
	gsasl_property_set(ex->sctx, GSASL_SCRAM_SALT, salt);
	char iter[16];
	snprintf(iter, sizeof(iter), "%u", PASSWORD_SCRAM_ITERATIONS);
	gsasl_property_set(ex->sctx, GSASL_SCRAM_ITER, iter);
}

static int auth_scram_params(struct auth_exchange *ex)
{
	const char *name = gsasl_property_fast(ex->sctx, GSASL_AUTHID);
	struct password_scram scram;
	if (auth_lookup(ex, name) && password_scram_parse(ex->stored, &scram)) {
		char iter[16];
		snprintf(iter, sizeof(iter), "%u", scram.iterations);
		gsasl_property_set(ex->sctx, GSASL_SCRAM_ITER, iter);
		gsasl_property_set(ex->sctx, GSASL_SCRAM_SALT, scram.salt_b64);
		return GSASL_OK;
	}
	char *plain = ex->stored != NULL ? password_plaintext(ex->stored) : NULL;
	if (plain != NULL) {
		/* GNU SASL derives the keys from the password with its own
		 * random salt and default iteration count. */
		mem_wipe(plain, strlen(plain));
		free(plain);
		return GSASL_NO_CALLBACK;
	}
	auth_fake_scram(ex, name);
	return GSASL_OK;
}

static int auth_scram_key(struct auth_exchange *ex, Gsasl_property prop)
{
	struct password_scram scram;
	if (ex->stored == NULL || !password_scram_parse(ex->stored, &scram))
		return GSASL_NO_CALLBACK;
	gsasl_property_set(ex->sctx, prop,
			   prop == GSASL_SCRAM_SERVERKEY ? scram.server_key_b64
							 : scram.stored_key_b64);
	return GSASL_OK;
}

static int auth_plain_password(struct auth_exchange *ex)
{
	if (!auth_lookup(ex, gsasl_property_fast(ex->sctx, GSASL_AUTHID)))
		return GSASL_NO_CALLBACK;
	char *plain = password_plaintext(ex->stored);
	if (plain == NULL)
		return GSASL_NO_CALLBACK;
	gsasl_property_set(ex->sctx, GSASL_PASSWORD, plain);
	mem_wipe(plain, strlen(plain));
	free(plain);
	return GSASL_OK;
}

static int auth_gsasl_callback(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop)
{
	struct auth_exchange *ex = gsasl_session_hook_get(sctx);
	if (ex == NULL)
		return GSASL_NO_CALLBACK;
	switch (prop) {
	case GSASL_VALIDATE_SIMPLE:
		return auth_verify_password(ex, gsasl_property_fast(sctx, GSASL_AUTHID),
					    gsasl_property_fast(sctx, GSASL_PASSWORD))
			       ? GSASL_OK
			       : GSASL_AUTHENTICATION_ERROR;
	case GSASL_SCRAM_ITER:
	case GSASL_SCRAM_SALT:
		return auth_scram_params(ex);
	case GSASL_SCRAM_SERVERKEY:
	case GSASL_SCRAM_STOREDKEY:
		return auth_scram_key(ex, prop);
	case GSASL_PASSWORD:
		return auth_plain_password(ex);
	default:
		return GSASL_NO_CALLBACK;
	}
}

/* ---- service ---- */

static void auth_service_init_mechs(struct auth_service *svc)
{
	char *list = xstrdup(svc->cfg->auth_mechanisms);
	size_t off = 0;
	for (char *save = NULL, *m = strtok_r(list, " ,", &save); m != NULL;
	     m = strtok_r(NULL, " ,", &save)) {
		for (char *p = m; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		/* RFC 6331 made DIGEST-MD5 historic, and GNU SASL 2.2's server
		 * side reads out of bounds on a malformed first response
		 * (found by tests/fuzz/fuzz_sasl): never offered */
		if (strcmp(m, "DIGEST-MD5") == 0) {
			log_warn("event=config_warning key=auth.mechanisms mechanism=%s "
				 "reason=\"obsolete (RFC 6331) and unsafe in GNU SASL: not offered\"",
				 m);
			continue;
		}
		if (!gsasl_server_support_p(svc->gsasl, m)) {
			log_warn("event=config_warning key=auth.mechanisms mechanism=%s "
				 "reason=\"not supported by GNU SASL\"",
				 m);
			continue;
		}
		int n = snprintf(svc->mechs + off, sizeof(svc->mechs) - off, "%s%s",
				 off ? " " : "", m);
		if (n > 0 && (size_t)n < sizeof(svc->mechs) - off)
			off += (size_t)n;
	}
	free(list);
}

struct auth_service *auth_service_new(const struct config *cfg, struct workpool *pool)
{
	struct auth_service *svc = xmalloc(sizeof(*svc));
	svc->cfg = cfg;
	svc->pool = pool;
	if (gsasl_init(&svc->gsasl) != GSASL_OK) {
		log_error("event=fatal what=gsasl_init");
		abort();
	}
	gsasl_callback_set(svc->gsasl, auth_gsasl_callback);
	char *path = xasprintf("%s/users", cfg->data_dir);
	svc->userdb = userdb_new(path);
	free(path);
	svc->cache = authcache_new((unsigned)cfg->auth_cache_ttl, AUTH_CACHE_ENTRIES);
	RAND_bytes(svc->fake_key, sizeof(svc->fake_key));
	const char *err = NULL;
	svc->dummy_stored = password_hash(cfg->auth_default_scheme, "not a password", &err);
	if (svc->dummy_stored == NULL)
		svc->dummy_stored = password_hash("SHA512-CRYPT", "not a password", &err);
	auth_service_init_mechs(svc);
	return svc;
}

void auth_service_free(struct auth_service **svcp)
{
	struct auth_service *svc = *svcp;
	if (svc == NULL)
		return;
	userdb_free(&svc->userdb);
	authcache_free(&svc->cache);
	gsasl_done(svc->gsasl);
	free(svc->dummy_stored);
	xfree(*svcp);
}

bool auth_service_mechanism_ok(struct auth_service *svc, const char *mech,
			       bool channel_binding, bool plaintext_ok)
{
	if (auth_is_plus_mech(mech) && !channel_binding)
		return false;
	if (auth_is_plaintext_mech(mech) && !plaintext_ok)
		return false;
	size_t n = strlen(mech);
	for (const char *p = svc->mechs; *p != '\0';) {
		size_t len = strcspn(p, " ");
		if (len == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

void auth_service_mechanisms(struct auth_service *svc, bool channel_binding,
			     bool plaintext_ok, char *out, size_t out_size)
{
	size_t off = 0;
	out[0] = '\0';
	char *list = xstrdup(svc->mechs);
	for (char *save = NULL, *m = strtok_r(list, " ", &save); m != NULL;
	     m = strtok_r(NULL, " ", &save)) {
		if (!auth_service_mechanism_ok(svc, m, channel_binding, plaintext_ok))
			continue;
		int n = snprintf(out + off, out_size - off, "%s%s", off ? " " : "", m);
		if (n > 0 && (size_t)n < out_size - off)
			off += (size_t)n;
	}
	free(list);
}

bool auth_service_apop_available(struct auth_service *svc)
{
	return svc->cfg->pop3_apop == POP3_APOP_AUTO && userdb_any_plaintext(svc->userdb);
}

enum auth_user_result auth_service_resolve(struct auth_service *svc, const char *local,
					   const char *domain, char *canon_r)
{
	switch (userdb_resolve(svc->userdb, local, domain, svc->cfg->lmtp_recipient_delimiter,
			       canon_r)) {
	case USERDB_OK:
		return AUTH_USER_FOUND;
	case USERDB_TEMPFAIL:
		return AUTH_USER_TEMPFAIL;
	default:
		return AUTH_USER_UNKNOWN;
	}
}

/* ---- exchanges ---- */

static struct auth_exchange *auth_exchange_new(struct auth_service *svc, enum auth_kind kind,
					       const char *mech)
{
	struct auth_exchange *ex = xmalloc(sizeof(*ex));
	ex->svc = svc;
	ex->kind = kind;
	snprintf(ex->mech, sizeof(ex->mech), "%s", mech);
	ex->status = AUTH_CONTINUE;
	return ex;
}

struct auth_exchange *auth_sasl_start(struct auth_service *svc, const char *mech,
				      const struct auth_exchange_params *params)
{
	/* mechanism names are case-insensitive (RFC 4422 3.1), GNU SASL's are not */
	char upper[32];
	size_t n = strlen(mech);
	if (n >= sizeof(upper))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		upper[i] = (char)toupper((unsigned char)mech[i]);
	Gsasl_session *sctx = NULL;
	if (gsasl_server_start(svc->gsasl, upper, &sctx) != GSASL_OK)
		return NULL;
	struct auth_exchange *ex = auth_exchange_new(svc, AUTH_KIND_SASL, upper);
	ex->sctx = sctx;
	gsasl_session_hook_set(sctx, ex);
	gsasl_property_set(sctx, GSASL_SERVICE, params->service);
	if (params->cb_exporter_b64 != NULL)
		gsasl_property_set(sctx, GSASL_CB_TLS_EXPORTER, params->cb_exporter_b64);
	if (params->cb_unique_b64 != NULL)
		gsasl_property_set(sctx, GSASL_CB_TLS_UNIQUE, params->cb_unique_b64);
	return ex;
}

struct auth_exchange *auth_plain_start(struct auth_service *svc, const char *user,
				       const char *password, size_t password_len)
{
	struct auth_exchange *ex = auth_exchange_new(svc, AUTH_KIND_PLAIN, "USER");
	ex->claimed_user = xstrdup(user);
	ex->password = xstrndup(password, password_len);
	ex->password_len = password_len;
	return ex;
}

struct auth_exchange *auth_apop_start(struct auth_service *svc, const char *user,
				      const char *challenge, const char *digest)
{
	struct auth_exchange *ex = auth_exchange_new(svc, AUTH_KIND_APOP, "APOP");
	ex->claimed_user = xstrdup(user);
	ex->challenge = xstrdup(challenge);
	ex->digest = xstrdup(digest);
	return ex;
}

/* RFC 1939 7: APOP digest = MD5(timestamp || secret), lower-case hex. */
static bool auth_apop_check(struct auth_exchange *ex)
{
	if (!auth_lookup(ex, ex->claimed_user))
		return false;
	char *plain = password_plaintext(ex->stored);
	if (plain == NULL)
		return false;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md_ctx, EVP_md5(), NULL);
	EVP_DigestUpdate(md_ctx, ex->challenge, strlen(ex->challenge));
	EVP_DigestUpdate(md_ctx, plain, strlen(plain));
	EVP_DigestFinal_ex(md_ctx, md, &mdlen);
	EVP_MD_CTX_free(md_ctx);
	mem_wipe(plain, strlen(plain));
	free(plain);
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	char given[2 * EVP_MAX_MD_SIZE + 1] = "";
	size_t n = strlen(ex->digest);
	if (n != 2 * mdlen)
		return false;
	for (size_t i = 0; i < n; i++)
		given[i] = (char)tolower((unsigned char)ex->digest[i]);
	return CRYPTO_memcmp(hex, given, n) == 0;
}

/* After GNU SASL says OK: the authorization identity, if any, must be the
 * user itself (no acting on behalf of others). */
static bool auth_sasl_identity_ok(struct auth_exchange *ex)
{
	const char *authid = gsasl_property_fast(ex->sctx, GSASL_AUTHID);
	const char *authzid = gsasl_property_fast(ex->sctx, GSASL_AUTHZID);
	if (!auth_lookup(ex, authid))
		return false;
	if (authzid == NULL || authzid[0] == '\0')
		return true;
	char canon[USERNAME_MAX + 1];
	return username_normalize(authzid, strlen(authzid), canon) && strcmp(canon, ex->user) == 0;
}

static void auth_sasl_step(struct auth_exchange *ex)
{
	char *out = NULL;
	if (!ex->started && strcmp(ex->mech, "LOGIN") == 0 && ex->input != NULL &&
	    ex->input[0] != '\0') {
		/* LOGIN has no initial response in GNU SASL: answer its
		 * "User Name" prompt with the one the client sent early. */
		if (gsasl_step64(ex->sctx, "", &out) != GSASL_NEEDS_MORE) {
			free(out);
			ex->status = AUTH_FAILED;
			return;
		}
		free(out);
		out = NULL;
	}
	ex->started = true;
	int rc = gsasl_step64(ex->sctx, ex->input != NULL ? ex->input : "", &out);
	free(ex->output);
	ex->output = out != NULL ? out : xstrdup("");
	if (rc == GSASL_NEEDS_MORE)
		ex->status = AUTH_CONTINUE;
	else if (rc == GSASL_OK && auth_sasl_identity_ok(ex))
		ex->status = AUTH_SUCCESS;
	else
		ex->status = AUTH_FAILED;
}

static void auth_step_work(void *arg)
{
	struct auth_exchange *ex = arg;
	switch (ex->kind) {
	case AUTH_KIND_SASL:
		auth_sasl_step(ex);
		break;
	case AUTH_KIND_PLAIN:
		ex->status = auth_verify_password(ex, ex->claimed_user, ex->password) ? AUTH_SUCCESS
										   : AUTH_FAILED;
		break;
	case AUTH_KIND_APOP:
		ex->status = auth_apop_check(ex) ? AUTH_SUCCESS : AUTH_FAILED;
		break;
	}
	if (ex->status == AUTH_FAILED && ex->tempfail)
		ex->status = AUTH_TEMPFAIL;
	ex->then_ran = false;
	if (ex->status == AUTH_SUCCESS && ex->then != NULL &&
	    (ex->output == NULL || ex->output[0] == '\0')) {
		ex->then(ex->then_arg, ex->user);
		ex->then_ran = true;
	}
	if (ex->input != NULL) {
		mem_wipe(ex->input, strlen(ex->input));
		xfree(ex->input);
	}
	if (ex->password != NULL) {
		mem_wipe(ex->password, ex->password_len);
		xfree(ex->password);
	}
}

static void auth_step_done(void *arg)
{
	struct auth_exchange *ex = arg;
	ex->done(ex, ex->owner, ex->done_arg);
}

void auth_exchange_step(struct auth_exchange *ex, const char *input, size_t input_len,
			uint64_t owner, auth_done_fn *done, void *arg)
{
	ex->input = input != NULL ? xstrndup(input, input_len) : NULL;
	ex->owner = owner;
	ex->done = done;
	ex->done_arg = arg;
	workpool_submit(ex->svc->pool, auth_step_work, auth_step_done, ex);
}

void auth_exchange_then(struct auth_exchange *ex, auth_then_fn *fn, void *arg)
{
	ex->then = fn;
	ex->then_arg = arg;
}

bool auth_exchange_then_ran(const struct auth_exchange *ex)
{
	return ex->then_ran;
}

void *auth_exchange_then_arg(const struct auth_exchange *ex)
{
	return ex->then_arg;
}

enum auth_status auth_exchange_status(const struct auth_exchange *ex)
{
	return ex->status;
}

const char *auth_exchange_output(const struct auth_exchange *ex)
{
	return ex->output != NULL ? ex->output : "";
}

const char *auth_exchange_user(const struct auth_exchange *ex)
{
	return ex->user;
}

const char *auth_exchange_mechanism(const struct auth_exchange *ex)
{
	return ex->mech;
}

void auth_exchange_free(struct auth_exchange **exp)
{
	struct auth_exchange *ex = *exp;
	if (ex == NULL)
		return;
	if (ex->sctx != NULL)
		gsasl_finish(ex->sctx);
	if (ex->stored != NULL) {
		mem_wipe(ex->stored, strlen(ex->stored));
		free(ex->stored);
	}
	if (ex->password != NULL) {
		mem_wipe(ex->password, ex->password_len);
		free(ex->password);
	}
	free(ex->output);
	free(ex->user);
	free(ex->input);
	free(ex->claimed_user);
	free(ex->challenge);
	free(ex->digest);
	xfree(*exp);
}
