/*
 * bench_conn.c - blocking client connections, plain or TLS; see
 * bench_conn.h.
 */
#include "bench_conn.h"

#include "lib/mem.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BENCH_CONN_BUF (64 * 1024)

struct bench_conn {
	int fd;
	SSL *ssl;
	size_t start, end; /* unread bytes are buf[start..end) */
	char buf[BENCH_CONN_BUF];
};

static SSL_CTX *bench_tls_ctx;

void bench_conn_tls_init(void)
{
	bench_tls_ctx = SSL_CTX_new(TLS_client_method());
	if (bench_tls_ctx == NULL) {
		fprintf(stderr, "bench: cannot create a TLS context\n");
		exit(1);
	}
	SSL_CTX_set_min_proto_version(bench_tls_ctx, TLS1_2_VERSION);
	/* The servers use a throw-away self-signed certificate. */
	SSL_CTX_set_verify(bench_tls_ctx, SSL_VERIFY_NONE, NULL);
}

static void bench_conn_set_timeout(int fd, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Commands are small and answered one by one (or pipelined in one
	 * write): Nagle's algorithm would only add delayed-ACK stalls. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int bench_conn_connect(const char *host, uint16_t port, const char **err_r)
{
	char service[8];
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, service, &hints, &res) != 0) {
		*err_r = "bad address";
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err_r = "socket failed (out of descriptors?)";
	} else if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		*err_r = "connect failed";
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static bool bench_conn_handshake(struct bench_conn *c, const char **err_r)
{
	c->ssl = SSL_new(bench_tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		*err_r = "TLS handshake failed";
		return false;
	}
	return true;
}

struct bench_conn *bench_conn_open(const char *host, uint16_t port, bool tls, int timeout_ms,
                                   const char **err_r)
{
	int fd = bench_conn_connect(host, port, err_r);
	if (fd < 0)
		return NULL;
	bench_conn_set_timeout(fd, timeout_ms);
	struct bench_conn *c = xmalloc(sizeof(*c));
	c->fd = fd;
	if (tls && !bench_conn_handshake(c, err_r))
		bench_conn_free(&c);
	return c;
}

void bench_conn_free(struct bench_conn **cp)
{
	struct bench_conn *c = *cp;
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	close(c->fd);
	xfree(*cp);
}

bool bench_conn_write(struct bench_conn *c, const void *p, size_t len)
{
	const char *s = p;
	while (len > 0) {
		ssize_t n;
		if (c->ssl != NULL) {
			int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
			n = SSL_write(c->ssl, s, chunk);
			if (n <= 0) {
				ERR_clear_error();
				return false;
			}
		} else {
			n = send(c->fd, s, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return false;
		}
		s += n;
		len -= (size_t)n;
	}
	return true;
}

bool bench_conn_write_str(struct bench_conn *c, const char *s)
{
	return bench_conn_write(c, s, strlen(s));
}

/* Read more input after the unread bytes; false on EOF, error, timeout. */
static bool bench_conn_fill(struct bench_conn *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	for (;;) {
		ssize_t n;
		if (c->ssl != NULL) {
			n = SSL_read(c->ssl, c->buf + c->end, (int)(sizeof(c->buf) - c->end));
			if (n <= 0)
				ERR_clear_error();
		} else {
			n = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n <= 0)
			return false;
		c->end += (size_t)n;
		return true;
	}
}

size_t bench_conn_read_line(struct bench_conn *c, const char **line_r, bool *complete_r)
{
	for (;;) {
		const char *p = c->buf + c->start;
		size_t avail = c->end - c->start;
		const char *lf = memchr(p, '\n', avail);
		size_t len = lf != NULL ? (size_t)(lf - p) + 1 : avail;
		*complete_r = lf != NULL;
		/* Hand out a piece when the line is complete or fills the
		 * whole buffer, or what is left before EOF. */
		if (lf != NULL || avail == sizeof(c->buf) || (avail > 0 && !bench_conn_fill(c))) {
			*line_r = c->buf + c->start;
			c->start += len;
			return len;
		}
		if (avail == 0 && !bench_conn_fill(c))
			return 0;
	}
}

bool bench_conn_skip(struct bench_conn *c, uint64_t n)
{
	for (;;) {
		size_t avail = c->end - c->start;
		if ((uint64_t)avail >= n) {
			c->start += (size_t)n;
			return true;
		}
		n -= avail;
		c->start = c->end = 0;
		if (!bench_conn_fill(c))
			return false;
	}
}

bool bench_conn_read_multiline(struct bench_conn *c, uint64_t *bytes_r, uint64_t *lines_r)
{
	uint64_t bytes = 0, lines = 0;
	bool at_start = true;
	for (;;) {
		const char *line;
		bool complete;
		size_t len = bench_conn_read_line(c, &line, &complete);
		if (len == 0)
			return false;
		if (at_start && complete && len == 3 && memcmp(line, ".\r\n", 3) == 0)
			break;
		/* A line that starts with '.' was byte-stuffed by the server. */
		bytes += at_start && line[0] == '.' ? len - 1 : len;
		lines += complete;
		at_start = complete;
	}
	*bytes_r = bytes;
	*lines_r = lines;
	return true;
}
