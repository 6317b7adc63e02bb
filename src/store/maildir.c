/*
 * maildir.c - Maildir root of a user, folder directories, directory
 * creation and fsync; see maildir.h and store_user_maildir() in store.h.
 *
 * The root comes from the mail_location template. User names are already
 * validated (lib/username.h: no '/', no leading '.', no ".."), and the
 * template is still checked after expansion so that a bad configuration
 * cannot make a path leave data_dir's tree.
 */
#include "store/maildir.h"

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/username.h"
#include "lib/utf7imap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Append the expansion of one %-sequence; false for an unknown one. */
static bool maildir_expand_one(struct buf *b, char c, const char *user)
{
	const char *at = strchr(user, '@');
	switch (c) {
	case 'u':
		return buf_append_str(b, user);
	case 'n':
		return buf_append(b, user, at != NULL ? (size_t)(at - user) : strlen(user));
	case 'd':
		return buf_append_str(b, at != NULL ? at + 1 : "");
	case '%':
		return buf_append_byte(b, '%');
	default:
		return false;
	}
}

/* True if the path has a ".." component anywhere. */
static bool maildir_has_dotdot(const char *path)
{
	for (const char *p = path; *p != '\0';) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		if (*p == '/')
			p++;
	}
	return false;
}

/* "mail//bob/" (an empty %d, a trailing '/') is "mail/bob". */
static void maildir_tidy_path(struct buf *b)
{
	size_t out = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] == '/' && out > 0 && b->ptr[out - 1] == '/')
			continue;
		b->ptr[out++] = b->ptr[i];
	}
	while (out > 1 && b->ptr[out - 1] == '/')
		out--;
	b->len = out;
	b->ptr[out] = '\0';
}

enum store_error store_user_maildir(const struct store_settings *s, const char *user, char **path_r)
{
	*path_r = NULL;
	if (!username_valid(user, strlen(user)))
		return STORE_ERR_PERM;
	struct buf b;
	buf_init(&b, 4096);
	const char *t = s->mail_location;
	bool ok = true;
	if (t[0] != '/')
		ok = buf_append_str(&b, s->data_dir) && buf_append_byte(&b, '/');
	for (; ok && *t != '\0'; t++) {
		if (*t != '%')
			ok = buf_append_byte(&b, *t);
		else if (t[1] == '\0')
			ok = false;
		else
			ok = maildir_expand_one(&b, *++t, user);
	}
	if (!ok || maildir_has_dotdot(b.ptr) || b.len == 0) {
		log_error("store: error=bad_mail_location template=%s", s->mail_location);
		buf_deinit(&b);
		return STORE_ERR_PERM;
	}
	maildir_tidy_path(&b);
	*path_r = buf_steal(&b);
	return STORE_OK;
}

bool maildir_folder_is_inbox(const char *name)
{
	return name == NULL || strcasecmp(name, "INBOX") == 0;
}

/* Append one name component, in modified UTF-7; false if it is not
 * acceptable: empty, starting with '~', containing a '.' (Maildir++ uses
 * '.' as its separator), or not valid UTF-8 without control characters. */
static bool maildir_folder_component(struct buf *b, const char *comp, size_t len)
{
	/* '~' first looks like a home directory to every shell and tool that
	 * touches the Maildir; refuse it as Dovecot does */
	if (len == 0 || memchr(comp, '.', len) != NULL || comp[0] == '~')
		return false;
	char enc[UTF7IMAP_ENCODE_MAX(MAILDIR_FOLDER_MAX)];
	size_t n;
	if (utf7imap_from_utf8(comp, len, enc, sizeof(enc), &n) != UTF7IMAP_OK)
		return false;
	return buf_append_byte(b, '.') && buf_append(b, enc, n);
}

char *maildir_folder_dirname(const char *name)
{
	if (maildir_folder_is_inbox(name))
		return xstrdup("");
	size_t len = strlen(name);
	if (len == 0 || len > MAILDIR_FOLDER_MAX)
		return NULL;
	struct buf b;
	buf_init(&b, MAILDIR_FOLDER_MAX + 1);
	bool ok = true;
	for (const char *p = name; ok;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		ok = maildir_folder_component(&b, p, n);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (!ok || b.len > MAILDIR_FOLDER_MAX + 1) {
		buf_deinit(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *maildir_folder_name(const char *dirname)
{
	size_t len = strlen(dirname);
	if (len < 2 || dirname[0] != '.' || len > MAILDIR_FOLDER_MAX + 1)
		return NULL;
	/* UTF-8 can be longer than its modified UTF-7 (three bytes for two
	 * UTF-16 bytes, 8/3 base64 characters) */
	struct buf b;
	buf_init(&b, UTF7IMAP_DECODE_MAX(len));
	bool ok = true;
	for (const char *p = dirname + 1; ok;) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		char dec[UTF7IMAP_DECODE_MAX(MAILDIR_FOLDER_MAX + 1)];
		size_t dn;
		ok = n > 0 && utf7imap_to_utf8(p, n, dec, sizeof(dec), &dn) == UTF7IMAP_OK &&
		     memchr(dec, '/', dn) == NULL && (b.len == 0 || buf_append_byte(&b, '/')) &&
		     buf_append(&b, dec, dn);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	/* a name that does not come back to the same directory (not
	 * canonical) is not one of ours to serve */
	char *back = ok ? maildir_folder_dirname(b.ptr) : NULL;
	ok = back != NULL && strcmp(back, dirname) == 0 && !maildir_folder_is_inbox(b.ptr);
	xfree(back);
	if (!ok) {
		buf_deinit(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *maildir_folder_dir(const char *root, const char *name)
{
	char *dn = maildir_folder_dirname(name);
	if (dn == NULL)
		return NULL;
	char *path = dn[0] == '\0' ? xstrdup(root) : xasprintf("%s/%s", root, dn);
	xfree(dn);
	return path;
}

int maildir_mkdir_p(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	int ret = -1;
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (maildir_mkdir_p(parent) == 0)
			ret = mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
	}
	int saved = errno;
	xfree(parent);
	errno = saved;
	return ret;
}

int maildir_create(const char *path)
{
	/* new/ last: its existence is what marks a Maildir as ready, so a
	 * concurrent delivery that sees it will find tmp/ too. */
	static const char *const subdirs[] = {"tmp", "cur", "new"};
	if (maildir_mkdir_p(path) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", path, subdirs[i]);
		int r = mkdir(sub, 0700);
		int saved = errno;
		xfree(sub);
		if (r < 0 && saved != EEXIST) {
			errno = saved;
			return -1;
		}
	}
	return 0;
}

static bool maildir_is_dir(const char *path, const char *sub)
{
	char *p = xasprintf("%s/%s", path, sub);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	xfree(p);
	return ok;
}

bool maildir_exists(const char *path)
{
	return maildir_is_dir(path, "cur") && maildir_is_dir(path, "new");
}

int maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}
