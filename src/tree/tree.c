/* The merged tree: construction, attributes and symlinks (see tree.h; the
 * lookup rules are in lookup.c, listings in readdir.c). */
#include <errno.h>
#include <string.h>

#include "tree_internal.h"

/* What stat reports for directories' size, as ext4 does. */
#define DIR_SIZE 4096

struct lfs_tree *lfs_tree_new(struct lfs_layer *const *layers,
			      uint32_t nlayers, const struct lfs_logger *lg)
{
	struct lfs_tree *t = g_new0(struct lfs_tree, 1);
	struct lfs_resolution res = { .type = S_IFDIR };

	t->layers = layers;
	t->nlayers = nlayers;
	t->lg = lg;
	g_mutex_init(&t->lock);
	t->nodes = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					 (GDestroyNotify)lfs_node_free);
	lfs_links_build(t);

	res.chain = lfs_root_chain(t, nlayers, &res.ncontrib);
	res.meta = lfs_chain_meta(t, (struct lfs_ref *)res.chain->data,
				  res.chain->len);
	t->root = lfs_node_new(&res, LFS_ROOT_INO);
	g_array_unref(res.chain);
	t->root->ino = LFS_ROOT_INO;
	t->root->nlookup = 1;
	g_hash_table_insert(t->nodes, &t->root->ino, t->root);
	return t;
}

void lfs_tree_free(struct lfs_tree *t)
{
	if (!t)
		return;
	g_hash_table_unref(t->nodes);
	lfs_links_free(t);
	g_mutex_clear(&t->lock);
	g_free(t);
}

static uint32_t subdir_count(struct lfs_tree *t, struct lfs_node *n)
{
	const struct lfs_dirlist *list;

	if (n->ncontrib == 0)
		return 0;
	/* One contributing layer: the index counted them when building. */
	if (n->ncontrib == 1)
		return (uint32_t)tree_entry(t, n->chain[0])->size;
	if (lfs_tree_dirlist(t, n, &list) < 0)
		return 0;
	return list->nsubdirs;
}

/* st_blocks (512-byte units) of a regular file: what its data occupies,
 * so a sparse file looks sparse to du. */
static blkcnt_t reg_blocks(const struct lfs_index *ix,
			   const struct lfs_index_entry *e)
{
	uint64_t bytes = e->size;

	if (e->flags & LFS_E_SPARSE) {
		bytes = 0;
		for (uint32_t i = 0; i < e->u.ext.count; i++)
			bytes += ix->extents[e->u.ext.first + i].len;
	}
	return (blkcnt_t)((bytes + 511) / 512);
}

void lfs_tree_stat(struct lfs_tree *t, struct lfs_node *n, struct stat *st)
{
	const struct lfs_index *ix = NULL;
	const struct lfs_index_entry *e = NULL;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_blksize = LFS_BLOCK_SIZE;
	st->st_mode = n->type | 0755; /* a synthesised directory */
	if (n->meta.layer != LFS_LAYER_SYNTH) {
		ix = tree_index(t, n->meta.layer);
		e = lfs_index_get(ix, n->meta.entry);
		st->st_mode = n->type | e->mode;
		st->st_uid = e->uid;
		st->st_gid = e->gid;
		st->st_mtim.tv_sec = e->mtime_sec;
		st->st_mtim.tv_nsec = e->mtime_nsec;
		st->st_atim = st->st_mtim;
		st->st_ctim = st->st_mtim;
	}
	if (n->type == S_IFDIR) {
		st->st_size = DIR_SIZE;
		st->st_blocks = DIR_SIZE / 512;
		st->st_nlink = 2 + subdir_count(t, n);
		return;
	}
	st->st_nlink = lfs_link_count(t, n->meta);
	st->st_size = (off_t)e->size;
	if (n->type == S_IFREG)
		st->st_blocks = reg_blocks(ix, e);
	if (n->type == S_IFCHR || n->type == S_IFBLK)
		st->st_rdev = (dev_t)e->u.rdev;
}

const char *lfs_tree_readlink(struct lfs_tree *t, const struct lfs_node *n)
{
	const struct lfs_index *ix;

	if (n->type != S_IFLNK)
		return NULL;
	ix = tree_index(t, n->meta.layer);
	return lfs_index_str(ix, lfs_index_get(ix, n->meta.entry)->u.target);
}

struct lfs_ref lfs_tree_data_ref(const struct lfs_node *n)
{
	return n->meta;
}
