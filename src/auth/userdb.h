/*
 * userdb.h - the user directory: a passwd-style file under data_dir.
 *
 * File format, one user per line, compatible with Dovecot's passwd-file:
 *
 *     name:{SCHEME}data:uid:gid:gecos:home:shell:extra
 *
 * yubin uses only the first two fields and writes the others empty
 * ("name:{SCHEME}data::::::"); fields it does not use are preserved when it
 * rewrites the file. Lines starting with '#' and empty lines are ignored.
 * Names are stored and looked up in the canonical form of lib/username.h.
 */
#ifndef YUBIN_AUTH_USERDB_H
#define YUBIN_AUTH_USERDB_H

#include <stdbool.h>

enum userdb_result {
	USERDB_OK,
	USERDB_NOTFOUND,
	USERDB_EXISTS,
	USERDB_INVALID, /* bad user name or stored password */
	USERDB_TEMPFAIL, /* the file could not be read or written */
};

/* ---- reading (servers) ---------------------------------------------------- */

struct userdb;

/* The file need not exist yet (then every lookup is USERDB_NOTFOUND). */
struct userdb *userdb_new(const char *path);
void userdb_free(struct userdb **db);

/*
 * Look up a user (any case; it is normalised). On USERDB_OK *stored_r is a
 * heap copy of the stored password; the caller wipes and frees it.
 * Thread-safe. The file is re-read when it changes on disk (inode, size or
 * mtime differ), so `yubin user add` takes effect without a restart.
 */
enum userdb_result userdb_lookup(struct userdb *db, const char *name, char **stored_r);

/*
 * Which user an address delivers to (LMTP RCPT, `yubin deliver -u`): the
 * whole address "local@domain", then the local part alone (users named
 * without a domain), then the same two with the extension cut off at the
 * first of the delimiter characters ("alice+lists" -> "alice"); domain may
 * be "" and delimiters "" (no extensions). The first existing user wins;
 * its canonical name goes to canon_r (USERNAME_MAX + 1 bytes).
 */
enum userdb_result userdb_resolve(struct userdb *db, const char *local, const char *domain,
				  const char *delimiters, char *canon_r);

/* The same for "local@domain" or "local" in one string (split at the
 * last '@'). */
enum userdb_result userdb_resolve_address(struct userdb *db, const char *address,
					  const char *delimiters, char *canon_r);

/* True if at least one user's stored password keeps the plaintext (so
 * APOP can work for someone). Thread-safe; same reload rule. */
bool userdb_any_plaintext(struct userdb *db);

/* ---- editing (the `yubin user` command) ---------------------------------- */

/*
 * Add, replace or remove a user. The file is rewritten atomically: lock
 * "<path>.lock" (flock), write "<path>.tmp", fsync, rename, fsync the
 * directory. The new file gets mode 0600.
 *   userdb_add:    USERDB_EXISTS if present
 *   userdb_passwd: USERDB_NOTFOUND if absent
 *   userdb_delete: USERDB_NOTFOUND if absent
 */
enum userdb_result userdb_add(const char *path, const char *name, const char *stored);
enum userdb_result userdb_passwd(const char *path, const char *name, const char *stored);
enum userdb_result userdb_delete(const char *path, const char *name);

/* Call fn for every user name in file order. USERDB_TEMPFAIL if unreadable
 * (a missing file is an empty list). */
enum userdb_result userdb_list(const char *path, void (*fn)(const char *name, void *ctx),
			       void *ctx);

#endif
