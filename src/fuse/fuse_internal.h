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

/* What the FUSE side keeps for a mount: the session's userdata.  The
 * core's struct lfs_mount knows nothing of FUSE; how replies are made
 * (spliced or copied, how long) is decided here. */
struct lfs_fuse {
	struct lfs_mount *m;
	bool splice;	     /* reply to reads from plain files by splice */
	uint64_t splice_max; /* the longest such reply */
	uint64_t max_read;   /* the max_read= mount option; 0: none */
	uint64_t readahead;  /* bytes the kernel should read ahead */
	char *bdi;	     /* "MAJ:MIN" until readahead is set */
};

/* FUSE caps a mount's readahead at the 128 KiB default, and the INIT
 * reply can only lower it; a compressed layer reads far better in longer
 * requests (fewer, longer inflate runs).  So once INIT is done (any later
 * request proves it), the mount's readahead is raised through sysfs,
 * which only root may do; otherwise the default stays.  Runs once: the
 * first call takes f->bdi. */
void lfs_fuse_raise_readahead(struct lfs_fuse *f);

#endif
