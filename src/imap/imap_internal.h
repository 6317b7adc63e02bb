/*
 * imap_internal.h - the IMAP session shared by the files of src/imap/:
 * imap_session.c (life cycle, input, dispatch, responses), imap_auth.c
 * (not-authenticated state), imap_folders.c (mailbox commands),
 * imap_select.c (SELECT, EXAMINE and the selected state's updates),
 * imap_fetch.c, imap_store.c, imap_search.c, imap_append.c, imap_idle.c.
 * Not for use outside src/imap/.
 */
#ifndef YUBIN_IMAP_IMAP_INTERNAL_H
#define YUBIN_IMAP_IMAP_INTERNAL_H

#include "imap/imap_arg.h"
#include "imap/imap_parser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct event;
struct server_env;
struct auth_exchange;
struct store_user;
struct store_mailbox;
struct store_spool;
struct buf;

/* RFC 9051 3: the connection states. */
enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

/* Failed authentications on one connection before it is closed. */
#define IMAP_MAX_AUTH_FAILURES 3
/* Longest tag we keep (the parser bounds the line anyway). */
#define IMAP_TAG_MAX 128

struct imap_session {
	struct server_env *env;
	struct conn *conn;
	struct imap_parser *parser;
	enum imap_state state;
	bool busy;        /* waiting for the pool, a delay or output: input waits */
	bool output_full; /* the client is not reading our replies */
	bool greeted;
	bool counted; /* holds an addrlimit connection slot */
	unsigned bad_commands;
	unsigned auth_failures;
	char tag[IMAP_TAG_MAX + 1]; /* of the command in progress */

	/* ENABLE (RFC 5161) */
	bool rev2;        /* IMAP4rev2 semantics (RFC 9051) */
	bool utf8;        /* UTF8=ACCEPT (RFC 6855): mailbox names and strings in UTF-8 */
	bool condstore;   /* RFC 7162: MODSEQ in FETCH responses */
	bool qresync;

	/* AUTHENTICATE in progress */
	struct auth_exchange *sasl;
	bool sasl_final_wait;
	struct event *delay_ev;

	/* after login */
	char *user;
	struct store_user *store;

	/* SELECTED */
	struct store_mailbox *mb;
	char *mailbox;  /* its name, UTF-8 */
	bool readonly;

	/* APPEND streaming a literal into a spool */
	struct store_spool *append_spool;
	int append_error; /* enum store_error of a failed spool write, 0 = none */

	/* IDLE */
	bool idling;
	struct event *watch_ev;
};

/* ---- imap_session.c ---- */
/* Untagged "* ..." and tagged "<tag> ..." responses (CRLF added). */
void imap_untagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_tagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_write(struct imap_session *s, const void *data, size_t len);
void imap_busy_begin(struct imap_session *s);
void imap_busy_end(struct imap_session *s);
void imap_bad(struct imap_session *s, const char *why);
/* Write s as an IMAP string (atom not allowed: quoted when it can be,
 * a literal otherwise) into out. */
void imap_quote(struct buf *out, const char *str, size_t len);
/* Is the session allowed to use UTF-8 in mailbox names (rev2 or UTF8=ACCEPT)? */
bool imap_utf8_names(const struct imap_session *s);

/* ---- imap_auth.c ---- */
void imap_send_greeting(struct imap_session *s);
void imap_capabilities(struct imap_session *s, struct buf *out);
bool imap_plaintext_allowed(const struct imap_session *s);
void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd);
void imap_sasl_line(struct imap_session *s, const char *line, size_t len);
void imap_auth_session_free(struct imap_session *s);

#endif
