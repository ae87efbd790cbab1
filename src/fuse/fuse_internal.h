/* Declarations shared by src/fuse/ only.  This directory is the only code
 * that sees libfuse; the core below it speaks plain C (fsops.h). */
#ifndef LAYERFS_FUSE_INTERNAL_H
#define LAYERFS_FUSE_INTERNAL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>

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
	double timeout;	     /* entry and attribute timeouts */
	/* Each loop thread's pipe for spliced replies (see op_read()),
	 * closed when the thread ends. */
	pthread_key_t pipe_key;
	bool pipe_key_made;
};

/* fuse_ops.c: the pipes of spliced replies, one per loop thread: make
 * their key before the loop starts (0 or -errno), delete it after. */
int lfs_fuse_pipes_init(struct lfs_fuse *f);
void lfs_fuse_pipes_fini(struct lfs_fuse *f);

/* FUSE caps a mount's readahead at the 128 KiB default, and the INIT
 * reply can only lower it; a compressed layer reads far better in longer
 * requests (fewer, longer inflate runs).  So once INIT is done (any later
 * request proves it), the mount's readahead is raised through sysfs,
 * which only root may do; otherwise the default stays.  Runs once: the
 * first call takes f->bdi. */
void lfs_fuse_raise_readahead(struct lfs_fuse *f);

/* fuse_ops.c: the mount a request is for, the one place errno is
 * negated, and an entry reply (whose count is taken back if it fails). */
struct lfs_mount *lfs_fuse_mnt(fuse_req_t req);
void lfs_fuse_reply_err(fuse_req_t req, int err);
void lfs_fuse_reply_entry(fuse_req_t req, uint64_t id, const struct stat *st);
void lfs_fuse_fill_entry(fuse_req_t req, uint64_t id, const struct stat *st,
			 struct fuse_entry_param *e);
double lfs_fuse_timeout(fuse_req_t req);

/* fuse_write.c: the requests that change something. */
void lfs_fuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi);
void lfs_fuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev);
void lfs_fuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode);
void lfs_fuse_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name);
void lfs_fuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname);
void lfs_fuse_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void lfs_fuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void lfs_fuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags);
void lfs_fuse_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi);
void lfs_fuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi);
void lfs_fuse_write_buf(fuse_req_t req, fuse_ino_t ino,
			struct fuse_bufvec *bufv, off_t off,
			struct fuse_file_info *fi);
void lfs_fuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
void lfs_fuse_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void lfs_fuse_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags);
void lfs_fuse_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void lfs_fuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			off_t offset, off_t length, struct fuse_file_info *fi);
void lfs_fuse_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi);
void lfs_fuse_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			      off_t off_in, struct fuse_file_info *fi_in,
			      fuse_ino_t ino_out, off_t off_out,
			      struct fuse_file_info *fi_out, size_t len,
			      int flags);

#endif
