/*
 * cli_serve.c - `yubin serve`: run the server in the foreground.
 *
 * There is no daemon mode: systemd (or any supervisor) runs the process in
 * the foreground and collects stderr; Ctrl-C stops it cleanly.
 */
#include "cli/cli.h"

#include "daemon/supervisor.h"

#include <stdio.h>
#include <sysexits.h>

int cli_serve(struct cli_context *ctx)
{
	if (ctx->argc > 1) {
		fprintf(stderr, "usage: yubin serve [-c FILE] [-o KEY=VALUE]...\n");
		return EX_USAGE;
	}
	return supervisor_main(ctx);
}
