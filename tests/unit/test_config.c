/*
 * test_config.c - the configuration reader: defaults, file syntax, typed
 * values, error messages with FILE:LINE, -o overrides, cross-key checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "daemon/config.h"
#include "lib/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_temp(const char *text)
{
	char *path = xstrdup("/tmp/yubin-test-config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text as a config file; returns NULL on success or the error. */
static char *load(struct config *cfg, const char *text)
{
	char *path = write_temp(text);
	char *err = NULL;
	bool ok = config_load_file(cfg, path, &err);
	unlink(path);
	if (ok) {
		free(path);
		return NULL;
	}
	/* replace the random path by FILE for stable comparisons */
	char *tail = strstr(err, path) != NULL ? err + strlen(path) : err;
	char *msg = xasprintf("FILE%s", tail);
	free(err);
	free(path);
	return msg;
}

static void test_defaults(void **state)
{
	struct config cfg;
	config_init(&cfg);
	assert_string_equal(cfg.data_dir, "/var/lib/yubin");
	assert_string_equal(cfg.listen_pop3, "0.0.0.0:110");
	assert_string_equal(cfg.listen_pop3s, "");
	assert_string_equal(cfg.listen_lmtp, "127.0.0.1:24");
	assert_int_equal(cfg.auth_plaintext, AUTH_PLAINTEXT_TLS_OR_LOOPBACK);
	assert_int_equal(cfg.pop3_delete, POP3_DELETE_YES);
	assert_int_equal(cfg.pop3_expire_days, CONFIG_EXPIRE_NEVER);
	assert_int_equal(cfg.pop3_idle_timeout, 600);
	assert_int_equal(cfg.limits_max_message_size, 64 * 1024 * 1024);
	assert_true(cfg.mail_fsync);
	assert_true(cfg.hostname[0] != '\0');
	char *err = NULL;
	assert_true(config_validate(&cfg, &err));
	config_deinit(&cfg);
}

static void test_file_syntax(void **state)
{
	struct config cfg;
	config_init(&cfg);
	char *err = load(&cfg, "# comment\n"
			       "; also a comment\n"
			       "data_dir = /srv/mail   \n"
			       "\n"
			       "[listen]\n"
			       "pop3 = 127.0.0.1:1110, [::1]:1110\n"
			       "pop3s = \"\"\n"
			       "[ pop3 ]\n"
			       "delete = hide\n"
			       "expire_days = 30\n"
			       "idle_timeout = 15m\n"
			       "[limits]\n"
			       "max_message_size = 10M\r\n");
	assert_null(err);
	assert_string_equal(cfg.data_dir, "/srv/mail");
	assert_string_equal(cfg.listen_pop3, "127.0.0.1:1110, [::1]:1110");
	assert_string_equal(cfg.listen_pop3s, "");
	assert_int_equal(cfg.pop3_delete, POP3_DELETE_HIDE);
	assert_int_equal(cfg.pop3_expire_days, 30);
	assert_int_equal(cfg.pop3_idle_timeout, 900);
	assert_int_equal(cfg.limits_max_message_size, 10 * 1024 * 1024);
	config_deinit(&cfg);
}

struct error_case {
	const char *text;
	const char *expect; /* prefix of the message, with FILE for the path */
};

static void test_errors(void **state)
{
	static const struct error_case cases[] = {
		{"nosuchkey = 1\n", "FILE:1: unknown key nosuchkey"},
		{"\n\n[pop3]\nnosuch = 1\n", "FILE:4: unknown key pop3.nosuch"},
		{"workers = many\n", "FILE:1: workers must be a number"},
		{"workers = 65\n", "FILE:1: workers must be a number"},
		{"workers = -1\n", "FILE:1: workers must be a number"},
		{"data_dir = relative/path\n", "FILE:1: data_dir must be an absolute path"},
		{"[pop3]\ndelete = maybe\n", "FILE:2: pop3.delete is not one of"},
		{"[pop3]\nexpire_days = soon\n", "FILE:2: pop3.expire_days must be never"},
		{"[pop3]\nidle_timeout = 10 minutes\n", "FILE:2: pop3.idle_timeout must be a duration"},
		{"[limits]\nmax_message_size = 5T\n", "FILE:2: limits.max_message_size must be a size"},
		{"[listen]\npop3 = localhost:110\n", "FILE:2: listen.pop3 must be a list"},
		{"[listen]\npop3 = 127.0.0.1:99999\n", "FILE:2: listen.pop3 must be a list"},
		{"[listen]\npop3 = 127.0.0.1\n", "FILE:2: listen.pop3 must be a list"},
		{"[auth\n", "FILE:1: malformed section header"},
		{"[]\n", "FILE:1: malformed section header"},
		{"just words\n", "FILE:1: expected key = value"},
		{"[mail]\nfsync = perhaps\n", "FILE:2: mail.fsync must be yes or no"},
		{"[log]\nlevel = loud\n", "FILE:2: log.level must be debug"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		config_init(&cfg);
		char *err = load(&cfg, cases[i].text);
		if (err == NULL)
			fail_msg("case %zu (%s) was accepted", i, cases[i].text);
		if (strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].expect);
		free(err);
		config_deinit(&cfg);
	}
}

static void test_missing_file(void **state)
{
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	assert_false(config_load_file(&cfg, "/nonexistent/yubin.conf", &err));
	assert_non_null(strstr(err, "/nonexistent/yubin.conf: cannot open"));
	free(err);
	config_deinit(&cfg);
}

static void test_overrides(void **state)
{
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	assert_true(config_apply_override(&cfg, "pop3.login_delay=5m", &err));
	assert_int_equal(cfg.pop3_login_delay, 300);
	assert_true(config_apply_override(&cfg, " listen.pop3 = ", &err));
	assert_string_equal(cfg.listen_pop3, "");
	assert_true(config_apply_override(&cfg, "hostname=mx.example.org", &err));
	assert_string_equal(cfg.hostname, "mx.example.org");
	assert_false(config_apply_override(&cfg, "pop3.bogus=1", &err));
	assert_string_equal(err, "-o pop3.bogus: unknown key pop3.bogus");
	free(err);
	assert_false(config_apply_override(&cfg, "novalue", &err));
	assert_string_equal(err, "-o novalue: expected KEY=VALUE");
	free(err);
	assert_false(config_apply_override(&cfg, "auth.plaintext=sometimes", &err));
	assert_non_null(strstr(err, "-o auth.plaintext: auth.plaintext is not one of"));
	free(err);
	config_deinit(&cfg);
}

static void test_validate(void **state)
{
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_true(config_apply_override(&cfg, "listen.pop3s=127.0.0.1:995", &err));
	assert_false(config_validate(&cfg, &err));
	assert_string_equal(err, "listen.pop3s needs tls.cert and tls.key");
	free(err);
	config_deinit(&cfg);

	config_init(&cfg);
	assert_true(config_apply_override(&cfg, "tls.cert=/etc/cert.pem", &err));
	assert_false(config_validate(&cfg, &err));
	assert_string_equal(err, "tls.cert and tls.key must be set together");
	free(err);
	config_deinit(&cfg);

	config_init(&cfg);
	assert_true(config_apply_override(&cfg, "auth.fail_delay=10s", &err));
	assert_true(config_apply_override(&cfg, "auth.fail_delay_max=5s", &err));
	assert_false(config_validate(&cfg, &err));
	free(err);
	config_deinit(&cfg);
}

static void test_dump_round_trip(void **state)
{
	/* What `yubin check` prints must load back to the same settings. */
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	assert_true(config_apply_override(&cfg, "pop3.expire_days=7", &err));
	assert_true(config_apply_override(&cfg, "pop3.folders=INBOX, Junk", &err));
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	config_dump(&cfg, mem);
	fclose(mem);
	assert_non_null(strstr(text, "pop3.expire_days = 7\n"));
	assert_non_null(strstr(text, "pop3.folders = INBOX, Junk\n"));
	assert_non_null(strstr(text, "limits.max_message_size = 67108864\n"));

	struct config again;
	config_init(&again);
	char *line = text;
	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		assert_true(config_apply_override(&again, line, &err));
		line = nl + 1;
	}
	assert_int_equal(again.pop3_expire_days, 7);
	assert_string_equal(again.pop3_folders, "INBOX, Junk");
	assert_string_equal(again.hostname, cfg.hostname);
	free(text);
	config_deinit(&again);
	config_deinit(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),     cmocka_unit_test(test_file_syntax),
		cmocka_unit_test(test_errors),       cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_overrides),    cmocka_unit_test(test_validate),
		cmocka_unit_test(test_dump_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
