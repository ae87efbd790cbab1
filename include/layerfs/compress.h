/* Streaming compression of a layer being written (`layerfs commit`): the
 * tar stream in, gzip, zstd or plain bytes out to a file descriptor, with
 * the sha256 of both sides taken on the way: the plain stream's is the
 * layer's diff_id, the stored bytes' its blob digest.
 *
 * Both compress on several threads, and the output depends only on the
 * input and the level, never on the number of threads: gzip is deflated
 * in blocks of 128 KiB of input, each with the 32 KiB before it as its
 * dictionary and ended by a sync flush (as pigz makes it; any gunzip
 * reads one stream), under a header with no name and no time; zstd runs
 * its own workers, whose output is the same for any number of them.  So
 * the same tree makes the same blob on every run and every machine. */
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
 * offset) at @level (1-9 for gzip, 1-19 for zstd; 0 the default), on
 * @threads threads (0: one per processor; the output is the same for any
 * number).  Returns 0 or -errno (-EINVAL for a level out of range). */
int lfs_compress_new(enum lfs_compression comp, int level,
		     unsigned int threads, int fd, struct lfs_compress **out);
/* Take @len more bytes of the stream.  Returns 0 or -errno (the write's,
 * e.g. -ENOSPC). */
int lfs_compress_write(struct lfs_compress *c, const void *buf, size_t len);
/* End the stream, flush it to the descriptor and give the digests and
 * sizes.  Returns 0 or -errno. */
int lfs_compress_finish(struct lfs_compress *c,
			struct lfs_compress_result *out);
void lfs_compress_free(struct lfs_compress *c);

#endif
