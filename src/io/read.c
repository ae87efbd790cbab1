/* The read path (see read.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "layerfs/fdutil.h"
#include "layerfs/read.h"

static int sparse_read(struct lfs_stream *s, const struct lfs_index *ix,
		       const struct lfs_index_entry *e, char *buf, size_t len,
		       uint64_t off)
{
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
		err = lfs_stream_read(s, buf + (from - off),
				      (size_t)(to - from),
				      x->physical + (from - x->logical));
		if (err < 0)
			return err;
	}
	return 0;
}

ssize_t lfs_read_entry(struct lfs_stream *s, uint32_t i, int fd, void *buf,
		       size_t len, uint64_t off)
{
	const struct lfs_index *ix = lfs_stream_layer(s)->index;
	const struct lfs_index_entry *e = lfs_index_get(ix, i);
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
		err = sparse_read(s, ix, e, buf, len, off);
	else
		err = lfs_stream_read(s, buf, len, e->u.data + off);
	return err < 0 ? err : (ssize_t)len;
}

/* The extent of a sparse file holding all of [off, off + len), or NULL
 * when a hole or an extent boundary lies inside. */
static const struct lfs_index_extent *
whole_extent(const struct lfs_index *ix, const struct lfs_index_entry *e,
	     size_t len, uint64_t off)
{
	for (uint32_t k = 0; k < e->u.ext.count; k++) {
		const struct lfs_index_extent *x =
			&ix->extents[e->u.ext.first + k];

		if (off >= x->logical && off - x->logical < x->len)
			return len <= x->len - (off - x->logical) ? x : NULL;
	}
	return NULL;
}

int lfs_read_map(struct lfs_stream *s, uint32_t i, int fd, size_t len,
		 uint64_t off, struct lfs_read_map *out)
{
	const struct lfs_index *ix = lfs_stream_layer(s)->index;
	const struct lfs_index_entry *e = lfs_index_get(ix, i);
	const struct lfs_index_extent *x;
	struct stat st;
	int err;

	if (e->type != LFS_T_REG)
		return -EINVAL;
	out->fd = -1;
	out->pos = 0;
	out->len = 0;
	if (off >= e->size)
		return 0;
	len = (size_t)MIN((uint64_t)len, e->size - off);
	if (fd >= 0) {
		out->fd = fd;
		out->pos = off;
	} else if (e->flags & LFS_E_SPARSE) {
		x = whole_extent(ix, e, len, off);
		if (!x)
			return -EAGAIN;
		err = lfs_stream_map(s, len, x->physical + (off - x->logical),
				     &out->fd, &out->pos);
		if (err < 0)
			return err;
	} else {
		err = lfs_stream_map(s, len, e->u.data + off, &out->fd,
				     &out->pos);
		if (err < 0)
			return err;
	}
	/* The kernel would take a short splice for the end of the file; a
	 * file cut short since it was indexed must read as an error, as
	 * lfs_read_entry() answers, so look before handing it on. */
	if (fstat(out->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < out->pos ||
	    (uint64_t)st.st_size - out->pos < len)
		return -ENODATA;
	out->len = len;
	return 0;
}

int lfs_read_errno(int err)
{
	switch (err) {
	case -ENODATA:
	case -EBADMSG:
	case -EUCLEAN:
	case -ESTALE:
	case -EXDEV:
	case -ELOOP:
		return -EIO;
	default:
		return err;
	}
}

char *lfs_read_why(const struct lfs_layer *l, uint32_t i, int err)
{
	g_autofree char *path = NULL;

	switch (err) {
	case -ENODATA:
		return g_strdup("the layer holds less data than its index "
				"says (it changed or was cut short since it "
				"was indexed)");
	case -EBADMSG:
		return g_strdup("its bytes differ from the checksums recorded "
				"when the layer was indexed (the layer changed "
				"since, or the disk returned other bytes)");
	case -EUCLEAN:
		return g_strdup("its compressed data no longer decompresses "
				"(the layer changed since it was indexed)");
	case -ESTALE:
		/* A directory layer's file replaced, or a layer read in
		 * place rewritten (docs/integrity.md). */
		return g_strdup(l->dirfd >= 0
					? "it is no longer a regular file in the "
					  "layer directory"
					: "the layer's file changed since it was "
					  "indexed");
	case -EXDEV:
	case -ELOOP:
		return g_strdup("its path in the layer directory now leads "
				"through a symlink");
	}
	/* The disk's answer (EIO for a bad block): name the file that gave
	 * it, so its disk can be checked. */
	if (l->dirfd >= 0) {
		g_autofree char *rel = lfs_index_path(l->index, i);

		path = g_build_filename(l->spec->path, rel, NULL);
	} else {
		path = g_strdup(l->spec->path);
	}
	return g_strdup_printf("reading %s: %s", path, g_strerror(-err));
}
