/* The on-disk form of a layer's index (docs/index-format.md): the arrays of
 * struct lfs_index, each in its own section, behind a header saying what
 * was indexed.  Written once to a temporary file and renamed into place;
 * mapped read-only by every later mount, and fully validated (checksum,
 * sections, every offset) before anything uses it. */
#ifndef LAYERFS_INDEX_FILE_H
#define LAYERFS_INDEX_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <glib.h>

#include "layerfs/digest.h"
#include "layerfs/image.h"
#include "layerfs/index.h"

/* The format version.  History:
 *   1 - first persisted format (layerfs 0.2);
 *   2 - the implicit directories section (symlinked parents, decision
 *       0018);
 *   3 - the same layout; what some streams index to changed (decision
 *       0023: old-GNU fields of plain members, pax ACL modes, hardlinks
 *       to names replaced later, names with a leading '/' or "..",
 *       negative pax mtimes with a fraction), so indexes made before are
 *       made again;
 *   4 - the blob identity records the ctime; checksums of the
 *       uncompressed stream of compressed layers (section 9); and what
 *       some streams index to changed again (decision 0023: xattrs from
 *       SCHILY.xattr records only, as umoci; GNU sparse members with data
 *       after their map). */
#define LFS_INDEX_FILE_VERSION 4

/* The file holding the stored bytes, as it was when indexed: a later mount
 * trusts the index only for the same file, unchanged.  The ctime is there
 * because no one but the kernel sets it: a file rewritten in place and
 * given its old mtime back (touch -d, tar -x) still shows. */
struct lfs_blob_id {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;	 /* of the whole file */
	int64_t mtime_sec;
	uint64_t mtime_nsec;
	int64_t ctime_sec;
	uint64_t ctime_nsec;
	uint64_t offset; /* the layer's byte range in it */
	uint64_t length;
};

/* @st's identity, for the layer at [@offset, @offset + @length) in it. */
void lfs_blob_id_of(struct lfs_blob_id *id, const struct stat *st,
		    uint64_t offset, uint64_t length);
/* Whether @st is still the file @id was taken of, unchanged: inode, size,
 * mtime and ctime. */
bool lfs_blob_id_same_file(const struct lfs_blob_id *id,
			   const struct stat *st);

/* What an index file says about the layer besides its index. */
struct lfs_index_meta {
	struct lfs_blob_id blob;
	uint64_t stored_size;
	uint64_t tar_size;
	enum lfs_compression compression;
	bool has_digest;
	struct lfs_digest digest; /* of the stored bytes, when known */
	uint64_t span;		  /* gzip access point distance used */
};

/* ---- the format (docs/index-format.md) ---- */

#define LFS_INDEX_FILE_MAGIC "LFSINDEX"
/* Written in native byte order; a file whose mark reads differently came
 * from another kind of machine. */
#define LFS_INDEX_FILE_ENDIAN 0x01020304u
/* Where the checksum sits in the header (it is hashed as zero). */
#define LFS_INDEX_FILE_CHECKSUM_AT 24

enum lfs_index_section {
	LFS_SEC_ENTRIES,     /* struct lfs_index_entry[] */
	LFS_SEC_STRTAB,	     /* bytes */
	LFS_SEC_XATTRS,	     /* struct lfs_index_xattr[] */
	LFS_SEC_EXTENTS,     /* struct lfs_index_extent[] */
	LFS_SEC_HARDLINKS,   /* uint32_t[] */
	LFS_SEC_CHECKPOINTS, /* struct lfs_index_checkpoint[] */
	LFS_SEC_WINDOWS,     /* bytes */
	LFS_SEC_FRAMES,	     /* struct lfs_index_frame[] */
	LFS_SEC_IMPLICIT,    /* uint32_t[] */
	LFS_SEC_SUMS,	     /* uint64_t[] */
	LFS_SEC_COUNT,
};

struct lfs_index_file_section {
	uint64_t offset; /* from the start of the file; 8-aligned */
	uint64_t size;	 /* bytes */
};

struct lfs_index_file_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	uint32_t header_size;
	uint32_t entry_size;
	uint64_t checksum; /* XXH3-64 of the file with this field zero */
	uint64_t file_size;
	struct lfs_blob_id blob;
	uint64_t stored_size;
	uint64_t tar_size;
	uint32_t compression;
	uint32_t digest_algo;
	uint32_t digest_len; /* 0: no digest */
	uint32_t sum_chunk;  /* 0: no checksums */
	uint8_t digest[LFS_DIGEST_MAX_BYTES];
	uint64_t stat_entries;
	uint64_t stat_whiteouts;
	uint64_t span;
	struct lfs_index_file_section sec[LFS_SEC_COUNT];
};

/* Write @ix and @meta to @name in directory @dirfd, atomically.  Returns
 * 0 or -errno (nothing is left behind on failure). */
int lfs_index_file_write(int dirfd, const char *name,
			 const struct lfs_index *ix,
			 const struct lfs_index_meta *meta);

/* ---- writing in steps, for a builder that writes the sections itself
 * (index_layout.c) ---- */

/* @h with the format's marks and @meta's fields; everything else 0. */
void lfs_index_file_header_init(struct lfs_index_file_header *h,
				const struct lfs_index_meta *meta);
/* Finish a file whose sections are written in @fd where @h says, with
 * @h->file_size set: the header goes in, and the checksum over the whole
 * file.  Returns 0 or -errno. */
int lfs_index_file_seal(int fd, struct lfs_index_file_header *h);

/* Write the index of builder @b into @fd (read-write, emptied first) as
 * an index file: the entries settled and laid out (index.h), the stream's
 * access points and checksums of @seek (NULL: none), the header of @meta.
 * Members that cannot be applied are left out with a warning to @lg
 * naming @layer, once however often this is called.  Returns 0 or
 * -errno; it can be called again, into another file, after a failure. */
int lfs_index_builder_write(struct lfs_index_builder *b,
			    const struct lfs_logger *lg, const char *layer,
			    const struct lfs_index *seek,
			    const struct lfs_index_meta *meta, int fd);

/* The index in @fd, which this process wrote and sealed just now, mapped
 * as it is (no validation: lfs_index_file_load is for files found).
 * Returns 0 or -errno. */
int lfs_index_file_adopt(int fd, struct lfs_index **ix);

/* Map and validate @name in @dirfd.  Returns 0, or -ENOENT when there is
 * no such file, -ESTALE with *why for an index of another format version,
 * -EINVAL with *why for a file that is not a valid index (truncated,
 * corrupt, from another machine), or -errno. */
int lfs_index_file_load(int dirfd, const char *name, struct lfs_index **ix,
			struct lfs_index_meta *meta, const char **why);
/* lfs_index_file_load(), of a file this process may have just written and
 * sealed: where @name is still the inode @written says, its checksum is
 * not computed again (it was computed from the same bytes). */
int lfs_index_file_load_written(int dirfd, const char *name,
				const struct stat *written,
				struct lfs_index **ix,
				struct lfs_index_meta *meta, const char **why);

/* Let the pages of a mapped index go from the resident set (they stay in
 * the page cache; the next access faults them back).  Nothing for an
 * index built in memory. */
void lfs_index_file_release(const struct lfs_index *ix);
/* Start reading a mapped index into the page cache, without waiting. */
void lfs_index_file_prefetch(const struct lfs_index *ix);

#endif
