/*
 * cli_pw.c - `yubin pw`: print a stored-password string for a password.
 *
 *     yubin pw [-s SCHEME] [--password-stdin]
 *
 * Prints one "{SCHEME}data" line, ready for a passwd-file (yubin's or
 * Dovecot's). It touches no file, so it runs as whoever calls it.
 *
 * Exit codes (sysexits.h): 0 done; EX_USAGE bad arguments or a scheme that
 * cannot hash; EX_DATAERR the password could not be read (mismatch, empty,
 * too long) or hashed; EX_IOERR the line could not be written.
 */
#include "cli/cli.h"

#include "auth/password.h"
#include "lib/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void cli_pw_usage(void)
{
	fprintf(stderr, "usage: yubin pw [-s SCHEME] [--password-stdin]\n"
			"Prints {SCHEME}hash for a password read from stdin (with\n"
			"--password-stdin or when stdin is not a terminal) or asked for\n"
			"twice on the terminal. SCHEME defaults to auth.default_scheme:\n"
			"SCRAM-SHA-256, CRYPT (yescrypt), SHA512-CRYPT, SHA256-CRYPT,\n"
			"BLF-CRYPT, PLAIN, PLAIN.BASE64.\n");
}

/* Parse argv[1..]; 0 to go on, -1 for help, else an exit code. */
static int cli_pw_parse(int argc, char **argv, const char **scheme, bool *from_stdin)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return -1;
		if (strcmp(arg, "--password-stdin") == 0) {
			*from_stdin = true;
		} else if (strcmp(arg, "-s") == 0 || strcmp(arg, "--scheme") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "yubin: %s needs an argument\n", arg);
				return EX_USAGE;
			}
			*scheme = argv[++i];
		} else if (strncmp(arg, "-s", 2) == 0) {
			*scheme = arg + 2; /* -sSCHEME */
		} else if (strncmp(arg, "--scheme=", 9) == 0) {
			*scheme = arg + 9;
		} else {
			fprintf(stderr, "yubin: pw: unexpected argument %s\n", arg);
			return EX_USAGE;
		}
	}
	return 0;
}

int cli_pw(struct cli_context *ctx)
{
	const char *scheme = ctx->cfg.auth_default_scheme;
	bool from_stdin = false;
	int rc = cli_pw_parse(ctx->argc, ctx->argv, &scheme, &from_stdin);
	if (rc != 0) {
		cli_pw_usage();
		return rc < 0 ? 0 : rc;
	}
	if (!password_scheme_can_hash(scheme)) {
		fprintf(stderr, "yubin: password scheme %s is unknown or cannot hash\n", scheme);
		return EX_USAGE;
	}
	char *password = cli_read_password(from_stdin, true);
	if (password == NULL)
		return EX_DATAERR;
	const char *err = "";
	char *stored = password_hash(scheme, password, &err);
	mem_wipe(password, strlen(password));
	free(password);
	if (stored == NULL) {
		fprintf(stderr, "yubin: %s\n", err);
		return EX_DATAERR;
	}
	printf("%s\n", stored);
	mem_wipe(stored, strlen(stored));
	free(stored);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "yubin: cannot write the result\n");
		return EX_IOERR;
	}
	return 0;
}
