/*
 * tls.c - OpenSSL server context; see tls.h.
 */
#include "net/tls.h"

#include "lib/mem.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

struct tls_server {
	SSL_CTX *ctx;
};

static char *tls_error(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "unknown error";
	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	return xasprintf("%s %s: %s", what, path, detail);
}

struct tls_server *tls_server_new(const struct config *cfg, char **err_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*err_r = tls_error("cannot create TLS context", "");
		return NULL;
	}
	int min = cfg->tls_min_version == TLS_MIN_V1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
	SSL_CTX_set_min_proto_version(ctx, min);
	/* No renegotiation (CVE-2009-3555 class issues), no compression
	 * (CRIME), and the server's cipher order. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Give idle connections' read/write buffers back to the allocator:
	 * most mail connections sit idle between commands. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"yubin", 5);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		*err_r = tls_error("cannot load certificate", cfg->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		*err_r = tls_error("cannot load key", cfg->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*err_r = tls_error("key does not match certificate", cfg->tls_cert);
		goto fail;
	}
	struct tls_server *tls = xmalloc(sizeof(*tls));
	tls->ctx = ctx;
	return tls;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_server_free(struct tls_server **tls)
{
	if (*tls == NULL)
		return;
	SSL_CTX_free((*tls)->ctx);
	xfree(*tls);
}

SSL *tls_server_ssl_new(struct tls_server *tls)
{
	SSL *ssl = SSL_new(tls->ctx);
	if (ssl == NULL)
		abort(); /* only on allocation failure */
	return ssl;
}

static bool tls_b64(const unsigned char *data, size_t len, char out[128])
{
	if (len == 0 || len > 90)
		return false;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return true;
}

bool tls_channel_binding_exporter(SSL *ssl, char out[128])
{
	/* RFC 9266 2: only safe with TLS 1.3 or the extended master secret. */
	if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1)
		return false;
	unsigned char km[32];
	static const char label[] = "EXPORTER-Channel-Binding";
	/* "no context value" (RFC 9266 2): use_context = 0. */
	if (SSL_export_keying_material(ssl, km, sizeof(km), label, sizeof(label) - 1, NULL, 0,
				       0) != 1)
		return false;
	return tls_b64(km, sizeof(km), out);
}

bool tls_channel_binding_unique(SSL *ssl, char out[128])
{
	/* RFC 5929 3.1: the first Finished message of the latest handshake:
	 * the client's for a full handshake, ours for a resumed one. */
	if (SSL_version(ssl) >= TLS1_3_VERSION)
		return false;
	unsigned char fin[64];
	size_t n = SSL_session_reused(ssl) ? SSL_get_finished(ssl, fin, sizeof(fin))
					   : SSL_get_peer_finished(ssl, fin, sizeof(fin));
	return tls_b64(fin, n, out);
}

const char *tls_version_name(SSL *ssl)
{
	return SSL_get_version(ssl);
}

const char *tls_cipher_name(SSL *ssl)
{
	return SSL_get_cipher_name(ssl);
}
