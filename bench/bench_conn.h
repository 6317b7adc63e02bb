/*
 * bench_conn.h - a blocking client connection for the load generators.
 *
 * The load generators run one thread per client (16 at most) or hold many
 * idle connections, so plain blocking sockets with send/receive timeouts
 * are enough: a server that stops answering turns into an error after the
 * timeout instead of a hung benchmark. TLS (OpenSSL, no certificate check:
 * the servers under test use a throw-away self-signed certificate) is
 * optional per connection. Reads are buffered so that a multi-line POP3
 * reply is scanned in 64 KiB pieces, which keeps the client far cheaper
 * than the server it measures.
 */
#ifndef YUBIN_BENCH_CONN_H
#define YUBIN_BENCH_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_conn;

/* Call once, before any thread opens a TLS connection. */
void bench_conn_tls_init(void);

/* Connect to host:port (numeric IPv4 or IPv6 address), with TLS if tls is
 * set (handshake included). timeout_ms bounds each later read and write.
 * NULL on failure with a static description in *err_r. */
struct bench_conn *bench_conn_open(const char *host, uint16_t port, bool tls, int timeout_ms,
                                   const char **err_r);
void bench_conn_free(struct bench_conn **c);

/* Write all of (p, len); false on error or timeout. */
bool bench_conn_write(struct bench_conn *c, const void *p, size_t len);
bool bench_conn_write_str(struct bench_conn *c, const char *s);

/* The next line, LF included, in *line_r (valid until the next read). A
 * line longer than the buffer comes back in pieces; *complete_r says
 * whether this piece ends the line. Returns the length, 0 on EOF, error
 * or timeout. */
size_t bench_conn_read_line(struct bench_conn *c, const char **line_r, bool *complete_r);

/* Read and discard exactly n octets (an IMAP literal, RFC 9051 4.3);
 * false on EOF, error or timeout. */
bool bench_conn_skip(struct bench_conn *c, uint64_t n);

/* Read a POP3 multi-line body (RFC 1939 section 3) up to the terminating
 * ".CRLF" line. *bytes_r gets the octets after removing byte-stuffing
 * (CRLF included, terminator excluded), *lines_r the number of lines.
 * false on EOF, error or timeout. */
bool bench_conn_read_multiline(struct bench_conn *c, uint64_t *bytes_r, uint64_t *lines_r);

#endif
