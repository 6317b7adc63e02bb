/*
 * fuzz_imap.c - libFuzzer harness for the pure IMAP code.
 *
 * The input (after a first byte that picks limits and literal decisions)
 * is a client's command stream. It is parsed whole, split in two at a
 * position derived from the input, and (when short) a byte at a time; the
 * transcripts of everything the parser reported must be identical. Every
 * command parsed is checked for well-formedness, written back out in wire
 * form and parsed again (same tree), and its atoms and strings go through
 * the sequence set parser (format/parse round trip, membership, UID
 * conversions) and the modified UTF-7 codec (round trips both ways).
 */
#include "imap/imap_arg.h"
#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"
#include "lib/buf.h"
#include "lib/utf7imap.h"

#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- writing commands: a dump for transcripts, and the wire form ---- */

static void dump_str(struct buf *b, const char *s, size_t len)
{
	buf_append_byte(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			buf_appendf(b, "\\x%02x", c);
		else
			buf_append_byte(b, (char)c);
	}
	buf_append_byte(b, '"');
}

static void dump_arg(struct buf *b, const struct imap_arg *a, bool wire)
{
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
		buf_append(b, a->str, a->len);
		break;
	case IMAP_ARG_QUOTED:
		if (!wire) {
			buf_append_str(b, "Q");
			dump_str(b, a->str, a->len);
			break;
		}
		buf_append_byte(b, '"');
		for (size_t i = 0; i < a->len; i++) {
			if (a->str[i] == '"' || a->str[i] == '\\')
				buf_append_byte(b, '\\');
			buf_append_byte(b, a->str[i]);
		}
		buf_append_byte(b, '"');
		break;
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_STREAMED:
		buf_appendf(b, "%s%s%zu%s}%s", a->type == IMAP_ARG_STREAMED ? "<s>" : "",
		            a->flags & IMAP_ARG_LITERAL8 ? "~{" : "{", a->len,
		            a->flags & IMAP_ARG_NONSYNC ? "+" : "", wire ? "\r\n" : "");
		if (a->type == IMAP_ARG_LITERAL) {
			if (wire)
				buf_append(b, a->str, a->len);
			else
				dump_str(b, a->str, a->len);
		}
		break;
	case IMAP_ARG_LIST:
	case IMAP_ARG_SECTION:
		if (a->type == IMAP_ARG_SECTION)
			buf_append(b, a->str, a->len);
		buf_append_byte(b, a->type == IMAP_ARG_LIST ? '(' : '[');
		for (size_t i = 0; i < a->count; i++) {
			if (i > 0)
				buf_append_byte(b, ' ');
			dump_arg(b, &a->list[i], wire);
		}
		buf_append_byte(b, a->type == IMAP_ARG_LIST ? ')' : ']');
		if (a->type == IMAP_ARG_SECTION)
			buf_append(b, a->suffix, a->suffix_len);
		break;
	}
}

static void dump_command(struct buf *b, const struct imap_command *cmd, bool wire)
{
	buf_append(b, cmd->tag, cmd->tag_len);
	buf_append_byte(b, ' ');
	buf_append(b, cmd->name, cmd->name_len);
	for (size_t i = 0; i < cmd->argc; i++) {
		buf_append_byte(b, ' ');
		dump_arg(b, &cmd->args[i], wire);
	}
	if (wire)
		buf_append_str(b, "\r\n");
}

/* ---- checks on a parsed tree ---- */

static bool has_streamed(const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (args[i].type == IMAP_ARG_STREAMED)
			return true;
		if (args[i].count > 0 && has_streamed(args[i].list, args[i].count))
			return true;
	}
	return false;
}

/* quoted = *QUOTED-CHAR: no NUL, CR, LF; 8-bit only as well-formed UTF-8
 * (RFC 3629 4), checked here independently of the parser's own code. */
static bool utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c == 0 || c == '\r' || c == '\n')
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static void check_views(const struct imap_arg *a)
{
	const char *s;
	size_t n;
	uint32_t u;
	uint64_t v;
	bool present;
	if (imap_arg_atom(a, &s, &n))
		CHECK(imap_arg_astring(a, &s, &n) && imap_arg_list_mailbox(a, &s, &n) &&
		      imap_arg_flag(a, &s, &n));
	if (imap_arg_string(a, &s, &n))
		CHECK(imap_arg_astring(a, &s, &n) && imap_arg_nstring(a, &s, &n));
	if (imap_arg_astring(a, &s, &n))
		CHECK(imap_arg_list_mailbox(a, &s, &n) && s == a->str && n == a->len);
	if (imap_arg_nz_number(a, &u))
		CHECK(u > 0 && imap_arg_number(a, &u));
	if (imap_arg_number(a, &u))
		CHECK(imap_arg_number64(a, &v) && v == u);
	if (imap_arg_section_partial(a, &present, &v, &v))
		CHECK(a->type == IMAP_ARG_SECTION);
}

static void check_arg(const struct imap_arg *a, unsigned depth, unsigned max_depth,
		      size_t *nodes)
{
	(*nodes)++;
	check_views(a);
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
		CHECK(a->len > 0 && a->str[a->len] == '\0');
		for (size_t i = 0; i < a->len; i++) {
			unsigned char c = (unsigned char)a->str[i];
			CHECK(c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"');
			CHECK(c != '\\' || i == 0);
		}
		CHECK(a->type == IMAP_ARG_ATOM || strcasecmp(a->str, "NIL") == 0);
		break;
	case IMAP_ARG_QUOTED:
		CHECK(a->str[a->len] == '\0' && utf8_ok(a->str, a->len));
		break;
	case IMAP_ARG_LITERAL:
		CHECK(a->str[a->len] == '\0');
		if ((a->flags & IMAP_ARG_LITERAL8) == 0)
			CHECK(memchr(a->str, '\0', a->len) == NULL);
		break;
	case IMAP_ARG_STREAMED:
		CHECK(a->str == NULL);
		break;
	case IMAP_ARG_SECTION:
		CHECK(a->len >= 4 && a->str[a->len] == '\0');
		CHECK(a->suffix != NULL && a->suffix[a->suffix_len] == '\0');
		/* fall through */
	case IMAP_ARG_LIST:
		CHECK(depth <= max_depth);
		for (size_t i = 0; i < a->count; i++)
			check_arg(&a->list[i], depth + 1, max_depth, nodes);
		break;
	}
}

/* ---- sequence sets and modified UTF-7 on values ---- */

static const uint32_t fuzz_uids[] = {2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 4294967295u};
#define FUZZ_NUIDS (sizeof(fuzz_uids) / sizeof(fuzz_uids[0]))

static void fuzz_seqset(const char *s, size_t len)
{
	struct imap_seqset set, again, conv;
	imap_seqset_init(&set, 64);
	imap_seqset_init(&again, 64);
	imap_seqset_init(&conv, 64);
	uint32_t star = (uint32_t)len * 13;
	if (imap_seqset_parse(&set, s, len, star) == IMAP_SEQSET_OK && !set.saved) {
		struct buf b;
		buf_init(&b, 0);
		CHECK(imap_seqset_write(&set, &b));
		CHECK(imap_seqset_parse(&again, b.ptr, b.len, star) == IMAP_SEQSET_OK);
		CHECK(again.count == set.count && set.count > 0);
		CHECK(memcmp(again.ranges, set.ranges, set.count * sizeof(set.ranges[0])) == 0);
		for (size_t i = 0; i < set.count; i++) {
			CHECK(set.ranges[i].lo >= 1 && set.ranges[i].lo <= set.ranges[i].hi);
			if (i > 0)
				CHECK((uint64_t)set.ranges[i - 1].hi + 1 < set.ranges[i].lo);
			CHECK(imap_seqset_contains(&set, set.ranges[i].lo));
			CHECK(imap_seqset_contains(&set, set.ranges[i].hi));
			CHECK(!imap_seqset_contains(&set, set.ranges[i].lo - 1));
		}
		if (imap_seqset_uids_to_seqs(&set, fuzz_uids, FUZZ_NUIDS, &conv) ==
		    IMAP_SEQSET_OK) {
			for (uint32_t k = 1; k <= FUZZ_NUIDS; k++)
				CHECK(imap_seqset_contains(&conv, k) ==
				      imap_seqset_contains(&set, fuzz_uids[k - 1]));
		}
		if (imap_seqset_seqs_to_uids(&set, fuzz_uids, FUZZ_NUIDS, &conv) ==
		    IMAP_SEQSET_OK) {
			for (uint32_t k = 1; k <= FUZZ_NUIDS; k++)
				CHECK(imap_seqset_contains(&conv, fuzz_uids[k - 1]) ==
				      imap_seqset_contains(&set, k));
			CHECK(imap_seqset_count(&conv) <= FUZZ_NUIDS);
		}
		buf_deinit(&b);
	}
	imap_seqset_deinit(&set);
	imap_seqset_deinit(&again);
	imap_seqset_deinit(&conv);
}

static void fuzz_utf7(const char *s, size_t len)
{
	if (len > 2048)
		return;
	size_t dcap = UTF7IMAP_DECODE_MAX(len), ecap = UTF7IMAP_ENCODE_MAX(len);
	char *dec = malloc(dcap), *enc = malloc(UTF7IMAP_ENCODE_MAX(dcap) + ecap);
	CHECK(dec != NULL && enc != NULL);
	size_t dlen, elen;
	if (utf7imap_to_utf8(s, len, dec, dcap, &dlen) == UTF7IMAP_OK) {
		CHECK(utf7imap_valid(s, len));
		CHECK(utf7imap_from_utf8(dec, dlen, enc, UTF7IMAP_ENCODE_MAX(dlen), &elen) ==
		      UTF7IMAP_OK);
		CHECK(elen == len && memcmp(enc, s, len) == 0);
	} else {
		CHECK(!utf7imap_valid(s, len));
	}
	bool name = utf7imap_utf8_name_valid(s, len);
	if (utf7imap_from_utf8(s, len, enc, ecap, &elen) == UTF7IMAP_OK) {
		CHECK(utf7imap_valid(enc, elen));
		CHECK(utf7imap_to_utf8(enc, elen, dec, UTF7IMAP_DECODE_MAX(elen), &dlen) ==
		      UTF7IMAP_OK);
		CHECK(dlen == len && memcmp(dec, s, len) == 0);
	} else {
		CHECK(!name); /* every valid name is encodable */
	}
	free(dec);
	free(enc);
}

static void fuzz_values(const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		if (a->type == IMAP_ARG_ATOM)
			fuzz_seqset(a->str, a->len);
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_QUOTED ||
		    a->type == IMAP_ARG_LITERAL)
			fuzz_utf7(a->str, a->len);
		if (a->count > 0)
			fuzz_values(a->list, a->count);
	}
}

/* ---- driving the parser ---- */

struct fuzz_cfg {
	struct imap_parser_limits limits;
	unsigned policy;
};

/* The literal decision: a function of what was announced and of the
 * number of literals so far, never of the chunking. */
static enum imap_parse_result decide(struct imap_parser *p, const struct fuzz_cfg *cfg,
				     unsigned nth, struct buf *out)
{
	const struct imap_literal *lit = imap_parser_literal(p);
	buf_appendf(out, "L %llu %d %d %u %zu [", (unsigned long long)lit->size, lit->sync,
	            lit->literal8, lit->depth, lit->index);
	dump_command(out, imap_parser_command(p), false);
	buf_append_str(out, "]\n");
	switch ((cfg->policy + nth + (unsigned)lit->size) % 5) {
	case 0:
		imap_parser_literal_refuse(p);
		return IMAP_PARSE_NEED_MORE;
	case 1:
	case 2:
		imap_parser_literal_stream(p);
		return IMAP_PARSE_NEED_MORE;
	default:
		return imap_parser_literal_store(p);
	}
}

static void roundtrip(const struct imap_command *cmd);

static void on_command(struct imap_parser *p, const struct fuzz_cfg *cfg, struct buf *out,
		       bool *line_next, bool check)
{
	const struct imap_command *cmd = imap_parser_command(p);
	buf_append_str(out, "C ");
	dump_command(out, cmd, false);
	buf_append_byte(out, '\n');
	*line_next =
	    strcasecmp(cmd->name, "IDLE") == 0 || strcasecmp(cmd->name, "AUTHENTICATE") == 0;
	if (!check)
		return;
	CHECK(cmd->tag_len > 0 && cmd->name_len > 0);
	CHECK(cmd->tag[cmd->tag_len] == '\0' && cmd->name[cmd->name_len] == '\0');
	size_t nodes = 0;
	for (size_t i = 0; i < cmd->argc; i++)
		check_arg(&cmd->args[i], 1, cfg->limits.max_depth, &nodes);
	CHECK(nodes <= cfg->limits.max_args);
	fuzz_values(cmd->args, cmd->argc);
	if (!has_streamed(cmd->args, cmd->argc))
		roundtrip(cmd);
}

static bool on_error(struct imap_parser *p, struct buf *out)
{
	const struct imap_parse_error *e = imap_parser_error(p);
	CHECK(e->reason != NULL && strchr(e->reason, '\n') == NULL);
	CHECK(e->tag == NULL || strlen(e->tag) == e->tag_len);
	buf_appendf(out, "E %d %s %s %llu %d\n", e->code, e->reason, e->tag != NULL ? e->tag : "-",
	            (unsigned long long)e->discard, e->fatal);
	return imap_parser_resync(p);
}

/* Feed in[0..len) in chunks of `chunk` bytes (0: whole), or split once at
 * `cut` when chunk is 0. check: run the per-command checks. */
static void run(const struct fuzz_cfg *cfg, const char *in, size_t len, size_t chunk, size_t cut,
		bool check, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&cfg->limits);
	size_t pos = 0, avail = 0, stream = 0;
	unsigned nth = 0;
	bool line_next = false;
	for (;;) {
		if (avail == pos) {
			if (avail == len)
				break;
			if (chunk > 0)
				avail = avail + chunk > len ? len : avail + chunk;
			else
				avail = avail < cut ? cut : len;
		}
		size_t used;
		enum imap_parse_result r =
		    line_next ? imap_parser_feed_line(p, in + pos, avail - pos, &used)
		              : imap_parser_feed(p, in + pos, avail - pos, &used);
		CHECK(used <= avail - pos);
		pos += used;
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			CHECK(pos == avail);
			break;
		case IMAP_PARSE_LITERAL:
			if (decide(p, cfg, nth++, out) == IMAP_PARSE_ERROR && !on_error(p, out))
				goto done;
			break;
		case IMAP_PARSE_LITERAL_DATA:
			CHECK(used > 0);
			stream += used;
			break;
		case IMAP_PARSE_LITERAL_END:
			buf_appendf(out, "D %zu\n", stream);
			stream = 0;
			break;
		case IMAP_PARSE_COMMAND:
			on_command(p, cfg, out, &line_next, check);
			break;
		case IMAP_PARSE_LINE: {
			size_t n;
			const char *l = imap_parser_line(p, &n);
			CHECK(l[n] == '\0' && n <= cfg->limits.max_line);
			buf_append_str(out, "N ");
			dump_str(out, l, n);
			buf_append_byte(out, '\n');
			line_next = false;
			break;
		}
		case IMAP_PARSE_ERROR:
			line_next = false;
			if (!on_error(p, out))
				goto done;
			break;
		}
	}
	buf_appendf(out, "busy %d\n", imap_parser_busy(p));
done:
	imap_parser_free(&p);
}

/* Write the command out and parse it again: the same tree must come back. */
static void roundtrip(const struct imap_command *cmd)
{
	struct fuzz_cfg cfg;
	imap_parser_limits_default(&cfg.limits, true);
	cfg.limits.max_nonsync = IMAP_NONSYNC_ANY;
	cfg.limits.max_depth = IMAP_PARSER_DEPTH_CAP;
	cfg.limits.max_line = SIZE_MAX / 8;
	cfg.limits.max_command = SIZE_MAX / 8;
	struct buf wire, want, got;
	buf_init(&wire, 0);
	buf_init(&want, 0);
	buf_init(&got, 0);
	dump_command(&wire, cmd, true);
	buf_append_str(&want, "C ");
	dump_command(&want, cmd, false);
	buf_append_str(&want, "\nbusy 0\n");

	struct imap_parser *p = imap_parser_new(&cfg.limits);
	size_t pos = 0, used;
	enum imap_parse_result r;
	while ((r = imap_parser_feed(p, wire.ptr + pos, wire.len - pos, &used)) ==
	       IMAP_PARSE_LITERAL) {
		pos += used;
		CHECK(imap_parser_literal_store(p) == IMAP_PARSE_NEED_MORE);
	}
	pos += used;
	CHECK(r == IMAP_PARSE_COMMAND && pos == wire.len);
	buf_append_str(&got, "C ");
	dump_command(&got, imap_parser_command(p), false);
	buf_append_str(&got, "\nbusy 0\n");
	if (strcmp(got.ptr, want.ptr) != 0) {
		fprintf(stderr, "round trip:\n%s\n%s\n", want.ptr, got.ptr);
		CHECK(!"round trip differs");
	}
	imap_parser_free(&p);
	buf_deinit(&wire);
	buf_deinit(&want);
	buf_deinit(&got);
}

static void config(uint8_t b, struct fuzz_cfg *cfg)
{
	imap_parser_limits_default(&cfg->limits, (b & 2) != 0);
	if (b & 1) {
		cfg->limits.max_line = 48;
		cfg->limits.max_command = 160;
		cfg->limits.max_literal = 64;
		cfg->limits.max_depth = 4;
		cfg->limits.max_args = 24;
	}
	static const uint64_t nonsync[] = {0, 16, IMAP_LITERAL_MINUS_MAX, IMAP_NONSYNC_ANY};
	cfg->limits.max_nonsync = nonsync[(b >> 2) & 3];
	cfg->policy = b >> 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct fuzz_cfg cfg;
	config(data[0], &cfg);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct buf whole, other;
	buf_init(&whole, 0);
	buf_init(&other, 0);
	run(&cfg, in, len, 0, len, true, &whole);

	size_t cut = 0;
	if (len > 0)
		cut = ((size_t)data[len] * 131 + (size_t)data[len / 2] * 7 + len) % (len + 1);
	run(&cfg, in, len, 0, cut, false, &other);
	if (strcmp(whole.ptr, other.ptr) != 0) {
		fprintf(stderr, "split at %zu differs:\n%s\n---\n%s\n", cut, whole.ptr, other.ptr);
		CHECK(!"split result differs");
	}
	if (len <= 1024) {
		buf_reset(&other);
		run(&cfg, in, len, 1, 0, false, &other);
		if (strcmp(whole.ptr, other.ptr) != 0) {
			fprintf(stderr, "bytewise differs:\n%s\n---\n%s\n", whole.ptr, other.ptr);
			CHECK(!"bytewise result differs");
		}
	}
	buf_deinit(&whole);
	buf_deinit(&other);
	return 0;
}
