/*
 * strnum.h - the one checked way to turn text into numbers.
 *
 * Peers send numbers (message numbers, SIZE=, literal lengths) and so do
 * configuration files. Every conversion goes through these functions:
 * digits only (no sign, no spaces, no "0x"), no overflow, an explicit
 * maximum, and the whole input must be consumed. Never atoi/strtol.
 */
#ifndef YUBIN_LIB_STRNUM_H
#define YUBIN_LIB_STRNUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse (s, len) as decimal digits into *out; false if empty, not all
 * digits, or greater than max. *out is untouched on failure. */
bool strnum_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
bool strnum_u32(const char *s, size_t len, uint32_t max, uint32_t *out);
/* Same for a NUL-terminated string. */
bool strnum_u64_str(const char *s, uint64_t max, uint64_t *out);

/* "64M", "512k", "1G", "100" (bytes). Suffixes K/M/G are powers of 1024,
 * case-insensitive, with an optional trailing "B". */
bool strnum_size(const char *s, uint64_t max, uint64_t *out);

/* "90", "90s", "10m", "2h", "1d" into seconds. */
bool strnum_duration(const char *s, uint64_t max, uint64_t *seconds_r);

#endif
