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
 *   64 USAGE     bad command line
 *
 * Run as root, it switches to the mail user and writes the store itself;
 * run by a user who cannot write data_dir, it hands the message to the
 * running server over LMTP (cli_deliver_lmtp.c).
 */
#include "cli/cli.h"

#include "auth/userdb.h"
#include "cli/cli_deliver_lmtp.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"
#include "store/store.h"

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

/* Does the user exist? EX_NOUSER / EX_TEMPFAIL / 0. */
static int deliver_check_user(struct cli_context *ctx, const char *user)
{
	char *path = cli_users_path(ctx);
	struct userdb *db = userdb_new(path);
	char *stored = NULL;
	enum userdb_result r = userdb_lookup(db, user, &stored);
	if (stored != NULL) {
		mem_wipe(stored, strlen(stored));
		free(stored);
	}
	userdb_free(&db);
	free(path);
	if (r == USERDB_OK)
		return 0;
	if (r == USERDB_TEMPFAIL) {
		fprintf(stderr, "yubin: cannot read the user directory\n");
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "yubin: no such user: %s\n", user);
	return EX_NOUSER;
}

/*
 * A "From sender date" line first is an mbox envelope line that some MTAs
 * (Postfix local(8) for mailbox_command) put before the message; it is not
 * a header and would break the header block, so it is dropped.
 */
struct deliver_reader {
	bool started;   /* the first bytes were examined */
	bool skip_line; /* inside the envelope line */
	char head[5];
	size_t head_len;
};

/* Feed stdin bytes; what belongs to the message goes to the spool. */
static enum store_error deliver_feed(struct deliver_reader *r, struct store_spool *spool,
				     const char *data, size_t len)
{
	while (!r->started && len > 0) {
		r->head[r->head_len++] = *data++;
		len--;
		if (r->head_len == sizeof(r->head) || r->head[r->head_len - 1] == '\n') {
			r->started = true;
			r->skip_line = r->head_len == 5 && memcmp(r->head, "From ", 5) == 0;
			if (!r->skip_line) {
				enum store_error err = store_spool_write(spool, r->head, r->head_len);
				if (err != STORE_OK)
					return err;
			}
		}
	}
	if (r->skip_line && len > 0) {
		const char *nl = memchr(data, '\n', len);
		if (nl == NULL)
			return STORE_OK;
		r->skip_line = false;
		len -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
	return len > 0 ? store_spool_write(spool, data, len) : STORE_OK;
}

/* Read the message from stdin into a spool. */
static int deliver_read_stdin(struct store_spool *spool)
{
	char chunk[64 * 1024];
	struct deliver_reader reader = {0};
	bool too_big = false;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "yubin: reading the message: %s\n", strerror(errno));
			return EX_TEMPFAIL;
		}
		enum store_error err = deliver_feed(&reader, spool, chunk, (size_t)n);
		if (err == STORE_ERR_QUOTA)
			too_big = true;
		else if (err != STORE_OK)
			return EX_TEMPFAIL;
	}
	/* a message shorter than the "From " test */
	if (!reader.started && reader.head_len > 0 &&
	    store_spool_write(spool, reader.head, reader.head_len) != STORE_OK)
		return EX_TEMPFAIL;
	if (too_big) {
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
			 const char *user, struct store_spool *spool)
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
	buf_appendf(&prefix, "Delivered-To: %s%s", user, eol);
	enum store_error err =
		store_deliver(&settings, user, a->folder, prefix.ptr, prefix.len, spool);
	if (err == STORE_ERR_NOTFOUND && a->folder != NULL) {
		log_info("event=deliver_fallback user=%s folder=%s reason=\"no such folder\"", user,
			 a->folder);
		err = store_deliver(&settings, user, NULL, prefix.ptr, prefix.len, spool);
	}
	buf_deinit(&prefix);
	log_info("event=deliver service=deliver user=%s size=%llu result=%s", user,
		 (unsigned long long)store_spool_size(spool),
		 err == STORE_OK ? "ok" : store_error_name(err));
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
	char user[USERNAME_MAX + 1];
	if (!username_normalize(a.user, strlen(a.user), user)) {
		fprintf(stderr, "yubin: invalid user name: %s\n", a.user);
		return EX_NOUSER;
	}
	if (geteuid() != 0 && access(ctx->cfg.data_dir, W_OK | X_OK) != 0) {
		/* Run by an MTA as the recipient (Postfix mailbox_command):
		 * the running server delivers for us. LMTP has no folders. */
		if (a.folder != NULL)
			fprintf(stderr, "yubin: -m %s ignored: delivering through LMTP to INBOX\n",
				a.folder);
		return cli_deliver_lmtp(&ctx->cfg, user, a.sender);
	}
	if ((rc = cli_become_mail_user(ctx)) != 0)
		return EX_TEMPFAIL;
	if ((rc = deliver_check_user(ctx, user)) != 0)
		return rc;
	struct store_settings settings = {.data_dir = ctx->cfg.data_dir};
	struct store_spool *spool = store_spool_new(&settings, ctx->cfg.limits_max_message_size);
	rc = deliver_read_stdin(spool);
	if (rc == 0)
		rc = deliver_store(ctx, &a, user, spool);
	store_spool_free(&spool);
	return rc;
}
