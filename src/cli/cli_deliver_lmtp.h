/*
 * cli_deliver_lmtp.h - hand a message from stdin to the running server's
 * LMTP listener (for `yubin deliver` run without access to data_dir).
 */
#ifndef YUBIN_CLI_CLI_DELIVER_LMTP_H
#define YUBIN_CLI_CLI_DELIVER_LMTP_H

#include "daemon/config.h"

/* Deliver stdin to user; returns a sysexits.h code like `yubin deliver`. */
int cli_deliver_lmtp(const struct config *cfg, const char *user, const char *sender);

#endif
