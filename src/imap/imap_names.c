/*
 * imap_names.c - mailbox names on the wire and in the store.
 *
 * The store names folders in UTF-8 with '/' as the separator. On the wire
 * an IMAP4rev1 client uses modified UTF-7 (RFC 3501 5.1.3); an IMAP4rev2
 * client (RFC 9051 5.1) or one that enabled UTF8=ACCEPT (RFC 6855) uses
 * UTF-8. "INBOX" is case-insensitive everywhere (RFC 9051 5.1).
 */
#include "imap/imap_internal.h"

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/utf7imap.h"

#include <string.h>
#include <strings.h>

char *imap_name_from_client(const struct imap_session *s, const char *name, size_t len)
{
	char *out;
	if (len >= 5 && strncasecmp(name, "INBOX", 5) == 0 && (len == 5 || name[5] == '/')) {
		/* "inbox/x" is a child of INBOX */
		out = xstrndup(name, len);
		memcpy(out, "INBOX", 5);
		return out;
	}
	if (imap_utf8_names(s)) {
		if (!utf7imap_utf8_name_valid(name, len))
			return NULL;
		/* a rev2 client may still send modified UTF-7 it got before */
		return xstrndup(name, len);
	}
	size_t cap = UTF7IMAP_DECODE_MAX(len);
	out = xmalloc(cap);
	size_t n;
	if (utf7imap_to_utf8(name, len, out, cap, &n) != UTF7IMAP_OK) {
		free(out);
		return NULL;
	}
	return out;
}

void imap_name_to_client(const struct imap_session *s, const char *name, struct buf *out)
{
	size_t len = strlen(name);
	if (imap_utf8_names(s)) {
		imap_quote(out, name, len);
		return;
	}
	size_t cap = UTF7IMAP_ENCODE_MAX(len);
	char *enc = xmalloc(cap);
	size_t n;
	if (utf7imap_from_utf8(name, len, enc, cap, &n) != UTF7IMAP_OK) {
		/* the store only holds valid names; be safe anyway */
		n = 0;
	}
	imap_quote(out, enc, n);
	free(enc);
}

/*
 * LIST pattern matching (RFC 9051 6.3.9): "*" matches anything, "%"
 * anything but the separator. Dynamic programming over (pattern position,
 * name position): O(pattern x name) whatever the pattern, so a hostile one
 * ("*a*a*a*a...b") cannot make it explode.
 */
static bool imap_match_here(const char *pat, const char *name)
{
	size_t n = strlen(name);
	bool *dp = xcalloc(n + 1, sizeof(bool)), *next = xcalloc(n + 1, sizeof(bool));
	dp[0] = true; /* the empty pattern matches the empty name */
	for (; *pat != '\0'; pat++) {
		bool any = false;
		for (size_t j = 0; j <= n; j++) {
			if (*pat == '*')
				next[j] = dp[j] || (j > 0 && next[j - 1]);
			else if (*pat == '%')
				next[j] = dp[j] || (j > 0 && name[j - 1] != '/' && next[j - 1]);
			else
				next[j] = j > 0 && dp[j - 1] && name[j - 1] == *pat;
			any = any || next[j];
		}
		bool *t = dp;
		dp = next;
		next = t;
		if (!any)
			break;
	}
	bool r = *pat == '\0' && dp[n];
	free(dp);
	free(next);
	return r;
}

bool imap_list_match(const char *pattern, const char *name)
{
	/* INBOX matches case-insensitively */
	if (strncasecmp(pattern, "INBOX", 5) == 0 && strncmp(name, "INBOX", 5) == 0) {
		char *p = xstrdup(pattern);
		memcpy(p, "INBOX", 5);
		bool r = imap_match_here(p, name);
		free(p);
		return r;
	}
	return imap_match_here(pattern, name);
}
