/*
 * idleconn.c - hold many logged-in, idle connections.
 *
 *     idleconn -p PORT -P pop3|imap -u PREFIX [-U NUSERS] -w PASSWORD
 *              [-n CONNECTIONS] [-T] [-t THREADS] [-d MAX_WAIT_MS]
 *              [-H ADDRESS]
 *
 * Opens CONNECTIONS connections (default NUSERS), connection j logged in
 * as user (j mod NUSERS): POP3 with USER/PASS (the maildrop is open, the
 * session in the TRANSACTION state, RFC 1939 section 4), or IMAP with
 * LOGIN, SELECT INBOX and IDLE (RFC 2177), which is the state in which
 * Dovecot can hibernate a session. THREADS threads log in their share of
 * the connections one after the other.
 *
 * When all are logged in it prints "idleconn ready conns=N failed=N ..."
 * and waits for a line (or EOF) on stdin, at most MAX_WAIT_MS (default
 * 10 minutes): meanwhile the caller measures the server's memory. Then it
 * checks that every connection still answers (POP3 NOOP, IMAP DONE),
 * prints "idleconn done alive=N" and closes them all. Exit status 1 when
 * a login failed or a connection died.
 */
#include "bench_conn.h"
#include "bench_util.h"

#include "lib/mem.h"

#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct idleconn_opts {
	const char *host, *user, *password;
	uint16_t port;
	bool tls, imap;
	uint32_t nusers, conns, threads, max_wait_ms;
	int timeout_ms;
};

struct idleconn_worker {
	pthread_t tid;
	uint32_t index;
	const struct idleconn_opts *o;
	struct bench_conn **conns; /* shared array; this worker owns j % threads == index */
	uint32_t failed, alive;
	char error[200];
};

static bool idleconn_fail(struct idleconn_worker *w, const char *what, const char *reply,
                          size_t len)
{
	if (w->error[0] == '\0') {
		while (len > 0 && (reply[len - 1] == '\n' || reply[len - 1] == '\r'))
			len--;
		snprintf(w->error, sizeof(w->error), "%s%s%.*s", what, len > 0 ? ": " : "",
		         (int)(len > 120 ? 120 : len), reply);
	}
	return false;
}

/* Read lines until one starts with prefix (a POP3 status or an IMAP tag
 * with its space); true when what follows the prefix starts with ok. */
static bool idleconn_expect(struct idleconn_worker *w, struct bench_conn *c, const char *prefix,
                            const char *ok, const char *what)
{
	size_t plen = strlen(prefix), oklen = strlen(ok);
	for (;;) {
		const char *line;
		bool complete;
		size_t len = bench_conn_read_line(c, &line, &complete);
		if (len == 0)
			return idleconn_fail(w, what, "connection closed or timed out", 30);
		if (len < plen || memcmp(line, prefix, plen) != 0)
			continue; /* untagged IMAP data */
		if (len >= plen + oklen && memcmp(line + plen, ok, oklen) == 0)
			return true;
		return idleconn_fail(w, what, line, len);
	}
}

/* Send "<a><b><c>\r\n": a command built from fixed text and names. */
static bool idleconn_send(struct idleconn_worker *w, struct bench_conn *c, const char *what,
                          const char *a, const char *b, const char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s%s%s\r\n", a, b, d);
	return bench_conn_write_str(c, cmd) || idleconn_fail(w, what, "write failed", 12);
}

static bool idleconn_login_pop3(struct idleconn_worker *w, struct bench_conn *c, const char *user)
{
	return idleconn_expect(w, c, "+", "OK", "greeting") &&
	       idleconn_send(w, c, "USER", "USER ", user, "") &&
	       idleconn_expect(w, c, "+", "OK", "USER") &&
	       idleconn_send(w, c, "PASS", "PASS ", w->o->password, "") &&
	       idleconn_expect(w, c, "+", "OK", "PASS");
}

static bool idleconn_login_imap(struct idleconn_worker *w, struct bench_conn *c, const char *user)
{
	/* RFC 3501 quoted strings: the bench's names and password need no
	 * escaping. */
	char args[300];
	snprintf(args, sizeof(args), "\"%s\" \"%s\"", user, w->o->password);
	return idleconn_expect(w, c, "* ", "OK", "greeting") &&
	       idleconn_send(w, c, "LOGIN", "a LOGIN ", args, "") &&
	       idleconn_expect(w, c, "a ", "OK", "LOGIN") &&
	       idleconn_send(w, c, "SELECT", "b SELECT INBOX", "", "") &&
	       idleconn_expect(w, c, "b ", "OK", "SELECT") &&
	       idleconn_send(w, c, "IDLE", "c IDLE", "", "") &&
	       idleconn_expect(w, c, "+", "", "IDLE");
}

static struct bench_conn *idleconn_open(struct idleconn_worker *w, uint32_t j)
{
	const struct idleconn_opts *o = w->o;
	char user[128];
	bench_user_name(user, sizeof(user), o->user, o->nusers, j % (o->nusers ? o->nusers : 1));
	const char *err = "";
	struct bench_conn *c = bench_conn_open(o->host, o->port, o->tls, o->timeout_ms, &err);
	if (c == NULL) {
		idleconn_fail(w, "connect", err, strlen(err));
		return NULL;
	}
	bool ok = o->imap ? idleconn_login_imap(w, c, user) : idleconn_login_pop3(w, c, user);
	if (!ok)
		bench_conn_free(&c);
	return c;
}

static void *idleconn_login_thread(void *arg)
{
	struct idleconn_worker *w = arg;
	for (uint32_t j = w->index; j < w->o->conns; j += w->o->threads) {
		w->conns[j] = idleconn_open(w, j);
		w->failed += w->conns[j] == NULL;
	}
	return NULL;
}

/* Wake every connection of this worker (all writes first, so that the
 * server answers them in parallel), then read the answers. */
static void *idleconn_check_thread(void *arg)
{
	struct idleconn_worker *w = arg;
	const char *cmd = w->o->imap ? "DONE\r\n" : "NOOP\r\n";
	for (uint32_t j = w->index; j < w->o->conns; j += w->o->threads) {
		if (w->conns[j] != NULL && !bench_conn_write_str(w->conns[j], cmd))
			bench_conn_free(&w->conns[j]);
	}
	for (uint32_t j = w->index; j < w->o->conns; j += w->o->threads) {
		struct bench_conn *c = w->conns[j];
		if (c == NULL)
			continue;
		if (w->o->imap ? idleconn_expect(w, c, "c ", "OK", "DONE")
		               : idleconn_expect(w, c, "+", "OK", "NOOP"))
			w->alive++;
		bench_conn_free(&w->conns[j]);
	}
	return NULL;
}

static void idleconn_run(struct idleconn_worker *ws, uint32_t n, void *(*fn)(void *))
{
	for (uint32_t i = 0; i < n; i++) {
		if (pthread_create(&ws[i].tid, NULL, fn, &ws[i]) != 0) {
			fprintf(stderr, "idleconn: cannot start thread %u\n", i);
			exit(1);
		}
	}
	for (uint32_t i = 0; i < n; i++)
		pthread_join(ws[i].tid, NULL);
}

/* Wait for a line or EOF on stdin, at most max_ms. */
static void idleconn_wait(uint32_t max_ms)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	uint64_t end = bench_now_ns() + (uint64_t)max_ms * 1000000u;
	char buf[256];
	for (;;) {
		uint64_t now = bench_now_ns();
		if (now >= end)
			return;
		int r = poll(&p, 1, (int)((end - now) / 1000000u) + 1);
		if (r < 0)
			continue;
		if (r == 0)
			return;
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0 || memchr(buf, '\n', (size_t)n) != NULL)
			return;
	}
}

static void idleconn_usage(void)
{
	fprintf(stderr, "usage: idleconn -p PORT -P pop3|imap -u PREFIX [-U NUSERS] -w PASSWORD\n"
	                "                [-n CONNECTIONS] [-T] [-t THREADS] [-d MAX_WAIT_MS]\n"
	                "                [-H ADDRESS]\n");
	exit(2);
}

static void idleconn_parse(int argc, char **argv, struct idleconn_opts *o)
{
	*o = (struct idleconn_opts){
	    .host = "127.0.0.1", .threads = 8, .max_wait_ms = 600000, .timeout_ms = 60000};
	const char *proto = "pop3";
	int ch;
	while ((ch = getopt(argc, argv, "H:p:TP:u:U:w:n:t:d:")) != -1) {
		switch (ch) {
		case 'H':
			o->host = optarg;
			break;
		case 'p':
			o->port = bench_opt_port('p', optarg);
			break;
		case 'T':
			o->tls = true;
			break;
		case 'P':
			proto = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'U':
			o->nusers = bench_opt_u32('U', optarg, 1000000);
			break;
		case 'w':
			o->password = optarg;
			break;
		case 'n':
			o->conns = bench_opt_u32('n', optarg, 1000000);
			break;
		case 't':
			o->threads = bench_opt_u32('t', optarg, 256);
			break;
		case 'd':
			o->max_wait_ms = bench_opt_u32('d', optarg, 86400000);
			break;
		default:
			idleconn_usage();
		}
	}
	o->imap = strcmp(proto, "imap") == 0;
	if (o->conns == 0)
		o->conns = o->nusers;
	if (optind != argc || o->port == 0 || o->user == NULL || o->password == NULL ||
	    o->conns == 0 || o->threads == 0 || (!o->imap && strcmp(proto, "pop3") != 0))
		idleconn_usage();
}

static uint32_t idleconn_sum(const struct idleconn_worker *ws, uint32_t n, bool alive,
                             const char **error_r)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		sum += alive ? ws[i].alive : ws[i].failed;
		if ((*error_r)[0] == '\0')
			*error_r = ws[i].error;
	}
	return sum;
}

int main(int argc, char **argv)
{
	struct idleconn_opts o;
	idleconn_parse(argc, argv, &o);
	bench_process_setup();
	if (o.tls)
		bench_conn_tls_init();
	struct bench_conn **conns = xcalloc(o.conns, sizeof(*conns));
	struct idleconn_worker *ws = xcalloc(o.threads, sizeof(*ws));
	for (uint32_t i = 0; i < o.threads; i++)
		ws[i] = (struct idleconn_worker){.index = i, .o = &o, .conns = conns};
	uint64_t start = bench_now_ns();
	idleconn_run(ws, o.threads, idleconn_login_thread);
	const char *error = "";
	uint32_t failed = idleconn_sum(ws, o.threads, false, &error);
	printf("idleconn ready conns=%u failed=%u elapsed_s=%.3f\n", o.conns - failed, failed,
	       (double)(bench_now_ns() - start) / 1e9);
	fflush(stdout);
	idleconn_wait(o.max_wait_ms);
	idleconn_run(ws, o.threads, idleconn_check_thread);
	uint32_t alive = idleconn_sum(ws, o.threads, true, &error);
	printf("idleconn done alive=%u\n", alive);
	if (error[0] != '\0')
		fprintf(stderr, "idleconn: first failure: %s\n", error);
	free(ws);
	free(conns);
	return failed != 0 || alive != o.conns;
}
