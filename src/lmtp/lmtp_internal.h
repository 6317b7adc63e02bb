/*
 * lmtp_internal.h - the LMTP session shared by lmtp_session.c (commands)
 * and lmtp_receive.c (DATA/BDAT and delivery). Not for use outside
 * src/lmtp/.
 */
#ifndef YUBIN_LMTP_LMTP_INTERNAL_H
#define YUBIN_LMTP_LMTP_INTERNAL_H

#include "lmtp/lmtp_data.h"
#include "lmtp/lmtp_parser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct server_env;
struct store_spool;

struct lmtp_rcpt {
	char *user; /* canonical user name */
	char *path; /* the address as given in RCPT TO, for replies and Delivered-To */
};

enum lmtp_phase {
	LMTP_PHASE_COMMAND, /* reading command lines */
	LMTP_PHASE_DATA,    /* reading the DATA body up to "." */
	LMTP_PHASE_BDAT,    /* reading a BDAT chunk of known size */
};

struct lmtp_session {
	struct server_env *env;
	struct conn *conn;
	enum lmtp_phase phase;
	bool busy;
	bool output_full; /* the client is not reading: wait for it to drain */
	bool counted;
	char *helo; /* NULL until LHLO */
	unsigned bad_commands;

	/* the transaction */
	bool has_mail;
	struct lmtp_mail_from mail;
	struct lmtp_rcpt *rcpts;
	size_t nrcpts;
	struct lmtp_data data;
	struct store_spool *spool;
	int spool_error; /* enum store_error of the first failed write, 0 = none */
	uint64_t bdat_left;
	bool bdat_last;
	bool bdat_started;
	unsigned delivered;
};

/* ---- lmtp_session.c ---- */
void lmtp_reply(struct lmtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lmtp_transaction_reset(struct lmtp_session *s);
void lmtp_busy_begin(struct lmtp_session *s);
void lmtp_busy_end(struct lmtp_session *s);

/* ---- lmtp_receive.c ---- */
void lmtp_cmd_data(struct lmtp_session *s, const struct lmtp_command *cmd);
void lmtp_cmd_bdat(struct lmtp_session *s, const struct lmtp_command *cmd);
/* Consume body bytes from the input; false if more input is needed. */
bool lmtp_receive_input(struct lmtp_session *s);

#endif
