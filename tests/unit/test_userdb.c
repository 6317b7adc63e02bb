/*
 * test_userdb.c - the passwd-file user directory: editing round trips,
 * name validation, reloading on change, byte-for-byte preservation of
 * lines yubin does not own, Dovecot-style lines, malformed lines (and what
 * their warnings say), file modes, concurrency and a 100,000-user file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/userdb.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/test_userdb.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/users", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = {"", ".lock", ".tmp"};
	for (size_t i = 0; i < 3; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
		unlink(p);
		rmdir(p); /* some tests make a directory there */
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *content)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, strlen(content), fp), strlen(content));
	assert_int_equal(fclose(fp), 0);
}

static char *read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	do {
		cap = cap * 2 + 4096;
		buf = realloc(buf, cap);
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (len == cap - 1);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

static void assert_file(const char *path, const char *want)
{
	char *got = read_all(path);
	assert_string_equal(got, want);
	free(got);
}

/* The stored password for name, or NULL; checks the result code too. */
static char *lookup(const char *path, const char *name, enum userdb_result want)
{
	struct userdb *db = userdb_new(path);
	char *stored = (char *)1;
	enum userdb_result r = userdb_lookup(db, name, &stored);
	if (r != want)
		fail_msg("lookup %s: got %d, want %d", name, r, want);
	if (r != USERDB_OK)
		assert_null(stored);
	userdb_free(&db);
	assert_null(db);
	return stored;
}

static void assert_lookup(const char *path, const char *name, const char *want_stored)
{
	char *stored = lookup(path, name, USERDB_OK);
	assert_string_equal(stored, want_stored);
	free(stored);
}

struct name_list {
	char names[8][64];
	size_t n;
	size_t count;
};

static void collect(const char *name, void *ctx)
{
	struct name_list *l = ctx;
	if (l->n < 8)
		snprintf(l->names[l->n++], 64, "%s", name);
	l->count++;
}

/* ---- editing ------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct name_list l = {0};
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_OK); /* no file */
	assert_int_equal(l.count, 0);
	assert_int_equal(userdb_add(f->path, "alice", "{PLAIN}one"), USERDB_OK);
	assert_int_equal(userdb_add(f->path, "bob", "{PLAIN}two"), USERDB_OK);
	assert_file(f->path, "alice:{PLAIN}one::::::\nbob:{PLAIN}two::::::\n");
	assert_lookup(f->path, "alice", "{PLAIN}one");
	assert_lookup(f->path, "bob", "{PLAIN}two");
	assert_int_equal(userdb_passwd(f->path, "alice", "{PLAIN}three"), USERDB_OK);
	assert_lookup(f->path, "alice", "{PLAIN}three");
	assert_int_equal(userdb_delete(f->path, "bob"), USERDB_OK);
	lookup(f->path, "bob", USERDB_NOTFOUND);
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_OK);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.names[0], "alice");
	assert_int_equal(userdb_delete(f->path, "alice"), USERDB_OK);
	assert_file(f->path, "");
	lookup(f->path, "alice", USERDB_NOTFOUND);
}

static void test_exists_notfound(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(userdb_passwd(f->path, "ghost", "{PLAIN}x"), USERDB_NOTFOUND);
	assert_int_equal(userdb_delete(f->path, "ghost"), USERDB_NOTFOUND);
	assert_int_equal(access(f->path, F_OK), -1); /* nothing was written */
	assert_int_equal(userdb_add(f->path, "alice", "{PLAIN}one"), USERDB_OK);
	assert_int_equal(userdb_add(f->path, "alice", "{PLAIN}two"), USERDB_EXISTS);
	assert_int_equal(userdb_add(f->path, "ALICE", "{PLAIN}two"), USERDB_EXISTS);
	assert_int_equal(userdb_passwd(f->path, "ghost", "{PLAIN}x"), USERDB_NOTFOUND);
	assert_int_equal(userdb_delete(f->path, "ghost"), USERDB_NOTFOUND);
	assert_lookup(f->path, "alice", "{PLAIN}one");
}

static void test_invalid(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"../x", "a/b", ".x", "", "x@", "a..b", "x.", "a:b", "a b", "a\nb", "x@-y.com",
		"x@y..com", "@y.com",
		"01234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(userdb_add(f->path, names[i], "{PLAIN}x"), USERDB_INVALID);
		assert_int_equal(userdb_passwd(f->path, names[i], "{PLAIN}x"), USERDB_INVALID);
		assert_int_equal(userdb_delete(f->path, names[i]), USERDB_INVALID);
		lookup(f->path, names[i], USERDB_NOTFOUND);
	}
	static const char *const stored[] = {"", "{PLAIN}a:b", "{PLAIN}a\nb", "{PLAIN}a\rb"};
	for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		assert_int_equal(userdb_add(f->path, "alice", stored[i]), USERDB_INVALID);
		assert_int_equal(userdb_passwd(f->path, "alice", stored[i]), USERDB_INVALID);
	}
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(userdb_add(f->path, "alice", big), USERDB_INVALID);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_case_insensitive(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(userdb_add(f->path, "Alice@Example.COM", "{PLAIN}x"), USERDB_OK);
	assert_file(f->path, "alice@example.com:{PLAIN}x::::::\n");
	assert_lookup(f->path, "ALICE@example.com", "{PLAIN}x");
	assert_lookup(f->path, "alice@example.com", "{PLAIN}x");
	/* A hand-written upper-case line is found and edited too. */
	write_file(f->path, "Bob:{PLAIN}1:1000\n");
	assert_lookup(f->path, "bob", "{PLAIN}1");
	assert_int_equal(userdb_passwd(f->path, "BOB", "{PLAIN}2"), USERDB_OK);
	assert_file(f->path, "Bob:{PLAIN}2:1000\n");
	struct name_list l = {0};
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_OK);
	assert_string_equal(l.names[0], "bob");
	assert_int_equal(userdb_delete(f->path, "bOb"), USERDB_OK);
	assert_file(f->path, "");
}

/* ---- reading --------------------------------------------------------------- */

static void set_mtime(const char *path, long ns)
{
	struct timespec ts[2] = {{1700000000, ns}, {1700000000, ns}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_reload(void **state)
{
	struct fixture *f = *state;
	struct userdb *db = userdb_new(f->path);
	char *stored = NULL;
	assert_int_equal(userdb_lookup(db, "joe", &stored), USERDB_NOTFOUND);
	assert_false(userdb_any_plaintext(db));
	write_file(f->path, "joe:{PLAIN}aaaa\n");
	set_mtime(f->path, 1);
	assert_int_equal(userdb_lookup(db, "joe", &stored), USERDB_OK);
	assert_string_equal(stored, "{PLAIN}aaaa");
	free(stored);
	assert_true(userdb_any_plaintext(db));
	/* Same inode, same size: only the mtime (in ns) tells. */
	write_file(f->path, "joe:{PLAIN}bbbb\n");
	set_mtime(f->path, 2);
	assert_int_equal(userdb_lookup(db, "joe", &stored), USERDB_OK);
	assert_string_equal(stored, "{PLAIN}bbbb");
	free(stored);
	/* Editors replace the file. */
	assert_int_equal(userdb_add(f->path, "ann", "$6$x$y"), USERDB_OK);
	assert_int_equal(userdb_lookup(db, "ann", &stored), USERDB_OK);
	assert_string_equal(stored, "$6$x$y");
	free(stored);
	assert_int_equal(userdb_delete(f->path, "joe"), USERDB_OK);
	assert_int_equal(userdb_lookup(db, "joe", &stored), USERDB_NOTFOUND);
	assert_false(userdb_any_plaintext(db));
	/* A file that goes away means no users. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(userdb_lookup(db, "ann", &stored), USERDB_NOTFOUND);
	assert_null(stored);
	/* An unreadable users "file" is a temporary failure, not "no user". */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(userdb_lookup(db, "ann", &stored), USERDB_TEMPFAIL);
	struct name_list l = {0};
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_TEMPFAIL);
	assert_int_equal(userdb_add(f->path, "ann", "{PLAIN}x"), USERDB_TEMPFAIL);
	assert_int_equal(rmdir(f->path), 0);
	write_file(f->path, "ann:{PLAIN}back\n");
	assert_int_equal(userdb_lookup(db, "ann", &stored), USERDB_OK);
	assert_string_equal(stored, "{PLAIN}back");
	free(stored);
	userdb_free(&db);
	assert_null(db);
	userdb_free(&db); /* freeing NULL is fine */
}

static const char dovecot_file[] =
	"# users of example.com\n"
	"\n"
	"joe@example.com:{PLAIN}secret:1000:1000::/home/joe::\n"
	"ann:{SHA512-CRYPT}$6$saltsalt$abc:::::: userdb_quota_rule=*:storage=1G\n"
	"crlf:{PLAIN}dos\r\n"
	"nocolon\n"
	"empty::1000\n"
	":{PLAIN}noname\n"
	"../evil:{PLAIN}evil1\n"
	"dup:{PLAIN}first\n"
	"DUP:{PLAIN}second\n"
	"  spaced:{PLAIN}x\n"
	"last:{BLF-CRYPT}$2y$05$x"; /* no final newline */

static void test_dovecot_and_malformed(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, dovecot_file);
	/* Capture the warnings to see what they name. */
	char logpath[128];
	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	struct userdb *db = userdb_new(f->path);
	assert_true(userdb_any_plaintext(db));
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	char *log = read_all(logpath);
	unlink(logpath);
	static const char *const want_lines[] = {"line=6 ", "line=7 ", "line=8 ", "line=9 ",
						 "line=11 ", "line=12 "};
	for (size_t i = 0; i < sizeof(want_lines) / sizeof(want_lines[0]); i++)
		if (strstr(log, want_lines[i]) == NULL)
			fail_msg("no warning with %s in:\n%s", want_lines[i], log);
	assert_null(strstr(log, "line=3 "));
	assert_null(strstr(log, "evil1"));  /* never a password */
	assert_null(strstr(log, "second")); /* nor the duplicate's */
	assert_non_null(strstr(log, "duplicate"));
	free(log);

	char *stored = NULL;
	static const char *const found[][2] = {
		{"joe@example.com", "{PLAIN}secret"},
		{"JOE@EXAMPLE.COM", "{PLAIN}secret"},
		{"ann", "{SHA512-CRYPT}$6$saltsalt$abc"},
		{"crlf", "{PLAIN}dos"},
		{"dup", "{PLAIN}first"},
		{"last", "{BLF-CRYPT}$2y$05$x"},
	};
	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		assert_int_equal(userdb_lookup(db, found[i][0], &stored), USERDB_OK);
		assert_string_equal(stored, found[i][1]);
		free(stored);
	}
	static const char *const missing[] = {"nocolon", "empty", "evil", "../evil", "spaced",
					      "", "joe"};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		assert_int_equal(userdb_lookup(db, missing[i], &stored), USERDB_NOTFOUND);
	userdb_free(&db);

	struct name_list l = {0};
	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_OK);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(l.count, 5);
	assert_string_equal(l.names[0], "joe@example.com");
	assert_string_equal(l.names[4], "last");
}

/* Editors copy every line they do not own byte for byte. */
static void test_preserve(void **state)
{
	struct fixture *f = *state;
	log_set_level(LOG_LEVEL_ERROR);
	write_file(f->path, dovecot_file);
	assert_int_equal(userdb_add(f->path, "new", "{PLAIN}n"), USERDB_OK);
	char *want = malloc(sizeof(dovecot_file) + 64);
	snprintf(want, sizeof(dovecot_file) + 64, "%s\nnew:{PLAIN}n::::::\n", dovecot_file);
	char *got = read_all(f->path);
	assert_string_equal(got, want);
	free(got);

	/* passwd keeps the name as written and every later field */
	assert_int_equal(userdb_passwd(f->path, "joe@example.com", "{PLAIN}changed"), USERDB_OK);
	assert_int_equal(userdb_passwd(f->path, "crlf", "{PLAIN}unix"), USERDB_OK);
	assert_int_equal(userdb_passwd(f->path, "last", "{PLAIN}l"), USERDB_OK);
	got = read_all(f->path);
	assert_non_null(strstr(got, "\njoe@example.com:{PLAIN}changed:1000:1000::/home/joe::\n"));
	assert_non_null(strstr(got, "\ncrlf:{PLAIN}unix\r\n"));
	assert_non_null(strstr(got, "\nlast:{PLAIN}l\nnew:"));
	assert_non_null(strstr(got, "\n../evil:{PLAIN}evil1\n"));
	free(got);

	/* every line of a duplicated name changes, so none takes over later */
	assert_int_equal(userdb_passwd(f->path, "dup", "{PLAIN}d"), USERDB_OK);
	got = read_all(f->path);
	assert_non_null(strstr(got, "\ndup:{PLAIN}d\nDUP:{PLAIN}d\n"));
	free(got);
	assert_int_equal(userdb_delete(f->path, "dup"), USERDB_OK);
	assert_int_equal(userdb_delete(f->path, "ann"), USERDB_OK);
	got = read_all(f->path);
	assert_null(strstr(got, "dup:"));
	assert_null(strstr(got, "DUP:"));
	assert_null(strstr(got, "ann:"));
	assert_non_null(strstr(got, "# users of example.com\n\njoe@"));
	assert_non_null(strstr(got, "\nnocolon\nempty::1000\n:{PLAIN}noname\n"));
	assert_non_null(strstr(got, "\n  spaced:{PLAIN}x\n"));
	free(got);
	free(want);
	lookup(f->path, "dup", USERDB_NOTFOUND);
	log_set_level(LOG_LEVEL_INFO);
}

static void test_any_plaintext(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "a:{SHA512-CRYPT}$6$x$y\nb:$2y$05$x\nc:{SCRAM-SHA-256}1,QQ==,x,y\n");
	struct userdb *db = userdb_new(f->path);
	assert_false(userdb_any_plaintext(db));
	assert_int_equal(userdb_add(f->path, "d", "{PLAIN.BASE64}YTpi"), USERDB_OK);
	assert_true(userdb_any_plaintext(db));
	assert_int_equal(userdb_passwd(f->path, "d", "{CRYPT}$y$x"), USERDB_OK);
	assert_false(userdb_any_plaintext(db));
	assert_int_equal(userdb_passwd(f->path, "a", "{CLEARTEXT}x"), USERDB_OK);
	assert_true(userdb_any_plaintext(db));
	userdb_free(&db);
}

static void test_mode(void **state)
{
	struct fixture *f = *state;
	mode_t old = umask(022);
	/* a stale temporary file from a crash, with a loose mode */
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	write_file(tmp, "junk\n");
	chmod(tmp, 0644);
	assert_int_equal(userdb_add(f->path, "alice", "{PLAIN}x"), USERDB_OK);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	/* a rewrite of a looser file tightens it */
	chmod(f->path, 0644);
	assert_int_equal(userdb_passwd(f->path, "alice", "{PLAIN}y"), USERDB_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);
	assert_int_equal(userdb_add("/nonexistent-dir/users", "a", "{PLAIN}x"), USERDB_TEMPFAIL);
}

/* ---- scale and threads ------------------------------------------------------- */

#define BIG_USERS 100000

static void test_big(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < BIG_USERS; i++)
		fprintf(fp, "user%d@example.com:{SHA512-CRYPT}$6$salt%d$hash::::::\n", i, i);
	assert_int_equal(fclose(fp), 0);
	struct userdb *db = userdb_new(f->path);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000; i++) {
		int k = (int)(((unsigned)i * 7919u) % BIG_USERS);
		char name[64], want[64];
		snprintf(name, sizeof(name), "USER%d@example.com", k);
		snprintf(want, sizeof(want), "{SHA512-CRYPT}$6$salt%d$hash", k);
		char *stored = NULL;
		assert_int_equal(userdb_lookup(db, name, &stored), USERDB_OK);
		assert_string_equal(stored, want);
		free(stored);
	}
	char *stored = NULL;
	assert_int_equal(userdb_lookup(db, "user100000@example.com", &stored), USERDB_NOTFOUND);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Reported, not asserted: a loaded machine must not fail the test. */
	print_message("# 1000 lookups in a %d-user file: %.3f s\n", BIG_USERS,
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	userdb_free(&db);
	struct name_list l = {0};
	assert_int_equal(userdb_list(f->path, collect, &l), USERDB_OK);
	assert_int_equal(l.count, BIG_USERS);
	assert_string_equal(l.names[0], "user0@example.com");
	assert_int_equal(userdb_add(f->path, "newcomer", "{PLAIN}x"), USERDB_OK);
	assert_int_equal(userdb_delete(f->path, "user5@example.com"), USERDB_OK);
	lookup(f->path, "user5@example.com", USERDB_NOTFOUND);
	assert_lookup(f->path, "user99999@example.com", "{SHA512-CRYPT}$6$salt99999$hash");
	assert_lookup(f->path, "newcomer", "{PLAIN}x");
}

struct reader_arg {
	struct userdb *db;
	int bad;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;
	for (int i = 0; i < 2000; i++) {
		char *stored = NULL;
		if (userdb_lookup(a->db, i % 2 ? "alice" : "bob", &stored) != USERDB_OK ||
		    strncmp(stored, "{PLAIN}v", 8) != 0)
			a->bad++;
		free(stored);
	}
	return NULL;
}

/* Lookups from several threads while the file is being rewritten. */
static void test_threads(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(userdb_add(f->path, "alice", "{PLAIN}v0"), USERDB_OK);
	assert_int_equal(userdb_add(f->path, "bob", "{PLAIN}v0"), USERDB_OK);
	struct userdb *db = userdb_new(f->path);
	struct reader_arg args[4];
	pthread_t tid[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){db, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, reader_thread, &args[i]), 0);
	}
	for (int i = 1; i <= 30; i++) {
		char stored[32];
		snprintf(stored, sizeof(stored), "{PLAIN}v%d", i);
		assert_int_equal(userdb_passwd(f->path, i % 2 ? "alice" : "bob", stored),
				 USERDB_OK);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	userdb_free(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exists_notfound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dovecot_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_plaintext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
