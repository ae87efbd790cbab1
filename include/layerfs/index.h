/* The index of one layer: every entry it holds, in a flat form that lookups
 * can binary-search and that can be written to disk and mapped back as is.
 *
 * Layout.  Entry 0 is the layer's root directory.  The children of each
 * directory are contiguous (dir.first .. dir.first + dir.count - 1) and
 * sorted by name in byte order (memcmp, shorter first on a common prefix).
 * Names, link targets and xattr names and values live in one string table;
 * offset 0 there is the empty string.
 *
 * What an entry means follows the OCI image spec's changeset rules, decided
 * per layer while building (see lfs_index_builder_*):
 *  - the last entry a layer holds for a path wins (as extracting it would);
 *  - ".wh.NAME" becomes a WHITEOUT entry NAME, or, when the same layer also
 *    holds NAME, the flag REPLACES on that entry (the lower NAME is deleted
 *    and this layer's NAME stands);
 *  - ".wh..wh..opq" sets OPAQUE on its directory;
 *  - a directory the layer never lists but needs as a parent is IMPLICIT:
 *    it exists, but does not override a lower directory's attributes;
 *  - a directory that holds only whiteout or opaque markers (and no member
 *    of its own) is also TRANSPARENT: extraction applies the markers to a
 *    lower directory of that name but creates nothing, so it exists only
 *    where a lower layer has that directory;
 *  - a hardlink names its target entry, or (XLINK) a path resolved in the
 *    layers below, as extraction onto the lower tree would;
 *  - a member that cannot be applied (a hardlink to a directory or in a
 *    loop, a child of a non-directory) is left out; if the same layer also
 *    whited out its name, the whiteout still stands. */
#ifndef LAYERFS_INDEX_H
#define LAYERFS_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "layerfs/log.h"
#include "layerfs/whiteout.h"

enum lfs_etype {
	LFS_T_REG = 1,
	LFS_T_DIR,
	LFS_T_LNK,
	LFS_T_CHR,
	LFS_T_BLK,
	LFS_T_FIFO,
	LFS_T_WHITEOUT,
	LFS_T_HARDLINK,
};

enum lfs_eflags {
	LFS_E_IMPLICIT = 1 << 0,
	LFS_E_OPAQUE = 1 << 1,
	LFS_E_REPLACES = 1 << 2,
	LFS_E_SPARSE = 1 << 3,
	LFS_E_XLINK = 1 << 4,
	LFS_E_TRANSPARENT = 1 << 5,
};

#define LFS_INDEX_ROOT 0u
#define LFS_INDEX_NONE UINT32_MAX

struct lfs_index_entry {
	uint32_t name;	   /* string table offset, NUL-terminated */
	uint16_t name_len;
	uint8_t type;	   /* enum lfs_etype */
	uint8_t flags;	   /* enum lfs_eflags */
	uint32_t parent;   /* entry index of the parent directory */
	uint32_t mode;	   /* permission bits only (07777) */
	uint32_t uid;
	uint32_t gid;
	uint32_t mtime_nsec;
	uint32_t reserved; /* 0; keeps the layout explicit on disk */
	int64_t mtime_sec;
	uint64_t size;	   /* REG: file size; LNK: target length;
			    * DIR: number of subdirectories, transparent
			    * ones not counted */
	union {
		struct {
			uint32_t first, count;
		} dir;		     /* DIR: children */
		uint64_t data;	     /* REG: offset in the tar stream */
		struct {
			uint32_t first, count;
		} ext;		     /* REG with SPARSE: extents */
		uint32_t target;     /* LNK: string table offset;
				      * HARDLINK: entry index, or with XLINK
				      * the string offset of a path */
		uint64_t rdev;	     /* CHR, BLK */
	} u;
	uint32_t xattr_first;
	uint32_t xattr_count;
};

struct lfs_index_xattr {
	uint32_t name;	/* string table offset, NUL-terminated */
	uint32_t value; /* string table offset of @value_len raw bytes */
	uint32_t value_len;
};

/* A data run of a sparse file: @len bytes of the file at @logical are in
 * the tar stream at @physical.  Everything else in the file reads as 0. */
struct lfs_index_extent {
	uint64_t logical;
	uint64_t physical;
	uint64_t len;
};

/* An access point into a gzip stream (the zran technique; see
 * seek_index.h): decompression can restart at uncompressed offset @out by
 * reading compressed bytes from @in, after priming @bits bits of the byte
 * before @in and setting @dict_len bytes of history (kept deflated at
 * @window in the windows blob). */
struct lfs_index_checkpoint {
	uint64_t out;
	uint64_t in;
	uint32_t bits;
	uint32_t dict_len;
	uint64_t window;
	uint32_t window_len;
	uint32_t reserved;
};

/* Where a zstd frame starts: compressed @in, uncompressed @out. */
struct lfs_index_frame {
	uint64_t in;
	uint64_t out;
};

/* Bounds of lfs_index.sum_chunk: the default (seek_index.h) lies between;
 * a file outside them is not trusted. */
#define LFS_SUM_CHUNK_MIN 4096u
#define LFS_SUM_CHUNK_MAX (16u << 20)

struct lfs_index {
	void *map;	  /* the mapped index file, or NULL when built here */
	size_t map_len;
	struct lfs_index_entry *entries;
	uint32_t nentries;
	char *strtab;
	uint32_t strtab_len;
	struct lfs_index_xattr *xattrs;
	uint32_t nxattrs;
	struct lfs_index_extent *extents;
	uint32_t nextents;
	uint32_t *hardlinks; /* indices of the HARDLINK entries */
	uint32_t nhardlinks;
	/* Indices of the IMPLICIT directories but the root, in order: the
	 * places where a lower layer's symlink may take what is below
	 * (tree/relocate.c), found without a pass over every entry. */
	uint32_t *implicit;
	uint32_t nimplicit;
	/* Random access into the compressed stream (empty when stored
	 * plain, or for zstd with a single frame). */
	struct lfs_index_checkpoint *checkpoints;
	uint32_t ncheckpoints;
	uint8_t *windows;
	uint64_t windows_len;
	struct lfs_index_frame *frames;
	uint32_t nframes;
	/* Checksums of the uncompressed stream of a compressed layer: XXH3-64
	 * of each @sum_chunk bytes in turn (the last chunk may be shorter),
	 * recorded by the indexing pass and checked by every later inflate
	 * (seek_index.h), so that a layer changed since it was indexed
	 * cannot be served.  Empty when stored plain. */
	uint64_t *sums;
	uint32_t nsums;
	uint32_t sum_chunk; /* a power of two, LFS_SUM_CHUNK_MIN..MAX */
	/* What the scan saw, for `layerfs inspect`. */
	uint64_t stat_entries;	 /* members applied, whiteouts excluded */
	uint64_t stat_whiteouts; /* .wh. members, opaque markers included */
};

void lfs_index_free(struct lfs_index *ix);

static inline const struct lfs_index_entry *
lfs_index_get(const struct lfs_index *ix, uint32_t i)
{
	return &ix->entries[i];
}

static inline const char *lfs_index_str(const struct lfs_index *ix,
					uint32_t off)
{
	return ix->strtab + off;
}

/* Check every invariant readers rely on (ranges, offsets, order, types),
 * for an index that came from a file.  @tar_size and @stored_size bound
 * data offsets and access points.  Returns true, or false with *why. */
bool lfs_index_validate(const struct lfs_index *ix, uint64_t tar_size,
			uint64_t stored_size, const char **why);

/* Child @name (@len bytes) of directory entry @dir, or LFS_INDEX_NONE. */
uint32_t lfs_index_find(const struct lfs_index *ix, uint32_t dir,
			const char *name, size_t len);

/* Entry at canonical path @path ("" = root), or LFS_INDEX_NONE. */
uint32_t lfs_index_lookup_path(const struct lfs_index *ix, const char *path);

/* Canonical path of entry @i (g_free). */
char *lfs_index_path(const struct lfs_index *ix, uint32_t i);

/* Byte order of names, as the children are sorted. */
int lfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* ---- building ---------------------------------------------------------- */

struct lfs_index_builder;

struct lfs_scan_xattr {
	const char *name;
	const void *value;
	size_t len;
};

/* One entry as a scanner found it.  Strings are copied. */
struct lfs_scan_entry {
	enum lfs_etype type; /* not WHITEOUT: see lfs_index_builder_whiteout */
	uint32_t mode, uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;
	uint64_t data;	     /* REG in a tar: data offset in the stream */
	uint64_t rdev;
	const char *target;  /* LNK: target; HARDLINK: canonical path */
	const struct lfs_scan_xattr *xattrs;
	size_t nxattrs;
	bool sparse; /* REG: the data is @extents, holes between read as 0 */
	const struct lfs_index_extent *extents;
	size_t nextents;
};

/* Limits against hostile layers; a layer over them fails to index.  Four
 * million entries (implicit directories included) is several times the
 * largest real layers; 512 MiB of names, link targets and xattrs is more
 * than a hundred times what such a layer needs.  Together they bound the
 * builder's memory to about 1 GiB. */
#define LFS_INDEX_MAX_ENTRIES (1u << 22)
#define LFS_INDEX_MAX_BYTES (512u << 20)

struct lfs_index_builder *lfs_index_builder_new(void);
void lfs_index_builder_free(struct lfs_index_builder *b);
/* Lower limits than the defaults above (tests use this). */
void lfs_index_builder_set_limits(struct lfs_index_builder *b,
				  uint32_t max_entries, uint64_t max_bytes);
/* Fewer steps inside symlink targets than the default budget
 * (index_build.c, SYMLINK_STEP_BUDGET) for the whole layer (tests use
 * this). */
void lfs_index_builder_set_link_steps(struct lfs_index_builder *b,
				      uint32_t steps);

/* Record @e at canonical @path ("" = root).  Returns 0 or -E2BIG when a
 * limit is reached (see lfs_index_builder_error()). */
int lfs_index_builder_add(struct lfs_index_builder *b, const char *path,
			  const struct lfs_scan_entry *e);
/* If the last component of canonical @path is a whiteout marker, apply it.
 * *kind says what it was: LFS_WH_NONE (not a marker: add the member as an
 * entry), LFS_WH_INVALID (nothing applied: the caller warns), or one that
 * was handled.  Returns 0 or -E2BIG. */
int lfs_index_builder_marker(struct lfs_index_builder *b, const char *path,
			     enum lfs_wh_kind *kind);
/* NAME at canonical @path is deleted (".wh.NAME", or overlayfs's 0/0
 * character device). */
int lfs_index_builder_whiteout(struct lfs_index_builder *b, const char *path);
/* Directory @dir is opaque (".wh..wh..opq", or overlayfs's xattr). */
int lfs_index_builder_opaque(struct lfs_index_builder *b, const char *dir);
/* Members recorded so far (whiteouts not counted), for progress. */
uint64_t lfs_index_builder_members(const struct lfs_index_builder *b);
/* Which limit the last -E2BIG hit, for messages. */
const char *lfs_index_builder_error(const struct lfs_index_builder *b);

/* Keep the members' attributes, while building, in an unlinked file in
 * directory @dirfd (the cache's), where the kernel can write them out
 * under memory pressure, rather than in memory (index_internal.h).  Call
 * before the first member. */
void lfs_index_builder_set_spill(struct lfs_index_builder *b, int dirfd);
/* Bytes of memory the builder holds for its tree, for tests. */
uint64_t lfs_index_builder_memory(const struct lfs_index_builder *b);

/* Lay the entries out (see the top of this file) into an index held in
 * memory, with @seek's access points and checksums (NULL: none).  Members
 * that cannot be applied are left out with a warning to @lg naming
 * @layer.  NULL, with a warning, when there is no memory for it.
 * Writing the index straight to a file: index_file.h. */
struct lfs_index *lfs_index_builder_finish_seek(struct lfs_index_builder *b,
						const struct lfs_logger *lg,
						const char *layer,
						const struct lfs_index *seek);
struct lfs_index *lfs_index_builder_finish(struct lfs_index_builder *b,
					   const struct lfs_logger *lg,
					   const char *layer);

#endif
