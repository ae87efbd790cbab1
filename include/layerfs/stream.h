/* How reads reach a layer's uncompressed tar stream: the stored bytes
 * themselves for an uncompressed layer; for a compressed one, its
 * unpacked copy where that holds the bytes (unpack.h), else the handle
 * pool's positioned decompressors (gzip access points, zstd frames).  A
 * zstd layer of one frame has no access points: its reads wait for the
 * unpacked copy, which the first read starts, and only without a cache
 * decompress from the start.  Directory layers have no stream; their
 * files are read directly (layer.h). */
#ifndef LAYERFS_STREAM_H
#define LAYERFS_STREAM_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/cache.h"
#include "layerfs/handle_pool.h"
#include "layerfs/layer.h"
#include "layerfs/log.h"
#include "layerfs/unpack.h"
#include "layerfs/workers.h"

struct lfs_stream;

struct lfs_stream_options {
	unsigned int handles; /* per compressed layer; 0: the default */
	struct lfs_span_cache *span_cache; /* shared; NULL: none */
	/* For unpacked copies; without both, there are none. */
	struct lfs_cache *cache;
	struct lfs_workers *workers;
	const struct lfs_logger *lg;
};

struct lfs_stream *lfs_stream_new(struct lfs_layer *l,
				  const struct lfs_stream_options *o);
void lfs_stream_free(struct lfs_stream *s);

struct lfs_layer *lfs_stream_layer(const struct lfs_stream *s);

/* Exactly @len bytes at @off of the tar stream: 0, or -ENODATA when the
 * stream has fewer (the blob changed or was cut short), or -errno. */
int lfs_stream_read(struct lfs_stream *s, void *buf, size_t len,
		    uint64_t off);

/* Where @len bytes at @off of the tar stream lie in a plain file, for a
 * reader that hands the descriptor on (splice) rather than copying: an
 * uncompressed layer's own file, or a compressed layer's complete
 * unpacked copy.  0 with the descriptor (borrowed; open until the stream
 * is freed) and the position in it; -EAGAIN when the bytes are in no
 * plain file (read them with lfs_stream_read()); -ENODATA as there. */
int lfs_stream_map(struct lfs_stream *s, size_t len, uint64_t off, int *fd,
		   uint64_t *pos);

/* Ask the kernel to read ahead what a read of [@off, @off + @len) of the
 * stream will need: the unpacked copy's bytes, a plain layer's, or a
 * compressed layer's stored bytes between the access points around them.
 * Returns the bytes asked for, or -errno (-EOPNOTSUPP: nothing to ask
 * for, as for a layer not in a plain file). */
int64_t lfs_stream_willneed(struct lfs_stream *s, uint64_t off, uint64_t len);

/* Start unpacking a compressed layer in the background (prefetch). */
void lfs_stream_prefetch(struct lfs_stream *s);

/* Bytes a layer's reads may inflate beyond what they return before its
 * unpacking starts (prefetch=auto): about 30 random reads' worth at the
 * default span, whatever the layer's size (a small layer's restarts are
 * cheap, and so is never copying it). */
#define LFS_SCATTER_WASTE (8u << 20)

/* Unpack a compressed layer once its reads turn out scattered: when they
 * have inflated @waste bytes more than they returned (each restart at an
 * access point inflates what lies before the read).  A layer read in
 * order, or hardly read, is never copied; one read all over is, at
 * inflate speed, and its reads move to the copy as it grows. */
void lfs_stream_unpack_when_scattered(struct lfs_stream *s, uint64_t waste);
/* Unpack a compressed layer now (at mount priority) and wait: 0 when the
 * copy is complete or the layer needs none, -EIO when it failed (logged),
 * -ENOENT when there can be no copy (no cache). */
int lfs_stream_unpack(struct lfs_stream *s);

struct lfs_stream_stats {
	struct lfs_pool_stats pool;  /* all zero for an uncompressed layer */
	uint64_t copy_reads;	     /* reads served by the unpacked copy */
	enum lfs_unpack_state unpack; /* NONE when there can be no copy */
	uint64_t unpacked;	     /* bytes the copy holds */
};

void lfs_stream_stats(struct lfs_stream *s, struct lfs_stream_stats *st);

#endif
