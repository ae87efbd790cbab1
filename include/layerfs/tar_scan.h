/* One streaming pass over a layer's tar stream: every member goes into an
 * index builder with the offset of its data in the (uncompressed) stream.
 * The common members are read by the scanner's own reader (tar_fast.h);
 * from the first member it leaves alone to the end of the stream,
 * libarchive reads them.  Right after archive_read_next_header(),
 * archive_filter_bytes(a, 0) is that offset; for a sparse member, the same
 * call after each archive_read_data_block() gives the block's offset.
 *
 * Unsafe members ('..', absolute paths, over-long names) are skipped with a
 * warning naming the layer and the member; corrupt or truncated streams fail
 * with the offset where it went wrong. */
#ifndef LAYERFS_TAR_SCAN_H
#define LAYERFS_TAR_SCAN_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/index.h"
#include "layerfs/log.h"

/* Where the tar stream comes from. */
struct lfs_tar_source {
	/* The next chunk: set *buf and return its length, 0 at the end, or
	 * -errno with the reason available from error(). */
	ssize_t (*read)(void *ctx, const void **buf);
	const char *(*error)(void *ctx);
	void *ctx;
	/* Every member through libarchive, none through the fast reader
	 * (tar_fast.h): for tests that hold the two to the same index. */
	bool libarchive_only;
};

/* Largest xattr value we keep: the kernel's XATTR_SIZE_MAX. */
#define LFS_XATTR_VALUE_MAX 65536
/* Most xattrs we keep per entry; no file system holds more in practice. */
#define LFS_XATTR_COUNT_MAX 128

gboolean lfs_tar_scan(const struct lfs_tar_source *src,
		      struct lfs_index_builder *b, const struct lfs_logger *lg,
		      const char *layer, GError **error);

#endif
