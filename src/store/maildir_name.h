/*
 * maildir_name.h - Maildir file names, written and read the way Dovecot does.
 *
 * A file we create is named
 *     <sec>.M<usec>P<pid>.<host>,S=<size>,W=<crlf size>
 * in new/, and gets ":2,<flags>" appended when it moves to cur/. The part
 * before the first ':' is the "base name"; it identifies the message for
 * its whole life (renames only change what follows the ':').
 *
 * Names written by other programs may lack S=/W= or look quite different
 * (qmail "1234.5678.host", Courier "1234.M1P2Q3.host"); parsing never fails,
 * it just finds less.
 */
#ifndef YUBIN_STORE_MAILDIR_NAME_H
#define YUBIN_STORE_MAILDIR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The escaped host part is cut to this many bytes so a name stays well
 * below NAME_MAX (255) with all fields and flags. */
#define MAILDIR_NAME_HOST_MAX 128

/* Room for any name maildir_name_format() writes, NUL included. */
#define MAILDIR_NAME_SIZE 256

struct maildir_name_info {
	size_t base_len;   /* bytes before the first ':' (all of it if none) */
	bool has_info;     /* a ':' follows the base name */
	const char *flags; /* the letters after ":2,", NULL without ":2," */
	size_t flags_len;
	bool has_size;  /* ",S=<n>" in the base name */
	bool has_vsize; /* ",W=<n>" in the base name */
	uint64_t size;
	uint64_t vsize;
};

/* Split a file name (name, len) into its parts; never fails. */
void maildir_name_parse(const char *name, size_t len, struct maildir_name_info *info_r);

/*
 * Escape a host name for use in a file name: '/' becomes "\057" and ':'
 * becomes "\072" (Dovecot's escaping, so that the name has no path
 * separator and no info separator). An empty or NULL host gives
 * "localhost". Output is cut (never inside an escape) to
 * MAILDIR_NAME_HOST_MAX bytes; out must hold MAILDIR_NAME_HOST_MAX + 1.
 */
void maildir_name_escape_host(const char *host, char out[MAILDIR_NAME_HOST_MAX + 1]);

/* Write "<sec>.M<usec>P<pid>.<escaped host>,S=<size>,W=<vsize>" into out. */
void maildir_name_format(char out[MAILDIR_NAME_SIZE], int64_t sec, uint32_t usec, pid_t pid,
                         const char *host, uint64_t size, uint64_t vsize);

/*
 * A (sec, usec) for a new file name that is strictly later than every one
 * this process handed out before, from any thread: if the clock has not
 * moved on, wait for the next microsecond (or, if the clock went backwards
 * by more than a second, continue from the last value instead of waiting).
 */
void maildir_name_next_time(int64_t *sec_r, uint32_t *usec_r);

/* maildir_name_next_time() + maildir_name_format() with our pid. */
void maildir_name_new(char out[MAILDIR_NAME_SIZE], const char *host, uint64_t size, uint64_t vsize);

/*
 * Order of arrival for names: the leading seconds numerically, then the
 * ".M<usec>" microseconds when both have them, then byte order. Used to
 * give new files UIDs in delivery order.
 */
int maildir_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
