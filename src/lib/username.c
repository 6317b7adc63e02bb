/*
 * username.c - user name validation; see username.h.
 *
 * The accepted local-part characters are RFC 5322 atext plus '.', without
 * '/' (a path separator). '%' and '\' are excluded too: they would be
 * confusing in templates and logs. Domains are plain LDH labels.
 */
#include "username.h"

#include <string.h>

static bool username_local_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$&'*+-=?^_`{|}~.", c) != NULL;
}

static bool username_domain_valid(const char *d, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && d[len - 1] != '-';
}

bool username_valid(const char *name, size_t len)
{
	const char *at = memchr(name, '@', len);
	size_t local_len = at != NULL ? (size_t)(at - name) : len;
	if (local_len == 0 || local_len > 64)
		return false;
	if (name[0] == '.' || name[local_len - 1] == '.')
		return false;
	for (size_t i = 0; i < local_len; i++) {
		if (!username_local_char((unsigned char)name[i]))
			return false;
		if (name[i] == '.' && i > 0 && name[i - 1] == '.')
			return false;
	}
	if (at == NULL)
		return true;
	return username_domain_valid(at + 1, len - local_len - 1);
}

bool username_normalize(const char *name, size_t len, char dst[USERNAME_MAX + 1])
{
	if (len > USERNAME_MAX || !username_valid(name, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[len] = '\0';
	return true;
}
