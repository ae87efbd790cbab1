/* The FUSE requests that change something: thin adapters over fsops.h,
 * as in fuse_ops.c.  On a read-only mount each core call answers EROFS.
 * Setting the virtual xattr LFS_FREEZE_XATTR of the root freezes the
 * mount's changes until the process that set it exits. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fuse_internal.h"
#include "layerfs/fsops.h"

#define mnt lfs_fuse_mnt
#define reply_err lfs_fuse_reply_err

static struct lfs_file *file_of(struct fuse_file_info *fi)
{
	return fi ? (struct lfs_file *)(uintptr_t)fi->fh : NULL;
}

/* Whose new object it is: the process asking. */
static void caller(fuse_req_t req, struct lfs_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->umask = ctx->umask;
}

/* Every change runs inside these, which wait while `layerfs commit`
 * has the mount frozen (freeze.h). */
static void begin(fuse_req_t req)
{
	lfs_fs_change_begin(mnt(req));
}

static void end(fuse_req_t req)
{
	lfs_fs_change_end(mnt(req));
}

/* Only root, or the user the daemon runs as, may freeze the mount. */
static bool may_freeze(fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == 0 || uid == geteuid();
}

static int freeze(fuse_req_t req)
{
	if (!may_freeze(req))
		return -EPERM;
	return lfs_fs_freeze(mnt(req), fuse_req_ctx(req)->pid);
}

static void reply_attr(fuse_req_t req, int err, const struct stat *st)
{
	if (err < 0)
		reply_err(req, err);
	else
		fuse_reply_attr(req, st, lfs_fuse_timeout(req));
}

/* FUSE's setattr bits into the core's. */
static unsigned int setattr_bits(int to_set)
{
	static const struct {
		int fuse;
		unsigned int lfs;
	} map[] = {
		{ FUSE_SET_ATTR_MODE, LFS_SET_MODE },
		{ FUSE_SET_ATTR_UID, LFS_SET_UID },
		{ FUSE_SET_ATTR_GID, LFS_SET_GID },
		{ FUSE_SET_ATTR_SIZE, LFS_SET_SIZE },
		{ FUSE_SET_ATTR_ATIME, LFS_SET_ATIME },
		{ FUSE_SET_ATTR_MTIME, LFS_SET_MTIME },
		{ FUSE_SET_ATTR_ATIME_NOW, LFS_SET_ATIME_NOW },
		{ FUSE_SET_ATTR_MTIME_NOW, LFS_SET_MTIME_NOW },
		{ FUSE_SET_ATTR_CTIME, LFS_SET_CTIME },
	};
	unsigned int what = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
		if (to_set & map[i].fuse)
			what |= map[i].lfs;
	}
	return what;
}

void lfs_fuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct lfs_setattr a = {
		.what = setattr_bits(to_set),
		.mode = attr->st_mode,
		.uid = attr->st_uid,
		.gid = attr->st_gid,
		.size = (uint64_t)attr->st_size,
		.atime = attr->st_atim,
		.mtime = attr->st_mtim,
	};
	struct stat st;
	int err;

	begin(req);
	err = lfs_fs_setattr(mnt(req), ino, &a, file_of(fi), &st);
	end(req);
	reply_attr(req, err, &st);
}

static void make(fuse_req_t req, fuse_ino_t parent, const char *name,
		 const struct lfs_new_obj *obj)
{
	struct lfs_caller c;
	struct stat st;
	uint64_t id;
	int err;

	caller(req, &c);
	begin(req);
	err = lfs_fs_make(mnt(req), parent, name, obj, &c, &id, &st, NULL);
	end(req);
	if (err < 0)
		reply_err(req, err);
	else
		lfs_fuse_reply_entry(req, id, &st);
}

void lfs_fuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev)
{
	struct lfs_new_obj o = { .mode = mode, .rdev = rdev };

	make(req, parent, name, &o);
}

void lfs_fuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode)
{
	struct lfs_new_obj o = { .mode = S_IFDIR | (mode & 07777) };

	make(req, parent, name, &o);
}

void lfs_fuse_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name)
{
	struct lfs_new_obj o = { .mode = S_IFLNK | 0777, .target = link };

	make(req, parent, name, &o);
}

void lfs_fuse_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	struct lfs_new_obj o = { .mode = S_IFREG | (mode & 07777),
				 .flags = fi->flags };
	struct fuse_entry_param e;
	struct lfs_caller c;
	struct lfs_file *f;
	struct stat st;
	uint64_t id;
	int err;

	caller(req, &c);
	begin(req);
	err = lfs_fs_make(mnt(req), parent, name, &o, &c, &id, &st, &f);
	end(req);
	if (err < 0) {
		reply_err(req, err);
		return;
	}
	lfs_fuse_fill_entry(req, id, &st, &e);
	fi->fh = (uintptr_t)f;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) != 0) {
		lfs_fs_release(mnt(req), f);
		lfs_fs_forget(mnt(req), id, 1);
	}
}

void lfs_fuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	struct stat st;
	uint64_t id;
	int err;

	begin(req);
	err = lfs_fs_link(mnt(req), ino, newparent, newname, &id, &st);
	end(req);
	if (err < 0)
		reply_err(req, err);
	else
		lfs_fuse_reply_entry(req, id, &st);
}

void lfs_fuse_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	begin(req);
	err = lfs_fs_unlink(mnt(req), parent, name);
	end(req);
	reply_err(req, err);
}

void lfs_fuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	begin(req);
	err = lfs_fs_rmdir(mnt(req), parent, name);
	end(req);
	reply_err(req, err);
}

void lfs_fuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	int err;

	begin(req);
	err = lfs_fs_rename(mnt(req), parent, name, newparent, newname, flags);
	end(req);
	reply_err(req, err);
}

static void reply_written(fuse_req_t req, ssize_t n)
{
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

void lfs_fuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)ino;
	begin(req);
	n = lfs_fs_write(mnt(req), file_of(fi), buf, size, (uint64_t)off);
	end(req);
	reply_written(req, n);
}

/* The data goes from the kernel's buffer (or the pipe libfuse spliced it
 * into) straight to the upper file. */
void lfs_fuse_write_buf(fuse_req_t req, fuse_ino_t ino,
			struct fuse_bufvec *bufv, off_t off,
			struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(bufv));
	ssize_t n;
	int fd;

	(void)ino;
	begin(req);
	fd = lfs_fs_write_fd(mnt(req), file_of(fi));
	if (fd < 0) {
		end(req);
		reply_err(req, fd);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, bufv, 0);
	end(req);
	reply_written(req, n);
}

void lfs_fuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	(void)ino;
	reply_err(req, lfs_fs_fsync(mnt(req), file_of(fi), datasync != 0));
}

void lfs_fuse_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	(void)fi;
	reply_err(req, lfs_fs_fsyncdir(mnt(req), ino, datasync != 0));
}

void lfs_fuse_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	int err;

	if (ino == FUSE_ROOT_ID && strcmp(name, LFS_FREEZE_XATTR) == 0) {
		reply_err(req, freeze(req));
		return;
	}
	begin(req);
	err = lfs_fs_setxattr(mnt(req), ino, name, value, size, flags);
	end(req);
	reply_err(req, err);
}

void lfs_fuse_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int err;

	begin(req);
	err = lfs_fs_removexattr(mnt(req), ino, name);
	end(req);
	reply_err(req, err);
}

void lfs_fuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			off_t offset, off_t length, struct fuse_file_info *fi)
{
	int err;

	(void)ino;
	begin(req);
	err = lfs_fs_fallocate(mnt(req), file_of(fi), mode, (uint64_t)offset,
			       (uint64_t)length);
	end(req);
	reply_err(req, err);
}

void lfs_fuse_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi)
{
	int64_t r = lfs_fs_lseek(mnt(req), file_of(fi), (uint64_t)off, whence);

	(void)ino;
	if (r < 0)
		reply_err(req, (int)r);
	else
		fuse_reply_lseek(req, (off_t)r);
}

void lfs_fuse_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			      off_t off_in, struct fuse_file_info *fi_in,
			      fuse_ino_t ino_out, off_t off_out,
			      struct fuse_file_info *fi_out, size_t len,
			      int flags)
{
	ssize_t n;

	(void)ino_in;
	(void)ino_out;
	begin(req);
	n = lfs_fs_copy_range(mnt(req), file_of(fi_in), (uint64_t)off_in,
			      file_of(fi_out), (uint64_t)off_out, len, flags);
	end(req);
	reply_written(req, n);
}
