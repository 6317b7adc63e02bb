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
#include "lib/mem.h"
#include "net/conn.h"
#include "store/store_imap.h"

#include <event2/event.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- APPEND ---- */

bool imap_append_literal_wanted(struct imap_session *s, const struct imap_command *partial,
				const struct imap_literal *lit)
{
	return partial != NULL && strcasecmp(partial->name, "APPEND") == 0 && lit->depth == 0 &&
	       lit->index >= 1 && s->state != IMAP_STATE_NOT_AUTH && s->append_spool == NULL;
}

void imap_append_start(struct imap_session *s)
{
	s->append_spool = store_spool_new(&s->env->store, s->env->cfg->limits_max_message_size);
	s->append_error = 0;
}

void imap_append_data(struct imap_session *s, const char *data, size_t len)
{
	if (s->append_spool == NULL || len == 0 || s->append_error != 0)
		return;
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
	if (ok && i < cmd->argc && cmd->args[i].type != IMAP_ARG_STREAMED)
		ok = imap_parse_datetime(&cmd->args[i++], &date);
	ok = ok && i + 1 == cmd->argc && cmd->args[i].type == IMAP_ARG_STREAMED;
	char *name = ok ? imap_mailbox_arg(s, &cmd->args[0]) : NULL;
	if (!ok) {
		imap_bad(s, "APPEND needs a mailbox, optional flags and date, and a literal.");
	} else if (name == NULL) {
		/* answered */
	} else if (s->append_error == STORE_ERR_QUOTA) {
		imap_tagged(s, "NO [TOOBIG] Message too large.");
	} else if (s->append_error != 0) {
		imap_tagged(s, "NO [UNAVAILABLE] Temporary failure storing the message.");
	} else {
		uint32_t validity = 0, uid = 0;
		enum store_error err = store_append(s->store, name, spool, flags, kw, nkw, date,
						    &validity, &uid);
		if (err == STORE_ERR_NOTFOUND)
			imap_tagged(s, "NO [TRYCREATE] No such mailbox.");
		else if (err == STORE_OK)
			imap_tagged(s, "OK [APPENDUID %u %u] APPEND completed.", validity, uid);
		else
			imap_store_error(s, err, "APPEND");
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

static void imap_idle_wake(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	char drain[4096];
	while (read(fd, drain, sizeof(drain)) > 0)
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
	int fd = s->mb != NULL ? store_mailbox_watch_fd(s->mb) : -1;
	if (fd >= 0) {
		s->watch_ev = event_new(conn_loop_base(s->env->loop), fd, EV_READ | EV_PERSIST,
					imap_idle_wake, s);
		event_add(s->watch_ev, NULL);
	}
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
