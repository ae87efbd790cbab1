/* File-range blobs (see blob.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "layerfs/blob.h"
#include "layerfs/fdutil.h"
#include "layerfs/image.h"

struct file_blob {
	struct lfs_blob base;
	int fd;
	uint64_t offset;
};

static ssize_t file_pread(struct lfs_blob *b, void *buf, size_t len,
			  uint64_t off)
{
	struct file_blob *fb = (struct file_blob *)b;

	if (off >= b->size)
		return 0;
	if (len > b->size - off)
		len = (size_t)(b->size - off);
	return lfs_pread_full(fb->fd, buf, len, (off_t)(fb->offset + off));
}

static int file_map(struct lfs_blob *b, uint64_t off, size_t len, int *fd,
		    uint64_t *pos)
{
	struct file_blob *fb = (struct file_blob *)b;

	(void)len; /* lfs_blob_map() checked the range */
	*fd = fb->fd;
	*pos = fb->offset + off;
	return 0;
}

static int file_stat(struct lfs_blob *b, struct stat *st)
{
	struct file_blob *fb = (struct file_blob *)b;

	return fstat(fb->fd, st) < 0 ? -errno : 0;
}

static void file_close(struct lfs_blob *b)
{
	struct file_blob *fb = (struct file_blob *)b;

	close(fb->fd);
	g_free(fb);
}

static const struct lfs_blob_ops file_ops = {
	.pread = file_pread,
	.map = file_map,
	.stat = file_stat,
	.close = file_close,
};

int lfs_blob_open_fd(int fd, uint64_t offset, uint64_t length,
		     struct lfs_blob **out)
{
	struct file_blob *fb;
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (offset > (uint64_t)st.st_size ||
	    (length != LFS_LENGTH_TO_EOF &&
	     length > (uint64_t)st.st_size - offset)) {
		close(fd);
		return -EINVAL;
	}
	fb = g_new0(struct file_blob, 1);
	fb->base.ops = &file_ops;
	fb->base.size = length == LFS_LENGTH_TO_EOF
				? (uint64_t)st.st_size - offset
				: length;
	fb->fd = fd;
	fb->offset = offset;
	*out = &fb->base;
	return 0;
}

int lfs_blob_open_file(const char *path, uint64_t offset, uint64_t length,
		       struct lfs_blob **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return lfs_blob_open_fd(fd, offset, length, out);
}

void lfs_blob_close(struct lfs_blob *b)
{
	if (b)
		b->ops->close(b);
}
