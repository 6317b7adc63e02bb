/*
 * mime_tree_private.h - building a mime_tree; for the parser and the
 * deserialiser only (not part of the module's interface).
 *
 * Parts must be added in pre-order, and each part's parameters, languages
 * and envelope fields must be added while it is the last part added: the
 * lists are contiguous runs of the arrays.
 */
#ifndef YUBIN_MIME_TREE_PRIVATE_H
#define YUBIN_MIME_TREE_PRIVATE_H

#include "mime/mime_tree.h"

struct mime_tree *mime_tree_new(void);

/* Append a part below parent (MIME_NONE for part 0) and link it; every
 * other field is zero / absent. Returns its index. The caller enforces
 * MIME_MAX_PARTS. */
uint32_t mime_tree_add_part(struct mime_tree *t, uint32_t parent);

/* Copy (p, len) into the pool. If the pool would pass MIME_MAX_POOL the
 * string is absent and the tree is marked MIME_TREE_LIMITED. */
struct mime_str mime_tree_add_str(struct mime_tree *t, const void *p, size_t len);

/* Append an entry to the array behind list (one of the last part's lists)
 * and count it in list; entries of one list must be added one after the
 * other. The caller enforces the per-part limits; past MIME_MAX_ENTRIES
 * in the tree the entry is dropped and the tree marked MIME_TREE_LIMITED. */
void mime_tree_add_param(struct mime_tree *t, struct mime_list *list, struct mime_str name,
                         struct mime_str value);
void mime_tree_add_lang(struct mime_tree *t, struct mime_list *list, struct mime_str lang);
void mime_tree_add_env(struct mime_tree *t, struct mime_list *list, uint32_t field,
                       struct mime_str value);

#endif
