/* The merged namespace over a stack of layers, as kernel overlayfs would
 * show it: lookups and listings walk the layers top-down through their
 * indexes, applying whiteouts and opaque directories, lazily, one directory
 * at a time.
 *
 * Inode numbers.  An object's number is derived from the entry that
 * identifies it, so it is the same on every mount of the same image:
 * ((layer + 1) << 32) | entry, where the entry is the topmost directory
 * entry for a directory and, for a file, the entry holding its data (the
 * hardlink target, so every name of a hardlinked file has one number).
 * The root is LFS_ROOT_INO.  Numbers double as FUSE node ids.
 *
 * Lookup counts follow the FUSE contract: lfs_tree_lookup() adds one,
 * lfs_tree_forget() removes n, and a node is freed when its count reaches
 * zero.  Nodes are looked up by number with lfs_tree_get(), which is only
 * valid while the caller (the kernel) holds a count. */
#ifndef LAYERFS_TREE_H
#define LAYERFS_TREE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/layer.h"
#include "layerfs/log.h"

#define LFS_ROOT_INO 1u

/* The block size stat and statfs report, as ext4's. */
#define LFS_BLOCK_SIZE 4096

struct lfs_tree;
struct lfs_node;

/* One entry of one layer. */
struct lfs_ref {
	uint32_t layer;
	uint32_t entry;
};

/* An entry of a merged directory listing. */
struct lfs_mdirent {
	const char *name; /* in a layer's string table */
	uint32_t name_len;
	uint32_t type; /* S_IFMT bits */
	uint64_t ino;
};

struct lfs_dirlist {
	uint32_t n;
	uint32_t nsubdirs;
	struct lfs_mdirent ents[]; /* sorted by name */
};

/* Build the tree over @layers (bottom to top; borrowed, must outlive the
 * tree).  Resolves hardlinks that point into lower layers; a link whose
 * target is missing is logged and left out. */
struct lfs_tree *lfs_tree_new(struct lfs_layer *const *layers,
			      uint32_t nlayers, const struct lfs_logger *lg);
void lfs_tree_free(struct lfs_tree *t);

/* Child @name of directory @parent; on success *out has one more lookup
 * count.  -ENOENT, -ENOTDIR, -ESTALE (unknown @parent), -ENAMETOOLONG. */
int lfs_tree_lookup(struct lfs_tree *t, uint64_t parent, const char *name,
		    struct lfs_node **out);
void lfs_tree_forget(struct lfs_tree *t, uint64_t ino, uint64_t n);

/* The node for @ino, or NULL when nobody holds a count on it. */
struct lfs_node *lfs_tree_get(struct lfs_tree *t, uint64_t ino);

uint64_t lfs_node_ino(const struct lfs_node *n);
uint32_t lfs_node_type(const struct lfs_node *n); /* S_IFMT bits */
uint64_t lfs_node_parent(const struct lfs_node *n);

/* Attributes as stat(2) reports them. */
void lfs_tree_stat(struct lfs_tree *t, struct lfs_node *n, struct stat *st);

/* Symlink target (owned by the tree), or NULL if @n is not a symlink. */
const char *lfs_tree_readlink(struct lfs_tree *t, const struct lfs_node *n);

/* The merged listing of directory @n, built on first use and kept with the
 * node.  Returns 0 or -ENOTDIR / -ENOMEM. */
int lfs_tree_dirlist(struct lfs_tree *t, struct lfs_node *n,
		     const struct lfs_dirlist **out);

/* Where a regular file's data lives. */
struct lfs_ref lfs_tree_data_ref(const struct lfs_node *n);

/* Extended attributes: the value (or list) size when @size is 0, else the
 * bytes copied; -ENODATA, -ERANGE. */
ssize_t lfs_tree_getxattr(struct lfs_tree *t, const struct lfs_node *n,
			  const char *name, void *buf, size_t size);
ssize_t lfs_tree_listxattr(struct lfs_tree *t, const struct lfs_node *n,
			   char *buf, size_t size);

#endif
