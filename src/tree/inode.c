/* Node numbers and what they stand for (see tree.h): a file's number is
 * its data entry, read straight from the index; a directory's goes
 * through the directory cache. */
#include <errno.h>
#include <string.h>

#include "tree_internal.h"

static void dir_obj(const struct lfs_dnode *d, struct lfs_obj *out)
{
	out->ino = d->ino;
	out->type = S_IFDIR;
	out->meta = d->meta;
}

int lfs_tree_obj(struct lfs_tree *t, uint64_t ino, struct lfs_obj *out)
{
	uint64_t hi = ino >> 32;
	const struct lfs_index *ix;
	struct lfs_dnode *d;
	struct lfs_ref r;
	uint32_t mode;
	int err;

	if (ino != LFS_ROOT_INO) {
		if (hi == 0 || hi > t->nlayers)
			return -ESTALE;
		r.layer = (uint32_t)(hi - 1);
		r.entry = (uint32_t)ino;
		ix = tree_index(t, r.layer);
		if (r.entry >= ix->nentries)
			return -ESTALE;
		mode = lfs_etype_mode(lfs_index_get(ix, r.entry)->type);
		/* Whiteouts and hardlink entries are never numbered. */
		if (mode == 0)
			return -ESTALE;
		if (mode != S_IFDIR) {
			out->ino = ino;
			out->type = mode;
			out->meta = r;
			return 0;
		}
	}
	d = lfs_dir_get(t, ino, &err);
	if (!d)
		return err;
	dir_obj(d, out);
	lfs_dir_put(t, d);
	return 0;
}

int lfs_tree_lookup(struct lfs_tree *t, uint64_t parent, const char *name,
		    struct lfs_obj *out)
{
	struct lfs_resolution res;
	int err = 0;
	struct lfs_dnode *p = lfs_dir_get(t, parent, &err);

	if (!p)
		return err;
	lfs_tree_tick(t);
	err = lfs_resolve_child(t, p->chain, p->ncontrib, name, strlen(name),
				&res);
	lfs_dir_put(t, p);
	if (err < 0)
		return err;
	if (res.type == S_IFDIR) {
		struct lfs_dnode *d = lfs_dir_add(t, &res, parent);

		dir_obj(d, out);
		lfs_dir_put(t, d);
		g_array_unref(res.chain);
	} else {
		out->ino = lfs_ref_ino(res.meta);
		out->type = res.type;
		out->meta = res.meta;
	}
	return 0;
}

/* The number of the directory holding directory @d, found again from its
 * path (a directory rebuilt from its number does not know it). */
static int find_parent(struct lfs_tree *t, const struct lfs_dnode *d,
		       uint64_t *out)
{
	struct lfs_ref r = { (uint32_t)((d->ino >> 32) - 1), (uint32_t)d->ino };
	g_autofree char *path = lfs_index_path(tree_index(t, r.layer), r.entry);
	char *slash = strrchr(path, '/');
	struct lfs_resolution res;
	int err;

	if (!slash) {
		*out = LFS_ROOT_INO;
		return 0;
	}
	*slash = '\0';
	err = lfs_resolve_path(t, t->nlayers, path, &res);
	if (res.chain)
		g_array_unref(res.chain);
	if (err < 0 || res.type != S_IFDIR)
		return -ESTALE;
	*out = lfs_ref_ino(res.top);
	return 0;
}

int lfs_tree_parent(struct lfs_tree *t, uint64_t ino, uint64_t *out)
{
	int err = 0;
	struct lfs_dnode *d = lfs_dir_get(t, ino, &err);

	if (!d)
		return err;
	g_mutex_lock(&t->lock);
	*out = d->parent;
	g_mutex_unlock(&t->lock);
	if (!*out) {
		err = find_parent(t, d, out);
		if (err == 0) {
			g_mutex_lock(&t->lock);
			d->parent = *out;
			g_mutex_unlock(&t->lock);
		}
	}
	lfs_dir_put(t, d);
	return err;
}
