/*
 * store.c - error names and opening/closing a user's mail; see store.h.
 *
 * Opening is cheap on purpose: it computes paths and checks the Maildir
 * exists. The SQLite index is opened on first use (index.c), so a
 * delivery or a failed login never pays for it.
 */
#include "store/store.h"

#include "store/index.h"
#include "store/maildir.h"
#include "store/store_private.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *store_error_name(enum store_error err)
{
	static const char *const names[] = {
	    [STORE_OK] = "ok",
	    [STORE_ERR_TEMP] = "temp",
	    [STORE_ERR_PERM] = "perm",
	    [STORE_ERR_NOTFOUND] = "notfound",
	    [STORE_ERR_EXISTS] = "exists",
	    [STORE_ERR_EXPUNGED] = "expunged",
	    [STORE_ERR_INUSE] = "inuse",
	    [STORE_ERR_QUOTA] = "quota",
	};
	if ((size_t)err < sizeof(names) / sizeof(names[0]) && names[err] != NULL)
		return names[err];
	return "unknown";
}

const char *store_errname(int err)
{
	const char *n = strerrorname_np(err);
	return n != NULL ? n : "EUNKNOWN";
}

void store_hostname(const char *configured, char *out, size_t size)
{
	if (configured != NULL && *configured != '\0') {
		snprintf(out, size, "%s", configured);
		return;
	}
	if (gethostname(out, size) < 0 || out[0] == '\0')
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
}

/* cur/, new/ and tmp/ all there: no mkdir attempts needed. */
static bool store_maildir_complete(const char *root)
{
	char *tmp = xasprintf("%s/tmp", root);
	struct stat st;
	bool ok = maildir_exists(root) && stat(tmp, &st) == 0 && S_ISDIR(st.st_mode);
	xfree(tmp);
	return ok;
}

void store_library_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum store_error store_user_open(const struct store_settings *s, const char *user, bool create,
                                 struct store_user **user_r)
{
	*user_r = NULL;
	char *root;
	enum store_error err = store_user_maildir(s, user, &root);
	if (err != STORE_OK)
		return err;
	if (store_maildir_complete(root)) {
		/* the usual case: nothing to create */
	} else if (create || access(root, F_OK) == 0) {
		/* A Maildir whose cur/new/tmp went missing is repaired. */
		if (maildir_create(root) < 0) {
			log_error("store: op=user_open user=%s error=%s", user,
			          store_errname(errno));
			xfree(root);
			return STORE_ERR_TEMP;
		}
	} else {
		int e = errno;
		xfree(root);
		return e == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP;
	}
	struct store_user *u = xmalloc(sizeof(*u));
	u->name = xstrdup(user);
	u->maildir = root;
	u->data_dir = xstrdup(s->data_dir);
	u->hostname = s->hostname != NULL ? xstrdup(s->hostname) : NULL;
	u->fsync = s->fsync;
	*user_r = u;
	return STORE_OK;
}

void store_user_idle(struct store_user *u)
{
	index_close(u);
}

void store_user_close(struct store_user **user)
{
	struct store_user *u = *user;
	if (u == NULL)
		return;
	index_close(u);
	xfree(u->name);
	xfree(u->maildir);
	xfree(u->data_dir);
	xfree(u->hostname);
	for (size_t i = 0; i < sizeof(u->special) / sizeof(u->special[0]); i++)
		xfree(u->special[i]);
	xfree(*user);
}
