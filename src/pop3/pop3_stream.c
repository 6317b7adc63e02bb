/*
 * pop3_stream.c - sending a message for RETR and TOP without holding it in
 * memory.
 *
 * The file is read in chunks as the client drains its output: at most
 * CONN_OUTPUT_HIGH bytes are queued at a time, so a 50 MB message costs no
 * more memory than a 5 KB one. Each chunk goes through the POP3 encoder
 * (CRLF normalisation, dot-stuffing, the TOP line limit). When the store
 * knows a file needs no change at all (CRLF line ends, no line starting
 * with '.'), a RETR on a plain connection hands the file to the kernel
 * (sendfile through libevent's file segments) and nothing is copied.
 */
#include "pop3/pop3_internal.h"

#include "lib/log.h"
#include "net/conn.h"
#include "store/store.h"

#include <errno.h>
#include <event2/buffer.h>
#include <string.h>
#include <unistd.h>

/* Bytes read from the file per step. */
#define POP3_STREAM_CHUNK (64 * 1024)
/* Messages up to this size are sent in one go, without the pause/resume
 * of streaming: most mail is a few KiB, and the system calls saved are
 * most of what a small RETR costs. */
#define POP3_STREAM_SMALL POP3_STREAM_CHUNK

static void pop3_stream_finish(struct pop3_session *s)
{
	char trailer[POP3_OUTPUT_TRAILER_MAX];
	size_t n = pop3_output_finish(&s->stream.enc, trailer);
	conn_write(s->conn, trailer, n);
	close(s->stream.fd);
	s->stream.fd = -1;
	s->streaming = false;
	if (s->busy) { /* it was streamed: undo what pop3_stream_message set up */
		conn_want_drain(s->conn, false);
		pop3_busy_end(s);
	}
}

void pop3_stream_pump(struct pop3_session *s)
{
	static char in[POP3_STREAM_CHUNK];
	static char out[POP3_OUTPUT_MAX(POP3_STREAM_CHUNK)];
	while (s->streaming && conn_output_pending(s->conn) < CONN_OUTPUT_HIGH) {
		/* Reading exactly the size the file had at open saves the
		 * read that would only say "end of file". */
		size_t want = s->stream.left < sizeof(in) ? (size_t)s->stream.left : sizeof(in);
		ssize_t n = want > 0 ? read(s->stream.fd, in, want) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Half a message has been sent: the only honest way
			 * out is to drop the connection (no DELE is lost). */
			log_warn("event=read_failed service=pop3 user=%s error=\"%s\"", s->user,
				 strerror(errno));
			pop3_stream_abort(s);
			conn_close(s->conn, false);
			return;
		}
		if (n == 0 || s->stream.enc.done) {
			pop3_stream_finish(s);
			return;
		}
		s->stream.left -= (uint64_t)n;
		size_t len = pop3_output_encode(&s->stream.enc, in, (size_t)n, out);
		conn_write(s->conn, out, len);
	}
}

void pop3_stream_message(struct pop3_session *s, size_t idx, size_t lines)
{
	int fd;
	uint64_t disk_size;
	bool clean;
	enum store_error err = store_pop3_msg_open(s->view, idx, &fd, &disk_size, &clean);
	if (err != STORE_OK) {
		if (err == STORE_ERR_EXPUNGED)
			pop3_reply(s, "-ERR Message was removed by another session.");
		else
			pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message, try again later.");
		return;
	}
	store_pop3_mark_retrieved(s->view, idx);
	bool retr = lines == POP3_OUTPUT_ALL_LINES;
	if (retr) {
		s->retr_count++;
		s->retr_bytes += s->view->msgs[idx].size;
		pop3_reply(s, "+OK %llu octets", (unsigned long long)s->view->msgs[idx].size);
	} else {
		s->top_count++;
		pop3_reply(s, "+OK");
	}
	if (retr && clean && !conn_tls_active(s->conn)) {
		/* zero-copy: libevent owns (and closes) fd from here */
		if (disk_size == 0 || conn_add_file(s->conn, fd, disk_size)) {
			if (disk_size == 0)
				close(fd);
			conn_write_str(s->conn, ".\r\n");
			return;
		}
	}
	s->stream.fd = fd;
	s->stream.left = disk_size;
	pop3_output_init(&s->stream.enc, lines);
	s->streaming = true;
	if (disk_size <= POP3_STREAM_SMALL && conn_output_pending(s->conn) < CONN_OUTPUT_HIGH) {
		/* one read, one write; pump finishes it at once */
		pop3_stream_pump(s);
		if (!s->streaming)
			return;
	}
	pop3_busy_begin(s);
	conn_want_drain(s->conn, true);
	pop3_stream_pump(s);
}

void pop3_stream_abort(struct pop3_session *s)
{
	if (s->stream.fd >= 0)
		close(s->stream.fd);
	s->stream.fd = -1;
	s->streaming = false;
}
