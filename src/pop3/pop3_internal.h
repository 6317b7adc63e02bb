/*
 * pop3_internal.h - the POP3 session shared by pop3_session.c (life cycle,
 * input, dispatch), pop3_auth.c (AUTHORIZATION state), pop3_mail.c
 * (TRANSACTION and UPDATE states) and pop3_stream.c (RETR/TOP bodies).
 * Not for use outside src/pop3/.
 */
#ifndef YUBIN_POP3_POP3_INTERNAL_H
#define YUBIN_POP3_POP3_INTERNAL_H

#include "pop3/pop3_output.h"
#include "pop3/pop3_parser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct server_env;
struct auth_exchange;
struct store_user;
struct store_pop3_view;
struct event;

/* RFC 1939 3: the session states. */
enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_LOGGING_IN, /* credentials accepted, mailbox being opened */
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE, /* QUIT received, deletions being committed */
};

/* Failed authentications on one connection before it is closed. */
#define POP3_MAX_AUTH_FAILURES 3

struct pop3_stream {
	int fd;
	uint64_t left; /* bytes of the file not read yet */
	struct pop3_output enc;
};

struct pop3_session {
	struct server_env *env;
	struct conn *conn;
	enum pop3_state state;
	bool busy; /* waiting for work or streaming: input is not processed */
	bool output_full; /* the client is not reading: wait for it to drain */
	bool utf8; /* RFC 6856 UTF8 command given */
	bool greeted;
	unsigned bad_commands;
	unsigned auth_failures;
	char apop_challenge[160]; /* "" if APOP is not offered */
	char *pending_user;       /* after USER, before PASS */

	/* SASL (RFC 5034) */
	struct auth_exchange *sasl;
	bool sasl_final_wait; /* sent the success data, waiting for the empty reply */
	struct event *delay_ev; /* failed-login delay */

	/* TRANSACTION */
	char *user;
	struct store_user *store;
	struct store_pop3_view *view;
	bool *deleted;
	size_t deleted_count;
	uint64_t deleted_size;
	struct pop3_stream stream;
	bool streaming;

	/* for the logout line */
	unsigned retr_count, top_count;
	uint64_t retr_bytes;
	unsigned expunged; /* deleted at UPDATE */
	bool counted; /* holds an addrlimit connection slot */
};

/* ---- pop3_session.c ---- */
void pop3_reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_busy_begin(struct pop3_session *s);
void pop3_busy_end(struct pop3_session *s);
void pop3_bad_command(struct pop3_session *s, const char *why);
void pop3_close(struct pop3_session *s);

/* ---- pop3_auth.c ---- */
void pop3_send_greeting(struct pop3_session *s);
bool pop3_plaintext_allowed(const struct pop3_session *s);
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_utf8(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_lang(struct pop3_session *s, const struct pop3_command *cmd);
/* A line received while a SASL exchange waits for the client. */
void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len);
void pop3_auth_session_free(struct pop3_session *s);

/* ---- pop3_mail.c ---- */
/* Credentials are good: open the mailbox (on the pool), then TRANSACTION. */
void pop3_login(struct pop3_session *s, const char *user, const char *mech);
/* Opening the mailbox as part of the password check's pool job (see
 * auth_exchange_then): new, run (pool thread), finish (loop), free. */
struct pop3_open_job;
struct pop3_open_job *pop3_open_job_new(struct pop3_session *s, const char *mech);
void pop3_open_job_run(void *job, const char *user);
void pop3_open_finish(struct pop3_session *s, struct pop3_open_job **job);
void pop3_open_job_free(struct pop3_open_job **job);
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_mail_session_free(struct pop3_session *s);

/* ---- pop3_stream.c ---- */
/* Send message idx (RETR: lines = POP3_OUTPUT_ALL_LINES; TOP: n). */
void pop3_stream_message(struct pop3_session *s, size_t idx, size_t lines);
void pop3_stream_pump(struct pop3_session *s);
void pop3_stream_abort(struct pop3_session *s);

#endif
