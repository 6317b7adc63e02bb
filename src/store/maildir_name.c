/*
 * maildir_name.c - Maildir file names; see maildir_name.h.
 *
 * Uniqueness (Maildir spec, "How a message is delivered"): time, process
 * id and host together name a file no other delivery can pick. Within one
 * process several threads may deliver at once, so the time part is handed
 * out under a mutex and never repeats: the microsecond is the tie-breaker.
 */
#include "store/maildir_name.h"

#include "lib/strnum.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t maildir_name_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t maildir_name_last_sec;
static uint32_t maildir_name_last_usec;

/* Look for ",S=<digits>" and ",W=<digits>" fields inside the base name.
 * A field counts only if its value is all digits up to the next ',' or
 * the end; the first valid one wins. */
static void maildir_name_fields(const char *base, size_t len, struct maildir_name_info *info)
{
	const char *p = memchr(base, ',', len);
	while (p != NULL) {
		const char *field = p + 1;
		const char *end = base + len;
		const char *next = memchr(field, ',', (size_t)(end - field));
		size_t flen = (size_t)((next != NULL ? next : end) - field);
		uint64_t v;
		if (flen > 2 && field[1] == '=' &&
		    strnum_u64(field + 2, flen - 2, UINT64_MAX, &v)) {
			if (field[0] == 'S' && !info->has_size) {
				info->has_size = true;
				info->size = v;
			} else if (field[0] == 'W' && !info->has_vsize) {
				info->has_vsize = true;
				info->vsize = v;
			}
		}
		p = next;
	}
}

void maildir_name_parse(const char *name, size_t len, struct maildir_name_info *info_r)
{
	memset(info_r, 0, sizeof(*info_r));
	const char *colon = memchr(name, ':', len);
	info_r->base_len = colon != NULL ? (size_t)(colon - name) : len;
	if (colon != NULL) {
		info_r->has_info = true;
		size_t rest = len - info_r->base_len - 1;
		/* Maildir spec: "2," introduces the flag letters (info version 2). */
		if (rest >= 2 && colon[1] == '2' && colon[2] == ',') {
			info_r->flags = colon + 3;
			info_r->flags_len = rest - 2;
		}
	}
	maildir_name_fields(name, info_r->base_len, info_r);
}

void maildir_name_escape_host(const char *host, char out[MAILDIR_NAME_HOST_MAX + 1])
{
	if (host == NULL || *host == '\0')
		host = "localhost";
	size_t n = 0;
	for (; *host != '\0'; host++) {
		const char *esc = *host == '/' ? "\\057" : *host == ':' ? "\\072" : NULL;
		size_t need = esc != NULL ? 4 : 1;
		if (n + need > MAILDIR_NAME_HOST_MAX)
			break;
		if (esc != NULL)
			memcpy(out + n, esc, 4);
		else
			out[n] = *host;
		n += need;
	}
	out[n] = '\0';
}

void maildir_name_format(char out[MAILDIR_NAME_SIZE], int64_t sec, uint32_t usec, pid_t pid,
                         const char *host, uint64_t size, uint64_t vsize)
{
	char h[MAILDIR_NAME_HOST_MAX + 1];
	maildir_name_escape_host(host, h);
	/* Cannot truncate: 20+2+6+1+10+1+128+3+20+3+20 < MAILDIR_NAME_SIZE. */
	snprintf(out, MAILDIR_NAME_SIZE, "%lld.M%uP%ld.%s,S=%llu,W=%llu", (long long)sec,
	         (unsigned)usec, (long)pid, h, (unsigned long long)size, (unsigned long long)vsize);
}

static int64_t maildir_name_usecs(int64_t sec, uint32_t usec)
{
	return sec * 1000000 + (int64_t)usec;
}

void maildir_name_next_time(int64_t *sec_r, uint32_t *usec_r)
{
	pthread_mutex_lock(&maildir_name_lock);
	int64_t last = maildir_name_usecs(maildir_name_last_sec, maildir_name_last_usec);
	int64_t now;
	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		now = maildir_name_usecs(ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000));
		if (now > last)
			break;
		if (last - now > 1000000) {
			/* The clock was stepped back: waiting could take hours. */
			now = last + 1;
			break;
		}
		struct timespec one = {0, 1000};
		nanosleep(&one, NULL);
	}
	maildir_name_last_sec = now / 1000000;
	maildir_name_last_usec = (uint32_t)(now % 1000000);
	*sec_r = maildir_name_last_sec;
	*usec_r = maildir_name_last_usec;
	pthread_mutex_unlock(&maildir_name_lock);
}

void maildir_name_new(char out[MAILDIR_NAME_SIZE], const char *host, uint64_t size, uint64_t vsize)
{
	int64_t sec;
	uint32_t usec;
	maildir_name_next_time(&sec, &usec);
	maildir_name_format(out, sec, usec, getpid(), host, size, vsize);
}

/* Compare two digit strings by value (leading zeros ignored). */
static int maildir_name_numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	while (alen > 1 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 1 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static size_t maildir_name_digits(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

int maildir_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t da = maildir_name_digits(a, alen), db = maildir_name_digits(b, blen);
	if (da > 0 && db > 0) {
		int r = maildir_name_numcmp(a, da, b, db);
		if (r != 0)
			return r;
		/* Both "<sec>.M<usec>...": compare the microseconds too. */
		if (alen > da + 2 && blen > db + 2 && memcmp(a + da, ".M", 2) == 0 &&
		    memcmp(b + db, ".M", 2) == 0) {
			size_t ua = maildir_name_digits(a + da + 2, alen - da - 2);
			size_t ub = maildir_name_digits(b + db + 2, blen - db - 2);
			if (ua > 0 && ub > 0) {
				r = maildir_name_numcmp(a + da + 2, ua, b + db + 2, ub);
				if (r != 0)
					return r;
			}
		}
	}
	int r = memcmp(a, b, alen < blen ? alen : blen);
	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}
