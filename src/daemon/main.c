/*
 * main.c - the `yubin` command: one binary, several subcommands.
 *
 *   yubin serve     run the POP3/LMTP server (supervisor and workers)
 *   yubin deliver   deliver one message from stdin (an MTA's delivery agent)
 *   yubin user      add, change, remove and list users
 *   yubin pw        hash a password
 *   yubin check     validate the configuration and print the effective one
 *
 * Common options (-c FILE, -o KEY=VALUE) may appear before or after the
 * subcommand name.
 */
#include "cli/cli.h"
#include "store/store.h"
#include "yubin_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct main_command {
	const char *name;
	int (*run)(struct cli_context *ctx);
	const char *summary;
};

static const struct main_command main_commands[] = {
	{"serve", cli_serve, "run the server"},
	{"deliver", cli_deliver, "deliver a message from stdin: deliver -u USER [-f SENDER]"},
	{"user", cli_user, "manage users: user add|passwd|del NAME, user list"},
	{"pw", cli_pw, "print a password hash: pw [-s SCHEME]"},
	{"check", cli_check, "validate the configuration and print it"},
};

static void main_usage(FILE *out)
{
	fprintf(out, "usage: yubin [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
		fprintf(out, "  %-8s %s\n", main_commands[i].name, main_commands[i].summary);
	fprintf(out, "\n-c FILE       configuration file (default: built-in defaults)\n"
		     "-o KEY=VALUE  override one setting, e.g. -o listen.pop3=127.0.0.1:1110\n");
}

/* Index of the subcommand name in argv, skipping leading -c/-o options. */
static int main_find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-o") == 0) {
			i++;
			continue;
		}
		return i;
	}
	return -1;
}

int main(int argc, char **argv)
{
	store_library_init();
	int k = main_find_command(argc, argv);
	if (k < 0) {
		main_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0 ||
	    strcmp(argv[k], "help") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (strcmp(argv[k], "--version") == 0 || strcmp(argv[k], "version") == 0) {
		printf("yubin %s\n", YUBIN_VERSION);
		return 0;
	}
	const struct main_command *cmd = NULL;
	for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
		if (strcmp(argv[k], main_commands[i].name) == 0)
			cmd = &main_commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "yubin: unknown command %s\n", argv[k]);
		main_usage(stderr);
		return EX_USAGE;
	}
	/* Reorder so that the subcommand is argv[0] and options follow it. */
	char **args = calloc((size_t)argc, sizeof(char *));
	if (args == NULL)
		return EX_OSERR;
	int n = 0;
	args[n++] = argv[k];
	for (int i = 1; i < argc; i++)
		if (i != k)
			args[n++] = argv[i];
	struct cli_context ctx;
	int rc = cli_context_init(&ctx, n, args);
	/* An MTA bounces mail on EX_CONFIG; a configuration problem is the
	 * operator's to fix, so deliver asks for a retry instead. */
	if (rc == EX_CONFIG && cmd->run == cli_deliver)
		rc = EX_TEMPFAIL;
	if (rc == 0)
		rc = cmd->run(&ctx);
	cli_context_deinit(&ctx);
	free(args);
	return rc;
}
