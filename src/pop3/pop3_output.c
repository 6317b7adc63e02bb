/*
 * pop3_output.c - stored message bytes into a POP3 multi-line body; see
 * pop3_output.h.
 *
 * The encoder never holds bytes back: a CR is written as soon as it is
 * read, because it is output unchanged whether an LF follows (CRLF) or not
 * (a lone CR, passed through). Only the meaning of the line changes, which
 * the state remembers: a line that is "\r" so far may still turn out to be
 * the empty line that ends the header. So any chunking gives the same bytes.
 */
#include "pop3_output.h"

#include <string.h>

void pop3_output_init(struct pop3_output *po, size_t body_lines)
{
	memset(po, 0, sizeof(*po));
	po->body_lines_left = body_lines;
	po->at_line_start = true;
	po->header_line_empty = true;
}

/* A line has just ended (its LF is written). RFC 1939 7 (TOP): the header
 * ends at the first empty line; after it, count body lines. */
static void pop3_output_end_line(struct pop3_output *po)
{
	po->at_line_start = true;
	po->prev_cr = false;
	if (!po->in_body) {
		if (po->header_line_empty) {
			po->in_body = true;
			if (po->body_lines_left == 0)
				po->done = true;
		}
		po->header_line_empty = true;
		return;
	}
	if (po->body_lines_left == POP3_OUTPUT_ALL_LINES)
		return;
	if (--po->body_lines_left == 0)
		po->done = true;
}

/* Length of the run of bytes at in[0..len) that are neither CR nor LF. */
static size_t pop3_output_plain_run(const char *in, size_t len)
{
	size_t n = 0;
	while (n < len && in[n] != '\r' && in[n] != '\n')
		n++;
	return n;
}

size_t pop3_output_encode(struct pop3_output *po, const char *in, size_t len, char *out)
{
	size_t o = 0;
	size_t i = 0;
	while (i < len && !po->done) {
		char c = in[i];
		if (c == '\n') {
			/* A bare LF becomes CRLF; after a CR it completes one. */
			if (!po->prev_cr)
				out[o++] = '\r';
			out[o++] = '\n';
			i++;
			pop3_output_end_line(po);
			continue;
		}
		if (po->prev_cr) {
			/* The CR before this byte ended no line: it was content. */
			po->prev_cr = false;
			po->header_line_empty = false;
		}
		if (c == '\r') {
			out[o++] = '\r';
			po->prev_cr = true;
			po->at_line_start = false;
			i++;
			continue;
		}
		/* RFC 1939 3: byte-stuff a '.' that starts a line. */
		if (po->at_line_start && c == '.')
			out[o++] = '.';
		size_t run = pop3_output_plain_run(in + i, len - i);
		memcpy(out + o, in + i, run);
		o += run;
		i += run;
		po->at_line_start = false;
		po->header_line_empty = false;
	}
	return o;
}

size_t pop3_output_finish(struct pop3_output *po, char *out)
{
	size_t o = 0;
	if (po->prev_cr) {
		out[o++] = '\n';
	} else if (!po->at_line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	po->at_line_start = true;
	po->prev_cr = false;
	return o;
}
