/*
 * mime_binary.h - store binary MIME parts as base64 (see mime_binary.c).
 */
#ifndef YUBIN_MIME_BINARY_H
#define YUBIN_MIME_BINARY_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* If a leaf part of the message (raw, len) is binary (Content-Transfer-
 * Encoding "binary", or NUL bytes in it), append the message with every
 * such part as base64 to out and return true; else false (out untouched). */
bool mime_binary_to_base64(const char *raw, size_t len, struct buf *out);

#endif
