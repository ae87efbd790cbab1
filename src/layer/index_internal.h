/* Declarations shared by the index builder's files only (index_build.c,
 * index_log.c, index_layout.c): the builder's nodes, the log its members'
 * attributes go to, and the step from them to the index file.  Readers of
 * a finished index need none of this: they see include/layerfs/index.h.
 *
 * Memory.  A layer may hold millions of members, and the builder may run
 * in a daemon under a small memory limit, so what it holds per path is
 * only what building needs to look at again: the tree (28 bytes a node,
 * the name, a slot of the hash table) and, for symlinks and hardlinks,
 * their targets.  Everything else a member brings (mode, owner, times,
 * size, data offset, xattrs, sparse extents) is written to the member log
 * (index_log.c), a file in the cache directory, and read back once, in
 * the index's order, when the index file is written (index_layout.c).
 * That is about 60 bytes of memory a path where a whole record was
 * 300. */
#ifndef LAYERFS_INDEX_INTERNAL_H
#define LAYERFS_INDEX_INTERNAL_H

#include "layerfs/index.h"
#include "layerfs/index_file.h"
#include "layerfs/path.h"

/* No node: ends a child list, or the root's parent. */
#define BNONE UINT32_MAX

enum bnode_flags {
	BN_MEMBER = 1 << 0,	 /* a member of the layer named this path */
	BN_IMPLICIT = 1 << 1,	 /* a directory only implied by what is below */
	BN_TRANSPARENT = 1 << 2, /* implied only by markers (see index.h) */
	BN_WHITEOUT = 1 << 3,	 /* ".wh.<name>" seen for this path */
	BN_OPAQUE = 1 << 4,	 /* ".wh..wh..opq" seen in this directory */
	BN_DROPPED = 1 << 5,	 /* left out of the index */
	BN_NODATA = 1 << 6,	 /* its xattrs and extents no longer count */
	BN_EXTRA = 1 << 7,	 /* has a struct bextra (symlinks, hardlinks) */
};

/* The builder keeps one node per path, found by (parent, name) in a hash
 * table: a later member for the same path overwrites the earlier one, and
 * a deep path costs one node per component, never a copy of the whole
 * path per ancestor.  Nodes are numbered in the order they are made (the
 * root is 0) and refer to each other by number. */
struct bnode {
	uint32_t parent;		 /* BNONE for the root */
	uint32_t first_child, next_sibling; /* newest first; BNONE ends */
	uint32_t name;			 /* offset in the name store */
	uint32_t index;			 /* its entry, set by the layout */
	uint32_t meta;			 /* its member's record in the log
					  * (index_log.c); 0: none */
	uint16_t name_len;
	uint8_t type;			 /* 0 while only markers named it */
	uint8_t flags;			 /* enum bnode_flags */
};

/* What symlinks and hardlinks need besides a node: their targets, which
 * walks follow, and a hardlink's resolution. */
struct bextra {
	const char *target; /* LNK: the target; HARDLINK: a canonical path */
	/* HARDLINK whose target held data in this layer when it came: that
	 * node (its links list this one), and this link's own path. */
	uint32_t link_to;
	const char *link_path;
	/* Set by settling: the node holding the data, or the path in a
	 * lower layer a link to something outside this layer names. */
	uint32_t link_data;
	const char *link_xpath;
};

/* Nodes live in chunks of NODE_CHUNK, so growing never copies them. */
#define NODE_CHUNK_SHIFT 16
#define NODE_CHUNK (1u << NODE_CHUNK_SHIFT)

/* Bytes that live as long as the builder, in blocks of a megabyte: names
 * (found by a 32-bit offset: block * BLOCK + place), targets, paths. */
#define STORE_BLOCK_SHIFT 20
#define STORE_BLOCK (1u << STORE_BLOCK_SHIFT)

struct store {
	GPtrArray *blocks; /* g_free */
	uint32_t used;	   /* in the last block */
};

/* The member log: an append-only file of records, one per member added
 * (index_log.c).  A member replaced by a later one leaves its record
 * there unused. */
struct mlog {
	int fd;		   /* memfd, or an unlinked file in a directory */
	bool in_memory;	   /* fd is a memfd */
	uint64_t size;	   /* bytes written, the buffer's included */
	char *buf;	   /* what is not written yet */
	size_t buf_len;
	const uint8_t *map; /* the whole log, while the index is written */
	size_t map_len;
};

/* A member's record in the log: this, then its xattrs (struct
 * mlog_xattr and the name and value bytes each), then its extents. */
struct mlog_rec {
	uint32_t mode, uid, gid, mtime_nsec;
	int64_t mtime_sec;
	uint64_t size, data, rdev;
	uint32_t nxattrs, nextents;
	uint32_t sparse;
	uint32_t len; /* of the whole record, padded to 8 */
};

struct mlog_xattr {
	uint32_t name_len; /* the name's bytes, without a NUL */
	uint32_t value_len;
};

struct lfs_index_builder {
	GPtrArray *chunks;   /* struct bnode[NODE_CHUNK] each, g_free */
	uint32_t nnodes;
	/* Open addressing: a slot holds a node's (parent, name) hash above
	 * its number + 1, 0 when empty.  A probe that finds another hash
	 * moves on without touching the node, which is likely not in the
	 * CPU's cache: most probes are misses (each new path looks itself
	 * up first). */
	uint64_t *table;
	uint32_t table_mask; /* slots - 1 */
	struct store names;
	GHashTable *extras;  /* node -> struct bextra * (in extra_store) */
	GPtrArray *extra_store; /* g_free: extras and their strings */
	struct mlog log;
	int spill_dirfd;   /* where the log goes; -1: memory */
	char *failure;	   /* why the log failed, for the error */
	uint32_t max_entries;
	uint64_t max_bytes;
	uint64_t bytes;	   /* names, targets, xattrs and extents held */
	const char *limit; /* the limit the last -E2BIG hit */
	uint64_t nentries, nwhiteouts;
	/* The directory of the last member walked to, and the node it
	 * resolved to: members come grouped by directory, so the next one
	 * most often starts there, and its parents need not be looked up
	 * again.  Forgotten when a symlink comes or goes, which can change
	 * where a path resolves to. */
	char last_dir[LFS_PATH_MAX + 1];
	size_t last_dir_len;
	uint32_t last_dir_node; /* BNONE: nothing remembered */
	uint32_t link_steps; /* left of SYMLINK_STEP_BUDGET */
	/* A node holding data -> the hardlinks that came after it and name
	 * it (GArray of uint32_t, in member order): if a later member
	 * replaces it, they keep its data (take_over()). */
	GHashTable *links;
	bool settled;	 /* lfs_index_settle() ran */
	guint nkept;	 /* nodes left after settling */
};

static inline struct bnode *bnode_at(const struct lfs_index_builder *b,
				     uint32_t id)
{
	struct bnode *chunk = b->chunks->pdata[id >> NODE_CHUNK_SHIFT];

	return &chunk[id & (NODE_CHUNK - 1)];
}

static inline const char *bnode_name(const struct lfs_index_builder *b,
				     const struct bnode *n)
{
	const char *block = b->names.blocks->pdata[n->name >> STORE_BLOCK_SHIFT];

	return block + (n->name & (STORE_BLOCK - 1));
}

/* The extra of node @id, or NULL. */
struct bextra *lfs_bextra(const struct lfs_index_builder *b, uint32_t id);

/* ---- the member log (index_log.c) ---- */

/* Start an empty log: an unlinked file in @dirfd, or in memory when
 * @dirfd < 0 or the directory cannot hold one. */
int lfs_mlog_open(struct mlog *log, int dirfd);
void lfs_mlog_close(struct mlog *log);
/* Append @e's record; *at is its place (8-aligned, never 0), in units of
 * 8 bytes.  On a write error the log moves to memory and goes on; -E2BIG
 * past LFS_MLOG_MAX, or -errno. */
int lfs_mlog_add(struct mlog *log, const struct lfs_scan_entry *e,
		 uint32_t *at);
/* Map the log for reading records (lfs_mlog_get), and let it go again
 * (the pages stay in the file; reading them counts no more to this
 * process). */
int lfs_mlog_map(struct mlog *log);
void lfs_mlog_unmap(struct mlog *log);
static inline const struct mlog_rec *lfs_mlog_get(const struct mlog *log,
						  uint32_t at)
{
	return (const struct mlog_rec *)(log->map + (uint64_t)at * 8);
}

/* Every record of a layer, replaced ones included: about 60 bytes a
 * member and the member's xattrs and extents.  Well past what the entry
 * and byte limits allow for members that stand (4M entries, 512 MiB); a
 * layer needs more only by replacing the same paths over and over, which
 * no real layer does. */
#define LFS_MLOG_MAX (4ull << 30)

/* ---- settling and writing ---- */

/* The first half of writing (index_build.c): settle what the markers
 * mean, drop what cannot stand (each dropped member named in a warning to
 * @lg for @layer) and resolve the hardlinks.  What is left is every node
 * not marked BN_DROPPED.  Runs once; later calls do nothing.  The layer is
 * complete then: nothing can be added after it (the hash table is
 * gone). */
void lfs_index_settle(struct lfs_index_builder *b,
		      const struct lfs_logger *lg, const char *layer);

#endif
