/*
 * pop3load.c - POP3 session load generator.
 *
 *     pop3load -p PORT -u USER [-U NUSERS] -w PASSWORD [-c CLIENTS]
 *              (-n SESSIONS | -d MILLISECONDS) [-s STEPS] [-e MESSAGES]
 *              [-H ADDRESS] [-T] [-t TIMEOUT_S]
 *
 * CLIENTS threads each run complete sessions back to back until SESSIONS
 * sessions have started or the duration has passed: connect, greeting, USER,
 * PASS, then the STEPS (comma-separated: stat, uidl, list, retr; default
 * stat,uidl,retr), then QUIT. "retr" retrieves every message STAT counted
 * and checks that the un-stuffed octets add up to STAT's total (RFC 1939
 * section 5: sizes are exact), so a server that answers fast but wrong is
 * counted as failed. Client i always logs in as user (i mod NUSERS), so
 * with NUSERS >= CLIENTS no two sessions share a mailbox (servers that
 * lock a maildrop for the session would answer [IN-USE]).
 *
 * Output: one line of key=value pairs: sessions/s, retrieved bytes and
 * MB/s (10^6 bytes), latency percentiles of whole sessions (connect to
 * QUIT reply) and of the work before QUIT ("work_", e.g. login+STAT).
 * Exit status 1 when any session failed; the first failure goes to stderr.
 */
#include "bench_conn.h"
#include "bench_util.h"

#include "lib/mem.h"
#include "lib/strnum.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pop3load_step {
	POP3LOAD_STAT = 1,
	POP3LOAD_UIDL = 2,
	POP3LOAD_LIST = 4,
	POP3LOAD_RETR = 8,
};

struct pop3load_opts {
	const char *host;
	uint16_t port;
	bool tls;
	const char *user;
	uint32_t nusers;
	const char *password;
	uint32_t clients, sessions, duration_ms, expect;
	unsigned steps;
	int timeout_ms;
};

struct pop3load_shared {
	const struct pop3load_opts *o;
	atomic_uint_fast64_t next; /* session tickets handed out */
	uint64_t deadline_ns;      /* 0: none */
};

struct pop3load_client {
	pthread_t tid;
	uint32_t index;
	struct pop3load_shared *sh;
	struct bench_samples total, work;
	uint64_t ok, failed, msgs, bytes;
	char error[200]; /* the first failure */
};

/* Remember the first failure with the server's reply, if any. */
static bool pop3load_fail(struct pop3load_client *cl, const char *what, const char *reply,
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

/* Send one command (CRLF added) and read its status line. */
static bool pop3load_cmd(struct pop3load_client *cl, struct bench_conn *c, const char *cmd,
                         const char *what, const char **line_r, size_t *len_r)
{
	char out[512];
	int n = snprintf(out, sizeof(out), "%s\r\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(out) || !bench_conn_write(c, out, (size_t)n))
		return pop3load_fail(cl, what, "write failed", 12);
	bool complete;
	*len_r = bench_conn_read_line(c, line_r, &complete);
	if (*len_r == 0)
		return pop3load_fail(cl, what, "connection closed or timed out", 30);
	if (*len_r < 3 || memcmp(*line_r, "+OK", 3) != 0)
		return pop3load_fail(cl, what, *line_r, *len_r);
	return true;
}

/* "+OK count octets" (RFC 1939 section 5, STAT). */
static bool pop3load_parse_stat(const char *line, size_t len, uint32_t *count, uint64_t *size)
{
	const char *p = line + 3, *end = line + len;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (p >= end || *p != ' ')
		return false;
	const char *num1 = ++p;
	while (p < end && *p != ' ')
		p++;
	if (!strnum_u32(num1, (size_t)(p - num1), UINT32_MAX, count) || p >= end)
		return false;
	const char *num2 = ++p;
	while (p < end && *p != ' ')
		p++;
	return strnum_u64(num2, (size_t)(p - num2), UINT64_MAX, size);
}

static bool pop3load_login(struct pop3load_client *cl, struct bench_conn *c)
{
	const struct pop3load_opts *o = cl->sh->o;
	const char *line;
	size_t len;
	bool complete;
	len = bench_conn_read_line(c, &line, &complete);
	if (len < 3 || memcmp(line, "+OK", 3) != 0)
		return pop3load_fail(cl, "greeting", line, len);
	char user[128], cmd[400];
	bench_user_name(user, sizeof(user), o->user, o->nusers,
	                cl->index % (o->nusers ? o->nusers : 1));
	snprintf(cmd, sizeof(cmd), "USER %s", user);
	if (!pop3load_cmd(cl, c, cmd, "USER", &line, &len))
		return false;
	snprintf(cmd, sizeof(cmd), "PASS %s", o->password);
	return pop3load_cmd(cl, c, cmd, "PASS", &line, &len);
}

/* A multi-line command (UIDL, LIST) that must list count lines. */
static bool pop3load_listing(struct pop3load_client *cl, struct bench_conn *c, const char *cmd,
                             uint32_t count)
{
	const char *line;
	size_t len;
	uint64_t bytes, lines;
	if (!pop3load_cmd(cl, c, cmd, cmd, &line, &len))
		return false;
	if (!bench_conn_read_multiline(c, &bytes, &lines))
		return pop3load_fail(cl, cmd, "listing cut short", 17);
	if (lines != count)
		return pop3load_fail(cl, cmd, "listing does not match STAT", 27);
	return true;
}

static bool pop3load_retr_all(struct pop3load_client *cl, struct bench_conn *c, uint32_t count,
                              uint64_t size)
{
	uint64_t sum = 0;
	for (uint32_t i = 1; i <= count; i++) {
		char cmd[32];
		const char *line;
		size_t len;
		uint64_t bytes, lines;
		snprintf(cmd, sizeof(cmd), "RETR %u", i);
		if (!pop3load_cmd(cl, c, cmd, "RETR", &line, &len))
			return false;
		if (!bench_conn_read_multiline(c, &bytes, &lines))
			return pop3load_fail(cl, "RETR", "message cut short", 17);
		sum += bytes;
	}
	if (sum != size)
		return pop3load_fail(cl, "RETR", "octets differ from STAT", 23);
	cl->msgs += count;
	cl->bytes += sum;
	return true;
}

static bool pop3load_steps(struct pop3load_client *cl, struct bench_conn *c)
{
	const struct pop3load_opts *o = cl->sh->o;
	const char *line;
	size_t len;
	uint32_t count = 0;
	uint64_t size = 0;
	if (!pop3load_cmd(cl, c, "STAT", "STAT", &line, &len))
		return false;
	if (!pop3load_parse_stat(line, len, &count, &size))
		return pop3load_fail(cl, "STAT reply", line, len);
	if (o->expect != 0 && count != o->expect)
		return pop3load_fail(cl, "STAT count differs from -e", line, len);
	if ((o->steps & POP3LOAD_UIDL) && !pop3load_listing(cl, c, "UIDL", count))
		return false;
	if ((o->steps & POP3LOAD_LIST) && !pop3load_listing(cl, c, "LIST", count))
		return false;
	return !(o->steps & POP3LOAD_RETR) || pop3load_retr_all(cl, c, count, size);
}

static bool pop3load_session(struct pop3load_client *cl)
{
	const struct pop3load_opts *o = cl->sh->o;
	uint64_t t0 = bench_now_ns();
	const char *err = "";
	struct bench_conn *c = bench_conn_open(o->host, o->port, o->tls, o->timeout_ms, &err);
	if (c == NULL)
		return pop3load_fail(cl, "connect", err, strlen(err));
	bool ok = pop3load_login(cl, c) && pop3load_steps(cl, c);
	uint64_t t1 = bench_now_ns();
	const char *line;
	size_t len;
	ok = ok && pop3load_cmd(cl, c, "QUIT", "QUIT", &line, &len);
	bench_conn_free(&c);
	if (ok) {
		bench_samples_add(&cl->work, t1 - t0);
		bench_samples_add(&cl->total, bench_now_ns() - t0);
	}
	return ok;
}

static void *pop3load_thread(void *arg)
{
	struct pop3load_client *cl = arg;
	struct pop3load_shared *sh = cl->sh;
	for (;;) {
		uint64_t ticket = atomic_fetch_add(&sh->next, 1);
		if (sh->o->sessions != 0 && ticket >= sh->o->sessions)
			break;
		if (sh->deadline_ns != 0 && bench_now_ns() >= sh->deadline_ns)
			break;
		if (pop3load_session(cl))
			cl->ok++;
		else
			cl->failed++;
	}
	return NULL;
}

static unsigned pop3load_parse_steps(const char *arg)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"stat", POP3LOAD_STAT},
	             {"uidl", POP3LOAD_UIDL},
	             {"list", POP3LOAD_LIST},
	             {"retr", POP3LOAD_RETR}};
	unsigned steps = POP3LOAD_STAT;
	for (const char *p = arg; *p != '\0';) {
		size_t len = strcspn(p, ",");
		size_t i = 0;
		while (i < sizeof(names) / sizeof(names[0]) &&
		       (strlen(names[i].name) != len || memcmp(names[i].name, p, len) != 0))
			i++;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "pop3load: unknown step in -s %s\n", arg);
			exit(2);
		}
		steps |= names[i].bit;
		p += len + (p[len] == ',');
	}
	return steps;
}

static void pop3load_usage(void)
{
	fprintf(stderr, "usage: pop3load -p PORT -u USER [-U NUSERS] -w PASSWORD [-c CLIENTS]\n"
	                "                (-n SESSIONS | -d MILLISECONDS) [-s stat,uidl,list,retr]\n"
	                "                [-e MESSAGES] [-H ADDRESS] [-T] [-t TIMEOUT_S]\n");
	exit(2);
}

static void pop3load_parse(int argc, char **argv, struct pop3load_opts *o)
{
	*o = (struct pop3load_opts){.host = "127.0.0.1", .clients = 1, .timeout_ms = 30000};
	o->steps = pop3load_parse_steps("stat,uidl,retr");
	int ch;
	while ((ch = getopt(argc, argv, "H:p:Tu:U:w:c:n:d:s:e:t:")) != -1) {
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
		case 'u':
			o->user = optarg;
			break;
		case 'U':
			o->nusers = bench_opt_u32('U', optarg, 1000000);
			break;
		case 'w':
			o->password = optarg;
			break;
		case 'c':
			o->clients = bench_opt_u32('c', optarg, 1024);
			break;
		case 'n':
			o->sessions = bench_opt_u32('n', optarg, UINT32_MAX);
			break;
		case 'd':
			o->duration_ms = bench_opt_u32('d', optarg, 86400000);
			break;
		case 's':
			o->steps = pop3load_parse_steps(optarg);
			break;
		case 'e':
			o->expect = bench_opt_u32('e', optarg, UINT32_MAX);
			break;
		case 't':
			o->timeout_ms = (int)bench_opt_u32('t', optarg, 3600) * 1000;
			break;
		default:
			pop3load_usage();
		}
	}
	if (optind != argc || o->port == 0 || o->user == NULL || o->password == NULL ||
	    o->clients == 0 || (o->sessions == 0 && o->duration_ms == 0))
		pop3load_usage();
}

/* Add up the clients' counters and samples and print the result line. */
static void pop3load_report(struct pop3load_client *cls, uint32_t n, uint64_t elapsed_ns)
{
	struct pop3load_client sum = {0};
	const char *error = "";
	for (uint32_t i = 0; i < n; i++) {
		sum.ok += cls[i].ok;
		sum.failed += cls[i].failed;
		sum.msgs += cls[i].msgs;
		sum.bytes += cls[i].bytes;
		bench_samples_merge(&sum.total, &cls[i].total);
		bench_samples_merge(&sum.work, &cls[i].work);
		if (error[0] == '\0')
			error = cls[i].error;
	}
	bench_samples_sort(&sum.total);
	bench_samples_sort(&sum.work);
	double secs = (double)elapsed_ns / 1e9;
	printf("pop3load clients=%u sessions=%llu failed=%llu elapsed_s=%.3f sessions_per_s=%.2f "
	       "msgs=%llu bytes=%llu mb_per_s=%.2f",
	       n, (unsigned long long)sum.ok, (unsigned long long)sum.failed, secs,
	       (double)sum.ok / secs, (unsigned long long)sum.msgs, (unsigned long long)sum.bytes,
	       (double)sum.bytes / 1e6 / secs);
	bench_print_latency("", &sum.total);
	bench_print_latency("work_", &sum.work);
	printf("\n");
	if (error[0] != '\0')
		fprintf(stderr, "pop3load: first failure: %s\n", error);
	bench_samples_free(&sum.total);
	bench_samples_free(&sum.work);
}

int main(int argc, char **argv)
{
	struct pop3load_opts o;
	pop3load_parse(argc, argv, &o);
	bench_process_setup();
	if (o.tls)
		bench_conn_tls_init();
	struct pop3load_shared sh = {.o = &o};
	uint64_t start = bench_now_ns();
	if (o.duration_ms != 0)
		sh.deadline_ns = start + (uint64_t)o.duration_ms * 1000000u;
	struct pop3load_client *cls = xcalloc(o.clients, sizeof(*cls));
	for (uint32_t i = 0; i < o.clients; i++) {
		cls[i].index = i;
		cls[i].sh = &sh;
		if (pthread_create(&cls[i].tid, NULL, pop3load_thread, &cls[i]) != 0) {
			fprintf(stderr, "pop3load: cannot start thread %u\n", i);
			return 1;
		}
	}
	for (uint32_t i = 0; i < o.clients; i++)
		pthread_join(cls[i].tid, NULL);
	uint64_t elapsed = bench_now_ns() - start;
	pop3load_report(cls, o.clients, elapsed);
	int failed = 0;
	for (uint32_t i = 0; i < o.clients; i++) {
		failed |= cls[i].failed != 0;
		bench_samples_free(&cls[i].total);
		bench_samples_free(&cls[i].work);
	}
	free(cls);
	return failed;
}
