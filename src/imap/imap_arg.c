/*
 * imap_arg.c - grammar-type views of parsed arguments; see imap_arg.h.
 *
 * Numbers go through lib/strnum (digits only, no overflow); the character
 * classes follow RFC 9051 section 9.
 */
#include "imap_arg.h"

#include "lib/strnum.h"

#include <string.h>
#include <strings.h>

static bool imap_arg_atom_char(unsigned char c)
{
	/* ATOM-CHAR: CHAR except atom-specials = ( ) { SP CTL % * " \ ] */
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static bool imap_arg_all(const char *s, size_t len, bool (*ok)(unsigned char), const char *more)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!ok(c) && (more == NULL || c == '\0' || strchr(more, c) == NULL))
			return false;
	}
	return true;
}

static bool imap_arg_out(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

static bool imap_arg_is_atom(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL;
}

bool imap_arg_atom_is(const struct imap_arg *arg, const char *word)
{
	return imap_arg_is_atom(arg) && strlen(word) == arg->len &&
	       strncasecmp(arg->str, word, arg->len) == 0;
}

bool imap_arg_atom(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (!imap_arg_is_atom(arg) || !imap_arg_all(arg->str, arg->len, imap_arg_atom_char, NULL))
		return false;
	return imap_arg_out(arg, str_r, len_r);
}

bool imap_arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_QUOTED ||
	    (arg->type == IMAP_ARG_LITERAL && (arg->flags & IMAP_ARG_LITERAL8) == 0))
		return imap_arg_out(arg, str_r, len_r);
	return false;
}

bool imap_arg_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (imap_arg_is_atom(arg))
		return imap_arg_all(arg->str, arg->len, imap_arg_atom_char, "]") &&
		       imap_arg_out(arg, str_r, len_r);
	return imap_arg_string(arg, str_r, len_r);
}

bool imap_arg_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	return imap_arg_string(arg, str_r, len_r);
}

bool imap_arg_list_mailbox(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (imap_arg_is_atom(arg))
		return imap_arg_all(arg->str, arg->len, imap_arg_atom_char, "]%*") &&
		       imap_arg_out(arg, str_r, len_r);
	return imap_arg_string(arg, str_r, len_r);
}

bool imap_arg_flag(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (!imap_arg_is_atom(arg))
		return false;
	size_t skip = arg->len > 0 && arg->str[0] == '\\' ? 1 : 0;
	if (!imap_arg_all(arg->str + skip, arg->len - skip, imap_arg_atom_char, NULL))
		return false;
	return imap_arg_out(arg, str_r, len_r);
}

bool imap_arg_number(const struct imap_arg *arg, uint32_t *value_r)
{
	return arg->type == IMAP_ARG_ATOM && strnum_u32(arg->str, arg->len, UINT32_MAX, value_r);
}

bool imap_arg_nz_number(const struct imap_arg *arg, uint32_t *value_r)
{
	uint32_t v;
	if (arg->type != IMAP_ARG_ATOM || arg->len == 0 || arg->str[0] == '0' ||
	    !strnum_u32(arg->str, arg->len, UINT32_MAX, &v))
		return false;
	*value_r = v;
	return true;
}

bool imap_arg_number64(const struct imap_arg *arg, uint64_t *value_r)
{
	return arg->type == IMAP_ARG_ATOM &&
	       strnum_u64(arg->str, arg->len, IMAP_NUMBER64_MAX, value_r);
}

bool imap_arg_list(const struct imap_arg *arg, const struct imap_arg **items_r, size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*items_r = arg->list;
	*count_r = arg->count;
	return true;
}

bool imap_arg_section_partial(const struct imap_arg *arg, bool *present_r, uint64_t *offset_r,
			      uint64_t *length_r)
{
	if (arg->type != IMAP_ARG_SECTION)
		return false;
	const char *s = arg->suffix;
	size_t len = arg->suffix_len;
	if (len == 0) {
		*present_r = false;
		return true;
	}
	if (len < 5 || s[0] != '<' || s[len - 1] != '>')
		return false;
	const char *dot = memchr(s, '.', len);
	if (dot == NULL)
		return false;
	size_t off_len = (size_t)(dot - s) - 1;
	size_t len_len = len - 2 - off_len - 1;
	uint64_t off, n;
	/* nz-number64: no leading zero, not 0 */
	if (!strnum_u64(s + 1, off_len, IMAP_NUMBER64_MAX, &off) || len_len == 0 || dot[1] == '0' ||
	    !strnum_u64(dot + 1, len_len, IMAP_NUMBER64_MAX, &n))
		return false;
	*present_r = true;
	*offset_r = off;
	*length_r = n;
	return true;
}
