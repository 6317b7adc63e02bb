/*
 * cli.h - the `yubin` subcommands and what they share.
 *
 * Every subcommand accepts the common options anywhere on its command line:
 *     -c FILE          configuration file (default: built-in defaults only)
 *     -o KEY=VALUE     override one configuration key (repeatable)
 * cli_context_init() strips them from argv and loads the configuration, so
 * a subcommand sees only its own arguments (argv[0] is the subcommand name).
 *
 * Exit codes follow sysexits.h where a caller (an MTA, a script) acts on
 * them: EX_USAGE for bad arguments, EX_CONFIG for a bad configuration,
 * EX_NOUSER, EX_TEMPFAIL, EX_SOFTWARE.
 */
#ifndef YUBIN_CLI_CLI_H
#define YUBIN_CLI_CLI_H

#include "daemon/config.h"

struct cli_context {
	struct config cfg;
	const char *config_path; /* NULL if none */
	const char **overrides;  /* the -o arguments, in order */
	size_t noverrides;
	int argc;
	char **argv;
};

/*
 * Parse common options out of (argc, argv) (argv[0] = subcommand) and load
 * the configuration. On error prints a message to stderr and returns an
 * exit code (EX_USAGE or EX_CONFIG); returns 0 on success.
 */
int cli_context_init(struct cli_context *ctx, int argc, char **argv);
void cli_context_deinit(struct cli_context *ctx);

/* Load the configuration again from the same file and overrides into
 * fresh->cfg (only cfg is set). Errors are logged; returns 0 or EX_CONFIG. */
int cli_context_reload(const struct cli_context *ctx, struct cli_context *fresh);

/* The users file: <data_dir>/users (heap string). */
char *cli_users_path(const struct cli_context *ctx);

/*
 * When running as root, create data_dir if missing (owned by cfg.user),
 * then switch to cfg.user for good. Without root, just check that data_dir
 * exists or can be created. Prints an error and returns an exit code on
 * failure, 0 on success.
 */
int cli_become_mail_user(struct cli_context *ctx);

/*
 * Read a password: from stdin (one line, without the line ending) when
 * from_stdin or stdin is not a terminal, else from the terminal without
 * echo, asking twice when confirm is set. Heap string (caller wipes and
 * frees) or NULL with a message printed.
 */
char *cli_read_password(bool from_stdin, bool confirm);

int cli_serve(struct cli_context *ctx);
int cli_deliver(struct cli_context *ctx);
int cli_user(struct cli_context *ctx);
int cli_pw(struct cli_context *ctx);
int cli_check(struct cli_context *ctx);

#endif
