/*
 * deliver.c - put one message into a user's folder; see store_deliver()
 * in store.h.
 *
 * The Maildir way (Maildir spec; OpenSMTPD mail.maildir.c does the same):
 * write tmp/<name> (created with O_EXCL, so nothing is ever overwritten),
 * fsync it, move it to new/<name> with renameat2(RENAME_NOREPLACE) (or
 * link()+unlink() where the filesystem cannot do that), fsync new/. Only
 * then is the message acknowledged. Any failure removes the tmp/ file, so
 * readers never see a partial message. The index is not touched: the next
 * sync finds the file, and delivery never waits for a SQLite lock.
 */
#include "store/store.h"

#include "store/crlf.h"
#include "store/maildir.h"
#include "store/maildir_name.h"
#include "store/spool.h"
#include "store/store_private.h"

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* Retries when a generated name already exists (it never should). */
#define DELIVER_NAME_TRIES 5
/* "cur/" + name + ":2," + flags */
#define DELIVER_PATH_MAX (MAILDIR_NAME_SIZE + 48)

struct deliver {
	bool fsync;
	const char *user;
	const char *folder;
	int dir_fd;      /* the folder's directory */
	int tmp_fd, sub_fd; /* its tmp/ and sub/, opened without following links */
	const char *sub; /* "new", or "cur" for a message with flags (APPEND) */
	const char *info; /* appended to the name in sub/: "" or ":2,<flags>" */
	time_t mtime;     /* 0, or the internal date to give the file */
	char name[MAILDIR_NAME_SIZE];
	char host[256];
	uint64_t size, vsize;
};

static enum store_error deliver_fail(struct deliver *d, const char *step, int err)
{
	char safe[LOG_SAFE_MAX];
	const char *f = d->folder != NULL ? d->folder : "INBOX";
	log_error("store: op=deliver user=%s folder=%s step=%s error=%s", d->user,
	          log_safe(safe, f, strlen(f)), step, store_errname(err));
	return STORE_ERR_TEMP;
}

enum deliver_copy { DELIVER_CFR, DELIVER_SENDFILE, DELIVER_READ_WRITE };

/* One chunk with the given method: bytes copied, 0 if the method cannot
 * be used here (try the next one), -1 on a real error. */
static ssize_t deliver_copy_chunk(enum deliver_copy how, int in, int out, loff_t *off, size_t chunk)
{
	ssize_t n;
	if (how == DELIVER_CFR) {
		n = copy_file_range(in, off, out, NULL, chunk, 0);
	} else if (how == DELIVER_SENDFILE) {
		off_t o = (off_t)*off;
		n = sendfile(out, in, &o, chunk);
		if (n > 0)
			*off = (loff_t)o;
	} else {
		char buf[65536];
		n = pread(in, buf, chunk < sizeof(buf) ? chunk : sizeof(buf), (off_t)*off);
		if (n == 0) {
			errno = EIO; /* the spool file is shorter than counted */
			return -1;
		}
		if (n > 0 && !fd_write_all(out, buf, (size_t)n))
			return -1;
		if (n > 0)
			*off += n;
		return n;
	}
	if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
		return 0;
	return n;
}

/* Copy len bytes of the spool file from offset 0 into out (at its current
 * position) without moving the spool's own file offset, so that several
 * threads can deliver one spool at once. Kernel copies first. */
static int deliver_copy_file(int in, int out, uint64_t len)
{
	loff_t off = 0;
	enum deliver_copy how = DELIVER_CFR;
	while ((uint64_t)off < len) {
		uint64_t left = len - (uint64_t)off;
		size_t chunk = left > (1u << 30) ? (1u << 30) : (size_t)left;
		ssize_t n = deliver_copy_chunk(how, in, out, &off, chunk);
		if (n == 0)
			how++; /* cannot be DELIVER_READ_WRITE: it never returns 0 */
		else if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* Create tmp/<name> with O_EXCL, trying fresh names if one exists. */
static int deliver_create_tmp(struct deliver *d, char tmp_path[MAILDIR_NAME_SIZE + 4])
{
	for (int i = 0; i < DELIVER_NAME_TRIES; i++) {
		maildir_name_new(d->name, d->host, d->size, d->vsize);
		snprintf(tmp_path, MAILDIR_NAME_SIZE + 4, "%s", d->name);
		int fd = openat(d->tmp_fd, tmp_path,
		                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int deliver_write_body(int fd, const char *prefix, size_t prefix_len,
                              const struct store_spool *body)
{
	if (!fd_write_all(fd, prefix, prefix_len))
		return -1;
	if (body->fd >= 0)
		return deliver_copy_file(body->fd, fd, body->count.size);
	return fd_write_all(fd, body->mem, body->mem_len) ? 0 : -1;
}

/* <name><info> in sub/: where the message becomes visible. */
static void deliver_final_path(const struct deliver *d, char *out, size_t size)
{
	snprintf(out, size, "%s%s", d->name, d->info);
}

/* Move tmp/<name> to new/<name> without ever replacing a file; if the
 * name is taken in new/, the message gets a fresh name. */
static int deliver_publish(struct deliver *d, const char *tmp_path)
{
	char new_path[DELIVER_PATH_MAX];
	for (int i = 0; i < DELIVER_NAME_TRIES; i++) {
		if (i > 0)
			maildir_name_new(d->name, d->host, d->size, d->vsize);
		deliver_final_path(d, new_path, sizeof(new_path));
		if (renameat2(d->tmp_fd, tmp_path, d->sub_fd, new_path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE here: link() also refuses to replace. */
			if (linkat(d->tmp_fd, tmp_path, d->sub_fd, new_path, 0) == 0) {
				if (unlinkat(d->tmp_fd, tmp_path, 0) < 0)
					deliver_fail(d, "unlink_tmp", errno);
				return 0;
			}
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static enum store_error deliver_file_in(struct deliver *d, const char *prefix, size_t prefix_len,
                                        const struct store_spool *body)
{
	char tmp_path[MAILDIR_NAME_SIZE + 4];
	int fd = deliver_create_tmp(d, tmp_path);
	if (fd < 0)
		return deliver_fail(d, "create", errno);
	const char *step = NULL;
	if (deliver_write_body(fd, prefix, prefix_len, body) < 0)
		step = "write";
	else if (d->mtime != 0 &&
	         futimens(fd, (struct timespec[2]){{d->mtime, 0}, {d->mtime, 0}}) < 0)
		step = "utime";
	else if (d->fsync && fsync(fd) < 0)
		step = "fsync";
	int e = errno;
	if (close(fd) < 0 && step == NULL) {
		step = "close"; /* NFS reports write errors here */
		e = errno;
	}
	if (step == NULL && deliver_publish(d, tmp_path) < 0) {
		step = "rename";
		e = errno;
	}
	if (step != NULL) {
		unlinkat(d->tmp_fd, tmp_path, 0);
		return deliver_fail(d, step, e);
	}
	if (d->fsync && fsync(d->sub_fd) < 0) {
		/* Not durable, so not acknowledged: take it back, the sender
		 * retries (store.h: on failure nothing is visible in new/). */
		e = errno;
		char new_path[DELIVER_PATH_MAX];
		deliver_final_path(d, new_path, sizeof(new_path));
		unlinkat(d->sub_fd, new_path, 0);
		return deliver_fail(d, "fsync_dir", e);
	}
	return STORE_OK;
}

/* tmp/ and new/ (or cur/) are opened without following symbolic links:
 * whoever can write into a Maildir must not be able to point its new/ at
 * somebody else's and have mail delivered there. */
static enum store_error deliver_file(struct deliver *d, const char *prefix, size_t prefix_len,
                                     const struct store_spool *body)
{
	d->tmp_fd = openat(d->dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	d->sub_fd = openat(d->dir_fd, d->sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	enum store_error err = d->tmp_fd < 0 || d->sub_fd < 0
	                           ? deliver_fail(d, "open_dir", errno)
	                           : deliver_file_in(d, prefix, prefix_len, body);
	if (d->tmp_fd >= 0)
		close(d->tmp_fd);
	if (d->sub_fd >= 0)
		close(d->sub_fd);
	d->tmp_fd = d->sub_fd = -1;
	return err;
}

/* The sizes for the name (S=, W=), then the file. */
static enum store_error deliver_sized(struct deliver *d, const char *prefix, size_t prefix_len,
                                      const struct store_spool *body)
{
	struct crlf_count pc;
	crlf_count_init(&pc);
	crlf_count_feed(&pc, prefix, prefix_len);
	d->size = prefix_len + body->count.size;
	d->vsize = crlf_count_joined_size(&pc, &body->count);
	return deliver_file(d, prefix, prefix_len, body);
}

/* Open the folder's directory; INBOX is created when missing, another
 * folder that does not exist is STORE_ERR_NOTFOUND. */
static enum store_error deliver_open_dir(struct deliver *d, const char *dir, bool inbox)
{
	struct stat st;
	/* a folder (not the root, which mail.location may place anywhere)
	 * must be a real directory */
	int nofollow = inbox ? 0 : O_NOFOLLOW;
	d->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
	if (d->dir_fd >= 0 && fstatat(d->dir_fd, "new", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return STORE_OK;
	if (errno != ENOENT)
		return deliver_fail(d, "open_dir", errno);
	if (!inbox)
		return STORE_ERR_NOTFOUND;
	if (d->dir_fd >= 0)
		close(d->dir_fd);
	d->dir_fd = -1;
	if (maildir_create(dir) < 0)
		return deliver_fail(d, "create_dir", errno);
	d->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
	if (d->dir_fd < 0)
		return deliver_fail(d, "open_dir", errno);
	return STORE_OK;
}

enum store_error store_deliver(const struct store_settings *s, const char *user, const char *folder,
                               const char *prefix, size_t prefix_len, struct store_spool *body)
{
	if (body->failed)
		return STORE_ERR_TEMP;
	if (body->over_quota)
		return STORE_ERR_QUOTA;
	struct deliver d = {
	    .fsync = s->fsync, .user = user, .folder = folder, .dir_fd = -1, .sub = "new", .info = ""};
	char *root;
	enum store_error err = store_user_maildir(s, user, &root);
	if (err != STORE_OK)
		return err;
	char *dir = maildir_folder_dir(root, folder);
	xfree(root);
	if (dir == NULL)
		return STORE_ERR_NOTFOUND;
	err = deliver_open_dir(&d, dir, maildir_folder_is_inbox(folder));
	xfree(dir);
	if (err == STORE_OK) {
		store_hostname(s->hostname, d.host, sizeof(d.host));
		err = deliver_sized(&d, prefix, prefix_len, body);
	}
	if (d.dir_fd >= 0)
		close(d.dir_fd);
	if (err == STORE_OK)
		log_debug("store: op=deliver user=%s file=%s", user, d.name);
	return err;
}

enum store_error deliver_append(struct store_user *u, const char *folder, int dir_fd,
                                const struct store_spool *body, const char *flags,
                                time_t mtime, char name_r[MAILDIR_NAME_SIZE])
{
	if (body->failed)
		return STORE_ERR_TEMP;
	if (body->over_quota)
		return STORE_ERR_QUOTA;
	char info[48];
	snprintf(info, sizeof(info), ":2,%s", flags);
	struct deliver d = {.fsync = u->fsync,
	                    .user = u->name,
	                    .folder = folder,
	                    .dir_fd = dir_fd,
	                    .sub = flags[0] != '\0' ? "cur" : "new",
	                    .info = flags[0] != '\0' ? info : "",
	                    .mtime = mtime};
	store_hostname(u->hostname, d.host, sizeof(d.host));
	enum store_error err = deliver_sized(&d, "", 0, body);
	if (err == STORE_OK)
		memcpy(name_r, d.name, MAILDIR_NAME_SIZE);
	return err;
}
