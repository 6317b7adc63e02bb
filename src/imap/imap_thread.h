/*
 * imap_thread.h - the THREAD algorithms of RFC 5256 (section 3: ORDEREDSUBJECT
 * and REFERENCES) and the thread-list response format (section 4), as a
 * pure builder: the caller adds the searched messages in mailbox order
 * with the header values they need, and gets the text of the response.
 *
 * Cost: O(n log n) time and O(n + distinct Message IDs) memory. Message
 * IDs live in a hash table; the parent links of REFERENCES are checked for
 * loops by walking up from the new parent, which is only needed when the
 * child already has children (a message whose replies came first) and
 * then costs the depth of the parent: a crafted mailbox can make that
 * O(n * depth), real ones (replies in any order) stay near linear. No
 * traversal recurses, so a 100,000-message reply chain is fine.
 */
#ifndef YUBIN_IMAP_IMAP_THREAD_H
#define YUBIN_IMAP_IMAP_THREAD_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_thread_alg {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

/* One searched message. Strings are (ptr, len), NULL for an absent
 * header; they are only read during imap_thread_add(). */
struct imap_thread_msg {
	uint32_t id;  /* what the response shows: sequence number or UID */
	int64_t date; /* sent date, UTC; the caller falls back to INTERNALDATE (2.2) */
	const char *subject; /* RFC 2047-decoded UTF-8 */
	size_t subject_len;
	/* raw header values (several References fields may be joined with a
	 * space); only REFERENCES reads them */
	const char *message_id;
	size_t message_id_len;
	const char *in_reply_to;
	size_t in_reply_to_len;
	const char *references;
	size_t references_len;
};

struct imap_thread;

struct imap_thread *imap_thread_new(enum imap_thread_alg alg);
/* Messages must come in mailbox order: that order breaks ties of the
 * sent date (RFC 5256 2.2). */
void imap_thread_add(struct imap_thread *t, const struct imap_thread_msg *m);
/*
 * Thread the messages added and append the thread lists, e.g.
 * "(1)(2 3 (4)(5))((6)(7))", to out (nothing for no messages; the caller
 * writes "* THREAD" and, if something follows, a space). False if out
 * reached its maximum. Call it once.
 */
bool imap_thread_write(struct imap_thread *t, struct buf *out);
void imap_thread_free(struct imap_thread **t);

/*
 * The next Message ID of a header value (Message-ID, In-Reply-To,
 * References) at *pos (start at 0), normalised (RFC 5256 3, REFERENCES:
 * quotes, comments and white space inside "<...>" removed, so
 * <"01KF8JCE"@x.y> and <01KF8JCE@x.y> are the same; without the angle
 * brackets) and appended to out. Text, quoted strings and comments
 * outside angle brackets are skipped; an id must be non-empty and contain no '<'.
 * False when there is none left.
 */
bool imap_thread_next_msgid(const char *s, size_t len, size_t *pos, struct buf *out);

#endif
