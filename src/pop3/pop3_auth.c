/*
 * pop3_auth.c - the AUTHORIZATION state: greeting, CAPA, STLS, USER/PASS,
 * APOP, AUTH (SASL), UTF8 and LANG.
 *
 * RFC 1939 4 and 7, RFC 2449 (CAPA, response codes), RFC 5034 (SASL),
 * RFC 2595 4 (STLS), RFC 6856 (UTF8, LANG). Credentials are checked on the
 * worker's thread pool (auth.h); a failure is answered only after a delay
 * that doubles with every recent failure from the same address.
 */
#include "pop3/pop3_internal.h"

#include "auth/auth.h"
#include "daemon/server_env.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "net/tls.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- policy ---- */

bool pop3_plaintext_allowed(const struct pop3_session *s)
{
	switch (s->env->cfg->auth_plaintext) {
	case AUTH_PLAINTEXT_ALWAYS:
		return true;
	case AUTH_PLAINTEXT_NEVER:
		return conn_tls_active(s->conn);
	case AUTH_PLAINTEXT_TLS_OR_LOOPBACK:
		return conn_tls_active(s->conn) || conn_peer_is_loopback(s->conn);
	}
	return false;
}

static void pop3_mechanisms(struct pop3_session *s, char *out, size_t size)
{
	auth_service_mechanisms(s->env->auth, conn_tls_active(s->conn), pop3_plaintext_allowed(s),
				out, size);
}

/* ---- greeting and CAPA ---- */

void pop3_send_greeting(struct pop3_session *s)
{
	s->greeted = true;
	s->apop_challenge[0] = '\0';
	if (auth_service_apop_available(s->env->auth)) {
		/* RFC 1939 7: a msg-id style timestamp, unique per greeting. */
		uint32_t rnd = 0;
		RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
		snprintf(s->apop_challenge, sizeof(s->apop_challenge), "<%ld.%u.%lld@%s>",
			 (long)getpid(), rnd, (long long)time(NULL), s->env->cfg->hostname);
		pop3_reply(s, "+OK yubin POP3 server ready %s", s->apop_challenge);
		return;
	}
	pop3_reply(s, "+OK yubin POP3 server ready.");
}

static void pop3_capa_expire(struct pop3_session *s)
{
	uint32_t days = s->env->cfg->pop3_expire_days;
	if (days == CONFIG_EXPIRE_NEVER)
		conn_write_str(s->conn, "EXPIRE NEVER\r\n");
	else
		conn_printf(s->conn, "EXPIRE %u\r\n", days);
}

/*
 * RFC 2449 5. The IANA POP3 capability registry lists every capability we
 * have in both states (USER, SASL and STLS included, although their
 * commands are only valid before login), so the list is the same before
 * and after login.
 */
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	conn_write_str(s->conn, "+OK Capability list follows\r\n"
				"TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (pop3_plaintext_allowed(s))
		conn_write_str(s->conn, "USER\r\n");
	char mechs[512];
	pop3_mechanisms(s, mechs, sizeof(mechs));
	if (mechs[0] != '\0')
		conn_printf(s->conn, "SASL %s\r\n", mechs);
	if (conn_tls_available(s->conn) && !conn_tls_active(s->conn))
		conn_write_str(s->conn, "STLS\r\n");
	conn_write_str(s->conn, "UTF8\r\n");
	pop3_capa_expire(s);
	if (s->env->cfg->pop3_login_delay > 0)
		conn_printf(s->conn, "LOGIN-DELAY %llu\r\n",
			    (unsigned long long)s->env->cfg->pop3_login_delay);
	conn_write_str(s->conn, "LANG\r\nIMPLEMENTATION yubin\r\n.\r\n");
}

/* ---- STLS, UTF8, LANG ---- */

void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!conn_tls_available(s->conn)) {
		pop3_reply(s, "-ERR TLS is not configured on this server.");
		return;
	}
	if (conn_tls_active(s->conn)) {
		pop3_reply(s, "-ERR Command not permitted when TLS active.");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation now.");
	pop3_busy_begin(s); /* resumed by the tls_ready handler */
	conn_start_tls(s->conn);
}

void pop3_cmd_utf8(struct pop3_session *s, const struct pop3_command *cmd)
{
	/* RFC 6856 2: stored messages are sent as they are either way; this
	 * only tells us the client accepts UTF-8 in them and in user names. */
	s->utf8 = true;
	pop3_reply(s, "+OK UTF8 enabled.");
}

void pop3_cmd_lang(struct pop3_session *s, const struct pop3_command *cmd)
{
	/* RFC 6856 3: we speak English only; "*" and "en" select it. */
	if (cmd->argc == 0) {
		conn_write_str(s->conn, "+OK Language listing follows\r\nen English\r\n.\r\n");
		return;
	}
	const struct pop3_span *a = &cmd->argv[0];
	bool en = (a->len == 1 && a->ptr[0] == '*') ||
		  (a->len >= 2 && strncasecmp(a->ptr, "en", 2) == 0 &&
		   (a->len == 2 || a->ptr[2] == '-'));
	if (!en || cmd->argc > 1) {
		pop3_reply(s, "-ERR Unsupported language.");
		return;
	}
	pop3_reply(s, "+OK en Language changed.");
}

/* ---- results of a credential check ---- */

/* An exchange and the mailbox-opening job it may carry. */
static void pop3_exchange_free(struct auth_exchange **ex)
{
	if (*ex == NULL)
		return;
	struct pop3_open_job *job = auth_exchange_then_arg(*ex);
	pop3_open_job_free(&job);
	auth_exchange_free(ex);
}

static void pop3_auth_failed_reply(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;
	event_free(s->delay_ev);
	s->delay_ev = NULL;
	pop3_reply(s, "-ERR [AUTH] Authentication failed.");
	if (++s->auth_failures >= POP3_MAX_AUTH_FAILURES) {
		pop3_close(s);
		return;
	}
	pop3_busy_end(s);
}

/* Answer a failed login after a delay that grows with recent failures
 * from this address: 1s, 2s, 4s ... up to auth.fail_delay_max. */
static void pop3_auth_failed(struct pop3_session *s, const char *user, const char *mech)
{
	const struct config *cfg = s->env->cfg;
	socklen_t len;
	uint64_t delay = addrlimit_login_failed(s->env->limits, conn_peer_addr(s->conn, &len), "pop3",
						user, conn_peer_ip(s->conn), mech,
						cfg->auth_fail_delay, cfg->auth_fail_delay_max);
	pop3_busy_begin(s);
	struct timeval tv = {.tv_sec = (time_t)delay, .tv_usec = 0};
	s->delay_ev = evtimer_new(conn_loop_base(s->env->loop), pop3_auth_failed_reply, s);
	evtimer_add(s->delay_ev, &tv);
}

static void pop3_auth_succeeded(struct pop3_session *s, const char *user, const char *mech)
{
	socklen_t len;
	addrlimit_fail_clear(s->env->limits, conn_peer_addr(s->conn, &len));
	pop3_login(s, user, mech);
}

static void pop3_auth_done(struct auth_exchange *ex, uint64_t owner, void *arg)
{
	struct conn *c = conn_find(arg, owner);
	if (c == NULL) {
		pop3_exchange_free(&ex); /* the client went away meanwhile */
		return;
	}
	struct pop3_session *s = conn_context(c);
	switch (auth_exchange_status(ex)) {
	case AUTH_CONTINUE:
		s->sasl = ex;
		pop3_reply(s, "+ %s", auth_exchange_output(ex));
		pop3_busy_end(s);
		return;
	case AUTH_SUCCESS:
		if (auth_exchange_output(ex)[0] != '\0') {
			/* RFC 5034 4: no room for data in +OK: send it as a
			 * challenge, the client answers with an empty line. */
			s->sasl = ex;
			s->sasl_final_wait = true;
			pop3_reply(s, "+ %s", auth_exchange_output(ex));
			pop3_busy_end(s);
			return;
		}
		if (auth_exchange_then_ran(ex)) {
			/* the mailbox was opened in the same pool job */
			socklen_t len;
			addrlimit_fail_clear(s->env->limits, conn_peer_addr(s->conn, &len));
			struct pop3_open_job *job = auth_exchange_then_arg(ex);
			auth_exchange_then(ex, NULL, NULL);
			s->state = POP3_STATE_LOGGING_IN;
			pop3_open_finish(s, &job);
			break;
		}
		pop3_auth_succeeded(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
		break;
	case AUTH_FAILED:
		pop3_auth_failed(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
		break;
	case AUTH_TEMPFAIL:
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later.");
		pop3_busy_end(s);
		break;
	}
	pop3_exchange_free(&ex);
}

static void pop3_auth_run(struct pop3_session *s, struct auth_exchange *ex, const char *input,
			  size_t len)
{
	/* On success the same pool job goes on to open the mailbox. */
	if (auth_exchange_then_arg(ex) == NULL)
		auth_exchange_then(ex, pop3_open_job_run,
				   pop3_open_job_new(s, auth_exchange_mechanism(ex)));
	pop3_busy_begin(s);
	auth_exchange_step(ex, input, len, conn_id(s->conn), pop3_auth_done, s->env->loop);
}

/* ---- USER / PASS / APOP ---- */

static bool pop3_require_plaintext(struct pop3_session *s)
{
	if (pop3_plaintext_allowed(s))
		return true;
	pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
		      "connections, use STLS first.");
	return false;
}

void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->argc != 1 || cmd->argv[0].len == 0) {
		pop3_bad_command(s, "USER needs exactly one argument.");
		return;
	}
	if (!pop3_require_plaintext(s))
		return;
	free(s->pending_user);
	s->pending_user = xstrndup(cmd->argv[0].ptr, cmd->argv[0].len);
	pop3_reply(s, "+OK");
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (s->pending_user == NULL) {
		pop3_bad_command(s, "No username given, use USER first.");
		return;
	}
	if (!pop3_require_plaintext(s))
		return;
	char *user = s->pending_user;
	s->pending_user = NULL;
	struct auth_exchange *ex =
		auth_plain_start(s->env->auth, user, cmd->rest.ptr, cmd->rest.len);
	free(user);
	pop3_auth_run(s, ex, NULL, 0);
}

void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (s->apop_challenge[0] == '\0') {
		pop3_reply(s, "-ERR APOP is not available on this server.");
		return;
	}
	if (cmd->argc != 2 || cmd->argv[0].len == 0 || cmd->argv[1].len != 32) {
		pop3_bad_command(s, "APOP needs a name and a 32-digit digest.");
		return;
	}
	char *user = xstrndup(cmd->argv[0].ptr, cmd->argv[0].len);
	char *digest = xstrndup(cmd->argv[1].ptr, cmd->argv[1].len);
	struct auth_exchange *ex = auth_apop_start(s->env->auth, user, s->apop_challenge, digest);
	free(user);
	free(digest);
	pop3_auth_run(s, ex, NULL, 0);
}

/* ---- AUTH (RFC 5034) ---- */

static void pop3_auth_list(struct pop3_session *s)
{
	/* AUTH without an argument: the RFC 1734 era mechanism listing
	 * that many clients still send. */
	char mechs[512];
	pop3_mechanisms(s, mechs, sizeof(mechs));
	conn_write_str(s->conn, "+OK\r\n");
	for (char *save = NULL, *m = strtok_r(mechs, " ", &save); m != NULL;
	     m = strtok_r(NULL, " ", &save))
		conn_printf(s->conn, "%s\r\n", m);
	conn_write_str(s->conn, ".\r\n");
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->argc == 0) {
		pop3_auth_list(s);
		return;
	}
	char mech[64];
	if (cmd->argv[0].len >= sizeof(mech)) {
		pop3_reply(s, "-ERR [AUTH] Unsupported authentication mechanism.");
		return;
	}
	memcpy(mech, cmd->argv[0].ptr, cmd->argv[0].len);
	mech[cmd->argv[0].len] = '\0';
	bool tls = conn_tls_active(s->conn);
	if (!auth_service_mechanism_ok(s->env->auth, mech, tls, true)) {
		pop3_reply(s, "-ERR [AUTH] Unsupported authentication mechanism.");
		return;
	}
	if (!auth_service_mechanism_ok(s->env->auth, mech, tls, pop3_plaintext_allowed(s))) {
		pop3_require_plaintext(s);
		return;
	}
	char exporter[128], unique[128];
	struct auth_exchange_params params = {.service = "pop"};
	if (tls && tls_channel_binding_exporter(conn_ssl(s->conn), exporter))
		params.cb_exporter_b64 = exporter;
	if (tls && tls_channel_binding_unique(conn_ssl(s->conn), unique))
		params.cb_unique_b64 = unique;
	struct auth_exchange *ex = auth_sasl_start(s->env->auth, mech, &params);
	if (ex == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot start authentication.");
		return;
	}
	/* RFC 5034 4: an initial response; "=" means an empty one. */
	const char *ir = NULL;
	size_t ir_len = 0;
	if (cmd->argc == 2 && !(cmd->argv[1].len == 1 && cmd->argv[1].ptr[0] == '=')) {
		ir = cmd->argv[1].ptr;
		ir_len = cmd->argv[1].len;
	}
	pop3_auth_run(s, ex, ir, ir_len);
}

void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len)
{
	struct auth_exchange *ex = s->sasl;
	s->sasl = NULL;
	if (len == 1 && line[0] == '*') {
		/* RFC 5034 4: the client cancels. */
		s->sasl_final_wait = false;
		pop3_exchange_free(&ex);
		pop3_reply(s, "-ERR [AUTH] Authentication cancelled.");
		return;
	}
	if (s->sasl_final_wait) {
		s->sasl_final_wait = false;
		if (len != 0) {
			pop3_auth_failed(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
		} else {
			pop3_auth_succeeded(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
		}
		pop3_exchange_free(&ex);
		return;
	}
	pop3_auth_run(s, ex, line, len);
}

void pop3_auth_session_free(struct pop3_session *s)
{
	if (s->delay_ev != NULL) {
		event_free(s->delay_ev);
		s->delay_ev = NULL;
	}
	pop3_exchange_free(&s->sasl);
	xfree(s->pending_user);
}
