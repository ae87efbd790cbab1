/* Lookups through the layer stack (cf. overlayfs namei.c).
 *
 * A directory is a chain of same-named directory entries, topmost first.
 * Looking up a child walks the contributing part of the parent's chain
 * top-down:
 *  - nothing found yet: a whiteout ends the search (the name is deleted); a
 *    non-directory is the answer; a directory starts the child's chain;
 *  - a directory found: lower directories of the same name join its chain,
 *    until a whiteout or non-directory (that deleted or replaced the lower
 *    ones) or an entry flagged REPLACES (".wh.NAME" beside NAME);
 *  - after an OPAQUE directory, lower ones still join the chain, for their
 *    attributes only: the image spec's opaque marker hides children, and
 *    umoci leaves the directory itself as the lower layer made it;
 *  - a TRANSPARENT directory (one a layer holds only markers in) is held
 *    back until a real directory shows up below it, which it then joins
 *    with its markers; without one it is nothing, and a non-directory below
 *    stands as it is.
 * A hardlink whose target cannot be found is absent from its layer, the
 * same way in lookups and listings; if that layer also whited the name
 * out, the whiteout stands.  A directory's identity (its inode number) is
 * its first non-transparent entry: the one a listing shows. */
#include <errno.h>
#include <string.h>

#include "layerfs/path.h"
#include "tree_internal.h"

uint32_t lfs_etype_mode(enum lfs_etype type)
{
	switch (type) {
	case LFS_T_REG:
		return S_IFREG;
	case LFS_T_DIR:
		return S_IFDIR;
	case LFS_T_LNK:
		return S_IFLNK;
	case LFS_T_CHR:
		return S_IFCHR;
	case LFS_T_BLK:
		return S_IFBLK;
	case LFS_T_FIFO:
		return S_IFIFO;
	case LFS_T_WHITEOUT:
	case LFS_T_HARDLINK:
		break;
	}
	return 0;
}

struct lfs_ref lfs_chain_meta(const struct lfs_tree *t,
			      const struct lfs_ref *chain, uint32_t n)
{
	struct lfs_ref synth = { LFS_LAYER_SYNTH, 0 };

	for (uint32_t i = 0; i < n; i++) {
		if (!(tree_entry(t, chain[i])->flags & LFS_E_IMPLICIT))
			return chain[i];
	}
	return synth;
}

/* A non-directory answer; false for a hardlink without a target. */
static bool resolve_file(const struct lfs_tree *t, struct lfs_ref r,
			 const struct lfs_index_entry *e,
			 struct lfs_resolution *res)
{
	res->top = r;
	res->meta = r;
	if (e->type == LFS_T_HARDLINK) {
		uint64_t target = lfs_link_target(t, r);

		if (target == LFS_REF_NONE)
			return false;
		res->meta = lfs_ref_unpack(target);
		e = tree_entry(t, res->meta);
	}
	res->type = lfs_etype_mode(e->type);
	return true;
}

/* What an entry means in a lookup or a listing. */
enum lfs_seen lfs_entry_seen(const struct lfs_tree *t, struct lfs_ref r,
			     const struct lfs_index_entry *e)
{
	if (e->type == LFS_T_HARDLINK &&
	    lfs_link_target(t, r) == LFS_REF_NONE)
		return e->flags & LFS_E_REPLACES ? LFS_SEEN_WHITEOUT
						 : LFS_SEEN_ABSENT;
	if (e->type == LFS_T_WHITEOUT)
		return LFS_SEEN_WHITEOUT;
	if (e->flags & LFS_E_TRANSPARENT)
		return LFS_SEEN_TRANSPARENT;
	return e->type == LFS_T_DIR ? LFS_SEEN_DIR : LFS_SEEN_FILE;
}

/* Add @r to the chain being built. */
static void chain_add(struct lfs_resolution *res, struct lfs_ref r,
		      const struct lfs_index_entry *e, bool *open)
{
	if (!res->chain)
		res->chain = g_array_new(FALSE, FALSE, sizeof(struct lfs_ref));
	g_array_append_val(res->chain, r);
	if (*open)
		res->ncontrib++;
	if (e->flags & LFS_E_OPAQUE)
		*open = false;
}

static void chain_drop(struct lfs_resolution *res)
{
	g_clear_pointer(&res->chain, g_array_unref);
	res->ncontrib = 0;
}

int lfs_resolve_child(const struct lfs_tree *t, const struct lfs_ref *chain,
		      uint32_t ncontrib, const char *name, size_t len,
		      struct lfs_resolution *res)
{
	bool open = true;    /* no opaque directory seen yet */
	bool started = false; /* a real directory heads the chain */

	memset(res, 0, sizeof(*res));
	if (len > LFS_NAME_MAX)
		return -ENAMETOOLONG;
	for (uint32_t k = 0; k < ncontrib; k++) {
		const struct lfs_index *ix = tree_index(t, chain[k].layer);
		struct lfs_ref r = { chain[k].layer, 0 };
		const struct lfs_index_entry *e;
		enum lfs_seen seen;

		r.entry = lfs_index_find(ix, chain[k].entry, name, len);
		if (r.entry == LFS_INDEX_NONE)
			continue;
		e = lfs_index_get(ix, r.entry);
		seen = lfs_entry_seen(t, r, e);
		if (seen == LFS_SEEN_ABSENT)
			continue;
		if (started) {
			if (seen != LFS_SEEN_DIR && seen != LFS_SEEN_TRANSPARENT)
				break;
		} else if (seen == LFS_SEEN_WHITEOUT) {
			chain_drop(res);
			return -ENOENT;
		} else if (seen == LFS_SEEN_FILE) {
			chain_drop(res);
			return resolve_file(t, r, e, res) ? 0 : -ENOENT;
		} else if (seen == LFS_SEEN_DIR) {
			started = true;
			res->top = r;
		}
		chain_add(res, r, e, &open);
		if (e->flags & LFS_E_REPLACES)
			break;
	}
	if (!started) {
		chain_drop(res);
		return -ENOENT;
	}
	res->type = S_IFDIR;
	res->meta = lfs_chain_meta(t, (struct lfs_ref *)res->chain->data,
				   res->chain->len);
	return 0;
}

GArray *lfs_root_chain(const struct lfs_tree *t, uint32_t top_layer,
		       uint32_t *ncontrib)
{
	GArray *chain = g_array_new(FALSE, FALSE, sizeof(struct lfs_ref));
	bool open = true;

	*ncontrib = 0;
	for (uint32_t l = top_layer; l-- > 0;) {
		struct lfs_ref r = { l, LFS_INDEX_ROOT };

		g_array_append_val(chain, r);
		if (open)
			(*ncontrib)++;
		if (tree_entry(t, r)->flags & LFS_E_OPAQUE)
			open = false;
	}
	return chain;
}

int lfs_resolve_path(const struct lfs_tree *t, uint32_t top_layer,
		     const char *path, struct lfs_resolution *res)
{
	uint32_t ncontrib;
	GArray *chain = lfs_root_chain(t, top_layer, &ncontrib);

	memset(res, 0, sizeof(*res));
	if (chain->len == 0) {
		g_array_unref(chain);
		return -ENOENT;
	}
	if (!*path) {
		res->type = S_IFDIR;
		res->chain = chain;
		res->ncontrib = ncontrib;
		res->top = g_array_index(chain, struct lfs_ref, 0);
		res->meta = lfs_chain_meta(t, (struct lfs_ref *)chain->data,
					   chain->len);
		return 0;
	}
	while (*path) {
		size_t len = strcspn(path, "/");
		int err;

		/* The previous component was not a directory. */
		if (!chain)
			return -ENOTDIR;
		/* On error lfs_resolve_child() leaves res->chain NULL. */
		err = lfs_resolve_child(t, (struct lfs_ref *)chain->data,
					ncontrib, path, len, res);
		g_array_unref(chain);
		if (err < 0)
			return err;
		chain = res->chain; /* owned by @res from here */
		ncontrib = res->ncontrib;
		path += len;
		path += *path == '/';
	}
	return 0;
}
