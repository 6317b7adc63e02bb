/*
 * conn.h - one client connection on a worker's event loop: plain or TLS
 * bytes in and out, line reading with a hard limit, timeouts, STARTTLS,
 * optional DEFLATE compression (conn_start_deflate),
 * and a safe end of life.
 *
 * Protocol sessions (pop3/, lmtp/) own a struct conn and receive events
 * through a struct conn_handler. Life cycle rules:
 *   - handler callbacks are never nested: a callback may call any conn_*
 *     function, including conn_close(), but the connection and the
 *     session are freed later, from the loop, through handler->closed();
 *   - after conn_close() no other callback is delivered except closed();
 *   - work that completes asynchronously (the workpool) finds its
 *     connection again with conn_find(loop, id), which returns NULL once
 *     the connection is gone.
 */
#ifndef YUBIN_NET_CONN_H
#define YUBIN_NET_CONN_H

#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct evbuffer;
struct tls_server;
struct conn;
struct conn_loop;

/* Output above this many bytes means "stop producing": streaming writers
 * (RETR) wait for handler->drained, which fires below CONN_OUTPUT_LOW. */
#define CONN_OUTPUT_HIGH (256 * 1024)
#define CONN_OUTPUT_LOW (64 * 1024)
/* Input buffered but not yet consumed above this stops reading from the
 * socket (a client pipelining faster than we answer). */
#define CONN_INPUT_MAX (128 * 1024)

struct conn_handler {
	/* New input is buffered (conn_read_line, conn_input). */
	void (*input)(struct conn *c, void *ctx);
	/* Output fell below CONN_OUTPUT_LOW after conn_want_drain(c, true). */
	void (*drained)(struct conn *c, void *ctx);
	/* The TLS handshake finished: at connect on an implicit-TLS port,
	 * or after conn_start_tls(). */
	void (*tls_ready)(struct conn *c, void *ctx);
	/* The end: free ctx here. reason is a short constant for logs
	 * ("eof", "timeout", "closed", "error", "tls-failed", "shutdown"). */
	void (*closed)(struct conn *c, void *ctx, const char *reason);
	/* Optional: true while the session is in the middle of something
	 * (a delivery, a RETR) that a graceful shutdown should let finish. */
	bool (*busy)(struct conn *c, void *ctx);
	/* Optional: the server is shutting down and this idle connection
	 * is about to be closed: a last chance to say so (RFC 5321 3.8). */
	void (*goodbye)(struct conn *c, void *ctx);
};

/* ---- the per-worker loop context ---- */

struct conn_loop *conn_loop_new(struct event_base *base, struct tls_server *tls);
/* Closes every connection (handlers see "shutdown") and frees the loop. */
void conn_loop_free(struct conn_loop **loop);
struct event_base *conn_loop_base(struct conn_loop *loop);
unsigned conn_loop_count(const struct conn_loop *loop);
/* Graceful shutdown step: close (with reason "shutdown") every connection
 * whose handler does not report it busy. */
void conn_loop_close_idle(struct conn_loop *loop);

/* ---- one connection ---- */

/*
 * Take over an accepted socket. With implicit_tls the TLS handshake starts
 * at once and handler->tls_ready fires when it is done (the session sends
 * its greeting then). Never fails; on a broken socket the connection
 * closes itself later.
 */
struct conn *conn_new(struct conn_loop *loop, int fd, const struct sockaddr *peer,
		      socklen_t peer_len, bool implicit_tls, const struct conn_handler *handler,
		      void *ctx);

uint64_t conn_id(const struct conn *c);
/* The ctx given to conn_new(). */
void *conn_context(const struct conn *c);
struct conn *conn_find(struct conn_loop *loop, uint64_t id);
struct conn_loop *conn_get_loop(struct conn *c);

/* The peer's address as text ("192.0.2.1", "2001:db8::1"), and whether it
 * is a loopback address (127/8, ::1). */
const char *conn_peer_ip(const struct conn *c);
const struct sockaddr *conn_peer_addr(const struct conn *c, socklen_t *len_r);
bool conn_peer_is_loopback(const struct conn *c);

bool conn_tls_active(const struct conn *c);
SSL *conn_ssl(struct conn *c); /* NULL without TLS */
bool conn_tls_available(const struct conn *c); /* a certificate is configured */

enum conn_line_result {
	CONN_LINE_OK,       /* a line was copied out (without CRLF/LF) */
	CONN_LINE_NONE,     /* no complete line buffered yet */
	CONN_LINE_TOO_LONG, /* the line exceeds max: the caller must close */
};

/*
 * Take one line from the input: bytes up to LF, without the LF and a CR
 * before it, copied into buf (room for max + 1 bytes; NUL-terminated for
 * convenience, but the line may contain NULs: use *len_r).
 */
enum conn_line_result conn_read_line(struct conn *c, char *buf, size_t max, size_t *len_r);

struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
size_t conn_output_pending(struct conn *c);

void conn_write(struct conn *c, const void *data, size_t len);
/* Queue len bytes of file fd from offset 0 (sent with sendfile on plain
 * connections); fd belongs to the connection from then on. False (and fd
 * still the caller's) if it cannot be queued. */
bool conn_add_file(struct conn *c, int fd, uint64_t len);
void conn_write_str(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One reply line: the formatted text (cut at CONN_REPLY_MAX bytes, which
 * no reply of ours reaches) followed by CRLF. */
#define CONN_REPLY_MAX 1021
void conn_vreply(struct conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Ask for handler->drained when output falls below CONN_OUTPUT_LOW. */
void conn_want_drain(struct conn *c, bool on);

/*
 * Stop/resume processing input: while paused, handler->input is not
 * called (bytes keep being buffered up to CONN_INPUT_MAX). Resuming
 * delivers handler->input soon (from the loop) if input is buffered.
 */
/* For protocols whose parser takes partial commands out of the input
 * buffer (IMAP): true while a command has begun and is not complete, so
 * that it must be complete within the idle timeout like a line. */
void conn_set_pending(struct conn *c, bool pending);
void conn_pause_input(struct conn *c);
void conn_resume_input(struct conn *c);

/* Inactivity limit: no byte received (while not paused) or no progress
 * sending for this long closes the connection with reason "timeout". */
void conn_set_timeout(struct conn *c, unsigned seconds);

/*
 * Switch to TLS (STLS/STARTTLS) once the pending output (the "go ahead"
 * reply) has been sent. Input already buffered is discarded: anything a
 * client pipelined after STARTTLS was sent in clear text and must not be
 * executed (RFC 2595 4, RFC 3207 6). handler->tls_ready follows.
 */
void conn_start_tls(struct conn *c);

/*
 * Compress both directions with raw DEFLATE from now on (IMAP COMPRESS,
 * RFC 4978), on top of TLS if that is active. Output written before the
 * call (the "OK" that agrees to it) goes out uncompressed; everything
 * written after is compressed, with a sync flush at the end of each loop
 * turn's replies. Input still buffered and everything read later is
 * inflated (bounded by CONN_INPUT_MAX); invalid data closes the
 * connection with reason "error".
 *
 * conn_input() returns another buffer from now on: a session calling this
 * from inside its input handler must stop reading the buffer it had, so it
 * pauses input first and resumes it from a later loop turn. False (and
 * nothing changes) if compression is already on or the connection is
 * closing or changing to TLS. STARTTLS is refused once it is on.
 */
bool conn_start_deflate(struct conn *c);
bool conn_compressed(const struct conn *c);

/* Close: with flush, after the pending output has been sent (bounded by
 * the timeout); then handler->closed() runs from the loop. */
void conn_close(struct conn *c, bool flush);
bool conn_closing(const struct conn *c);

/* Total bytes received and sent, for the logout log line. */
uint64_t conn_bytes_in(const struct conn *c);
uint64_t conn_bytes_out(const struct conn *c);

#endif
