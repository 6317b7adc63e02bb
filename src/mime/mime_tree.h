/*
 * mime_tree.h - the structure of one message, as IMAP needs it.
 *
 * mime_parser.h builds a tree from the message bytes; FETCH BODYSTRUCTURE,
 * BODY, ENVELOPE (mime_imap.h) and BODY[section] (mime_section.h) then work
 * from the tree alone. The tree is flat and position-independent so that it
 * can be serialised into the index (mime_tree_serialize) and read back with
 * full validation (mime_tree_deserialize): FETCH never re-parses a message.
 *
 * Parts are stored in pre-order: part 0 is the message itself (its header
 * is the message header, its body the message text). A multipart's
 * children follow it; a message/rfc822 part has exactly one child, the
 * encapsulated message, whose header is that message's header. The child
 * starts where the part's body starts and ends where it ends, or one line
 * break before (see mime_parser.c, close_at: Dovecot's sizes).
 *
 * Offsets: every part has a header range [hdr_off, hdr_off + hdr_len) and
 * a body range [body_off, body_off + body_len), body_off == hdr_off +
 * hdr_len, in bytes of the stored file (raw, whatever its line endings).
 * The header range includes the empty line that ends it. Sizes (hdr_size,
 * body_size) count the same ranges as IMAP sends them, every bare LF as
 * CRLF (RFC 9051 2.3.4, 7.5.2); body_lines counts the LFs in the body.
 * RFC 2046 5.1.1: the line break before a boundary line belongs to the
 * boundary, so it is in no part's body.
 *
 * Strings live in one pool: a struct mime_str is (offset, length) in it;
 * off == MIME_NONE means absent (IMAP NIL). Every pool string is followed
 * by a NUL (not counted), but may itself contain NULs: use the length.
 * Header field values are kept as sent, from after the colon and the white
 * space that follows it (all of it, unless the first line has nothing
 * else: then one), with each fold kept as a single LF before the white
 * space of the next line (mime_imap.h unfolds them for IMAP).
 */
#ifndef YUBIN_MIME_TREE_H
#define YUBIN_MIME_TREE_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_NONE UINT32_MAX

/*
 * Limits. Past each one the parser still produces a valid tree and marks
 * what it left out (MIME_PART_* flags below); nothing grows without bound.
 */
#define MIME_MAX_DEPTH 50                /* nesting below the message: deeper parts are leaves */
#define MIME_MAX_PARTS 10000             /* parts in one tree, the message included */
#define MIME_MAX_FIELD (64 * 1024)       /* bytes of one header field kept (unfolded) */
#define MIME_MAX_PARAMS 64               /* parameters per Content-Type/-Disposition */
#define MIME_MAX_LANGS 32                /* Content-Language tags per part */
#define MIME_MAX_ENV_FIELDS 256          /* envelope header fields per message header */
#define MIME_MAX_POOL (4u * 1024 * 1024) /* string bytes per tree */
#define MIME_MAX_BOUNDARY 200            /* boundary bytes compared (RFC 2046 allows 70) */
#define MIME_MAX_ENTRIES 65536           /* parameters, languages, envelope fields per tree */

struct mime_str {
	uint32_t off; /* into mime_tree.pool, or MIME_NONE */
	uint32_t len;
};

/* A contiguous run of entries in one of the tree's arrays. */
struct mime_list {
	uint32_t first;
	uint32_t count;
};

/* A Content-Type or Content-Disposition parameter, as BODYSTRUCTURE shows
 * it: RFC 2231 continuations are merged ("name*" for an extended value,
 * still charset'language'%XX encoded; see mime_param_value()). */
struct mime_param {
	struct mime_str name;
	struct mime_str value;
};

/* The header fields ENVELOPE is made of (RFC 9051 7.5.2), in its order. */
enum mime_env_field {
	MIME_ENV_DATE,
	MIME_ENV_SUBJECT,
	MIME_ENV_FROM,
	MIME_ENV_SENDER,
	MIME_ENV_REPLY_TO,
	MIME_ENV_TO,
	MIME_ENV_CC,
	MIME_ENV_BCC,
	MIME_ENV_IN_REPLY_TO,
	MIME_ENV_MESSAGE_ID,
	MIME_ENV_COUNT
};

/* One occurrence of an envelope header field, in header order. */
struct mime_env_hdr {
	uint32_t field; /* enum mime_env_field */
	struct mime_str value;
};

enum mime_kind {
	MIME_KIND_LEAF,      /* anything that is not one of the two below */
	MIME_KIND_MULTIPART, /* multipart/\*: children are its body parts */
	MIME_KIND_MESSAGE,   /* message/rfc822: one child, the encapsulated message */
};

/* Declared multipart or message/rfc822, but MIME_MAX_DEPTH or
 * MIME_MAX_PARTS was reached: kept as a leaf, shown as
 * application/octet-stream. */
#define MIME_PART_TRUNCATED 0x01u
/* A header field was longer than MIME_MAX_FIELD or had more than
 * MIME_MAX_PARAMS parameters (or the pool was full): it was cut. */
#define MIME_PART_CUT 0x02u
/* Multipart whose further body parts were dropped (MIME_MAX_PARTS). */
#define MIME_PART_DROPPED 0x04u
#define MIME_PART_FLAGS_ALL 0x07u

struct mime_part {
	/* links, derived from the pre-order and the parent index */
	uint32_t parent; /* MIME_NONE for part 0 */
	uint32_t child;  /* first child or MIME_NONE */
	uint32_t next;   /* next sibling or MIME_NONE */
	uint32_t nchildren;
	uint32_t depth; /* 0 for part 0 */

	uint8_t kind;  /* enum mime_kind */
	uint8_t flags; /* MIME_PART_* */

	uint64_t hdr_off, hdr_len, body_off, body_len; /* raw file bytes */
	uint64_t hdr_size, body_size;                  /* CRLF octets */
	uint64_t body_lines;

	/* From Content-Type; type absent: none, or not valid (RFC 2045 5.2
	 * default: text/plain, or message/rfc822 in multipart/digest). */
	struct mime_str type, subtype;
	struct mime_list params;  /* into mime_tree.params */
	struct mime_str id;       /* Content-ID */
	struct mime_str descr;    /* Content-Description */
	struct mime_str encoding; /* Content-Transfer-Encoding token */
	struct mime_str md5;      /* Content-MD5 */
	struct mime_str disposition;
	struct mime_list dparams; /* into mime_tree.params */
	struct mime_list langs;   /* into mime_tree.langs */
	struct mime_str location; /* Content-Location */
	struct mime_list env;     /* into mime_tree.env; message headers only */
};

/* Some part was cut by a limit (any MIME_PART_* flag, or the pool). */
#define MIME_TREE_LIMITED 0x01u

struct mime_tree {
	struct mime_part *parts;
	uint32_t nparts;
	struct mime_param *params;
	uint32_t nparams;
	struct mime_str *langs;
	uint32_t nlangs;
	struct mime_env_hdr *env;
	uint32_t nenv;
	char *pool;
	uint32_t pool_len;

	uint64_t size;      /* bytes of the whole message as stored */
	uint64_t crlf_size; /* the same in CRLF form (RFC822.SIZE) */
	uint32_t flags;     /* MIME_TREE_* */

	/* allocation sizes; not part of the contract */
	uint32_t cap_parts, cap_params, cap_langs, cap_env, cap_pool;
};

void mime_tree_free(struct mime_tree **t);

/* The bytes of s (NUL-terminated) or NULL if it is absent. */
const char *mime_str_ptr(const struct mime_tree *t, struct mime_str s);
bool mime_str_present(struct mime_str s);
/* Case-insensitive ASCII comparison of s with the C string lit. */
bool mime_str_eq(const struct mime_tree *t, struct mime_str s, const char *lit);

/* True if part i's header is a message header (RFC 5322): part 0 and the
 * child of every message/rfc822 part. Only those carry an envelope. */
bool mime_part_is_message(const struct mime_tree *t, uint32_t i);

/* The n-th child (1-based) of part i, or MIME_NONE. */
uint32_t mime_part_nth_child(const struct mime_tree *t, uint32_t i, uint32_t n);

/*
 * The parameter called name (ASCII case-insensitive) in list, decoded:
 * RFC 2231 extended values ("name*") are percent-decoded and converted
 * from their charset to UTF-8 (mime_charset.h), plain values are copied
 * as they are. Appends to out. Returns false if there is no such
 * parameter or out is full.
 */
bool mime_param_value(const struct mime_tree *t, struct mime_list list, const char *name,
                      struct buf *out);

/*
 * Version of the cache encoding. It changes whenever the encoding or what
 * the parser produces for some message changes, so that an index holding
 * older entries finds them refused and parses those messages again.
 */
#define MIME_TREE_FORMAT 1

/*
 * Serialise the tree into a compact, versioned byte string (appended to
 * out); false only if out's maximum is reached. The encoding is canonical:
 * mime_tree_serialize(mime_tree_deserialize(x)) == x for every x that
 * deserialises.
 */
bool mime_tree_serialize(const struct mime_tree *t, struct buf *out);

/*
 * Read a serialised tree back, checking everything: version, every index
 * and string inside its array, ranges nested inside their parents and in
 * order, sizes consistent, limits respected, no trailing bytes. Returns
 * NULL for anything else (a corrupt or foreign cache entry), never crashes.
 * The caller frees the result with mime_tree_free().
 */
struct mime_tree *mime_tree_deserialize(const void *data, size_t len);

#endif
