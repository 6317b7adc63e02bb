/*
 * imap_append.c - APPEND (RFC 9051 6.3.12; APPENDUID, RFC 4315; BINARY
 * literal8, RFC 3516) and IDLE (RFC 2177, RFC 9051 6.3.13).
 *
 * The message literal of APPEND is not kept by the parser: its bytes go
 * straight into a store spool as they arrive (memory, then a temporary
 * file), so a 50 MB message costs no more memory than a small one.
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mime/mime_binary.h"
#include "net/conn.h"
#include "net/workpool.h"
#include "store/store_imap.h"
#include "store/store_quota.h"

#include <event2/event.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- APPEND ---- */

bool imap_append_literal_wanted(struct imap_session *s, const struct imap_command *partial,
				const struct imap_literal *lit)
{
	if (partial == NULL || strcasecmp(partial->name, "APPEND") != 0 ||
	    s->state == IMAP_STATE_NOT_AUTH || s->append_spool != NULL)
		return false;
	if (lit->depth == 0)
		return lit->index >= 1;
	/* RFC 6855 4: APPEND mailbox [flags] [date] UTF8 (literal8), the
	 * open list being the last argument so far */
	return lit->depth == 1 && lit->index == 0 && partial->argc >= 3 &&
	       imap_arg_atom_is(&partial->args[partial->argc - 2], "UTF8");
}

/* append_error for a NUL in a non-binary literal (not a store error). */
#define IMAP_APPEND_NUL (-1)

void imap_append_start(struct imap_session *s)
{
	s->append_spool = store_spool_new(&s->env->store, s->env->cfg->limits_max_message_size);
	s->append_error = 0;
}

void imap_append_data(struct imap_session *s, const char *data, size_t len)
{
	if (s->append_spool == NULL || len == 0 || s->append_error != 0)
		return;
	/* RFC 9051 4.3: a literal is CHAR8, no NUL; binary data needs a
	 * literal8 (RFC 3516) */
	if (!s->append_literal8 && memchr(data, '\0', len) != NULL) {
		s->append_error = IMAP_APPEND_NUL;
		return;
	}
	enum store_error err = store_spool_write(s->append_spool, data, len);
	if (err != STORE_OK)
		s->append_error = (int)err;
}

/* date-time = "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 9051 9) */
static bool imap_parse_datetime(const struct imap_arg *a, time_t *t_r)
{
	const char *s;
	size_t len;
	if (!imap_arg_string(a, &s, &len) || len < 26 || len > 27)
		return false;
	char buf[32];
	memcpy(buf, s, len);
	buf[len] = '\0';
	struct tm tm = {0};
	const char *p = buf[0] == ' ' ? buf + 1 : buf;
	const char *end = strptime(p, "%d-%b-%Y %H:%M:%S %z", &tm);
	if (end == NULL || *end != '\0')
		return false;
	long off = tm.tm_gmtoff;
	*t_r = timegm(&tm) - off;
	return true;
}

/*
 * The message is written and fsynced on the pool, so that a slow disk
 * holds up only this session, not the worker's other connections. The
 * session is busy meanwhile (no other command of it runs); if it is closed
 * before the job is done, the job takes over its store (imap_append_orphan).
 */
struct imap_append_job {
	struct imap_session *s; /* NULL once the session is gone */
	struct store_user *store;
	struct store_mailbox *orphan_mb; /* the session's, if it went away */
	uint64_t quota;
	char *name;
	struct store_spool *spool;
	unsigned flags;
	char **kw;
	size_t nkw;
	time_t date;
	bool literal8; /* the message came as binary (RFC 3516) */
	enum store_error err;
	bool over_quota; /* quota.storage said no (else QUOTA = too many keywords) */
	uint32_t validity, uid;
};

static void imap_append_job_free(struct imap_append_job *job)
{
	for (size_t i = 0; i < job->nkw; i++)
		free(job->kw[i]);
	free(job->kw);
	free(job->name);
	store_spool_free(&job->spool);
	if (job->s == NULL) {
		store_mailbox_close(&job->orphan_mb);
		store_user_close(&job->store);
	}
	free(job);
}

/* A message sent as a literal8 may have binary parts: they are stored as
 * base64 (mime_binary.h), which BINARY[] decodes back. */
static enum store_error imap_append_binary(struct store_spool *spool)
{
	struct buf raw, out;
	buf_init(&raw, 0);
	buf_init(&out, 0);
	enum store_error err = STORE_OK;
	if (!store_spool_read(spool, &raw))
		err = STORE_ERR_TEMP;
	else if (mime_binary_to_base64(raw.ptr != NULL ? raw.ptr : "", raw.len, &out))
		err = store_spool_replace(spool, out.ptr, out.len);
	buf_deinit(&raw);
	buf_deinit(&out);
	return err;
}

static void imap_append_work(void *arg)
{
	struct imap_append_job *job = arg;
	if (job->literal8) {
		job->err = imap_append_binary(job->spool);
		if (job->err != STORE_OK)
			return;
	}
	/* RFC 9208 4.3.1: over quota.storage is NO [OVERQUOTA] */
	job->err = store_quota_check(job->store, job->quota,
				     store_quota_message_size(NULL, 0, job->spool));
	job->over_quota = job->err == STORE_ERR_QUOTA;
	if (job->err == STORE_OK)
		job->err = store_append(job->store, job->name, job->spool, job->flags,
					(const char *const *)job->kw, job->nkw, job->date,
					&job->validity, &job->uid);
}

static void imap_append_done(void *arg)
{
	struct imap_append_job *job = arg;
	struct imap_session *s = job->s;
	if (s != NULL) {
		s->append_job = NULL;
		/* RFC 9051 6.3.12: a message appended to the selected mailbox
		 * is announced (EXISTS) with the command's own responses */
		if (job->err == STORE_OK && s->mb != NULL)
			imap_report_changes(s, true);
		if (conn_closing(s->conn))
			; /* the mailbox went away meanwhile: BYE sent */
		else if (job->err == STORE_ERR_NOTFOUND)
			imap_tagged(s, "NO [TRYCREATE] No such mailbox.");
		else if (job->err == STORE_OK)
			imap_tagged(s, "OK [APPENDUID %u %u] APPEND completed.", job->validity,
				    job->uid);
		else if (job->err == STORE_ERR_QUOTA && !job->over_quota)
			imap_tagged(s, "NO [LIMIT] Too many keywords in this mailbox.");
		else
			imap_store_error(s, job->err, "APPEND");
		imap_busy_end(s);
	}
	imap_append_job_free(job);
}

static void imap_append_submit(struct imap_session *s, char *name, struct store_spool *spool,
			       unsigned flags, const char **kw, size_t nkw, time_t date)
{
	struct imap_append_job *job = xmalloc(sizeof(*job));
	job->s = s;
	job->store = s->store;
	job->quota = s->env->cfg->quota_storage;
	job->name = name;
	job->spool = spool;
	job->flags = flags;
	job->kw = xcalloc(nkw + 1, sizeof(char *)); /* the command's strings go away */
	for (size_t i = 0; i < nkw; i++)
		job->kw[i] = xstrdup(kw[i]);
	job->nkw = nkw;
	job->date = date;
	job->literal8 = s->append_literal8;
	s->append_job = job;
	imap_busy_begin(s);
	workpool_submit(s->env->pool, imap_append_work, imap_append_done, job);
}

void imap_append_orphan(struct imap_session *s)
{
	struct imap_append_job *job = s->append_job;
	if (job == NULL)
		return;
	/* the job still uses the store: it closes it when it is done */
	job->s = NULL;
	job->orphan_mb = s->mb;
	s->mb = NULL;
	s->store = NULL;
	s->append_job = NULL;
}

void imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_spool *spool = s->append_spool;
	s->append_spool = NULL;
	size_t i = 1;
	unsigned flags = 0;
	const char **kw = NULL;
	size_t nkw = 0;
	time_t date = 0;
	bool ok = cmd->argc >= 2 && spool != NULL;
	if (ok && cmd->args[i].type == IMAP_ARG_LIST)
		ok = imap_parse_flags(&cmd->args[i++], &flags, &kw, &nkw);
	if (ok && i < cmd->argc && cmd->args[i].type != IMAP_ARG_STREAMED &&
	    !imap_arg_atom_is(&cmd->args[i], "UTF8"))
		ok = imap_parse_datetime(&cmd->args[i++], &date);
	if (ok && i + 2 == cmd->argc && imap_arg_atom_is(&cmd->args[i], "UTF8")) {
		/* RFC 6855 4: UTF8 (~{n}...) after ENABLE UTF8=ACCEPT */
		const struct imap_arg *inner;
		size_t n;
		ok = s->utf8 && imap_arg_list(&cmd->args[i + 1], &inner, &n) && n == 1 &&
		     inner[0].type == IMAP_ARG_STREAMED;
		i = ok ? i + 2 : i;
	} else {
		ok = ok && i + 1 == cmd->argc && cmd->args[i].type == IMAP_ARG_STREAMED;
		i++;
	}
	ok = ok && i == cmd->argc;
	char *name = ok ? imap_mailbox_arg(s, &cmd->args[0]) : NULL;
	if (!ok) {
		imap_bad(s, "APPEND needs a mailbox, optional flags and date, and a literal.");
	} else if (name == NULL) {
		/* answered */
	} else if (s->append_error == IMAP_APPEND_NUL) {
		imap_bad(s, "A literal cannot contain NUL: send binary data as a literal8 (~{n}).");
	} else if (s->append_error == STORE_ERR_QUOTA) {
		imap_tagged(s, "NO [TOOBIG] Message too large.");
	} else if (s->append_error != 0) {
		imap_tagged(s, "NO [UNAVAILABLE] Temporary failure storing the message.");
	} else {
		imap_append_submit(s, name, spool, flags, kw, nkw, date);
		name = NULL;
		spool = NULL;
	}
	free(name);
	free(kw);
	store_spool_free(&spool);
	s->append_error = 0;
}

void imap_append_abort(struct imap_session *s)
{
	store_spool_free(&s->append_spool);
	s->append_error = 0;
}

/* ---- IDLE ---- */

/* Looked at this often when the kernel gives us no inotify instance. */
#define IMAP_IDLE_POLL_SECONDS 5

static void imap_idle_wake(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	char drain[4096];
	while (fd >= 0 && read(fd, drain, sizeof(drain)) > 0)
		;
	if (s->idling) {
		imap_report_changes(s, true);
		store_user_idle(s->store);
	}
}

void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 0) {
		imap_bad(s, "IDLE takes no arguments.");
		return;
	}
	s->idling = true;
	conn_write_str(s->conn, "+ idling\r\n");
	imap_report_changes(s, true);
	/* an idle session holds no index connection (memory per idler) */
	store_user_idle(s->store);
	if (s->mb == NULL)
		return;
	int fd = store_mailbox_watch_fd(s->mb);
	if (fd >= 0) {
		s->watch_ev = event_new(conn_loop_base(s->env->loop), fd, EV_READ | EV_PERSIST,
					imap_idle_wake, s);
		event_add(s->watch_ev, NULL);
		return;
	}
	/* No inotify instance (fs.inotify.max_user_instances is 128 by
	 * default): look every few seconds rather than never. */
	static bool warned;
	if (!warned) {
		warned = true;
		log_warn("event=idle_without_inotify service=imap hint=\"raise "
			 "fs.inotify.max_user_instances\"");
	}
	s->watch_ev = event_new(conn_loop_base(s->env->loop), -1, EV_PERSIST, imap_idle_wake, s);
	struct timeval tv = {.tv_sec = IMAP_IDLE_POLL_SECONDS, .tv_usec = 0};
	event_add(s->watch_ev, &tv);
}

/* The line that ends IDLE (RFC 2177 3: "DONE"). */
void imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	s->idling = false;
	if (s->watch_ev != NULL) {
		event_free(s->watch_ev);
		s->watch_ev = NULL;
	}
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0) {
		imap_bad(s, "Expected DONE.");
		return;
	}
	imap_tagged(s, "OK IDLE terminated.");
}

void imap_idle_free(struct imap_session *s)
{
	if (s->watch_ev != NULL) {
		event_free(s->watch_ev);
		s->watch_ev = NULL;
	}
}
