/* The merged tree: construction, attributes and symlinks (see tree.h; the
 * lookup rules are in lookup.c, listings in readdir.c). */
#include <errno.h>
#include <string.h>

#include "layerfs/override.h"
#include "tree_internal.h"

/* Which owner records layer @l's root carries (override.h). */
static uint8_t layer_override(const struct lfs_tree *t, uint32_t l)
{
	struct lfs_ref root = { l, LFS_INDEX_ROOT };
	uint32_t len;

	for (int k = LFS_OVERRIDE_PRIVILEGED; k <= LFS_OVERRIDE_CONTAINERS;
	     k++) {
		if (lfs_entry_xattr(t, root, lfs_override_xattr(k), &len))
			return (uint8_t)k;
	}
	return LFS_OVERRIDE_NONE;
}

/* What stat reports for directories' size, as ext4 does. */
#define DIR_SIZE 4096

struct lfs_tree *lfs_tree_new(struct lfs_layer *const *layers,
			      uint32_t nlayers, const struct lfs_logger *lg,
			      const struct lfs_tree_options *o)
{
	struct lfs_tree *t = g_new0(struct lfs_tree, 1);

	t->layers = layers;
	t->nlayers = nlayers;
	t->lg = lg;
	t->link_steps = o ? o->link_steps : 0;
	if (o)
		t->synth_time = o->synth_time;
	lfs_dcache_init(t, o ? o->cache_bytes : 0);
	lfs_links_init(t);
	t->override = g_new0(uint8_t, nlayers);
	for (uint32_t l = 0; l < nlayers; l++)
		t->override[l] = layer_override(t, l);
	for (uint32_t l = 0; l < nlayers; l++) {
		lfs_relocate_layer(t, l);
		lfs_links_add_layer(t, l);
	}
	return t;
}

void lfs_tree_free(struct lfs_tree *t)
{
	if (!t)
		return;
	lfs_dcache_clear(t);
	lfs_links_free(t);
	g_free(t->override);
	g_free(t);
}

/* Subdirectories of directory @ino, for its link count. */
static uint32_t subdir_count(struct lfs_tree *t, uint64_t ino)
{
	int err;
	struct lfs_dnode *d = lfs_dir_get(t, ino, &err);
	struct lfs_dirlist *list;
	uint32_t n = 0;

	if (!d)
		return 0;
	if (d->ncontrib == 1) {
		/* One contributing layer: the index counted them. */
		n = (uint32_t)tree_entry(t, d->chain[0])->size;
	} else if (d->ncontrib > 1) {
		list = lfs_dir_list(t, d);
		n = list->nsubdirs;
		lfs_dirlist_unref(list);
	}
	lfs_dir_put(t, d);
	return n;
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

void lfs_tree_stat(struct lfs_tree *t, const struct lfs_obj *n,
		   struct stat *st)
{
	const struct lfs_index *ix = NULL;
	const struct lfs_index_entry *e = NULL;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_blksize = LFS_BLOCK_SIZE;
	/* A synthesised directory. */
	st->st_mode = n->type | 0755;
	st->st_mtim = t->synth_time;
	st->st_atim = t->synth_time;
	st->st_ctim = t->synth_time;
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
	if (e && t->override[n->meta.layer] &&
	    (n->type == S_IFDIR || n->type == S_IFREG)) {
		uint32_t len;
		const char *v = lfs_entry_xattr(
			t, n->meta, lfs_override_xattr(t->override[n->meta.layer]),
			&len);
		mode_t mode;

		if (v && lfs_override_parse(v, len, &st->st_uid, &st->st_gid,
					    &mode))
			st->st_mode = n->type | mode;
	}
	/* A symlink has no mode of its own on Linux: whatever its header
	 * says (Python's tarfile writes 0644), extraction gives 0777, as
	 * umoci unpack does. */
	if (n->type == S_IFLNK)
		st->st_mode = S_IFLNK | 0777;
	if (n->type == S_IFDIR) {
		st->st_size = DIR_SIZE;
		st->st_blocks = DIR_SIZE / 512;
		st->st_nlink = 2 + subdir_count(t, n->ino);
		return;
	}
	st->st_nlink = lfs_link_count(t, n->meta);
	st->st_size = (off_t)e->size;
	if (n->type == S_IFREG)
		st->st_blocks = reg_blocks(ix, e);
	if (n->type == S_IFCHR || n->type == S_IFBLK)
		st->st_rdev = (dev_t)e->u.rdev;
}

const char *lfs_tree_readlink(struct lfs_tree *t, const struct lfs_obj *n)
{
	const struct lfs_index *ix;

	if (n->type != S_IFLNK)
		return NULL;
	ix = tree_index(t, n->meta.layer);
	return lfs_index_str(ix, lfs_index_get(ix, n->meta.entry)->u.target);
}
