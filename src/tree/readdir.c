/* Merged directory listings (cf. overlayfs readdir.c).  The contributing
 * directories of a chain are read top-down; the first occurrence of a name
 * decides it, so a whiteout hides the lower ones and a directory shadows
 * files below it.  Entries that are absent or transparent in a layer (see
 * lookup.c) leave the decision to the layers below.  A directory only one
 * layer contributes to is listed straight from that layer's index, already
 * in order. */
#include <string.h>

#include "tree_internal.h"

static void add_children(const struct lfs_tree *t, struct lfs_ref dir,
			 GHashTable *seen, GArray *ents)
{
	const struct lfs_index *ix = tree_index(t, dir.layer);
	const struct lfs_index_entry *d = lfs_index_get(ix, dir.entry);

	for (uint32_t c = d->u.dir.first; c < d->u.dir.first + d->u.dir.count;
	     c++) {
		const struct lfs_index_entry *e = lfs_index_get(ix, c);
		struct lfs_ref r = { dir.layer, c };
		struct lfs_mdirent m = { lfs_index_str(ix, e->name),
					 e->name_len, 0, lfs_ref_ino(r) };
		enum lfs_seen what = lfs_entry_seen(t, r, e);

		if (what == LFS_SEEN_ABSENT || what == LFS_SEEN_TRANSPARENT)
			continue;
		if (seen) {
			if (g_hash_table_contains(seen, m.name))
				continue;
			g_hash_table_add(seen, (gpointer)m.name);
		}
		if (what == LFS_SEEN_WHITEOUT)
			continue;
		if (e->type == LFS_T_HARDLINK) {
			r = lfs_ref_unpack(lfs_link_target(t, r));
			e = tree_entry(t, r);
			m.ino = lfs_ref_ino(r);
		}
		m.type = lfs_etype_mode(e->type);
		g_array_append_val(ents, m);
	}
}

static gint mdirent_cmp(gconstpointer pa, gconstpointer pb)
{
	const struct lfs_mdirent *a = pa, *b = pb;

	return lfs_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

struct lfs_dirlist *lfs_dirlist_build(const struct lfs_tree *t,
				      const struct lfs_dnode *n)
{
	g_autoptr(GArray) ents = g_array_new(FALSE, FALSE,
					     sizeof(struct lfs_mdirent));
	g_autoptr(GHashTable) seen = NULL;
	struct lfs_dirlist *list;

	if (n->ncontrib > 1)
		seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (uint32_t k = 0; k < n->ncontrib; k++)
		add_children(t, n->chain[k], seen, ents);
	if (seen)
		g_array_sort(ents, mdirent_cmp);

	list = g_malloc(sizeof(*list) + ents->len * sizeof(list->ents[0]));
	list->refs = 1;
	list->n = ents->len;
	list->nsubdirs = 0;
	if (ents->len) /* an empty GArray may have no buffer at all */
		memcpy(list->ents, ents->data,
		       ents->len * sizeof(list->ents[0]));
	for (uint32_t i = 0; i < list->n; i++)
		list->nsubdirs += list->ents[i].type == S_IFDIR;
	return list;
}

int lfs_tree_dirlist(struct lfs_tree *t, uint64_t ino,
		     struct lfs_dirlist **out)
{
	int err = 0;
	struct lfs_dnode *d = lfs_dir_get(t, ino, &err);

	if (!d)
		return err;
	lfs_tree_tick(t);
	*out = lfs_dir_list(t, d);
	lfs_dir_put(t, d);
	return 0;
}
