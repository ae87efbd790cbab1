/* A blob is random-access bytes behind a small ops table: a whole file, a
 * byte range of a file (a layer inside a docker-archive), and later kinds
 * (a gzip stream read through checkpoints).  Readers never care which. */
#ifndef LAYERFS_BLOB_H
#define LAYERFS_BLOB_H

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct lfs_blob;

struct lfs_blob_ops {
	/* Up to @len bytes at @off; short only at the end. -errno on error. */
	ssize_t (*pread)(struct lfs_blob *b, void *buf, size_t len,
			 uint64_t off);
	/* Where bytes [@off, @off + @len) lie in an open file, for readers
	 * that hand a descriptor on (splice) instead of copying: the
	 * descriptor (borrowed, open as long as the blob) and the position
	 * in it.  NULL for a blob that is no plain file range. */
	int (*map)(struct lfs_blob *b, uint64_t off, size_t len, int *fd,
		   uint64_t *pos);
	/* fstat(2) of the file holding the bytes, for readers that check
	 * it was not rewritten under them.  NULL when there is none. */
	int (*stat)(struct lfs_blob *b, struct stat *st);
	void (*close)(struct lfs_blob *b);
};

struct lfs_blob {
	const struct lfs_blob_ops *ops;
	uint64_t size;
};

/* Bytes [@offset, @offset + @length) of the file at @path; @length may be
 * LFS_LENGTH_TO_EOF.  Returns 0 or -errno (-EINVAL if the range lies past
 * the end of the file). */
int lfs_blob_open_file(const char *path, uint64_t offset, uint64_t length,
		       struct lfs_blob **out);

/* The same over an open descriptor, which the blob takes over. */
int lfs_blob_open_fd(int fd, uint64_t offset, uint64_t length,
		     struct lfs_blob **out);

static inline ssize_t lfs_blob_pread(struct lfs_blob *b, void *buf,
				     size_t len, uint64_t off)
{
	return b->ops->pread(b, buf, len, off);
}

/* See lfs_blob_ops.map: 0, -ENODATA when the range lies past the end, or
 * -EOPNOTSUPP when @b cannot say. */
static inline int lfs_blob_map(struct lfs_blob *b, uint64_t off, size_t len,
			       int *fd, uint64_t *pos)
{
	if (!b->ops->map)
		return -EOPNOTSUPP;
	if (off > b->size || len > b->size - off)
		return -ENODATA;
	return b->ops->map(b, off, len, fd, pos);
}

/* See lfs_blob_ops.stat: 0, -EOPNOTSUPP, or -errno. */
static inline int lfs_blob_stat(struct lfs_blob *b, struct stat *st)
{
	return b->ops->stat ? b->ops->stat(b, st) : -EOPNOTSUPP;
}

void lfs_blob_close(struct lfs_blob *b);

#endif
