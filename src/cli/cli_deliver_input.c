/*
 * cli_deliver_input.c - the leading envelope lines an MTA adds are dropped
 * from the message; see cli_deliver_input.h.
 */
#include "cli/cli_deliver_input.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

/* Longest leading line we examine; a longer one ends the examination. */
#define DELIVER_HEAD_LINE_MAX 8192

struct deliver_head {
	char line[DELIVER_HEAD_LINE_MAX];
	size_t len;
	bool first;    /* the next line is the message's first */
	bool dropping; /* inside a dropped field (continuation lines too) */
	bool done;     /* past the leading block: pass everything through */
};

static bool deliver_head_is(const char *line, size_t len, const char *field)
{
	size_t n = strlen(field);
	return len >= n && strncasecmp(line, field, n) == 0;
}

/* Envelope fields we write ourselves: dropped. */
static bool deliver_head_droppable(const char *line, size_t len)
{
	return deliver_head_is(line, len, "Return-Path:") ||
	       deliver_head_is(line, len, "Delivered-To:");
}

/* Other fields an MTA puts in the same leading block (Postfix writes
 * X-Original-To between Return-Path and Delivered-To): kept, and the
 * block goes on. */
static bool deliver_head_envelope(const char *line, size_t len)
{
	return deliver_head_is(line, len, "X-Original-To:");
}

/* One complete leading line (with its LF): keep it or not. */
static int deliver_head_line(struct deliver_head *h, deliver_sink_fn *sink, void *ctx)
{
	const char *l = h->line;
	bool drop;
	if (h->len > 0 && (l[0] == ' ' || l[0] == '\t')) {
		drop = h->dropping; /* continuation of the field before */
	} else if (h->first && h->len >= 5 && memcmp(l, "From ", 5) == 0) {
		drop = true; /* mbox envelope line, never continued */
		h->dropping = false;
	} else if (deliver_head_droppable(l, h->len)) {
		drop = h->dropping = true;
	} else if (deliver_head_envelope(l, h->len)) {
		drop = h->dropping = false;
	} else {
		drop = h->dropping = false;
		h->done = true;
	}
	h->first = false;
	int rc = drop ? 0 : sink(ctx, l, h->len);
	h->len = 0;
	return rc;
}

/* Feed bytes through the leading-block filter. */
static int deliver_head_feed(struct deliver_head *h, const char *data, size_t len,
			     deliver_sink_fn *sink, void *ctx)
{
	while (!h->done && len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) + 1 : len;
		if (h->len + take > sizeof(h->line)) {
			/* no header line is that long: stop filtering */
			h->done = true;
			break;
		}
		memcpy(h->line + h->len, data, take);
		h->len += take;
		data += take;
		len -= take;
		if (nl != NULL) {
			int rc = deliver_head_line(h, sink, ctx);
			if (rc != 0)
				return rc;
		}
	}
	if (h->done && h->len > 0) {
		int rc = sink(ctx, h->line, h->len);
		h->len = 0;
		if (rc != 0)
			return rc;
	}
	return len > 0 ? sink(ctx, data, len) : 0;
}

int deliver_input_read(int fd, deliver_sink_fn *sink, void *ctx)
{
	static struct deliver_head head;
	memset(&head, 0, sizeof(head));
	head.first = true;
	char chunk[64 * 1024];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return EX_TEMPFAIL;
		}
		int rc = deliver_head_feed(&head, chunk, (size_t)n, sink, ctx);
		if (rc != 0)
			return rc;
	}
	/* a message that ended inside its first lines */
	return head.len > 0 ? sink(ctx, head.line, head.len) : 0;
}
