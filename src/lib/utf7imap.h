/*
 * utf7imap.h - mailbox names: modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8,
 * and the check of UTF-8 names as IMAP4rev2 sends them (RFC 9051 5.1).
 *
 * Modified UTF-7: printable US-ASCII (0x20-0x7e) except "&" stands for
 * itself, "&" is "&-", and everything else is UTF-16BE in base64 with ","
 * for "/", between "&" and "-". Decoding is strict, so that one mailbox
 * has exactly one spelling (RFC 3501 5.1.3 asks servers to verify names
 * given to CREATE): it refuses
 *   - bytes outside 0x20-0x7e, and "&" not closed by "-";
 *   - base64 characters outside the modified alphabet, or "=" padding;
 *   - non-canonical base64: leftover bits that are not zero, or a whole
 *     extra base64 character;
 *   - encoded printable US-ASCII ("&AEE-" for "A"), and null shifts: an
 *     encoded run right after another one ("&U,BTFw-&ZeVnLIqe-");
 *   - UTF-16 that is not well-formed (unpaired surrogates);
 *   - control characters: U+0000-U+001F, U+007F-U+009F (RFC 9051 5.1
 *     lets servers refuse names with Unicode CTL characters; they are
 *     trouble in file names and logs).
 * Encoding produces exactly that canonical form, from well-formed UTF-8
 * (RFC 3629: no overlongs, no surrogates, nothing over U+10FFFF) without
 * control characters; so decode(encode(x)) == x and encode(decode(y)) == y.
 *
 * Output goes to a caller buffer of cap bytes and is NUL-terminated; the
 * *_MAX macros give a cap that is always enough. Pure: no allocation.
 */
#ifndef YUBIN_LIB_UTF7IMAP_H
#define YUBIN_LIB_UTF7IMAP_H

#include <stdbool.h>
#include <stddef.h>

enum utf7imap_result {
	UTF7IMAP_OK,
	UTF7IMAP_INVALID, /* the input breaks the rules above */
	UTF7IMAP_NOSPACE, /* cap too small (output then undefined) */
};

/* Room (including the NUL) for decoding len bytes of modified UTF-7: a
 * base64 run of k characters gives at most 9k/8 bytes of UTF-8. */
#define UTF7IMAP_DECODE_MAX(len) ((len) + (len) / 8 + 1)
/* Room (including the NUL) for encoding len bytes of UTF-8: a lone
 * two-byte character becomes five ("&AOk-"), "&" becomes two. */
#define UTF7IMAP_ENCODE_MAX(len) ((len) / 2 * 5 + 3)

/* Modified UTF-7 -> UTF-8. */
enum utf7imap_result utf7imap_to_utf8(const char *in, size_t len, char *out, size_t cap,
				      size_t *out_len_r);
/* UTF-8 -> modified UTF-7. */
enum utf7imap_result utf7imap_from_utf8(const char *in, size_t len, char *out, size_t cap,
					size_t *out_len_r);

/* True if in[0..len) is canonical modified UTF-7 under the rules above. */
bool utf7imap_valid(const char *in, size_t len);

/*
 * A UTF-8 mailbox name as IMAP4rev2 (and UTF8=ACCEPT, RFC 6855 3) clients
 * send it: Net-Unicode (RFC 5198 2, required by RFC 9051 5.1): well-formed
 * UTF-8, no control characters (C0, DEL, C1), no U+2028/U+2029. Empty
 * input is valid (the caller decides whether "" is a name). Normalisation
 * (NFC) is not checked.
 */
bool utf7imap_utf8_name_valid(const char *in, size_t len);

#endif
