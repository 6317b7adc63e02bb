/*
 * cli_check.c - `yubin check`: validate the configuration, print it.
 *
 * Loading already validated every key (cli_context_init); this adds the
 * checks that need the system: the TLS files can be loaded, the mail user
 * exists, listen addresses parse. It prints the effective settings so an
 * operator sees defaults and overrides in one place.
 */
#include "cli/cli.h"

#include "daemon/privdrop.h"
#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

int cli_check(struct cli_context *ctx)
{
	if (ctx->argc > 1) {
		fprintf(stderr, "usage: yubin check [-c FILE] [-o KEY=VALUE]...\n");
		return EX_USAGE;
	}
	int rc = 0;
	char *err = NULL;
	if (ctx->cfg.tls_cert[0] != '\0') {
		struct tls_server *tls = tls_server_new(&ctx->cfg, &err);
		if (tls == NULL) {
			fprintf(stderr, "yubin: %s\n", err);
			free(err);
			err = NULL;
			rc = EX_CONFIG;
		}
		tls_server_free(&tls);
	}
	if (geteuid() == 0) {
		uid_t uid;
		gid_t gid;
		if (!privdrop_lookup(ctx->cfg.user, &uid, &gid, &err)) {
			fprintf(stderr, "yubin: %s\n", err);
			free(err);
			rc = EX_CONFIG;
		}
	}
	if (ctx->config_path != NULL)
		printf("# %s\n", ctx->config_path);
	config_dump(&ctx->cfg, stdout);
	if (rc == 0)
		fprintf(stderr, "yubin: configuration ok\n");
	return rc;
}
