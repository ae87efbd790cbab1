/* A bounded pool of positioned decompressors for one compressed layer.
 *
 * Each handle is a seek reader (seek_index.h) that remembers where its
 * last read ended.  A read takes the idle handle positioned closest before
 * its offset, within a span: a sequential reader thus continues where it
 * stopped instead of inflating again from an access point (a hit).
 * Otherwise a new handle is made, up to the pool's size, or the least
 * recently used idle one is moved (a miss, and for a moved one an
 * eviction).  Concurrent readers use different handles and never wait on
 * one another's decompression; when all handles are busy, a read waits for
 * the first one free.  No lock is held while decompressing. */
#ifndef LAYERFS_HANDLE_POOL_H
#define LAYERFS_HANDLE_POOL_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/blob.h"
#include "layerfs/image.h"
#include "layerfs/index.h"
#include "layerfs/span_cache.h"

/* Handles per layer unless told otherwise: enough for the kernel's
 * parallel readahead plus a couple of readers.  When more readers stream
 * at once, a read starts exactly where a handle just moved away had ended
 * its last one; then the pool grows, up to LFS_POOL_HANDLES_MAX, and once
 * no reader has come back for a while the extra handles go again.  A
 * bound given (handles=) is kept as it is. */
#define LFS_POOL_HANDLES_DEFAULT 4
#define LFS_POOL_HANDLES_MAX 16

struct lfs_handle_pool;

struct lfs_pool_stats {
	uint64_t hits;	    /* reads that continued a handle's position */
	uint64_t misses;    /* reads that restarted at an access point */
	uint64_t evictions; /* handles moved away from a position */
	uint64_t waits;	    /* reads that waited for a free handle */
	uint64_t inflated;  /* bytes decompressed, skipped ones included */
	uint64_t served;    /* bytes the reads returned */
	uint64_t cache_hits; /* reads served from the span cache */
	uint64_t thrashed;  /* reads that came back where a handle was moved
			     * from (each grows the pool, up to its cap) */
	uint32_t handles;   /* handles in the pool now */
	uint32_t peak;	    /* the most it has had */
};

/* A pool over @stored (borrowed) compressed as @comp, @tar_size bytes
 * uncompressed, with @ix's access points and checksums; at most @max
 * handles (0: the default); its handles keep what they pass over in
 * @cache (borrowed; NULL: no span cache). */
struct lfs_handle_pool *lfs_handle_pool_new(struct lfs_blob *stored,
					    enum lfs_compression comp,
					    const struct lfs_index *ix,
					    uint64_t tar_size, unsigned int max,
					    struct lfs_span_cache *cache);
void lfs_handle_pool_free(struct lfs_handle_pool *p);

/* Read @len bytes of the uncompressed stream at @off; as pread(2). */
ssize_t lfs_handle_pool_pread(struct lfs_handle_pool *p, void *buf,
			      size_t len, uint64_t off);

void lfs_handle_pool_stats(struct lfs_handle_pool *p,
			   struct lfs_pool_stats *st);

#endif
