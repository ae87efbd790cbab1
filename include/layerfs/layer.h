/* One layer of a mount: its spec, its index, and where its file data is.
 *
 * lfs_layer_open() makes the indexing pass: it reads every stored byte once,
 * checks the size and digest the source promised, decompresses, scans the
 * tar stream into the index and (with a cache) keeps the decompressed stream
 * in a cache file so reads can pread it.  Uncompressed tar layers are read
 * in place, a docker-archive's layers inside the outer tarball. */
#ifndef LAYERFS_LAYER_H
#define LAYERFS_LAYER_H

#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/blob.h"
#include "layerfs/cache.h"
#include "layerfs/image.h"
#include "layerfs/index.h"
#include "layerfs/log.h"

struct lfs_layer {
	const struct lfs_layer_spec *spec; /* borrowed from the image */
	struct lfs_index *index;
	struct lfs_blob *data;	/* TAR: the uncompressed stream; NULL when
				 * opened without a cache (inspect) */
	int dirfd;		/* DIR: the layer directory; else -1 */
	enum lfs_compression comp;
	uint64_t stored_size;	/* bytes as stored */
	uint64_t tar_size;	/* bytes of the uncompressed stream */
};

struct lfs_layer_options {
	struct lfs_cache *cache;       /* NULL: index only, no data reads */
	const struct lfs_logger *lg;
};

gboolean lfs_layer_open(const struct lfs_layer_spec *spec,
			const struct lfs_layer_options *opts,
			struct lfs_layer **out, GError **error);
void lfs_layer_free(struct lfs_layer *l);

/* DIR layers: open entry @i's file for reading, refusing any path that
 * would leave the layer directory (-EXDEV or -ELOOP) and anything that is
 * no longer a regular file (-EIO).  Returns an fd or -errno. */
int lfs_layer_open_file(const struct lfs_layer *l, uint32_t i);

#endif
