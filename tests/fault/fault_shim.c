/*
 * fault_shim.c - an LD_PRELOAD library that makes chosen file system calls
 * fail, for the I/O error tests (tests/fault/test_io_errors.py). Never
 * installed, never linked into yubin.
 *
 * Rules come from $YUBIN_FAULT, or, when $YUBIN_FAULT_FILE is set, from
 * that file, read again at every intercepted call so that a test can turn
 * faults on and off in a running server (a missing or empty file means no
 * faults). Rules are separated by ';' or new lines:
 *
 *     OP[@PATTERN][=ERRNO]
 *
 * OP is one of
 *     fsync    fsync() and fdatasync(); PATTERN is matched against the
 *              file's path (readlink of /proc/self/fd/N)
 *     rename   rename(), renameat(), renameat2(); PATTERN is matched
 *              against the absolute target path
 *     link     link(), linkat(); likewise
 * PATTERN is an fnmatch(3) pattern without FNM_PATHNAME ('*' matches '/'),
 * default "*". ERRNO is EIO (default), ENOSPC, EDQUOT, EROFS or EINVAL
 * (a file system without renameat2 flags).
 *
 * Each injected failure appends "pid OP path ERRNO" to $YUBIN_FAULT_LOG
 * (when set), so that a test can prove the fault really happened.
 *
 * Only calls made by the program itself are intercepted (glibc's internal
 * calls are not), which is exactly yubin's own durability code and
 * SQLite's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAULT_RULES_MAX 4096

static const struct {
	const char *name;
	int value;
} fault_errnos[] = {
    {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"EINVAL", EINVAL},
};

static void *fault_real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);
	if (fn == NULL) {
		fprintf(stderr, "fault_shim: no %s\n", name);
		abort();
	}
	return fn;
}

/* The current rules, NUL-terminated, into buf; false if there are none. */
static bool fault_rules(char *buf, size_t size)
{
	const char *file = getenv("YUBIN_FAULT_FILE");
	if (file == NULL) {
		const char *env = getenv("YUBIN_FAULT");
		if (env == NULL || *env == '\0')
			return false;
		snprintf(buf, size, "%s", env);
		return true;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static int fault_errno(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (strlen(fault_errnos[i].name) == len && memcmp(fault_errnos[i].name, name, len) == 0)
			return fault_errnos[i].value;
	return EIO;
}

/* Does one rule (start, len) name this op and path? 0 or its errno. */
static int fault_rule_matches(const char *rule, size_t len, const char *op, const char *path)
{
	char text[FAULT_RULES_MAX];
	snprintf(text, sizeof(text), "%.*s", (int)len, rule);
	char *eq = strrchr(text, '=');
	int err = EIO;
	if (eq != NULL) {
		err = fault_errno(eq + 1, strlen(eq + 1));
		*eq = '\0';
	}
	char *at = strchr(text, '@');
	const char *pattern = "*";
	if (at != NULL) {
		*at = '\0';
		pattern = at + 1;
	}
	if (strcmp(text, op) != 0)
		return 0;
	return fnmatch(pattern, path, 0) == 0 ? err : 0;
}

static void fault_log(const char *op, const char *path, int err)
{
	const char *file = getenv("YUBIN_FAULT_LOG");
	if (file == NULL)
		return;
	char line[PATH_MAX + 64];
	int n = snprintf(line, sizeof(line), "%ld %s %s %d\n", (long)getpid(), op, path, err);
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return;
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the log is only a witness */
	}
	close(fd);
}

/* 0 if the call may go ahead, else the errno to fail it with. */
static int fault_check(const char *op, const char *path)
{
	char rules[FAULT_RULES_MAX];
	if (!fault_rules(rules, sizeof(rules)))
		return 0;
	const char *p = rules;
	while (*p != '\0') {
		size_t len = strcspn(p, ";\n");
		int err = len > 0 ? fault_rule_matches(p, len, op, path) : 0;
		if (err != 0) {
			fault_log(op, path, err);
			return err;
		}
		p += len;
		p += strspn(p, ";\n");
	}
	return 0;
}

static void fault_fd_path(int fd, char out[PATH_MAX])
{
	char link_path[64];
	snprintf(link_path, sizeof(link_path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link_path, out, PATH_MAX - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* The absolute form of (dirfd, path) for matching. */
static void fault_at_path(int dirfd, const char *path, char out[PATH_MAX])
{
	if (path[0] == '/' || dirfd == AT_FDCWD) {
		if (path[0] == '/' || getcwd(out, PATH_MAX) == NULL)
			out[0] = '\0';
	} else {
		fault_fd_path(dirfd, out);
	}
	if (path[0] != '/') {
		size_t n = strlen(out);
		snprintf(out + n, PATH_MAX - n, "/%s", path);
	} else {
		snprintf(out, PATH_MAX, "%s", path);
	}
}

static int fault_fd_op(const char *op, int fd)
{
	char path[PATH_MAX];
	fault_fd_path(fd, path);
	return fault_check(op, path);
}

static int fault_at_op(const char *op, int dirfd, const char *target)
{
	char path[PATH_MAX];
	fault_at_path(dirfd, target, path);
	return fault_check(op, path);
}

#define FAULT_FAIL_IF(err)                                                                         \
	do {                                                                                       \
		int e_ = (err);                                                                    \
		if (e_ != 0) {                                                                     \
			errno = e_;                                                                \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

int fsync(int fd)
{
	FAULT_FAIL_IF(fault_fd_op("fsync", fd));
	return ((int (*)(int))fault_real("fsync"))(fd);
}

int fdatasync(int fd)
{
	FAULT_FAIL_IF(fault_fd_op("fsync", fd));
	return ((int (*)(int))fault_real("fdatasync"))(fd);
}

int rename(const char *oldpath, const char *newpath)
{
	FAULT_FAIL_IF(fault_at_op("rename", AT_FDCWD, newpath));
	return ((int (*)(const char *, const char *))fault_real("rename"))(oldpath, newpath);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	FAULT_FAIL_IF(fault_at_op("rename", newdirfd, newpath));
	return ((int (*)(int, const char *, int, const char *))fault_real("renameat"))(
	    olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
	FAULT_FAIL_IF(fault_at_op("rename", newdirfd, newpath));
	return ((int (*)(int, const char *, int, const char *, unsigned))fault_real("renameat2"))(
	    olddirfd, oldpath, newdirfd, newpath, flags);
}

int link(const char *oldpath, const char *newpath)
{
	FAULT_FAIL_IF(fault_at_op("link", AT_FDCWD, newpath));
	return ((int (*)(const char *, const char *))fault_real("link"))(oldpath, newpath);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	FAULT_FAIL_IF(fault_at_op("link", newdirfd, newpath));
	return ((int (*)(int, const char *, int, const char *, int))fault_real("linkat"))(
	    olddirfd, oldpath, newdirfd, newpath, flags);
}
