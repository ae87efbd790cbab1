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
 *    stands as it is;
 *  - an IMPLICIT directory (one a layer only implies) joins a directory
 *    below it as any directory does, but a symlink below it stands: the
 *    layer's members under that name were extracted through the symlink.
 *    relocate.c moves them to where it leads when the tree is built, so
 *    in a built tree this rule finds nothing left to hold back.
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

/* Whether a lower entry ends an implicit directory's chain by standing
 * in its place: a symlink (through a hardlink too). */
static bool symlink_below(const struct lfs_tree *t, struct lfs_ref r,
			  const struct lfs_index_entry *e,
			  struct lfs_resolution *res)
{
	struct lfs_resolution f;

	if (!resolve_file(t, r, e, &f) || f.type != S_IFLNK)
		return false;
	chain_drop(res);
	*res = f;
	return true;
}

int lfs_resolve_child(const struct lfs_tree *t, const struct lfs_ref *chain,
		      uint32_t ncontrib, const char *name, size_t len,
		      struct lfs_resolution *res)
{
	bool open = true;    /* no opaque directory seen yet */
	bool started = false; /* a real directory heads the chain */
	bool implied = false; /* ... and only implied ones so far */

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
			if (implied && seen == LFS_SEEN_FILE &&
			    symlink_below(t, r, e, res))
				return 0;
			if (seen != LFS_SEEN_DIR && seen != LFS_SEEN_TRANSPARENT)
				break;
			if (seen == LFS_SEEN_DIR && !(e->flags & LFS_E_IMPLICIT))
				implied = false;
		} else if (seen == LFS_SEEN_WHITEOUT) {
			chain_drop(res);
			return -ENOENT;
		} else if (seen == LFS_SEEN_FILE) {
			chain_drop(res);
			return resolve_file(t, r, e, res) ? 0 : -ENOENT;
		} else if (seen == LFS_SEEN_DIR) {
			started = true;
			implied = e->flags & LFS_E_IMPLICIT;
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

/* One resolved component of lfs_resolve_dir(): its name and, while the
 * path exists in the layers, its directory chain. */
struct step {
	char *name;
	GArray *chain; /* NULL once the path has left what the layers hold */
	uint32_t ncontrib;
};

static void step_clear(struct step *s)
{
	g_free(s->name);
	if (s->chain)
		g_array_unref(s->chain);
}

/* Resolve one component @name (@len bytes) below the last step (the root
 * when there is none), pushing it.  A symlink is not pushed: its target
 * is returned (borrowed from an index) for the caller to walk first. */
static const char *step_into(const struct lfs_tree *t, uint32_t top_layer,
			     GArray *steps, const char *name, size_t len)
{
	struct step s = { g_strndup(name, len), NULL, 0 };
	struct step *up = steps->len
				  ? &g_array_index(steps, struct step,
						   steps->len - 1)
				  : NULL;
	struct lfs_resolution res;
	GArray *root = NULL;
	uint32_t ncontrib = 0;
	const char *target = NULL;

	if (!up)
		root = lfs_root_chain(t, top_layer, &ncontrib);
	if (up ? up->chain != NULL : root->len > 0) {
		int err = lfs_resolve_child(
			t, (struct lfs_ref *)(up ? up->chain : root)->data,
			up ? up->ncontrib : ncontrib, name, len, &res);

		if (err == 0 && res.type == S_IFDIR) {
			s.chain = res.chain;
			s.ncontrib = res.ncontrib;
		} else if (err == 0 && res.type == S_IFLNK) {
			const struct lfs_index *ix = tree_index(t,
							       res.meta.layer);

			target = lfs_index_str(
				ix, lfs_index_get(ix, res.meta.entry)->u.target);
		}
		/* Anything else (missing, a file) is taken as named: the
		 * layer's directory replaces a file, as it always has. */
	}
	if (root)
		g_array_unref(root);
	if (target) {
		g_free(s.name);
		return target;
	}
	g_array_append_val(steps, s);
	return NULL;
}

int lfs_resolve_dir(const struct lfs_tree *t, uint32_t top_layer,
		    const char *path, GString *out, uint32_t *budget)
{
	g_autoptr(GArray) steps = g_array_new(FALSE, FALSE,
					      sizeof(struct step));
	g_autoptr(GString) rest = g_string_new(path);
	unsigned hops = 0;
	size_t at = 0;
	int err = 0;

	g_array_set_clear_func(steps, (GDestroyNotify)step_clear);
	while (at < rest->len) {
		const char *name = rest->str + at;
		size_t len = strcspn(name, "/");
		const char *target = NULL;

		at += len + (name[len] == '/');
		if (len == 0 || (len == 1 && name[0] == '.'))
			continue;
		if (*budget == 0) {
			err = -E2BIG;
			break;
		}
		(*budget)--;
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			if (steps->len)
				g_array_set_size(steps, steps->len - 1);
			continue;
		}
		target = step_into(t, top_layer, steps, name, len);
		if (!target)
			continue;
		if (!*target || ++hops > LFS_SYMLINK_HOPS) {
			err = -ELOOP;
			break;
		}
		/* Walk the target, then what was left of the path. */
		g_string_erase(rest, 0, (gssize)at);
		g_string_prepend_c(rest, '/');
		g_string_prepend(rest, target);
		at = 0;
		if (*target == '/')
			g_array_set_size(steps, 0);
	}
	g_string_truncate(out, 0);
	for (guint i = 0; !err && i < steps->len; i++)
		g_string_append_printf(out, "%s%s", i ? "/" : "",
				       g_array_index(steps, struct step, i).name);
	return err;
}
