/* Declarations shared by the index builder's files only (index_build.c,
 * index_layout.c): the builder's records, which the layout turns into the
 * flat index, and the step between them.  Readers of a finished index need
 * none of this: they see include/layerfs/index.h. */
#ifndef LAYERFS_INDEX_INTERNAL_H
#define LAYERFS_INDEX_INTERNAL_H

#include "layerfs/index.h"
#include "layerfs/path.h"

/* A layer may hold millions of members, so the records, names and data
 * live in an arena of large blocks (one allocation per megabyte, freed
 * at once), not in millions of small allocations (index_build.c). */
struct arena {
	GPtrArray *blocks; /* g_free */
	char *next;	   /* free space in the last block */
	size_t left;
};

struct bxattr {
	const char *name;
	const void *value;
	uint32_t len;
};

/* The builder keeps one record per path, as (parent record, name) in a
 * hash table: a later member for the same path overwrites the earlier one,
 * and a deep path costs one small record per component, never a copy of
 * the whole path per ancestor.  Each record also lists its children. */
struct brec {
	struct brec *parent; /* NULL for the root */
	const char *name;    /* last component; "" for the root */
	struct brec *first_child, *next_sibling; /* newest first */
	uint16_t name_len;
	uint8_t type;	     /* 0 while only markers named this path */
	bool member;	     /* a member of the layer named this path */
	bool implicit;	     /* a directory only implied by what is below */
	bool transparent;    /* implied only by markers (see index.h) */
	bool whiteout;	     /* ".wh.<name>" seen for this path */
	bool opaque;	     /* ".wh..wh..opq" seen in this directory */
	bool dropped;
	uint32_t mode, uid, gid, mtime_nsec;
	int64_t mtime_sec;
	uint64_t size, data, rdev;
	const char *target;
	struct bxattr *xattrs;
	struct lfs_index_extent *extents; /* sparse files: possibly none */
	uint32_t nxattrs, nextents;
	bool sparse;
	/* HARDLINK whose target held data in this layer when it came: that
	 * record (its links list it), and this link's own path. */
	struct brec *link_to;
	const char *link_path;
	/* Set by finish(). */
	uint32_t index;
	struct brec *link_data;	 /* HARDLINK: the record holding the data */
	const char *link_xpath;	 /* HARDLINK into a lower layer: its path */
};

struct lfs_index_builder {
	GHashTable *recs; /* struct brec * keyed by (parent, name) */
	struct arena arena; /* holds the records and all they point to */
	struct brec *root;
	uint32_t max_entries;
	uint64_t max_bytes;
	uint64_t bytes;	  /* names, targets, xattrs and extents held */
	const char *limit; /* the limit the last -E2BIG hit */
	uint64_t nentries, nwhiteouts;
	/* The directory of the last member walked to, and the record it
	 * resolved to: members come grouped by directory, so the next one
	 * most often starts there, and its parents need not be looked up
	 * again.  Forgotten when a symlink comes or goes, which can change
	 * where a path resolves to. */
	char last_dir[LFS_PATH_MAX + 1];
	size_t last_dir_len;
	struct brec *last_dir_rec;
	uint32_t link_steps; /* left of SYMLINK_STEP_BUDGET */
	/* A record holding data -> the hardlinks that came after it and
	 * name it (GPtrArray of struct brec *, in member order): if a
	 * later member replaces it, they keep its data (take_over()). */
	GHashTable *links;
};

/* The first half of finish() (index_build.c): settle what the markers
 * mean, drop what cannot stand (each dropped member named in a warning to
 * @lg for @layer) and resolve the hardlinks.  What is left is every record
 * not marked dropped.  Returns the number of records, dropped ones
 * included. */
guint lfs_index_settle(struct lfs_index_builder *b,
		       const struct lfs_logger *lg, const char *layer);

#endif
