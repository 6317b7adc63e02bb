/*
 * test_store.c - src/store: paths and folder names, delivery (spool,
 * durability, failure, threads), the index (rebuild, corruption), sync with
 * changes made behind our back, and the POP3 view (UIDLs, commit, hide,
 * expire, login delay, locking, folders). Everything runs in a mkdtemp()
 * directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/hidden.h"
#include "store/index.h"
#include "store/maildir.h"
#include "store/spool.h"
#include "store/sync.h"
#include "store/store.h"

#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S(lit) lit, sizeof(lit) - 1

struct env {
	char root[64];
	struct store_settings s;
	char *maildir; /* alice's */
	struct store_user *u;
};

static int env_setup(void **state)
{
	struct env *e = xmalloc(sizeof(*e));
	strcpy(e->root, "/tmp/yubin-test-store-XXXXXX");
	assert_non_null(mkdtemp(e->root));
	e->s = (struct store_settings){e->root, "mail/%u", "test.example", false};
	e->maildir = xasprintf("%s/mail/alice", e->root);
	assert_int_equal(store_user_open(&e->s, "alice", true, &e->u), STORE_OK);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	store_user_close(&e->u);
	char *cmd = xasprintf("rm -rf '%s'", e->root);
	assert_int_equal(system(cmd), 0);
	xfree(cmd);
	xfree(e->maildir);
	xfree(e);
	return 0;
}

static enum store_error deliver(struct env *e, const char *folder, const char *prefix,
                                const char *body)
{
	struct store_spool *sp = store_spool_new(&e->s, 10 << 20);
	assert_int_equal(store_spool_write(sp, body, strlen(body)), STORE_OK);
	enum store_error err = store_deliver(&e->s, "alice", folder, prefix, strlen(prefix), sp);
	store_spool_free(&sp);
	return err;
}

static const char *const inbox_only[] = {"INBOX"};

static struct store_pop3_options opts(void)
{
	return (struct store_pop3_options){inbox_only, 1, true, false, UINT32_MAX, 0, 0};
}

static struct store_pop3_view *view_with(struct env *e, const struct store_pop3_options *o)
{
	struct store_pop3_view *v = NULL;
	bool delayed = true;
	assert_int_equal(store_pop3_open(e->u, o, &v, &delayed), STORE_OK);
	assert_false(delayed);
	return v;
}

static struct store_pop3_view *view(struct env *e)
{
	struct store_pop3_options o = opts();
	return view_with(e, &o);
}

/* Entries of dir (not "." and ".."), names into names[] if not NULL. */
static size_t list_dir(const char *dir, char names[][256], size_t max)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (names != NULL && n < max)
			snprintf(names[n], 256, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static size_t count_sub(struct env *e, const char *sub)
{
	char *dir = xasprintf("%s/%s", e->maildir, sub);
	size_t n = list_dir(dir, NULL, 0);
	xfree(dir);
	return n;
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void put_file(struct env *e, const char *rel, const char *content)
{
	char *path = xasprintf("%s/%s", e->maildir, rel);
	write_file(path, content);
	xfree(path);
}

static char *read_fd(int fd, size_t *len_r)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char *buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* Set new/ and cur/ mtimes to t (in the past, so a sync records them). */
static void set_dir_mtimes(const char *maildir, time_t t)
{
	static const char *const subs[] = {"new", "cur"};
	for (int i = 0; i < 2; i++) {
		char *dir = xasprintf("%s/%s", maildir, subs[i]);
		struct timespec ts[2] = {{t, 0}, {t, 0}};
		assert_int_equal(utimensat(AT_FDCWD, dir, ts, 0), 0);
		xfree(dir);
	}
}

/* ---- paths ---- */

static void test_user_maildir(void **state)
{
	(void)state;
	static const struct {
		const char *tmpl, *user, *want; /* want NULL: STORE_ERR_PERM */
	} cases[] = {
	    {"mail/%u", "alice", "/data/mail/alice"},
	    {"mail/%u/", "alice", "/data/mail/alice"},
	    {"mail/%d/%n", "bob@example.org", "/data/mail/example.org/bob"},
	    {"mail/%d/%n", "bob", "/data/mail/bob"},
	    {"/var/mail/%n/Maildir", "bob@x.org", "/var/mail/bob/Maildir"},
	    {"m/%u%%x", "a", "/data/m/a%x"},
	    {"m/%%u", "a", "/data/m/%u"},
	    {"mail/%x", "a", NULL},    /* unknown sequence */
	    {"mail/%", "a", NULL},     /* dangling % */
	    {"../mail/%u", "a", NULL}, /* leaves data_dir */
	    {"mail/../../%u", "a", NULL},
	    {"/var/../%u", "a", NULL},
	    {"mail/%u", "../x", NULL}, /* not a valid user name */
	    {"mail/%u", "", NULL},
	    {"mail/%u", "a/b", NULL},
	    {"mail/%u", ".a", NULL},
	    {"mail/..%u", "a", "/data/mail/..a"}, /* only a whole ".." component */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_settings s = {"/data", cases[i].tmpl, "h", false};
		char *path = (char *)1;
		enum store_error err = store_user_maildir(&s, cases[i].user, &path);
		print_message("# case %zu: %s %s\n", i, cases[i].tmpl, cases[i].user);
		if (cases[i].want == NULL) {
			assert_int_equal(err, STORE_ERR_PERM);
			assert_null(path);
		} else {
			assert_int_equal(err, STORE_OK);
			assert_string_equal(path, cases[i].want);
			free(path);
		}
	}
}

static void test_folder_names(void **state)
{
	(void)state;
	static const struct {
		const char *name, *dir; /* dir NULL: refused */
	} cases[] = {
	    {"INBOX", ""},
	    {"inbox", ""},
	    {"InBox", ""},
	    {"Junk", ".Junk"},
	    {"Archive/2025", ".Archive.2025"},
	    {"a/b/c", ".a.b.c"},
	    {"Mr Smith", ".Mr Smith"},
	    {"INBOX/sub", ".INBOX.sub"},
	    /* modified UTF-7 on disk, as Dovecot writes Maildir++ */
	    {"Entw\xc3\xbcrfe", ".Entw&APw-rfe"},
	    {"R&D", ".R&-D"},
	    {"Mr. Smith", NULL}, /* a '.' would read back as a separator */
	    {"~/x", NULL},
	    {"a/~b", NULL},
	    {"a\xff", NULL}, /* not UTF-8 */
	    {"", NULL},
	    {".Junk", NULL},
	    {"a/.b", NULL},
	    {"..", NULL},
	    {"a..b", NULL},
	    {"a./b", NULL}, /* would be ".a..b" */
	    {"/a", NULL},
	    {"a/", NULL},
	    {"a//b", NULL},
	    {"a\nb", NULL},
	    {"a\tb", NULL},
	    {"a\x7f", NULL},
	    {"a\x01", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = maildir_folder_dirname(cases[i].name);
		print_message("# case %zu\n", i);
		if (cases[i].dir == NULL) {
			assert_null(dir);
		} else {
			assert_non_null(dir);
			assert_string_equal(dir, cases[i].dir);
			free(dir);
		}
	}
	/* and back: only the canonical spelling of a folder is one */
	static const struct {
		const char *dir, *name; /* name NULL: not a folder */
	} back[] = {
	    {".Junk", "Junk"},
	    {".Archive.2025", "Archive/2025"},
	    {".Entw&APw-rfe", "Entw\xc3\xbcrfe"},
	    {".R&-D", "R&D"},
	    {".", NULL},
	    {"..", NULL},
	    {".a..b", NULL},
	    {".Entw&AP", NULL},
	    {".&AEE-", NULL}, /* "A" encoded: not canonical */
	    {".INBOX", NULL},
	    {".a/b", NULL},
	};
	for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		char *name = maildir_folder_name(back[i].dir);
		print_message("# back %zu\n", i);
		if (back[i].name == NULL) {
			assert_null(name);
		} else {
			assert_non_null(name);
			assert_string_equal(name, back[i].name);
			free(name);
		}
	}
	char *dir = maildir_folder_dirname(NULL);
	assert_string_equal(dir, "");
	free(dir);
	char longname[MAILDIR_FOLDER_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(maildir_folder_dirname(longname));
	longname[MAILDIR_FOLDER_MAX] = '\0';
	dir = maildir_folder_dirname(longname);
	assert_non_null(dir);
	free(dir);
	assert_true(maildir_folder_is_inbox(NULL));
	assert_false(maildir_folder_is_inbox("INBOX/x"));
}

static void test_user_open(void **state)
{
	struct env *e = *state;
	struct store_user *u = NULL;
	assert_int_equal(store_user_open(&e->s, "bob", false, &u), STORE_ERR_NOTFOUND);
	assert_null(u);
	assert_int_equal(store_user_open(&e->s, "bob", true, &u), STORE_OK);
	store_user_close(&u);
	assert_null(u);
	assert_int_equal(store_user_open(&e->s, "bob", false, &u), STORE_OK);
	store_user_close(&u);
	char *dir = xasprintf("%s/mail/bob/cur", e->root);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* A Maildir whose cur/ vanished is repaired on open. */
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(store_user_open(&e->s, "bob", false, &u), STORE_OK);
	assert_int_equal(stat(dir, &st), 0);
	store_user_close(&u);
	xfree(dir);
	assert_int_equal(store_user_open(&e->s, "../x", true, &u), STORE_ERR_PERM);
	assert_string_equal(store_error_name(STORE_ERR_INUSE), "inuse");
	assert_string_equal(store_error_name(STORE_OK), "ok");
	assert_string_equal(store_error_name((enum store_error)99), "unknown");
}

/* ---- delivery ---- */

static void test_deliver_and_view(void **state)
{
	struct env *e = *state;
	assert_int_equal(deliver(e, NULL, "Received: x\n", "Subject: a\n\nbody\n"), STORE_OK);
	assert_int_equal(deliver(e, "inbox", "", "Subject: b\r\n\r\nbody\r\n"), STORE_OK);
	char names[4][256];
	char *newdir = xasprintf("%s/new", e->maildir);
	assert_int_equal(list_dir(newdir, names, 4), 2);
	xfree(newdir);
	assert_int_equal(count_sub(e, "tmp"), 0);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 2);
	/* 12 + 17 bytes with 4 LFs; 20 bytes all CRLF */
	assert_int_equal(v->msgs[0].size, 33);
	assert_int_equal(v->msgs[1].size, 20);
	assert_int_equal(v->total_size, 53);
	assert_non_null(strstr(v->msgs[0].uidl, ".test.example,S=29,W=33"));
	assert_non_null(strstr(v->msgs[1].uidl, ".test.example,S=20,W=20"));
	/* UIDL = base name = the file name in new/ */
	for (size_t i = 0; i < 2; i++)
		assert_true(strcmp(v->msgs[i].uidl, names[0]) == 0 ||
		            strcmp(v->msgs[i].uidl, names[1]) == 0);
	int fd;
	uint64_t disk;
	bool clean;
	assert_int_equal(store_pop3_msg_open(v, 0, &fd, &disk, &clean), STORE_OK);
	size_t len;
	char *data = read_fd(fd, &len);
	assert_int_equal(disk, 29);
	assert_memory_equal(data, "Received: x\nSubject: a\n\nbody\n", 29);
	assert_false(clean);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
	xfree(data);
	assert_int_equal(store_pop3_msg_open(v, 1, &fd, &disk, &clean), STORE_OK);
	assert_true(clean);
	assert_int_equal(disk, 20);
	close(fd);
	store_pop3_close(&v);
	assert_null(v);
}

static void test_deliver_order(void **state)
{
	struct env *e = *state;
	char uidls[20][STORE_UIDL_MAX + 1];
	for (int i = 0; i < 20; i++) {
		char body[64];
		snprintf(body, sizeof(body), "Subject: %d\n\n", i);
		assert_int_equal(deliver(e, NULL, "", body), STORE_OK);
		/* a view after some deliveries: later ones must come after */
		if (i % 7 == 0) {
			struct store_pop3_view *v = view(e);
			assert_int_equal(v->count, (size_t)i + 1);
			strcpy(uidls[i], v->msgs[i].uidl);
			store_pop3_close(&v);
		}
	}
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 20);
	for (int i = 0; i < 20; i++) {
		int fd;
		uint64_t disk;
		bool clean;
		assert_int_equal(store_pop3_msg_open(v, (size_t)i, &fd, &disk, &clean), STORE_OK);
		char buf[64], want[64];
		size_t len;
		char *data = read_fd(fd, &len);
		close(fd);
		snprintf(want, sizeof(want), "Subject: %d\n\n", i);
		snprintf(buf, sizeof(buf), "%.*s", (int)len, data);
		assert_string_equal(buf, want); /* message i is the i-th delivered */
		xfree(data);
		if (i % 7 == 0)
			assert_string_equal(v->msgs[i].uidl, uidls[i]);
		if (i > 0)
			assert_true(v->msgs[i].id != v->msgs[i - 1].id);
	}
	store_pop3_close(&v);
}

static void test_spool(void **state)
{
	struct env *e = *state;
	/* Large: goes to a file; content and sizes survive delivery. */
	struct store_spool *sp = store_spool_new(&e->s, 4 << 20);
	char line[100];
	memset(line, 'x', sizeof(line));
	line[98] = '\r';
	line[99] = '\n';
	for (int i = 0; i < 5000; i++)
		assert_int_equal(store_spool_write(sp, line, sizeof(line)), STORE_OK);
	assert_true(sp->fd >= 0);
	assert_null(sp->mem);
	assert_true(store_spool_crlf(sp));
	assert_int_equal(store_spool_size(sp), 500000);
	assert_int_equal(store_deliver(&e->s, "alice", NULL, S("X: 1\r\n"), sp), STORE_OK);
	assert_int_equal(store_deliver(&e->s, "alice", NULL, S("X: 2\r\n"), sp), STORE_OK);
	store_spool_free(&sp);
	assert_null(sp);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 2);
	assert_int_equal(v->msgs[0].size, 500006);
	int fd;
	uint64_t disk;
	bool clean;
	assert_int_equal(store_pop3_msg_open(v, 1, &fd, &disk, &clean), STORE_OK);
	size_t len;
	char *data = read_fd(fd, &len);
	close(fd);
	assert_int_equal(len, 500006);
	assert_memory_equal(data, "X: 2\r\n", 6);
	for (size_t off = 6; off < len; off += 100)
		assert_memory_equal(data + off, line, 100);
	assert_true(clean);
	xfree(data);
	store_pop3_close(&v);
	/* The spool file lived in data_dir/tmp and is gone. */
	char *tmp = xasprintf("%s/tmp", e->root);
	assert_int_equal(list_dir(tmp, NULL, 0), 0);
	xfree(tmp);
}

static void test_spool_quota(void **state)
{
	struct env *e = *state;
	struct store_spool *sp = store_spool_new(&e->s, 10);
	assert_int_equal(store_spool_write(sp, S("12345\n")), STORE_OK);
	assert_false(store_spool_crlf(sp));
	assert_int_equal(store_spool_write(sp, S("67890\n")), STORE_ERR_QUOTA);
	assert_int_equal(store_spool_write(sp, S("more")), STORE_ERR_QUOTA);
	assert_int_equal(store_spool_size(sp), 16); /* still counting */
	assert_int_equal(store_deliver(&e->s, "alice", NULL, "", 0, sp), STORE_ERR_QUOTA);
	store_spool_free(&sp);
	sp = store_spool_new(&e->s, 6); /* exactly at the limit is fine */
	assert_int_equal(store_spool_write(sp, S("12345\n")), STORE_OK);
	assert_int_equal(store_spool_write(sp, "", 0), STORE_OK);
	assert_int_equal(store_spool_write(sp, NULL, 0), STORE_OK);
	assert_int_equal(store_deliver(&e->s, "alice", NULL, "", 0, sp), STORE_OK);
	store_spool_free(&sp);
	assert_int_equal(count_sub(e, "new"), 1);
}

/* Tests run as root, where permissions stop nothing: break the Maildir
 * with non-directories instead. */
static void test_deliver_failures(void **state)
{
	struct env *e = *state;
	char *tmp = xasprintf("%s/tmp", e->maildir);
	char *newd = xasprintf("%s/new", e->maildir);

	/* tmp/ is a file: the tmp file cannot be created. */
	assert_int_equal(rmdir(tmp), 0);
	write_file(tmp, "not a directory");
	assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_ERR_TEMP);
	assert_int_equal(count_sub(e, "new"), 0);
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(mkdir(tmp, 0700), 0);

	/* new/ is a file: the rename fails and the tmp file is removed. */
	assert_int_equal(rmdir(newd), 0);
	write_file(newd, "not a directory");
	assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_ERR_TEMP);
	assert_int_equal(count_sub(e, "tmp"), 0);
	assert_int_equal(unlink(newd), 0);
	assert_int_equal(mkdir(newd, 0700), 0);

	/* A folder that does not exist is not created (INBOX is). */
	assert_int_equal(deliver(e, "Nope", "", "x\n"), STORE_ERR_NOTFOUND);
	assert_int_equal(deliver(e, "../x", "", "x\n"), STORE_ERR_NOTFOUND);
	assert_int_equal(deliver(e, ".Junk", "", "x\n"), STORE_ERR_NOTFOUND);
	struct store_spool *sp = store_spool_new(&e->s, 100);
	assert_int_equal(store_deliver(&e->s, "../evil", NULL, "", 0, sp), STORE_ERR_PERM);
	assert_int_equal(store_deliver(&e->s, "carol", NULL, "", 0, sp), STORE_OK);
	store_spool_free(&sp);
	char *carol = xasprintf("%s/mail/carol/new", e->root);
	assert_int_equal(list_dir(carol, NULL, 0), 1);
	xfree(carol);

	assert_int_equal(count_sub(e, "new"), 0);
	assert_int_equal(count_sub(e, "tmp"), 0);
	assert_int_equal(deliver(e, NULL, "", "Subject: ok\n\n"), STORE_OK);
	assert_int_equal(count_sub(e, "new"), 1);
	xfree(tmp);
	xfree(newd);
}

#define DT_THREADS 4
#define DT_EACH 25

struct dt_arg {
	struct env *e;
	const char *user;
	int failures;
};

static void *deliver_thread(void *p)
{
	struct dt_arg *a = p;
	for (int i = 0; i < DT_EACH; i++) {
		struct store_spool *sp = store_spool_new(&a->e->s, 1 << 20);
		char body[64];
		int n = snprintf(body, sizeof(body), "Subject: %d\n\nx\n", i);
		if (store_spool_write(sp, body, (size_t)n) != STORE_OK ||
		    store_deliver(&a->e->s, a->user, NULL, "", 0, sp) != STORE_OK)
			a->failures++;
		store_spool_free(&sp);
	}
	return NULL;
}

static void test_deliver_threads(void **state)
{
	struct env *e = *state;
	pthread_t t[DT_THREADS];
	struct dt_arg args[DT_THREADS];
	for (int i = 0; i < DT_THREADS; i++) {
		/* two threads for alice, two for dave (INBOX created concurrently) */
		args[i] = (struct dt_arg){e, i % 2 ? "alice" : "dave", 0};
		assert_int_equal(pthread_create(&t[i], NULL, deliver_thread, &args[i]), 0);
	}
	for (int i = 0; i < DT_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(count_sub(e, "new"), DT_THREADS / 2 * DT_EACH);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, DT_THREADS / 2 * DT_EACH);
	for (size_t i = 1; i < v->count; i++)
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(v->msgs[i].uidl, v->msgs[j].uidl);
	store_pop3_close(&v);
	char *dave = xasprintf("%s/mail/dave/new", e->root);
	assert_int_equal(list_dir(dave, NULL, 0), DT_THREADS / 2 * DT_EACH);
	xfree(dave);
}

static void make_folder(struct env *e, const char *dirname)
{
	static const char *const subs[] = {"", "/cur", "/new", "/tmp"};
	for (int i = 0; i < 4; i++) {
		char *d = xasprintf("%s/%s%s", e->maildir, dirname, subs[i]);
		assert_int_equal(mkdir(d, 0700), 0);
		xfree(d);
	}
}

static void test_folders(void **state)
{
	struct env *e = *state;
	make_folder(e, ".Junk");
	make_folder(e, ".Archive.2025");
	assert_int_equal(deliver(e, "Junk", "", "Subject: junk1\n\n"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", "Subject: inbox1\n\n"), STORE_OK);
	assert_int_equal(deliver(e, "Junk", "", "Subject: junk2\n\n"), STORE_OK);
	assert_int_equal(deliver(e, "Archive/2025", "", "Subject: arch\n\n"), STORE_OK);
	static const char *const folders[] = {"INBOX", "Junk", "Missing", "junk", "inbox"};
	struct store_pop3_options o = opts();
	o.folders = folders;
	o.nfolders = 5;
	struct store_pop3_view *v = view_with(e, &o);
	assert_int_equal(v->count, 3); /* INBOX first, then Junk; "Missing" skipped */
	static const char *const want[] = {"Subject: inbox1\n\n", "Subject: junk1\n\n",
	                                   "Subject: junk2\n\n"};
	for (size_t i = 0; i < 3; i++) {
		int fd;
		uint64_t disk;
		bool clean;
		assert_int_equal(store_pop3_msg_open(v, i, &fd, &disk, &clean), STORE_OK);
		size_t len;
		char *data = read_fd(fd, &len);
		close(fd);
		assert_int_equal(len, strlen(want[i]));
		assert_memory_equal(data, want[i], len);
		xfree(data);
	}
	/* Deleting from Junk removes the file from .Junk/new. */
	bool del[3] = {false, true, false};
	assert_int_equal(store_pop3_commit(v, del), STORE_OK);
	store_pop3_close(&v);
	char *junk_new = xasprintf("%s/.Junk/new", e->maildir);
	assert_int_equal(list_dir(junk_new, NULL, 0), 1);
	xfree(junk_new);
	v = view_with(e, &o);
	assert_int_equal(v->count, 2);
	store_pop3_close(&v);
}

/* The same file (same base name) in two folders: distinct UIDLs. */
static void test_same_name_two_folders(void **state)
{
	struct env *e = *state;
	make_folder(e, ".Junk");
	put_file(e, "new/1600000000.M1P1.h,S=3,W=4", "ab\n");
	put_file(e, ".Junk/cur/1600000000.M1P1.h,S=3,W=4:2,S", "ab\n");
	static const char *const folders[] = {"INBOX", "Junk"};
	struct store_pop3_options o = opts();
	o.folders = folders;
	o.nfolders = 2;
	struct store_pop3_view *v = view_with(e, &o);
	assert_int_equal(v->count, 2);
	assert_string_equal(v->msgs[0].uidl, "1600000000.M1P1.h,S=3,W=4");
	assert_string_not_equal(v->msgs[1].uidl, v->msgs[0].uidl);
	assert_int_equal(v->msgs[1].uidl[0], 'H');
	assert_int_equal(strlen(v->msgs[1].uidl), 41);
	store_pop3_close(&v);
}

/* ---- sync: changes made by other programs ---- */

static void test_sync_behind_back(void **state)
{
	struct env *e = *state;
	assert_int_equal(deliver(e, NULL, "", "Subject: ours\n\n"), STORE_OK);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);

	/* Another MDA drops files; junk that is not a message is ignored. */
	put_file(e, "new/1500000000.5678.other", "Subject: qmail\n\nbody\n");
	put_file(e, "cur/1500000001.M1P2Q3.other:2,S", "Subject: courier\r\n\r\n");
	put_file(e, "new/.hidden", "x");
	put_file(e, "cur/.1500000002.x", "x");
	char *sub = xasprintf("%s/new/1500000003.dir", e->maildir);
	assert_int_equal(mkdir(sub, 0700), 0);
	xfree(sub);
	char *target = xasprintf("%s/new/1500000000.5678.other", e->maildir);
	char *link = xasprintf("%s/new/1500000004.link", e->maildir);
	assert_int_equal(symlink(target, link), 0);
	xfree(target);
	xfree(link);

	v = view(e);
	assert_int_equal(v->count, 3);
	/* the new ones in arrival order after ours */
	assert_string_equal(v->msgs[1].uidl, "1500000000.5678.other");
	assert_string_equal(v->msgs[2].uidl, "1500000001.M1P2Q3.other");
	assert_int_equal(v->msgs[1].size, 24); /* read: 21 bytes, 3 LFs */
	assert_int_equal(v->msgs[2].size, 20);
	int fd;
	uint64_t disk;
	bool clean;
	assert_int_equal(store_pop3_msg_open(v, 2, &fd, &disk, &clean), STORE_OK);
	assert_true(clean);
	close(fd);
	store_pop3_close(&v);

	/* Removed behind our back. */
	char *path = xasprintf("%s/new/1500000000.5678.other", e->maildir);
	assert_int_equal(unlink(path), 0);
	xfree(path);
	v = view(e);
	assert_int_equal(v->count, 2);
	assert_string_equal(v->msgs[1].uidl, "1500000001.M1P2Q3.other");
	store_pop3_close(&v);
}

static void test_rename_keeps_uidl(void **state)
{
	struct env *e = *state;
	assert_int_equal(deliver(e, NULL, "", "Subject: a\n\nx\n"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", "Subject: b\n\nx\n"), STORE_OK);
	struct store_pop3_view *v = view(e);
	char uidl0[STORE_UIDL_MAX + 1], uidl1[STORE_UIDL_MAX + 1];
	strcpy(uidl0, v->msgs[0].uidl);
	strcpy(uidl1, v->msgs[1].uidl);

	/* A MUA moves message 0 to cur/ with flags while the view is open:
	 * opening it follows the rename. */
	char *from = xasprintf("%s/new/%s", e->maildir, uidl0);
	char *to = xasprintf("%s/cur/%s:2,S", e->maildir, uidl0);
	assert_int_equal(rename(from, to), 0);
	int fd;
	uint64_t disk;
	bool clean;
	assert_int_equal(store_pop3_msg_open(v, 0, &fd, &disk, &clean), STORE_OK);
	assert_int_equal(disk, 14);
	close(fd);
	/* ...and again with other flags. */
	char *to2 = xasprintf("%s/cur/%s:2,RS", e->maildir, uidl0);
	assert_int_equal(rename(to, to2), 0);
	assert_int_equal(store_pop3_msg_open(v, 0, &fd, &disk, &clean), STORE_OK);
	close(fd);
	/* Message 1 removed by someone else: expunged. */
	char *gone = xasprintf("%s/new/%s", e->maildir, uidl1);
	assert_int_equal(unlink(gone), 0);
	assert_int_equal(store_pop3_msg_open(v, 1, &fd, &disk, &clean), STORE_ERR_EXPUNGED);
	/* DELE of both still commits: the vanished one is not an error, and
	 * the renamed one is found under its new name. */
	bool del[2] = {true, true};
	assert_int_equal(store_pop3_commit(v, del), STORE_OK);
	store_pop3_close(&v);
	assert_int_equal(access(to2, F_OK), -1);
	assert_int_equal(count_sub(e, "cur"), 0);
	xfree(from);
	xfree(to);
	xfree(to2);
	xfree(gone);

	/* A rename between sessions keeps the UIDL; the index follows the
	 * file to cur/ and records its flags. */
	assert_int_equal(deliver(e, NULL, "", "Subject: c\n\nx\n"), STORE_OK);
	v = view(e);
	strcpy(uidl0, v->msgs[0].uidl);
	store_pop3_close(&v);
	from = xasprintf("%s/new/%s", e->maildir, uidl0);
	to = xasprintf("%s/cur/%s:2,", e->maildir, uidl0);
	assert_int_equal(rename(from, to), 0);
	v = view(e);
	assert_int_equal(v->count, 1);
	assert_string_equal(v->msgs[0].uidl, uidl0);
	store_pop3_close(&v);
	char *to3 = xasprintf("%s/cur/%s:2,FS", e->maildir, uidl0);
	assert_int_equal(rename(to, to3), 0);
	v = view(e);
	assert_string_equal(v->msgs[0].uidl, uidl0);
	store_pop3_close(&v);
	char *path = xasprintf("%s/yubin.sqlite", e->maildir);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT in_cur, suffix, flags, base FROM messages",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), ":2,FS");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "FS");
	assert_string_equal((const char *)sqlite3_column_text(st, 3), uidl0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	xfree(path);
	xfree(from);
	xfree(to);
	xfree(to3);
}

/* Opening twice with nothing changed must not read the directories:
 * prove it by adding a file while hiding the change in the mtimes. */
static void test_sync_fast_path(void **state)
{
	struct env *e = *state;
	time_t past = time(NULL) - 100;
	assert_int_equal(deliver(e, NULL, "", "Subject: a\n\n"), STORE_OK);
	set_dir_mtimes(e->maildir, past);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);
	put_file(e, "new/1600000000.M1P1.sneaky,S=1,W=1", "x");
	set_dir_mtimes(e->maildir, past);
	v = view(e);
	assert_int_equal(v->count, 1); /* not scanned */
	store_pop3_close(&v);
	set_dir_mtimes(e->maildir, past + 50);
	v = view(e);
	assert_int_equal(v->count, 2);
	store_pop3_close(&v);
	/* A fresh mtime is not trusted: a change in the same timestamp tick
	 * (simulated by restoring the old mtime) is still seen. */
	assert_int_equal(deliver(e, NULL, "", "Subject: b\n\n"), STORE_OK);
	v = view(e);
	assert_int_equal(v->count, 3);
	store_pop3_close(&v);
	char *newdir = xasprintf("%s/new", e->maildir);
	struct stat st;
	assert_int_equal(stat(newdir, &st), 0);
	put_file(e, "new/1600000001.M1P1.same-tick,S=1,W=1", "x");
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, newdir, ts, 0), 0);
	xfree(newdir);
	v = view(e);
	assert_int_equal(v->count, 4);
	store_pop3_close(&v);
}

/* Only new/ changed since the last sync: only new/ is read. */
static void test_sync_only_new(void **state)
{
	struct env *e = *state;
	time_t past = time(NULL) - 100;
	assert_int_equal(deliver(e, NULL, "", "Subject: a\n\n"), STORE_OK);
	put_file(e, "cur/1600000002.M1P1.mua,S=1,W=1:2,S", "x");
	set_dir_mtimes(e->maildir, past);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 2);
	store_pop3_close(&v);
	/* a delivery, and behind our back a file in cur/ whose directory
	 * keeps its settled mtime: only new/ is looked at */
	put_file(e, "cur/1600000003.M1P1.sneaky,S=1,W=1:2,S", "x");
	char *cur = xasprintf("%s/cur", e->maildir);
	struct timespec ts[2] = {{past, 0}, {past, 0}};
	assert_int_equal(utimensat(AT_FDCWD, cur, ts, 0), 0);
	assert_int_equal(deliver(e, NULL, "", "Subject: b\n\n"), STORE_OK);
	v = view(e);
	assert_int_equal(v->count, 3);
	store_pop3_close(&v);
	/* a file gone from new/ is seen the same way */
	char *newdir = xasprintf("%s/new", e->maildir);
	DIR *d = opendir(newdir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	closedir(d);
	v = view(e);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);
	/* and when cur/ moves on, it is read again */
	struct timespec later[2] = {{past + 50, 0}, {past + 50, 0}};
	assert_int_equal(utimensat(AT_FDCWD, cur, later, 0), 0);
	v = view(e);
	assert_int_equal(v->count, 2);
	store_pop3_close(&v);
	xfree(cur);
	xfree(newdir);
}

/* Files a dead writer left in tmp/ go after 36 hours, fresh ones stay. */
static void test_sync_cleans_tmp(void **state)
{
	struct env *e = *state;
	put_file(e, "tmp/1600000000.M1P1.dead", "half a message");
	put_file(e, "tmp/1600000001.M1P1.busy", "being written");
	char *old = xasprintf("%s/tmp/1600000000.M1P1.dead", e->maildir);
	time_t t = time(NULL) - 40 * 3600;
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
	assert_int_equal(deliver(e, NULL, "", "Subject: a\n\n"), STORE_OK);
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);
	struct stat st;
	assert_int_equal(stat(old, &st), -1);
	char *busy = xasprintf("%s/tmp/1600000001.M1P1.busy", e->maildir);
	assert_int_equal(stat(busy, &st), 0);
	xfree(old);
	xfree(busy);
}

/* ---- the index ---- */

static void collect_uidls(struct env *e, char out[][STORE_UIDL_MAX + 1], size_t n)
{
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, n);
	for (size_t i = 0; i < n; i++)
		strcpy(out[i], v->msgs[i].uidl);
	store_pop3_close(&v);
}

static void reopen_user(struct env *e)
{
	store_user_close(&e->u);
	assert_int_equal(store_user_open(&e->s, "alice", false, &e->u), STORE_OK);
}

static void index_file(struct env *e, const char *suffix, const char *content)
{
	char *path = xasprintf("%s/yubin.sqlite%s", e->maildir, suffix);
	if (content == NULL)
		unlink(path);
	else
		write_file(path, content);
	xfree(path);
}

static void test_index_rebuild(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_OK);
	put_file(e, "cur/1500000000.weird name \x01:2,S", "odd\n"); /* not a valid UIDL */
	char before[4][STORE_UIDL_MAX + 1], after[4][STORE_UIDL_MAX + 1];
	collect_uidls(e, before, 4);
	assert_int_equal(before[0][0], 'H'); /* the oldest name sorts first */

	/* Deleted. */
	reopen_user(e);
	index_file(e, "", NULL);
	index_file(e, "-wal", NULL);
	index_file(e, "-shm", NULL);
	collect_uidls(e, after, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(before[i], after[i]);

	/* Garbage. */
	store_user_close(&e->u);
	index_file(e, "-wal", NULL);
	index_file(e, "-shm", NULL);
	index_file(e, "", "this is not a database, just garbage. ...........................");
	assert_int_equal(store_user_open(&e->s, "alice", false, &e->u), STORE_OK);
	collect_uidls(e, after, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(before[i], after[i]);

	/* Another schema version. */
	store_user_close(&e->u);
	char *path = xasprintf("%s/yubin.sqlite", e->maildir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_user_open(&e->s, "alice", false, &e->u), STORE_OK);
	collect_uidls(e, after, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(before[i], after[i]);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), INDEX_SCHEMA_VERSION);
	sqlite3_finalize(st);
	/* WAL mode */
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* An older schema (version 1 lacked eol_pad) is replaced. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	reopen_user(e);
	collect_uidls(e, after, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(before[i], after[i]);
	/* A database of someone else's (version 0 with tables) is replaced. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 0", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	reopen_user(e);
	collect_uidls(e, after, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(before[i], after[i]);
	xfree(path);
}

/* ---- the POP3 view ---- */

static void test_commit(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_OK);
	char uidls[4][STORE_UIDL_MAX + 1];
	collect_uidls(e, uidls, 4);
	/* A view closed without commit (dropped connection) deletes nothing. */
	struct store_pop3_view *v = view(e);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 4);

	v = view(e);
	bool del[4] = {true, false, true, false};
	assert_int_equal(store_pop3_commit(v, del), STORE_OK);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 2);
	v = view(e);
	assert_int_equal(v->count, 2);
	assert_string_equal(v->msgs[0].uidl, uidls[1]);
	assert_string_equal(v->msgs[1].uidl, uidls[3]);
	/* commit with nothing deleted */
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 2);
}

static void test_hide(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_OK);
	struct store_pop3_options o = opts();
	o.hide_deleted = true;
	struct store_pop3_view *v = view_with(e, &o);
	char kept[STORE_UIDL_MAX + 1];
	strcpy(kept, v->msgs[1].uidl);
	bool del[3] = {true, false, true};
	assert_int_equal(store_pop3_commit(v, del), STORE_OK);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 3); /* files stay */
	v = view_with(e, &o);
	assert_int_equal(v->count, 1);
	assert_string_equal(v->msgs[0].uidl, kept);
	assert_int_equal(v->total_size, v->msgs[0].size);
	store_pop3_close(&v);
	/* Hidden stays hidden across rescans and an index rebuild: the
	 * folder's yubin-pop3-hidden file remembers it. */
	put_file(e, "new/1500000000.M1P1.poke", "x");
	v = view_with(e, &o);
	assert_int_equal(v->count, 2);
	assert_string_equal(v->msgs[0].uidl, kept); /* the new file gets the next UID */
	store_pop3_close(&v);
	reopen_user(e);
	index_file(e, "", NULL);
	index_file(e, "-wal", NULL);
	index_file(e, "-shm", NULL);
	v = view_with(e, &o);
	assert_int_equal(v->count, 2); /* rebuilt: UIDs by name, the old name first */
	assert_string_equal(v->msgs[0].uidl, "1500000000.M1P1.poke");
	assert_string_equal(v->msgs[1].uidl, kept);
	bool del2[2] = {true, false};
	assert_int_equal(store_pop3_commit(v, del2), STORE_OK);
	store_pop3_close(&v);
	char *hidden = xasprintf("%s/yubin-pop3-hidden", e->maildir);
	int fd = open(hidden, O_RDONLY);
	assert_true(fd >= 0);
	size_t len;
	char *data = read_fd(fd, &len);
	close(fd);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(data, "1500000000.M1P1.poke\n"));
	xfree(data);
	xfree(hidden);
	reopen_user(e);
	index_file(e, "", NULL);
	v = view_with(e, &o);
	assert_int_equal(v->count, 1);
	assert_string_equal(v->msgs[0].uidl, kept);
	store_pop3_close(&v);
}

static void test_expire(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(deliver(e, NULL, "", "Subject: x\n\n"), STORE_OK);
	const time_t t0 = 1700000000;
	struct store_pop3_options o = opts();
	o.expire_days = 2;
	o.now = t0;
	struct store_pop3_view *v = view_with(e, &o);
	store_pop3_mark_retrieved(v, 0);
	store_pop3_mark_retrieved(v, 2);
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);

	o.now = t0 + 86400; /* a day later: still there */
	v = view_with(e, &o);
	assert_int_equal(v->count, 3);
	store_pop3_mark_retrieved(v, 0); /* retrieved again: the first time counts */
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);

	o.now = t0 + 2 * 86400 + 1; /* more than two days: gone at open */
	v = view_with(e, &o);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 1);

	/* expire_days = 0: what is retrieved goes at commit, and only then. */
	o.expire_days = 0;
	assert_int_equal(deliver(e, NULL, "", "Subject: y\n\n"), STORE_OK);
	v = view_with(e, &o);
	assert_int_equal(v->count, 2);
	store_pop3_mark_retrieved(v, 1);
	store_pop3_close(&v); /* no commit: nothing happens */
	v = view_with(e, &o);
	assert_int_equal(v->count, 2);
	store_pop3_mark_retrieved(v, 1);
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);
	v = view_with(e, &o);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);

	/* never: nothing expires, and retrievals are not even recorded (a
	 * login that changes nothing writes nothing), so turning EXPIRE on
	 * later counts only retrievals made from then on */
	o.expire_days = UINT32_MAX;
	v = view_with(e, &o);
	store_pop3_mark_retrieved(v, 0);
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);
	o.now = t0 + 1000 * 86400;
	v = view_with(e, &o);
	assert_int_equal(v->count, 1);
	store_pop3_close(&v);
	o.expire_days = 1;
	o.now = t0 + 1001 * 86400;
	v = view_with(e, &o);
	assert_int_equal(v->count, 1); /* the retrieval under "never" does not count */
	store_pop3_mark_retrieved(v, 0);
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);

	/* hide + expire: hidden, file kept */
	o.hide_deleted = true;
	o.now = t0 + 1003 * 86400;
	v = view_with(e, &o);
	assert_int_equal(v->count, 0);
	store_pop3_close(&v);
	assert_int_equal(count_sub(e, "new"), 1);
}

static void test_login_delay(void **state)
{
	struct env *e = *state;
	struct store_pop3_options o = opts();
	o.login_delay = 60;
	o.now = 1700000000;
	struct store_pop3_view *v = view_with(e, &o);
	store_pop3_close(&v);
	o.now += 59;
	bool delayed = false;
	assert_int_equal(store_pop3_open(e->u, &o, &v, &delayed), STORE_ERR_INUSE);
	assert_true(delayed);
	assert_null(v);
	o.now += 1; /* 60 s after the first (the refused one was not recorded) */
	v = view_with(e, &o);
	store_pop3_close(&v);
	o.now += 1;
	o.login_delay = 0; /* off: still records */
	v = view_with(e, &o);
	store_pop3_close(&v);
	o.login_delay = 60;
	o.now += 10;
	assert_int_equal(store_pop3_open(e->u, &o, &v, &delayed), STORE_ERR_INUSE);
	assert_true(delayed);
	o.now -= 1000; /* clock went back: not locked out */
	v = view_with(e, &o);
	store_pop3_close(&v);
}

static void test_inuse(void **state)
{
	struct env *e = *state;
	struct store_user *u2;
	assert_int_equal(store_user_open(&e->s, "alice", false, &u2), STORE_OK);
	struct store_pop3_view *v1 = view(e), *v2 = NULL;
	struct store_pop3_options o = opts();
	bool delayed = true;
	assert_int_equal(store_pop3_open(u2, &o, &v2, &delayed), STORE_ERR_INUSE);
	assert_false(delayed);
	assert_null(v2);
	o.lock = false; /* without the lock both may look */
	assert_int_equal(store_pop3_open(u2, &o, &v2, NULL), STORE_OK);
	store_pop3_close(&v2);
	store_pop3_close(&v1);
	o.lock = true;
	assert_int_equal(store_pop3_open(u2, &o, &v2, NULL), STORE_OK);
	store_pop3_close(&v2);
	store_user_close(&u2);
}

/* Sizes from the name are trusted; crlf_clean is then computed on first
 * open and cached. */
static void test_clean_cached(void **state)
{
	struct env *e = *state;
	put_file(e, "new/1500000000.M1P1.h,S=4,W=4", "a\r\n.");
	put_file(e, "new/1500000001.M1P1.h,S=3,W=3", "a\r\n");
	put_file(e, "new/1500000002.M1P1.h,S=3", "a\r\n"); /* no W: read */
	put_file(e, "new/1500000003.M1P1.h,W=9", "a\n");   /* W trusted, S from stat */
	for (int round = 0; round < 2; round++) {
		struct store_pop3_view *v = view(e);
		assert_int_equal(v->count, 4);
		assert_int_equal(v->msgs[2].size, 3);
		assert_int_equal(v->msgs[3].size, 9);
		bool want[4] = {false, true, true, false};
		for (size_t i = 0; i < 4; i++) {
			int fd;
			uint64_t disk;
			bool clean;
			assert_int_equal(store_pop3_msg_open(v, i, &fd, &disk, &clean), STORE_OK);
			assert_int_equal(clean, want[i]);
			close(fd);
		}
		store_pop3_close(&v);
	}
	char *path = xasprintf("%s/yubin.sqlite", e->maildir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE crlf_clean IS NULL", -1,
	                       &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	xfree(path);
}

/* RFC 1939 3: RETR ends an unterminated last line with CRLF, so the size
 * a view reports (what RETR sends) counts it, while W= (IMAP's exact
 * RFC822.SIZE) does not. */
static void test_size_unterminated(void **state)
{
	struct env *e = *state;
	assert_int_equal(deliver(e, NULL, "", "Subject: a\r\n\r\nno end"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", "Subject: b\n\nlf no end"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", "Subject: c\r\n\r\nlone cr\r"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", "Subject: d\r\n\r\nfine\r\n"), STORE_OK);
	assert_int_equal(deliver(e, NULL, "", ""), STORE_OK);
	put_file(e, "cur/1500000000.other:2,S", "x: y\n\nno end"); /* read, no W= */
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, 6);
	/* the oldest name first: the foreign file, 12 bytes with 2 LFs */
	assert_string_equal(v->msgs[0].uidl, "1500000000.other");
	static const uint64_t want[6] = {14 + 2, 20 + 2, 23 + 2, 22 + 1, 20, 0};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(v->msgs[i].size, want[i]);
	assert_non_null(strstr(v->msgs[1].uidl, ",S=20,W=20"));
	assert_non_null(strstr(v->msgs[2].uidl, ",S=21,W=23"));
	assert_non_null(strstr(v->msgs[5].uidl, ",S=0,W=0"));
	store_pop3_close(&v);
	/* A rebuild computes the same. */
	reopen_user(e);
	index_file(e, "", NULL);
	index_file(e, "-wal", NULL);
	index_file(e, "-shm", NULL);
	v = view(e);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(v->msgs[i].size, want[i]);
	store_pop3_close(&v);
}

/* Indexing many files at once reads the tails of only the newest
 * SYNC_TAIL_READS; the rest are corrected when first opened. */
static void test_size_tail_budget(void **state)
{
	struct env *e = *state;
	const size_t n = SYNC_TAIL_READS + 3;
	for (size_t i = 0; i < n; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "new/%zu.M1P1.h,S=3,W=3", 1600000000 + i);
		put_file(e, rel, "abc");
	}
	struct store_pop3_view *v = view(e);
	assert_int_equal(v->count, n);
	/* over STORE_POP3_EAGER_MAX: counted at open, listed on demand */
	assert_false(store_pop3_loaded(v));
	assert_null(v->msgs);
	assert_int_equal(v->total_size, 3 * 3 + (n - 3) * 5);
	assert_int_equal(store_pop3_load(v), STORE_OK);
	assert_true(store_pop3_loaded(v));
	assert_int_equal(v->count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v->msgs[i].size, i < 3 ? 3 : 5);
	int fd;
	uint64_t disk;
	bool clean;
	assert_int_equal(store_pop3_msg_open(v, 1, &fd, &disk, &clean), STORE_OK);
	assert_false(clean);
	close(fd);
	store_pop3_close(&v);
	v = view(e);
	/* the aggregates follow the size learnt at the first RETR */
	assert_int_equal(v->total_size, 3 * 3 + (n - 3) * 5 + 2);
	/* a delivery after open is not part of this session's list */
	assert_int_equal(deliver(e, NULL, "", "Subject: late\n\nx\n"), STORE_OK);
	assert_int_equal(store_pop3_load(v), STORE_OK);
	assert_int_equal(v->count, n);
	assert_int_equal(v->msgs[0].size, 3);
	assert_int_equal(v->msgs[1].size, 5); /* learnt when it was opened */
	assert_int_equal(v->msgs[2].size, 3);
	store_pop3_close(&v);
	/* a session that never needs the list: QUIT commits nothing, and
	 * closing frees what open allocated (regression: it freed per-message
	 * data that only a load creates) */
	v = view(e);
	assert_false(store_pop3_loaded(v));
	assert_int_equal(store_pop3_commit(v, NULL), STORE_OK);
	store_pop3_close(&v);
}

static void test_hidden_file(void **state)
{
	struct env *e = *state;
	assert_null(hidden_read(e->maildir)); /* no file yet */
	assert_false(hidden_contains(NULL, S("a")));
	static const char *const names[] = {"b.2", "line\nfeed", "", "a.1"};
	static const size_t lens[] = {3, 9, 0, 3};
	assert_int_equal(hidden_append(e->maildir, names, lens, 4, true), 0);
	assert_int_equal(hidden_append(e->maildir, names, lens, 1, false), 0); /* repeated */
	assert_int_equal(hidden_append(e->maildir, names, lens, 0, false), 0);
	char *path = xasprintf("%s/%s", e->maildir, HIDDEN_FILE_NAME);
	int fd = open(path, O_RDONLY);
	size_t len;
	char *data = read_fd(fd, &len);
	close(fd);
	assert_int_equal(len, 12);
	assert_memory_equal(data, "b.2\na.1\nb.2\n", 12);
	xfree(data);
	struct hidden_set *h = hidden_read(e->maildir);
	assert_non_null(h);
	assert_true(hidden_contains(h, S("a.1")));
	assert_true(hidden_contains(h, S("b.2")));
	assert_false(hidden_contains(h, S("a.")));
	assert_false(hidden_contains(h, S("a.12")));
	assert_false(hidden_contains(h, S("line")));
	assert_false(hidden_contains(h, "", 0));
	hidden_free(&h);
	assert_null(h);
	/* A directory in the file's place: unreadable, not fatal. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(hidden_read(e->maildir));
	assert_int_equal(hidden_append(e->maildir, names, lens, 1, false), -1);
	xfree(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_maildir),
	    cmocka_unit_test(test_folder_names),
	    T(test_user_open),
	    T(test_deliver_and_view),
	    T(test_deliver_order),
	    T(test_spool),
	    T(test_spool_quota),
	    T(test_deliver_failures),
	    T(test_deliver_threads),
	    T(test_folders),
	    T(test_same_name_two_folders),
	    T(test_sync_behind_back),
	    T(test_rename_keeps_uidl),
	    T(test_sync_fast_path),
	    T(test_sync_only_new),
	    T(test_sync_cleans_tmp),
	    T(test_index_rebuild),
	    T(test_commit),
	    T(test_hide),
	    T(test_expire),
	    T(test_login_delay),
	    T(test_inuse),
	    T(test_clean_cached),
	    T(test_size_unterminated),
	    T(test_size_tail_budget),
	    T(test_hidden_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
