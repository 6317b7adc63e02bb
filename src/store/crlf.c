/*
 * crlf.c - streaming CRLF size and "clean" detection; see crlf.h.
 *
 * The loop jumps from LF to LF with memchr() so that counting a large
 * CRLF message costs about as much as reading it. State carried between
 * chunks: whether the previous byte was a CR (for an LF at offset 0) and
 * whether the next byte starts a line (for a '.' at offset 0).
 */
#include "store/crlf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void crlf_count_init(struct crlf_count *c)
{
	memset(c, 0, sizeof(*c));
	c->line_start = true;
}

/* One LF at p[i]: was it preceded by CR (here or at the end of the
 * previous chunk)? */
static void crlf_count_lf(struct crlf_count *c, const unsigned char *p, size_t i)
{
	bool cr = i > 0 ? p[i - 1] == '\r' : c->prev_cr;
	if (!cr) {
		c->crlf_size++;
		c->unclean = true;
	}
	if (c->first_eol == CRLF_EOL_NONE)
		c->first_eol = cr ? CRLF_EOL_CRLF : CRLF_EOL_LF;
}

void crlf_count_feed(struct crlf_count *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	if (len == 0)
		return;
	if (c->size == 0 && p[0] == '\n')
		c->starts_lf = true;
	c->size += len;
	c->crlf_size += len;
	/* RFC 1939 3: a line beginning with '.' would need byte-stuffing. */
	if (c->line_start && p[0] == '.')
		c->unclean = true;
	size_t i = 0;
	for (;;) {
		const unsigned char *lf = memchr(p + i, '\n', len - i);
		if (lf == NULL)
			break;
		i = (size_t)(lf - p);
		crlf_count_lf(c, p, i);
		i++;
		if (i == len)
			break;
		if (p[i] == '.')
			c->unclean = true;
	}
	c->prev_cr = p[len - 1] == '\r';
	c->line_start = p[len - 1] == '\n';
}

bool crlf_count_clean(const struct crlf_count *c)
{
	/* Without a bare LF, ending at a line start means ending in CRLF. */
	return !c->unclean && c->line_start;
}

unsigned crlf_count_eol_pad(const struct crlf_count *c)
{
	if (c->line_start) /* also true when nothing was fed */
		return 0;
	return c->prev_cr ? 1 : 2;
}

uint64_t crlf_count_joined_size(const struct crlf_count *a, const struct crlf_count *b)
{
	uint64_t n = a->crlf_size + b->crlf_size;
	if (a->prev_cr && b->starts_lf)
		n--; /* b counted its first LF as bare, but a's CR completes it */
	return n;
}

int crlf_count_fd(int fd, struct crlf_count *c)
{
	char buf[65536];
	off_t off = 0;
	crlf_count_init(c);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		crlf_count_feed(c, buf, (size_t)n);
		off += n;
	}
}
