/*
 * imap_basesubject.c - RFC 5256 2.1 base subject and 2.2 sent date; see
 * imap_basesubject.h.
 *
 * The base subject grammar (RFC 5256 5) is ambiguous, so the RFC gives a
 * procedure that every server and disconnected client MUST follow
 * exactly; the steps below carry its numbers. Every sub-rule is
 * deterministic (a blob never contains '[' or ']', "re"/"fw" never starts
 * with '[' or ':'), so no backtracking is needed and each step is linear.
 */
#include "imap/imap_basesubject.h"

#include <string.h>

/* ASCII case-insensitive: does s start with lit (lower case)? */
static bool starts_ci(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP (BLOBCHAR: any byte but NUL, '['
 * and ']'): where the blob at p ends, or 0 if there is none. */
static size_t blob_end(const char *s, size_t p, size_t e)
{
	if (p >= e || s[p] != '[')
		return 0;
	for (size_t q = p + 1; q < e; q++) {
		if (s[q] == ']') {
			for (q++; q < e && s[q] == ' ';)
				q++;
			return q;
		}
		if (s[q] == '[' || s[q] == '\0')
			return 0;
	}
	return 0;
}

/* The first alternative of subj-leader, *subj-blob subj-refwd, with
 * subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": where it ends,
 * or 0 if the text at p is no such leader. */
static size_t refwd_end(const char *s, size_t p, size_t e)
{
	size_t q;
	while ((q = blob_end(s, p, e)) != 0)
		p = q;
	if (starts_ci(s + p, e - p, "re")) {
		p += 2;
	} else if (starts_ci(s + p, e - p, "fw")) {
		p += 2;
		if (p < e && (s[p] == 'd' || s[p] == 'D'))
			p++;
	} else {
		return 0;
	}
	while (p < e && s[p] == ' ')
		p++;
	if ((q = blob_end(s, p, e)) != 0)
		p = q;
	return p < e && s[p] == ':' ? p + 1 : 0;
}

/* Step 1 (second half): tabs and line breaks (what is left of folding)
 * become spaces, runs of spaces one. Returns the new length. */
static size_t squeeze_spaces(const char *in, size_t len, char *out)
{
	size_t n = 0;
	bool space = false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		if (ws && space)
			continue;
		out[n++] = ws ? ' ' : c;
		space = ws;
	}
	return n;
}

/* Step 2: subj-trailer = "(fwd)" / WSP, as often as it matches. */
static size_t strip_trailers(const char *s, size_t b, size_t e, bool *reply)
{
	for (;;) {
		if (e > b && s[e - 1] == ' ') {
			e--;
		} else if (e - b >= 5 && starts_ci(s + e - 5, 5, "(fwd)")) {
			e -= 5;
			*reply = true;
		} else {
			return e;
		}
	}
}

/* Steps 3 to 5: leaders, then one blob if something follows it, again
 * until nothing matches. Returns the new start. */
static size_t strip_leaders(const char *s, size_t b, size_t e, bool *reply)
{
	for (;;) {
		size_t q;
		for (;;) { /* (3) */
			if (b < e && s[b] == ' ') {
				b++;
			} else if ((q = refwd_end(s, b, e)) != 0) {
				b = q;
				*reply = true;
			} else {
				break;
			}
		}
		/* (4) the last blob stays if it is all there is: step 2 left
		 * no space at the end, so anything after it is a subj-base */
		q = blob_end(s, b, e);
		if (q == 0 || q >= e)
			return b;
		b = q;
	}
}

size_t imap_basesubject(const char *in, size_t len, char *out, bool *reply_r)
{
	size_t e = squeeze_spaces(in, len, out), b = 0;
	bool reply = false;
	for (;;) {
		e = strip_trailers(out, b, e, &reply);
		b = strip_leaders(out, b, e, &reply);
		/* (6) "[fwd:" subject "]": unwrap and start again at (2) */
		if (e - b >= 6 && starts_ci(out + b, e - b, "[fwd:") && out[e - 1] == ']') {
			b += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	if (b > 0 && e > b)
		memmove(out, out + b, e - b);
	if (reply_r != NULL)
		*reply_r = reply;
	return e - b;
}

size_t imap_basesubject_squeeze(char *s, size_t len)
{
	size_t n = squeeze_spaces(s, len, s), b = n > 0 && s[0] == ' ';
	if (n > b && s[n - 1] == ' ')
		n--;
	if (b > 0 && n > b)
		memmove(s, s + b, n - b);
	return n - b;
}

void imap_basesubject_fold(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
}

/* ---- sent date (RFC 5322 3.3, 4.3) ---- */

struct date_in {
	const char *s;
	size_t len, pos;
};

/* CFWS: white space, line breaks and (nested) comments. */
static void skip_cfws(struct date_in *d)
{
	unsigned depth = 0;
	while (d->pos < d->len) {
		char c = d->s[d->pos];
		if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (c == '\\' && depth > 0 && d->pos + 1 < d->len) {
			d->pos++;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return;
		}
		d->pos++;
	}
}

/* 1..max digits (then CFWS); *ndigits_r how many. */
static bool read_number(struct date_in *d, unsigned max, unsigned *v_r, unsigned *ndigits_r)
{
	unsigned v = 0, n = 0;
	while (d->pos < d->len && n < max && d->s[d->pos] >= '0' && d->s[d->pos] <= '9') {
		v = v * 10 + (unsigned)(d->s[d->pos++] - '0');
		n++;
	}
	if (n == 0 || (d->pos < d->len && d->s[d->pos] >= '0' && d->s[d->pos] <= '9'))
		return false;
	*v_r = v;
	if (ndigits_r != NULL)
		*ndigits_r = n;
	skip_cfws(d);
	return true;
}

/* A run of ASCII letters (then CFWS), at most max - 1 kept, lower case. */
static size_t read_word(struct date_in *d, char *w, size_t max)
{
	size_t n = 0;
	while (d->pos < d->len) {
		char c = d->s[d->pos];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c < 'a' || c > 'z')
			break;
		if (n + 1 < max)
			w[n] = c;
		n++;
		d->pos++;
	}
	w[n < max ? n : max - 1] = '\0';
	skip_cfws(d);
	return n;
}

static bool read_char(struct date_in *d, char c)
{
	if (d->pos >= d->len || d->s[d->pos] != c)
		return false;
	d->pos++;
	skip_cfws(d);
	return true;
}

static int month_of(const char *w, size_t n)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	for (int m = 0; n == 3 && m < 12; m++)
		if (memcmp(months + 3 * m, w, 3) == 0)
			return m + 1;
	return 0;
}

/* The zone as seconds east of UTC (RFC 5322 3.3 zone, 4.3 obs-zone:
 * unknown alphabetic zones and military letters mean -0000). */
static bool read_zone(struct date_in *d, int64_t *off_r)
{
	static const struct {
		const char *name;
		int hours;
	} names[] = {{"est", -5}, {"edt", -4}, {"cst", -6}, {"cdt", -5},
		     {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};
	*off_r = 0;
	if (d->pos >= d->len)
		return true; /* no zone: taken as UTC */
	char c = d->s[d->pos];
	if (c == '+' || c == '-') {
		d->pos++;
		unsigned v, n;
		if (!read_number(d, 4, &v, &n) || n != 4 || v % 100 > 59)
			return false;
		*off_r = (int64_t)(v / 100 * 3600 + v % 100 * 60) * (c == '-' ? -1 : 1);
		return true;
	}
	char w[8];
	size_t n = read_word(d, w, sizeof(w));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(w, names[i].name) == 0)
			*off_r = (int64_t)names[i].hours * 3600;
	return n > 0 || d->pos >= d->len;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year as written: 2 digits are 19xx from 50 on, else 20xx; 3 digits
 * are added to 1900 (RFC 5322 4.3). */
static unsigned full_year(unsigned y, unsigned ndigits)
{
	if (ndigits == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (ndigits == 3)
		return 1900 + y;
	return y;
}

bool imap_basesubject_sent_date(const char *in, size_t len, int64_t *t_r)
{
	struct date_in d = {in, len, 0};
	char w[16];
	unsigned day, year, ny, hour, min, sec = 0;
	skip_cfws(&d);
	if (d.pos < d.len && d.s[d.pos] > '9') { /* day-of-week "," */
		if (read_word(&d, w, sizeof(w)) == 0)
			return false;
		read_char(&d, ',');
	}
	if (!read_number(&d, 2, &day, NULL) || day < 1 || day > 31)
		return false;
	size_t wl = read_word(&d, w, sizeof(w));
	int month = month_of(w, wl);
	if (month == 0 || !read_number(&d, 4, &year, &ny) || ny < 2)
		return false;
	if (!read_number(&d, 2, &hour, NULL) || hour > 23 || !read_char(&d, ':') ||
	    !read_number(&d, 2, &min, NULL) || min > 59)
		return false;
	if (read_char(&d, ':') && (!read_number(&d, 2, &sec, NULL) || sec > 60))
		return false;
	int64_t off;
	if (!read_zone(&d, &off))
		return false;
	int64_t days = days_from_civil(full_year(year, ny), (unsigned)month, day);
	*t_r = days * 86400 + hour * 3600 + min * 60 + sec - off;
	return true;
}
