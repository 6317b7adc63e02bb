/*
 * config.c - the configuration keys table, the file reader and -o overrides.
 *
 * Every key is one row of config_keys[]: its name, its type (which decides
 * how the value is parsed and checked), the offset of its field in struct
 * config and its default written as text. Parsing the defaults through the
 * same code as the file guarantees that `yubin check` and docs/CONFIG.md
 * show exactly what the server uses.
 */
#include "daemon/config.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/strlist.h"
#include "lib/strnum.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum config_type {
	CT_STRING,
	CT_PATH,     /* absolute path, or "" */
	CT_LISTEN,   /* comma-separated ADDR:PORT list, or "" */
	CT_BOOL,
	CT_UINT,     /* unsigned, bounded by min/max */
	CT_DURATION, /* seconds, with s/m/h/d suffix */
	CT_SIZE,     /* bytes, with k/M/G suffix */
	CT_ENUM,     /* one of names[] */
	CT_EXPIRE,   /* "never" or days */
	CT_LOGLEVEL,
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	uint64_t min, max;
	const char *const *names; /* CT_ENUM, in enum order */
};

static const char *const plaintext_names[] = {"never", "tls-or-loopback", "always", NULL};
static const char *const delete_names[] = {"yes", "hide", NULL};
static const char *const apop_names[] = {"auto", "no", NULL};
static const char *const tls_version_names[] = {"TLSv1.2", "TLSv1.3", NULL};

#define OFF(field) offsetof(struct config, field)

/* CT_ENUM and CT_LOGLEVEL fields are written through an int pointer. */
_Static_assert(sizeof(enum auth_plaintext) == sizeof(int), "enum size");
_Static_assert(sizeof(enum pop3_delete_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum pop3_apop_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tls_min_version) == sizeof(int), "enum size");

/* In documentation order; docs/CONFIG.md follows this table. */
static const struct config_key config_keys[] = {
	{"data_dir", CT_PATH, OFF(data_dir), "/var/lib/yubin", 0, 0, NULL},
	{"hostname", CT_STRING, OFF(hostname), "", 0, 0, NULL},
	{"workers", CT_UINT, OFF(workers), "0", 0, 64, NULL},
	{"user", CT_STRING, OFF(user), "mail", 0, 0, NULL},
	{"log.level", CT_LOGLEVEL, OFF(log_level), "info", 0, 0, NULL},
	{"log.syslog", CT_BOOL, OFF(log_syslog), "no", 0, 0, NULL},
	{"listen.pop3", CT_LISTEN, OFF(listen_pop3), "0.0.0.0:110", 0, 0, NULL},
	{"listen.pop3s", CT_LISTEN, OFF(listen_pop3s), "", 0, 0, NULL},
	{"listen.lmtp", CT_LISTEN, OFF(listen_lmtp), "127.0.0.1:24", 0, 0, NULL},
	{"listen.imap", CT_LISTEN, OFF(listen_imap), "0.0.0.0:143", 0, 0, NULL},
	{"listen.imaps", CT_LISTEN, OFF(listen_imaps), "", 0, 0, NULL},
	{"tls.cert", CT_PATH, OFF(tls_cert), "", 0, 0, NULL},
	{"tls.key", CT_PATH, OFF(tls_key), "", 0, 0, NULL},
	{"tls.min_version", CT_ENUM, OFF(tls_min_version), "TLSv1.2", 0, 0, tls_version_names},
	{"auth.plaintext", CT_ENUM, OFF(auth_plaintext), "tls-or-loopback", 0, 0, plaintext_names},
	{"auth.mechanisms", CT_STRING, OFF(auth_mechanisms),
	 "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", 0, 0, NULL},
	{"auth.default_scheme", CT_STRING, OFF(auth_default_scheme), "SCRAM-SHA-256", 0, 0, NULL},
	{"auth.fail_delay", CT_DURATION, OFF(auth_fail_delay), "1s", 0, 60, NULL},
	{"auth.fail_delay_max", CT_DURATION, OFF(auth_fail_delay_max), "15s", 0, 600, NULL},
	{"auth.hash_threads", CT_UINT, OFF(auth_hash_threads), "2", 1, 64, NULL},
	{"auth.cache_ttl", CT_DURATION, OFF(auth_cache_ttl), "1h", 0, 7 * 86400, NULL},
	{"mail.location", CT_STRING, OFF(mail_location), "mail/%u", 0, 0, NULL},
	{"mail.fsync", CT_BOOL, OFF(mail_fsync), "yes", 0, 0, NULL},
	{"pop3.delete", CT_ENUM, OFF(pop3_delete), "yes", 0, 0, delete_names},
	{"pop3.expire_days", CT_EXPIRE, OFF(pop3_expire_days), "never", 0, 0, NULL},
	{"pop3.login_delay", CT_DURATION, OFF(pop3_login_delay), "0", 0, 86400, NULL},
	{"pop3.folders", CT_STRING, OFF(pop3_folders), "INBOX", 0, 0, NULL},
	{"pop3.lock", CT_BOOL, OFF(pop3_lock), "yes", 0, 0, NULL},
	{"pop3.apop", CT_ENUM, OFF(pop3_apop), "auto", 0, 0, apop_names},
	{"pop3.idle_timeout", CT_DURATION, OFF(pop3_idle_timeout), "10m", 1, 86400, NULL},
	{"pop3.max_bad_commands", CT_UINT, OFF(pop3_max_bad_commands), "20", 1, 1000, NULL},
	{"imap.idle_timeout", CT_DURATION, OFF(imap_idle_timeout), "30m", 1, 86400, NULL},
	{"imap.max_bad_commands", CT_UINT, OFF(imap_max_bad_commands), "20", 1, 1000, NULL},
	{"imap.special_use", CT_STRING, OFF(imap_special_use), "Drafts, Sent, Trash, Junk, Archive",
	 0, 0, NULL},
	{"lmtp.idle_timeout", CT_DURATION, OFF(lmtp_idle_timeout), "5m", 1, 86400, NULL},
	{"lmtp.max_recipients", CT_UINT, OFF(lmtp_max_recipients), "1000", 1, 100000, NULL},
	{"lmtp.recipient_delimiter", CT_STRING, OFF(lmtp_recipient_delimiter), "+", 0, 0, NULL},
	{"limits.max_connections", CT_UINT, OFF(limits_max_connections), "20000", 1, 1000000,
	 NULL},
	{"limits.max_connections_per_ip", CT_UINT, OFF(limits_max_connections_per_ip), "100", 0,
	 1000000, NULL},
	{"limits.max_message_size", CT_SIZE, OFF(limits_max_message_size), "64M", 1024,
	 (uint64_t)4 << 30, NULL},
	{"quota.storage", CT_SIZE, OFF(quota_storage), "0", 0, (uint64_t)1 << 50, NULL},
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static void *config_field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *config_cfield(const struct config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->offset;
}

static const struct config_key *config_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static bool config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* One ADDR:PORT: IPv4 "a.b.c.d:p", "[v6]:p", "*:p", or a unix socket path. */
static bool config_listen_item_valid(const char *s, size_t len)
{
	if (len > 0 && s[0] == '/')
		return len < 100; /* sun_path limit */
	const char *colon = NULL;
	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	}
	if (colon == NULL || colon == s)
		return false;
	uint32_t port;
	size_t plen = len - (size_t)(colon - s) - 1;
	if (!strnum_u32(colon + 1, plen, 65535, &port) || port == 0)
		return false;
	size_t alen = (size_t)(colon - s);
	if (s[0] == '[')
		return alen > 2 && s[alen - 1] == ']';
	for (size_t i = 0; i < alen; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.' && s[i] != '*')
			return false;
	return true;
}

static bool config_listen_valid(const char *v)
{
	const char *item;
	size_t n;
	while (strlist_next(&v, ", ", &item, &n))
		if (!config_listen_item_valid(item, n))
			return false;
	return true;
}

static bool config_enum_index(const struct config_key *k, const char *v, int *out)
{
	for (int i = 0; k->names[i] != NULL; i++) {
		if (strcasecmp(k->names[i], v) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* Parse v for key k into cfg; on error return a constant message. */
static const char *config_set(struct config *cfg, const struct config_key *k, const char *v)
{
	void *field = config_field(cfg, k);
	uint64_t n;
	bool b;
	int e;
	switch (k->type) {
	case CT_PATH:
		if (v[0] != '\0' && v[0] != '/')
			return "must be an absolute path";
		/* fallthrough */
	case CT_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return NULL;
	case CT_LISTEN:
		if (!config_listen_valid(v))
			return "must be a list of ADDR:PORT (e.g. 127.0.0.1:110, [::1]:110), or empty";
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return NULL;
	case CT_BOOL:
		if (!config_parse_bool(v, &b))
			return "must be yes or no";
		*(bool *)field = b;
		return NULL;
	case CT_UINT:
		if (!strnum_u64_str(v, k->max, &n) || n < k->min)
			return "must be a number in the allowed range";
		*(unsigned *)field = (unsigned)n;
		return NULL;
	case CT_DURATION:
		if (!strnum_duration(v, k->max, &n) || n < k->min)
			return "must be a duration (e.g. 30s, 10m, 1h) in the allowed range";
		*(uint64_t *)field = n;
		return NULL;
	case CT_SIZE:
		if (!strnum_size(v, k->max, &n) || n < k->min)
			return "must be a size (e.g. 512k, 64M) in the allowed range";
		*(uint64_t *)field = n;
		return NULL;
	case CT_ENUM:
		if (!config_enum_index(k, v, &e))
			return "is not one of the allowed values";
		*(int *)field = e;
		return NULL;
	case CT_EXPIRE:
		if (strcasecmp(v, "never") == 0) {
			*(uint32_t *)field = CONFIG_EXPIRE_NEVER;
			return NULL;
		}
		if (!strnum_u64_str(v, 36500, &n))
			return "must be never or a number of days (0 = delete after download)";
		*(uint32_t *)field = (uint32_t)n;
		return NULL;
	case CT_LOGLEVEL: {
		enum log_level lvl;
		if (!log_level_parse(v, &lvl))
			return "must be debug, info, warn or error";
		*(int *)field = (int)lvl;
		return NULL;
	}
	}
	return "internal error: unknown key type";
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		const char *err = config_set(cfg, &config_keys[i], config_keys[i].def);
		if (err != NULL) {
			fprintf(stderr, "yubin: bad built-in default for %s\n", config_keys[i].name);
			abort();
		}
	}
	char host[256];
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		free(cfg->hostname);
		cfg->hostname = xstrdup(host);
	}
}

void config_deinit(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type == CT_STRING || k->type == CT_PATH || k->type == CT_LISTEN)
			xfree(*(char **)config_field(cfg, k));
	}
}

static char *config_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
			 s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Strip matching double quotes around a value, so that `x = ""` is empty. */
static char *config_unquote(char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

static bool config_set_named(struct config *cfg, const char *name, const char *value,
			     char **err_r, const char *where)
{
	const struct config_key *k = config_find(name);
	if (k == NULL) {
		*err_r = xasprintf("%s: unknown key %s", where, name);
		return false;
	}
	const char *err = config_set(cfg, k, value);
	if (err != NULL) {
		*err_r = xasprintf("%s: %s %s (got \"%s\")", where, name, err, value);
		return false;
	}
	return true;
}

/* Handle one line of the file: comment, [section], or key = value. */
static bool config_line(struct config *cfg, char *line, char *section, size_t section_size,
			char **err_r, const char *where)
{
	char *s = config_trim(line);
	if (*s == '\0' || *s == '#' || *s == ';')
		return true;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (end == NULL || end[1] != '\0' || end == s + 1) {
			*err_r = xasprintf("%s: malformed section header", where);
			return false;
		}
		*end = '\0';
		snprintf(section, section_size, "%s", config_trim(s + 1));
		return true;
	}
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		*err_r = xasprintf("%s: expected key = value", where);
		return false;
	}
	*eq = '\0';
	char *key = config_trim(s);
	char *value = config_unquote(config_trim(eq + 1));
	char full[256];
	if (section[0] != '\0')
		snprintf(full, sizeof(full), "%s.%s", section, key);
	else
		snprintf(full, sizeof(full), "%s", key);
	return config_set_named(cfg, full, value, err_r, where);
}

bool config_load_file(struct config *cfg, const char *path, char **err_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*err_r = xasprintf("%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	char section[128] = "";
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	bool ok = true;
	while (ok && getline(&line, &cap, f) != -1) {
		char where[512];
		snprintf(where, sizeof(where), "%s:%u", path, ++lineno);
		ok = config_line(cfg, line, section, sizeof(section), err_r, where);
	}
	if (ok && ferror(f)) {
		*err_r = xasprintf("%s: read error: %s", path, strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

bool config_apply_override(struct config *cfg, const char *kv, char **err_r)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL) {
		*err_r = xasprintf("-o %s: expected KEY=VALUE", kv);
		return false;
	}
	char *key = xstrndup(kv, (size_t)(eq - kv));
	char *where = xasprintf("-o %s", key);
	char *value = xstrdup(eq + 1);
	bool ok = config_set_named(cfg, config_trim(key), config_unquote(config_trim(value)), err_r,
				   where);
	free(key);
	free(where);
	free(value);
	return ok;
}

bool config_validate(const struct config *cfg, char **err_r)
{
	if (cfg->data_dir[0] == '\0') {
		*err_r = xstrdup("data_dir must be set");
		return false;
	}
	bool tls = cfg->tls_cert[0] != '\0' || cfg->tls_key[0] != '\0';
	if (tls && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
		*err_r = xstrdup("tls.cert and tls.key must be set together");
		return false;
	}
	if (cfg->listen_pop3s[0] != '\0' && !tls) {
		*err_r = xstrdup("listen.pop3s needs tls.cert and tls.key");
		return false;
	}
	if (cfg->listen_imaps[0] != '\0' && !tls) {
		*err_r = xstrdup("listen.imaps needs tls.cert and tls.key");
		return false;
	}
	if (cfg->hostname[0] == '\0' || strpbrk(cfg->hostname, " \t\r\n/") != NULL) {
		*err_r = xstrdup("hostname must be set and contain no spaces or '/'");
		return false;
	}
	if (cfg->pop3_folders[0] == '\0') {
		*err_r = xstrdup("pop3.folders must name at least one folder");
		return false;
	}
	if (strlen(cfg->lmtp_recipient_delimiter) > 8 ||
	    strpbrk(cfg->lmtp_recipient_delimiter, "@ \t") != NULL) {
		*err_r = xstrdup("lmtp.recipient_delimiter must be a few characters, without '@'");
		return false;
	}
	if (cfg->auth_fail_delay_max < cfg->auth_fail_delay) {
		*err_r = xstrdup("auth.fail_delay_max must be >= auth.fail_delay");
		return false;
	}
	return true;
}

static void config_dump_key(const struct config *cfg, const struct config_key *k, FILE *out)
{
	const void *field = config_cfield(cfg, k);
	static const char *const level_names[] = {"debug", "info", "warn", "error"};
	fprintf(out, "%s = ", k->name);
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_LISTEN:
		fprintf(out, "%s\n", *(char *const *)field);
		break;
	case CT_BOOL:
		fprintf(out, "%s\n", *(const bool *)field ? "yes" : "no");
		break;
	case CT_UINT:
		fprintf(out, "%u\n", *(const unsigned *)field);
		break;
	case CT_DURATION:
		fprintf(out, "%llus\n", (unsigned long long)*(const uint64_t *)field);
		break;
	case CT_SIZE:
		fprintf(out, "%llu\n", (unsigned long long)*(const uint64_t *)field);
		break;
	case CT_ENUM:
		fprintf(out, "%s\n", k->names[*(const int *)field]);
		break;
	case CT_EXPIRE: {
		uint32_t d = *(const uint32_t *)field;
		if (d == CONFIG_EXPIRE_NEVER)
			fprintf(out, "never\n");
		else
			fprintf(out, "%u\n", d);
		break;
	}
	case CT_LOGLEVEL:
		fprintf(out, "%s\n", level_names[*(const int *)field]);
		break;
	}
}

void config_dump(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < NKEYS; i++)
		config_dump_key(cfg, &config_keys[i], out);
}

unsigned config_worker_count(const struct config *cfg)
{
	if (cfg->workers > 0)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (n > 16 ? 16 : (unsigned)n);
}
