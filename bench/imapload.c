/*
 * imapload.c - IMAP load generator.
 *
 *     imapload -m MODE -p PORT -u USER [-U NUSERS] [-r] -w PASSWORD
 *              [-c CLIENTS] (-n COUNT | -d MILLISECONDS) [-M MAILBOX]
 *              [-b BODIES] [-e MESSAGES] [-s SIZE] [-x COMMAND]... [-L]
 *              [-S SEED] [-H ADDRESS] [-T] [-t TIMEOUT_S]
 *
 * CLIENTS threads work until COUNT sessions (or operations) have started
 * or the duration has passed. Client i logs in as user (i mod NUSERS), or
 * with -r session k as user (k mod NUSERS). Modes:
 *
 *   session  connect, LOGIN, SELECT, FETCH 1:* (FLAGS UID RFC822.SIZE),
 *            FETCH n BODY[] of BODIES random messages (each literal must
 *            be as long as the message's RFC822.SIZE), LOGOUT; one sample
 *            per session.
 *   store    one session per client; UID STORE +FLAGS or -FLAGS of \Seen,
 *            \Flagged or $Bench on a random message; one sample per STORE.
 *   append   one session per client; APPEND of SIZE-octet messages with a
 *            LITERAL+ literal when the server offers it (-L: always a
 *            synchronising literal); one sample per APPEND.
 *   script   connect, LOGIN, the -x COMMANDs in order, LOGOUT, per
 *            session; each command is timed on its own (c0_, c1_, ...).
 *   mixed    connect, LOGIN, SELECT, FETCH 1:* (UID FLAGS), UID FETCH of
 *            one body, UID STORE, UID STORE \Deleted + EXPUNGE of the
 *            oldest message (when more than -e remain), APPEND, LOGOUT.
 *
 * Every NO, BAD or unparsable reply counts as an error (the first few go
 * to stderr with their command); a session goes on after a NO or BAD and
 * starts over after a dropped connection. Output: one key=value line.
 * Exit status 1 when anything failed.
 */
#include "bench_conn.h"
#include "bench_imap.h"
#include "bench_util.h"

#include "lib/mem.h"

#include <getopt.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAPLOAD_MAX_SCRIPT 8
#define IMAPLOAD_ERRORS 4 /* kept per client */

enum imapload_mode { MODE_SESSION, MODE_STORE, MODE_APPEND, MODE_SCRIPT, MODE_MIXED };

struct imapload_opts {
	const char *host, *user, *password, *mailbox;
	uint16_t port;
	bool tls, rotate, sync_literals;
	enum imapload_mode mode;
	uint32_t nusers, clients, count, duration_ms, bodies, expect, size, seed;
	const char *script[IMAPLOAD_MAX_SCRIPT];
	uint32_t nscript;
	int timeout_ms;
};

struct imapload_shared {
	const struct imapload_opts *o;
	atomic_uint_fast64_t next;
	uint64_t deadline_ns;
	char *body; /* the message body for APPEND */
	size_t body_len;
};

struct imapload_client {
	pthread_t tid;
	uint32_t index;
	struct imapload_shared *sh;
	struct bench_imap *im;
	struct bench_samples lat;
	struct bench_samples cmd_lat[IMAPLOAD_MAX_SCRIPT];
	uint64_t cmd_fetches[IMAPLOAD_MAX_SCRIPT], cmd_hits[IMAPLOAD_MAX_SCRIPT];
	uint64_t sessions, ops, commands, failed, errors, literal_octets, rng;
	bool literal_plus, broken; /* broken: the connection is unusable */
	char *msg;
	char error[IMAPLOAD_ERRORS][240];
	uint32_t nerror;
};

/* ---- errors ---- */

/* Count a command that went wrong and keep its text and reply. */
static bool imapload_error(struct imapload_client *cl, const char *what, const char *reply)
{
	cl->errors++;
	if (cl->nerror < IMAPLOAD_ERRORS) {
		snprintf(cl->error[cl->nerror], sizeof(cl->error[0]), "%s -> %s", what, reply);
		cl->nerror++;
	}
	return false;
}

/* The reply of the last command: OK, or an error with its text. */
static bool imapload_check(struct imapload_client *cl, const struct bench_imap_reply *r)
{
	if (cl->broken)
		return false; /* counted once, when it broke */
	cl->commands += r->status == BENCH_IMAP_OK;
	if (r->status == BENCH_IMAP_OK)
		return true;
	cl->broken = r->status == BENCH_IMAP_CLOSED || r->status == BENCH_IMAP_PROTO;
	return imapload_error(cl, bench_imap_last_command(cl->im), r->line);
}

/* A command answered OK whose data is not what it should be. */
__attribute__((format(printf, 2, 3))) static bool imapload_wrong(struct imapload_client *cl,
                                                                 const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return imapload_error(cl, bench_imap_last_command(cl->im), what);
}

/* ---- session building blocks ---- */

static bool imapload_connect(struct imapload_client *cl, uint64_t ticket)
{
	const struct imapload_opts *o = cl->sh->o;
	char err[200], user[128];
	cl->im = bench_imap_open(o->host, o->port, o->tls, o->timeout_ms, err, sizeof(err));
	if (cl->im == NULL)
		return imapload_error(cl, "connect", err);
	cl->broken = false;
	cl->literal_plus = bench_imap_literal_plus(cl->im);
	uint64_t pick = o->rotate ? ticket : cl->index;
	bench_user_name(user, sizeof(user), o->user, o->nusers,
	                (uint32_t)(pick % (o->nusers ? o->nusers : 1)));
	struct bench_imap_reply r;
	bench_imap_login(cl->im, &r, user, o->password);
	if (imapload_check(cl, &r))
		return true;
	bench_imap_free(&cl->im);
	return false;
}

static bool imapload_logout(struct imapload_client *cl)
{
	if (cl->broken) {
		bench_imap_free(&cl->im);
		return false;
	}
	struct bench_imap_reply r;
	bench_imap_cmd(cl->im, &r, "LOGOUT");
	bool ok = imapload_check(cl, &r) && (r.bye || imapload_wrong(cl, "no BYE"));
	bench_imap_free(&cl->im);
	return ok;
}

/* SELECT the mailbox; the message count in *exists_r. */
static bool imapload_select(struct imapload_client *cl, uint32_t *exists_r)
{
	const struct imapload_opts *o = cl->sh->o;
	struct bench_imap_reply r;
	bench_imap_cmd(cl->im, &r, "SELECT %s", o->mailbox);
	if (!imapload_check(cl, &r))
		return false;
	if (r.exists == BENCH_IMAP_NONE)
		return imapload_wrong(cl, "no EXISTS");
	if (o->mode == MODE_SESSION && o->expect != 0 && r.exists != o->expect)
		return imapload_wrong(cl, "EXISTS %u, expected %u", r.exists, o->expect);
	*exists_r = r.exists;
	return true;
}

/* FETCH 1:* with items that include UID: every message must answer. */
static bool imapload_fetch_all(struct imapload_client *cl, const char *items, uint32_t exists)
{
	struct bench_imap_reply r;
	bench_imap_msgs_reset(cl->im);
	if (exists == 0)
		return true; /* "1:*" would name no message */
	bench_imap_cmd(cl->im, &r, "FETCH 1:* (%s)", items);
	if (!imapload_check(cl, &r))
		return false;
	uint32_t n;
	const struct bench_imap_msg *m = bench_imap_msgs(cl->im, &n);
	if (r.fetches != exists || n != exists)
		return imapload_wrong(cl, "%u FETCH responses for %u messages", r.fetches, exists);
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].uid == 0)
			return imapload_wrong(cl, "no UID for message %u of %u", i + 1, n);
	}
	return true;
}

/* FETCH seq BODY[]: the literal must have the message's RFC822.SIZE. */
static bool imapload_fetch_body(struct imapload_client *cl, uint32_t seq)
{
	uint32_t n;
	const struct bench_imap_msg *m = bench_imap_msgs(cl->im, &n);
	uint64_t want = seq <= n ? m[seq - 1].size : 0;
	struct bench_imap_reply r;
	bench_imap_cmd(cl->im, &r, "FETCH %u BODY[]", seq);
	if (!imapload_check(cl, &r))
		return false;
	if (r.body_len != want)
		return imapload_wrong(cl, "BODY[] of %llu octets, RFC822.SIZE %llu",
		                      (unsigned long long)r.body_len, (unsigned long long)want);
	cl->literal_octets += r.literal_octets;
	return true;
}

/* A message of about size octets: a unique header and the shared body. */
static size_t imapload_message(struct imapload_client *cl, uint64_t seq)
{
	int n = snprintf(cl->msg, 1024,
	                 "From: Bench Sender <sender@bench.example>\r\n"
	                 "To: <imap@bench.example>\r\n"
	                 "Subject: appended message %u.%llu\r\n"
	                 "Message-ID: <%llu.%u.imapload@bench.example>\r\n"
	                 "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	                 "\r\n",
	                 cl->index, (unsigned long long)seq, (unsigned long long)seq, cl->index);
	memcpy(cl->msg + n, cl->sh->body, cl->sh->body_len);
	return (size_t)n + cl->sh->body_len;
}

static bool imapload_append(struct imapload_client *cl, uint64_t seq)
{
	const struct imapload_opts *o = cl->sh->o;
	size_t len = imapload_message(cl, seq);
	struct bench_imap_reply r;
	bench_imap_append(cl->im, &r, o->mailbox, "", cl->msg, len, !o->sync_literals);
	return imapload_check(cl, &r);
}

static uint32_t imapload_random(struct imapload_client *cl, uint32_t n)
{
	return (uint32_t)(bench_rand_next(&cl->rng) % n);
}

/* UID STORE of a random flag, added or removed, on a random message. */
static bool imapload_store(struct imapload_client *cl)
{
	static const char *const flags[] = {"\\Seen", "\\Flagged", "$Bench"};
	uint32_t n;
	const struct bench_imap_msg *m = bench_imap_msgs(cl->im, &n);
	if (n == 0)
		return imapload_wrong(cl, "STORE: empty mailbox");
	uint32_t pick = imapload_random(cl, n), flag = imapload_random(cl, 3);
	struct bench_imap_reply r;
	bench_imap_cmd(cl->im, &r, "UID STORE %u %cFLAGS (%s)", m[pick].uid,
	               imapload_random(cl, 2) ? '+' : '-', flags[flag]);
	return imapload_check(cl, &r);
}

/* ---- the modes: one unit of work each ---- */

static bool imapload_session(struct imapload_client *cl, uint64_t ticket)
{
	uint32_t exists = 0;
	if (!imapload_connect(cl, ticket))
		return false;
	bool ok =
	    imapload_select(cl, &exists) && imapload_fetch_all(cl, "FLAGS UID RFC822.SIZE", exists);
	for (uint32_t i = 0; ok && exists > 0 && i < cl->sh->o->bodies; i++)
		ok = imapload_fetch_body(cl, imapload_random(cl, exists) + 1);
	return imapload_logout(cl) && ok;
}

/* store and append keep one session per client across operations. */
static bool imapload_keep_session(struct imapload_client *cl, uint64_t ticket)
{
	if (cl->im != NULL)
		return true;
	uint32_t exists = 0;
	if (!imapload_connect(cl, ticket))
		return false;
	if (cl->sh->o->mode == MODE_APPEND)
		return true;
	if (imapload_select(cl, &exists) && imapload_fetch_all(cl, "UID", exists))
		return true;
	bench_imap_free(&cl->im);
	return false;
}

static bool imapload_script(struct imapload_client *cl, uint64_t ticket)
{
	const struct imapload_opts *o = cl->sh->o;
	if (!imapload_connect(cl, ticket))
		return false;
	bool ok = true;
	uint32_t exists = BENCH_IMAP_NONE;
	for (uint32_t i = 0; i < o->nscript; i++) {
		struct bench_imap_reply r;
		uint64_t t0 = bench_now_ns();
		bench_imap_cmd(cl->im, &r, "%s", o->script[i]);
		uint64_t t1 = bench_now_ns();
		if (!imapload_check(cl, &r)) {
			ok = false;
			if (cl->broken)
				break;
			continue;
		}
		if (r.exists != BENCH_IMAP_NONE)
			exists = r.exists;
		if (strncmp(o->script[i], "FETCH 1:* ", 10) == 0 && exists != BENCH_IMAP_NONE &&
		    r.fetches != exists)
			ok = imapload_wrong(cl, "%u FETCH responses for %u messages", r.fetches,
			                    exists);
		bench_samples_add(&cl->cmd_lat[i], t1 - t0);
		cl->cmd_fetches[i] = r.fetches;
		cl->cmd_hits[i] = r.search_hits;
		cl->literal_octets += r.literal_octets;
	}
	return imapload_logout(cl) && ok;
}

/* The oldest message gets \Deleted, then EXPUNGE must remove it. */
static bool imapload_expunge_oldest(struct imapload_client *cl)
{
	uint32_t n;
	const struct bench_imap_msg *m = bench_imap_msgs(cl->im, &n);
	struct bench_imap_reply r;
	bench_imap_cmd(cl->im, &r, "UID STORE %u +FLAGS.SILENT (\\Deleted)", m[0].uid);
	if (!imapload_check(cl, &r))
		return false;
	bench_imap_cmd(cl->im, &r, "EXPUNGE");
	if (!imapload_check(cl, &r))
		return false;
	return r.expunges == 1 ||
	       imapload_wrong(cl, "%u EXPUNGE responses, expected 1", r.expunges);
}

static bool imapload_mixed(struct imapload_client *cl, uint64_t ticket)
{
	uint32_t exists = 0;
	if (!imapload_connect(cl, ticket))
		return false;
	bool ok = imapload_select(cl, &exists) && imapload_fetch_all(cl, "UID FLAGS", exists);
	if (ok && exists > 0) {
		uint32_t n;
		const struct bench_imap_msg *m = bench_imap_msgs(cl->im, &n);
		struct bench_imap_reply r;
		bench_imap_cmd(cl->im, &r, "UID FETCH %u (BODY.PEEK[])",
		               m[imapload_random(cl, n)].uid);
		ok = imapload_check(cl, &r) &&
		     (r.body_len != UINT64_MAX || imapload_wrong(cl, "no BODY[] literal"));
		ok = imapload_store(cl) && ok;
		if (exists > cl->sh->o->expect)
			ok = imapload_expunge_oldest(cl) && ok;
	}
	ok = imapload_append(cl, ticket) && ok;
	return imapload_logout(cl) && ok;
}

/* One unit of work of the client's mode; true when it all went well. */
static bool imapload_unit(struct imapload_client *cl, uint64_t ticket)
{
	switch (cl->sh->o->mode) {
	case MODE_SESSION:
		return imapload_session(cl, ticket);
	case MODE_SCRIPT:
		return imapload_script(cl, ticket);
	case MODE_MIXED:
		return imapload_mixed(cl, ticket);
	case MODE_STORE:
		return imapload_keep_session(cl, ticket) && imapload_store(cl);
	case MODE_APPEND:
		return imapload_keep_session(cl, ticket) && imapload_append(cl, ticket);
	}
	return false;
}

static void *imapload_thread(void *arg)
{
	struct imapload_client *cl = arg;
	struct imapload_shared *sh = cl->sh;
	for (;;) {
		uint64_t ticket = atomic_fetch_add(&sh->next, 1);
		if (sh->o->count != 0 && ticket >= sh->o->count)
			break;
		if (sh->deadline_ns != 0 && bench_now_ns() >= sh->deadline_ns)
			break;
		uint64_t t0 = bench_now_ns();
		if (imapload_unit(cl, ticket)) {
			bench_samples_add(&cl->lat, bench_now_ns() - t0);
			cl->ops++;
		} else {
			cl->failed++;
			if (cl->broken)
				bench_imap_free(&cl->im); /* start over */
		}
	}
	if (cl->im != NULL)
		imapload_logout(cl);
	return NULL;
}

/* ---- options, set-up and report ---- */

static void imapload_usage(void)
{
	fprintf(stderr,
	        "usage: imapload -m session|store|append|script|mixed -p PORT -u USER [-U NUSERS]\n"
	        "                [-r] -w PASSWORD [-c CLIENTS] (-n COUNT | -d MILLISECONDS)\n"
	        "                [-M MAILBOX] [-b BODIES] [-e MESSAGES] [-s SIZE] [-x COMMAND]...\n"
	        "                [-L] [-S SEED] [-H ADDRESS] [-T] [-t TIMEOUT_S]\n");
	exit(2);
}

static enum imapload_mode imapload_parse_mode(const char *arg)
{
	static const char *const names[] = {"session", "store", "append", "script", "mixed"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(arg, names[i]) == 0)
			return (enum imapload_mode)i;
	}
	imapload_usage();
	return MODE_SESSION;
}

static void imapload_parse_opt(struct imapload_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'm':
		o->mode = imapload_parse_mode(arg);
		break;
	case 'H':
		o->host = arg;
		break;
	case 'p':
		o->port = bench_opt_port('p', arg);
		break;
	case 'T':
		o->tls = true;
		break;
	case 'u':
		o->user = arg;
		break;
	case 'U':
		o->nusers = bench_opt_u32('U', arg, 1000000);
		break;
	case 'r':
		o->rotate = true;
		break;
	case 'w':
		o->password = arg;
		break;
	case 'c':
		o->clients = bench_opt_u32('c', arg, 1024);
		break;
	case 'n':
		o->count = bench_opt_u32('n', arg, UINT32_MAX);
		break;
	case 'd':
		o->duration_ms = bench_opt_u32('d', arg, 86400000);
		break;
	case 'M':
		o->mailbox = arg;
		break;
	case 'b':
		o->bodies = bench_opt_u32('b', arg, 1000);
		break;
	case 'e':
		o->expect = bench_opt_u32('e', arg, UINT32_MAX);
		break;
	case 's':
		o->size = bench_opt_u32('s', arg, 64u << 20);
		break;
	case 'L':
		o->sync_literals = true;
		break;
	case 'S':
		o->seed = bench_opt_u32('S', arg, UINT32_MAX);
		break;
	case 't':
		o->timeout_ms = (int)bench_opt_u32('t', arg, 3600) * 1000;
		break;
	case 'x':
		if (o->nscript == IMAPLOAD_MAX_SCRIPT)
			imapload_usage();
		o->script[o->nscript++] = arg;
		break;
	default:
		imapload_usage();
	}
}

static void imapload_parse(int argc, char **argv, struct imapload_opts *o)
{
	*o = (struct imapload_opts){.host = "127.0.0.1",
	                            .mailbox = "INBOX",
	                            .clients = 1,
	                            .bodies = 3,
	                            .size = 4096,
	                            .seed = 1,
	                            .timeout_ms = 30000};
	int ch;
	while ((ch = getopt(argc, argv, "m:H:p:Tu:U:rw:c:n:d:M:b:e:s:LS:t:x:")) != -1)
		imapload_parse_opt(o, ch, optarg);
	if (optind != argc || o->port == 0 || o->user == NULL || o->password == NULL ||
	    o->clients == 0 || (o->count == 0 && o->duration_ms == 0) ||
	    (o->mode == MODE_SCRIPT && o->nscript == 0))
		imapload_usage();
}

/* 72-column text lines with CRLF, about size octets less the header. */
static void imapload_make_body(struct imapload_shared *sh, uint32_t size)
{
	static const char words[] =
	    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
	    "eiusmod tempor incididunt ut labore et dolore magna aliqua ";
	size_t want = size > 330 ? size - 250 : 80;
	char *b = xmalloc(want + 80);
	size_t len = 0;
	for (unsigned line = 0; len + 72 <= want; line++) {
		size_t off = (line * 7) % (sizeof(words) - 72);
		memcpy(b + len, words + off, 70);
		len += 70;
		b[len++] = '\r';
		b[len++] = '\n';
	}
	sh->body = b;
	sh->body_len = len;
}

static void imapload_print_script(const struct imapload_opts *o, struct imapload_client *cls)
{
	for (uint32_t i = 0; i < o->nscript; i++) {
		struct bench_samples s = {0};
		uint64_t fetches = 0, hits = 0;
		for (uint32_t j = 0; j < o->clients; j++) {
			bench_samples_merge(&s, &cls[j].cmd_lat[i]);
			fetches = cls[j].cmd_fetches[i] ? cls[j].cmd_fetches[i] : fetches;
			hits = cls[j].cmd_hits[i] ? cls[j].cmd_hits[i] : hits;
		}
		bench_samples_sort(&s);
		printf(
		    " c%u_n=%zu c%u_p50_ms=%.3f c%u_min_ms=%.3f c%u_max_ms=%.3f c%u_fetches=%llu "
		    "c%u_hits=%llu",
		    i, s.n, i, bench_samples_pct_ms(&s, 50), i, s.n ? (double)s.v[0] / 1e6 : 0, i,
		    bench_samples_pct_ms(&s, 100), i, (unsigned long long)fetches, i,
		    (unsigned long long)hits);
		bench_samples_free(&s);
	}
}

static void imapload_report(const struct imapload_opts *o, struct imapload_client *cls,
                            uint64_t elapsed_ns)
{
	static const char *const modes[] = {"session", "store", "append", "script", "mixed"};
	struct imapload_client sum = {0};
	bool literal_plus = false;
	for (uint32_t i = 0; i < o->clients; i++) {
		sum.ops += cls[i].ops;
		sum.commands += cls[i].commands;
		sum.failed += cls[i].failed;
		sum.errors += cls[i].errors;
		sum.literal_octets += cls[i].literal_octets;
		literal_plus |= cls[i].literal_plus;
		bench_samples_merge(&sum.lat, &cls[i].lat);
	}
	bench_samples_sort(&sum.lat);
	double secs = (double)elapsed_ns / 1e9;
	printf("imapload mode=%s clients=%u ops=%llu failed=%llu errors=%llu commands=%llu "
	       "elapsed_s=%.3f ops_per_s=%.2f commands_per_s=%.2f literal_octets=%llu "
	       "literal_plus=%d",
	       modes[o->mode], o->clients, (unsigned long long)sum.ops,
	       (unsigned long long)sum.failed, (unsigned long long)sum.errors,
	       (unsigned long long)sum.commands, secs, (double)sum.ops / secs,
	       (double)sum.commands / secs, (unsigned long long)sum.literal_octets, literal_plus);
	bench_print_latency("", &sum.lat);
	imapload_print_script(o, cls);
	printf("\n");
	uint32_t shown = 0;
	for (uint32_t i = 0; i < o->clients && shown < 6; i++) {
		for (uint32_t j = 0; j < cls[i].nerror && shown < 6; j++, shown++)
			fprintf(stderr, "imapload: error: %s\n", cls[i].error[j]);
	}
	bench_samples_free(&sum.lat);
}

int main(int argc, char **argv)
{
	struct imapload_opts o;
	imapload_parse(argc, argv, &o);
	bench_process_setup();
	if (o.tls)
		bench_conn_tls_init();
	struct imapload_shared sh = {.o = &o};
	imapload_make_body(&sh, o.size);
	struct imapload_client *cls = xcalloc(o.clients, sizeof(*cls));
	uint64_t start = bench_now_ns();
	if (o.duration_ms != 0)
		sh.deadline_ns = start + (uint64_t)o.duration_ms * 1000000u;
	for (uint32_t i = 0; i < o.clients; i++) {
		cls[i].index = i;
		cls[i].sh = &sh;
		cls[i].rng = ((uint64_t)o.seed << 20) ^ (0x9E3779B97F4A7C15ull * (i + 1));
		cls[i].msg = xmalloc(1024 + sh.body_len);
		if (pthread_create(&cls[i].tid, NULL, imapload_thread, &cls[i]) != 0) {
			fprintf(stderr, "imapload: cannot start thread %u\n", i);
			return 1;
		}
	}
	for (uint32_t i = 0; i < o.clients; i++)
		pthread_join(cls[i].tid, NULL);
	imapload_report(&o, cls, bench_now_ns() - start);
	int failed = 0;
	for (uint32_t i = 0; i < o.clients; i++) {
		failed |= cls[i].failed != 0 || cls[i].errors != 0;
		bench_samples_free(&cls[i].lat);
		for (uint32_t j = 0; j < IMAPLOAD_MAX_SCRIPT; j++)
			bench_samples_free(&cls[i].cmd_lat[j]);
		free(cls[i].msg);
	}
	free(cls);
	free(sh.body);
	return failed;
}
