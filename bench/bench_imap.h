/*
 * bench_imap.h - a blocking IMAP client connection for the load
 * generators (imapload).
 *
 * Every command gets its own tag ("a1", "a2", ... per connection); the
 * reader consumes untagged responses until the tagged one (RFC 9051 2.2.2,
 * 7), following literals ({n}, {n+}, ~{n}: RFC 9051 4.3, RFC 7888) so that
 * message data can never be mistaken for a response, and keeps what the
 * workloads check: the last EXISTS, how many FETCH, EXPUNGE and SEARCH
 * results came back, and for each FETCH the UID, RFC822.SIZE and the
 * length of a BODY[] literal. The client never trusts a figure it did not
 * parse: a malformed response is a protocol error, like a NO or BAD.
 */
#ifndef YUBIN_BENCH_IMAP_H
#define YUBIN_BENCH_IMAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_imap_status {
	BENCH_IMAP_OK,
	BENCH_IMAP_NO,
	BENCH_IMAP_BAD,
	BENCH_IMAP_CONT,   /* a "+" continuation request */
	BENCH_IMAP_CLOSED, /* EOF, error or timeout */
	BENCH_IMAP_PROTO,  /* a response the client could not parse */
};

#define BENCH_IMAP_NONE UINT32_MAX

/* What came back for one command, up to and including its tagged reply. */
struct bench_imap_reply {
	enum bench_imap_status status;
	uint32_t exists;      /* the last "* n EXISTS", or BENCH_IMAP_NONE */
	uint32_t fetches;     /* "* n FETCH" responses */
	uint32_t expunges;    /* "* n EXPUNGE" responses */
	uint64_t search_hits; /* numbers in "* SEARCH" responses */
	uint64_t literal_octets;
	uint64_t body_len; /* the last BODY[...]/RFC822/BINARY literal, or UINT64_MAX */
	bool bye;          /* an untagged BYE came */
	char line[200];    /* the tagged reply (or what went wrong), no CRLF */
};

/* One message as the last FETCH responses described it (by sequence
 * number): UID and RFC822.SIZE, 0 when not sent. */
struct bench_imap_msg {
	uint32_t uid;
	uint64_t size;
};

struct bench_imap;

/* Connect, read the greeting (which must be "* OK"). NULL on failure with
 * a description in err (size bytes). */
struct bench_imap *bench_imap_open(const char *host, uint16_t port, bool tls, int timeout_ms,
                                   char *err, size_t size);
void bench_imap_free(struct bench_imap **im);

/* Whether the server announced LITERAL+ (RFC 7888) in a CAPABILITY list
 * (greeting, CAPABILITY response or response code) seen so far. */
bool bench_imap_literal_plus(const struct bench_imap *im);

/* The last command sent, for error messages (a LOGIN password is shown
 * as ***). */
const char *bench_imap_last_command(const struct bench_imap *im);

/* Send one command (the tag and CRLF are added) and read up to its tagged
 * reply; returns r->status. */
enum bench_imap_status bench_imap_cmd(struct bench_imap *im, struct bench_imap_reply *r,
                                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* LOGIN with quoted strings (the bench's names need no escaping). */
enum bench_imap_status bench_imap_login(struct bench_imap *im, struct bench_imap_reply *r,
                                        const char *user, const char *password);

/* APPEND msg to mailbox with flags ("" or "(\\Seen)"): a non-synchronising
 * literal when the server offers LITERAL+ and allow_nonsync is set, else a
 * synchronising literal (wait for "+", RFC 9051 7.5). */
enum bench_imap_status bench_imap_append(struct bench_imap *im, struct bench_imap_reply *r,
                                         const char *mailbox, const char *flags, const char *msg,
                                         size_t len, bool allow_nonsync);

/* Start IDLE (RFC 2177) and wait for its "+"; then bench_imap_done. */
enum bench_imap_status bench_imap_idle(struct bench_imap *im, struct bench_imap_reply *r);
enum bench_imap_status bench_imap_done(struct bench_imap *im, struct bench_imap_reply *r);

/* The messages described by FETCH responses since the last call of
 * bench_imap_msgs_reset (index = sequence number - 1); *n_r gets the
 * highest sequence number seen. */
const struct bench_imap_msg *bench_imap_msgs(const struct bench_imap *im, uint32_t *n_r);
void bench_imap_msgs_reset(struct bench_imap *im);

#endif
