/*
 * imap_folders.c - the mailbox commands of the authenticated state:
 * LIST (RFC 9051 6.3.9 with LIST-EXTENDED, RFC 5258; LIST-STATUS, RFC
 * 5819; SPECIAL-USE, RFC 6154), LSUB (RFC 3501), NAMESPACE (RFC 2342),
 * CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS.
 */
#include "imap/imap_internal.h"

#include "daemon/server_env.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "net/conn.h"
#include "store/store_imap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void imap_store_error(struct imap_session *s, int err_int, const char *what)
{
	enum store_error err = (enum store_error)err_int;
	switch (err) {
	case STORE_OK:
		imap_tagged(s, "OK %s completed.", what);
		break;
	case STORE_ERR_NOTFOUND:
		imap_tagged(s, "NO [NONEXISTENT] No such mailbox.");
		break;
	case STORE_ERR_EXISTS:
		imap_tagged(s, "NO [ALREADYEXISTS] Mailbox already exists.");
		break;
	case STORE_ERR_PERM:
		imap_tagged(s, "NO [CANNOT] %s is not possible with that name.", what);
		break;
	case STORE_ERR_EXPUNGED:
		imap_tagged(s, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
		break;
	case STORE_ERR_INUSE:
		imap_tagged(s, "NO [INUSE] Mailbox is in use, try again later.");
		break;
	case STORE_ERR_QUOTA:
		imap_tagged(s, "NO [OVERQUOTA] Quota exceeded.");
		break;
	case STORE_ERR_TEMP:
		imap_tagged(s, "NO [UNAVAILABLE] Temporary server error, try again later.");
		break;
	}
}

/* A mailbox argument in store form (heap), or NULL after answering BAD. */
char *imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg)
{
	const char *str;
	size_t len;
	if (!imap_arg_astring(arg, &str, &len)) {
		imap_bad(s, "Mailbox name expected.");
		return NULL;
	}
	char *name = imap_name_from_client(s, str, len);
	/* RFC 3501 5.1.3: a name that is not valid modified UTF-7 is refused */
	if (name == NULL)
		imap_tagged(s, "NO [CANNOT] Invalid mailbox name.");
	return name;
}

/* ---- LIST ---- */

struct imap_list_opts {
	bool sel_subscribed, sel_special_use, recursive;
	bool ret_subscribed, ret_children, ret_special_use;
	const struct imap_arg *ret_status; /* STATUS (items) or NULL */
	bool lsub;
};

static bool imap_list_parse_selection(const struct imap_arg *arg, struct imap_list_opts *o)
{
	const struct imap_arg *items;
	size_t n;
	if (!imap_arg_list(arg, &items, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (imap_arg_atom_is(&items[i], "SUBSCRIBED"))
			o->sel_subscribed = true;
		else if (imap_arg_atom_is(&items[i], "SPECIAL-USE"))
			o->sel_special_use = true;
		else if (imap_arg_atom_is(&items[i], "RECURSIVEMATCH"))
			o->recursive = true;
		else if (!imap_arg_atom_is(&items[i], "REMOTE"))
			return false;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs another option */
	return !o->recursive || o->sel_subscribed || o->sel_special_use;
}

static bool imap_list_parse_return(const struct imap_arg *args, size_t n, struct imap_list_opts *o)
{
	const struct imap_arg *items;
	size_t count;
	if (n != 2 || !imap_arg_atom_is(&args[0], "RETURN") || !imap_arg_list(&args[1], &items, &count))
		return false;
	for (size_t i = 0; i < count; i++) {
		if (imap_arg_atom_is(&items[i], "SUBSCRIBED"))
			o->ret_subscribed = true;
		else if (imap_arg_atom_is(&items[i], "CHILDREN"))
			o->ret_children = true;
		else if (imap_arg_atom_is(&items[i], "SPECIAL-USE"))
			o->ret_special_use = true;
		else if (imap_arg_atom_is(&items[i], "STATUS") && i + 1 < count &&
			 items[i + 1].type == IMAP_ARG_LIST)
			o->ret_status = &items[++i];
		else
			return false;
	}
	return true;
}

static const char *const imap_special_names[] = {"\\Drafts", "\\Sent", "\\Trash", "\\Junk",
						  "\\Archive"};

static void imap_list_attrs(const struct store_folder_info *f, const struct imap_list_opts *o,
			    bool subscribed, struct buf *out)
{
	size_t start = out->len;
	if (f->nonexistent)
		buf_append_str(out, " \\NonExistent");
	else if (f->noselect)
		buf_append_str(out, " \\Noselect");
	if (!f->nonexistent)
		buf_append_str(out, f->has_children ? " \\HasChildren" : " \\HasNoChildren");
	if (subscribed && (o->lsub || o->sel_subscribed || o->ret_subscribed))
		buf_append_str(out, " \\Subscribed");
	if (!o->lsub)
		for (size_t i = 0; i < 5; i++)
			if (f->special_use & (1u << i))
				buf_appendf(out, " %s", imap_special_names[i]);
	if (out->len > start) /* drop the leading space */
		memmove(out->ptr + start, out->ptr + start + 1, out->len - start);
	if (out->len > start)
		out->len--;
	out->ptr[out->len] = '\0';
}

static bool imap_in_list(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Does folder f match one of the patterns (already in store form)? */
static bool imap_list_matches(char **patterns, size_t np, const char *name)
{
	for (size_t i = 0; i < np; i++)
		if (imap_list_match(patterns[i], name))
			return true;
	return false;
}

static void imap_list_send(struct imap_session *s, const struct store_folder_info *f,
			   const struct imap_list_opts *o, bool subscribed, const char *extra)
{
	struct buf line;
	buf_init(&line, 0);
	buf_appendf(&line, "* %s (", o->lsub ? "LSUB" : "LIST");
	imap_list_attrs(f, o, subscribed, &line);
	buf_append_str(&line, ") \"/\" ");
	imap_name_to_client(s, f->name, &line);
	if (extra != NULL)
		buf_append_str(&line, extra);
	buf_append_str(&line, "\r\n");
	imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
	int err; /* LIST-STATUS: a folder without status gets none (RFC 5819 2) */
	if (o->ret_status != NULL && !f->noselect)
		imap_status_send(s, f->name, o->ret_status, &err);
}

/* Patterns in store form, the reference prefixed (RFC 9051 6.3.9). */
static char **imap_list_patterns(struct imap_session *s, const struct imap_arg *ref,
				 const struct imap_arg *pat, size_t *n_r)
{
	const char *r, *p;
	size_t rl, pl;
	const struct imap_arg *items = pat;
	size_t count = 1;
	if (!imap_arg_astring(ref, &r, &rl) ||
	    (pat->type == IMAP_ARG_LIST ? !imap_arg_list(pat, &items, &count) : false))
		return NULL;
	char **out = xcalloc(count + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		if (!imap_arg_list_mailbox(&items[i], &p, &pl))
			continue;
		struct buf full;
		buf_init(&full, 0);
		buf_append(&full, r, rl);
		if (rl > 0 && r[rl - 1] != '/' && pl > 0 && p[0] != '/')
			buf_append_byte(&full, '/');
		buf_append(&full, p, pl);
		char *name = imap_name_from_client(s, full.ptr != NULL ? full.ptr : "", full.len);
		buf_deinit(&full);
		if (name != NULL)
			out[n++] = name;
	}
	*n_r = n;
	return out;
}

static void imap_free_names(char **names, size_t n);

static const struct store_folder_info *imap_find_folder(const struct store_folder_info *folders,
							size_t nf, const char *name)
{
	for (size_t i = 0; i < nf; i++)
		if (strcmp(folders[i].name, name) == 0)
			return &folders[i];
	return NULL;
}

/*
 * Does a subscribed name lie below name that the patterns do not list
 * itself? Only such a child makes its unsubscribed parent appear (RFC 5258
 * 3.5 CHILDINFO, RFC 3501 6.3.9 LSUB with "%"): one that is listed speaks
 * for itself.
 */
static bool imap_has_unlisted_subscribed_child(char **subs, size_t ns, const char *name,
					       char **patterns, size_t np)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < ns; i++)
		if (strncmp(subs[i], name, len) == 0 && subs[i][len] == '/' &&
		    !imap_list_matches(patterns, np, subs[i]))
			return true;
	return false;
}

static int imap_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * LSUB and LIST (SUBSCRIBED): every subscribed name, also those that no
 * longer exist (RFC 5258 3.1: \NonExistent; LSUB: \Noselect), and with
 * RECURSIVEMATCH (or LSUB and "%") the parents of subscribed names that
 * the pattern reaches, with CHILDINFO (RFC 5258 3.5).
 */
static void imap_list_subscribed(struct imap_session *s, const struct imap_list_opts *o,
				 char **patterns, size_t np,
				 const struct store_folder_info *folders, size_t nf, char **subs,
				 size_t ns)
{
	/* the names to consider: subscriptions and all their parents */
	char **names = xcalloc(ns * 8 + 1, sizeof(char *));
	size_t n = 0, cap = ns * 8 + 1;
	for (size_t i = 0; i < ns; i++) {
		char *p = xstrdup(subs[i]);
		for (;;) {
			if (!imap_in_list(names, n, p)) {
				if (n + 1 >= cap) {
					cap *= 2;
					names = xrealloc(names, cap * sizeof(char *));
				}
				names[n++] = xstrdup(p);
			}
			char *slash = strrchr(p, '/');
			if (slash == NULL)
				break;
			*slash = '\0';
		}
		free(p);
	}
	if (n > 1)
		qsort(names, n, sizeof(char *), imap_name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!imap_list_matches(patterns, np, names[i]))
			continue;
		bool sub = imap_in_list(subs, ns, names[i]);
		bool child = imap_has_unlisted_subscribed_child(subs, ns, names[i], patterns, np);
		if (!sub && !(child && (o->recursive || o->lsub)))
			continue;
		const struct store_folder_info *f = imap_find_folder(folders, nf, names[i]);
		if (sub && o->sel_special_use && (f == NULL || f->special_use == 0))
			continue;
		struct store_folder_info shown = {.name = names[i], .noselect = true};
		if (f != NULL)
			shown = *f;
		else if (sub && !o->lsub)
			shown.nonexistent = true;
		if (o->lsub && !sub)
			shown.noselect = true; /* RFC 3501 6.3.9: an unsubscribed parent */
		imap_list_send(s, &shown, o, sub,
			       !sub && o->recursive ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : NULL);
	}
	imap_free_names(names, n);
}

static void imap_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void imap_list_run(struct imap_session *s, const struct imap_command *cmd,
			  struct imap_list_opts *o)
{
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->argc;
	if (!o->lsub && argc >= 1 && args[0].type == IMAP_ARG_LIST) {
		if (!imap_list_parse_selection(&args[0], o)) {
			imap_bad(s, "Invalid LIST selection options.");
			return;
		}
		args++;
		argc--;
	}
	if (argc < 2 || (argc > 2 && (o->lsub || !imap_list_parse_return(args + 2, argc - 2, o)))) {
		imap_bad(s, "LIST needs a reference and a mailbox pattern.");
		return;
	}
	const char *pat;
	size_t pl;
	if (args[1].type != IMAP_ARG_LIST && imap_arg_list_mailbox(&args[1], &pat, &pl) && pl == 0) {
		/* RFC 9051 6.3.9: the hierarchy delimiter and root */
		imap_untagged(s, "%s (\\Noselect) \"/\" \"\"", o->lsub ? "LSUB" : "LIST");
		imap_tagged(s, "OK %s completed.", o->lsub ? "LSUB" : "LIST");
		return;
	}
	size_t np;
	char **patterns = imap_list_patterns(s, &args[0], &args[1], &np);
	if (patterns == NULL) {
		imap_bad(s, "Invalid LIST arguments.");
		return;
	}
	struct store_folder_info *folders = NULL;
	size_t nf = 0;
	char **subs = NULL;
	size_t ns = 0;
	enum store_error err = store_folder_list(s->store, &folders, &nf);
	if (err == STORE_OK)
		err = store_folder_subscriptions(s->store, &subs, &ns);
	if (err == STORE_OK && (o->lsub || o->sel_subscribed))
		imap_list_subscribed(s, o, patterns, np, folders, nf, subs, ns);
	for (size_t i = 0; err == STORE_OK && !(o->lsub || o->sel_subscribed) && i < nf; i++) {
		bool sub = imap_in_list(subs, ns, folders[i].name);
		if (o->sel_special_use && folders[i].special_use == 0)
			continue;
		if (imap_list_matches(patterns, np, folders[i].name))
			imap_list_send(s, &folders[i], o, sub, NULL);
	}
	if (err == STORE_OK)
		imap_tagged(s, "OK %s completed.", o->lsub ? "LSUB" : "LIST");
	else
		imap_store_error(s, err, "LIST");
	store_folder_list_free(&folders, nf);
	imap_free_names(subs, ns);
	imap_free_names(patterns, np);
}

void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_list_opts o = {0};
	imap_list_run(s, cmd, &o);
}

void imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_list_opts o = {.lsub = true};
	imap_list_run(s, cmd, &o);
}

void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, "OK NAMESPACE completed.");
}

/* ---- changing folders ---- */

static unsigned imap_create_use(struct imap_session *s, const struct imap_command *cmd, bool *ok)
{
	/* RFC 6154 3: CREATE name (USE (\Sent)) */
	unsigned use = 0;
	*ok = true;
	if (cmd->argc == 1)
		return 0;
	const struct imap_arg *opts, *uses;
	size_t n, nu;
	if (cmd->argc != 2 || !imap_arg_list(&cmd->args[1], &opts, &n) || n != 2 ||
	    !imap_arg_atom_is(&opts[0], "USE") || !imap_arg_list(&opts[1], &uses, &nu)) {
		*ok = false;
		return 0;
	}
	for (size_t i = 0; i < nu; i++) {
		size_t k = 0;
		for (; k < 5; k++)
			if (imap_arg_atom_is(&uses[i], imap_special_names[k]))
				break;
		if (k == 5) {
			*ok = false;
			return 0;
		}
		use |= 1u << k;
	}
	return use;
}

void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	bool ok;
	unsigned use = cmd->argc >= 1 ? imap_create_use(s, cmd, &ok) : (ok = false, 0);
	if (!ok) {
		imap_bad(s, "CREATE needs a mailbox name (and optionally USE).");
		return;
	}
	char *name = imap_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return;
	/* RFC 9051 6.3.4: a trailing separator means "will have children" */
	size_t len = strlen(name);
	while (len > 0 && name[len - 1] == '/')
		name[--len] = '\0';
	imap_store_error(s, store_folder_create(s->store, name, use), "CREATE");
	free(name);
}

void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	char *name = cmd->argc == 1 ? imap_mailbox_arg(s, &cmd->args[0]) : NULL;
	if (name == NULL) {
		if (cmd->argc != 1)
			imap_bad(s, "DELETE needs a mailbox name.");
		return;
	}
	if (s->mailbox != NULL && strcmp(s->mailbox, name) == 0)
		imap_close_selected(s); /* RFC 9051 6.3.4: deleting the selected one */
	imap_store_error(s, store_folder_delete(s->store, name), "DELETE");
	free(name);
}

void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	char *from = cmd->argc == 2 ? imap_mailbox_arg(s, &cmd->args[0]) : NULL;
	char *to = from != NULL ? imap_mailbox_arg(s, &cmd->args[1]) : NULL;
	if (to == NULL) {
		if (cmd->argc != 2)
			imap_bad(s, "RENAME needs two mailbox names.");
		free(from);
		return;
	}
	imap_store_error(s, store_folder_rename(s->store, from, to), "RENAME");
	free(from);
	free(to);
}

static void imap_subscribe(struct imap_session *s, const struct imap_command *cmd, bool on)
{
	char *name = cmd->argc == 1 ? imap_mailbox_arg(s, &cmd->args[0]) : NULL;
	if (name == NULL) {
		if (cmd->argc != 1)
			imap_bad(s, "A mailbox name is needed.");
		return;
	}
	imap_store_error(s, store_folder_subscribe(s->store, name, on),
			 on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	free(name);
}

void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	imap_subscribe(s, cmd, true);
}

void imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	imap_subscribe(s, cmd, false);
}

/* ---- STATUS ---- */

/* "* STATUS name (items...)"; false if an item is unknown. A store error
 * (no such folder) sends nothing and is left in *err_r. */
bool imap_status_send(struct imap_session *s, const char *name, const struct imap_arg *items_arg,
		      int *err_r)
{
	const struct imap_arg *items;
	size_t n;
	*err_r = STORE_OK;
	if (!imap_arg_list(items_arg, &items, &n))
		return false;
	struct store_folder_status st;
	enum store_error err = store_folder_status(s->store, name, &st);
	*err_r = err;
	if (err != STORE_OK)
		return true;
	struct buf line;
	buf_init(&line, 0);
	buf_append_str(&line, "* STATUS ");
	imap_name_to_client(s, name, &line);
	buf_append_str(&line, " (");
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *sep = i > 0 ? " " : "";
		if (imap_arg_atom_is(&items[i], "MESSAGES"))
			buf_appendf(&line, "%sMESSAGES %u", sep, st.messages);
		else if (imap_arg_atom_is(&items[i], "UIDNEXT"))
			buf_appendf(&line, "%sUIDNEXT %u", sep, st.uidnext);
		else if (imap_arg_atom_is(&items[i], "UIDVALIDITY"))
			buf_appendf(&line, "%sUIDVALIDITY %u", sep, st.uidvalidity);
		else if (imap_arg_atom_is(&items[i], "UNSEEN"))
			buf_appendf(&line, "%sUNSEEN %u", sep, st.unseen);
		else if (imap_arg_atom_is(&items[i], "DELETED"))
			buf_appendf(&line, "%sDELETED %u", sep, st.deleted);
		else if (imap_arg_atom_is(&items[i], "RECENT"))
			buf_appendf(&line, "%sRECENT %u", sep, st.recent);
		else if (imap_arg_atom_is(&items[i], "SIZE"))
			buf_appendf(&line, "%sSIZE %llu", sep, (unsigned long long)st.size);
		else if (imap_arg_atom_is(&items[i], "HIGHESTMODSEQ")) {
			/* RFC 7162 3.1: a CONDSTORE enabling command */
			imap_condstore_on(s);
			buf_appendf(&line, "%sHIGHESTMODSEQ %llu", sep,
				    (unsigned long long)st.highestmodseq);
		} else if (imap_arg_atom_is(&items[i], "APPENDLIMIT")) {
			/* RFC 7889 4: the same limit for every mailbox */
			buf_appendf(&line, "%sAPPENDLIMIT %llu", sep,
				    (unsigned long long)s->env->cfg->limits_max_message_size);
		} else {
			ok = false;
		}
	}
	buf_append_str(&line, ")\r\n");
	if (ok)
		imap_write(s, line.ptr, line.len);
	buf_deinit(&line);
	return ok;
}

void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->argc != 2 || cmd->args[1].type != IMAP_ARG_LIST) {
		imap_bad(s, "STATUS needs a mailbox and a list of items.");
		return;
	}
	char *name = imap_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return;
	int err;
	if (!imap_status_send(s, name, &cmd->args[1], &err))
		imap_bad(s, "Unknown STATUS item.");
	else if (err != STORE_OK)
		imap_store_error(s, err, "STATUS");
	else
		imap_tagged(s, "OK STATUS completed.");
	free(name);
}
