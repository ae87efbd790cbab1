/* The copy engine: a lower file's bytes into a new upper file, for
 * copy-up.  Where the bytes lie in a plain file (a directory layer, an
 * uncompressed tar read in place, an unpacked copy), the kernel copies
 * them (copy_file_range, which reflinks where the file system can, or
 * sendfile); otherwise they are decompressed through the layer's pooled
 * readers into large buffers.  Holes stay holes: only the data runs are
 * written, and the size is set at the end. */
#ifndef LAYERFS_COPY_H
#define LAYERFS_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "layerfs/read.h"

/* A source: regular-file data of @size bytes, read through two calls. */
struct lfs_copy_src {
	uint64_t size;
	/* Where [off, off + len) lies in one plain file, as lfs_read_map()
	 * answers (-EAGAIN: nowhere; read it).  NULL: never. */
	int (*map)(void *ctx, size_t len, uint64_t off,
		   struct lfs_read_map *out);
	/* As lfs_read_entry(). */
	ssize_t (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	/* The first data run at or after @off as [*start, *end); false
	 * when there is none.  NULL: the whole file is data. */
	bool (*next_data)(void *ctx, uint64_t off, uint64_t *start,
			  uint64_t *end);
	void *ctx;
};

struct lfs_copy_stats {
	uint64_t kernel;   /* bytes copied by copy_file_range/sendfile */
	uint64_t buffered; /* bytes copied through our buffers */
	/* The copy failed reading the source, at the read of @failed_at
	 * (not writing @dst). */
	bool read_failed;
	uint64_t failed_at;
};

/* Copy the first @limit bytes (UINT64_MAX: all) of @src into @dst, an
 * empty file, at the same offsets; @dst's size becomes min(@limit,
 * size).  Returns 0 or -errno: -ENOSPC, -EDQUOT (or -EIO) from the
 * upper; -EIO, -ENODATA (or any of lfs_read_entry()'s) from the source,
 * which @st->read_failed tells apart. */
int lfs_copy_data(const struct lfs_copy_src *src, int dst, uint64_t limit,
		  struct lfs_copy_stats *st);

/* A source reading regular-file entry @i of @s (@fd: a directory layer's
 * open file, else -1), set up in @src; @ctx is storage for it. */
struct lfs_copy_entry_ctx {
	struct lfs_stream *s;
	uint32_t i;
	int fd;
};

void lfs_copy_src_entry(struct lfs_copy_src *src,
			struct lfs_copy_entry_ctx *ctx, struct lfs_stream *s,
			uint32_t i, int fd);

#endif
