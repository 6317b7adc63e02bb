/*
 * lmtp_data.h - the DATA phase decoder: end-of-data detection and dot
 * unstuffing (RFC 5321 4.1.1.4, 4.5.2), pure and streaming.
 *
 * Only CRLF "." CRLF ends the data. A line begins only after CRLF (or at
 * the very start of DATA), so the sequences "\n.\n", "\r.\r", "\n.\r\n"
 * and "\r\n.\n" are message content and never end it: this is what stops
 * SMTP smuggling through a server that disagrees about line ends. Bare LF
 * and bare CR are passed through as content, unchanged.
 *
 * Unstuffing: a line that starts with "." has that first "." removed; the
 * line "." alone (".\r\n") ends the data. The message produced ends with
 * the CRLF that preceded the terminating dot (it belongs to the last line).
 * Exception: a line-initial "." followed by a bare LF or by a CR that is
 * not part of CRLF is kept, so that the sequences above ("\r\n.\n" too)
 * come out exactly as sent; a correct client never sends them unstuffed.
 */
#ifndef YUBIN_LMTP_LMTP_DATA_H
#define YUBIN_LMTP_LMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

struct lmtp_data {
	int state; /* private */
};

enum lmtp_data_status {
	LMTP_DATA_MORE, /* all input consumed, the terminator not seen yet */
	LMTP_DATA_END,  /* terminator seen; input after it was not consumed */
};

#define LMTP_DATA_OUT_MAX(len) ((len) + 2)

void lmtp_data_init(struct lmtp_data *d);

/*
 * Decode in[0..len) into out, which needs room for LMTP_DATA_OUT_MAX(len)
 * bytes (bytes held back at the end of one chunk, such as ".\r", may be
 * released with the next).
 * *out_len_r gets the number of message bytes written, *consumed_r the
 * number of input bytes used (== len unless LMTP_DATA_END, where it
 * includes the terminator).
 */
enum lmtp_data_status lmtp_data_feed(struct lmtp_data *d, const char *in, size_t len, char *out,
				     size_t *out_len_r, size_t *consumed_r);

#endif
