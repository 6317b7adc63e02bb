/*
 * test_conn_deflate.c - the connection's DEFLATE layer against zlib used
 * independently (another compressor and decompressor with other
 * settings): round trips both ways, a sync flush at the end of every
 * batch, nothing written for an empty batch, byte-at-a-time input, the
 * output bound on inflation (a compression bomb), the input bound on
 * deflation, invalid streams (table), data after the final block, and
 * what the zlib state costs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "net/conn_deflate.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- helpers: zlib used directly, as a client would ---- */

/* Some mail-like text: repetitive words mixed with noise. */
static unsigned char *make_text(size_t n, unsigned seed)
{
	static const char *const words[] = {"Received:", "from", "mail", "example.org",
					    "by", "with", "ESMTP", "id", "\r\n", "Subject:"};
	unsigned char *p = malloc(n);
	assert_non_null(p);
	srand(seed);
	size_t i = 0;
	while (i < n) {
		if (rand() % 4 == 0) {
			p[i++] = (unsigned char)(33 + rand() % 90);
			continue;
		}
		const char *w = words[rand() % 10];
		for (size_t k = 0; w[k] != '\0' && i < n; k++)
			p[i++] = (unsigned char)w[k];
		if (i < n)
			p[i++] = ' ';
	}
	return p;
}

/* Raw-inflate all of buf with an independent stream. */
static void ref_inflate(z_stream *zs, struct evbuffer *buf, struct evbuffer *out)
{
	size_t n = evbuffer_get_length(buf);
	unsigned char *in = evbuffer_pullup(buf, -1);
	unsigned char tmp[4096];
	zs->next_in = in;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = tmp;
		zs->avail_out = sizeof(tmp);
		int r = inflate(zs, Z_SYNC_FLUSH);
		assert_true(r == Z_OK || r == Z_BUF_ERROR);
		evbuffer_add(out, tmp, sizeof(tmp) - zs->avail_out);
	} while (zs->avail_in > 0 || zs->avail_out == 0);
	evbuffer_drain(buf, n);
}

/* Raw-deflate data with an independent stream (level 9, full window). */
static void ref_deflate(z_stream *zs, const void *data, size_t n, int flush,
			struct evbuffer *out)
{
	unsigned char tmp[4096];
	zs->next_in = (unsigned char *)(uintptr_t)data;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = tmp;
		zs->avail_out = sizeof(tmp);
		int r = deflate(zs, flush);
		assert_true(r == Z_OK || r == Z_BUF_ERROR || r == Z_STREAM_END);
		evbuffer_add(out, tmp, sizeof(tmp) - zs->avail_out);
	} while (zs->avail_out == 0);
}

static void ref_deflate_init(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	assert_int_equal(deflateInit2(zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
}

static void ref_inflate_init(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	assert_int_equal(inflateInit2(zs, -15), Z_OK);
}

static void assert_buf_equals(struct evbuffer *b, const unsigned char *data, size_t n)
{
	assert_int_equal(evbuffer_get_length(b), n);
	if (n > 0)
		assert_memory_equal(evbuffer_pullup(b, -1), data, n);
}

/* ---- us -> peer ---- */

/* Every batch ends with a sync flush: the peer decodes all of it at once,
 * whatever the batch sizes. */
static void test_compress_batches(void **state)
{
	static const size_t sizes[] = {1, 2, 17, 100, 4096, 16383, 16384, 70000, 300000, 1};
	struct conn_deflate *z = conn_deflate_new();
	z_stream peer;
	ref_inflate_init(&peer);
	struct evbuffer *src = evbuffer_new(), *wire = evbuffer_new(), *got = evbuffer_new();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *text = make_text(sizes[i], (unsigned)i);
		evbuffer_add(src, text, sizes[i]);
		conn_deflate_compress(z, src, wire, SIZE_MAX);
		assert_int_equal(evbuffer_get_length(src), 0);
		size_t n = evbuffer_get_length(wire);
		assert_true(n >= 4);
		const unsigned char *w = evbuffer_pullup(wire, -1);
		assert_memory_equal(w + n - 4, "\x00\x00\xff\xff", 4);
		ref_inflate(&peer, wire, got);
		assert_buf_equals(got, text, sizes[i]);
		evbuffer_drain(got, sizes[i]);
		free(text);
	}
	/* An empty batch writes nothing, not even another flush marker. */
	conn_deflate_compress(z, src, wire, SIZE_MAX);
	assert_int_equal(evbuffer_get_length(wire), 0);
	inflateEnd(&peer);
	evbuffer_free(src);
	evbuffer_free(wire);
	evbuffer_free(got);
	conn_deflate_free(&z);
	assert_null(z);
}

/* dst_max bounds what one call produces; the rest of src waits. */
static void test_compress_bound(void **state)
{
	const size_t n = 2 * 1024 * 1024;
	unsigned char *text = make_text(n, 42);
	/* make part of it incompressible */
	for (size_t i = 0; i < n / 2; i++)
		text[i] = (unsigned char)rand();
	struct conn_deflate *z = conn_deflate_new();
	z_stream peer;
	ref_inflate_init(&peer);
	struct evbuffer *src = evbuffer_new(), *wire = evbuffer_new(), *got = evbuffer_new();
	evbuffer_add(src, text, n);
	const size_t max = 64 * 1024;
	unsigned calls = 0;
	while (evbuffer_get_length(src) > 0) {
		conn_deflate_compress(z, src, wire, max);
		size_t w = evbuffer_get_length(wire);
		assert_true(w >= max || evbuffer_get_length(src) == 0);
		/* over by at most a step and what zlib held back */
		assert_true(w <= max + CONN_DEFLATE_STEP + 64 * 1024);
		ref_inflate(&peer, wire, got);
		calls++;
	}
	assert_true(calls > 8);
	assert_buf_equals(got, text, n);
	inflateEnd(&peer);
	evbuffer_free(src);
	evbuffer_free(wire);
	evbuffer_free(got);
	conn_deflate_free(&z);
	free(text);
}

/* ---- peer -> us ---- */

static void test_decompress_roundtrip_bytewise(void **state)
{
	const size_t n = 200000;
	unsigned char *text = make_text(n, 7);
	z_stream peer;
	ref_deflate_init(&peer);
	struct evbuffer *wire = evbuffer_new();
	/* several batches with sync flushes, as a client sends commands */
	ref_deflate(&peer, text, 10, Z_SYNC_FLUSH, wire);
	ref_deflate(&peer, text + 10, n - 10, Z_SYNC_FLUSH, wire);
	size_t wn = evbuffer_get_length(wire);
	unsigned char *w = malloc(wn);
	evbuffer_remove(wire, w, wn);

	/* all at once, then a byte at a time */
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		struct conn_deflate *z = conn_deflate_new();
		struct evbuffer *src = evbuffer_new(), *got = evbuffer_new();
		size_t step = bytewise ? 1 : wn;
		for (size_t i = 0; i < wn; i += step) {
			evbuffer_add(src, w + i, step);
			assert_true(conn_deflate_decompress(z, src, got, SIZE_MAX));
			assert_int_equal(evbuffer_get_length(src), 0);
		}
		assert_buf_equals(got, text, n);
		evbuffer_free(src);
		evbuffer_free(got);
		conn_deflate_free(&z);
	}
	deflateEnd(&peer);
	evbuffer_free(wire);
	free(w);
	free(text);
}

/* A compression bomb: 8 MiB of zeros in a few KiB. Each call stops at
 * dst_max; the rest stays compressed in src until there is room. */
static void test_decompress_bomb_bound(void **state)
{
	const size_t n = 8 * 1024 * 1024;
	unsigned char *zeros = calloc(1, n);
	z_stream peer;
	ref_deflate_init(&peer);
	struct evbuffer *src = evbuffer_new(), *got = evbuffer_new();
	ref_deflate(&peer, zeros, n, Z_SYNC_FLUSH, src);
	assert_true(evbuffer_get_length(src) < 16 * 1024);
	struct conn_deflate *z = conn_deflate_new();
	const size_t max = 5000; /* not a multiple of anything */
	size_t total = 0;
	unsigned calls = 0;
	while (evbuffer_get_length(src) > 0 || evbuffer_get_length(got) > 0) {
		assert_true(conn_deflate_decompress(z, src, got, max));
		size_t g = evbuffer_get_length(got);
		assert_true(g <= max);
		assert_true(g == max || evbuffer_get_length(src) == 0);
		/* the consumer takes part of it */
		size_t take = g < 3000 ? g : 3000;
		unsigned char buf[3000];
		evbuffer_remove(got, buf, take);
		for (size_t i = 0; i < take; i++)
			assert_int_equal(buf[i], 0);
		total += take;
		assert_true(++calls < 10000);
	}
	assert_int_equal(total, n);
	/* a full dst takes nothing at all */
	ref_deflate(&peer, zeros, 100, Z_SYNC_FLUSH, src);
	evbuffer_add(got, zeros, max);
	size_t before = evbuffer_get_length(src);
	assert_true(conn_deflate_decompress(z, src, got, max));
	assert_int_equal(evbuffer_get_length(src), before);
	assert_int_equal(evbuffer_get_length(got), max);
	deflateEnd(&peer);
	evbuffer_free(src);
	evbuffer_free(got);
	conn_deflate_free(&z);
	free(zeros);
}

struct bad_case {
	const char *name;
	const unsigned char *data;
	size_t len;
};

static void test_decompress_invalid(void **state)
{
	static const unsigned char reserved_type[] = {0xff, 0xff, 0xff};
	/* stored block whose LEN and NLEN disagree (RFC 1951 3.2.4) */
	static const unsigned char stored_len[] = {0x00, 0x05, 0x00, 0x00, 0x00, 'a'};
	/* dynamic block header with too many length codes (HLIT 30 + 257) */
	static const unsigned char too_many[] = {0x05, 0xff, 0xff, 0xff, 0xff};
	static const struct bad_case cases[] = {
		{"reserved block type", reserved_type, sizeof(reserved_type)},
		{"stored LEN/NLEN", stored_len, sizeof(stored_len)},
		{"dynamic header", too_many, sizeof(too_many)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn_deflate *z = conn_deflate_new();
		struct evbuffer *src = evbuffer_new(), *got = evbuffer_new();
		evbuffer_add(src, cases[i].data, cases[i].len);
		if (conn_deflate_decompress(z, src, got, SIZE_MAX))
			fail_msg("accepted: %s", cases[i].name);
		evbuffer_free(src);
		evbuffer_free(got);
		conn_deflate_free(&z);
	}
}

/* References into a preset dictionary the server never saw: "distance too
 * far back", after the valid part was delivered. */
static void test_decompress_distance_too_far(void **state)
{
	static const char dict[] = "a dictionary the server does not know about";
	z_stream peer;
	ref_deflate_init(&peer);
	assert_int_equal(deflateSetDictionary(&peer, (const Bytef *)dict, sizeof(dict) - 1), Z_OK);
	struct evbuffer *src = evbuffer_new(), *got = evbuffer_new();
	ref_deflate(&peer, dict, sizeof(dict) - 1, Z_SYNC_FLUSH, src);
	struct conn_deflate *z = conn_deflate_new();
	assert_false(conn_deflate_decompress(z, src, got, SIZE_MAX));
	deflateEnd(&peer);
	evbuffer_free(src);
	evbuffer_free(got);
	conn_deflate_free(&z);
}

/* The peer may end its stream; what it sent is delivered, anything after
 * the final block is an error. */
static void test_decompress_after_final_block(void **state)
{
	z_stream peer;
	ref_deflate_init(&peer);
	struct evbuffer *src = evbuffer_new(), *got = evbuffer_new();
	ref_deflate(&peer, "a LOGOUT\r\n", 10, Z_FINISH, src);
	struct conn_deflate *z = conn_deflate_new();
	assert_true(conn_deflate_decompress(z, src, got, SIZE_MAX));
	assert_buf_equals(got, (const unsigned char *)"a LOGOUT\r\n", 10);
	assert_true(conn_deflate_decompress(z, src, got, SIZE_MAX)); /* nothing more: fine */
	evbuffer_add(src, "x", 1);
	assert_false(conn_deflate_decompress(z, src, got, SIZE_MAX));
	deflateEnd(&peer);
	evbuffer_free(src);
	evbuffer_free(got);
	conn_deflate_free(&z);
}

/* ---- both ---- */

/* Our compressor feeding our decompressor, in small uneven batches. */
static void test_self_roundtrip(void **state)
{
	struct conn_deflate *a = conn_deflate_new(), *b = conn_deflate_new();
	struct evbuffer *src = evbuffer_new(), *wire = evbuffer_new(), *got = evbuffer_new();
	const size_t n = 100000;
	unsigned char *text = make_text(n, 3);
	for (size_t i = 0, step = 1; i < n; i += step, step = step * 3 % 9973 + 1) {
		size_t k = i + step <= n ? step : n - i;
		evbuffer_add(src, text + i, k);
		conn_deflate_compress(a, src, wire, SIZE_MAX);
		assert_true(conn_deflate_decompress(b, wire, got, SIZE_MAX));
		assert_int_equal(evbuffer_get_length(wire), 0);
		assert_int_equal(evbuffer_get_length(got), i + k); /* all of it, now */
	}
	assert_buf_equals(got, text, n);
	free(text);
	evbuffer_free(src);
	evbuffer_free(wire);
	evbuffer_free(got);
	conn_deflate_free(&a);
	conn_deflate_free(&b);
}

/* What zlib keeps per connection: the deflate state is allocated at once;
 * inflate's 32 KiB window comes with the first data. */
static void test_memory(void **state)
{
	struct conn_deflate *z = conn_deflate_new();
	size_t fresh = conn_deflate_memory(z);
	struct evbuffer *src = evbuffer_new(), *wire = evbuffer_new(), *got = evbuffer_new();
	unsigned char *text = make_text(100000, 5);
	evbuffer_add(src, text, 100000);
	conn_deflate_compress(z, src, wire, SIZE_MAX);
	z_stream peer;
	ref_deflate_init(&peer);
	ref_deflate(&peer, text, 100000, Z_SYNC_FLUSH, src);
	assert_true(conn_deflate_decompress(z, src, got, SIZE_MAX));
	size_t used = conn_deflate_memory(z);
	printf("# zlib memory per connection: %zu bytes fresh, %zu in use\n", fresh, used);
	assert_true(fresh >= 128 * 1024);
	assert_true(used > fresh);
	assert_true(used <= 224 * 1024); /* zlib defaults would be about 300 KiB */
	deflateEnd(&peer);
	free(text);
	evbuffer_free(src);
	evbuffer_free(wire);
	evbuffer_free(got);
	conn_deflate_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compress_batches),
		cmocka_unit_test(test_compress_bound),
		cmocka_unit_test(test_decompress_roundtrip_bytewise),
		cmocka_unit_test(test_decompress_bomb_bound),
		cmocka_unit_test(test_decompress_invalid),
		cmocka_unit_test(test_decompress_distance_too_far),
		cmocka_unit_test(test_decompress_after_final_block),
		cmocka_unit_test(test_self_roundtrip),
		cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
