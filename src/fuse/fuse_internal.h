/* Declarations shared by src/fuse/ only.  This directory is the only code
 * that sees libfuse; the core below it speaks plain C (fsops.h). */
#ifndef LAYERFS_FUSE_INTERNAL_H
#define LAYERFS_FUSE_INTERNAL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "layerfs/mount.h"

/* The image never changes under a read-only mount, so the kernel may keep
 * entries and attributes as long as it likes (squashfuse uses DBL_MAX;
 * a year is as good and prints sanely in debug output). */
#define LFS_TIMEOUT_IMMUTABLE (365.0 * 24 * 3600)

extern const struct fuse_lowlevel_ops lfs_fuse_ops;

#endif
