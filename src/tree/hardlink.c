/* Hardlinks across the merged tree.
 *
 * Every HARDLINK entry is resolved once, at mount, to the entry holding its
 * data: within its layer by the index, or (XLINK) by looking its target
 * path up in the layers below, as extracting the layer onto the lower tree
 * would (symlinks in the target's directories followed, as extraction
 * follows them).  Layers are processed bottom-up so a link may point at a
 * lower link.  All names of one data entry form a group; st_nlink is the
 * number of the group's names still visible at the top, counted on first
 * need. */
#include <errno.h>
#include <string.h>

#include "layerfs/path.h"

#include "tree_internal.h"

struct lfs_link_group {
	GArray *members; /* struct lfs_ref: the target and its links */
	gint nlink;	 /* 0 until counted */
};

static void group_free(struct lfs_link_group *g)
{
	g_array_unref(g->members);
	g_free(g);
}

static guint64 *u64_new(guint64 v)
{
	return g_memdup2(&v, sizeof(v));
}

static void warn_dead_link(struct lfs_tree *t, struct lfs_ref r,
			   const char *target)
{
	g_autofree char *name = lfs_index_path(tree_index(t, r.layer),
					       r.entry);

	lfs_warn(t->lg, "%s: hardlink \"%s\" to \"%s\" left out: no such "
			"file in the layers below",
		 t->layers[r.layer]->spec->name, name, target);
}

/* Look @path up in the layers below @layer, its directory resolved
 * through symlinks (the last component is the file itself). */
static int resolve_below(struct lfs_tree *t, uint32_t layer, const char *path,
			 struct lfs_resolution *res)
{
	const char *base;
	size_t dlen = lfs_path_split(path, &base);
	g_autofree char *dir = g_strndup(path, dlen);
	g_autoptr(GString) full = g_string_new(NULL);
	/* As many steps as a path can have after its symlinks' hops. */
	uint32_t budget = LFS_SYMLINK_HOPS * (LFS_PATH_MAX / 2);
	int err = lfs_resolve_dir(t, layer, dir, full, &budget);

	memset(res, 0, sizeof(*res));
	if (err < 0)
		return err;
	g_string_append_printf(full, "%s%s", full->len ? "/" : "", base);
	return lfs_resolve_path(t, layer, full->str, res);
}

static uint64_t resolve_link(struct lfs_tree *t, struct lfs_ref r,
			     const struct lfs_index_entry *e)
{
	const struct lfs_index *ix = tree_index(t, r.layer);
	struct lfs_resolution res;
	const char *path;
	int err;

	if (!(e->flags & LFS_E_XLINK)) {
		struct lfs_ref target = { r.layer, e->u.target };

		return lfs_ref_pack(target);
	}
	path = lfs_index_str(ix, e->u.target);
	err = resolve_below(t, r.layer, path, &res);
	if (res.chain)
		g_array_unref(res.chain);
	if (err == 0 && res.type != S_IFDIR)
		return lfs_ref_pack(res.meta);
	warn_dead_link(t, r, path);
	return LFS_REF_NONE;
}

static void add_member(struct lfs_tree *t, uint64_t target, struct lfs_ref r)
{
	struct lfs_link_group *g = g_hash_table_lookup(t->groups, &target);

	if (!g) {
		struct lfs_ref tr = lfs_ref_unpack(target);

		g = g_new0(struct lfs_link_group, 1);
		g->members = g_array_new(FALSE, FALSE, sizeof(struct lfs_ref));
		g_array_append_val(g->members, tr);
		g_hash_table_insert(t->groups, u64_new(target), g);
	}
	g_array_append_val(g->members, r);
}

void lfs_links_init(struct lfs_tree *t)
{
	t->links = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
					 g_free);
	t->groups = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
					  (GDestroyNotify)group_free);
}

void lfs_links_add_layer(struct lfs_tree *t, uint32_t l)
{
	const struct lfs_index *ix = tree_index(t, l);

	for (uint32_t i = 0; i < ix->nhardlinks; i++) {
		struct lfs_ref r = { l, ix->hardlinks[i] };
		uint64_t target = resolve_link(t, r, tree_entry(t, r));

		g_hash_table_insert(t->links, u64_new(lfs_ref_pack(r)),
				    u64_new(target));
		if (target != LFS_REF_NONE)
			add_member(t, target, r);
	}
}

void lfs_links_free(struct lfs_tree *t)
{
	g_clear_pointer(&t->links, g_hash_table_unref);
	g_clear_pointer(&t->groups, g_hash_table_unref);
}

uint64_t lfs_link_target(const struct lfs_tree *t, struct lfs_ref r)
{
	uint64_t key = lfs_ref_pack(r);
	const guint64 *v = g_hash_table_lookup(t->links, &key);

	return v ? *v : LFS_REF_NONE;
}

/* Whether member @m is what its path shows at the top of the stack. */
static bool member_visible(struct lfs_tree *t, struct lfs_ref m)
{
	g_autofree char *path = lfs_index_path(tree_index(t, m.layer),
					       m.entry);
	struct lfs_resolution res;
	int err = lfs_resolve_path(t, t->nlayers, path, &res);

	if (res.chain)
		g_array_unref(res.chain);
	return err == 0 && lfs_ref_pack(res.top) == lfs_ref_pack(m);
}

uint32_t lfs_link_count(struct lfs_tree *t, struct lfs_ref target)
{
	uint64_t key = lfs_ref_pack(target);
	struct lfs_link_group *g = g_hash_table_lookup(t->groups, &key);
	gint n;

	if (!g)
		return 1;
	n = g_atomic_int_get(&g->nlink);
	if (n)
		return (uint32_t)n;
	/* Counting twice in a race gives the same answer: the tree is
	 * read-only, so the result is stored without a lock. */
	for (guint i = 0; i < g->members->len; i++)
		n += member_visible(t, g_array_index(g->members,
						     struct lfs_ref, i));
	n = MAX(n, 1);
	g_atomic_int_set(&g->nlink, n);
	return (uint32_t)n;
}

GPtrArray *lfs_tree_link_paths(struct lfs_tree *t, const struct lfs_obj *o)
{
	uint64_t key = lfs_ref_pack(o->meta);
	struct lfs_link_group *g = g_hash_table_lookup(t->groups, &key);
	GPtrArray *paths;

	if (!g)
		return NULL;
	paths = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < g->members->len; i++) {
		struct lfs_ref m = g_array_index(g->members, struct lfs_ref, i);

		if (member_visible(t, m))
			g_ptr_array_add(paths, lfs_index_path(tree_index(t,
								  m.layer),
							      m.entry));
	}
	return paths;
}
