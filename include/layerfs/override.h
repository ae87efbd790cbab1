/* fuse-overlayfs's owner and mode records (its xattr_permissions=
 * option): where an unprivileged mount cannot chown or set some mode
 * bits, it keeps "UID:GID:MODE" (MODE in octal) in an xattr instead, and
 * shows that.  A layer whose root directory carries such an xattr has
 * its directories' and regular files' owners and modes taken from their
 * own.  Three names are in use: security.fuseoverlayfs.override_stat
 * (xattr_permissions=1), user.fuseoverlayfs.override_stat (=2), and
 * user.containers.override_stat, which containers/storage writes. */
#ifndef LAYERFS_OVERRIDE_H
#define LAYERFS_OVERRIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum lfs_override {
	LFS_OVERRIDE_NONE,
	LFS_OVERRIDE_PRIVILEGED,
	LFS_OVERRIDE_USER,
	LFS_OVERRIDE_CONTAINERS,
};

/* The xattr name of @k (NULL for NONE). */
const char *lfs_override_xattr(enum lfs_override k);
/* @name is one of the three: never shown through a mount that uses it. */
bool lfs_override_name(const char *name);
/* Parse a record of @len bytes; false if it is not one. */
bool lfs_override_parse(const char *v, size_t len, uid_t *uid, gid_t *gid,
			mode_t *mode);
/* Format a record into @buf (64 bytes); returns its length. */
size_t lfs_override_format(char *buf, uid_t uid, gid_t gid, mode_t mode);

#endif
