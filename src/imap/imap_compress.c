/*
 * imap_compress.c - COMPRESS=DEFLATE (RFC 4978): after "tag OK", both
 * directions of the connection are raw DEFLATE (net/conn_deflate.c does
 * the work, below the session and above TLS).
 *
 * The one subtle point is the switch: bytes the client sent after the
 * COMPRESS line are already compressed (RFC 4978 3 says it must wait for
 * our OK, but a client that pipelines anyway must not get its compressed
 * bytes parsed as commands). The session's input loop still holds the
 * plain input buffer, so the command stops it (busy, input paused) and
 * resumes it from the next loop turn, when the connection layer inflates
 * whatever is buffered.
 */
#include "imap/imap_internal.h"

#include "lib/log.h"
#include "lib/mem.h"
#include "net/conn.h"

#include <event2/event.h>

/* Finds the session again on the next turn (it may be gone by then).
 * Freed when the event runs, which is before the loop ends. */
struct imap_compress_resume {
	struct conn_loop *loop;
	uint64_t conn_id;
};

static void imap_compress_resume(evutil_socket_t fd, short what, void *arg)
{
	struct imap_compress_resume *r = arg;
	struct conn *c = conn_find(r->loop, r->conn_id);
	free(r);
	if (c != NULL)
		imap_busy_end(conn_context(c));
}

/* RFC 4978 3: COMPRESS <mechanism>; DEFLATE is the only one. */
void imap_cmd_compress(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, "COMPRESS needs one mechanism name.");
		return;
	}
	if (!imap_arg_atom_is(&cmd->args[0], "DEFLATE")) {
		/* RFC 4978 5: the syntax only allows "DEFLATE". */
		imap_bad(s, "Unknown compression mechanism.");
		return;
	}
	if (conn_compressed(s->conn)) {
		imap_tagged(s, "NO [COMPRESSIONACTIVE] DEFLATE is already active.");
		return;
	}
	struct conn_loop *loop = conn_get_loop(s->conn);
	struct imap_compress_resume *r = xmalloc(sizeof(*r));
	r->loop = loop;
	r->conn_id = conn_id(s->conn);
	struct timeval now = {0, 0};
	if (event_base_once(conn_loop_base(loop), -1, EV_TIMEOUT, imap_compress_resume, r, &now) !=
	    0) {
		free(r);
		imap_tagged(s, "NO [UNAVAILABLE] Cannot start compression now.");
		return;
	}
	/* RFC 4978 3: the OK itself is the last uncompressed response. */
	imap_tagged(s, "OK DEFLATE active");
	imap_busy_begin(s);
	if (!conn_start_deflate(s->conn)) {
		/* Cannot happen (checked above, and commands do not run on a
		 * closing or handshaking connection); the client now speaks
		 * DEFLATE, so there is no way back. */
		conn_close(s->conn, false);
		return;
	}
	log_debug("event=compress service=imap user=%s remote=%s mechanism=DEFLATE", s->user,
		  conn_peer_ip(s->conn));
}
