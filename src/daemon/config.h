/*
 * config.h - yubin's configuration: every key, its type, default and check.
 *
 * The file format is INI-like:
 *
 *     # comment
 *     data_dir = /var/lib/yubin
 *     [listen]
 *     pop3 = 0.0.0.0:110
 *
 * A key inside [section] is addressed as "section.key" everywhere (the -o
 * option, `yubin check`, docs/CONFIG.md). Loading order: built-in defaults,
 * then the file, then each -o KEY=VALUE in order. Any unknown key or bad
 * value is an error reported as "FILE:LINE: message" (or "-o KEY: message").
 */
#ifndef YUBIN_DAEMON_CONFIG_H
#define YUBIN_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum auth_plaintext { AUTH_PLAINTEXT_NEVER, AUTH_PLAINTEXT_TLS_OR_LOOPBACK, AUTH_PLAINTEXT_ALWAYS };
enum pop3_delete_mode { POP3_DELETE_YES, POP3_DELETE_HIDE };
enum pop3_apop_mode { POP3_APOP_AUTO, POP3_APOP_NO };
enum tls_min_version { TLS_MIN_V1_2, TLS_MIN_V1_3 };

/* Sentinel for pop3.expire_days = never. */
#define CONFIG_EXPIRE_NEVER UINT32_MAX

struct config {
	/* top level */
	char *data_dir;
	char *hostname;
	unsigned workers; /* 0 = one per CPU */
	char *user;       /* account to run as when started as root */
	int log_level;    /* enum log_level */
	bool log_syslog;

	/* listen.* : comma-separated ADDR:PORT lists, "" = off */
	char *listen_pop3;
	char *listen_pop3s;
	char *listen_lmtp;
	char *listen_imap;
	char *listen_imaps;

	/* tls.* */
	char *tls_cert;
	char *tls_key;
	enum tls_min_version tls_min_version;

	/* auth.* */
	enum auth_plaintext auth_plaintext;
	char *auth_mechanisms;    /* space-separated SASL mechanism names */
	char *auth_default_scheme; /* password scheme for `yubin user add` */
	uint64_t auth_fail_delay;     /* seconds, first failure */
	uint64_t auth_fail_delay_max; /* seconds, cap of the doubling */
	unsigned auth_hash_threads;
	uint64_t auth_cache_ttl; /* seconds a verified password is remembered, 0 = off */

	/* mail.* */
	char *mail_location; /* template: %u user, %n local part, %d domain */
	bool mail_fsync;

	/* pop3.* */
	enum pop3_delete_mode pop3_delete;
	uint32_t pop3_expire_days; /* CONFIG_EXPIRE_NEVER = never */
	uint64_t pop3_login_delay; /* seconds, 0 = off */
	char *pop3_folders;        /* comma-separated folder names */
	bool pop3_lock;            /* second session gets -ERR [IN-USE] */
	enum pop3_apop_mode pop3_apop;
	uint64_t pop3_idle_timeout; /* seconds */
	unsigned pop3_max_bad_commands;

	/* imap.* */
	uint64_t imap_idle_timeout;    /* seconds (RFC 9051 5.4: at least 30 minutes) */
	unsigned imap_max_bad_commands;
	char *imap_special_use;        /* "Drafts, Sent, Trash, Junk, Archive" names */

	/* lmtp.* */
	uint64_t lmtp_idle_timeout;
	unsigned lmtp_max_recipients;
	char *lmtp_recipient_delimiter; /* "+" : user+detail delivers to user */

	/* limits.* */
	unsigned limits_max_connections;        /* whole server */
	unsigned limits_max_connections_per_ip; /* 0 = unlimited */
	uint64_t limits_max_message_size;       /* bytes */

	/* quota.* */
	uint64_t quota_storage; /* bytes per user (sum of RFC822.SIZE), 0 = unlimited */
};

/* Fill *cfg with the built-in defaults. */
void config_init(struct config *cfg);
void config_deinit(struct config *cfg);

/*
 * Read FILE into cfg. On error returns false and sets *err_r to a heap
 * string "FILE:LINE: message" (caller frees).
 */
bool config_load_file(struct config *cfg, const char *path, char **err_r);

/* Apply one "KEY=VALUE" override; err_r as above ("-o KEY: message"). */
bool config_apply_override(struct config *cfg, const char *kv, char **err_r);

/* Cross-key checks after everything is loaded (e.g. pop3s needs a cert). */
bool config_validate(const struct config *cfg, char **err_r);

/* Print every key as "key = value", in documentation order. */
void config_dump(const struct config *cfg, FILE *out);

/* Effective number of workers (resolves 0 to the CPU count). */
unsigned config_worker_count(const struct config *cfg);

#endif
