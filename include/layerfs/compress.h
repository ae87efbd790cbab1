/* Streaming compression of a layer being written (`layerfs commit`): the
 * tar stream in, gzip, zstd or plain bytes out to a file descriptor, with
 * the sha256 of both sides taken on the way: the plain stream's is the
 * layer's diff_id, the stored bytes' its blob digest.
 *
 * The output depends only on the input and the level: gzip's header has
 * no name and no time (zlib's default), zstd is single-threaded with its
 * content checksum, so the same tree makes the same blob on every run. */
#ifndef LAYERFS_COMPRESS_H
#define LAYERFS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "layerfs/digest.h"
#include "layerfs/image.h"

struct lfs_compress;

struct lfs_compress_result {
	struct lfs_digest plain;  /* sha256 of the uncompressed stream */
	struct lfs_digest stored; /* sha256 of the bytes written */
	uint64_t plain_size;
	uint64_t stored_size;
};

/* The level used when none is given: zlib's 6, zstd's 3. */
#define LFS_COMPRESS_DEFAULT_LEVEL 0

/* A writer of @comp (NONE, GZIP or ZSTD) to @fd (borrowed, written at its
 * offset) at @level (1-9 for gzip, 1-19 for zstd; 0 the default).
 * Returns 0 or -errno (-EINVAL for a level out of range). */
int lfs_compress_new(enum lfs_compression comp, int level, int fd,
		     struct lfs_compress **out);
/* Take @len more bytes of the stream.  Returns 0 or -errno (the write's,
 * e.g. -ENOSPC). */
int lfs_compress_write(struct lfs_compress *c, const void *buf, size_t len);
/* End the stream, flush it to the descriptor and give the digests and
 * sizes.  Returns 0 or -errno. */
int lfs_compress_finish(struct lfs_compress *c,
			struct lfs_compress_result *out);
void lfs_compress_free(struct lfs_compress *c);

#endif
