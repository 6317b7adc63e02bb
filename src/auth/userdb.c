/*
 * userdb.c - the passwd-file user directory; see userdb.h.
 *
 * Readers keep the whole file in memory: the file buffer itself, with the
 * name and password fields NUL-terminated in place, an array of entries in
 * file order and an open-addressing hash table over them, so a lookup costs
 * one stat(2) and a probe even with 100,000 users. The file is re-read when
 * stat(2) shows another inode, size or mtime; writers always replace the
 * file by rename(2), so a reader sees either the old or the new file whole.
 *
 * Writers serialise on flock(2) of "<path>.lock" (a separate file, because
 * the users file itself is replaced and a lock on it would be lost), copy
 * every line they do not change byte for byte, and make the result durable
 * (fsync the file, rename, fsync the directory) before reporting success.
 *
 * Lines the reader cannot use are skipped with a warning naming the line
 * number and the reason, never the password field. The first line for a
 * name wins; an editor changes or removes every line for the name so that
 * a later duplicate cannot become effective by surprise.
 */
#include "auth/userdb.h"

#include "auth/password.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A passwd-file larger than this is a mistake (100,000 users take ~10 MiB). */
#define USERDB_FILE_MAX (512u * 1024 * 1024)
/* Longest stored password we write; password.c refuses longer ones too. */
#define USERDB_STORED_MAX 4096

struct userdb_entry {
	const char *name;   /* canonical, NUL-terminated inside data */
	const char *stored; /* NUL-terminated inside data */
};

struct userdb_table {
	char *data; /* the file, modified in place */
	size_t data_len;
	struct userdb_entry *entries; /* file order */
	size_t count;
	uint32_t *slots; /* entry index + 1; 0 = empty */
	size_t nslots;   /* power of two, > 2 * possible entries */
	bool any_plaintext;
};

struct userdb {
	char *path;
	pthread_mutex_t lock;
	bool loaded;  /* the table matches the file identified below */
	bool present; /* the file existed at the last load */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	struct userdb_table table;
};

/* ---- reading and parsing --------------------------------------------------- */

/* Read the whole file into a NUL-terminated heap buffer; -1 with errno. */
static int userdb_read_file(const char *path, char **data_r, size_t *len_r, struct stat *st_r)
{
	/* O_NONBLOCK: a FIFO put in place of the file must not hang a server. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	int err = 0;
	if (fstat(fd, st_r) < 0)
		err = errno;
	else if (!S_ISREG(st_r->st_mode))
		err = S_ISDIR(st_r->st_mode) ? EISDIR : EINVAL;
	else if ((uint64_t)st_r->st_size > USERDB_FILE_MAX)
		err = EFBIG;
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	size_t cap = (size_t)st_r->st_size + 1, len = 0;
	char *data = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) { /* the file grew since fstat */
			if (cap >= USERDB_FILE_MAX) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			data = xrealloc(data, cap + 1);
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
fail:;
	int saved = errno;
	mem_wipe(data, len);
	free(data);
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Take apart one line (without its '\n'): on success the canonical name is
 * in canon and the password field is (line + *stored_off, *stored_len).
 * Returns NULL for a user line, "" for a comment or empty line, else the
 * reason the line is unusable.
 */
static const char *userdb_line_parse(const char *line, size_t len, char canon[USERNAME_MAX + 1],
				     size_t *stored_off, size_t *stored_len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--; /* tolerate a file edited on another system */
	if (len == 0 || line[0] == '#')
		return "";
	if (memchr(line, '\0', len) != NULL)
		return "nul_byte";
	const char *colon = memchr(line, ':', len);
	if (colon == NULL)
		return "no_password_field";
	size_t name_len = (size_t)(colon - line);
	const char *stored = colon + 1;
	const char *end = memchr(stored, ':', len - name_len - 1);
	*stored_off = name_len + 1;
	*stored_len = end != NULL ? (size_t)(end - stored) : len - name_len - 1;
	if (*stored_len == 0)
		return "empty_password_field";
	if (!username_normalize(line, name_len, canon))
		return "invalid_user_name";
	return NULL;
}

/* FNV-1a: the keys come from the administrator's file, not from peers. */
static uint32_t userdb_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *userdb_slot(const struct userdb_table *t, const char *name)
{
	size_t mask = t->nslots - 1;
	for (size_t i = userdb_hash(name) & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &t->slots[i];
		if (*slot == 0 || strcmp(t->entries[*slot - 1].name, name) == 0)
			return slot;
	}
}

static void userdb_warn(const char *path, size_t lineno, const char *reason)
{
	char safe[LOG_SAFE_MAX];
	log_warn("event=userdb_line_skipped file=%s line=%zu reason=%s",
		 log_safe(safe, path, strlen(path)), lineno, reason);
}

/* Add the line at line (len bytes, data owned by t) to the table. */
static void userdb_table_add_line(struct userdb_table *t, const char *path, size_t lineno,
				  char *line, size_t len)
{
	char canon[USERNAME_MAX + 1];
	size_t off = 0, slen = 0;
	const char *reason = userdb_line_parse(line, len, canon, &off, &slen);
	if (reason != NULL) {
		if (reason[0] != '\0')
			userdb_warn(path, lineno, reason);
		return;
	}
	uint32_t *slot = userdb_slot(t, canon);
	if (*slot != 0) {
		userdb_warn(path, lineno, "duplicate_user_name");
		return;
	}
	/* Canonical names are as long as the original: rewrite in place. */
	size_t name_len = off - 1;
	memcpy(line, canon, name_len);
	line[name_len] = '\0';
	line[off + slen] = '\0';
	t->entries[t->count] = (struct userdb_entry){line, line + off};
	*slot = (uint32_t)++t->count;
	if (!t->any_plaintext) {
		char *plain = password_plaintext(line + off);
		if (plain != NULL) {
			t->any_plaintext = true;
			mem_wipe(plain, strlen(plain));
			free(plain);
		}
	}
}

/* Build a table over data (which the table takes over). */
static void userdb_table_build(struct userdb_table *t, const char *path, char *data, size_t len)
{
	size_t lines = 1;
	for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))) != NULL; p++)
		lines++;
	memset(t, 0, sizeof(*t));
	t->data = data;
	t->data_len = len;
	t->entries = xcalloc(lines, sizeof(*t->entries));
	t->nslots = 16;
	while (t->nslots < 2 * lines)
		t->nslots *= 2;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	size_t lineno = 0;
	for (char *line = data; line < data + len;) {
		char *nl = memchr(line, '\n', len - (size_t)(line - data));
		size_t line_len = nl != NULL ? (size_t)(nl - line) : len - (size_t)(line - data);
		userdb_table_add_line(t, path, ++lineno, line, line_len);
		line += line_len + 1;
	}
}

static void userdb_table_clear(struct userdb_table *t)
{
	if (t->data != NULL)
		mem_wipe(t->data, t->data_len);
	free(t->data);
	free(t->entries);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static const struct userdb_entry *userdb_table_find(const struct userdb_table *t,
						    const char *canon)
{
	if (t->count == 0)
		return NULL;
	uint32_t *slot = userdb_slot(t, canon);
	return *slot != 0 ? &t->entries[*slot - 1] : NULL;
}

/* ---- the reader --------------------------------------------------------- */

struct userdb *userdb_new(const char *path)
{
	struct userdb *db = xmalloc(sizeof(*db));
	db->path = xstrdup(path);
	pthread_mutex_init(&db->lock, NULL);
	return db;
}

void userdb_free(struct userdb **dbp)
{
	struct userdb *db = *dbp;
	if (db == NULL)
		return;
	userdb_table_clear(&db->table);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
	*dbp = NULL;
}

static bool userdb_same_file(const struct userdb *db, const struct stat *st)
{
	return db->present && db->dev == st->st_dev && db->ino == st->st_ino &&
	       db->size == st->st_size && db->mtim.tv_sec == st->st_mtim.tv_sec &&
	       db->mtim.tv_nsec == st->st_mtim.tv_nsec;
}

static void userdb_log_error(const char *what, const char *path)
{
	char safe[LOG_SAFE_MAX];
	log_error("event=userdb_error what=%s file=%s error=\"%s\"", what,
		  log_safe(safe, path, strlen(path)), strerror(errno));
}

/* Bring the cache up to date; called with db->lock held. */
static bool userdb_refresh(struct userdb *db)
{
	struct stat st;
	bool missing = false;
	if (stat(db->path, &st) < 0) {
		if (errno != ENOENT) {
			userdb_log_error("stat", db->path);
			return false;
		}
		missing = true;
	}
	if (db->loaded && (missing ? !db->present : userdb_same_file(db, &st)))
		return true;
	char *data;
	size_t len;
	if (userdb_read_file(db->path, &data, &len, &st) < 0) {
		if (errno != ENOENT) {
			userdb_log_error("read", db->path);
			db->loaded = false; /* try again on the next lookup */
			return false;
		}
		userdb_table_clear(&db->table);
		db->loaded = true;
		db->present = false;
		return true;
	}
	userdb_table_clear(&db->table);
	userdb_table_build(&db->table, db->path, data, len);
	db->loaded = true;
	db->present = true;
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	db->size = st.st_size;
	db->mtim = st.st_mtim;
	return true;
}

enum userdb_result userdb_lookup(struct userdb *db, const char *name, char **stored_r)
{
	char canon[USERNAME_MAX + 1];
	*stored_r = NULL;
	if (!username_normalize(name, strlen(name), canon))
		return USERDB_NOTFOUND; /* such a name cannot be in the file */
	pthread_mutex_lock(&db->lock);
	enum userdb_result res = USERDB_TEMPFAIL;
	if (userdb_refresh(db)) {
		const struct userdb_entry *e = userdb_table_find(&db->table, canon);
		res = e != NULL ? USERDB_OK : USERDB_NOTFOUND;
		if (e != NULL)
			*stored_r = xstrdup(e->stored);
	}
	pthread_mutex_unlock(&db->lock);
	return res;
}

bool userdb_any_plaintext(struct userdb *db)
{
	pthread_mutex_lock(&db->lock);
	(void)userdb_refresh(db); /* on failure, answer from what we had */
	bool any = db->table.any_plaintext;
	pthread_mutex_unlock(&db->lock);
	return any;
}

enum userdb_result userdb_list(const char *path, void (*fn)(const char *name, void *ctx),
			       void *ctx)
{
	char *data;
	size_t len;
	struct stat st;
	if (userdb_read_file(path, &data, &len, &st) < 0) {
		if (errno == ENOENT)
			return USERDB_OK;
		userdb_log_error("read", path);
		return USERDB_TEMPFAIL;
	}
	struct userdb_table t;
	userdb_table_build(&t, path, data, len);
	for (size_t i = 0; i < t.count; i++)
		fn(t.entries[i].name, ctx);
	userdb_table_clear(&t);
	return USERDB_OK;
}

/* ---- the editors ---------------------------------------------------------- */

enum userdb_edit { USERDB_EDIT_ADD, USERDB_EDIT_PASSWD, USERDB_EDIT_DELETE };

/* The stored string becomes one ':'-separated field of one line. */
static bool userdb_stored_valid(const char *stored)
{
	size_t len = strnlen(stored, USERDB_STORED_MAX + 1);
	return len > 0 && len <= USERDB_STORED_MAX && strpbrk(stored, ":\r\n") == NULL;
}

/* Take the writers' lock; the fd to close to release it, or -1. */
static int userdb_lock(const char *path)
{
	char *lock_path = xasprintf("%s.lock", path);
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		userdb_log_error("open_lock", lock_path);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		userdb_log_error("flock", lock_path);
		close(fd);
		fd = -1;
	}
	free(lock_path);
	return fd;
}

/* Make the rename durable: fsync the directory holding path. */
static bool userdb_fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL    ? xstrdup(".")
		    : slash == path ? xstrdup("/")
				    : xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = fd >= 0 && fsync(fd) == 0;
	if (!ok)
		userdb_log_error("fsync_dir", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return ok;
}

/* Replace path by (data, len): write a temporary file, fsync, rename. */
static bool userdb_replace(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	const char *what = "open";
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0;
	/* A temporary file left by a crash keeps its old mode: set it. */
	if (ok && !(ok = fchmod(fd, 0600) == 0))
		what = "fchmod";
	if (ok && !(ok = fd_write_all(fd, data, len)))
		what = "write";
	if (ok && !(ok = fsync(fd) == 0))
		what = "fsync";
	if (fd >= 0 && close(fd) < 0 && ok) {
		ok = false;
		what = "close";
	}
	if (ok && !(ok = rename(tmp, path) == 0))
		what = "rename";
	if (!ok) {
		userdb_log_error(what, tmp);
		unlink(tmp);
	}
	free(tmp);
	return ok && userdb_fsync_dir(path);
}

/*
 * Copy (data, len) to out, applying op to the lines of user canon; every
 * other line is copied byte for byte. With out == NULL only count. Returns
 * the number of lines of canon; *out_len_r is the length written.
 */
static size_t userdb_rewrite(const char *data, size_t len, const char *canon,
			     enum userdb_edit op, const char *stored, char *out,
			     size_t *out_len_r)
{
	size_t matched = 0, o = 0, stored_len = strlen(stored);
	for (size_t pos = 0; pos < len;) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		size_t full = line_len + (nl != NULL ? 1 : 0);
		char lcanon[USERNAME_MAX + 1];
		size_t off = 0, slen = 0;
		pos += full;
		bool mine = userdb_line_parse(line, line_len, lcanon, &off, &slen) == NULL &&
			    strcmp(lcanon, canon) == 0;
		matched += mine ? 1 : 0;
		if (out == NULL || (mine && op == USERDB_EDIT_DELETE))
			continue;
		if (mine && op == USERDB_EDIT_PASSWD) {
			/* Keep the name as written and every later field. */
			memcpy(out + o, line, off);
			memcpy(out + o + off, stored, stored_len);
			memcpy(out + o + off + stored_len, line + off + slen, full - off - slen);
			o += full - slen + stored_len;
		} else {
			memcpy(out + o, line, full);
			o += full;
		}
	}
	*out_len_r = o;
	return matched;
}

static enum userdb_result userdb_edit(const char *path, const char *name, const char *stored,
				      enum userdb_edit op)
{
	char canon[USERNAME_MAX + 1];
	if (!username_normalize(name, strlen(name), canon) || !userdb_stored_valid(stored))
		return USERDB_INVALID;
	int lock_fd = userdb_lock(path);
	if (lock_fd < 0)
		return USERDB_TEMPFAIL;
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	if (userdb_read_file(path, &data, &len, &st) < 0) {
		if (errno != ENOENT) {
			userdb_log_error("read", path);
			close(lock_fd);
			return USERDB_TEMPFAIL;
		}
		data = xstrdup(""); /* a missing file has no users */
	}
	size_t out_len;
	size_t matched = userdb_rewrite(data, len, canon, op, stored, NULL, &out_len);
	enum userdb_result res = USERDB_OK;
	if (op == USERDB_EDIT_ADD && matched > 0)
		res = USERDB_EXISTS;
	else if (op != USERDB_EDIT_ADD && matched == 0)
		res = USERDB_NOTFOUND;
	size_t cap = len + (matched + 1) * strlen(stored) + strlen(canon) + 16;
	char *out = xmalloc(cap);
	if (res == USERDB_OK) {
		userdb_rewrite(data, len, canon, op, stored, out, &out_len);
		if (op == USERDB_EDIT_ADD) {
			if (out_len > 0 && out[out_len - 1] != '\n')
				out[out_len++] = '\n';
			/* Dovecot's layout: name:password:uid:gid:gecos:home:shell:extra */
			out_len += (size_t)snprintf(out + out_len, cap - out_len, "%s:%s::::::\n",
						    canon, stored);
		}
		if (!userdb_replace(path, out, out_len))
			res = USERDB_TEMPFAIL;
	}
	mem_wipe(out, cap);
	free(out);
	mem_wipe(data, len);
	free(data);
	close(lock_fd); /* releases the flock */
	return res;
}

enum userdb_result userdb_add(const char *path, const char *name, const char *stored)
{
	return userdb_edit(path, name, stored, USERDB_EDIT_ADD);
}

enum userdb_result userdb_passwd(const char *path, const char *name, const char *stored)
{
	return userdb_edit(path, name, stored, USERDB_EDIT_PASSWD);
}

enum userdb_result userdb_delete(const char *path, const char *name)
{
	/* Any valid placeholder: delete never writes a password. */
	return userdb_edit(path, name, "-", USERDB_EDIT_DELETE);
}

/* ---- addresses to users ---- */

static enum userdb_result userdb_exists(struct userdb *db, const char *name, char *canon_r)
{
	if (!username_normalize(name, strlen(name), canon_r))
		return USERDB_NOTFOUND;
	char *stored = NULL;
	enum userdb_result r = userdb_lookup(db, canon_r, &stored);
	if (stored != NULL) {
		mem_wipe(stored, strlen(stored));
		free(stored);
	}
	return r;
}

enum userdb_result userdb_resolve(struct userdb *db, const char *local, const char *domain,
				  const char *delimiters, char *canon_r)
{
	char base[USERNAME_MAX + 1];
	snprintf(base, sizeof(base), "%s", local);
	size_t cut = delimiters[0] != '\0' ? strcspn(base, delimiters) : strlen(base);
	bool has_ext = cut > 0 && cut < strlen(base);
	char cand[4][2 * USERNAME_MAX + 2];
	size_t n = 0;
	if (domain[0] != '\0')
		snprintf(cand[n++], sizeof(cand[0]), "%s@%s", base, domain);
	snprintf(cand[n++], sizeof(cand[0]), "%s", base);
	if (has_ext) {
		base[cut] = '\0';
		if (domain[0] != '\0')
			snprintf(cand[n++], sizeof(cand[0]), "%s@%s", base, domain);
		snprintf(cand[n++], sizeof(cand[0]), "%s", base);
	}
	enum userdb_result result = USERDB_NOTFOUND;
	for (size_t i = 0; i < n; i++) {
		enum userdb_result r = userdb_exists(db, cand[i], canon_r);
		if (r == USERDB_OK)
			return USERDB_OK;
		if (r == USERDB_TEMPFAIL)
			result = USERDB_TEMPFAIL; /* unless a later candidate exists */
	}
	return result;
}

enum userdb_result userdb_resolve_address(struct userdb *db, const char *address,
					  const char *delimiters, char *canon_r)
{
	const char *at = strrchr(address, '@');
	if (at == NULL)
		return userdb_resolve(db, address, "", delimiters, canon_r);
	char local[USERNAME_MAX + 1];
	size_t len = (size_t)(at - address);
	if (len >= sizeof(local))
		return USERDB_NOTFOUND;
	memcpy(local, address, len);
	local[len] = '\0';
	return userdb_resolve(db, local, at + 1, delimiters, canon_r);
}
