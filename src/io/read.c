/* The read path (see read.h). */
#include <errno.h>
#include <string.h>

#include "layerfs/fdutil.h"
#include "layerfs/read.h"

/* Read exactly @len bytes of the tar stream at @pos. */
static int stream_read(const struct lfs_layer *l, void *buf, size_t len,
		       uint64_t pos)
{
	ssize_t n;

	if (!l->data)
		return -ENODATA;
	n = lfs_blob_pread(l->data, buf, len, pos);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -ENODATA;
}

static int sparse_read(const struct lfs_layer *l,
		       const struct lfs_index_entry *e, char *buf, size_t len,
		       uint64_t off)
{
	const struct lfs_index *ix = l->index;
	uint64_t end = off + len;

	memset(buf, 0, len);
	for (uint32_t k = 0; k < e->u.ext.count; k++) {
		const struct lfs_index_extent *x =
			&ix->extents[e->u.ext.first + k];
		uint64_t from = MAX(off, x->logical);
		uint64_t to = MIN(end, x->logical + x->len);
		int err;

		if (from >= to)
			continue;
		err = stream_read(l, buf + (from - off), (size_t)(to - from),
				  x->physical + (from - x->logical));
		if (err < 0)
			return err;
	}
	return 0;
}

ssize_t lfs_read_entry(const struct lfs_layer *l, uint32_t i, int fd,
		       void *buf, size_t len, uint64_t off)
{
	const struct lfs_index_entry *e = lfs_index_get(l->index, i);
	int err;

	if (e->type != LFS_T_REG)
		return -EINVAL;
	if (off >= e->size)
		return 0;
	len = (size_t)MIN((uint64_t)len, e->size - off);
	if (fd >= 0) {
		ssize_t n = lfs_pread_full(fd, buf, len, (off_t)off);

		/* A directory layer's file shrank since it was indexed: we
		 * cannot give the bytes we promised, and will not invent
		 * them. */
		if (n >= 0 && (size_t)n < len)
			return -ENODATA;
		return n;
	}
	if (e->flags & LFS_E_SPARSE)
		err = sparse_read(l, e, buf, len, off);
	else
		err = stream_read(l, buf, len, e->u.data + off);
	return err < 0 ? err : (ssize_t)len;
}
