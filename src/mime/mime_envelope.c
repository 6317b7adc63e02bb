/*
 * mime_envelope.c - FETCH ENVELOPE (RFC 9051 7.5.2) from the envelope
 * fields a mime_tree keeps for each message header; see mime_imap.h.
 */
#include "mime/mime_address.h"
#include "mime/mime_imap.h"

#include <string.h>

/* The last occurrence of a string field (a later Subject replaces an
 * earlier one, as in Dovecot), or absent. */
static struct mime_str last_field(const struct mime_tree *t, struct mime_list env,
                                  enum mime_env_field f)
{
	struct mime_str s = {MIME_NONE, 0};
	for (uint32_t k = 0; k < env.count; k++) {
		if (t->env[env.first + k].field == (uint32_t)f)
			s = t->env[env.first + k].value;
	}
	return s;
}

/* Every occurrence of an address field, parsed into one list: a second
 * From is not hidden behind the first (what a user would see matters). */
static void collect(const struct mime_tree *t, struct mime_list env, enum mime_env_field f,
                    struct mime_addr_list *l)
{
	for (uint32_t k = 0; k < env.count; k++) {
		const struct mime_env_hdr *h = &t->env[env.first + k];
		if (h->field == (uint32_t)f)
			mime_address_parse(mime_str_ptr(t, h->value), h->value.len, l);
	}
}

static bool str_or_nil(struct buf *out, const struct mime_addr_list *l, struct mime_addr_str s,
                       unsigned flags)
{
	return mime_imap_nstring(out, mime_addr_text(l, s), s.len, flags);
}

static bool write_addresses(struct buf *out, const struct mime_addr_list *l, unsigned flags)
{
	if (l->count == 0)
		return buf_append_str(out, "NIL");
	bool ok = buf_append_byte(out, '(');
	for (size_t i = 0; i < l->count && ok; i++) {
		const struct mime_addr *a = &l->v[i];
		ok = buf_append_byte(out, '(') &&
		     mime_imap_human(out, mime_addr_text(l, a->name), a->name.len, flags) &&
		     buf_append_byte(out, ' ') && str_or_nil(out, l, a->route, flags) &&
		     buf_append_byte(out, ' ') && str_or_nil(out, l, a->mailbox, flags) &&
		     buf_append_byte(out, ' ') && str_or_nil(out, l, a->host, flags) &&
		     buf_append_byte(out, ')');
	}
	return ok && buf_append_byte(out, ')');
}

static bool write_string(struct buf *out, const struct mime_tree *t, struct mime_list env,
                         enum mime_env_field f, unsigned flags)
{
	struct mime_str s = last_field(t, env, f);
	if (f == MIME_ENV_SUBJECT)
		return mime_imap_human(out, mime_str_ptr(t, s), s.len, flags);
	return mime_imap_nstring_nolf(out, mime_str_ptr(t, s), s.len, flags);
}

bool mime_imap_envelope(const struct mime_tree *t, uint32_t i, unsigned flags, struct buf *out)
{
	struct mime_list env = {0, 0};
	if (mime_part_is_message(t, i))
		env = t->parts[i].env;
	struct mime_addr_list lists[6]; /* from sender reply-to to cc bcc */
	bool ok = buf_append_byte(out, '(') && write_string(out, t, env, MIME_ENV_DATE, flags) &&
	          buf_append_byte(out, ' ') && write_string(out, t, env, MIME_ENV_SUBJECT, flags);
	for (int k = 0; k < 6; k++) {
		mime_addr_list_init(&lists[k]);
		collect(t, env, (enum mime_env_field)(MIME_ENV_FROM + k), &lists[k]);
	}
	for (int k = 0; k < 6 && ok; k++) {
		/* RFC 9051 7.5.2: sender and reply-to default to from */
		const struct mime_addr_list *l = &lists[k];
		if ((k == 1 || k == 2) && l->count == 0)
			l = &lists[0];
		ok = buf_append_byte(out, ' ') && write_addresses(out, l, flags);
	}
	for (int k = 0; k < 6; k++)
		mime_addr_list_deinit(&lists[k]);
	return ok && buf_append_byte(out, ' ') &&
	       write_string(out, t, env, MIME_ENV_IN_REPLY_TO, flags) &&
	       buf_append_byte(out, ' ') && write_string(out, t, env, MIME_ENV_MESSAGE_ID, flags) &&
	       buf_append_byte(out, ')');
}
