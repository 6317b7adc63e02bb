/*
 * imap_basesubject.h - the comparison keys of SORT and THREAD (RFC 5256
 * section 2): the base subject (2.1) and the sent date (2.2). Pure: no
 * I/O, no allocation.
 *
 * Collation is i;ascii-casemap (RFC 4790 9.2): ASCII letters fold to
 * upper case, every other byte (UTF-8 included) compares as it is.
 * RFC 5256 asks for I18NLEVEL=1 (i;unicode-casemap); non-ASCII case
 * folding is not done here.
 */
#ifndef YUBIN_IMAP_IMAP_BASESUBJECT_H
#define YUBIN_IMAP_IMAP_BASESUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The base subject of (in, len), a subject whose RFC 2047 encoded words
 * are already decoded to UTF-8 (step 1's first half, done by the caller):
 * tabs, CR and LF become spaces and runs of spaces one space (the rest of
 * step 1), then steps 2-6. The result is written to out, which must have
 * room for len bytes (the base subject is never longer; out may be in);
 * it is not NUL-terminated. Returns its length. *reply_r (may be NULL)
 * tells whether the message counts as a reply or forward (RFC 5256 2.1:
 * the extraction removed a subj-refwd, a "(fwd)" trailer or a
 * "[fwd: ... ]" wrapper; a removed blob alone does not count). Case is
 * kept: see imap_basesubject_fold().
 */
size_t imap_basesubject(const char *in, size_t len, char *out, bool *reply_r);

/* Fold (s, len) in place for i;ascii-casemap: after this, two keys
 * compare with memcmp (shorter prefix first). */
void imap_basesubject_fold(char *s, size_t len);

/* Runs of white space (space, tab, CR, LF) in (s, len) become one space,
 * leading and trailing white space goes (in place; for display names,
 * RFC 5957). Returns the new length. */
size_t imap_basesubject_squeeze(char *s, size_t len);

/*
 * Parse an RFC 5322 date-time (3.3, with the obsolete forms of 4.3: two
 * and three digit years, alphabetic and military zones, comments, a
 * missing day of week or seconds) into seconds since the epoch, UTC
 * (RFC 5256 2.2). A missing zone counts as +0000. False if (in, len) is
 * not a date the caller can trust; the caller then uses the INTERNALDATE.
 */
bool imap_basesubject_sent_date(const char *in, size_t len, int64_t *t_r);

#endif
