/*
 * privdrop.c - switching to the mail user; see privdrop.h.
 */
#include "daemon/privdrop.h"

#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, char **err_r)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		*err_r = xasprintf("user %s (setting `user`) does not exist%s%s", user,
				   errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return false;
	}
	if (pw->pw_uid == 0) {
		*err_r = xasprintf("user %s (setting `user`) is root; pick an unprivileged "
				   "account", user);
		return false;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return true;
}

bool privdrop_switch(uid_t uid, gid_t gid, char **err_r)
{
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		*err_r = xasprintf("cannot switch to uid %u: %s", (unsigned)uid, strerror(errno));
		return false;
	}
	if (setuid(0) == 0) {
		*err_r = xstrdup("privileges could be regained after switching user");
		return false;
	}
	return true;
}

/*
 * Several `yubin` commands may start at once on a fresh install. The
 * directory is made under a temporary name, given to its owner, and only
 * then moved into place (without replacing anything), so nobody ever sees
 * it half set up; whoever loses the race just uses the winner's.
 */
bool privdrop_ensure_dir(const char *dir, uid_t uid, gid_t gid, char **err_r)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*err_r = xasprintf("%s exists but is not a directory", dir);
			return false;
		}
		return true;
	}
	if (errno != ENOENT) {
		*err_r = xasprintf("cannot use %s: %s", dir, strerror(errno));
		return false;
	}
	char *tmp = xasprintf("%s.new.%ld", dir, (long)getpid());
	int err = 0;
	if (mkdir(tmp, 0700) != 0) {
		err = errno;
	} else {
		if (geteuid() == 0 && chown(tmp, uid, gid) != 0)
			err = errno;
		else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) != 0)
			err = errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0
											  : errno;
		rmdir(tmp); /* gone already if the rename worked */
	}
	if (err != 0)
		*err_r = xasprintf("cannot create %s: %s", dir, strerror(err));
	free(tmp);
	return err == 0;
}
