/*
 * test_mailbox_view.c - the saved view of a big folder (mailbox_view.c):
 * a view opened from the saved copy and brought up to date must be the
 * view a full read of the index gives, whatever happened in between
 * (flag changes, expunges, deliveries, changes behind our back); a saved
 * copy that cannot be trusted (another index, a damaged file) is not
 * used and is written again. The size threshold is lowered so that small
 * folders have a saved view.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/mailbox_private.h"
#include "store/spool.h"
#include "store/store.h"
#include "store/store_imap.h"

#include "lib/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_MSGS 40

struct env {
	char root[64];
	struct store_settings s;
	char *maildir;
	char *view_path;
	struct store_user *u;
};

static void deliver(struct env *e, int i)
{
	char body[128];
	snprintf(body, sizeof(body), "Subject: message %d\r\n\r\nbody %d\r\n", i, i);
	struct store_spool *sp = store_spool_new(&e->s, 1 << 20);
	assert_int_equal(store_spool_write(sp, body, strlen(body)), STORE_OK);
	assert_int_equal(store_deliver(&e->s, "alice", NULL, "", 0, sp), STORE_OK);
	store_spool_free(&sp);
}

static int env_setup(void **state)
{
	struct env *e = xmalloc(sizeof(*e));
	strcpy(e->root, "/tmp/yubin-test-view-XXXXXX");
	assert_non_null(mkdtemp(e->root));
	e->s = (struct store_settings){e->root, "mail/%u", "test.example", false};
	e->maildir = xasprintf("%s/mail/alice", e->root);
	e->view_path = xasprintf("%s/yubin-view", e->maildir);
	assert_int_equal(store_user_open(&e->s, "alice", true, &e->u), STORE_OK);
	for (int i = 0; i < N_MSGS; i++)
		deliver(e, i);
	mailbox_view_min_msgs = 10;
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
	xfree(e->view_path);
	xfree(e);
	mailbox_view_min_msgs = MAILBOX_VIEW_MIN_MSGS;
	return 0;
}

static struct store_mailbox *open_inbox(struct env *e, bool readonly)
{
	struct store_mailbox *mb = NULL;
	assert_int_equal(store_mailbox_open(e->u, "INBOX", readonly, &mb), STORE_OK);
	return mb;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* The view a full read of the index gives: the saved copy out of the way
 * and not written again. */
static struct store_mailbox *open_truth(struct env *e)
{
	char *aside = xasprintf("%s.aside", e->view_path);
	bool had = rename(e->view_path, aside) == 0;
	size_t min = mailbox_view_min_msgs;
	mailbox_view_min_msgs = SIZE_MAX;
	struct store_mailbox *mb = open_inbox(e, true);
	mailbox_view_min_msgs = min;
	assert_null(mb->map);
	if (had)
		assert_int_equal(rename(aside, e->view_path), 0);
	xfree(aside);
	return mb;
}

static void assert_same_view(const struct store_mailbox *a, const struct store_mailbox *b)
{
	assert_int_equal(store_mailbox_count(a), store_mailbox_count(b));
	assert_int_equal(store_mailbox_uidnext(a), store_mailbox_uidnext(b));
	assert_int_equal(store_mailbox_uidvalidity(a), store_mailbox_uidvalidity(b));
	assert_int_equal(store_mailbox_highestmodseq(a), store_mailbox_highestmodseq(b));
	for (size_t seq = 1; seq <= store_mailbox_count(a); seq++) {
		const struct store_msg *x = store_mailbox_msg(a, seq), *y = store_mailbox_msg(b, seq);
		assert_int_equal(x->uid, y->uid);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->keywords, y->keywords);
		assert_int_equal(x->modseq, y->modseq);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->internal_date, y->internal_date);
		assert_int_equal(a->ids[seq - 1], b->ids[seq - 1]);
	}
}

static void set_flags(struct store_mailbox *mb, const uint32_t *uids, size_t n,
                      enum store_flags_mode mode, unsigned flags, const char *keyword)
{
	uint32_t *failed = NULL;
	size_t nfailed = 0;
	const char *kw[] = {keyword};
	assert_int_equal(store_mailbox_set_flags(mb, uids, n, mode, flags, kw, keyword ? 1 : 0, 0,
	                                         &failed, &nfailed),
	                 STORE_OK);
	assert_int_equal(nfailed, 0);
	free(failed);
}

/* The first open writes the copy; the next one maps it. */
static void test_saved_and_mapped(void **state)
{
	struct env *e = *state;
	assert_false(exists(e->view_path));
	struct store_mailbox *mb = open_inbox(e, false);
	assert_null(mb->map);
	assert_int_equal(store_mailbox_count(mb), N_MSGS);
	store_mailbox_close(&mb);
	assert_true(exists(e->view_path));

	mb = open_inbox(e, false);
	assert_non_null(mb->map);
	struct store_mailbox *truth = open_truth(e);
	assert_same_view(mb, truth);
	store_mailbox_close(&truth);
	store_mailbox_close(&mb);
}

/* Below the threshold there is no copy. */
static void test_small_folder_no_copy(void **state)
{
	struct env *e = *state;
	mailbox_view_min_msgs = N_MSGS + 1;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb);
	assert_false(exists(e->view_path));
}

/* Flags changed, messages expunged and delivered after the copy was
 * written: the mapped view catches up with all of it. */
static void test_catch_up(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb); /* the copy */

	mb = open_inbox(e, false);
	uint32_t seen[] = {2, 5, 6, 30};
	set_flags(mb, seen, 4, STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$Label1");
	uint32_t doomed[] = {1, 7, 8, 9, 22, 40};
	set_flags(mb, doomed, 6, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL);
	assert_int_equal(store_mailbox_expunge(mb, NULL, 0), STORE_OK);
	store_mailbox_close(&mb);
	for (int i = 0; i < 3; i++)
		deliver(e, 100 + i);

	mb = open_inbox(e, true);
	assert_non_null(mb->map);
	struct store_mailbox *truth = open_truth(e);
	assert_int_equal(store_mailbox_count(truth), N_MSGS - 6 + 3);
	assert_same_view(mb, truth);
	assert_int_equal(store_mailbox_seq_of(mb, 1), 0);
	assert_int_equal(store_mailbox_seq_of(mb, 2), 1);
	store_mailbox_close(&truth);
	store_mailbox_close(&mb);
}

/* A mapped view that a session changes (flags, expunges, growth) keeps
 * working, and reports what a heap view reports. */
static void test_mapped_view_changes(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb);
	mb = open_inbox(e, false);
	assert_non_null(mb->map);

	uint32_t some[] = {3, 4, 10};
	set_flags(mb, some, 3, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED | STORE_FLAG_DELETED, NULL);
	assert_int_equal(store_mailbox_expunge(mb, NULL, 0), STORE_OK);
	struct store_changes ch;
	assert_int_equal(store_mailbox_sync(mb, false, &ch), STORE_OK);
	assert_int_equal(ch.n_expunged, 3);
	/* highest first, each its number when sent */
	assert_int_equal(ch.expunged_seqs[0], 10);
	assert_int_equal(ch.expunged_seqs[1], 4);
	assert_int_equal(ch.expunged_seqs[2], 3);
	store_changes_free(&ch);
	for (int i = 0; i < 5; i++)
		deliver(e, 200 + i);
	assert_int_equal(store_mailbox_sync(mb, false, &ch), STORE_OK);
	assert_int_equal(ch.exists, N_MSGS - 3 + 5);
	assert_int_equal(ch.recent, 5);
	store_changes_free(&ch);
	assert_non_null(mb->map); /* the room left in the file */

	struct store_mailbox *truth = open_truth(e);
	assert_int_equal(store_mailbox_count(mb), store_mailbox_count(truth));
	for (size_t seq = 1; seq <= store_mailbox_count(mb); seq++) {
		assert_int_equal(store_mailbox_msg(mb, seq)->uid, store_mailbox_msg(truth, seq)->uid);
		assert_int_equal(store_mailbox_msg(mb, seq)->flags,
		                 store_mailbox_msg(truth, seq)->flags);
	}
	store_changes_free(&ch);
	store_mailbox_close(&truth);
	store_mailbox_close(&mb);
}

/* More new messages than the file has room for: the view moves to the
 * heap and stays right. */
static void test_outgrow(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb);
	mb = open_inbox(e, false);
	assert_non_null(mb->map);
	size_t room = mb->cap - mb->n;
	for (size_t i = 0; i <= room; i++)
		deliver(e, 1000 + (int)i);
	struct store_changes ch;
	assert_int_equal(store_mailbox_sync(mb, false, &ch), STORE_OK);
	assert_int_equal(ch.exists, N_MSGS + room + 1);
	store_changes_free(&ch);
	assert_null(mb->map);
	struct store_mailbox *truth = open_truth(e);
	assert_same_view(mb, truth);
	store_mailbox_close(&truth);
	store_mailbox_close(&mb);
}

/* Flags changed behind our back (another program renames a file). */
static void test_change_behind_back(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false); /* moves new/ to cur/ */
	store_mailbox_close(&mb);
	char *cur = xasprintf("%s/cur", e->maildir);
	DIR *d = opendir(cur);
	assert_non_null(d);
	struct dirent *de;
	int renamed = 0;
	while ((de = readdir(d)) != NULL && renamed < 3) {
		if (de->d_name[0] == '.')
			continue;
		char *from = xasprintf("%s/%s", cur, de->d_name);
		char *to = xasprintf("%s/%sFS", cur, de->d_name); /* ":2," + "FS" */
		assert_int_equal(rename(from, to), 0);
		renamed++;
		xfree(from);
		xfree(to);
	}
	closedir(d);
	xfree(cur);
	/* a new second: the directory's mtime must say it changed */
	sleep(1);
	deliver(e, 300);

	mb = open_inbox(e, true);
	assert_non_null(mb->map);
	struct store_mailbox *truth = open_truth(e);
	assert_same_view(mb, truth);
	size_t flagged = 0;
	for (size_t seq = 1; seq <= store_mailbox_count(mb); seq++)
		flagged += (store_mailbox_msg(mb, seq)->flags & STORE_FLAG_FLAGGED) != 0;
	assert_int_equal(flagged, 3);
	store_mailbox_close(&truth);
	store_mailbox_close(&mb);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void *read_bytes(const char *path, size_t *len_r)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	char *p = xmalloc((size_t)st.st_size);
	int fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return p;
}

/* Each kind of damage: the copy is not used (the view is still right),
 * and a good one is written in its place. */
static void test_damaged_copy(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb);
	size_t len;
	char *good = read_bytes(e->view_path, &len);
	const size_t header = 64, rec = sizeof(struct store_msg);
	for (int damage = 0; damage < 7; damage++) {
		char *bad = xmalloc(len);
		memcpy(bad, good, len);
		size_t bad_len = len;
		struct store_msg m;
		switch (damage) {
		case 0: bad[0] ^= 1; break;                  /* magic */
		case 1: bad_len = len - 8; break;            /* truncated */
		case 2: bad_len = 10; break;                 /* header cut */
		case 3: bad[16] ^= 0x55; break;              /* another index */
		case 4:                                      /* UIDs out of order */
			memcpy(&m, bad + header + rec, rec);
			m.uid = 1;
			memcpy(bad + header + rec, &m, rec);
			break;
		case 5:                                      /* \Recent byte set */
			bad[header + offsetof(struct store_msg, recent)] = 2;
			break;
		case 6:                                      /* unknown flag bits */
			memcpy(&m, bad + header, rec);
			m.flags = 0x100;
			memcpy(bad + header, &m, rec);
			break;
		}
		write_bytes(e->view_path, bad, bad_len);
		xfree(bad);
		mb = open_inbox(e, true);
		assert_null(mb->map);
		assert_int_equal(store_mailbox_count(mb), N_MSGS);
		store_mailbox_close(&mb);
		/* written again, and good */
		mb = open_inbox(e, true);
		assert_non_null(mb->map);
		store_mailbox_close(&mb);
	}
	/* a symbolic link is not followed */
	char *target = xasprintf("%s.target", e->view_path);
	assert_int_equal(rename(e->view_path, target), 0);
	assert_int_equal(symlink(target, e->view_path), 0);
	mb = open_inbox(e, true);
	assert_null(mb->map);
	store_mailbox_close(&mb);
	xfree(target);
	xfree(good);
}

/* A rebuilt index has another id: an old copy (whose row ids mean
 * nothing to it) is not used. */
static void test_rebuilt_index(void **state)
{
	struct env *e = *state;
	struct store_mailbox *mb = open_inbox(e, false);
	store_mailbox_close(&mb);
	size_t len;
	char *old = read_bytes(e->view_path, &len);
	store_user_close(&e->u);
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/yubin.sqlite%s", e->maildir, suffixes[i]);
		unlink(p);
		xfree(p);
	}
	assert_int_equal(store_user_open(&e->s, "alice", false, &e->u), STORE_OK);
	write_bytes(e->view_path, old, len);
	xfree(old);
	mb = open_inbox(e, true);
	assert_null(mb->map);
	assert_int_equal(store_mailbox_count(mb), N_MSGS);
	store_mailbox_close(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_saved_and_mapped, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_small_folder_no_copy, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_catch_up, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_mapped_view_changes, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_outgrow, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_change_behind_back, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_copy, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_rebuilt_index, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
