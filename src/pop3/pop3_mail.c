/*
 * pop3_mail.c - opening the maildrop, the TRANSACTION commands, and the
 * UPDATE state (RFC 1939 5, 6).
 *
 * The snapshot of the mailbox (message numbers, sizes, UIDLs) is fixed at
 * login, as RFC 1939 requires for the whole session. DELE only marks;
 * messages are removed when QUIT moves the session to UPDATE, all at once
 * (store_pop3_commit). A connection that ends any other way removes
 * nothing. Opening and committing can touch many files, so both run on the
 * worker's thread pool.
 */
#include "pop3/pop3_internal.h"

#include "daemon/server_env.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "net/conn.h"
#include "net/workpool.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* One place where store errors become POP3 replies (RFC 2449 8, RFC 3206). */
static void pop3_store_error(struct pop3_session *s, enum store_error err)
{
	switch (err) {
	case STORE_OK:
		break;
	case STORE_ERR_INUSE:
		pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
		break;
	case STORE_ERR_EXPUNGED:
		pop3_reply(s, "-ERR Message was removed by another session.");
		break;
	case STORE_ERR_PERM:
	case STORE_ERR_NOTFOUND:
	case STORE_ERR_EXISTS:
	case STORE_ERR_QUOTA:
		pop3_reply(s, "-ERR [SYS/PERM] Mailbox is not available, contact the administrator.");
		break;
	case STORE_ERR_TEMP:
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary server error, try again later.");
		break;
	}
}

/* ---- login: open the maildrop on the pool ---- */

struct pop3_open_job {
	struct server_env *env;
	uint64_t owner;
	char *user;
	char *mech;
	struct store_user *store;
	struct store_pop3_view *view;
	enum store_error err;
	bool login_delayed;
};

struct pop3_open_job *pop3_open_job_new(struct pop3_session *s, const char *mech)
{
	struct pop3_open_job *job = xmalloc(sizeof(*job));
	job->env = s->env;
	job->owner = conn_id(s->conn);
	job->mech = xstrdup(mech);
	return job;
}

/* On a pool thread: sync and snapshot the maildrop of user. */
void pop3_open_job_run(void *arg, const char *user)
{
	struct pop3_open_job *job = arg;
	const struct config *cfg = job->env->cfg;
	if (job->user == NULL)
		job->user = xstrdup(user);
	job->err = store_user_open(&job->env->store, job->user, true, &job->store);
	if (job->err != STORE_OK)
		return;
	struct store_pop3_options opt = {
		.folders = job->env->pop3_folders,
		.nfolders = job->env->pop3_nfolders,
		.lock = cfg->pop3_lock,
		.hide_deleted = cfg->pop3_delete == POP3_DELETE_HIDE,
		.expire_days = cfg->pop3_expire_days,
		.login_delay = cfg->pop3_login_delay,
		.now = time(NULL),
	};
	job->err = store_pop3_open(job->store, &opt, &job->view, &job->login_delayed);
}

void pop3_open_job_free(struct pop3_open_job **jobp)
{
	struct pop3_open_job *job = *jobp;
	if (job == NULL)
		return;
	store_pop3_close(&job->view);
	store_user_close(&job->store);
	free(job->user);
	free(job->mech);
	xfree(*jobp);
}

void pop3_open_finish(struct pop3_session *s, struct pop3_open_job **jobp)
{
	struct pop3_open_job *job = *jobp;
	if (job->err != STORE_OK) {
		log_info("event=login_failed service=pop3 user=%s remote=%s reason=%s", job->user,
			 conn_peer_ip(s->conn), job->login_delayed ? "login-delay"
								   : store_error_name(job->err));
		if (job->login_delayed)
			pop3_reply(s, "-ERR [LOGIN-DELAY] Minimum time between logins is %llu seconds.",
				   (unsigned long long)s->env->cfg->pop3_login_delay);
		else
			pop3_store_error(s, job->err);
		s->state = POP3_STATE_AUTHORIZATION;
		pop3_open_job_free(jobp);
		pop3_busy_end(s);
		return;
	}
	s->state = POP3_STATE_TRANSACTION;
	s->user = job->user;
	s->store = job->store;
	s->view = job->view;
	job->user = NULL;
	job->store = NULL;
	job->view = NULL;
	s->deleted = xcalloc(s->view->count ? s->view->count : 1, sizeof(bool));
	log_info("event=login service=pop3 user=%s remote=%s mech=%s tls=%s messages=%zu", s->user,
		 conn_peer_ip(s->conn), job->mech, conn_tls_active(s->conn) ? "yes" : "no",
		 s->view->count);
	pop3_reply(s, "+OK Logged in, %zu messages (%llu octets).", s->view->count,
		   (unsigned long long)s->view->total_size);
	pop3_open_job_free(jobp);
	pop3_busy_end(s);
}

static void pop3_open_work(void *arg)
{
	struct pop3_open_job *job = arg;
	pop3_open_job_run(job, job->user);
}

static void pop3_open_done(void *arg)
{
	struct pop3_open_job *job = arg;
	struct conn *c = conn_find(job->env->loop, job->owner);
	if (c == NULL)
		pop3_open_job_free(&job);
	else
		pop3_open_finish(conn_context(c), &job);
}

void pop3_login(struct pop3_session *s, const char *user, const char *mech)
{
	struct pop3_open_job *job = pop3_open_job_new(s, mech);
	job->user = xstrdup(user);
	s->state = POP3_STATE_LOGGING_IN;
	pop3_busy_begin(s);
	workpool_submit(s->env->pool, pop3_open_work, pop3_open_done, job);
}

/* ---- TRANSACTION ---- */

/* The message named by argument i, or false after replying. */
static bool pop3_message_arg(struct pop3_session *s, const struct pop3_command *cmd, size_t i,
			     size_t *idx_r)
{
	if (!pop3_parse_msgnum(cmd->argv[i], s->view->count, idx_r)) {
		pop3_reply(s, "-ERR There is no such message.");
		return false;
	}
	if (s->deleted[*idx_r]) {
		pop3_reply(s, "-ERR Message is deleted.");
		return false;
	}
	return true;
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->argc != 0) {
		pop3_bad_command(s, "STAT takes no arguments.");
		return;
	}
	pop3_reply(s, "+OK %zu %llu", s->view->count - s->deleted_count,
		   (unsigned long long)(s->view->total_size - s->deleted_size));
}

/* LIST and UIDL share their shape: one message, or all not deleted. */
static void pop3_listing(struct pop3_session *s, const struct pop3_command *cmd, bool uidl)
{
	if (cmd->argc > 1) {
		pop3_bad_command(s, "Too many arguments.");
		return;
	}
	size_t idx;
	if (cmd->argc == 1) {
		if (!pop3_message_arg(s, cmd, 0, &idx))
			return;
		const struct store_pop3_msg *m = &s->view->msgs[idx];
		if (uidl)
			pop3_reply(s, "+OK %zu %s", idx + 1, m->uidl);
		else
			pop3_reply(s, "+OK %zu %llu", idx + 1, (unsigned long long)m->size);
		return;
	}
	if (uidl)
		conn_write_str(s->conn, "+OK Unique-ID listing follows\r\n");
	else
		pop3_reply(s, "+OK %zu messages (%llu octets)", s->view->count - s->deleted_count,
			   (unsigned long long)(s->view->total_size - s->deleted_size));
	for (size_t i = 0; i < s->view->count; i++) {
		if (s->deleted[i])
			continue;
		const struct store_pop3_msg *m = &s->view->msgs[i];
		if (uidl)
			conn_printf(s->conn, "%zu %s\r\n", i + 1, m->uidl);
		else
			conn_printf(s->conn, "%zu %llu\r\n", i + 1, (unsigned long long)m->size);
	}
	conn_write_str(s->conn, ".\r\n");
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	pop3_listing(s, cmd, false);
}

void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	pop3_listing(s, cmd, true);
}

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t idx;
	if (cmd->argc != 1) {
		pop3_bad_command(s, "DELE needs a message number.");
		return;
	}
	if (!pop3_message_arg(s, cmd, 0, &idx))
		return;
	s->deleted[idx] = true;
	s->deleted_count++;
	s->deleted_size += s->view->msgs[idx].size;
	pop3_reply(s, "+OK Message deleted.");
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	memset(s->deleted, 0, s->view->count * sizeof(bool));
	s->deleted_count = 0;
	s->deleted_size = 0;
	pop3_reply(s, "+OK %zu messages.", s->view->count);
}

void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	pop3_reply(s, "+OK");
}

void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t idx;
	if (cmd->argc != 1) {
		pop3_bad_command(s, "RETR needs a message number.");
		return;
	}
	if (pop3_message_arg(s, cmd, 0, &idx))
		pop3_stream_message(s, idx, POP3_OUTPUT_ALL_LINES);
}

void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t idx, lines;
	if (cmd->argc != 2) {
		pop3_bad_command(s, "TOP needs a message number and a line count.");
		return;
	}
	if (!pop3_parse_linecount(cmd->argv[1], &lines)) {
		pop3_reply(s, "-ERR Invalid line count.");
		return;
	}
	if (pop3_message_arg(s, cmd, 0, &idx))
		pop3_stream_message(s, idx, lines);
}

/* ---- QUIT and UPDATE ---- */

struct pop3_commit_job {
	struct server_env *env;
	uint64_t owner;
	struct store_user *store;
	struct store_pop3_view *view;
	bool *deleted;
	size_t deleted_count;
	enum store_error err;
};

static void pop3_commit_work(void *arg)
{
	struct pop3_commit_job *job = arg;
	job->err = store_pop3_commit(job->view, job->deleted);
	store_pop3_close(&job->view);
	store_user_close(&job->store);
}

static void pop3_commit_done(void *arg)
{
	struct pop3_commit_job *job = arg;
	struct conn *c = conn_find(job->env->loop, job->owner);
	if (c != NULL) {
		struct pop3_session *s = conn_context(c);
		if (job->err == STORE_OK) {
			s->expunged = (unsigned)job->deleted_count;
			pop3_reply(s, "+OK Logging out, %zu messages deleted.", job->deleted_count);
		} else {
			log_warn("event=update_failed service=pop3 user=%s error=%s", s->user,
				 store_error_name(job->err));
			pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed.");
		}
		pop3_close(s);
	}
	free(job->deleted);
	free(job);
}

void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (s->state != POP3_STATE_TRANSACTION) {
		/* RFC 1939 4: QUIT in AUTHORIZATION just ends the session. */
		pop3_reply(s, "+OK Bye.");
		pop3_close(s);
		return;
	}
	s->state = POP3_STATE_UPDATE;
	if (!store_pop3_commit_needed(s->view, s->deleted)) {
		/* the usual leave-on-server QUIT: nothing to write, no need
		 * to go through the pool. The lock goes before the reply: a
		 * client may reconnect the moment it reads it. */
		store_pop3_close(&s->view);
		store_user_close(&s->store);
		pop3_reply(s, "+OK Logging out, 0 messages deleted.");
		pop3_close(s);
		return;
	}
	struct pop3_commit_job *job = xmalloc(sizeof(*job));
	job->env = s->env;
	job->owner = conn_id(s->conn);
	job->store = s->store;
	job->view = s->view;
	job->deleted = s->deleted;
	job->deleted_count = s->deleted_count;
	s->store = NULL;
	s->view = NULL;
	s->deleted = NULL;
	pop3_busy_begin(s);
	workpool_submit(s->env->pool, pop3_commit_work, pop3_commit_done, job);
}

void pop3_mail_session_free(struct pop3_session *s)
{
	/* Without QUIT nothing is deleted (RFC 1939 6). */
	store_pop3_close(&s->view);
	store_user_close(&s->store);
	xfree(s->deleted);
	xfree(s->user);
}
