/*
 * username.h - what a user name may look like.
 *
 * User names become directory names under data_dir (mail/%u), so this check
 * is a security boundary: anything that could name another directory ("..",
 * "/", a leading dot, control bytes) is refused here, once, for every caller
 * (login, delivery, `yubin user`).
 */
#ifndef YUBIN_LIB_USERNAME_H
#define YUBIN_LIB_USERNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Longest accepted name: 64 octets of local part, '@', 253 of domain. */
#define USERNAME_MAX 318

/*
 * True if (name, len) is "local" or "local@domain" where local is 1..64 of
 * [a-zA-Z0-9!#$&'*+-=?^_`{|}~.] (RFC 5322 atext without '/', '%' and '\\'),
 * not starting or ending with '.',
 * without "..", and domain is 1..253 of [a-z0-9.-] in dot-separated labels.
 * Upper-case letters are accepted here; username_normalize() lowers them.
 */
bool username_valid(const char *name, size_t len);

/*
 * Copy a valid name into dst (USERNAME_MAX + 1 bytes) in canonical form
 * (ASCII lower case). Returns false if the name is not valid.
 */
bool username_normalize(const char *name, size_t len, char dst[USERNAME_MAX + 1]);

#endif
