/* An upper's changes as a new image layer (`layerfs commit`): the walk of
 * changes.h written as a tar stream with OCI whiteouts, compressed
 * (compress.h) into a file.
 *
 * What goes in, in the walk's order (byte order of paths, a directory
 * before what it holds):
 *  - every directory the upper holds, added, changed or kept, with the
 *    merged tree's attributes: an extractor keeps a directory's mtime
 *    when it adds to it, so a parent that is not in the layer would keep
 *    the image's time;
 *  - every added or changed file, link, device and FIFO, whole, with its
 *    owner, mode, times and xattrs as the merged tree shows them; the
 *    names of one file after the first as hardlinks to it;
 *  - for each deleted name, an empty ".wh.NAME" beside it.  A directory
 *    made again over a lower one (opaque) is written as the deletions of
 *    what it hid, one whiteout each, which every extractor applies alike.
 *  - an object of another type than the image's at its name is preceded
 *    by a whiteout of the name, so that extractors remove the old one
 *    rather than open it (a FIFO) or fail over it.
 * The root is written as "./", with its attributes.  What a layer cannot
 * hold is left out and counted: sockets (a tar has no type for them; the
 * image's object a socket replaced is still deleted), and xattrs in the
 * overlay.* namespaces, which every layer reader takes for overlayfs's
 * own.  A name that starts with ".wh." cannot be written at all (readers
 * take it for a whiteout): the commit fails, naming it.
 *
 * The format is pax (ustar where it fits), xattrs as SCHILY.xattr
 * records, which is how umoci, containerd and podman read them. */
#ifndef LAYERFS_COMMIT_H
#define LAYERFS_COMMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "layerfs/compress.h"
#include "layerfs/mount.h"

struct lfs_commit_options {
	enum lfs_compression comp; /* NONE, GZIP, ZSTD */
	int level;		   /* 0: the compressor's default */
	/* Reproducible layers: an mtime later than @clamp_time is written
	 * as @clamp_time (BuildKit's and buildah's SOURCE_DATE_EPOCH). */
	bool clamp;
	struct timespec clamp_time;
	const gint *stop; /* set (atomically): give up, ECANCELED; or NULL */
};

/* @entries and @bytes are stored atomically (__atomic): a progress
 * display may read them while the commit runs. */
struct lfs_commit_stats {
	uint64_t added, changed, deleted; /* as `layerfs diff` counts */
	uint64_t entries;		  /* tar members written */
	uint64_t bytes;			  /* of the tar stream, so far */
	uint64_t sockets;		  /* left out */
	uint64_t xattrs_left;		  /* overlay.* xattrs left out */
};

/* Write the changes of @m's upper (a mount with an upper, opened
 * read-only or not) into @fd as a compressed layer, counting into @st
 * (zeroed by the caller).  Errors name the path and the problem. */
gboolean lfs_commit_layer(struct lfs_mount *m,
			  const struct lfs_commit_options *o, int fd,
			  struct lfs_compress_result *res,
			  struct lfs_commit_stats *st, GError **error);

#endif
