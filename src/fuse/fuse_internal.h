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

/* FUSE caps a mount's readahead at the 128 KiB default, and the INIT
 * reply can only lower it; a compressed layer reads far better in longer
 * requests (fewer, longer inflate runs).  So once INIT is done (any later
 * request proves it), the mount's readahead is raised through sysfs,
 * which only root may do; otherwise the default stays.  Runs once: the
 * first call takes m->bdi. */
void lfs_fuse_raise_readahead(struct lfs_mount *m);

#endif
