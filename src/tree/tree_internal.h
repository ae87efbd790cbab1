/* Declarations shared by src/tree/ only: the tree and directory
 * structures and the helpers the tree files call in one another.  Lock
 * order: only tree->lock exists; nothing else is taken while holding it,
 * and no index is read while holding it. */
#ifndef LAYERFS_TREE_INTERNAL_H
#define LAYERFS_TREE_INTERNAL_H

#include "layerfs/index.h"
#include "layerfs/tree.h"

/* A synthesised directory (every layer lists it only implicitly) takes its
 * attributes from nowhere: meta.layer is this. */
#define LFS_LAYER_SYNTH UINT32_MAX
#define LFS_REF_NONE UINT64_MAX

/* A merged directory, as cached (dcache.c).  Counted: the cache holds
 * one count while the directory is in it, and every user one more, so an
 * eviction never frees a directory somebody is using. */
struct lfs_dnode {
	uint64_t ino;
	struct lfs_ref meta; /* attributes come from here */
	/* The chain of same-named directories, top to bottom, down to the
	 * first whiteout or non-directory.  The first @ncontrib contribute
	 * children (an opaque one ends that); all of them are candidates
	 * for attributes. */
	uint32_t nchain, ncontrib;
	struct lfs_ref *chain;
	gint refs;
	/* Protected by tree->lock: */
	uint64_t parent;	  /* 0 until known (a rebuilt directory) */
	struct lfs_dirlist *list; /* NULL until listed */
	size_t bytes;		  /* what the cache counts for it */
	bool cached;		  /* in the table and the LRU */
	GList lru;		  /* link in tree->lru; data is the node */
};

struct lfs_tree {
	struct lfs_layer *const *layers;
	uint32_t nlayers;
	const struct lfs_logger *lg;
	GHashTable *links;  /* packed HARDLINK ref -> packed target or NONE */
	GHashTable *groups; /* packed target -> struct lfs_link_group * */
	uint64_t budget;    /* bytes cached directories may take */
	uint32_t link_steps; /* per layer, for relocate.c; 0: its default */
	struct timespec synth_time; /* of directories no layer has */
	/* Per layer: which owner records apply (override.h, a directory
	 * layer fuse-overlayfs wrote), LFS_OVERRIDE_NONE mostly. */
	uint8_t *override;
	GMutex lock;	    /* protects what follows */
	GHashTable *dirs;   /* ino -> struct lfs_dnode * (cached ones) */
	GQueue lru;	    /* cached directories, most recently used first */
	uint64_t ops;	    /* since the indexes' pages were last released */
	struct lfs_tree_stats st;
};

static inline uint64_t lfs_ref_pack(struct lfs_ref r)
{
	return (uint64_t)r.layer << 32 | r.entry;
}

static inline struct lfs_ref lfs_ref_unpack(uint64_t v)
{
	struct lfs_ref r = { (uint32_t)(v >> 32), (uint32_t)v };

	return r;
}

static inline uint64_t lfs_ref_ino(struct lfs_ref r)
{
	return (uint64_t)(r.layer + 1) << 32 | r.entry;
}

static inline const struct lfs_index *tree_index(const struct lfs_tree *t,
						 uint32_t layer)
{
	return t->layers[layer]->index;
}

static inline const struct lfs_index_entry *
tree_entry(const struct lfs_tree *t, struct lfs_ref r)
{
	return lfs_index_get(tree_index(t, r.layer), r.entry);
}

uint32_t lfs_etype_mode(enum lfs_etype type);

/* The raw value of xattr @name of entry @r, or NULL (*len set). */
const char *lfs_entry_xattr(const struct lfs_tree *t, struct lfs_ref r,
			    const char *name, uint32_t *len);

/* ---- lookup.c ---- */

/* What an entry means to a lookup or a listing (see lookup.c). */
enum lfs_seen {
	LFS_SEEN_ABSENT,      /* as if the layer had no such name */
	LFS_SEEN_WHITEOUT,    /* the name is deleted */
	LFS_SEEN_TRANSPARENT, /* only markers: joins a lower directory */
	LFS_SEEN_DIR,
	LFS_SEEN_FILE,	      /* any non-directory */
};

enum lfs_seen lfs_entry_seen(const struct lfs_tree *t, struct lfs_ref r,
			     const struct lfs_index_entry *e);

/* What a name resolves to in a directory chain. */
struct lfs_resolution {
	uint32_t type;	     /* S_IFMT bits */
	struct lfs_ref top;  /* the entry naming it (a directory: its first
			      * non-transparent one) */
	struct lfs_ref meta; /* attributes and data */
	GArray *chain;	     /* directories: struct lfs_ref; caller frees */
	uint32_t ncontrib;
};

int lfs_resolve_child(const struct lfs_tree *t, const struct lfs_ref *chain,
		      uint32_t ncontrib, const char *name, size_t len,
		      struct lfs_resolution *res);
/* Resolve canonical @path seeing only layers below @top_layer. */
int lfs_resolve_path(const struct lfs_tree *t, uint32_t top_layer,
		     const char *path, struct lfs_resolution *res);
/* Root chain of the layers below @top_layer. */
GArray *lfs_root_chain(const struct lfs_tree *t, uint32_t top_layer,
		       uint32_t *ncontrib);
struct lfs_ref lfs_chain_meta(const struct lfs_tree *t,
			      const struct lfs_ref *chain, uint32_t n);

/* Symlinks one resolution may follow, as many as the kernel would. */
#define LFS_SYMLINK_HOPS 40

/* Resolve directory @path in the layers below @top_layer as extraction
 * resolves the directory a member goes into (umoci and containerd:
 * securejoin): every symlink on the way is followed, a relative target
 * from the link's directory, an absolute one from the root, and ".." never
 * climbs above the root; from the first component the layers do not hold
 * as a directory on, the rest is taken as named (extraction makes it).
 * @out receives the canonical result ("" for the root).  Each component
 * looked up takes one from *@budget, which bounds the work a hostile
 * layer can cause.  Returns 0, or -ELOOP past LFS_SYMLINK_HOPS symlinks
 * or at an empty target, or -E2BIG when *@budget runs out. */
int lfs_resolve_dir(const struct lfs_tree *t, uint32_t top_layer,
		    const char *path, GString *out, uint32_t *budget);

/* ---- dcache.c ---- */

/* Directory @ino with a count for the caller (built again if it was
 * evicted), or NULL with *err set (-ESTALE, -ENOTDIR). */
struct lfs_dnode *lfs_dir_get(struct lfs_tree *t, uint64_t ino, int *err);
/* Directory @res, just resolved as a child of @parent, with a count. */
struct lfs_dnode *lfs_dir_add(struct lfs_tree *t,
			      const struct lfs_resolution *res,
			      uint64_t parent);
void lfs_dir_put(struct lfs_tree *t, struct lfs_dnode *d);
/* @d's listing with a count for the caller, built on first use. */
struct lfs_dirlist *lfs_dir_list(struct lfs_tree *t, struct lfs_dnode *d);
void lfs_dcache_init(struct lfs_tree *t, uint64_t budget);
void lfs_dcache_clear(struct lfs_tree *t);
/* Count a tree operation; now and then release the index pages it
 * touched (see dcache.c). */
void lfs_tree_tick(struct lfs_tree *t);

/* ---- hardlink.c ---- */

/* Hardlinks are resolved layer by layer, bottom-up, once the layer is
 * relocated: init, then add_layer for each. */
void lfs_links_init(struct lfs_tree *t);
void lfs_links_add_layer(struct lfs_tree *t, uint32_t layer);
void lfs_links_free(struct lfs_tree *t);
/* Target of HARDLINK entry @r, or LFS_REF_NONE if it has none. */
uint64_t lfs_link_target(const struct lfs_tree *t, struct lfs_ref r);
/* Names the object at @target has in the merged tree (1 unless linked). */
uint32_t lfs_link_count(struct lfs_tree *t, struct lfs_ref target);

/* ---- relocate.c ---- */

/* Move what layer @layer holds below a lower layer's symlink to where
 * extraction would have put it (see relocate.c); the layers below must
 * be done, and their hardlinks added. */
void lfs_relocate_layer(struct lfs_tree *t, uint32_t layer);

/* ---- readdir.c ---- */

struct lfs_dirlist *lfs_dirlist_build(const struct lfs_tree *t,
				      const struct lfs_dnode *d);

#endif
