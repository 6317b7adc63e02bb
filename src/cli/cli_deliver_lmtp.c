/*
 * cli_deliver_lmtp.c - `yubin deliver` for callers that may not write the
 * mail store themselves.
 *
 * An MTA runs its delivery command with the recipient's privileges (Postfix
 * runs mailbox_command as the local user). That user cannot, and should
 * not, write into data_dir, which belongs to the mail account. In that case
 * the message is handed to the running server over LMTP (listen.lmtp, the
 * same path the MTA could have used directly), so the delivery has the same
 * durability and the same exit codes. A small blocking client is enough
 * here: one process, one message.
 */
#include "cli/cli_deliver_lmtp.h"

#include "cli/cli_deliver_input.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/strlist.h"
#include "lib/strnum.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

struct lmtp_client {
	int fd;
	char buf[4096];
	size_t len;
};

static int lmtp_client_connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int lmtp_client_connect_inet(const char *item)
{
	char *copy = xstrdup(item);
	char *colon = strrchr(copy, ':');
	if (colon == NULL) {
		free(copy);
		return -1;
	}
	*colon = '\0';
	char *host = copy;
	if (host[0] == '[') {
		host++;
		host[strlen(host) - 1] = '\0';
	}
	if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	int fd = -1;
	if (getaddrinfo(host, colon + 1, &hints, &ai) == 0) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
	}
	free(copy);
	return fd;
}

/* Connect to the first address of listen.lmtp that accepts us: a socket
 * in a directory the caller may not enter is skipped. */
static int lmtp_client_connect(const char *listen)
{
	int fd = -1;
	const char *start;
	size_t n;
	while (fd < 0 && strlist_next(&listen, ", ", &start, &n)) {
		char *item = xstrndup(start, n);
		fd = item[0] == '/' ? lmtp_client_connect_unix(item)
				    : lmtp_client_connect_inet(item);
		free(item);
	}
	return fd;
}

static bool lmtp_client_write(struct lmtp_client *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(c->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read one reply (all its lines); returns the code, 0 on error. */
static unsigned lmtp_client_reply(struct lmtp_client *c, char *text, size_t text_size)
{
	for (;;) {
		char *eol = memchr(c->buf, '\n', c->len);
		if (eol == NULL) {
			if (c->len == sizeof(c->buf))
				return 0;
			ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			c->len += (size_t)n;
			continue;
		}
		size_t line_len = (size_t)(eol - c->buf) + 1;
		uint32_t code = 0;
		bool last = line_len >= 4 && c->buf[3] != '-';
		if (line_len < 4 || !strnum_u32(c->buf, 3, 599, &code))
			return 0;
		snprintf(text, text_size, "%.*s", (int)(line_len - 1), c->buf);
		text[strcspn(text, "\r")] = '\0';
		memmove(c->buf, c->buf + line_len, c->len - line_len);
		c->len -= line_len;
		if (last)
			return code;
	}
}

/* Send "<verb><arg><end>\r\n" and read the reply. */
static unsigned lmtp_client_command(struct lmtp_client *c, char *text, size_t size,
				    const char *verb, const char *arg, const char *end)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s%s%s\r\n", verb, arg, end);
	if (n < 0 || (size_t)n >= sizeof(line) || !lmtp_client_write(c, line, (size_t)n))
		return 0;
	return lmtp_client_reply(c, text, size);
}

/* The DATA encoder's state between pieces of the message. */
struct lmtp_body {
	struct lmtp_client *c;
	bool line_start, prev_cr;
};

/* CRLF line ends and dot-stuffing (RFC 5321 4.5.2) on the way out. */
static int lmtp_body_sink(void *ctx, const char *data, size_t len)
{
	struct lmtp_body *b = ctx;
	char out[2 * 4096 + 2];
	while (len > 0) {
		size_t take = len < 4096 ? len : 4096, o = 0;
		for (size_t i = 0; i < take; i++) {
			char ch = data[i];
			if (b->line_start && ch == '.')
				out[o++] = '.';
			if (ch == '\n' && !b->prev_cr)
				out[o++] = '\r';
			out[o++] = ch;
			b->prev_cr = ch == '\r';
			b->line_start = ch == '\n';
		}
		if (!lmtp_client_write(b->c, out, o))
			return EX_TEMPFAIL;
		data += take;
		len -= take;
	}
	return 0;
}

/* Send stdin as DATA, then the terminating ".". */
static bool lmtp_client_send_body(struct lmtp_client *c)
{
	struct lmtp_body b = {.c = c, .line_start = true};
	if (deliver_input_read(STDIN_FILENO, lmtp_body_sink, &b) != 0)
		return false;
	const char *end = b.line_start ? ".\r\n" : (b.prev_cr ? "\n.\r\n" : "\r\n.\r\n");
	return lmtp_client_write(c, end, strlen(end));
}

/* sysexits for an LMTP reply code (RFC 5321 4.2.1, RFC 3463). */
static int lmtp_client_exit_code(unsigned code, const char *text)
{
	if (code >= 200 && code < 300)
		return 0;
	if (code >= 400 && code < 500)
		return EX_TEMPFAIL;
	if (strstr(text, "5.1.1") != NULL)
		return EX_NOUSER;
	if (strstr(text, "5.2.2") != NULL)
		return EX_NOPERM; /* mailbox full: as cli_deliver.c answers it */
	if (code == 552)
		return EX_DATAERR;
	return code >= 500 ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

int cli_deliver_lmtp(const struct config *cfg, const char *user, const char *sender)
{
	struct lmtp_client c = {.fd = lmtp_client_connect(cfg->listen_lmtp)};
	if (c.fd < 0) {
		fprintf(stderr, "yubin: cannot write %s and cannot reach the server's LMTP "
				"listener (listen.lmtp = %s)\n",
			cfg->data_dir, cfg->listen_lmtp);
		return EX_TEMPFAIL;
	}
	char text[512] = "";
	unsigned code = lmtp_client_reply(&c, text, sizeof(text));
	if (code == 220)
		code = lmtp_client_command(&c, text, sizeof(text), "LHLO ", cfg->hostname, "");
	if (code == 250)
		code = lmtp_client_command(&c, text, sizeof(text), "MAIL FROM:<",
					   sender != NULL ? sender : "", ">");
	if (code == 250)
		code = lmtp_client_command(&c, text, sizeof(text), "RCPT TO:<", user, ">");
	if (code == 250)
		code = lmtp_client_command(&c, text, sizeof(text), "DATA", "", "");
	if (code == 354)
		code = lmtp_client_send_body(&c) ? lmtp_client_reply(&c, text, sizeof(text)) : 0;
	lmtp_client_write(&c, "QUIT\r\n", 6);
	close(c.fd);
	int rc = code == 0 ? EX_TEMPFAIL : lmtp_client_exit_code(code, text);
	if (rc != 0)
		fprintf(stderr, "yubin: delivery through LMTP failed: %s\n",
			text[0] ? text : "connection lost");
	log_info("event=deliver service=deliver via=lmtp user=%s result=%s", user,
		 rc == 0 ? "ok" : "failed");
	return rc;
}
