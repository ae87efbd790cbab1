/* Inflated chunks of compressed layers kept for reads to come: the span
 * cache of a mount, shared by its layers' handle pools.
 *
 * A read of a gzip or zstd layer that cannot continue a handle restarts
 * at the access point before it and inflates up to it, passing over what
 * lies between: on a layer whose files come in another order than a tree
 * is read in (GNU tar lists a directory in its own order, `find`, `md5sum`
 * and `tar` read in name order), that is the very data the next reads
 * want.  The handles hand such chunks here (the checked chunks of the
 * stream that no read took whole: passed over, or only partly read and
 * left); a read lying wholly in kept chunks is copied from them, with no
 * decompressor at all.  At most @max bytes for the whole mount, the least
 * recently used chunk leaving first.  Thread-safe. */
#ifndef LAYERFS_SPAN_CACHE_H
#define LAYERFS_SPAN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A mount's span cache unless told otherwise (span_cache=). */
#define LFS_SPAN_CACHE_DEFAULT (32u << 20)

struct lfs_span_cache;

struct lfs_span_cache_stats {
	uint64_t hits;	  /* reads served */
	uint64_t bytes;	  /* bytes kept now */
	uint64_t max;
};

struct lfs_span_cache *lfs_span_cache_new(uint64_t max);
void lfs_span_cache_free(struct lfs_span_cache *c);

/* Keep chunk @k (@len bytes) of the stream @owner names (a pointer that
 * stays the stream's until lfs_span_cache_forget()). */
void lfs_span_cache_put(struct lfs_span_cache *c, const void *owner,
			uint32_t k, const uint8_t *data, size_t len);

/* Copy [@off, @off + @len) of @owner's stream, cut in chunks of @chunk
 * bytes, into @buf if every chunk it touches is kept.  Returns whether it
 * was. */
bool lfs_span_cache_read(struct lfs_span_cache *c, const void *owner,
			 uint64_t chunk, void *buf, size_t len, uint64_t off);

/* Drop every chunk of @owner's (its stream is going). */
void lfs_span_cache_forget(struct lfs_span_cache *c, const void *owner);

void lfs_span_cache_stats(struct lfs_span_cache *c,
			  struct lfs_span_cache_stats *st);

#endif
