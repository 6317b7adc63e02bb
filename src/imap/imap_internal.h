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
#include "imap/imap_seqset.h"

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
struct imap_append_job;

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
	size_t reported_exists; /* the EXISTS count the client knows */
	char *reported_flags;   /* the FLAGS list the client knows */
	bool uid_cmd;           /* the command came as "UID <command>" */

	/* APPEND streaming a literal into a spool, then stored on the pool */
	struct store_spool *append_spool;
	int append_error; /* enum store_error of a failed spool write, 0 = none */
	struct imap_append_job *append_job;
	bool append_literal8; /* ~{n}: NUL allowed (RFC 3516) */

	/* IDLE */
	bool idling;
	struct event *watch_ev;

	/* SEARCHRES (RFC 5182): the saved result, as UIDs */
	struct imap_seqset saved;
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
/* Drop an AUTHENTICATE exchange in progress (its line was unusable). */
void imap_sasl_abort(struct imap_session *s);
void imap_auth_session_free(struct imap_session *s);

/* ---- imap_names.c ---- */
/* A client's mailbox name in store form (UTF-8, "INBOX" canonical); heap,
 * NULL if it is not valid in the session's encoding. */
char *imap_name_from_client(const struct imap_session *s, const char *name, size_t len);
/* A store name as the client expects it (quoted or literal). */
void imap_name_to_client(const struct imap_session *s, const char *name, struct buf *out);
/* LIST wildcards: "*" anything, "%" anything but '/'. */
bool imap_list_match(const char *pattern, const char *name);

/* ---- imap_folders.c ---- */
/* The tagged response for a store result ("OK <what> completed." on success). */
void imap_store_error(struct imap_session *s, int err, const char *what);
char *imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg);
bool imap_status_send(struct imap_session *s, const char *name, const struct imap_arg *items,
		      int *err_r);
void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd);

/* ---- imap_select.c ---- */
struct store_msg;
void imap_flags_format(struct imap_session *s, const struct store_msg *m, struct buf *out);
void imap_report_changes(struct imap_session *s, bool allow_expunge);
/* FLAGS and PERMANENTFLAGS again if the folder's keywords changed
 * (RFC 9051 7.3.5: a new keyword is announced before it is used). */
void imap_report_flags_list(struct imap_session *s);
/* A CONDSTORE enabling command (RFC 7162 3.1) ran: with a mailbox
 * selected, the client learns its HIGHESTMODSEQ the first time. */
void imap_condstore_on(struct imap_session *s);
void imap_close_selected(struct imap_session *s);
void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_examine(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_check(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd);

/* ---- imap_fetch.c, imap_change.c, imap_search.c ---- */
void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_move(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd);
bool imap_parse_flags(const struct imap_arg *arg, unsigned *flags_r, const char ***keywords_r,
		      size_t *nkeywords_r);
/* Evaluate a search program (the search keys, after any RETURN and
 * CHARSET): matching sequence numbers, ascending (heap), the highest
 * modseq among them, and whether the program used MODSEQ. False after
 * answering BAD. Used by SEARCH, SORT and THREAD. */
bool imap_search_run(struct imap_session *s, const struct imap_arg *args, size_t n,
		     uint32_t **seqs_r, size_t *n_r, uint64_t *maxmodseq_r, bool *uses_modseq_r);
/* The parsed structure of message seq (from the index cache, else parsed
 * and cached); NULL if it cannot be read. Free with mime_tree_free(). */
struct mime_tree;
struct mime_tree *imap_fetch_tree(struct imap_session *s, size_t seq);

/* ---- imap_sort.c: SORT and THREAD (RFC 5256) ---- */
void imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_thread(struct imap_session *s, const struct imap_command *cmd);

/* ---- imap_compress.c: COMPRESS=DEFLATE (RFC 4978) ---- */
void imap_cmd_compress(struct imap_session *s, const struct imap_command *cmd);

/* ---- imap_quota.c: QUOTA (RFC 9208) ---- */
void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd);

/* ---- imap_append.c ---- */
bool imap_append_literal_wanted(struct imap_session *s, const struct imap_command *partial,
				const struct imap_literal *lit);
void imap_append_start(struct imap_session *s);
void imap_append_data(struct imap_session *s, const char *data, size_t len);
void imap_append_abort(struct imap_session *s);
/* The session is closing while its APPEND runs on the pool: the job
 * takes over the store and the selected mailbox, and frees them. */
void imap_append_orphan(struct imap_session *s);
void imap_cmd_append(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd);
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
void imap_idle_free(struct imap_session *s);

/* ---- imap_msgset.c ---- */
/* The messages a sequence set (or, with s->uid_cmd, a UID set) names, as
 * sorted sequence numbers (heap; *n_r may be 0). False after answering
 * BAD. */
bool imap_msgset(struct imap_session *s, const struct imap_arg *arg, uint32_t **seqs_r,
		 size_t *n_r);
/* The existing UIDs of a UID set, sorted (heap). False if malformed. */
bool imap_uid_list(struct imap_session *s, const struct imap_arg *arg, uint32_t **uids_r,
		   size_t *n_r);

#endif
