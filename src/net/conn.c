/*
 * conn.c - client connections on libevent bufferevents; see conn.h.
 *
 * Why a layer over bufferevents at all: the sessions need four things
 * bufferevents do not give directly and that are easy to get wrong in
 * every protocol separately: (1) a connection is never freed from inside
 * one of its own callbacks (closing goes through a reap list run by a loop
 * event), (2) ids that asynchronous work can use to find a connection that
 * may be gone, (3) STARTTLS that throws away input pipelined in clear text,
 * (4) bounded line reading, (5) a compression layer (IMAP COMPRESS) that
 * can be slipped between the session and the bytes on the wire, above TLS.
 */
#include "net/conn.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "net/conn_deflate.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct conn {
	struct conn_loop *loop;
	uint64_t id;
	struct bufferevent *bev;
	int fd;
	bool bev_owns_fd; /* TLS bufferevents close the fd, plain ones do not */
	const struct conn_handler *h;
	void *ctx;

	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_ip[INET6_ADDRSTRLEN];

	unsigned timeout;
	bool tls;         /* handshake completed */
	bool tls_pending; /* conn_start_tls() waits for output to drain */
	bool handshaking;
	bool closing;
	bool flush_close;
	bool paused;
	bool want_drain;
	bool queued; /* on the loop's kick list */
	/* Plain sockets: replies are written by conn_flush() at the end of
	 * the loop turn, straight to the socket, and EV_WRITE is enabled only
	 * when something is left over. Letting the bufferevent arm and disarm
	 * its write event for every reply costs two epoll_ctl calls and a
	 * loop turn per command. */
	bool direct;
	bool flush_queued;
	struct conn *next_flush;
	const char *close_reason;
	uint64_t bytes_in, bytes_out;
	/* After conn_start_deflate(): the session reads zin and writes zout
	 * (plain text); the bufferevent's buffers hold the compressed bytes.
	 * Each is bounded like the bufferevent's own: zin by CONN_INPUT_MAX,
	 * the bytes deflated into the output by CONN_OUTPUT_HIGH. */
	struct conn_deflate *z;
	struct evbuffer *zin, *zout;

	/* A command line that has begun must end within the idle timeout:
	 * the bufferevent's read timeout restarts with every byte, so a
	 * client dripping one byte a second would otherwise stay forever.
	 * Created the first time a partial line is left over. */
	struct event *deadline;
	bool deadline_armed;
	bool proto_pending; /* conn_set_pending(): a command is under way */

	struct conn *prev, *next; /* all connections */
	struct conn *next_queued; /* kick or reap list */
};

struct conn_loop {
	struct event_base *base;
	struct tls_server *tls;
	struct event *wake; /* runs the kick and reap lists */
	struct conn *all;
	struct conn *kick, *reap, *flush;
	unsigned count;
	/* id = generation << 32 | slot: O(1) lookup, stale ids never match */
	struct conn **slots;
	uint32_t nslots, free_hint;
	uint32_t generation;
};

static void conn_install_bev(struct conn *c, struct bufferevent *bev);
static void conn_check_partial(struct conn *c, bool progress);
static void conn_flush(struct conn *c);
static bool conn_inflate_input(struct conn *c);
static bool conn_inflate_waiting(struct conn *c);
static bool conn_input_waiting(struct conn *c);
static void conn_deflate_output(struct conn *c);
static void conn_kick(struct conn *c);

/* ---- ids ---- */

static uint64_t conn_slot_take(struct conn_loop *loop, struct conn *c)
{
	uint32_t i = loop->free_hint;
	for (; i < loop->nslots && loop->slots[i] != NULL; i++)
		;
	if (i == loop->nslots) {
		uint32_t n = loop->nslots ? loop->nslots * 2 : 64;
		loop->slots = xrealloc(loop->slots, n * sizeof(*loop->slots));
		memset(loop->slots + loop->nslots, 0, (n - loop->nslots) * sizeof(*loop->slots));
		loop->nslots = n;
	}
	loop->slots[i] = c;
	loop->free_hint = i + 1;
	return ((uint64_t)++loop->generation << 32) | i;
}

static void conn_slot_release(struct conn_loop *loop, uint64_t id)
{
	uint32_t i = (uint32_t)id;
	loop->slots[i] = NULL;
	if (i < loop->free_hint)
		loop->free_hint = i;
}

struct conn *conn_find(struct conn_loop *loop, uint64_t id)
{
	uint32_t i = (uint32_t)id;
	if (i >= loop->nslots || loop->slots[i] == NULL || loop->slots[i]->id != id)
		return NULL;
	return loop->slots[i]->closing ? NULL : loop->slots[i];
}

/* ---- the loop: deferred work ---- */

static void conn_free_now(struct conn *c)
{
	struct conn_loop *loop = c->loop;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		loop->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_slot_release(loop, c->id);
	loop->count--;
	c->h->closed(c, c->ctx, c->close_reason);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (!c->bev_owns_fd)
		close(c->fd);
	if (c->z != NULL) {
		conn_deflate_free(&c->z);
		evbuffer_free(c->zin);
		evbuffer_free(c->zout);
	}
	free(c);
}

static void conn_loop_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct conn_loop *loop = arg;
	/* Kicks first: a kicked connection may close itself and join reap. */
	while (loop->kick != NULL) {
		struct conn *c = loop->kick;
		loop->kick = c->next_queued;
		c->queued = false;
		if (c->closing || c->paused || c->handshaking || !conn_inflate_input(c))
			continue;
		size_t before = evbuffer_get_length(conn_input(c));
		if (before > 0)
			c->h->input(c, c->ctx);
		conn_check_partial(c, evbuffer_get_length(conn_input(c)) < before);
		/* Compressed input held back until the session made room. */
		if (!c->closing && !c->paused && conn_inflate_waiting(c))
			conn_kick(c);
	}
	/* Then the replies those produced; a flush may close, never free. */
	while (loop->flush != NULL) {
		struct conn *c = loop->flush;
		loop->flush = c->next_flush;
		c->flush_queued = false;
		conn_flush(c);
	}
	while (loop->reap != NULL) {
		struct conn *c = loop->reap;
		loop->reap = c->next_queued;
		conn_free_now(c);
	}
}

static void conn_loop_wake(struct conn_loop *loop)
{
	event_active(loop->wake, EV_READ, 0);
}

struct conn_loop *conn_loop_new(struct event_base *base, struct tls_server *tls)
{
	struct conn_loop *loop = xmalloc(sizeof(*loop));
	loop->base = base;
	loop->tls = tls;
	loop->wake = event_new(base, -1, 0, conn_loop_on_wake, loop);
	return loop;
}

void conn_loop_close_idle(struct conn_loop *loop)
{
	for (struct conn *c = loop->all; c != NULL; c = c->next)
		if (!c->closing && (c->h->busy == NULL || !c->h->busy(c, c->ctx))) {
			if (c->h->goodbye != NULL && !c->handshaking)
				c->h->goodbye(c, c->ctx);
			c->close_reason = "shutdown";
			conn_close(c, true);
		}
}

void conn_loop_free(struct conn_loop **loopp)
{
	struct conn_loop *loop = *loopp;
	if (loop == NULL)
		return;
	for (struct conn *c = loop->all; c != NULL; c = c->next)
		if (!c->closing) {
			c->close_reason = "shutdown";
			conn_close(c, false);
		}
	loop->kick = NULL;
	conn_loop_on_wake(-1, 0, loop);
	event_free(loop->wake);
	free(loop->slots);
	xfree(*loopp);
}

struct event_base *conn_loop_base(struct conn_loop *loop)
{
	return loop->base;
}

unsigned conn_loop_count(const struct conn_loop *loop)
{
	return loop->count;
}

/* ---- bufferevent callbacks ---- */

static void conn_switch_to_tls(struct conn *c);

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->closing) {
		struct evbuffer *in = bufferevent_get_input(bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!conn_inflate_input(c))
		return;
	if (c->paused || c->handshaking)
		return;
	size_t before = evbuffer_get_length(conn_input(c));
	if (c->z == NULL || evbuffer_get_length(c->zin) > 0)
		c->h->input(c, c->ctx);
	if (!c->closing)
		conn_check_partial(c, evbuffer_get_length(conn_input(c)) < before);
	if (!c->closing && !c->paused && conn_inflate_waiting(c))
		conn_kick(c);
}

static void conn_update_write_watermark(struct conn *c)
{
	/* Closing and STARTTLS need the output fully sent; streaming
	 * writers want to hear about it earlier. */
	size_t low = (c->flush_close || c->tls_pending || !c->want_drain) ? 0 : CONN_OUTPUT_LOW;
	/* Plain text waits to be compressed: refill before the socket idles. */
	if (c->z != NULL && evbuffer_get_length(c->zout) > 0)
		low = CONN_OUTPUT_LOW;
	bufferevent_setwatermark(c->bev, EV_WRITE, low, 0);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->z != NULL && (!c->closing || c->flush_close))
		conn_deflate_output(c);
	size_t pending = conn_output_pending(c);
	if (c->direct && pending == 0 && !c->want_drain)
		bufferevent_disable(bev, EV_WRITE); /* conn_flush() writes from now on */
	if (c->closing) {
		if (c->flush_close && pending == 0)
			conn_close(c, false);
		return;
	}
	if (c->tls_pending && pending == 0) {
		conn_switch_to_tls(c);
		return;
	}
	if (c->want_drain && pending <= CONN_OUTPUT_LOW && !c->handshaking)
		c->h->drained(c, c->ctx);
}

static void conn_log_tls_error(struct conn *c)
{
	unsigned long e;
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue; /* a bare errno, already reported as the close reason */
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("event=tls_error remote=%s error=\"%s\"", c->peer_ip, buf);
	}
}

static void conn_on_event(struct bufferevent *bev, short events, void *arg)
{
	struct conn *c = arg;
	if (events & BEV_EVENT_CONNECTED) {
		c->handshaking = false;
		c->tls = true;
		if (!c->closing)
			c->h->tls_ready(c, c->ctx);
		return;
	}
	if (c->closing) {
		conn_close(c, false);
		return;
	}
	if (events & BEV_EVENT_TIMEOUT)
		c->close_reason = "timeout";
	else if (c->handshaking)
		c->close_reason = "tls-failed";
	else if (events & BEV_EVENT_ERROR)
		c->close_reason = "error";
	else
		c->close_reason = "eof";
	if (c->handshaking || c->tls)
		conn_log_tls_error(c);
	conn_close(c, false);
}

static void conn_count_in(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	((struct conn *)arg)->bytes_in += info->n_added;
}

static void conn_count_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	((struct conn *)arg)->bytes_out += info->n_deleted;
}

static void conn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->deadline_armed = false;
	if (c->closing)
		return;
	log_debug("event=slow_client remote=%s", c->peer_ip);
	c->close_reason = "timeout";
	conn_close(c, false);
}

/* After the session has taken what it could: bytes left over are the
 * start of a line (or command) still coming. The deadline runs from the
 * first of them and restarts whenever the session consumed something
 * (a slow but steady upload is progress; one byte a second of a line
 * that never ends is not); it is off while the session is busy. */
static void conn_check_partial(struct conn *c, bool progress)
{
	if (c->closing || c->timeout == 0)
		return;
	if (progress && c->deadline_armed && !c->proto_pending) {
		evtimer_del(c->deadline);
		c->deadline_armed = false;
	}
	bool partial =
	    !c->paused && (c->proto_pending || evbuffer_get_length(conn_input(c)) > 0);
	if (partial && !c->deadline_armed) {
		if (c->deadline == NULL)
			c->deadline = evtimer_new(c->loop->base, conn_on_deadline, c);
		struct timeval tv = {.tv_sec = c->timeout, .tv_usec = 0};
		evtimer_add(c->deadline, &tv);
		c->deadline_armed = true;
	} else if (!partial && c->deadline_armed) {
		evtimer_del(c->deadline);
		c->deadline_armed = false;
	}
}

static void conn_apply_timeout(struct conn *c)
{
	struct timeval tv = {.tv_sec = c->timeout, .tv_usec = 0};
	bufferevent_set_timeouts(c->bev, c->timeout ? &tv : NULL, c->timeout ? &tv : NULL);
}

/* The bufferevent writes (and tells us when the output drains). */
static void conn_write_by_bev(struct conn *c)
{
	bufferevent_enable(c->bev, EV_WRITE);
}

static void conn_schedule_flush(struct conn *c)
{
	/* TLS: the bufferevent arms its own write event; but what is to be
	 * compressed waits for the end of the turn, so that all the replies
	 * of a turn go out as one compressed batch with one flush. */
	if (!c->direct && c->z == NULL)
		return;
	if (c->z == NULL && (c->want_drain || c->flush_close || c->tls_pending)) {
		conn_write_by_bev(c);
		return;
	}
	if (c->flush_queued)
		return;
	c->flush_queued = true;
	c->next_flush = c->loop->flush;
	c->loop->flush = c;
	conn_loop_wake(c->loop);
}

/* Write what is pending straight to the socket; hand the rest to the
 * bufferevent. */
static void conn_flush(struct conn *c)
{
	if (c->closing && !c->flush_close)
		return;
	if (c->z != NULL)
		conn_deflate_output(c);
	if (!c->direct)
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	/* The bufferevent keeps the start of its output frozen so that only
	 * it drains it; we write in its stead, so thaw it meanwhile. */
	evbuffer_unfreeze(out, 1);
	int n = 1, err = 0;
	while (n > 0 && evbuffer_get_length(out) > 0) {
		errno = 0;
		n = evbuffer_write(out, c->fd);
		err = errno;
	}
	evbuffer_freeze(out, 1);
	if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
		log_debug("event=write_failed remote=%s error=\"%s\"", c->peer_ip, strerror(err));
		c->close_reason = "error";
		conn_close(c, false);
		return;
	}
	if (evbuffer_get_length(out) > 0 || c->want_drain || c->flush_close || c->tls_pending ||
	    (c->z != NULL && evbuffer_get_length(c->zout) > 0))
		conn_write_by_bev(c); /* it finishes, and its callback does the rest */
}

static void conn_install_bev(struct conn *c, struct bufferevent *bev)
{
	c->bev = bev;
	bufferevent_setcb(bev, conn_on_read, conn_on_write, conn_on_event, c);
	evbuffer_add_cb(bufferevent_get_input(bev), conn_count_in, c);
	evbuffer_add_cb(bufferevent_get_output(bev), conn_count_out, c);
	bufferevent_setwatermark(bev, EV_READ, 0, CONN_INPUT_MAX);
	conn_update_write_watermark(c);
	conn_apply_timeout(c);
	short what = c->direct ? EV_READ : EV_READ | EV_WRITE;
	bufferevent_enable(bev, c->paused ? (short)(what & ~EV_READ) : what);
}

static struct bufferevent *conn_tls_bev(struct conn *c)
{
	SSL *ssl = tls_server_ssl_new(c->loop->tls);
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		c->loop->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	/* Many clients just close the socket; that is not an attack. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	c->bev_owns_fd = true;
	c->handshaking = true;
	return bev;
}

static void conn_switch_to_tls(struct conn *c)
{
	c->tls_pending = false;
	c->direct = false;
	/* RFC 2595 4 / RFC 3207 6: discard what was pipelined in clear. */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_free(c->bev);
	conn_install_bev(c, conn_tls_bev(c));
}

/* ---- compression (conn_start_deflate) ---- */

/* Deliver handler->input from the loop soon. */
static void conn_kick(struct conn *c)
{
	if (c->queued)
		return;
	c->queued = true;
	c->next_queued = c->loop->kick;
	c->loop->kick = c;
	conn_loop_wake(c->loop);
}

/* Compressed input waits that can be inflated now: there is room. */
static bool conn_inflate_waiting(struct conn *c)
{
	return c->z != NULL && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 &&
	       evbuffer_get_length(c->zin) < CONN_INPUT_MAX;
}

/* Input that handler->input has not been given yet. */
static bool conn_input_waiting(struct conn *c)
{
	return evbuffer_get_length(conn_input(c)) > 0 || conn_inflate_waiting(c);
}

/*
 * Inflate what the peer sent into zin, up to CONN_INPUT_MAX bytes: the
 * same bound as uncompressed input, so a small compressed command cannot
 * make us hold more than a large plain one (the rest waits compressed, and
 * the bufferevent stops reading when that reaches CONN_INPUT_MAX too).
 * False when the data was not valid: the connection is closing.
 */
static bool conn_inflate_input(struct conn *c)
{
	if (!conn_inflate_waiting(c))
		return true;
	if (conn_deflate_decompress(c->z, bufferevent_get_input(c->bev), c->zin, CONN_INPUT_MAX))
		return true;
	log_info("event=compress_error remote=%s error=\"invalid DEFLATE data\"", c->peer_ip);
	c->close_reason = "error";
	conn_close(c, false);
	return false;
}

/* Compress what the session wrote, up to CONN_OUTPUT_HIGH bytes waiting
 * in the bufferevent; the rest is compressed as that drains (conn_on_write). */
static void conn_deflate_output(struct conn *c)
{
	if (evbuffer_get_length(c->zout) > 0)
		conn_deflate_compress(c->z, c->zout, bufferevent_get_output(c->bev),
				      CONN_OUTPUT_HIGH);
	conn_update_write_watermark(c);
}

bool conn_start_deflate(struct conn *c)
{
	if (c->closing || c->z != NULL || c->tls_pending || c->handshaking)
		return false;
	c->z = conn_deflate_new();
	c->zin = evbuffer_new();
	c->zout = evbuffer_new();
	/* What was written so far (the command's OK) is already in the
	 * bufferevent's output, uncompressed, ahead of anything compressed:
	 * RFC 4978 3, compression starts right after the OK's CRLF. Input
	 * still buffered is compressed: conn_inflate_input() takes it. */
	return true;
}

bool conn_compressed(const struct conn *c)
{
	return c->z != NULL;
}

/* ---- public ---- */

struct conn *conn_new(struct conn_loop *loop, int fd, const struct sockaddr *peer,
		      socklen_t peer_len, bool implicit_tls, const struct conn_handler *handler,
		      void *ctx)
{
	struct conn *c = xmalloc(sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->h = handler;
	c->ctx = ctx;
	c->close_reason = "closed";
	if (peer_len > sizeof(c->peer))
		peer_len = sizeof(c->peer);
	memcpy(&c->peer, peer, peer_len);
	c->peer_len = peer_len;
	if (peer->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer_ip,
			  sizeof(c->peer_ip));
	else if (peer->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer_ip,
			  sizeof(c->peer_ip));
	else
		snprintf(c->peer_ip, sizeof(c->peer_ip), "local");
	int one = 1;
	if (peer->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	evutil_make_socket_nonblocking(fd);
	c->id = conn_slot_take(loop, c);
	c->next = loop->all;
	if (loop->all != NULL)
		loop->all->prev = c;
	loop->all = c;
	loop->count++;
	struct bufferevent *bev;
	if (implicit_tls) {
		bev = conn_tls_bev(c);
	} else {
		bev = bufferevent_socket_new(loop->base, fd, 0);
		c->bev_owns_fd = false;
		c->direct = true;
	}
	conn_install_bev(c, bev);
	return c;
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

void *conn_context(const struct conn *c)
{
	return c->ctx;
}

struct conn_loop *conn_get_loop(struct conn *c)
{
	return c->loop;
}

const char *conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

const struct sockaddr *conn_peer_addr(const struct conn *c, socklen_t *len_r)
{
	*len_r = c->peer_len;
	return (const struct sockaddr *)&c->peer;
}

bool conn_peer_is_loopback(const struct conn *c)
{
	if (c->peer.ss_family == AF_UNIX)
		return true;
	if (c->peer.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&c->peer;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (c->peer.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&c->peer)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

bool conn_tls_active(const struct conn *c)
{
	return c->tls;
}

SSL *conn_ssl(struct conn *c)
{
	return c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

bool conn_tls_available(const struct conn *c)
{
	return c->loop->tls != NULL;
}

enum conn_line_result conn_read_line(struct conn *c, char *buf, size_t max, size_t *len_r)
{
	struct evbuffer *in = conn_input(c);
	size_t eol_len = 0;
	struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (p.pos < 0) {
		/* +1: a CR may be waiting for its LF */
		return evbuffer_get_length(in) > max + 1 ? CONN_LINE_TOO_LONG : CONN_LINE_NONE;
	}
	size_t n = (size_t)p.pos;
	if (n > max)
		return CONN_LINE_TOO_LONG;
	evbuffer_remove(in, buf, n);
	evbuffer_drain(in, eol_len);
	buf[n] = '\0';
	*len_r = n;
	return CONN_LINE_OK;
}

struct evbuffer *conn_input(struct conn *c)
{
	return c->z != NULL ? c->zin : bufferevent_get_input(c->bev);
}

struct evbuffer *conn_output(struct conn *c)
{
	return c->z != NULL ? c->zout : bufferevent_get_output(c->bev);
}

size_t conn_output_pending(struct conn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
	return c->z != NULL ? n + evbuffer_get_length(c->zout) : n;
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (!c->closing || c->flush_close) {
		evbuffer_add(conn_output(c), data, len);
		conn_schedule_flush(c);
	}
}

bool conn_add_file(struct conn *c, int fd, uint64_t len)
{
	if (evbuffer_add_file(conn_output(c), fd, 0, (ev_off_t)len) != 0)
		return false;
	conn_schedule_flush(c);
	return true;
}

void conn_write_str(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	if (c->closing && !c->flush_close)
		return;
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(conn_output(c), fmt, ap);
	va_end(ap);
	conn_schedule_flush(c);
}

void conn_vreply(struct conn *c, const char *fmt, va_list ap)
{
	char line[CONN_REPLY_MAX + 3];
	int n = vsnprintf(line, CONN_REPLY_MAX + 1, fmt, ap);
	if (n < 0)
		return;
	size_t len = (size_t)n <= CONN_REPLY_MAX ? (size_t)n : CONN_REPLY_MAX;
	memcpy(line + len, "\r\n", 2);
	conn_write(c, line, len + 2);
}

void conn_want_drain(struct conn *c, bool on)
{
	c->want_drain = on;
	if (c->closing)
		return;
	conn_update_write_watermark(c);
	if (on && c->direct)
		conn_write_by_bev(c); /* streaming: the bufferevent paces it */
}

void conn_set_pending(struct conn *c, bool pending)
{
	if (pending == c->proto_pending)
		return;
	c->proto_pending = pending;
	if (!pending && c->deadline_armed) {
		evtimer_del(c->deadline);
		c->deadline_armed = false;
	}
	conn_check_partial(c, false);
}

void conn_pause_input(struct conn *c)
{
	if (c->paused || c->closing)
		return;
	c->paused = true;
	bufferevent_disable(c->bev, EV_READ);
	conn_check_partial(c, false); /* a busy session's clock is stopped */
}

void conn_resume_input(struct conn *c)
{
	if (!c->paused || c->closing)
		return;
	c->paused = false;
	bufferevent_enable(c->bev, EV_READ);
	if (conn_input_waiting(c))
		conn_kick(c);
}

void conn_set_timeout(struct conn *c, unsigned seconds)
{
	c->timeout = seconds;
	if (!c->closing)
		conn_apply_timeout(c);
}

void conn_start_tls(struct conn *c)
{
	/* RFC 4978 4: TLS first, then COMPRESS, never the other way. */
	if (c->closing || c->tls || c->loop->tls == NULL || c->z != NULL)
		return;
	c->tls_pending = true;
	/* Nothing more is read in clear text. */
	bufferevent_disable(c->bev, EV_READ);
	if (conn_output_pending(c) == 0) {
		conn_switch_to_tls(c);
	} else {
		conn_update_write_watermark(c);
		if (c->direct)
			conn_write_by_bev(c);
	}
}

/* Take c off the kick list if it is there (it is about to be reaped). */
static void conn_unkick(struct conn *c)
{
	if (!c->queued)
		return;
	for (struct conn **pp = &c->loop->kick; *pp != NULL; pp = &(*pp)->next_queued) {
		if (*pp == c) {
			*pp = c->next_queued;
			break;
		}
	}
	c->queued = false;
}

void conn_close(struct conn *c, bool flush)
{
	if (c->closing && !c->flush_close)
		return; /* already on the reap list */
	bool first = !c->closing;
	c->closing = true;
	if (first && flush && conn_output_pending(c) > 0 && !c->handshaking) {
		c->flush_close = true;
		bufferevent_disable(c->bev, EV_READ);
		conn_update_write_watermark(c);
		if (c->direct)
			conn_write_by_bev(c);
		if (c->z != NULL)
			conn_schedule_flush(c); /* zout may not be compressed yet */
		return;
	}
	c->flush_close = false;
	conn_unkick(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->next_queued = c->loop->reap;
	c->loop->reap = c;
	conn_loop_wake(c->loop);
}

bool conn_closing(const struct conn *c)
{
	return c->closing;
}

uint64_t conn_bytes_in(const struct conn *c)
{
	return c->bytes_in;
}

uint64_t conn_bytes_out(const struct conn *c)
{
	return c->bytes_out;
}
