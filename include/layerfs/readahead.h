/* Reading ahead on a thread of its own: a producer calls a read function
 * into a small ring of buffers while the consumer works through the
 * chunks already read.  The indexing pass uses it so that decompressing
 * a layer (one core) and parsing its tar stream and building its index
 * (another) overlap instead of taking turns.
 *
 * Chunks come out in the order they were read.  Memory is bounded: the
 * producer waits while every buffer holds a chunk not yet consumed. */
#ifndef LAYERFS_READAHEAD_H
#define LAYERFS_READAHEAD_H

#include <stddef.h>
#include <sys/types.h>

/* Up to @len bytes into @buf: > 0 bytes read, 0 at the end, or -errno.
 * After 0 or an error it is not called again.  Runs on the producer
 * thread. */
typedef ssize_t (*lfs_readahead_fn)(void *ctx, void *buf, size_t len);

struct lfs_readahead;

/* Start the producer on @fn(@ctx), with @nbufs buffers of @bufsize bytes
 * (at least 2 buffers). */
struct lfs_readahead *lfs_readahead_new(lfs_readahead_fn fn, void *ctx,
					size_t bufsize, unsigned int nbufs);

/* The next chunk: > 0 bytes at *@buf (valid until the next call), 0 at
 * the end, or the -errno the read function gave; the end and an error
 * repeat on later calls. */
ssize_t lfs_readahead_next(struct lfs_readahead *ra, const void **buf);

/* Stop the producer (it finishes the read under way) and wait for it,
 * so @fn's context may be used or freed by the caller after this;
 * free everything. */
void lfs_readahead_free(struct lfs_readahead *ra);

#endif
