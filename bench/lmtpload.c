/*
 * lmtpload.c - LMTP delivery load generator.
 *
 *     lmtpload -p PORT -u PREFIX -U NUSERS [-c CLIENTS]
 *              (-n DELIVERIES | -d MILLISECONDS) [-s SIZE] [-S SEED]
 *              [-D DOMAIN] [-H ADDRESS] [-t TIMEOUT_S]
 *
 * CLIENTS threads each keep one LMTP connection (RFC 2033) and deliver
 * messages of about SIZE bytes (default 4096) to a recipient picked at
 * random among PREFIX00..PREFIX(NUSERS-1) (at DOMAIN when given), until
 * DELIVERIES have started or the duration has passed. Each transaction
 * is pipelined (RFC 2920): MAIL, RCPT and DATA go out in one write, then
 * the message in one write after the 354. Bodies contain lines that
 * start with '.', so both sides exercise dot-stuffing. A delivery counts
 * only when the recipient's final reply is 2xx, which a server may send
 * only once the message is on disk.
 *
 * Output: one key=value line with deliveries/s and latency percentiles
 * (MAIL sent to final reply). Exit status 1 when any delivery failed.
 */
#include "bench_conn.h"
#include "bench_util.h"

#include "lib/mem.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LMTPLOAD_HEADER_MAX 1024

struct lmtpload_opts {
	const char *host, *user, *domain;
	uint16_t port;
	uint32_t nusers, clients, deliveries, duration_ms, size, seed;
	int timeout_ms;
};

struct lmtpload_shared {
	const struct lmtpload_opts *o;
	atomic_uint_fast64_t next;
	uint64_t deadline_ns;
	char *body; /* dot-stuffed, ends with ".\r\n" */
	size_t body_len;
};

struct lmtpload_client {
	pthread_t tid;
	uint32_t index;
	struct lmtpload_shared *sh;
	struct bench_samples lat;
	uint64_t ok, failed, rng;
	char *msg; /* header + body for one transaction */
	char error[200];
};

static bool lmtpload_fail(struct lmtpload_client *cl, const char *what, const char *reply,
                          size_t len)
{
	if (cl->error[0] == '\0') {
		while (len > 0 && (reply[len - 1] == '\n' || reply[len - 1] == '\r'))
			len--;
		snprintf(cl->error, sizeof(cl->error), "%s%s%.*s", what, len > 0 ? ": " : "",
		         (int)(len > 120 ? 120 : len), reply);
	}
	return false;
}

/* Read one (possibly multi-line) reply; true when its code starts with
 * the digit want. */
static bool lmtpload_reply(struct lmtpload_client *cl, struct bench_conn *c, char want,
                           const char *what)
{
	for (;;) {
		const char *line;
		bool complete;
		size_t len = bench_conn_read_line(c, &line, &complete);
		if (len == 0)
			return lmtpload_fail(cl, what, "connection closed or timed out", 30);
		if (len < 4 || !complete)
			return lmtpload_fail(cl, what, line, len);
		if (line[3] == '-')
			continue;
		return line[0] == want || lmtpload_fail(cl, what, line, len);
	}
}

/* A body of about size bytes of 72-column text in which every eighth
 * line starts with '.', already dot-stuffed and terminated. */
static void lmtpload_make_body(struct lmtpload_shared *sh, uint32_t size)
{
	static const char words[] =
	    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
	    "eiusmod tempor incididunt ut labore et dolore magna aliqua ";
	size_t cap = (size_t)size + size / 8 + 16;
	char *b = xmalloc(cap);
	size_t len = 0;
	/* The header (lmtpload_build) takes about 250 bytes of the size. */
	size_t want = size > 330 ? size - 250 : 80;
	for (unsigned line = 0; len + 80 <= want; line++) {
		if (line % 8 == 7) {
			/* ".xyz" goes on the wire as "..xyz" */
			b[len++] = '.';
			b[len++] = '.';
		}
		size_t off = (line * 7) % (sizeof(words) - 72);
		memcpy(b + len, words + off, 70);
		len += 70;
		b[len++] = '\r';
		b[len++] = '\n';
	}
	memcpy(b + len, ".\r\n", 3);
	sh->body = b;
	sh->body_len = len + 3;
}

static size_t lmtpload_build(struct lmtpload_client *cl, const char *rcpt, uint64_t seq)
{
	int n =
	    snprintf(cl->msg, LMTPLOAD_HEADER_MAX,
	             "From: Bench Sender <sender@bench.example>\r\n"
	             "To: <%s>\r\n"
	             "Subject: benchmark message %u.%llu\r\n"
	             "Message-ID: <%llu.%u.lmtpload@bench.example>\r\n"
	             "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	             "\r\n",
	             rcpt, cl->index, (unsigned long long)seq, (unsigned long long)seq, cl->index);
	memcpy(cl->msg + n, cl->sh->body, cl->sh->body_len);
	return (size_t)n + cl->sh->body_len;
}

static bool lmtpload_deliver(struct lmtpload_client *cl, struct bench_conn *c, uint64_t seq)
{
	const struct lmtpload_opts *o = cl->sh->o;
	char user[128], rcpt[256], cmds[512];
	uint32_t pick = (uint32_t)(bench_rand_next(&cl->rng) % o->nusers);
	bench_user_name(user, sizeof(user), o->user, o->nusers, pick);
	snprintf(rcpt, sizeof(rcpt), "%s%s%s", user, o->domain ? "@" : "",
	         o->domain ? o->domain : "");
	int n = snprintf(cmds, sizeof(cmds),
	                 "MAIL FROM:<sender@bench.example>\r\nRCPT TO:<%s>\r\nDATA\r\n", rcpt);
	size_t len = lmtpload_build(cl, rcpt, seq);
	uint64_t t0 = bench_now_ns();
	if (!bench_conn_write(c, cmds, (size_t)n))
		return lmtpload_fail(cl, "MAIL", "write failed", 12);
	if (!lmtpload_reply(cl, c, '2', "MAIL") || !lmtpload_reply(cl, c, '2', "RCPT") ||
	    !lmtpload_reply(cl, c, '3', "DATA"))
		return false;
	if (!bench_conn_write(c, cl->msg, len))
		return lmtpload_fail(cl, "message", "write failed", 12);
	if (!lmtpload_reply(cl, c, '2', "final reply"))
		return false;
	bench_samples_add(&cl->lat, bench_now_ns() - t0);
	return true;
}

static struct bench_conn *lmtpload_connect(struct lmtpload_client *cl)
{
	const struct lmtpload_opts *o = cl->sh->o;
	const char *err = "";
	struct bench_conn *c = bench_conn_open(o->host, o->port, false, o->timeout_ms, &err);
	if (c == NULL) {
		lmtpload_fail(cl, "connect", err, strlen(err));
		return NULL;
	}
	if (!lmtpload_reply(cl, c, '2', "greeting") ||
	    !bench_conn_write_str(c, "LHLO bench.example\r\n") ||
	    !lmtpload_reply(cl, c, '2', "LHLO"))
		bench_conn_free(&c);
	return c;
}

static void *lmtpload_thread(void *arg)
{
	struct lmtpload_client *cl = arg;
	struct lmtpload_shared *sh = cl->sh;
	struct bench_conn *c = NULL;
	for (;;) {
		uint64_t ticket = atomic_fetch_add(&sh->next, 1);
		if (sh->o->deliveries != 0 && ticket >= sh->o->deliveries)
			break;
		if (sh->deadline_ns != 0 && bench_now_ns() >= sh->deadline_ns)
			break;
		if (c == NULL)
			c = lmtpload_connect(cl);
		if (c != NULL && lmtpload_deliver(cl, c, ticket)) {
			cl->ok++;
			continue;
		}
		cl->failed++;
		bench_conn_free(&c); /* state unknown: start over */
	}
	if (c != NULL && bench_conn_write_str(c, "QUIT\r\n"))
		lmtpload_reply(cl, c, '2', "QUIT");
	bench_conn_free(&c);
	return NULL;
}

static void lmtpload_usage(void)
{
	fprintf(stderr, "usage: lmtpload -p PORT -u PREFIX -U NUSERS [-c CLIENTS]\n"
	                "                (-n DELIVERIES | -d MILLISECONDS) [-s SIZE] [-S SEED]\n"
	                "                [-D DOMAIN] [-H ADDRESS] [-t TIMEOUT_S]\n");
	exit(2);
}

static void lmtpload_parse(int argc, char **argv, struct lmtpload_opts *o)
{
	*o = (struct lmtpload_opts){
	    .host = "127.0.0.1", .clients = 1, .size = 4096, .seed = 1, .timeout_ms = 30000};
	int ch;
	while ((ch = getopt(argc, argv, "H:p:u:U:D:c:n:d:s:S:t:")) != -1) {
		switch (ch) {
		case 'H':
			o->host = optarg;
			break;
		case 'p':
			o->port = bench_opt_port('p', optarg);
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'U':
			o->nusers = bench_opt_u32('U', optarg, 1000000);
			break;
		case 'D':
			o->domain = optarg;
			break;
		case 'c':
			o->clients = bench_opt_u32('c', optarg, 1024);
			break;
		case 'n':
			o->deliveries = bench_opt_u32('n', optarg, UINT32_MAX);
			break;
		case 'd':
			o->duration_ms = bench_opt_u32('d', optarg, 86400000);
			break;
		case 's':
			o->size = bench_opt_u32('s', optarg, 64u << 20);
			break;
		case 'S':
			o->seed = bench_opt_u32('S', optarg, UINT32_MAX);
			break;
		case 't':
			o->timeout_ms = (int)bench_opt_u32('t', optarg, 3600) * 1000;
			break;
		default:
			lmtpload_usage();
		}
	}
	if (optind != argc || o->port == 0 || o->user == NULL || o->nusers == 0 ||
	    o->clients == 0 || (o->deliveries == 0 && o->duration_ms == 0))
		lmtpload_usage();
}

static void lmtpload_report(struct lmtpload_client *cls, uint32_t n, uint64_t elapsed_ns)
{
	struct bench_samples lat = {0};
	uint64_t ok = 0, failed = 0;
	const char *error = "";
	for (uint32_t i = 0; i < n; i++) {
		ok += cls[i].ok;
		failed += cls[i].failed;
		bench_samples_merge(&lat, &cls[i].lat);
		if (error[0] == '\0')
			error = cls[i].error;
	}
	bench_samples_sort(&lat);
	double secs = (double)elapsed_ns / 1e9;
	printf("lmtpload clients=%u deliveries=%llu failed=%llu elapsed_s=%.3f "
	       "deliveries_per_s=%.2f",
	       n, (unsigned long long)ok, (unsigned long long)failed, secs, (double)ok / secs);
	bench_print_latency("", &lat);
	printf("\n");
	if (error[0] != '\0')
		fprintf(stderr, "lmtpload: first failure: %s\n", error);
	bench_samples_free(&lat);
}

int main(int argc, char **argv)
{
	struct lmtpload_opts o;
	lmtpload_parse(argc, argv, &o);
	bench_process_setup();
	struct lmtpload_shared sh = {.o = &o};
	lmtpload_make_body(&sh, o.size);
	struct lmtpload_client *cls = xcalloc(o.clients, sizeof(*cls));
	uint64_t start = bench_now_ns();
	if (o.duration_ms != 0)
		sh.deadline_ns = start + (uint64_t)o.duration_ms * 1000000u;
	for (uint32_t i = 0; i < o.clients; i++) {
		cls[i].index = i;
		cls[i].sh = &sh;
		cls[i].rng = ((uint64_t)o.seed << 20) ^ (0x9E3779B97F4A7C15ull * (i + 1));
		cls[i].msg = xmalloc(LMTPLOAD_HEADER_MAX + sh.body_len);
		if (pthread_create(&cls[i].tid, NULL, lmtpload_thread, &cls[i]) != 0) {
			fprintf(stderr, "lmtpload: cannot start thread %u\n", i);
			return 1;
		}
	}
	int failed = 0;
	for (uint32_t i = 0; i < o.clients; i++)
		pthread_join(cls[i].tid, NULL);
	lmtpload_report(cls, o.clients, bench_now_ns() - start);
	for (uint32_t i = 0; i < o.clients; i++) {
		failed |= cls[i].failed != 0;
		bench_samples_free(&cls[i].lat);
		free(cls[i].msg);
	}
	free(cls);
	free(sh.body);
	return failed;
}
