/*
 * conn_deflate.c - raw DEFLATE in both directions of a connection (RFC
 * 4978 COMPRESS=DEFLATE, RFC 1951 format); see conn_deflate.h.
 *
 * Memory is what matters for a server holding thousands of mostly idle
 * connections: zlib's state is allocated once and kept for the life of the
 * connection (the dictionary cannot be dropped mid-stream), but no
 * buffer of ours outlives a call: output goes through a small stack
 * buffer into the caller's evbuffers, which free their chains when drained.
 */
#include "net/conn_deflate.h"

#include "lib/mem.h"

#include <assert.h>
#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/*
 * The client's stream: RFC 4978 4 lets each side pick its own compression
 * settings, so the decompressor must accept the largest DEFLATE window
 * (32 KiB, windowBits 15); negative windowBits means raw DEFLATE (no zlib
 * header or checksum, as RFC 4978 3 requires).
 */
#define CONN_INFLATE_WBITS (-15)

/*
 * Our stream: zlib's defaults (windowBits 15, memLevel 8) cost 4 * 32 KiB
 * (window and match chains) + 128 KiB (hash table and pending buffer) =
 * 256 KiB per connection. A 16 KiB window with memLevel 7 costs half that
 * (128 KiB); measured on IMAP responses (a header FETCH of 47 messages,
 * their bodies, NOOP replies, each batch sync-flushed) it produced the
 * same output for the headers and 6 % more in total, while an 8 KiB
 * window cost 30 % more. Any window is fine for the client, which must
 * accept the largest (RFC 4978 4 leaves the choice to the compressor).
 */
#define CONN_DEFLATE_WBITS (-14)
#define CONN_DEFLATE_MEMLEVEL 7
#define CONN_DEFLATE_LEVEL 6

/* Output goes through a stack buffer of this size (see the top comment). */
#define CONN_DEFLATE_CHUNK (16 * 1024)

struct conn_deflate {
	z_stream in;    /* peer -> us */
	z_stream out;   /* us -> peer */
	bool in_ended;  /* the peer sent its final block */
	bool out_dirty; /* input given to deflate since the last sync flush */
	size_t memory;  /* bytes zlib has allocated */
};

/* zlib allocates through us: xmalloc's abort instead of Z_MEM_ERROR
 * paths, and a count of what a connection costs. */
union conn_deflate_hdr {
	size_t size;
	max_align_t align;
};

static void *conn_deflate_alloc(void *opaque, unsigned items, unsigned size)
{
	struct conn_deflate *z = opaque;
	size_t n = (size_t)items * size; /* both are 32 bits: no overflow */
	union conn_deflate_hdr *h = xmalloc(sizeof(*h) + n);
	h->size = n;
	z->memory += n;
	return h + 1;
}

static void conn_deflate_release(void *opaque, void *p)
{
	struct conn_deflate *z = opaque;
	union conn_deflate_hdr *h = (union conn_deflate_hdr *)p - 1;
	z->memory -= h->size;
	free(h);
}

struct conn_deflate *conn_deflate_new(void)
{
	struct conn_deflate *z = xmalloc(sizeof(*z));
	z->in.zalloc = z->out.zalloc = conn_deflate_alloc;
	z->in.zfree = z->out.zfree = conn_deflate_release;
	z->in.opaque = z->out.opaque = z;
	/* Only allocation can fail, and ours aborts instead. */
	int r = inflateInit2(&z->in, CONN_INFLATE_WBITS);
	assert(r == Z_OK);
	r = deflateInit2(&z->out, CONN_DEFLATE_LEVEL, Z_DEFLATED, CONN_DEFLATE_WBITS,
			 CONN_DEFLATE_MEMLEVEL, Z_DEFAULT_STRATEGY);
	assert(r == Z_OK);
	(void)r;
	return z;
}

void conn_deflate_free(struct conn_deflate **zp)
{
	struct conn_deflate *z = *zp;
	if (z == NULL)
		return;
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	xfree(*zp);
}

size_t conn_deflate_memory(const struct conn_deflate *z)
{
	return z->memory;
}

/* The first contiguous bytes of b, never an empty piece while b holds
 * data (an empty first piece would make the loops below spin). */
static bool conn_deflate_first_chunk(struct evbuffer *b, struct evbuffer_iovec *v)
{
	if (evbuffer_peek(b, -1, NULL, v, 1) < 1)
		return false;
	if (v->iov_len == 0 && evbuffer_get_length(b) > 0) {
		evbuffer_pullup(b, 1);
		if (evbuffer_peek(b, -1, NULL, v, 1) < 1)
			return false;
	}
	return v->iov_len > 0;
}

/* ---- peer -> us ---- */

/* One inflate() call on the first chunk of src; false on bad data. */
static bool conn_deflate_inflate_step(struct conn_deflate *z, struct evbuffer *src,
				      struct evbuffer *dst, size_t room, bool *progress_r)
{
	unsigned char tmp[CONN_DEFLATE_CHUNK];
	struct evbuffer_iovec v;
	if (!conn_deflate_first_chunk(src, &v))
		return true;
	size_t take = v.iov_len < UINT32_MAX ? v.iov_len : UINT32_MAX;
	z->in.next_in = v.iov_base;
	z->in.avail_in = (uInt)take;
	z->in.next_out = tmp;
	z->in.avail_out = (uInt)(room < sizeof(tmp) ? room : sizeof(tmp));
	uInt out_room = z->in.avail_out;
	int r = inflate(&z->in, Z_NO_FLUSH);
	size_t used = take - z->in.avail_in;
	size_t made = out_room - z->in.avail_out;
	evbuffer_drain(src, used);
	if (made > 0)
		evbuffer_add(dst, tmp, made);
	*progress_r = used > 0 || made > 0;
	z->in.next_in = z->in.next_out = NULL;
	if (r == Z_STREAM_END) {
		/* The client ended its stream; it cannot send another
		 * command, but may still read our answers. */
		z->in_ended = true;
		return true;
	}
	/* Z_BUF_ERROR only means no progress was possible. */
	return r == Z_OK || r == Z_BUF_ERROR;
}

bool conn_deflate_decompress(struct conn_deflate *z, struct evbuffer *src, struct evbuffer *dst,
			     size_t dst_max)
{
	while (evbuffer_get_length(src) > 0) {
		size_t have = evbuffer_get_length(dst);
		if (have >= dst_max)
			return true;
		if (z->in_ended)
			return false; /* bytes after the final block */
		bool progress = false;
		if (!conn_deflate_inflate_step(z, src, dst, dst_max - have, &progress))
			return false;
		if (!progress)
			break;
	}
	return true;
}

/* ---- us -> peer ---- */

/* Run deflate on what is in z->out.next_in with flush, until it needs more
 * input (and, for a flush, until all of it is out). */
static void conn_deflate_run(struct conn_deflate *z, struct evbuffer *dst, int flush)
{
	unsigned char tmp[CONN_DEFLATE_CHUNK];
	do {
		z->out.next_out = tmp;
		z->out.avail_out = sizeof(tmp);
		int r = deflate(&z->out, flush);
		/* Z_BUF_ERROR: nothing to do; anything else is our bug. */
		assert(r == Z_OK || r == Z_BUF_ERROR);
		(void)r;
		size_t made = sizeof(tmp) - z->out.avail_out;
		if (made > 0)
			evbuffer_add(dst, tmp, made);
	} while (z->out.avail_out == 0);
}

void conn_deflate_compress(struct conn_deflate *z, struct evbuffer *src, struct evbuffer *dst,
			   size_t dst_max)
{
	while (evbuffer_get_length(src) > 0 && evbuffer_get_length(dst) < dst_max) {
		struct evbuffer_iovec v;
		if (!conn_deflate_first_chunk(src, &v))
			break;
		/* A step at a time, so that dst_max is not overshot by a whole
		 * chunk of src (which may be a mapped file of megabytes). */
		size_t take = v.iov_len < CONN_DEFLATE_STEP ? v.iov_len : CONN_DEFLATE_STEP;
		z->out.next_in = v.iov_base;
		z->out.avail_in = (uInt)take;
		conn_deflate_run(z, dst, Z_NO_FLUSH);
		assert(z->out.avail_in == 0);
		evbuffer_drain(src, take);
		z->out_dirty = true;
	}
	if (evbuffer_get_length(src) == 0 && z->out_dirty) {
		/* The end of a batch of responses: Z_SYNC_FLUSH ends the
		 * deflate block on a byte boundary (an empty stored block,
		 * 00 00 ff ff), so the client can decode all of it now instead
		 * of waiting for bytes that only the next response would push
		 * out. */
		z->out.next_in = NULL;
		z->out.avail_in = 0;
		conn_deflate_run(z, dst, Z_SYNC_FLUSH);
		z->out_dirty = false;
	}
	z->out.next_in = z->out.next_out = NULL;
}
