/* The copy engine (see copy.h).  Data runs are copied a chunk at a time:
 * each chunk is first offered to the kernel (the source's plain file, if
 * it has one), and read through our buffer otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "layerfs/copy.h"
#include "layerfs/fdutil.h"

/* Bytes asked of the source at a time: large enough that a decompressing
 * reader runs long and the kernel's copy loops rarely, small enough for a
 * buffer on every copy-up (1 MiB, as overlayfs's OVL_COPY_UP_CHUNK_SIZE). */
#define CHUNK (1u << 20)

/* Copy @len bytes at @pos of plain file @fd to @dst at @off, by the
 * kernel.  Returns the bytes copied: all of them, or fewer where the
 * kernel cannot copy here or a call failed.  The caller goes on with
 * buffers, whose reads and writes tell a failing source (a bad block
 * under the layer) from a failing destination (a full upper). */
static size_t kernel_copy(int fd, uint64_t pos, int dst, uint64_t off,
			  size_t len)
{
	loff_t in = (loff_t)pos, out = (loff_t)off;
	size_t done = 0;
	bool other_way = false;

	while (done < len) {
		ssize_t n = copy_file_range(fd, &in, dst, &out, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			      errno == ENOSYS || errno == EOPNOTSUPP))
			other_way = true;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	/* Across file systems: sendfile, which writes at the file
	 * position. */
	if (other_way && lseek(dst, (off_t)out, SEEK_SET) >= 0) {
		while (done < len) {
			ssize_t n = sendfile(dst, fd, &in, len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			done += (size_t)n;
		}
	}
	return done;
}

static int buffered_copy(const struct lfs_copy_src *src, char *buf, int dst,
			 uint64_t off, size_t len, struct lfs_copy_stats *st)
{
	ssize_t n = src->read(src->ctx, buf, len, off);

	if (n < 0 || (size_t)n < len) {
		st->read_failed = true;
		st->failed_at = off;
		return n < 0 ? (int)n : -ENODATA;
	}
	return lfs_pwrite_full(dst, buf, len, (off_t)off);
}

/* Copy [off, end) of @src, a data run. */
static int copy_run(const struct lfs_copy_src *src, char **buf, int dst,
		    uint64_t off, uint64_t end, struct lfs_copy_stats *st)
{
	while (off < end) {
		size_t len = (size_t)MIN((uint64_t)CHUNK, end - off);
		struct lfs_read_map map;
		size_t k;
		int err;

		if (src->map && src->map(src->ctx, len, off, &map) == 0 &&
		    map.len == len) {
			k = kernel_copy(map.fd, map.pos, dst, off, len);
			st->kernel += (uint64_t)k;
			off += (uint64_t)k;
			len -= k;
		}
		if (!len)
			continue;
		if (!*buf)
			*buf = g_malloc(CHUNK);
		err = buffered_copy(src, *buf, dst, off, len, st);
		if (err)
			return err;
		st->buffered += len;
		off += len;
	}
	return 0;
}

int lfs_copy_data(const struct lfs_copy_src *src, int dst, uint64_t limit,
		  struct lfs_copy_stats *st)
{
	g_autofree char *buf = NULL;
	uint64_t size = MIN(limit, src->size);
	uint64_t off = 0, start, end;
	int err;

	while (off < size) {
		if (src->next_data) {
			if (!src->next_data(src->ctx, off, &start, &end))
				break;
		} else {
			start = off;
			end = size;
		}
		start = MAX(start, off);
		end = MIN(end, size);
		if (start >= end)
			break;
		err = copy_run(src, &buf, dst, start, end, st);
		if (err)
			return err;
		off = end;
	}
	/* The holes, and a file that ends in one. */
	if (ftruncate(dst, (off_t)size) < 0)
		return -errno;
	return 0;
}

/* ---- a source over a layer entry ---- */

static int entry_map(void *ctx, size_t len, uint64_t off,
		     struct lfs_read_map *out)
{
	struct lfs_copy_entry_ctx *c = ctx;

	return lfs_read_map(c->s, c->i, c->fd, len, off, out);
}

static ssize_t entry_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct lfs_copy_entry_ctx *c = ctx;

	return lfs_read_entry(c->s, c->i, c->fd, buf, len, off);
}

/* A sparse entry's data runs, from its extents. */
static bool extent_next(void *ctx, uint64_t off, uint64_t *start,
			uint64_t *end)
{
	struct lfs_copy_entry_ctx *c = ctx;
	const struct lfs_index *ix = lfs_stream_layer(c->s)->index;
	const struct lfs_index_entry *e = lfs_index_get(ix, c->i);

	for (uint32_t k = 0; k < e->u.ext.count; k++) {
		const struct lfs_index_extent *x =
			&ix->extents[e->u.ext.first + k];

		if (x->logical + x->len > off && x->len) {
			*start = MAX(off, x->logical);
			*end = x->logical + x->len;
			return true;
		}
	}
	return false;
}

/* A directory layer's file: its holes, as its file system knows them. */
static bool seek_next(void *ctx, uint64_t off, uint64_t *start,
		      uint64_t *end)
{
	struct lfs_copy_entry_ctx *c = ctx;
	off_t d = lseek(c->fd, (off_t)off, SEEK_DATA);
	off_t h;

	if (d < 0 && errno == ENXIO)
		return false; /* only a hole is left */
	if (d < 0) {
		/* The file system cannot tell: all data. */
		*start = off;
		*end = UINT64_MAX;
		return true;
	}
	h = lseek(c->fd, d, SEEK_HOLE);
	*start = (uint64_t)d;
	*end = h < 0 ? UINT64_MAX : (uint64_t)h;
	return true;
}

void lfs_copy_src_entry(struct lfs_copy_src *src,
			struct lfs_copy_entry_ctx *ctx, struct lfs_stream *s,
			uint32_t i, int fd)
{
	const struct lfs_index_entry *e =
		lfs_index_get(lfs_stream_layer(s)->index, i);

	ctx->s = s;
	ctx->i = i;
	ctx->fd = fd;
	memset(src, 0, sizeof(*src));
	src->size = e->size;
	src->map = entry_map;
	src->read = entry_read;
	src->ctx = ctx;
	if (fd >= 0)
		src->next_data = seek_next;
	else if (e->flags & LFS_E_SPARSE)
		src->next_data = extent_next;
}
