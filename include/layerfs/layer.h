/* One layer of a mount: its spec, its index, and its stored bytes.
 *
 * lfs_layer_open() gets the layer's index.  With a cache, a persisted
 * index made earlier for the same stored bytes (the same file, unchanged
 * since) is mapped and used as it is: no byte of the layer is read.
 * Otherwise the indexing pass reads every stored byte once, hashes them
 * (checking the size and digests the source promised, and keeping the
 * stored bytes' digest even when it promised none), decompresses, scans
 * the tar stream into the index, records access points for random reads
 * into gzip and zstd streams (seek_index.h), and saves the index for next
 * time.
 *
 * Reading file data is io/'s business (stream.h): the stored bytes are
 * here, uncompressed tar layers are read in place (a docker-archive's
 * layers inside the outer tarball). */
#ifndef LAYERFS_LAYER_H
#define LAYERFS_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/blob.h"
#include "layerfs/cache.h"
#include "layerfs/digest.h"
#include "layerfs/image.h"
#include "layerfs/index.h"
#include "layerfs/index_file.h"
#include "layerfs/log.h"

struct lfs_layer {
	const struct lfs_layer_spec *spec; /* borrowed from the image */
	struct lfs_index *index;
	struct lfs_blob *stored; /* TAR: the stored bytes; NULL for DIR */
	int dirfd;		 /* DIR: the layer directory; else -1 */
	enum lfs_compression comp;
	uint64_t stored_size;	 /* bytes as stored */
	uint64_t tar_size;	 /* bytes of the uncompressed stream */
	/* TAR: the digest of the stored bytes, from the indexing pass (the
	 * one the source promised, checked; else sha256) or the persisted
	 * index.  Always set for a TAR layer; never for DIR. */
	bool has_digest;
	struct lfs_digest digest;
	char *cache_key;	 /* NULL when nothing is cached for it */
	bool loaded;		 /* the index came from the cache */
	/* TAR: the stored bytes' file as the index describes it (when
	 * opened, checked against a persisted index's record). */
	struct lfs_blob_id id;
	/* TAR with a cache, its index built: why it could not be saved (or
	 * read back); NULL when it was. */
	char *unsaved;
};

/* Where an indexing pass is. */
struct lfs_layer_progress {
	uint64_t done;	  /* stored bytes read */
	uint64_t total;	  /* stored bytes in all (0: unknown) */
	uint64_t entries; /* members indexed */
	bool verifying;	  /* a kept index's layer hashed again, not indexed */
};

/* Called during an indexing pass (or a kept index's layer verified
 * again), about once per MiB of stored input, from the thread doing
 * it. */
typedef void (*lfs_layer_progress_fn)(void *ctx,
				      const struct lfs_layer_spec *spec,
				      const struct lfs_layer_progress *p);

struct lfs_layer_options {
	struct lfs_cache *cache; /* NULL: build every index, save nothing */
	const struct lfs_logger *lg;
	uint64_t span;		 /* gzip access point distance; 0: default */
	lfs_layer_progress_fn progress;
	void *progress_ctx;
	const gint *stop;	 /* set (atomically): give up, ECANCELED */
};

gboolean lfs_layer_open(const struct lfs_layer_spec *spec,
			const struct lfs_layer_options *opts,
			struct lfs_layer **out, GError **error);
void lfs_layer_free(struct lfs_layer *l);

/* Hash the stored bytes again and compare with the layer's digest: 0
 * when they are the same bytes, -EBADMSG when not, or -errno. */
int lfs_layer_verify_stored(const struct lfs_layer *l);

/* DIR layers: open entry @i's file for reading, refusing any path that
 * would leave the layer directory (-EXDEV or -ELOOP) and anything that is
 * no longer a regular file (-ESTALE, told apart from the disk's -EIO).
 * Returns an fd or -errno. */
int lfs_layer_open_file(const struct lfs_layer *l, uint32_t i);

#endif
