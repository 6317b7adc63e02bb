/*
 * imap_arg.h - reading parsed IMAP arguments as the RFC 9051 grammar types
 * (pure: no I/O, no allocation).
 *
 * The parser's atoms are broad (see imap_parser.h); these functions apply
 * the exact rules of each grammar production a command handler expects.
 * All return false (and leave the outputs alone) when the argument is not
 * of that type. Strings come back as (ptr, len) pointing into the parser.
 */
#ifndef YUBIN_IMAP_IMAP_ARG_H
#define YUBIN_IMAP_IMAP_ARG_H

#include "imap_parser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An atom (or NIL) equal to word, ASCII case-insensitively (RFC 9051 9,
 * note 1): imap_arg_atom_is(arg, "UID"). */
bool imap_arg_atom_is(const struct imap_arg *arg, const char *word);

/* atom = 1*ATOM-CHAR (no "]", "*", "%", "\"). */
bool imap_arg_atom(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* string = quoted / literal (a stored literal; not literal8, which is only
 * allowed where RFC 3516 says so, nor a streamed one). */
bool imap_arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* astring = 1*ASTRING-CHAR / string (ASTRING-CHAR = ATOM-CHAR / "]"). The
 * atom NIL counts as the text "NIL". */
bool imap_arg_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* nstring = string / nil; for NIL, *str_r = NULL and *len_r = 0. */
bool imap_arg_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* list-mailbox = 1*list-char / string (list-char adds "%" and "*"). */
bool imap_arg_list_mailbox(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* flag = "\" atom / atom (flag-extension, flag-keyword). */
bool imap_arg_flag(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* number (32-bit, leading zeros allowed), nz-number (no leading zero,
 * not 0), number64 (up to 2^63 - 1). */
bool imap_arg_number(const struct imap_arg *arg, uint32_t *value_r);
bool imap_arg_nz_number(const struct imap_arg *arg, uint32_t *value_r);
bool imap_arg_number64(const struct imap_arg *arg, uint64_t *value_r);

/* The list's items (an empty list gives count 0, items may be NULL). */
bool imap_arg_list(const struct imap_arg *arg, const struct imap_arg **items_r, size_t *count_r);

/*
 * A SECTION's suffix as partial = "<" number64 "." nz-number64 ">" (RFC
 * 9051 9). An empty suffix gives true with *present_r false; a malformed
 * one gives false.
 */
bool imap_arg_section_partial(const struct imap_arg *arg, bool *present_r, uint64_t *offset_r,
			      uint64_t *length_r);

#endif
