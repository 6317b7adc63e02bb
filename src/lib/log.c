/*
 * log.c - key=value event log; see log.h.
 *
 * A line is formatted into a stack buffer and written with one write(2) so
 * that lines from several worker processes sharing stderr never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min_level = LOG_LEVEL_INFO;
static char log_role[32] = "yubin";
static bool log_syslog;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	log_min_level = level;
}

void log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

void log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog("yubin", LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog = on;
}

bool log_level_parse(const char *s, enum log_level *level_r)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return true;
		}
	}
	return false;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < log_min_level)
		return;
	char line[2048];
	size_t off = 0;
	if (!log_syslog) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off, ".%03ldZ ",
					ts.tv_nsec / 1000000);
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off, "%s %s ", log_level_names[level],
				log_role);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	off += (size_t)n;
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	if (log_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		line[off] = '\0';
		syslog(prio[level], "%s", line);
		return;
	}
	line[off++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, off);
	(void)ignored;
}

const char *log_safe(char dst[LOG_SAFE_MAX], const char *src, size_t len)
{
	const size_t room = LOG_SAFE_MAX - 4; /* space for "..." and NUL */
	size_t o = 0;
	if (src == NULL || len == 0) {
		strcpy(dst, "-");
		return dst;
	}
	for (size_t i = 0; i < len && o < room; i++) {
		unsigned char c = (unsigned char)src[i];
		bool ok = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
		dst[o++] = ok ? (char)c : '?';
	}
	if (len > room) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
