/*
 * cli_deliver.c - `yubin deliver`: a local delivery agent (like
 * dovecot-lda or procmail's role) for an MTA that pipes a message to a
 * command, e.g. Postfix's mailbox_command or a pipe(8) transport.
 *
 *     yubin deliver -u USER [-f SENDER] [-m FOLDER] < message
 *
 * Exit status (sysexits.h), which MTAs map to delivery results:
 *   0            delivered (the file is durable: fsync + rename + dir fsync)
 *   67 NOUSER    no such user: the MTA bounces
 *   75 TEMPFAIL  anything that may go away (I/O error, disk full): retry
 *   65 DATAERR   message larger than limits.max_message_size
 *   77 NOPERM    mailbox full: the message would take the user over
 *                quota.storage; the reason goes to stderr and the MTA
 *                bounces (what dovecot-lda -e and maildrop's deliverquota
 *                do; Postfix reports it as 5.7.0 with our stderr text)
 *   64 USAGE     bad command line
 *
 * Run as root, it switches to the mail user and writes the store itself;
 * run by a user who cannot write data_dir, it hands the message to the
 * running server over LMTP (cli_deliver_lmtp.c).
 */
#include "cli/cli.h"

#include "auth/userdb.h"
#include "cli/cli_deliver_input.h"
#include "cli/cli_deliver_lmtp.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"
#include "store/store.h"
#include "store/store_quota.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

struct deliver_args {
	const char *user;
	const char *sender;
	const char *folder;
};

static int deliver_usage(void)
{
	fprintf(stderr, "usage: yubin deliver -u USER [-f SENDER] [-m FOLDER] < message\n");
	return EX_USAGE;
}

static int deliver_parse_args(struct cli_context *ctx, struct deliver_args *a)
{
	for (int i = 1; i < ctx->argc; i++) {
		const char *opt = ctx->argv[i];
		const char **dst = NULL;
		if (strcmp(opt, "-u") == 0 || strcmp(opt, "-d") == 0)
			dst = &a->user;
		else if (strcmp(opt, "-f") == 0)
			dst = &a->sender;
		else if (strcmp(opt, "-m") == 0)
			dst = &a->folder;
		if (dst == NULL || i + 1 >= ctx->argc)
			return deliver_usage();
		*dst = ctx->argv[++i];
	}
	return a->user != NULL ? 0 : deliver_usage();
}

/* The user the -u address delivers to, resolved like an LMTP recipient
 * (userdb_resolve_address): EX_NOUSER / EX_TEMPFAIL / 0. */
static int deliver_resolve_user(struct cli_context *ctx, const char *address, char *canon_r)
{
	char *path = cli_users_path(ctx);
	struct userdb *db = userdb_new(path);
	enum userdb_result r = userdb_resolve_address(
		db, address, ctx->cfg.lmtp_recipient_delimiter, canon_r);
	userdb_free(&db);
	free(path);
	if (r == USERDB_OK)
		return 0;
	if (r == USERDB_TEMPFAIL) {
		fprintf(stderr, "yubin: cannot read the user directory\n");
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "yubin: no such user: %s\n", address);
	return EX_NOUSER;
}

struct deliver_spool_sink {
	struct store_spool *spool;
	bool too_big;
};

static int deliver_to_spool(void *ctx, const char *data, size_t len)
{
	struct deliver_spool_sink *sink = ctx;
	enum store_error err = store_spool_write(sink->spool, data, len);
	if (err == STORE_ERR_QUOTA)
		sink->too_big = true; /* read on, to answer only at the end */
	else if (err != STORE_OK)
		return EX_TEMPFAIL;
	return 0;
}

/* Read the message from stdin into a spool. */
static int deliver_read_stdin(struct store_spool *spool)
{
	struct deliver_spool_sink sink = {.spool = spool};
	int rc = deliver_input_read(STDIN_FILENO, deliver_to_spool, &sink);
	if (rc != 0) {
		fprintf(stderr, "yubin: reading the message failed\n");
		return rc;
	}
	if (sink.too_big) {
		fprintf(stderr, "yubin: message larger than limits.max_message_size\n");
		return EX_DATAERR;
	}
	return 0;
}

/* An envelope sender goes into Return-Path: it must not carry line
 * breaks, controls or angle brackets that would forge header lines. */
static bool deliver_sender_valid(const char *sender)
{
	for (const unsigned char *p = (const unsigned char *)sender; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return strlen(sender) <= 512;
}

static int deliver_store(struct cli_context *ctx, const struct deliver_args *a,
			 const char *address, const char *user, struct store_spool *spool)
{
	const struct config *cfg = &ctx->cfg;
	struct store_settings settings = {
		.data_dir = cfg->data_dir,
		.mail_location = cfg->mail_location,
		.hostname = cfg->hostname,
		.fsync = cfg->mail_fsync,
	};
	const char *eol = store_spool_crlf(spool) ? "\r\n" : "\n";
	struct buf prefix;
	buf_init(&prefix, 0);
	if (a->sender != NULL)
		buf_appendf(&prefix, "Return-Path: <%s>%s", a->sender, eol);
	buf_appendf(&prefix, "Delivered-To: %s%s", address, eol);
	/* the whole user counts, whichever folder -m names */
	uint64_t size = store_quota_message_size(prefix.ptr, prefix.len, spool);
	enum store_error err = store_quota_check_user(&settings, user, cfg->quota_storage, size);
	if (err == STORE_OK)
		err = store_deliver(&settings, user, a->folder, prefix.ptr, prefix.len, spool);
	if (err == STORE_ERR_NOTFOUND && a->folder != NULL) {
		log_info("event=deliver_fallback user=%s folder=%s reason=\"no such folder\"", user,
			 a->folder);
		err = store_deliver(&settings, user, NULL, prefix.ptr, prefix.len, spool);
	}
	buf_deinit(&prefix);
	log_info("event=deliver service=deliver user=%s size=%llu result=%s", user,
		 (unsigned long long)store_spool_size(spool),
		 err == STORE_OK ? "ok" : store_error_name(err));
	if (err == STORE_ERR_QUOTA) {
		fprintf(stderr, "yubin: mailbox full: %s is over its storage quota\n", address);
		return EX_NOPERM;
	}
	return err == STORE_OK ? 0 : EX_TEMPFAIL;
}

int cli_deliver(struct cli_context *ctx)
{
	struct deliver_args a = {0};
	int rc = deliver_parse_args(ctx, &a);
	if (rc != 0)
		return rc;
	/* Postfix exports the envelope sender to mailbox_command as $SENDER. */
	if (a.sender == NULL)
		a.sender = getenv("SENDER");
	log_set_role("deliver");
	if (a.sender != NULL && !deliver_sender_valid(a.sender)) {
		fprintf(stderr, "yubin: invalid sender address\n");
		return EX_USAGE;
	}
	char address[USERNAME_MAX + 1], user[USERNAME_MAX + 1];
	if (!username_normalize(a.user, strlen(a.user), address)) {
		fprintf(stderr, "yubin: invalid user name: %s\n", a.user);
		return EX_NOUSER;
	}
	if (geteuid() != 0 && access(ctx->cfg.data_dir, W_OK | X_OK) != 0) {
		/* Run by an MTA as the recipient (Postfix mailbox_command):
		 * the running server delivers for us. LMTP has no folders. */
		if (a.folder != NULL)
			fprintf(stderr, "yubin: -m %s ignored: delivering through LMTP to INBOX\n",
				a.folder);
		return cli_deliver_lmtp(&ctx->cfg, address, a.sender);
	}
	if ((rc = cli_become_mail_user(ctx)) != 0)
		return EX_TEMPFAIL;
	if ((rc = deliver_resolve_user(ctx, address, user)) != 0)
		return rc;
	struct store_settings settings = {.data_dir = ctx->cfg.data_dir};
	struct store_spool *spool = store_spool_new(&settings, ctx->cfg.limits_max_message_size);
	rc = deliver_read_stdin(spool);
	if (rc == 0)
		rc = deliver_store(ctx, &a, address, user, spool);
	store_spool_free(&spool);
	return rc;
}
