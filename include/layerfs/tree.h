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
 * Numbers are names, not handles (docs/decisions/0010): everything about
 * an object can be worked out again from its number, so the tree keeps no
 * per-object state the kernel's lookup counts would have to pin.  A file
 * is its entry.  A directory's merged state (its chain of layer
 * directories, its listing) lives in a cache bounded by memory; an
 * evicted directory is rebuilt from its number, by resolving its path
 * again, the next time it is used. */
#ifndef LAYERFS_TREE_H
#define LAYERFS_TREE_H

#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/layer.h"
#include "layerfs/log.h"

#define LFS_ROOT_INO 1u

/* The block size stat and statfs report, as ext4's. */
#define LFS_BLOCK_SIZE 4096

struct lfs_tree;

/* One entry of one layer. */
struct lfs_ref {
	uint32_t layer;
	uint32_t entry;
};

/* What a node number stands for. */
struct lfs_obj {
	uint64_t ino;
	uint32_t type;	     /* S_IFMT bits */
	struct lfs_ref meta; /* attributes (and data) come from here */
};

/* An entry of a merged directory listing. */
struct lfs_mdirent {
	const char *name; /* in a layer's string table */
	uint32_t name_len;
	uint32_t type; /* S_IFMT bits */
	uint64_t ino;
};

/* A merged listing; shared, counted (lfs_dirlist_unref). */
struct lfs_dirlist {
	gint refs;
	uint32_t n;
	uint32_t nsubdirs;
	struct lfs_mdirent ents[]; /* sorted by name */
};

/* How much memory cached directories may take unless told otherwise. */
#define LFS_TREE_CACHE_DEFAULT (16u << 20)

struct lfs_tree_options {
	uint64_t cache_bytes; /* 0: LFS_TREE_CACHE_DEFAULT */
	/* Path components each layer may take to resolve through the
	 * symlinks of the layers below (relocate.c); 0: the default.
	 * Tests set it low. */
	uint32_t link_steps;
	/* The time of directories no layer has an entry for (the root, the
	 * parents layers only imply); {0, 0} if not given. */
	struct timespec synth_time;
};

struct lfs_tree_stats {
	uint64_t dirs;	     /* directories cached now */
	uint64_t bytes;	     /* memory they take */
	uint64_t hits;	     /* uses of a cached directory */
	uint64_t misses;     /* directories built (again) */
	uint64_t evictions;  /* dropped to keep within the bound */
	uint64_t listings;   /* merged listings built */
	uint64_t trims;	     /* times the indexes' pages were released */
};

/* Build the tree over @layers (bottom to top; borrowed, must outlive the
 * tree).  Resolves hardlinks that point into lower layers; a link whose
 * target is missing is logged and left out.  @o may be NULL. */
struct lfs_tree *lfs_tree_new(struct lfs_layer *const *layers,
			      uint32_t nlayers, const struct lfs_logger *lg,
			      const struct lfs_tree_options *o);
void lfs_tree_free(struct lfs_tree *t);

/* Child @name of directory @parent.  -ENOENT, -ENOTDIR, -ESTALE (@parent
 * names nothing), -ENAMETOOLONG. */
int lfs_tree_lookup(struct lfs_tree *t, uint64_t parent, const char *name,
		    struct lfs_obj *out);

/* The object numbered @ino (one this tree gave out), or -ESTALE. */
int lfs_tree_obj(struct lfs_tree *t, uint64_t ino, struct lfs_obj *out);

/* Number of directory @ino's parent (the root's is the root). */
int lfs_tree_parent(struct lfs_tree *t, uint64_t ino, uint64_t *out);

/* Attributes as stat(2) reports them. */
void lfs_tree_stat(struct lfs_tree *t, const struct lfs_obj *o,
		   struct stat *st);

/* Symlink target (in a layer's index), or NULL if @o is not a symlink. */
const char *lfs_tree_readlink(struct lfs_tree *t, const struct lfs_obj *o);

/* The merged listing of directory @ino, with one count for the caller.
 * Returns 0 or -ENOTDIR / -ESTALE. */
int lfs_tree_dirlist(struct lfs_tree *t, uint64_t ino,
		     struct lfs_dirlist **out);
void lfs_dirlist_unref(struct lfs_dirlist *list);

/* Extended attributes: the value (or list) size when @size is 0, else the
 * bytes copied; -ENODATA, -ERANGE. */
ssize_t lfs_tree_getxattr(struct lfs_tree *t, const struct lfs_obj *o,
			  const char *name, void *buf, size_t size);
ssize_t lfs_tree_listxattr(struct lfs_tree *t, const struct lfs_obj *o,
			   char *buf, size_t size);

/* The canonical paths of every name file @o has at the top of the stack
 * (g_ptr_array_unref), or NULL for a file with one name. */
GPtrArray *lfs_tree_link_paths(struct lfs_tree *t, const struct lfs_obj *o);

void lfs_tree_stats(struct lfs_tree *t, struct lfs_tree_stats *st);

#endif
