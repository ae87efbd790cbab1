/* Directory layers: a directory holding a layer's files, indexed with the
 * same entry shapes as a tar layer.  Whiteouts may be written either way a
 * layer can hold them: ".wh.NAME" files and ".wh..wh..opq" markers (the OCI
 * form), or overlayfs's own form (a 0/0 character device for a whiteout,
 * the xattr trusted.overlay.opaque="y" on a directory), so an overlayfs
 * upper directory can be stacked as a layer.
 *
 * The walk never follows symlinks, and overlayfs's private xattrs
 * (trusted.overlay.*, user.overlay.*) are not shown.  Empty xattr values
 * are dropped, as they are from tar layers (docs/decisions/0005). */
#ifndef LAYERFS_DIR_SCAN_H
#define LAYERFS_DIR_SCAN_H

#include <glib.h>

#include "layerfs/index.h"
#include "layerfs/log.h"

/* Index the tree under directory @dirfd. */
gboolean lfs_dir_scan(int dirfd, struct lfs_index_builder *b,
		      const struct lfs_logger *lg, const char *layer,
		      GError **error);

#endif
