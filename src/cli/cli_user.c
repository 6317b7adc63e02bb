/*
 * cli_user.c - `yubin user`: add, change, remove and list users.
 *
 *     yubin user add NAME [-s SCHEME] [--password-stdin]
 *     yubin user passwd NAME [-s SCHEME] [--password-stdin]
 *     yubin user del NAME
 *     yubin user list
 *
 * Exit codes (sysexits.h), so that scripts can tell the cases apart:
 *     0            done
 *     EX_USAGE     bad arguments, an invalid user name, a scheme that
 *                  cannot hash
 *     EX_DATAERR   add: the user already exists; the password could not be
 *                  read (mismatch, empty, too long) or hashed
 *     EX_NOUSER    passwd, del: the user does not exist
 *     EX_TEMPFAIL  the users file could not be read or written, or the mail
 *                  user could not be become: worth trying again
 *     EX_IOERR     `list` could not write its output
 *     EX_SOFTWARE  a bug (userdb refused what password_hash produced)
 *
 * SECURITY: the password is read (possibly from /dev/tty, which belongs to
 * the invoking user) and hashed first; then cli_become_mail_user() switches
 * to the unprivileged mail user before the users file is touched, so the
 * file is always written by, and owned by, that user. Only user names,
 * never passwords or hashes, appear in messages.
 */
#include "cli/cli.h"

#include "auth/password.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

struct cli_user_args {
	char name[USERNAME_MAX + 1]; /* canonical */
	const char *scheme;          /* NULL: auth.default_scheme */
	bool password_stdin;
	bool help;
};

struct cli_user_cmd {
	const char *name;
	bool takes_name;
	bool takes_password;
	int (*run)(struct cli_context *ctx, const struct cli_user_args *a, const char *path);
};

static void cli_user_usage(void)
{
	fprintf(stderr, "usage: yubin user add NAME [-s SCHEME] [--password-stdin]\n"
			"       yubin user passwd NAME [-s SCHEME] [--password-stdin]\n"
			"       yubin user del NAME\n"
			"       yubin user list\n"
			"The password is read from stdin when --password-stdin is given or\n"
			"stdin is not a terminal, else asked for twice on the terminal.\n"
			"SCHEME defaults to auth.default_scheme.\n");
}

/* One option of argv[*i]; false (message printed) if it is not valid. */
static bool cli_user_option(const struct cli_user_cmd *cmd, int argc, char **argv, int *i,
			    struct cli_user_args *a)
{
	const char *arg = argv[*i];
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		a->help = true;
		return true;
	}
	if (cmd->takes_password && strcmp(arg, "--password-stdin") == 0) {
		a->password_stdin = true;
		return true;
	}
	if (cmd->takes_password && (strcmp(arg, "-s") == 0 || strcmp(arg, "--scheme") == 0)) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "yubin: %s needs an argument\n", arg);
			return false;
		}
		a->scheme = argv[++*i];
		return true;
	}
	if (cmd->takes_password && strncmp(arg, "-s", 2) == 0) {
		a->scheme = arg + 2; /* -sSCHEME */
		return true;
	}
	if (cmd->takes_password && strncmp(arg, "--scheme=", 9) == 0) {
		a->scheme = arg + 9;
		return true;
	}
	fprintf(stderr, "yubin: user %s: unknown option %s\n", cmd->name, arg);
	return false;
}

/* Parse argv[2..] (argv[0] = "user", argv[1] = the user command). */
static bool cli_user_parse(const struct cli_user_cmd *cmd, int argc, char **argv,
			   struct cli_user_args *a)
{
	const char *name = NULL;
	bool options = true;
	for (int i = 2; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			if (!cli_user_option(cmd, argc, argv, &i, a))
				return false;
		} else if (cmd->takes_name && name == NULL) {
			name = argv[i];
		} else {
			fprintf(stderr, "yubin: user %s: unexpected argument\n", cmd->name);
			return false;
		}
	}
	if (a->help || !cmd->takes_name)
		return true;
	if (name == NULL) {
		fprintf(stderr, "yubin: user %s: missing user name\n", cmd->name);
		return false;
	}
	if (!username_normalize(name, strlen(name), a->name)) {
		char safe[LOG_SAFE_MAX];
		fprintf(stderr, "yubin: invalid user name %s\n",
			log_safe(safe, name, strlen(name)));
		return false;
	}
	return true;
}

/* Map a userdb result to a message and an exit code. */
static int cli_user_result(enum userdb_result r, const char *name, const char *done,
			   const char *path)
{
	switch (r) {
	case USERDB_OK:
		printf("user %s %s\n", name, done);
		return 0;
	case USERDB_EXISTS:
		fprintf(stderr, "yubin: user %s already exists\n", name);
		return EX_DATAERR;
	case USERDB_NOTFOUND:
		fprintf(stderr, "yubin: user %s does not exist\n", name);
		return EX_NOUSER;
	case USERDB_INVALID:
		fprintf(stderr, "yubin: user %s: refused by the user directory\n", name);
		return EX_SOFTWARE;
	case USERDB_TEMPFAIL:
		break;
	}
	fprintf(stderr, "yubin: cannot update %s (see the error above)\n", path);
	return EX_TEMPFAIL;
}

/*
 * Tell early, before a password is typed in vain, whether add or passwd
 * can succeed. Only a definite answer counts: if the file cannot be read
 * yet (it may be readable only by the mail user), the edit decides.
 */
static int cli_user_precheck(const char *path, const char *name, bool want_present)
{
	if (access(path, R_OK) != 0)
		return 0;
	struct userdb *db = userdb_new(path);
	char *stored = NULL;
	enum userdb_result r = userdb_lookup(db, name, &stored);
	if (stored != NULL) {
		mem_wipe(stored, strlen(stored));
		free(stored);
	}
	userdb_free(&db);
	if (r == USERDB_OK && !want_present)
		return cli_user_result(USERDB_EXISTS, name, "", path);
	if (r == USERDB_NOTFOUND && want_present)
		return cli_user_result(USERDB_NOTFOUND, name, "", path);
	return 0;
}

/* Read and hash a new password; NULL with a message and *rc_r set. */
static char *cli_user_new_password(const struct cli_user_args *a, const char *scheme, int *rc_r)
{
	char *password = cli_read_password(a->password_stdin, true);
	if (password == NULL) {
		*rc_r = EX_DATAERR;
		return NULL;
	}
	const char *err = "";
	char *stored = password_hash(scheme, password, &err);
	mem_wipe(password, strlen(password));
	free(password);
	if (stored == NULL) {
		fprintf(stderr, "yubin: %s\n", err);
		*rc_r = EX_DATAERR;
	}
	return stored;
}

static int cli_user_set(struct cli_context *ctx, const struct cli_user_args *a, const char *path,
			bool add)
{
	const char *scheme = a->scheme != NULL ? a->scheme : ctx->cfg.auth_default_scheme;
	if (!password_scheme_can_hash(scheme)) {
		fprintf(stderr, "yubin: password scheme %s is unknown or cannot hash\n", scheme);
		return EX_USAGE;
	}
	int rc = cli_user_precheck(path, a->name, !add);
	if (rc != 0)
		return rc;
	char *stored = cli_user_new_password(a, scheme, &rc);
	if (stored == NULL)
		return rc;
	rc = cli_become_mail_user(ctx);
	if (rc == 0) {
		enum userdb_result r = add ? userdb_add(path, a->name, stored)
					   : userdb_passwd(path, a->name, stored);
		rc = cli_user_result(r, a->name, add ? "added" : "password changed", path);
	}
	mem_wipe(stored, strlen(stored));
	free(stored);
	return rc;
}

static int cli_user_add(struct cli_context *ctx, const struct cli_user_args *a, const char *path)
{
	return cli_user_set(ctx, a, path, true);
}

static int cli_user_passwd(struct cli_context *ctx, const struct cli_user_args *a,
			   const char *path)
{
	return cli_user_set(ctx, a, path, false);
}

static int cli_user_del(struct cli_context *ctx, const struct cli_user_args *a, const char *path)
{
	int rc = cli_become_mail_user(ctx);
	if (rc != 0)
		return rc;
	/* The mailbox stays: removing mail is a separate, deliberate step. */
	return cli_user_result(userdb_delete(path, a->name), a->name, "deleted", path);
}

static void cli_user_print(const char *name, void *ctx)
{
	(void)ctx;
	printf("%s\n", name);
}

static int cli_user_list(struct cli_context *ctx, const struct cli_user_args *a,
			 const char *path)
{
	(void)a;
	int rc = cli_become_mail_user(ctx);
	if (rc != 0)
		return rc;
	if (userdb_list(path, cli_user_print, NULL) != USERDB_OK) {
		fprintf(stderr, "yubin: cannot read %s (see the error above)\n", path);
		return EX_TEMPFAIL;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "yubin: cannot write the list\n");
		return EX_IOERR;
	}
	return 0;
}

static const struct cli_user_cmd cli_user_cmds[] = {
	{"add", true, true, cli_user_add},
	{"passwd", true, true, cli_user_passwd},
	{"del", true, false, cli_user_del},
	{"list", false, false, cli_user_list},
};

int cli_user(struct cli_context *ctx)
{
	const char *sub = ctx->argc >= 2 ? ctx->argv[1] : NULL;
	if (sub != NULL && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)) {
		cli_user_usage();
		return 0;
	}
	const struct cli_user_cmd *cmd = NULL;
	for (size_t i = 0; sub != NULL && i < sizeof(cli_user_cmds) / sizeof(cli_user_cmds[0]);
	     i++)
		if (strcmp(sub, cli_user_cmds[i].name) == 0)
			cmd = &cli_user_cmds[i];
	if (cmd == NULL) {
		if (sub != NULL)
			fprintf(stderr, "yubin: unknown user command %s\n", sub);
		cli_user_usage();
		return EX_USAGE;
	}
	struct cli_user_args a = {0};
	if (!cli_user_parse(cmd, ctx->argc, ctx->argv, &a)) {
		cli_user_usage();
		return EX_USAGE;
	}
	if (a.help) {
		cli_user_usage();
		return 0;
	}
	char *path = cli_users_path(ctx);
	int rc = cmd->run(ctx, &a, path);
	free(path);
	return rc;
}
