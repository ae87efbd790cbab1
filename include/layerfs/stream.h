/* How reads reach a layer's uncompressed tar stream: the stored bytes
 * themselves for an uncompressed layer, else the handle pool's positioned
 * decompressors (gzip access points, zstd frames).  Directory layers have
 * no stream; their files are read directly (layer.h). */
#ifndef LAYERFS_STREAM_H
#define LAYERFS_STREAM_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/handle_pool.h"
#include "layerfs/layer.h"

struct lfs_stream;

struct lfs_stream_options {
	unsigned int handles; /* per compressed layer; 0: the default */
};

struct lfs_stream *lfs_stream_new(struct lfs_layer *l,
				  const struct lfs_stream_options *o);
void lfs_stream_free(struct lfs_stream *s);

struct lfs_layer *lfs_stream_layer(const struct lfs_stream *s);

/* Exactly @len bytes at @off of the tar stream: 0, or -ENODATA when the
 * stream has fewer (the blob changed or was cut short), or -errno. */
int lfs_stream_read(struct lfs_stream *s, void *buf, size_t len,
		    uint64_t off);

/* The pool's counters (all zero for an uncompressed layer). */
void lfs_stream_stats(struct lfs_stream *s, struct lfs_pool_stats *st);

#endif
