/*
 * cli_common.c - what every `yubin` subcommand shares: the -c/-o options,
 * loading the configuration, becoming the mail user, reading a password.
 */
#include "cli/cli.h"

#include "daemon/privdrop.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

/* Longest password accepted from a terminal or stdin. */
#define CLI_PASSWORD_MAX 1024

static int cli_config_error(char *err)
{
	fprintf(stderr, "yubin: %s\n", err);
	free(err);
	return EX_CONFIG;
}

/* Defaults, then the file, then the overrides; validated. */
static int cli_load_config(struct config *cfg, const char *path, const char **overrides,
			   size_t n, char **err_r)
{
	config_init(cfg);
	if (path != NULL && !config_load_file(cfg, path, err_r))
		return EX_CONFIG;
	for (size_t i = 0; i < n; i++)
		if (!config_apply_override(cfg, overrides[i], err_r))
			return EX_CONFIG;
	return config_validate(cfg, err_r) ? 0 : EX_CONFIG;
}

int cli_context_init(struct cli_context *ctx, int argc, char **argv)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->argv = xcalloc((size_t)argc + 1, sizeof(char *));
	ctx->overrides = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		bool is_c = strcmp(argv[i], "-c") == 0, is_o = strcmp(argv[i], "-o") == 0;
		if (i > 0 && (is_c || is_o)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "yubin: %s needs an argument\n", argv[i]);
				config_init(&ctx->cfg);
				return EX_USAGE;
			}
			if (is_c)
				ctx->config_path = argv[++i];
			else
				ctx->overrides[ctx->noverrides++] = argv[++i];
			continue;
		}
		ctx->argv[ctx->argc++] = argv[i];
	}
	char *err = NULL;
	int rc = cli_load_config(&ctx->cfg, ctx->config_path, ctx->overrides, ctx->noverrides,
				 &err);
	if (rc != 0)
		return cli_config_error(err);
	log_set_level((enum log_level)ctx->cfg.log_level);
	log_use_syslog(ctx->cfg.log_syslog);
	return 0;
}

int cli_context_reload(const struct cli_context *ctx, struct cli_context *fresh)
{
	memset(fresh, 0, sizeof(*fresh));
	char *err = NULL;
	int rc = cli_load_config(&fresh->cfg, ctx->config_path, ctx->overrides, ctx->noverrides,
				 &err);
	if (rc != 0) {
		log_error("event=config_error error=\"%s\"", err);
		free(err);
		config_deinit(&fresh->cfg);
	}
	return rc;
}

void cli_context_deinit(struct cli_context *ctx)
{
	config_deinit(&ctx->cfg);
	xfree(ctx->argv);
	xfree(ctx->overrides);
}

char *cli_users_path(const struct cli_context *ctx)
{
	return xasprintf("%s/users", ctx->cfg.data_dir);
}

int cli_become_mail_user(struct cli_context *ctx)
{
	char *err = NULL;
	if (geteuid() != 0) {
		if (!privdrop_ensure_dir(ctx->cfg.data_dir, geteuid(), getegid(), &err))
			goto fail;
		return 0;
	}
	uid_t uid;
	gid_t gid;
	if (!privdrop_lookup(ctx->cfg.user, &uid, &gid, &err) ||
	    !privdrop_ensure_dir(ctx->cfg.data_dir, uid, gid, &err) ||
	    !privdrop_switch(uid, gid, &err))
		goto fail;
	if (access(ctx->cfg.data_dir, R_OK | W_OK | X_OK) != 0) {
		err = xasprintf("user %s cannot use data_dir %s: %s (check its owner and the "
				"permissions of its parent directories)",
				ctx->cfg.user, ctx->cfg.data_dir, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "yubin: %s\n", err);
	free(err);
	return EX_TEMPFAIL;
}

/* Read one line from f into a heap buffer without its line ending. */
static char *cli_read_line(FILE *f)
{
	char *line = xmalloc(CLI_PASSWORD_MAX + 2);
	if (fgets(line, CLI_PASSWORD_MAX + 2, f) == NULL) {
		free(line);
		return NULL;
	}
	size_t n = strlen(line);
	if (n > CLI_PASSWORD_MAX) {
		mem_wipe(line, n);
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static char *cli_prompt_password(const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return NULL;
	struct termios old, noecho;
	tcgetattr(fileno(tty), &old);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, tty);
	fflush(tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	char *pw = cli_read_line(tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return pw;
}

char *cli_read_password(bool from_stdin, bool confirm)
{
	char *pw;
	if (from_stdin || !isatty(STDIN_FILENO)) {
		pw = cli_read_line(stdin);
	} else {
		pw = cli_prompt_password("Password: ");
		if (pw != NULL && confirm) {
			char *again = cli_prompt_password("Retype password: ");
			bool same = again != NULL && strcmp(pw, again) == 0;
			if (again != NULL)
				mem_wipe(again, strlen(again));
			free(again);
			if (!same) {
				fprintf(stderr, "yubin: passwords do not match\n");
				mem_wipe(pw, strlen(pw));
				xfree(pw);
				return NULL;
			}
		}
	}
	if (pw == NULL) {
		fprintf(stderr, "yubin: no password given (or longer than %d bytes)\n",
			CLI_PASSWORD_MAX);
		return NULL;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "yubin: empty password refused\n");
		free(pw);
		return NULL;
	}
	return pw;
}
