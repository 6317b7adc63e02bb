/*
 * test_quota.c - src/store/quota.c: the RFC822.SIZE a delivery adds, a
 * user's usage over all folders (with changes made behind the index's
 * back), and the over-quota checks at and around the limit. Everything
 * runs in a mkdtemp() directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/store.h"
#include "store/store_imap.h"
#include "store/store_quota.h"

#include "lib/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct env {
	char root[64];
	struct store_settings s;
	char *maildir; /* alice's */
	struct store_user *u;
};

static int env_setup(void **state)
{
	struct env *e = xmalloc(sizeof(*e));
	strcpy(e->root, "/tmp/yubin-test-quota-XXXXXX");
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

static struct store_spool *spool_of(struct env *e, const char *body, size_t len)
{
	struct store_spool *sp = store_spool_new(&e->s, 10 << 20);
	if (len > 0)
		assert_int_equal(store_spool_write(sp, body, len), STORE_OK);
	return sp;
}

/* Deliver prefix + body to folder; returns the RFC822.SIZE it adds as
 * store_quota_message_size() predicts it. */
static uint64_t deliver(struct env *e, const char *folder, const char *prefix, const char *body)
{
	struct store_spool *sp = spool_of(e, body, strlen(body));
	uint64_t size = store_quota_message_size(prefix, strlen(prefix), sp);
	assert_int_equal(store_deliver(&e->s, "alice", folder, prefix, strlen(prefix), sp),
	                 STORE_OK);
	store_spool_free(&sp);
	return size;
}

static void usage_is(struct env *e, uint64_t bytes, uint64_t messages)
{
	uint64_t b = 12345, m = 12345;
	assert_int_equal(store_quota_usage(e->u, &b, &m), STORE_OK);
	assert_int_equal(b, bytes);
	assert_int_equal(m, messages);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* ---- the size a delivery adds ---- */

static const struct {
	const char *prefix, *body;
	uint64_t crlf_size;
} size_cases[] = {
    {"", "", 0},
    {"", "a\r\n", 3},
    {"", "a\n", 3},       /* a bare LF counts as CRLF */
    {"", "a\rb", 3},      /* a lone CR is sent as it is */
    {"X: y\n", "a\n", 9}, /* prefix in the body's LF style */
    {"X: y\r\n", "a\r\n", 9},
    {"X: y\r", "\nbody", 10}, /* a CR ending the prefix joins the body's LF */
    {"X: y\r\n", "", 6},
    {"Return-Path: <s@example.org>\n", "\n\n", 34},
};

static void test_message_size(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const char *body = size_cases[i].body;
		struct store_spool *sp = spool_of(e, body, strlen(body));
		const char *prefix = size_cases[i].prefix;
		assert_int_equal(store_quota_message_size(prefix, strlen(prefix), sp),
		                 size_cases[i].crlf_size);
		store_spool_free(&sp);
		/* the body fed a byte at a time counts the same */
		sp = store_spool_new(&e->s, 1 << 20);
		for (size_t j = 0; body[j] != '\0'; j++)
			assert_int_equal(store_spool_write(sp, body + j, 1), STORE_OK);
		assert_int_equal(store_quota_message_size(prefix, strlen(prefix), sp),
		                 size_cases[i].crlf_size);
		store_spool_free(&sp);
	}
	/* APPEND passes no prefix at all */
	struct store_spool *sp = spool_of(e, "x\n", 2);
	assert_int_equal(store_quota_message_size(NULL, 0, sp), 3);
	store_spool_free(&sp);
}

/* What a delivery predicts is what the index then counts (W=). */
static void test_size_matches_usage(void **state)
{
	struct env *e = *state;
	uint64_t total = 0;
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++)
		total += deliver(e, NULL, size_cases[i].prefix, size_cases[i].body);
	usage_is(e, total, sizeof(size_cases) / sizeof(size_cases[0]));
}

/* ---- usage ---- */

static void test_usage_empty(void **state)
{
	struct env *e = *state;
	usage_is(e, 0, 0);
}

static void test_usage_all_folders(void **state)
{
	struct env *e = *state;
	assert_int_equal(store_folder_create(e->u, "Archive", 0), STORE_OK);
	assert_int_equal(store_folder_create(e->u, "Archive/2025", 0), STORE_OK);
	uint64_t a = deliver(e, NULL, "", "Subject: one\r\n\r\nbody\r\n");
	uint64_t b = deliver(e, "Archive", "X: y\n", "Subject: two\n\nbody\n");
	uint64_t c = deliver(e, "Archive/2025", "", "Subject: three\r\n\r\n");
	usage_is(e, a + b + c, 3);
	/* a parent that exists only through its child (\Noselect) is harmless */
	char *dir = xasprintf("%s/.Lone.Child", e->maildir);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (const char *sub = "cur\0new\0tmp\0"; *sub != '\0'; sub += 4) {
		char *p = xasprintf("%s/%s", dir, sub);
		assert_int_equal(mkdir(p, 0700), 0);
		xfree(p);
	}
	xfree(dir);
	usage_is(e, a + b + c, 3);
}

/* Files written, removed or renamed by others count as the disk says. */
static void test_usage_behind_back(void **state)
{
	struct env *e = *state;
	uint64_t a = deliver(e, NULL, "", "Subject: a\r\n\r\nbody\r\n");
	usage_is(e, a, 1);
	/* a file without S=/W= in its name, with LF line ends: 8 + 2 bare LFs */
	char *p = xasprintf("%s/new/1700000000.M1P1.other", e->maildir);
	write_file(p, "A: b\n\nc\n");
	usage_is(e, a + 11, 2);
	/* gone again: the next usage no longer counts it */
	assert_int_equal(unlink(p), 0);
	xfree(p);
	usage_is(e, a, 1);
}

/* A folder removed from disk (rm -r) leaves index rows behind that must
 * not count. */
static void test_usage_folder_removed(void **state)
{
	struct env *e = *state;
	assert_int_equal(store_folder_create(e->u, "Old", 0), STORE_OK);
	uint64_t a = deliver(e, NULL, "", "Subject: keep\r\n\r\n");
	uint64_t b = deliver(e, "Old", "", "Subject: old\r\n\r\nlong long body\r\n");
	usage_is(e, a + b, 2);
	char *cmd = xasprintf("rm -rf '%s/.Old'", e->maildir);
	assert_int_equal(system(cmd), 0);
	xfree(cmd);
	usage_is(e, a, 1);
}

/* ---- the checks ---- */

static void test_check_limits(void **state)
{
	struct env *e = *state;
	uint64_t used = deliver(e, NULL, "", "Subject: q\r\n\r\n0123456789\r\n");
	static const struct {
		uint64_t limit_minus_used; /* limit = used + this */
		uint64_t adding;
		enum store_error want;
	} cases[] = {
	    {0, 0, STORE_OK},        /* exactly full, adding nothing */
	    {0, 1, STORE_ERR_QUOTA}, /* one octet over */
	    {100, 100, STORE_OK},    /* exactly to the limit */
	    {100, 101, STORE_ERR_QUOTA},
	    {100, UINT64_MAX, STORE_ERR_QUOTA}, /* no overflow into "fits" */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
		    store_quota_check(e->u, used + cases[i].limit_minus_used, cases[i].adding),
		    cases[i].want);
	/* below the usage already: anything, even 0 octets, is over */
	assert_int_equal(store_quota_check(e->u, used - 1, 0), STORE_ERR_QUOTA);
	/* limit 0 = unlimited */
	assert_int_equal(store_quota_check(e->u, 0, UINT64_MAX), STORE_OK);
	/* by user name, the same figures */
	assert_int_equal(store_quota_check_user(&e->s, "alice", used + 100, 100), STORE_OK);
	assert_int_equal(store_quota_check_user(&e->s, "alice", used + 100, 101), STORE_ERR_QUOTA);
}

/* A user without a Maildir uses nothing, and checking creates nothing. */
static void test_check_user_without_maildir(void **state)
{
	struct env *e = *state;
	assert_int_equal(store_quota_check_user(&e->s, "bob", 1000, 1000), STORE_OK);
	assert_int_equal(store_quota_check_user(&e->s, "bob", 1000, 1001), STORE_ERR_QUOTA);
	assert_int_equal(store_quota_check_user(&e->s, "bob", 0, UINT64_MAX), STORE_OK);
	char *bob = xasprintf("%s/mail/bob", e->root);
	assert_int_equal(access(bob, F_OK), -1);
	xfree(bob);
}

/* With limit 0 nothing is read: even a vanished Maildir passes, while a
 * real limit reports that usage cannot be known (not "fits"). */
static void test_check_unlimited_reads_nothing(void **state)
{
	struct env *e = *state;
	char *away = xasprintf("%s.away", e->maildir);
	assert_int_equal(rename(e->maildir, away), 0);
	assert_int_equal(store_quota_check(e->u, 0, 1), STORE_OK);
	assert_int_equal(store_quota_check(e->u, 1000, 1), STORE_ERR_TEMP);
	assert_int_equal(rename(away, e->maildir), 0);
	xfree(away);
	assert_int_equal(store_quota_check(e->u, 1000, 1), STORE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_message_size, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_size_matches_usage, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_usage_empty, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_usage_all_folders, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_usage_behind_back, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_usage_folder_removed, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_check_limits, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_check_user_without_maildir, env_setup,
	                                    env_teardown),
	    cmocka_unit_test_setup_teardown(test_check_unlimited_reads_nothing, env_setup,
	                                    env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
