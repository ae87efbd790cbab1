/* What `layerfs stats MOUNTPOINT` prints: the mount's counters as text.
 *
 * The text is the value of a virtual extended attribute of the mount's
 * root, LFS_STATS_XATTR, which listxattr does not show (so copying the
 * tree, or overlayfs copying a file up, never copies it). */
#ifndef LAYERFS_STATS_H
#define LAYERFS_STATS_H

#include "layerfs/mount.h"

#define LFS_STATS_XATTR "user.layerfs.stats"
/* The same counters as JSON (schema LFS_STATS_JSON_SCHEMA, docs/json.md),
 * on the root too, listed nowhere either. */
#define LFS_STATS_JSON_XATTR "user.layerfs.stats.json"
#define LFS_STATS_JSON_SCHEMA "layerfs.stats/1"
/* What the mount is made of (struct lfs_mount.described), on the root,
 * listed nowhere. */
#define LFS_MOUNT_JSON_XATTR "user.layerfs.mount.json"
#define LFS_MOUNT_JSON_SCHEMA "layerfs.mount/1"

/* One "key: value" line per counter, then one line per layer (g_free). */
char *lfs_mount_stats_text(struct lfs_mount *m);
char *lfs_mount_stats_json(struct lfs_mount *m);

#endif
