/*
 * conn_deflate.h - the compression layer of a connection: raw DEFLATE
 * (RFC 1951, no zlib header) in both directions, as IMAP COMPRESS=DEFLATE
 * (RFC 4978) uses it.
 *
 * Pure stream transforms between libevent buffers, no sockets: conn.c puts
 * one between the bufferevent and the session (compressed bytes read from
 * the peer -> conn_deflate_decompress -> what the session reads; what the
 * session writes -> conn_deflate_compress -> the bufferevent's output).
 */
#ifndef YUBIN_NET_CONN_DEFLATE_H
#define YUBIN_NET_CONN_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct conn_deflate;

/* Both directions' zlib state. Never fails (allocation aborts). */
struct conn_deflate *conn_deflate_new(void);
void conn_deflate_free(struct conn_deflate **z);

/*
 * Inflate the peer's bytes from src into dst. Stops when src is used up or
 * dst holds dst_max bytes (a few bytes of compressed input can expand a
 * thousandfold: the caller's input limit bounds the expansion, the rest
 * waits in src). Consumed input is drained from src.
 *
 * False if the data is not valid DEFLATE, or continues after the peer
 * ended its stream (a final block): the connection must be closed. What
 * came out before the error is in dst.
 */
bool conn_deflate_decompress(struct conn_deflate *z, struct evbuffer *src, struct evbuffer *dst,
			     size_t dst_max);

/*
 * Deflate src into dst. Stops taking input once dst holds dst_max bytes;
 * input is taken CONN_DEFLATE_STEP bytes at a time, so dst may go over by
 * about that much (plus what zlib held back from earlier steps). When src
 * is used up, everything is flushed (Z_SYNC_FLUSH) so that the peer can
 * decode every byte sent so far. Consumed input is drained from src.
 * Nothing is written when src is empty.
 */
#define CONN_DEFLATE_STEP (32 * 1024)
void conn_deflate_compress(struct conn_deflate *z, struct evbuffer *src, struct evbuffer *dst,
			   size_t dst_max);

/* Bytes zlib holds allocated for this connection right now. */
size_t conn_deflate_memory(const struct conn_deflate *z);

#endif
