/*
 * pop3_session.c - a POP3 session's life: accept, read command lines,
 * dispatch them through the command table, close.
 *
 * Commands are answered strictly in order (RFC 2449 6.6 PIPELINING): while
 * a command waits for something (password check, mailbox opening, a
 * message being streamed, a failed-login delay) the session is "busy",
 * input stays buffered, and processing resumes where it stopped.
 */
#include "pop3/pop3_session.h"
#include "pop3/pop3_internal.h"

#include "daemon/server_env.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/workpool.h"
#include "store/store.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Which states a command is valid in (RFC 1939 4-6, RFC 2449 5). */
#define ST_AUTH (1u << POP3_STATE_AUTHORIZATION)
#define ST_TRANS (1u << POP3_STATE_TRANSACTION)

/* The command needs the per-message list (large mailboxes load it only
 * then, see STORE_POP3_EAGER_MAX). */
#define CMDF_MESSAGES 1u

struct pop3_command_def {
	enum pop3_cmd_id id;
	void (*run)(struct pop3_session *s, const struct pop3_command *cmd);
	unsigned states;
	unsigned flags;
};

static const struct pop3_command_def pop3_commands[] = {
	{POP3_CMD_CAPA, pop3_cmd_capa, ST_AUTH | ST_TRANS, 0},
	{POP3_CMD_QUIT, pop3_cmd_quit, ST_AUTH | ST_TRANS, 0},
	{POP3_CMD_USER, pop3_cmd_user, ST_AUTH, 0},
	{POP3_CMD_PASS, pop3_cmd_pass, ST_AUTH, 0},
	{POP3_CMD_APOP, pop3_cmd_apop, ST_AUTH, 0},
	{POP3_CMD_AUTH, pop3_cmd_auth, ST_AUTH, 0},
	{POP3_CMD_STLS, pop3_cmd_stls, ST_AUTH, 0},
	{POP3_CMD_UTF8, pop3_cmd_utf8, ST_AUTH, 0},
	{POP3_CMD_LANG, pop3_cmd_lang, ST_AUTH | ST_TRANS, 0},
	{POP3_CMD_STAT, pop3_cmd_stat, ST_TRANS, 0},
	{POP3_CMD_LIST, pop3_cmd_list, ST_TRANS, CMDF_MESSAGES},
	{POP3_CMD_UIDL, pop3_cmd_uidl, ST_TRANS, CMDF_MESSAGES},
	{POP3_CMD_RETR, pop3_cmd_retr, ST_TRANS, CMDF_MESSAGES},
	{POP3_CMD_TOP, pop3_cmd_top, ST_TRANS, CMDF_MESSAGES},
	{POP3_CMD_DELE, pop3_cmd_dele, ST_TRANS, CMDF_MESSAGES},
	{POP3_CMD_RSET, pop3_cmd_rset, ST_TRANS, 0},
	{POP3_CMD_NOOP, pop3_cmd_noop, ST_TRANS, 0},
};

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conn_vreply(s->conn, fmt, ap);
	va_end(ap);
}

void pop3_busy_begin(struct pop3_session *s)
{
	s->busy = true;
	conn_pause_input(s->conn);
}

void pop3_busy_end(struct pop3_session *s)
{
	s->busy = false;
	conn_resume_input(s->conn);
}

void pop3_close(struct pop3_session *s)
{
	conn_close(s->conn, true);
}

void pop3_bad_command(struct pop3_session *s, const char *why)
{
	if (++s->bad_commands >= s->env->cfg->pop3_max_bad_commands) {
		pop3_reply(s, "-ERR Too many bad commands, closing connection.");
		pop3_close(s);
		return;
	}
	pop3_reply(s, "-ERR %s", why);
}

static void pop3_dispatch(struct pop3_session *s, const char *line, size_t len);

/* ---- loading a large mailbox's message list on the pool ---- */

struct pop3_load_job {
	struct server_env *env;
	uint64_t owner;
	struct store_user *store;
	struct store_pop3_view *view;
	enum store_error err;
	size_t len;
	char line[]; /* the command that needs the list, run again afterwards */
};

static void pop3_load_work(void *arg)
{
	struct pop3_load_job *job = arg;
	job->err = store_pop3_load(job->view);
}

static void pop3_load_done(void *arg)
{
	struct pop3_load_job *job = arg;
	struct conn *c = conn_find(job->env->loop, job->owner);
	if (c == NULL) {
		store_pop3_close(&job->view);
		store_user_close(&job->store);
	} else {
		struct pop3_session *s = conn_context(c);
		s->store = job->store;
		s->view = job->view;
		s->busy = false;
		if (job->err == STORE_OK)
			pop3_dispatch(s, job->line, job->len);
		else
			pop3_reply(s, "-ERR [SYS/TEMP] Temporary server error, try again later.");
		if (!s->busy) /* the command may have started streaming */
			pop3_busy_end(s);
	}
	explicit_bzero(job->line, job->len);
	free(job);
}

/* The view and the user go with the job and come back with it: a session
 * closed meanwhile never frees what the pool is using. */
static void pop3_load_then_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_load_job *job = xmalloc(sizeof(*job) + len + 1);
	job->env = s->env;
	job->owner = conn_id(s->conn);
	job->store = s->store;
	job->view = s->view;
	job->len = len;
	memcpy(job->line, line, len);
	s->store = NULL;
	s->view = NULL;
	pop3_busy_begin(s);
	workpool_submit(s->env->pool, pop3_load_work, pop3_load_done, job);
}

static void pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command cmd;
	switch (pop3_parse_line(line, len, &cmd)) {
	case POP3_PARSE_OK:
		break;
	case POP3_PARSE_EMPTY:
		pop3_bad_command(s, "Empty command.");
		return;
	case POP3_PARSE_BAD_CHAR:
		pop3_bad_command(s, "Invalid characters in command.");
		return;
	case POP3_PARSE_TOO_MANY_ARGS:
		pop3_bad_command(s, "Too many arguments.");
		return;
	case POP3_PARSE_BAD_KEYWORD:
		pop3_bad_command(s, "Unknown command.");
		return;
	}
	for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++) {
		const struct pop3_command_def *def = &pop3_commands[i];
		if (def->id != cmd.id)
			continue;
		if ((def->states & (1u << s->state)) == 0) {
			pop3_bad_command(s, s->state == POP3_STATE_AUTHORIZATION
						    ? "Not logged in."
						    : "Command not valid in this state.");
			return;
		}
		if ((def->flags & CMDF_MESSAGES) && !store_pop3_loaded(s->view)) {
			pop3_load_then_dispatch(s, line, len);
			return;
		}
		def->run(s, &cmd);
		return;
	}
	pop3_bad_command(s, "Unknown command.");
}

/* Handle every complete line buffered, unless a command makes us wait. */
static void pop3_process_input(struct pop3_session *s)
{
	char line[POP3_MAX_SASL_LINE + 1];
	while (!s->busy && !conn_closing(s->conn)) {
		if (conn_output_pending(s->conn) > CONN_OUTPUT_HIGH) {
			/* A client that pipelines without reading would make
			 * us queue replies without bound: wait for it. */
			s->output_full = true;
			conn_want_drain(s->conn, true);
			pop3_busy_begin(s);
			break;
		}
		size_t max = s->sasl != NULL ? POP3_MAX_SASL_LINE : POP3_MAX_LINE;
		size_t len;
		enum conn_line_result r = conn_read_line(s->conn, line, max, &len);
		if (r == CONN_LINE_NONE)
			break;
		if (r == CONN_LINE_TOO_LONG) {
			/* We cannot tell where the next command starts. */
			pop3_reply(s, "-ERR Line too long, closing connection.");
			pop3_close(s);
			break;
		}
		if (s->sasl != NULL)
			pop3_sasl_input(s, line, len);
		else
			pop3_dispatch(s, line, len);
	}
	/* Lines may carry passwords. */
	explicit_bzero(line, sizeof(line));
}

static void pop3_on_input(struct conn *c, void *ctx)
{
	pop3_process_input(ctx);
}

static void pop3_on_drained(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	if (s->streaming) {
		pop3_stream_pump(s);
	} else if (s->output_full) {
		s->output_full = false;
		conn_want_drain(s->conn, false);
		pop3_busy_end(s);
	}
}

static void pop3_on_tls_ready(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	log_debug("event=tls service=pop3 remote=%s version=%s cipher=%s", conn_peer_ip(c),
		  tls_version_name(conn_ssl(c)), tls_cipher_name(conn_ssl(c)));
	if (!s->greeted) {
		pop3_send_greeting(s); /* implicit TLS (pop3s) */
		return;
	}
	/* After STLS (RFC 2595 4): a fresh start of the AUTHORIZATION state. */
	xfree(s->pending_user);
	pop3_busy_end(s);
}

static void pop3_on_closed(struct conn *c, void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;
	if (s->user != NULL)
		log_info("event=logout service=pop3 user=%s remote=%s reason=%s retr=%u "
			 "retr_bytes=%llu top=%u deleted=%u in=%llu out=%llu",
			 s->user, conn_peer_ip(c), s->state == POP3_STATE_UPDATE ? "quit" : reason,
			 s->retr_count, (unsigned long long)s->retr_bytes, s->top_count,
			 s->expunged, (unsigned long long)conn_bytes_in(c),
			 (unsigned long long)conn_bytes_out(c));
	pop3_stream_abort(s);
	pop3_auth_session_free(s);
	pop3_mail_session_free(s);
	if (s->counted) {
		socklen_t len;
		addrlimit_conn_release(s->env->limits, s->env->worker, conn_peer_addr(c, &len));
	}
	free(s);
}

/* At shutdown, a session waiting for its QUIT commit or sending a message
 * gets to finish; one idle between commands is closed (its DELEs are not
 * applied, as after any dropped connection). */
static bool pop3_is_busy(struct conn *c, void *ctx)
{
	const struct pop3_session *s = ctx;
	return s->busy && s->delay_ev == NULL && !s->output_full;
}

static void pop3_goodbye(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	if (s->greeted)
		pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down, try again later.");
}

static const struct conn_handler pop3_handler = {
	.input = pop3_on_input,
	.drained = pop3_on_drained,
	.tls_ready = pop3_on_tls_ready,
	.closed = pop3_on_closed,
	.busy = pop3_is_busy,
	.goodbye = pop3_goodbye,
};

void pop3_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len, bool implicit_tls)
{
	const struct config *cfg = env->cfg;
	struct pop3_session *s = xmalloc(sizeof(*s));
	s->env = env;
	s->stream.fd = -1;
	s->state = POP3_STATE_AUTHORIZATION;
	s->conn = conn_new(env->loop, fd, peer, peer_len, implicit_tls, &pop3_handler, s);
	conn_set_timeout(s->conn, (unsigned)cfg->pop3_idle_timeout);
	s->counted = addrlimit_conn_acquire(env->limits, env->worker, peer,
					    cfg->limits_max_connections_per_ip,
					    cfg->limits_max_connections);
	if (!s->counted) {
		log_warn("event=connection_refused service=pop3 remote=%s reason=limit",
			 conn_peer_ip(s->conn));
		if (!implicit_tls)
			pop3_reply(s, "-ERR [SYS/TEMP] Too many connections, try again later.");
		conn_close(s->conn, !implicit_tls);
		return;
	}
	if (!implicit_tls)
		pop3_send_greeting(s);
}
