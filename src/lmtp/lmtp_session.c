/*
 * lmtp_session.c - LMTP sessions: greeting, LHLO, MAIL, RCPT, RSET, NOOP,
 * VRFY, QUIT (RFC 2033, RFC 5321 4.1).
 *
 * LMTP is meant for a local MTA (Postfix's lmtp transport, Exim's lmtp
 * transport) on loopback or a unix socket; there is no authentication, so
 * listen.lmtp must not be reachable from outside. Recipients are checked
 * against the user directory at RCPT time, so an unknown user is refused
 * with 550 5.1.1 before any data is sent.
 */
#include "lmtp/lmtp_session.h"
#include "lmtp/lmtp_internal.h"

#include "auth/auth.h"
#include "daemon/server_env.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Unknown or out-of-sequence commands tolerated before we hang up. */
#define LMTP_MAX_BAD_COMMANDS 20

void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conn_vreply(s->conn, fmt, ap);
	va_end(ap);
}

void lmtp_busy_begin(struct lmtp_session *s)
{
	s->busy = true;
	conn_pause_input(s->conn);
}

void lmtp_busy_end(struct lmtp_session *s)
{
	s->busy = false;
	conn_resume_input(s->conn);
}

void lmtp_transaction_reset(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].user);
		free(s->rcpts[i].path);
	}
	xfree(s->rcpts);
	s->nrcpts = 0;
	s->has_mail = false;
	memset(&s->mail, 0, sizeof(s->mail));
	store_spool_free(&s->spool);
	s->spool_error = 0;
	s->phase = LMTP_PHASE_COMMAND;
	s->bdat_started = false;
	s->bdat_left = 0;
	s->bdat_last = false;
}

static void lmtp_bad(struct lmtp_session *s, const char *reply)
{
	if (++s->bad_commands >= LMTP_MAX_BAD_COMMANDS) {
		lmtp_reply(s, "421 4.7.0 Too many errors, closing connection");
		conn_close(s->conn, true);
		return;
	}
	lmtp_reply(s, "%s", reply);
}

static void lmtp_cmd_lhlo(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (cmd->arg_len == 0) {
		lmtp_bad(s, "501 5.5.4 LHLO needs a host name");
		return;
	}
	lmtp_transaction_reset(s);
	free(s->helo);
	s->helo = xstrndup(cmd->arg, cmd->arg_len);
	const struct config *cfg = s->env->cfg;
	conn_printf(s->conn,
		    "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		    "250-SIZE %llu\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250 BINARYMIME\r\n",
		    cfg->hostname, (unsigned long long)cfg->limits_max_message_size);
}

/* RFC 5321 4.1.1.11: an unknown or malformed parameter is 555, a bad
 * address 501. The parser says which in its explanation. */
static bool lmtp_param_error(const char *why)
{
	return why != NULL && strcasestr(why, "parameter") != NULL;
}

static void lmtp_cmd_mail(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (s->helo == NULL) {
		lmtp_bad(s, "503 5.5.1 Send LHLO first");
		return;
	}
	if (s->has_mail) {
		lmtp_bad(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	const char *why = NULL;
	if (!lmtp_parse_mail_from(cmd->arg, cmd->arg_len, &s->mail, &why)) {
		lmtp_bad(s, lmtp_param_error(why) ? "555 5.5.4 Unsupported MAIL parameter"
						  : "501 5.1.7 Invalid sender address");
		return;
	}
	if (s->mail.has_size && s->mail.size > s->env->cfg->limits_max_message_size) {
		lmtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	s->has_mail = true;
	lmtp_reply(s, "250 2.1.0 Ok");
}

static void lmtp_cmd_rcpt(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (!s->has_mail) {
		lmtp_bad(s, "503 5.5.1 Send MAIL first");
		return;
	}
	struct lmtp_rcpt_to to;
	const char *why = NULL;
	if (!lmtp_parse_rcpt_to(cmd->arg, cmd->arg_len, &to, &why)) {
		lmtp_bad(s, lmtp_param_error(why) ? "555 5.5.4 Unsupported RCPT parameter"
						  : "501 5.1.3 Invalid recipient address");
		return;
	}
	if (s->nrcpts >= s->env->cfg->lmtp_max_recipients) {
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	char canon[USERNAME_MAX + 1];
	switch (auth_service_resolve(s->env->auth, to.local, to.domain, canon)) {
	case AUTH_USER_UNKNOWN:
		lmtp_reply(s, "550 5.1.1 <%s> User doesn't exist", to.path);
		return;
	case AUTH_USER_TEMPFAIL:
		lmtp_reply(s, "451 4.3.0 <%s> Temporary user lookup failure", to.path);
		return;
	case AUTH_USER_FOUND:
		break;
	}
	s->rcpts = xrealloc(s->rcpts, (s->nrcpts + 1) * sizeof(*s->rcpts));
	s->rcpts[s->nrcpts].user = xstrdup(canon);
	s->rcpts[s->nrcpts].path = xstrdup(to.path);
	s->nrcpts++;
	lmtp_reply(s, "250 2.1.5 <%s> Ok", to.path);
}

static void lmtp_dispatch(struct lmtp_session *s, const char *line, size_t len)
{
	struct lmtp_command cmd;
	if (!lmtp_parse_command(line, len, &cmd)) {
		lmtp_bad(s, "500 5.5.2 Invalid command syntax");
		return;
	}
	switch (cmd.id) {
	case LMTP_CMD_LHLO:
		lmtp_cmd_lhlo(s, &cmd);
		break;
	case LMTP_CMD_HELO:
	case LMTP_CMD_EHLO:
		lmtp_bad(s, "500 5.5.1 This is an LMTP server: use LHLO");
		break;
	case LMTP_CMD_MAIL:
		lmtp_cmd_mail(s, &cmd);
		break;
	case LMTP_CMD_RCPT:
		lmtp_cmd_rcpt(s, &cmd);
		break;
	case LMTP_CMD_DATA:
		lmtp_cmd_data(s, &cmd);
		break;
	case LMTP_CMD_BDAT:
		lmtp_cmd_bdat(s, &cmd);
		break;
	case LMTP_CMD_RSET:
		lmtp_transaction_reset(s);
		lmtp_reply(s, "250 2.0.0 Ok");
		break;
	case LMTP_CMD_NOOP:
		lmtp_reply(s, "250 2.0.0 Ok");
		break;
	case LMTP_CMD_VRFY:
		lmtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message");
		break;
	case LMTP_CMD_HELP:
		lmtp_reply(s, "214 2.0.0 LHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT");
		break;
	case LMTP_CMD_QUIT:
		lmtp_reply(s, "221 2.0.0 Bye");
		conn_close(s->conn, true);
		break;
	case LMTP_CMD_UNKNOWN:
		lmtp_bad(s, "500 5.5.2 Unknown command");
		break;
	}
}

static void lmtp_process_input(struct lmtp_session *s)
{
	char line[LMTP_MAX_LINE + 1];
	while (!s->busy && !conn_closing(s->conn)) {
		if (conn_output_pending(s->conn) > CONN_OUTPUT_HIGH) {
			/* replies pile up unread: wait until the client reads */
			s->output_full = true;
			conn_want_drain(s->conn, true);
			lmtp_busy_begin(s);
			break;
		}
		if (s->phase != LMTP_PHASE_COMMAND) {
			if (!lmtp_receive_input(s))
				break;
			continue;
		}
		size_t len;
		enum conn_line_result r = conn_read_line(s->conn, line, LMTP_MAX_LINE, &len);
		if (r == CONN_LINE_NONE)
			break;
		if (r == CONN_LINE_TOO_LONG) {
			lmtp_reply(s, "500 5.5.2 Line too long, closing connection");
			conn_close(s->conn, true);
			break;
		}
		lmtp_dispatch(s, line, len);
	}
}

static void lmtp_on_input(struct conn *c, void *ctx)
{
	lmtp_process_input(ctx);
}

static void lmtp_on_drained(struct conn *c, void *ctx)
{
	struct lmtp_session *s = ctx;
	if (s->output_full) {
		s->output_full = false;
		conn_want_drain(s->conn, false);
		lmtp_busy_end(s);
	}
}

static void lmtp_on_tls_ready(struct conn *c, void *ctx)
{
}

static void lmtp_on_closed(struct conn *c, void *ctx, const char *reason)
{
	struct lmtp_session *s = ctx;
	log_debug("event=disconnect service=lmtp remote=%s reason=%s delivered=%u", conn_peer_ip(c),
		  reason, s->delivered);
	lmtp_transaction_reset(s);
	free(s->helo);
	if (s->counted) {
		socklen_t len;
		addrlimit_conn_release(s->env->limits, s->env->worker, conn_peer_addr(c, &len));
	}
	free(s);
}

/* At shutdown, a message being received or delivered is finished first,
 * so that the MTA gets its replies and does not deliver it twice. */
static bool lmtp_is_busy(struct conn *c, void *ctx)
{
	const struct lmtp_session *s = ctx;
	return s->busy || s->phase != LMTP_PHASE_COMMAND || s->has_mail;
}

static void lmtp_goodbye(struct conn *c, void *ctx)
{
	lmtp_reply(ctx, "421 4.3.2 Service shutting down, closing connection");
}

static const struct conn_handler lmtp_handler = {
	.input = lmtp_on_input,
	.drained = lmtp_on_drained,
	.tls_ready = lmtp_on_tls_ready,
	.closed = lmtp_on_closed,
	.busy = lmtp_is_busy,
	.goodbye = lmtp_goodbye,
};

void lmtp_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len)
{
	struct lmtp_session *s = xmalloc(sizeof(*s));
	s->env = env;
	s->conn = conn_new(env->loop, fd, peer, peer_len, false, &lmtp_handler, s);
	conn_set_timeout(s->conn, (unsigned)env->cfg->lmtp_idle_timeout);
	/* The MTA is trusted and opens many parallel connections: only the
	 * server-wide limit applies. */
	s->counted = addrlimit_conn_acquire(env->limits, env->worker, peer, 0,
					    env->cfg->limits_max_connections);
	if (!s->counted) {
		lmtp_reply(s, "421 4.7.0 Too many connections, try again later");
		conn_close(s->conn, true);
		return;
	}
	lmtp_reply(s, "220 %s LMTP yubin ready", env->cfg->hostname);
}
