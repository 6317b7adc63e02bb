/*
 * tls.h - the server's TLS context (OpenSSL), shared by all listeners.
 *
 * TLS 1.2 or newer only (RFC 8996, RFC 8314 4.1), OpenSSL's default cipher
 * list and groups, no renegotiation, no compression, session tickets on.
 * The certificate chain and key are read once at start-up (before dropping
 * privileges, so the key may be readable by root only).
 */
#ifndef YUBIN_NET_TLS_H
#define YUBIN_NET_TLS_H

#include "daemon/config.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_server;

/* NULL with *err_r (heap) if the files cannot be loaded or do not match. */
struct tls_server *tls_server_new(const struct config *cfg, char **err_r);
void tls_server_free(struct tls_server **tls);

/* A new server-side SSL object for one connection. */
SSL *tls_server_ssl_new(struct tls_server *tls);

/*
 * Channel binding data for SCRAM-*-PLUS, base64 encoded into out (room for
 * 128 bytes). tls-exporter (RFC 9266) needs TLS 1.3 or the extended
 * master secret; tls-unique (RFC 5929) exists only before TLS 1.3.
 * False if the type is not available on this connection.
 */
bool tls_channel_binding_exporter(SSL *ssl, char out[128]);
bool tls_channel_binding_unique(SSL *ssl, char out[128]);

/* "TLSv1.3" etc. and the cipher name, for logs. */
const char *tls_version_name(SSL *ssl);
const char *tls_cipher_name(SSL *ssl);

#endif
