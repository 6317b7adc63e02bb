/*
 * auth.h - authenticating users for the servers, off the event loop.
 *
 * An authentication attempt is a struct auth_exchange: a SASL exchange
 * (GNU SASL does the mechanisms), or a POP3 USER/PASS or APOP check. Each
 * step runs on the worker's thread pool, because verifying a password is
 * slow on purpose; the result comes back on the loop through a callback
 * that receives the exchange and the owner id given at the step.
 *
 * Ownership: while a step runs, the pool owns the exchange; the done
 * callback gets it back and must either keep it (continue the exchange)
 * or free it, also when its owner (a connection) is gone by then.
 */
#ifndef YUBIN_AUTH_AUTH_H
#define YUBIN_AUTH_AUTH_H

#include "daemon/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workpool;
struct auth_service;
struct auth_exchange;

enum auth_status {
	AUTH_CONTINUE, /* send auth_exchange_output() as a challenge, wait for a response */
	AUTH_SUCCESS,  /* auth_exchange_user() is logged in */
	AUTH_FAILED,   /* wrong credentials, unknown user, or a malformed exchange */
	AUTH_TEMPFAIL, /* the user directory could not be read */
};

/* Uses cfg for the users file (<data_dir>/users), mechanisms and APOP
 * policy; cfg must outlive the service. */
struct auth_service *auth_service_new(const struct config *cfg, struct workpool *pool);
void auth_service_free(struct auth_service **svc);

/*
 * The SASL mechanisms to offer (space-separated, into out of out_size):
 * the configured ones that GNU SASL supports, without *-PLUS when there is
 * no channel binding (no TLS), and without PLAIN/LOGIN when plaintext
 * passwords are not allowed on this connection.
 */
void auth_service_mechanisms(struct auth_service *svc, bool channel_binding,
			     bool plaintext_ok, char *out, size_t out_size);

/* True if the mechanism (case-insensitive) would be listed by
 * auth_service_mechanisms() with the same arguments. */
bool auth_service_mechanism_ok(struct auth_service *svc, const char *mech,
			       bool channel_binding, bool plaintext_ok);

/* APOP is offered only if pop3.apop = auto and some user's stored
 * password keeps the plaintext. */
bool auth_service_apop_available(struct auth_service *svc);

enum auth_user_result { AUTH_USER_FOUND, AUTH_USER_UNKNOWN, AUTH_USER_TEMPFAIL };

/* The user a recipient address delivers to (userdb_resolve() with
 * lmtp.recipient_delimiter). */
enum auth_user_result auth_service_resolve(struct auth_service *svc, const char *local,
					   const char *domain, char *canon_r);

struct auth_exchange_params {
	const char *service;         /* "pop3": GSS-API service name, for logs */
	const char *cb_exporter_b64; /* tls-exporter channel binding, or NULL */
	const char *cb_unique_b64;   /* tls-unique channel binding, or NULL */
};

/* NULL if GNU SASL cannot start the mechanism. */
struct auth_exchange *auth_sasl_start(struct auth_service *svc, const char *mech,
				      const struct auth_exchange_params *params);
/* POP3 USER/PASS (RFC 1939 7); the password is copied and later wiped. */
struct auth_exchange *auth_plain_start(struct auth_service *svc, const char *user,
				       const char *password, size_t password_len);
/* POP3 APOP (RFC 1939 7): digest = hex MD5(challenge || password). */
struct auth_exchange *auth_apop_start(struct auth_service *svc, const char *user,
				      const char *challenge, const char *digest);

typedef void auth_done_fn(struct auth_exchange *ex, uint64_t owner, void *arg);

/*
 * Run the next step with the client's base64 response (input NULL or ""
 * for none; USER/PASS and APOP ignore it) on the pool; done(ex, owner,
 * arg) runs on the loop afterwards.
 */
void auth_exchange_step(struct auth_exchange *ex, const char *input, size_t input_len,
			uint64_t owner, auth_done_fn *done, void *arg);

/*
 * Optional: work to run on the pool thread right after a step that
 * succeeds with nothing more to send (USER/PASS, APOP, PLAIN, LOGIN), with
 * the canonical user name, so that a session can go on to open the
 * mailbox without a second trip through the pool. arg stays the caller's.
 */
typedef void auth_then_fn(void *arg, const char *user);
void auth_exchange_then(struct auth_exchange *ex, auth_then_fn *fn, void *arg);
/* Did the then-work run (in the last step)? */
bool auth_exchange_then_ran(const struct auth_exchange *ex);
void *auth_exchange_then_arg(const struct auth_exchange *ex);

enum auth_status auth_exchange_status(const struct auth_exchange *ex);
/* Base64 data for the client: the next challenge (AUTH_CONTINUE) or the
 * mechanism's final data (AUTH_SUCCESS, may be ""). */
const char *auth_exchange_output(const struct auth_exchange *ex);
/* The canonical user name: after AUTH_SUCCESS; also the name tried after
 * AUTH_FAILED if known (for the log), else NULL. */
const char *auth_exchange_user(const struct auth_exchange *ex);
const char *auth_exchange_mechanism(const struct auth_exchange *ex);
void auth_exchange_free(struct auth_exchange **ex);

#endif
