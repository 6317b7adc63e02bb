/*
 * lmtp_receive.c - receiving a message body (DATA, BDAT) and delivering it
 * to every accepted recipient, with one reply each (RFC 2033 4.2).
 *
 * The body is decoded as it arrives (lmtp_data.h: end-of-data detection
 * that cannot be smuggled past, dot-unstuffing) into a store spool, so a
 * large message never sits in memory. Delivery (write, fsync, rename,
 * fsync per recipient) runs on the worker's thread pool; each recipient's
 * 250 is sent only after its copy is durable.
 *
 * A recipient whose mail would exceed quota.storage gets 552 5.2.2 (RFC
 * 5321 4.2.2 "exceeded storage allocation", RFC 3463 X.2.2 "mailbox
 * full"): permanent, so the sender hears of it at once, as with Dovecot's
 * default (quota_full_tempfail = no). The check runs after DATA, when the
 * size is known, beside the delivery on the pool.
 */
#include "lmtp/lmtp_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/conn.h"
#include "net/workpool.h"
#include "store/store.h"
#include "store/store_quota.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Input examined per step while receiving a body. */
#define LMTP_RECEIVE_CHUNK (64 * 1024)

static bool lmtp_transaction_ready(struct lmtp_session *s)
{
	if (!s->has_mail) {
		lmtp_reply(s, "503 5.5.1 Send MAIL first");
		return false;
	}
	if (s->nrcpts == 0) {
		lmtp_reply(s, "503 5.5.1 No valid recipients");
		return false;
	}
	return true;
}

static void lmtp_spool_start(struct lmtp_session *s)
{
	if (s->spool == NULL)
		s->spool = store_spool_new(&s->env->store, s->env->cfg->limits_max_message_size);
}

static void lmtp_spool_write(struct lmtp_session *s, const char *data, size_t len)
{
	if (len == 0 || s->spool_error != 0)
		return;
	enum store_error err = store_spool_write(s->spool, data, len);
	if (err != STORE_OK)
		s->spool_error = (int)err;
}

void lmtp_cmd_data(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (!lmtp_transaction_ready(s))
		return;
	if (s->bdat_started) {
		lmtp_reply(s, "503 5.5.1 DATA not allowed after BDAT");
		return;
	}
	if (s->mail.body == LMTP_BODY_BINARYMIME) {
		/* RFC 3030 3: binary content cannot be dot-stuffed */
		lmtp_reply(s, "503 5.5.1 BODY=BINARYMIME requires BDAT");
		return;
	}
	lmtp_spool_start(s);
	lmtp_data_init(&s->data);
	s->phase = LMTP_PHASE_DATA;
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

void lmtp_cmd_bdat(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	uint64_t size;
	bool last;
	if (!lmtp_parse_bdat(cmd->arg, cmd->arg_len, &size, &last)) {
		lmtp_reply(s, "501 5.5.4 Syntax: BDAT <size> [LAST]");
		return;
	}
	/* RFC 3030 2: the chunk follows the command whatever the reply, so
	 * even a refused BDAT's bytes must be read and thrown away. */
	if (!s->has_mail || s->nrcpts == 0) {
		lmtp_spool_start(s);
		s->spool_error = -1;
	} else {
		lmtp_spool_start(s);
	}
	s->bdat_started = true;
	s->bdat_left = size;
	s->bdat_last = last;
	s->phase = LMTP_PHASE_BDAT;
}

/* ---- delivery on the pool ---- */

struct lmtp_delivery {
	struct server_env *env;
	uint64_t owner;
	struct store_spool *spool;
	struct lmtp_rcpt *rcpts;
	size_t nrcpts;
	enum store_error *results;
	uint64_t quota; /* quota.storage when the body arrived, 0 = none */
	char *sender;
	char *helo;
	char peer_ip[64];
	char session_id[32];
};

/* Return-Path (RFC 5321 4.4), Delivered-To, Received (RFC 5321 4.4). */
static void lmtp_trace_headers(const struct lmtp_delivery *d, size_t i, bool crlf,
			       struct buf *out)
{
	const char *eol = crlf ? "\r\n" : "\n";
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_appendf(out, "Return-Path: <%s>%s", d->sender, eol);
	buf_appendf(out, "Delivered-To: %s%s", d->rcpts[i].path, eol);
	buf_appendf(out, "Received: from %s ([%s])%s\tby %s (yubin) with LMTP id %s%s\tfor <%s>; %s%s",
		    d->helo, d->peer_ip, eol, d->env->cfg->hostname, d->session_id, eol,
		    d->rcpts[i].path, date, eol);
}

static void lmtp_deliver_work(void *arg)
{
	struct lmtp_delivery *d = arg;
	/* LMTP lines end in CRLF (RFC 5321 2.3.8), even for an empty body. */
	bool crlf = true;
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct buf prefix;
		buf_init(&prefix, 0);
		lmtp_trace_headers(d, i, crlf, &prefix);
		uint64_t size = store_quota_message_size(prefix.ptr, prefix.len, d->spool);
		d->results[i] = store_quota_check_user(&d->env->store, d->rcpts[i].user,
						       d->quota, size);
		if (d->results[i] == STORE_OK)
			d->results[i] = store_deliver(&d->env->store, d->rcpts[i].user, NULL,
						      prefix.ptr, prefix.len, d->spool);
		buf_deinit(&prefix);
	}
}

static void lmtp_delivery_free(struct lmtp_delivery *d)
{
	for (size_t i = 0; i < d->nrcpts; i++) {
		free(d->rcpts[i].user);
		free(d->rcpts[i].path);
	}
	free(d->rcpts);
	free(d->results);
	store_spool_free(&d->spool);
	free(d->sender);
	free(d->helo);
	free(d);
}

static void lmtp_deliver_done(void *arg)
{
	struct lmtp_delivery *d = arg;
	struct conn *c = conn_find(d->env->loop, d->owner);
	uint64_t size = store_spool_size(d->spool);
	for (size_t i = 0; i < d->nrcpts; i++) {
		char safe_from[LOG_SAFE_MAX];
		log_info("event=deliver service=lmtp user=%s from=%s size=%llu result=%s",
			 d->rcpts[i].user, log_safe(safe_from, d->sender, strlen(d->sender)),
			 (unsigned long long)size,
			 d->results[i] == STORE_OK ? "ok" : store_error_name(d->results[i]));
	}
	if (c != NULL) {
		struct lmtp_session *s = conn_context(c);
		for (size_t i = 0; i < d->nrcpts; i++) {
			const char *path = d->rcpts[i].path;
			switch (d->results[i]) {
			case STORE_OK:
				s->delivered++;
				lmtp_reply(s, "250 2.0.0 <%s> Ok: delivered", path);
				break;
			case STORE_ERR_QUOTA:
				lmtp_reply(s, "552 5.2.2 <%s> Mailbox full", path);
				break;
			case STORE_ERR_NOTFOUND:
				lmtp_reply(s, "550 5.1.1 <%s> Mailbox unavailable", path);
				break;
			default:
				lmtp_reply(s, "451 4.3.0 <%s> Temporary failure, try again later",
					   path);
				break;
			}
		}
		lmtp_busy_end(s);
	}
	lmtp_delivery_free(d);
}

/* The body is complete: one reply per recipient, after delivery. */
static void lmtp_finish_body(struct lmtp_session *s)
{
	s->phase = LMTP_PHASE_COMMAND;
	if (s->spool_error != 0) {
		const char *reply = s->spool_error == STORE_ERR_QUOTA
					    ? "552 5.3.4 Message size exceeds fixed limit"
					    : "451 4.3.0 Temporary failure receiving the message";
		for (size_t i = 0; i < s->nrcpts; i++)
			lmtp_reply(s, "%s", reply);
		lmtp_transaction_reset(s);
		return;
	}
	struct lmtp_delivery *d = xmalloc(sizeof(*d));
	d->env = s->env;
	d->owner = conn_id(s->conn);
	d->spool = s->spool;
	d->rcpts = s->rcpts;
	d->nrcpts = s->nrcpts;
	d->results = xcalloc(s->nrcpts, sizeof(*d->results));
	d->quota = s->env->cfg->quota_storage;
	d->sender = xstrdup(s->mail.path);
	d->helo = xstrdup(s->helo != NULL ? s->helo : "unknown");
	snprintf(d->peer_ip, sizeof(d->peer_ip), "%s", conn_peer_ip(s->conn));
	snprintf(d->session_id, sizeof(d->session_id), "%llx",
		 (unsigned long long)conn_id(s->conn));
	s->spool = NULL;
	s->rcpts = NULL;
	s->nrcpts = 0;
	lmtp_transaction_reset(s);
	lmtp_busy_begin(s);
	workpool_submit(s->env->pool, lmtp_deliver_work, lmtp_deliver_done, d);
}

/* DATA: decode up to the terminator. */
static bool lmtp_receive_data(struct lmtp_session *s, struct evbuffer *in)
{
	static char out[LMTP_DATA_OUT_MAX(LMTP_RECEIVE_CHUNK)];
	struct evbuffer_iovec vec;
	if (evbuffer_peek(in, LMTP_RECEIVE_CHUNK, NULL, &vec, 1) < 1)
		return false;
	size_t len = vec.iov_len < LMTP_RECEIVE_CHUNK ? vec.iov_len : LMTP_RECEIVE_CHUNK;
	size_t out_len, consumed;
	enum lmtp_data_status st =
		lmtp_data_feed(&s->data, vec.iov_base, len, out, &out_len, &consumed);
	lmtp_spool_write(s, out, out_len);
	evbuffer_drain(in, consumed);
	if (st == LMTP_DATA_END)
		lmtp_finish_body(s);
	return true;
}

/* BDAT: exactly bdat_left bytes, no unstuffing (RFC 3030 2). */
static bool lmtp_receive_bdat(struct lmtp_session *s, struct evbuffer *in)
{
	while (s->bdat_left > 0) {
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			return false;
		size_t len = vec.iov_len < s->bdat_left ? vec.iov_len : (size_t)s->bdat_left;
		lmtp_spool_write(s, vec.iov_base, len);
		evbuffer_drain(in, len);
		s->bdat_left -= len;
	}
	s->phase = LMTP_PHASE_COMMAND;
	if (s->spool_error == -1) {
		lmtp_reply(s, "503 5.5.1 Send MAIL and RCPT first");
		lmtp_transaction_reset(s);
	} else if (s->bdat_last) {
		lmtp_finish_body(s);
	} else {
		lmtp_reply(s, "250 2.0.0 %llu octets received",
			   (unsigned long long)store_spool_size(s->spool));
	}
	return true;
}

bool lmtp_receive_input(struct lmtp_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	if (s->phase == LMTP_PHASE_BDAT)
		return lmtp_receive_bdat(s, in);
	if (evbuffer_get_length(in) == 0)
		return false;
	return lmtp_receive_data(s, in);
}
