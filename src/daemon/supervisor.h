/*
 * supervisor.h - `yubin serve`: bind, start workers, keep them running.
 */
#ifndef YUBIN_DAEMON_SUPERVISOR_H
#define YUBIN_DAEMON_SUPERVISOR_H

struct cli_context;

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int supervisor_main(struct cli_context *ctx);

#endif
