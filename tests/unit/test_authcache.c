/*
 * test_authcache.c - the verified-password cache: hits only for the same
 * user, password and stored password within the TTL; disabled with TTL 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/authcache.h"

#include <string.h>

#define T0 1800000000

static bool hit(struct authcache *c, const char *user, const char *stored, const char *pw,
		time_t now)
{
	return authcache_hit(c, user, stored, pw, strlen(pw), now);
}

static void test_hit_and_miss(void **state)
{
	struct authcache *c = authcache_new(60, 1024);
	assert_false(hit(c, "alice", "{PLAIN}x", "secret", T0));
	authcache_add(c, "alice", "{PLAIN}x", "secret", 6, T0);
	assert_true(hit(c, "alice", "{PLAIN}x", "secret", T0 + 59));
	assert_false(hit(c, "alice", "{PLAIN}x", "secret", T0 + 60));   /* expired */
	assert_false(hit(c, "alice", "{PLAIN}x", "Secret", T0));        /* other password */
	assert_false(hit(c, "alice", "{PLAIN}x", "secret2", T0));
	assert_false(hit(c, "alice", "{PLAIN}x", "secre", T0));
	assert_false(hit(c, "bob", "{PLAIN}x", "secret", T0));          /* other user */
	assert_false(hit(c, "alice", "{PLAIN}y", "secret", T0));        /* password changed */
	authcache_free(&c);
	assert_null(c);
}

static void test_user_password_boundary(void **state)
{
	/* ("ab", "c") and ("a", "bc") must not share an entry */
	struct authcache *c = authcache_new(60, 1024);
	authcache_add(c, "ab", "s", "c", 1, T0);
	assert_true(hit(c, "ab", "s", "c", T0));
	assert_false(hit(c, "a", "s", "bc", T0));
	authcache_free(&c);
}

static void test_disabled(void **state)
{
	struct authcache *c = authcache_new(0, 1024);
	authcache_add(c, "alice", "s", "pw", 2, T0);
	assert_false(hit(c, "alice", "s", "pw", T0));
	authcache_free(&c);
}

static void test_eviction_and_binary(void **state)
{
	/* a one-slot cache keeps only the latest entry */
	struct authcache *c = authcache_new(60, 1);
	authcache_add(c, "alice", "s", "pw1", 3, T0);
	authcache_add(c, "bob", "s", "pw2", 3, T0);
	assert_false(hit(c, "alice", "s", "pw1", T0));
	assert_true(hit(c, "bob", "s", "pw2", T0));
	/* passwords are (ptr, len): NUL bytes count */
	const char bin[] = {'a', 0, 'b'};
	authcache_add(c, "carol", "s", bin, sizeof(bin), T0);
	assert_true(authcache_hit(c, "carol", "s", bin, sizeof(bin), T0));
	assert_false(authcache_hit(c, "carol", "s", bin, 1, T0));
	/* overlong input is never cached */
	char big[4096];
	memset(big, 'x', sizeof(big));
	authcache_add(c, "dave", "s", big, sizeof(big), T0);
	assert_false(authcache_hit(c, "dave", "s", big, sizeof(big), T0));
	authcache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_user_password_boundary),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_eviction_and_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
