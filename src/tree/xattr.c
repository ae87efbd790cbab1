/* Extended attributes of merged objects: those of the entry the attributes
 * come from (for a directory, its topmost non-implicit entry), as the
 * layer recorded them.  A synthesised directory has none. */
#include <errno.h>
#include <string.h>

#include "layerfs/override.h"
#include "tree_internal.h"

const char *lfs_entry_xattr(const struct lfs_tree *t, struct lfs_ref r,
			    const char *name, uint32_t *len)
{
	const struct lfs_index *ix = tree_index(t, r.layer);
	const struct lfs_index_entry *e = lfs_index_get(ix, r.entry);

	for (uint32_t i = 0; i < e->xattr_count; i++) {
		const struct lfs_index_xattr *x = &ix->xattrs[e->xattr_first + i];

		if (strcmp(lfs_index_str(ix, x->name), name) == 0) {
			*len = x->value_len;
			return lfs_index_str(ix, x->value);
		}
	}
	return NULL;
}

/* A layer's owner records are bookkeeping, never shown. */
static bool hidden(const struct lfs_tree *t, uint32_t layer, const char *name)
{
	return t->override[layer] != LFS_OVERRIDE_NONE &&
	       lfs_override_name(name);
}

ssize_t lfs_tree_getxattr(struct lfs_tree *t, const struct lfs_obj *n,
			  const char *name, void *buf, size_t size)
{
	const struct lfs_index *ix;
	const struct lfs_index_entry *e;

	if (n->meta.layer == LFS_LAYER_SYNTH)
		return -ENODATA;
	ix = tree_index(t, n->meta.layer);
	e = lfs_index_get(ix, n->meta.entry);
	if (hidden(t, n->meta.layer, name))
		return -ENODATA;
	for (uint32_t i = 0; i < e->xattr_count; i++) {
		const struct lfs_index_xattr *x = &ix->xattrs[e->xattr_first + i];

		if (strcmp(lfs_index_str(ix, x->name), name) != 0)
			continue;
		if (size == 0)
			return x->value_len;
		if (size < x->value_len)
			return -ERANGE;
		memcpy(buf, lfs_index_str(ix, x->value), x->value_len);
		return x->value_len;
	}
	return -ENODATA;
}

ssize_t lfs_tree_listxattr(struct lfs_tree *t, const struct lfs_obj *n,
			   char *buf, size_t size)
{
	const struct lfs_index *ix;
	const struct lfs_index_entry *e;
	size_t total = 0;

	if (n->meta.layer == LFS_LAYER_SYNTH)
		return 0;
	ix = tree_index(t, n->meta.layer);
	e = lfs_index_get(ix, n->meta.entry);
	for (uint32_t i = 0; i < e->xattr_count; i++) {
		const char *name = lfs_index_str(
			ix, ix->xattrs[e->xattr_first + i].name);

		if (!hidden(t, n->meta.layer, name))
			total += strlen(name) + 1;
	}
	if (size == 0)
		return (ssize_t)total;
	if (size < total)
		return -ERANGE;
	for (uint32_t i = 0; i < e->xattr_count; i++) {
		const char *name = lfs_index_str(
			ix, ix->xattrs[e->xattr_first + i].name);
		size_t len = strlen(name) + 1;

		if (hidden(t, n->meta.layer, name))
			continue;
		memcpy(buf, name, len);
		buf += len;
	}
	return (ssize_t)total;
}
