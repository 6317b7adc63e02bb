/*
 * crlf.h - count the CRLF size of a message as it streams past.
 *
 * POP3 LIST and IMAP RFC822.SIZE report the size a client receives, where
 * every line ends in CRLF (RFC 1939 3, RFC 3501 2.3.4). Messages are stored
 * as they arrived, so the "CRLF size" is the stored size plus one for every
 * LF that is not preceded by a CR (a lone CR is sent as it is and counts 1).
 * This is the W= value of a Dovecot-style file name.
 *
 * The counter also decides whether a file is "CRLF clean": every LF is
 * preceded by CR, the data ends with CRLF (or is empty) and no line starts
 * with '.'. Such a file can be sent byte-for-byte as a POP3 multi-line
 * response body. Chunks may be cut anywhere, also between CR and LF.
 */
#ifndef YUBIN_STORE_CRLF_H
#define YUBIN_STORE_CRLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crlf_eol { CRLF_EOL_NONE, CRLF_EOL_LF, CRLF_EOL_CRLF };

struct crlf_count {
	uint64_t size;           /* bytes fed */
	uint64_t crlf_size;      /* size with every bare LF counted as CRLF */
	bool prev_cr;            /* the last byte fed was CR */
	bool line_start;         /* the next byte starts a line (true at offset 0) */
	bool unclean;            /* a bare LF or a line starting with '.' was seen */
	bool starts_lf;          /* the very first byte was LF */
	enum crlf_eol first_eol; /* style of the first line ending */
};

void crlf_count_init(struct crlf_count *c);
void crlf_count_feed(struct crlf_count *c, const void *data, size_t len);

/* True if everything fed so far is CRLF clean (see above). */
bool crlf_count_clean(const struct crlf_count *c);

/*
 * Bytes a POP3 multi-line response adds to end an unterminated last line
 * (RFC 1939 3: the body ends with CRLF "." CRLF): 0 if the data is empty
 * or ends with LF, 1 if it ends with a lone CR (completed to CRLF), else 2.
 * Only the last byte fed matters.
 */
unsigned crlf_count_eol_pad(const struct crlf_count *c);

/* CRLF size of the data counted by a followed by the data counted by b
 * (each counted from its own start): a CR ending a joins an LF starting b. */
uint64_t crlf_count_joined_size(const struct crlf_count *a, const struct crlf_count *b);

/* Count a whole file, read with pread() from offset 0 (the descriptor's
 * offset does not move); 0, or -1 with errno. */
int crlf_count_fd(int fd, struct crlf_count *c);

#endif
