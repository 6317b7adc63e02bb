/*
 * imap_session.c - an IMAP session's life: accept, feed input to the
 * command parser, decide about literals, dispatch commands through the
 * command table, write responses, close.
 *
 * Commands are executed one at a time, in order: while one waits (a
 * password check, the mailbox being opened, a failed-login delay, a client
 * that does not read) input stays buffered. RFC 9051 5.5 allows a server
 * to run commands concurrently; doing them in order is always correct.
 */
#include "imap/imap_session.h"
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "net/tls.h"
#include "store/store.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Which states a command is valid in (RFC 9051 6.1-6.4). */
#define ST_NOAUTH (1u << IMAP_STATE_NOT_AUTH)
#define ST_AUTH (1u << IMAP_STATE_AUTH)
#define ST_SEL (1u << IMAP_STATE_SELECTED)
#define ST_ANY (ST_NOAUTH | ST_AUTH | ST_SEL)

/* flags */
#define CMD_UID 0x1u       /* also valid after "UID " */
#define CMD_NO_EXPUNGE 0x2u /* RFC 9051 7.5.1: no EXPUNGE while it runs */

struct imap_command_def {
	const char *name;
	void (*run)(struct imap_session *s, const struct imap_command *cmd);
	unsigned states;
	unsigned flags;
};

static const struct imap_command_def imap_commands[] = {
	{"CAPABILITY", imap_cmd_capability, ST_ANY, 0},
	{"NOOP", imap_cmd_noop, ST_ANY, 0},
	{"LOGOUT", imap_cmd_logout, ST_ANY, 0},
	{"ID", imap_cmd_id, ST_ANY, 0},
	{"STARTTLS", imap_cmd_starttls, ST_NOAUTH, 0},
	{"LOGIN", imap_cmd_login, ST_NOAUTH, 0},
	{"AUTHENTICATE", imap_cmd_authenticate, ST_NOAUTH, 0},
	{"ENABLE", imap_cmd_enable, ST_AUTH, 0},
	{"SELECT", imap_cmd_select, ST_AUTH | ST_SEL, 0},
	{"EXAMINE", imap_cmd_examine, ST_AUTH | ST_SEL, 0},
	{"CREATE", imap_cmd_create, ST_AUTH | ST_SEL, 0},
	{"DELETE", imap_cmd_delete, ST_AUTH | ST_SEL, 0},
	{"RENAME", imap_cmd_rename, ST_AUTH | ST_SEL, 0},
	{"SUBSCRIBE", imap_cmd_subscribe, ST_AUTH | ST_SEL, 0},
	{"UNSUBSCRIBE", imap_cmd_unsubscribe, ST_AUTH | ST_SEL, 0},
	{"LIST", imap_cmd_list, ST_AUTH | ST_SEL, 0},
	{"LSUB", imap_cmd_lsub, ST_AUTH | ST_SEL, 0},
	{"NAMESPACE", imap_cmd_namespace, ST_AUTH | ST_SEL, 0},
	{"STATUS", imap_cmd_status, ST_AUTH | ST_SEL, 0},
	{"APPEND", imap_cmd_append, ST_AUTH | ST_SEL, 0},
	{"IDLE", imap_cmd_idle, ST_AUTH | ST_SEL, 0},
	{"CHECK", imap_cmd_check, ST_SEL, 0},
	{"CLOSE", imap_cmd_close, ST_SEL, 0},
	{"UNSELECT", imap_cmd_unselect, ST_SEL, 0},
	{"EXPUNGE", imap_cmd_expunge, ST_SEL, CMD_UID},
	{"SEARCH", imap_cmd_search, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"FETCH", imap_cmd_fetch, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"STORE", imap_cmd_store, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	/* sequence numbers are the client's: others' expunges are reported
	 * after they are resolved (MOVE reports them, COPY leaves them for
	 * the next command), or COPY 5 would copy what the client calls 6 */
	{"COPY", imap_cmd_copy, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"MOVE", imap_cmd_move, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"SORT", imap_cmd_sort, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"THREAD", imap_cmd_thread, ST_SEL, CMD_UID | CMD_NO_EXPUNGE},
	{"COMPRESS", imap_cmd_compress, ST_AUTH | ST_SEL, 0},
	{"GETQUOTA", imap_cmd_getquota, ST_AUTH | ST_SEL, 0},
	{"GETQUOTAROOT", imap_cmd_getquotaroot, ST_AUTH | ST_SEL, 0},
	{"SETQUOTA", imap_cmd_setquota, ST_AUTH | ST_SEL, 0},
};

/* ---- responses ---- */

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	conn_write_str(s->conn, "* ");
	conn_write(s->conn, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	conn_write_str(s->conn, "\r\n");
}

void imap_tagged(struct imap_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	conn_write_str(s->conn, s->tag[0] != '\0' ? s->tag : "*");
	conn_write_str(s->conn, " ");
	conn_write(s->conn, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	conn_write_str(s->conn, "\r\n");
}

void imap_quote(struct buf *out, const char *str, size_t len)
{
	bool quotable = len < 1024;
	for (size_t i = 0; quotable && i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		quotable = c >= 0x20 && c != 0x7f && c != '\r' && c != '\n';
	}
	if (!quotable) {
		buf_appendf(out, "{%zu}\r\n", len);
		buf_append(out, str, len);
		return;
	}
	buf_append_byte(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			buf_append_byte(out, '\\');
		buf_append_byte(out, str[i]);
	}
	buf_append_byte(out, '"');
}

bool imap_utf8_names(const struct imap_session *s)
{
	return s->rev2 || s->utf8;
}

void imap_busy_begin(struct imap_session *s)
{
	s->busy = true;
	conn_pause_input(s->conn);
}

void imap_busy_end(struct imap_session *s)
{
	s->busy = false;
	conn_resume_input(s->conn);
}

void imap_bad(struct imap_session *s, const char *why)
{
	imap_tagged(s, "BAD %s", why);
	if (++s->bad_commands >= s->env->cfg->imap_max_bad_commands) {
		imap_untagged(s, "BYE Too many invalid commands.");
		conn_close(s->conn, true);
	}
}

/* ---- commands ---- */

static void imap_set_tag(struct imap_session *s, const char *tag, size_t len)
{
	if (tag == NULL || len == 0 || len > IMAP_TAG_MAX) {
		s->tag[0] = '\0';
		return;
	}
	memcpy(s->tag, tag, len);
	s->tag[len] = '\0';
}

static const struct imap_command_def *imap_find_command(const char *name, bool uid)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++)
		if (strcasecmp(imap_commands[i].name, name) == 0 &&
		    (!uid || (imap_commands[i].flags & CMD_UID)))
			return &imap_commands[i];
	return NULL;
}

static void imap_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	imap_set_tag(s, cmd->tag, cmd->tag_len);
	struct imap_command sub = *cmd;
	s->uid_cmd = strcasecmp(cmd->name, "UID") == 0;
	if (s->uid_cmd) {
		/* "UID FETCH ..." runs FETCH with UIDs (RFC 9051 6.4.9) */
		if (cmd->argc < 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
			imap_bad(s, "UID needs a command.");
			return;
		}
		sub.name = cmd->args[0].str;
		sub.args = cmd->args + 1;
		sub.argc = cmd->argc - 1;
	}
	const struct imap_command_def *def = imap_find_command(sub.name, s->uid_cmd);
	if (def == NULL) {
		imap_bad(s, "Unknown command.");
		return;
	}
	if ((def->states & (1u << s->state)) == 0) {
		imap_bad(s, s->state == IMAP_STATE_NOT_AUTH ? "Not authenticated."
			    : (def->states & ST_SEL)        ? "No mailbox selected."
							    : "Not valid in this state.");
		return;
	}
	/* What others changed goes before the command's own responses. */
	if (s->state == IMAP_STATE_SELECTED)
		imap_report_changes(s, !(def->flags & CMD_NO_EXPUNGE) || s->uid_cmd);
	if (!conn_closing(s->conn))
		def->run(s, &sub);
}

/* The parser found a malformed command (RFC 9051 7.1.5 BAD). */
static void imap_parse_error(struct imap_session *s)
{
	const struct imap_parse_error *e = imap_parser_error(s->parser);
	/* A line inside IDLE or AUTHENTICATE has no tag of its own: the
	 * command in progress is answered, and ends (RFC 2177 3, RFC 9051
	 * 6.2.2: one tagged response per command). */
	bool in_line = s->idling || s->sasl != NULL;
	if (in_line) {
		if (s->idling) {
			imap_idle_free(s);
			s->idling = false;
		}
		if (s->sasl != NULL)
			imap_sasl_abort(s);
	} else {
		imap_set_tag(s, e->tag, e->tag_len);
	}
	const char *code = e->code == IMAP_PERR_TOO_BIG || e->code == IMAP_PERR_NONSYNC
				   ? "[TOOBIG] "
				   : "";
	/* resynchronising resets the parser's error: keep the reason */
	const char *reason = e->reason != NULL ? e->reason : "Invalid command.";
	if (e->fatal || !imap_parser_resync(s->parser)) {
		imap_tagged(s, "BAD %s%s", code, reason);
		imap_untagged(s, "BYE Cannot continue after that.");
		conn_close(s->conn, true);
		return;
	}
	char why[256];
	snprintf(why, sizeof(why), "%s%s", code, reason);
	imap_bad(s, why);
}

/* A literal was announced: keep it, or (APPEND's message) stream it. */
static void imap_literal(struct imap_session *s)
{
	const struct imap_literal *lit = imap_parser_literal(s->parser);
	bool sync = lit->sync;
	if (imap_append_literal_wanted(s, imap_parser_command(s->parser), lit)) {
		imap_append_start(s);
		s->append_literal8 = lit->literal8;
		imap_parser_literal_stream(s->parser);
	} else if (imap_parser_literal_store(s->parser) == IMAP_PARSE_ERROR) {
		imap_parse_error(s);
		return;
	}
	if (sync)
		conn_write_str(s->conn, "+ Ready for literal data\r\n");
}

/* Handle one parser event; false when input must wait. */
static bool imap_event(struct imap_session *s, enum imap_parse_result r, const char *data,
		       size_t used)
{
	switch (r) {
	case IMAP_PARSE_NEED_MORE:
	case IMAP_PARSE_LITERAL_END:
		return true;
	case IMAP_PARSE_LITERAL_DATA:
		imap_append_data(s, data, used);
		return true;
	case IMAP_PARSE_LITERAL:
		imap_literal(s);
		return true;
	case IMAP_PARSE_COMMAND:
		imap_dispatch(s, imap_parser_command(s->parser));
		return true;
	case IMAP_PARSE_LINE: {
		size_t len;
		const char *line = imap_parser_line(s->parser, &len);
		if (s->sasl != NULL)
			imap_sasl_line(s, line, len);
		else if (s->idling)
			imap_idle_line(s, line, len);
		return true;
	}
	case IMAP_PARSE_ERROR:
		imap_append_abort(s);
		imap_parse_error(s);
		return true;
	}
	return false;
}

static void imap_process_input(struct imap_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	while (!s->busy && !conn_closing(s->conn) && evbuffer_get_length(in) > 0) {
		if (conn_output_pending(s->conn) > CONN_OUTPUT_HIGH) {
			s->output_full = true;
			conn_want_drain(s->conn, true);
			imap_busy_begin(s);
			break;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t used = 0;
		enum imap_parse_result r =
			s->sasl != NULL || s->idling
				? imap_parser_feed_line(s->parser, v.iov_base, v.iov_len, &used)
				: imap_parser_feed(s->parser, v.iov_base, v.iov_len, &used);
		bool go_on = imap_event(s, r, v.iov_base, used);
		evbuffer_drain(in, used);
		if (!go_on)
			break;
	}
	/* A command under way must arrive within the idle timeout (literal
	 * data excepted: an upload is progress, not idling). */
	if (!conn_closing(s->conn))
		conn_set_pending(s->conn, imap_parser_busy(s->parser) &&
						  imap_parser_stream_remaining(s->parser) == 0);
}

/* ---- connection events ---- */

static void imap_on_input(struct conn *c, void *ctx)
{
	imap_process_input(ctx);
}

static void imap_on_drained(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	if (s->output_full) {
		s->output_full = false;
		conn_want_drain(s->conn, false);
		imap_busy_end(s);
	}
}

static void imap_on_tls_ready(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	if (!s->greeted) {
		imap_send_greeting(s); /* implicit TLS (imaps) */
		return;
	}
	imap_busy_end(s); /* after STARTTLS */
}

static bool imap_is_busy(struct conn *c, void *ctx)
{
	const struct imap_session *s = ctx;
	return s->busy && s->delay_ev == NULL && !s->output_full;
}

static void imap_goodbye(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	if (s->greeted)
		imap_untagged(s, "BYE Server shutting down.");
}

static void imap_on_closed(struct conn *c, void *ctx, const char *reason)
{
	struct imap_session *s = ctx;
	if (s->user != NULL)
		log_info("event=logout service=imap user=%s remote=%s reason=%s in=%llu out=%llu",
			 s->user, conn_peer_ip(c),
			 s->state == IMAP_STATE_LOGOUT ? "logout" : reason,
			 (unsigned long long)conn_bytes_in(c), (unsigned long long)conn_bytes_out(c));
	imap_idle_free(s);
	imap_append_abort(s);
	imap_append_orphan(s);
	imap_close_selected(s);
	imap_seqset_deinit(&s->saved);
	imap_auth_session_free(s);
	imap_parser_free(&s->parser);
	xfree(s->user);
	xfree(s->mailbox);
	if (s->counted) {
		socklen_t len;
		addrlimit_conn_release(s->env->limits, s->env->worker, conn_peer_addr(c, &len));
	}
	free(s);
}

static const struct conn_handler imap_handler = {
	.input = imap_on_input,
	.drained = imap_on_drained,
	.tls_ready = imap_on_tls_ready,
	.closed = imap_on_closed,
	.busy = imap_is_busy,
	.goodbye = imap_goodbye,
};

void imap_session_accept(struct server_env *env, int fd, const struct sockaddr *peer,
			 socklen_t peer_len, bool implicit_tls)
{
	const struct config *cfg = env->cfg;
	struct imap_session *s = xmalloc(sizeof(*s));
	s->env = env;
	s->state = IMAP_STATE_NOT_AUTH;
	imap_seqset_init(&s->saved, 0);
	struct imap_parser_limits limits;
	imap_parser_limits_default(&limits, false);
	limits.max_nonsync = IMAP_NONSYNC_ANY; /* LITERAL+, bounded by max_literal */
	s->parser = imap_parser_new(&limits);
	s->conn = conn_new(env->loop, fd, peer, peer_len, implicit_tls, &imap_handler, s);
	conn_set_timeout(s->conn, (unsigned)cfg->imap_idle_timeout);
	s->counted = addrlimit_conn_acquire(env->limits, env->worker, peer,
					    cfg->limits_max_connections_per_ip,
					    cfg->limits_max_connections);
	if (!s->counted) {
		log_warn("event=connection_refused service=imap remote=%s reason=limit",
			 conn_peer_ip(s->conn));
		if (!implicit_tls)
			conn_write_str(s->conn, "* BYE [UNAVAILABLE] Too many connections, try "
						"again later.\r\n");
		conn_close(s->conn, !implicit_tls);
		return;
	}
	if (!implicit_tls)
		imap_send_greeting(s);
}
