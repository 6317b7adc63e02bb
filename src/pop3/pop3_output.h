/*
 * pop3_output.h - turn stored message bytes into a POP3 multi-line body.
 *
 * RFC 1939 3: lines end in CRLF, a line starting with '.' gets another '.'
 * in front (byte-stuffing), and the response ends with ".\r\n". Stored
 * messages may use LF or CRLF line endings (or contain bare CRs), so the
 * encoder also normalises: every LF not preceded by CR becomes CRLF; a CR
 * not followed by LF is passed through unchanged. The encoder is streaming
 * (feed any chunk sizes) and pure: it writes into caller memory.
 *
 * TOP (RFC 1939 7): the header, the blank line that ends it, then at most
 * n lines of body. The header ends at the first empty line; a message
 * without one is all header.
 *
 * The size LIST reports (computed by the store) is the encoder's output
 * size without the stuffing dots and without the terminating ".\r\n": it
 * includes the CRLF added to a last line that lacks one, so that a client
 * receives exactly the octets announced.
 */
#ifndef YUBIN_POP3_POP3_OUTPUT_H
#define YUBIN_POP3_POP3_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_OUTPUT_ALL_LINES SIZE_MAX

struct pop3_output {
	size_t body_lines_left; /* POP3_OUTPUT_ALL_LINES for RETR */
	bool at_line_start;
	bool prev_cr;      /* last byte written was a CR that ended no line yet */
	bool in_body;      /* past the header's blank line */
	bool header_line_empty; /* current header line has no content so far */
	bool done;         /* TOP limit reached: ignore further input */
};

void pop3_output_init(struct pop3_output *po, size_t body_lines);

/* Worst-case output size for len input bytes: every byte could be an LF
 * (-> CRLF) or a '.' at line start (-> "..") */
#define POP3_OUTPUT_MAX(len) (2 * (len))

/*
 * Encode in[0..len) into out, which must have room for POP3_OUTPUT_MAX(len)
 * bytes. Returns the number of bytes written. After the TOP limit is reached
 * po->done is set and further input is ignored (the caller can stop
 * reading the file).
 */
size_t pop3_output_encode(struct pop3_output *po, const char *in, size_t len, char *out);

/* Size of the trailer pop3_output_finish() writes at most. */
#define POP3_OUTPUT_TRAILER_MAX 5

/*
 * End the response: a CRLF if the last line did not end with one (a
 * pending lone CR is completed to CRLF), then ".\r\n". Returns bytes
 * written to out (room for POP3_OUTPUT_TRAILER_MAX).
 */
size_t pop3_output_finish(struct pop3_output *po, char *out);

#endif
