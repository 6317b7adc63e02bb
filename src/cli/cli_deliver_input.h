/*
 * cli_deliver_input.h - reading the message `yubin deliver` is given.
 *
 * What an MTA pipes to a delivery command is not always just the message:
 * Postfix's local(8) puts an mbox "From sender date" line first and
 * prepends its own Return-Path:, X-Original-To: and Delivered-To: (see
 * docs/MTA.md). The first is not a header at all; Return-Path and
 * Delivered-To are envelope information that the final delivery writes
 * itself (RFC 5321 4.4), so keeping them would give the message two of
 * each. Only that leading block is filtered (X-Original-To stays);
 * everything from the first other line on is passed through unchanged.
 */
#ifndef YUBIN_CLI_CLI_DELIVER_INPUT_H
#define YUBIN_CLI_CLI_DELIVER_INPUT_H

#include <stddef.h>

/* Receives the message in pieces; returns 0, or an exit code to stop. */
typedef int deliver_sink_fn(void *ctx, const char *data, size_t len);

/* Read fd to its end, feeding the message to sink. Returns 0, the sink's
 * non-zero code, or EX_TEMPFAIL on a read error. */
int deliver_input_read(int fd, deliver_sink_fn *sink, void *ctx);

#endif
