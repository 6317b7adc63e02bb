/*
 * log.h - one line per event, key=value, to stderr (or syslog).
 *
 * Every line starts with the level and the process role set by
 * log_set_role() (e.g. "supervisor", "worker=2"), then the caller's
 * key=value pairs. Text that came from a peer must pass through log_safe()
 * first so that it cannot forge log lines or fields.
 */
#ifndef YUBIN_LIB_LOG_H
#define YUBIN_LIB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
void log_set_role(const char *role); /* copied */
void log_use_syslog(bool on);
bool log_level_parse(const char *s, enum log_level *level_r);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Size of a buffer that can hold any log_safe() result. */
#define LOG_SAFE_MAX 128

/*
 * Copy peer text (src, len) into dst (LOG_SAFE_MAX bytes) so that it is one
 * harmless token: bytes outside 0x21..0x7e and the characters '"', '\\' and
 * '=' become '?', an empty value becomes "-", and overlong text is cut with
 * "...". Returns dst.
 */
const char *log_safe(char dst[LOG_SAFE_MAX], const char *src, size_t len);

#endif
