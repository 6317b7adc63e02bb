/*
 * lmtp_data.c - DATA phase decoder: end-of-data detection and dot
 * unstuffing; see lmtp_data.h.
 *
 * RFC 5321 4.1.1.4 / 4.5.2: the data ends with CRLF "." CRLF, and a line
 * that starts with "." has that dot removed. A line starts only at the
 * very beginning or after CRLF: a bare LF or bare CR never starts one, so
 * "\n.\n", "\r.\r" and "\n.\r\n" are content (SMTP smuggling, 2023).
 *
 * One choice beyond the RFC text: a "." at the start of a line that is
 * followed by a bare LF (".\n") or by a CR that is not part of CRLF
 * (".\rX") is kept, not removed. A correct client never sends those
 * unstuffed (it would have sent "..\n" or "..\rX"), so they only come from
 * a broken or hostile sender, and passing them through unchanged means
 * "\r\n.\n" is stored exactly as it was sent. Every other line-initial dot
 * is a stuffing dot and is removed.
 *
 * Only ".", ".\r" at a line start are held back between chunks (they might
 * become the terminator); everything else is written as soon as it is read.
 */
#include "lmtp_data.h"

#include <string.h>

enum lmtp_data_state {
	LMTP_DATA_LINE_START = 0, /* at the start, or just after CRLF */
	LMTP_DATA_MID,            /* inside a line, last byte not CR */
	LMTP_DATA_CR,             /* inside a line, last byte a CR (written) */
	LMTP_DATA_DOT,            /* line start + ".", held back */
	LMTP_DATA_DOT_CR,         /* line start + ".\r", held back */
	LMTP_DATA_DONE,           /* terminator seen */
};

void lmtp_data_init(struct lmtp_data *d)
{
	d->state = LMTP_DATA_LINE_START;
}

/* Length of the run of bytes at in[0..len) that are neither CR nor LF. */
static size_t lmtp_data_plain_run(const char *in, size_t len)
{
	size_t n = 0;
	while (n < len && in[n] != '\r' && in[n] != '\n')
		n++;
	return n;
}

/* One byte inside a line (state MID or CR, or a line start whose first
 * byte is not a dot). Returns the next state. */
static int lmtp_data_content_byte(int state, char c, char *out, size_t *o)
{
	out[(*o)++] = c;
	if (c == '\r')
		return LMTP_DATA_CR;
	if (c == '\n' && state == LMTP_DATA_CR)
		return LMTP_DATA_LINE_START;
	return LMTP_DATA_MID;
}

/* A byte after the held-back line-initial ".". */
static int lmtp_data_after_dot(char c, char *out, size_t *o)
{
	if (c == '\r')
		return LMTP_DATA_DOT_CR;
	if (c == '\n') {
		/* ".\n": a bare LF, content; keep the dot (see above). */
		out[(*o)++] = '.';
		out[(*o)++] = '\n';
		return LMTP_DATA_MID;
	}
	/* A stuffing dot: drop it, keep the byte. */
	out[(*o)++] = c;
	return LMTP_DATA_MID;
}

enum lmtp_data_status lmtp_data_feed(struct lmtp_data *d, const char *in, size_t len, char *out,
				     size_t *out_len_r, size_t *consumed_r)
{
	size_t i = 0, o = 0;
	int state = d->state;
	while (i < len && state != LMTP_DATA_DONE) {
		char c = in[i];
		switch (state) {
		case LMTP_DATA_LINE_START:
			if (c == '.') {
				state = LMTP_DATA_DOT;
				i++;
				break;
			}
			/* fall through */
		case LMTP_DATA_MID:
		case LMTP_DATA_CR: {
			size_t run = state == LMTP_DATA_CR ? 0 : lmtp_data_plain_run(in + i, len - i);
			if (run > 0) {
				memcpy(out + o, in + i, run);
				o += run;
				i += run;
				state = LMTP_DATA_MID;
				break;
			}
			state = lmtp_data_content_byte(state, c, out, &o);
			i++;
			break;
		}
		case LMTP_DATA_DOT:
			state = lmtp_data_after_dot(c, out, &o);
			i++;
			break;
		case LMTP_DATA_DOT_CR:
			if (c == '\n') {
				state = LMTP_DATA_DONE;
				i++;
				break;
			}
			/* ".\r" not followed by LF: content, the dot kept (see
			 * above). Reprocess c as the byte after a CR. */
			out[o++] = '.';
			out[o++] = '\r';
			state = LMTP_DATA_CR;
			break;
		}
	}
	d->state = state;
	*out_len_r = o;
	*consumed_r = i;
	return state == LMTP_DATA_DONE ? LMTP_DATA_END : LMTP_DATA_MORE;
}
