/*
 * imap_auth.c - greeting, CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE
 * (RFC 5161), STARTTLS (RFC 9051 6.2.1), LOGIN (6.2.3) and AUTHENTICATE
 * (6.2.2, with SASL-IR, RFC 4959).
 *
 * Credentials are checked on the worker's pool by the same code as POP3
 * (auth.h); a success opens the user's store in the same pool job. A
 * failure is answered after the per-address growing delay.
 */
#include "imap/imap_internal.h"

#include "auth/auth.h"
#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/addrlimit.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/workpool.h"
#include "store/store.h"
#include "store/store_imap.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- capabilities ---- */

bool imap_plaintext_allowed(const struct imap_session *s)
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

/* RFC 9051 7.2.2: what this server does, as it may change with the state. */
static bool imap_base64_valid(const char *s, size_t len);

void imap_capabilities(struct imap_session *s, struct buf *out)
{
	buf_append_str(out, "IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE ID SASL-IR IDLE NAMESPACE UIDPLUS "
			    "MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH "
			    "SEARCHRES CONDSTORE QRESYNC STATUS=SIZE UTF8=ACCEPT BINARY");
	buf_append_str(out, " SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
	buf_append_str(out, " QUOTA QUOTA=RES-STORAGE"); /* RFC 9208, imap_quota.c */
	buf_appendf(out, " APPENDLIMIT=%llu",
		    (unsigned long long)s->env->cfg->limits_max_message_size);
	buf_append_str(out, " COMPRESS=DEFLATE");
	if (s->state == IMAP_STATE_NOT_AUTH) {
		if (conn_tls_available(s->conn) && !conn_tls_active(s->conn))
			buf_append_str(out, " STARTTLS");
		if (!imap_plaintext_allowed(s))
			buf_append_str(out, " LOGINDISABLED");
		char mechs[512];
		auth_service_mechanisms(s->env->auth, conn_tls_active(s->conn),
					imap_plaintext_allowed(s), mechs, sizeof(mechs));
		for (char *save = NULL, *m = strtok_r(mechs, " ", &save); m != NULL;
		     m = strtok_r(NULL, " ", &save))
			buf_appendf(out, " AUTH=%s", m);
	}
}

void imap_send_greeting(struct imap_session *s)
{
	s->greeted = true;
	struct buf caps;
	buf_init(&caps, 0);
	imap_capabilities(s, &caps);
	imap_untagged(s, "OK [CAPABILITY %s] yubin IMAP server ready.", caps.ptr);
	buf_deinit(&caps);
}

void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 0) {
		imap_bad(s, "CAPABILITY takes no arguments.");
		return;
	}
	struct buf caps;
	buf_init(&caps, 0);
	imap_capabilities(s, &caps);
	imap_untagged(s, "CAPABILITY %s", caps.ptr);
	buf_deinit(&caps);
	imap_tagged(s, "OK CAPABILITY completed.");
}

void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	imap_tagged(s, "OK NOOP completed.");
}

void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	imap_untagged(s, "BYE Logging out.");
	imap_tagged(s, "OK LOGOUT completed.");
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn, true);
}

/* RFC 2971: we tell who we are, and ignore what the client says (only
 * bounded by the parser). */
void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 1 || (cmd->args[0].type != IMAP_ARG_LIST &&
			       cmd->args[0].type != IMAP_ARG_NIL)) {
		imap_bad(s, "ID needs a parameter list or NIL.");
		return;
	}
	imap_untagged(s, "ID (\"name\" \"yubin\")");
	imap_tagged(s, "OK ID completed.");
}

/* RFC 5161: turn on what we know, ignore what we do not. */
void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc == 0) {
		imap_bad(s, "ENABLE needs capability names.");
		return;
	}
	struct buf enabled;
	buf_init(&enabled, 4096);
	for (size_t i = 0; i < cmd->argc; i++) {
		bool *flag = NULL;
		if (imap_arg_atom_is(&cmd->args[i], "IMAP4rev2"))
			flag = &s->rev2;
		else if (imap_arg_atom_is(&cmd->args[i], "UTF8=ACCEPT"))
			flag = &s->utf8;
		else if (imap_arg_atom_is(&cmd->args[i], "CONDSTORE"))
			flag = &s->condstore;
		else if (imap_arg_atom_is(&cmd->args[i], "QRESYNC"))
			flag = &s->qresync;
		if (flag == NULL || *flag)
			continue;
		*flag = true;
		if (flag == &s->qresync)
			s->condstore = true; /* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
		buf_appendf(&enabled, " %s", cmd->args[i].str);
	}
	imap_untagged(s, "ENABLED%s", enabled.ptr != NULL ? enabled.ptr : "");
	buf_deinit(&enabled);
	imap_tagged(s, "OK ENABLE completed.");
}

/* ---- STARTTLS ---- */

void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (!conn_tls_available(s->conn) || conn_tls_active(s->conn)) {
		imap_bad(s, "STARTTLS is not available now.");
		return;
	}
	imap_tagged(s, "OK Begin TLS negotiation now.");
	imap_busy_begin(s); /* resumed by the tls_ready handler */
	conn_start_tls(s->conn);
}

/* ---- results of a credential check ---- */

/* The pool job that opens the user's store right after the password
 * check (auth_exchange_then). */
struct imap_login_job {
	struct server_env *env;
	struct store_user *store;
	enum store_error err;
};

/* imap.special_use: up to five comma-separated names, in the order of
 * enum store_special_use; an empty entry leaves that use out. */
static void imap_special_names(const char *list, char names[5][STORE_FOLDER_NAME_MAX + 1])
{
	const char *p = list != NULL ? list : "";
	for (size_t i = 0; i < 5; i++) {
		names[i][0] = '\0';
		if (*p == '\0')
			continue;
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *start = p;
		while (len > 0 && (*start == ' ' || *start == '\t'))
			start++, len--;
		while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
			len--;
		if (len <= STORE_FOLDER_NAME_MAX) {
			memcpy(names[i], start, len);
			names[i][len] = '\0';
		}
		p = comma != NULL ? comma + 1 : p + strlen(p);
	}
}

static void imap_login_open(void *arg, const char *user)
{
	struct imap_login_job *job = arg;
	job->err = store_user_open(&job->env->store, user, true, &job->store);
	if (job->err != STORE_OK)
		return;
	/* RFC 6154: the special-use folders exist from the first login */
	char names[5][STORE_FOLDER_NAME_MAX + 1];
	imap_special_names(job->env->cfg->imap_special_use, names);
	const char *const ptrs[5] = {names[0], names[1], names[2], names[3], names[4]};
	enum store_error err = store_folder_ensure_special(job->store, ptrs);
	if (err != STORE_OK)
		log_warn("event=special_use_failed service=imap user=%s reason=%s", user,
			 store_error_name(err));
}

static void imap_exchange_free(struct auth_exchange **ex)
{
	if (*ex == NULL)
		return;
	struct imap_login_job *job = auth_exchange_then_arg(*ex);
	if (job != NULL) {
		store_user_close(&job->store);
		free(job);
	}
	auth_exchange_free(ex);
}

static void imap_auth_failed_reply(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	event_free(s->delay_ev);
	s->delay_ev = NULL;
	imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed.");
	if (++s->auth_failures >= IMAP_MAX_AUTH_FAILURES) {
		imap_untagged(s, "BYE Too many failed logins.");
		conn_close(s->conn, true);
		return;
	}
	imap_busy_end(s);
}

/* Answer after a delay that doubles with recent failures from the address. */
static void imap_auth_failed(struct imap_session *s, const char *user, const char *mech)
{
	const struct config *cfg = s->env->cfg;
	socklen_t len;
	uint64_t delay = addrlimit_login_failed(s->env->limits, conn_peer_addr(s->conn, &len), "imap",
						user, conn_peer_ip(s->conn), mech,
						cfg->auth_fail_delay, cfg->auth_fail_delay_max);
	imap_busy_begin(s);
	struct timeval tv = {.tv_sec = (time_t)delay, .tv_usec = 0};
	s->delay_ev = evtimer_new(conn_loop_base(s->env->loop), imap_auth_failed_reply, s);
	evtimer_add(s->delay_ev, &tv);
}

static void imap_logged_in(struct imap_session *s, struct auth_exchange *ex)
{
	struct imap_login_job *job = auth_exchange_then_arg(ex);
	if (job == NULL || job->err != STORE_OK) {
		log_warn("event=login_failed service=imap user=%s reason=%s",
			 auth_exchange_user(ex), job != NULL ? store_error_name(job->err) : "store");
		imap_tagged(s, "NO [UNAVAILABLE] Mailbox is not available, try again later.");
		return;
	}
	socklen_t len;
	addrlimit_fail_clear(s->env->limits, conn_peer_addr(s->conn, &len));
	s->store = job->store;
	job->store = NULL;
	s->user = xstrdup(auth_exchange_user(ex));
	s->state = IMAP_STATE_AUTH;
	struct imap_parser_limits limits;
	imap_parser_limits_default(&limits, true);
	limits.max_nonsync = IMAP_NONSYNC_ANY;
	limits.max_literal = s->env->cfg->limits_max_message_size;
	imap_parser_set_limits(s->parser, &limits);
	log_info("event=login service=imap user=%s remote=%s mech=%s tls=%s", s->user,
		 conn_peer_ip(s->conn), auth_exchange_mechanism(ex),
		 conn_tls_active(s->conn) ? "yes" : "no");
	struct buf caps;
	buf_init(&caps, 0);
	imap_capabilities(s, &caps);
	imap_tagged(s, "OK [CAPABILITY %s] Logged in.", caps.ptr);
	buf_deinit(&caps);
}

static void imap_auth_done(struct auth_exchange *ex, uint64_t owner, void *arg)
{
	struct conn *c = conn_find(arg, owner);
	if (c == NULL) {
		imap_exchange_free(&ex);
		return;
	}
	struct imap_session *s = conn_context(c);
	switch (auth_exchange_status(ex)) {
	case AUTH_CONTINUE:
		s->sasl = ex;
		conn_printf(s->conn, "+ %s\r\n", auth_exchange_output(ex));
		imap_busy_end(s);
		return;
	case AUTH_SUCCESS:
		if (!auth_exchange_then_ran(ex)) {
			/* RFC 9051 6.2.2: success data goes in a last
			 * challenge, answered by an empty line. */
			s->sasl = ex;
			s->sasl_final_wait = true;
			conn_printf(s->conn, "+ %s\r\n", auth_exchange_output(ex));
			imap_busy_end(s);
			return;
		}
		imap_logged_in(s, ex);
		imap_busy_end(s);
		break;
	case AUTH_FAILED:
		imap_auth_failed(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
		break;
	case AUTH_TEMPFAIL:
		imap_tagged(s, "NO [UNAVAILABLE] Temporary authentication failure.");
		imap_busy_end(s);
		break;
	}
	imap_exchange_free(&ex);
}

static void imap_auth_run(struct imap_session *s, struct auth_exchange *ex, const char *input,
			  size_t len)
{
	if (auth_exchange_then_arg(ex) == NULL) {
		struct imap_login_job *job = xmalloc(sizeof(*job));
		job->env = s->env;
		auth_exchange_then(ex, imap_login_open, job);
	}
	imap_busy_begin(s);
	auth_exchange_step(ex, input, len, conn_id(s->conn), imap_auth_done, s->env->loop);
}

/* ---- LOGIN and AUTHENTICATE ---- */

void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *user, *pass;
	size_t ulen, plen;
	if (cmd->argc != 2 || !imap_arg_astring(&cmd->args[0], &user, &ulen) ||
	    !imap_arg_astring(&cmd->args[1], &pass, &plen)) {
		imap_bad(s, "LOGIN needs a user name and a password.");
		return;
	}
	if (!imap_plaintext_allowed(s)) {
		/* RFC 9051 6.2.3: LOGINDISABLED */
		imap_tagged(s, "NO [PRIVACYREQUIRED] Plaintext login is disabled, use STARTTLS.");
		return;
	}
	char *name = xstrndup(user, ulen);
	struct auth_exchange *ex = auth_plain_start(s->env->auth, name, pass, plen);
	free(name);
	imap_auth_run(s, ex, NULL, 0);
}

void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	const char *mech_s;
	size_t mech_len;
	if (cmd->argc < 1 || cmd->argc > 2 || !imap_arg_atom(&cmd->args[0], &mech_s, &mech_len) ||
	    mech_len >= 64) {
		imap_bad(s, "AUTHENTICATE needs a mechanism name.");
		return;
	}
	char mech[64];
	memcpy(mech, mech_s, mech_len);
	mech[mech_len] = '\0';
	bool tls = conn_tls_active(s->conn);
	if (!auth_service_mechanism_ok(s->env->auth, mech, tls, imap_plaintext_allowed(s))) {
		imap_tagged(s, "NO [CANNOT] Unsupported authentication mechanism.");
		return;
	}
	char exporter[128], unique[128];
	struct auth_exchange_params params = {.service = "imap"};
	if (tls && tls_channel_binding_exporter(conn_ssl(s->conn), exporter))
		params.cb_exporter_b64 = exporter;
	if (tls && tls_channel_binding_unique(conn_ssl(s->conn), unique))
		params.cb_unique_b64 = unique;
	struct auth_exchange *ex = auth_sasl_start(s->env->auth, mech, &params);
	if (ex == NULL) {
		imap_tagged(s, "NO [UNAVAILABLE] Cannot start authentication.");
		return;
	}
	/* RFC 4959: an initial response; "=" is an empty one. */
	const char *ir = NULL;
	size_t ir_len = 0;
	if (cmd->argc == 2) {
		if (!imap_arg_atom(&cmd->args[1], &ir, &ir_len) &&
		    !imap_arg_astring(&cmd->args[1], &ir, &ir_len)) {
			auth_exchange_free(&ex);
			imap_bad(s, "Malformed initial response.");
			return;
		}
		if (ir_len == 1 && ir[0] == '=')
			ir_len = 0;
		if (!imap_base64_valid(ir, ir_len)) {
			auth_exchange_free(&ex);
			imap_bad(s, "Initial response is not base64."); /* RFC 4959 3 */
			return;
		}
	}
	imap_auth_run(s, ex, ir, ir_len);
}

void imap_sasl_abort(struct imap_session *s)
{
	s->sasl_final_wait = false;
	imap_exchange_free(&s->sasl);
}

/* Strict base64 (RFC 4648 4): the alphabet, whole quanta, padding only at
 * the end. Empty is valid (an empty response). */
static bool imap_base64_valid(const char *s, size_t len)
{
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (alpha)
			continue;
		/* "=" only in the last two places, and nothing but "=" after */
		if (c != '=' || i + 2 < len || (i + 2 == len && s[len - 1] != '='))
			return false;
	}
	return true;
}

/* A continuation line of AUTHENTICATE (RFC 9051 6.2.2). */
void imap_sasl_line(struct imap_session *s, const char *line, size_t len)
{
	struct auth_exchange *ex = s->sasl;
	s->sasl = NULL;
	if (len == 1 && line[0] == '*') {
		s->sasl_final_wait = false;
		imap_exchange_free(&ex);
		imap_tagged(s, "BAD Authentication cancelled.");
		return;
	}
	if (!s->sasl_final_wait && !imap_base64_valid(line, len)) {
		/* RFC 9051 6.2.2: a response that cannot be decoded is BAD */
		imap_exchange_free(&ex);
		imap_bad(s, "Response is not base64.");
		return;
	}
	if (s->sasl_final_wait) {
		s->sasl_final_wait = false;
		if (len != 0) {
			imap_auth_failed(s, auth_exchange_user(ex), auth_exchange_mechanism(ex));
			imap_exchange_free(&ex);
			return;
		}
		/* the store was not opened with the last step: do it now */
		struct imap_login_job *job = auth_exchange_then_arg(ex);
		imap_login_open(job, auth_exchange_user(ex));
		imap_logged_in(s, ex);
		imap_exchange_free(&ex);
		return;
	}
	imap_auth_run(s, ex, line, len);
}

static void imap_store_close_work(void *arg)
{
	struct store_user *u = arg;
	store_user_close(&u);
}

static void imap_store_close_done(void *arg)
{
}

void imap_auth_session_free(struct imap_session *s)
{
	if (s->delay_ev != NULL) {
		event_free(s->delay_ev);
		s->delay_ev = NULL;
	}
	imap_exchange_free(&s->sasl);
	if (s->store != NULL && s->env->pool != NULL) {
		/* Closing the index may checkpoint its WAL (fsyncs): on the
		 * pool, not in the loop that serves everyone else. (At worker
		 * exit the pool is gone first: then here.) */
		workpool_submit(s->env->pool, imap_store_close_work, imap_store_close_done, s->store);
		s->store = NULL;
	}
	store_user_close(&s->store);
}
