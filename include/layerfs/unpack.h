/* A compressed layer's uncompressed tar stream, written to the cache by a
 * worker and readable while it grows.
 *
 * The copy is an unnamed file in the cache's unpacked/ directory until it
 * is complete, then flushed to disk and named KEY.tar (cache.h); a later
 * mount of the same layer finds it and reads from it from the start.  A
 * read of bytes the copy already holds is a pread(2) of a plain file; for
 * other bytes the caller goes to the compressed layer (stream.h), or, for
 * a layer that offers no random access (zstd in one frame), waits for
 * exactly the bytes it needs.
 *
 * Nothing here is needed for correct reads: when the copy cannot be made
 * (no cache, not enough space, a write error, a read error of the blob),
 * a warning says so once and reads go on from the compressed layer; a
 * copy that failed is not tried again in that mount (the next mount, or
 * `layerfs index --unpack`, makes it).  A read of the copy that fails (a
 * bad block of the cache's disk) is logged once, and that read, like
 * every one the copy does not hold, goes to the compressed layer. */
#ifndef LAYERFS_UNPACK_H
#define LAYERFS_UNPACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "layerfs/cache.h"
#include "layerfs/layer.h"
#include "layerfs/log.h"
#include "layerfs/workers.h"

/* Space an unpack leaves free on the cache's file system, beyond the copy
 * itself, so unpacking never fills the disk. */
#define LFS_UNPACK_RESERVE (256u << 20)

enum lfs_unpack_state {
	LFS_UNPACK_NONE,    /* not started */
	LFS_UNPACK_RUNNING,
	LFS_UNPACK_DONE,    /* complete: every read can use it */
	LFS_UNPACK_FAILED,  /* given up (logged); reads use the layer */
};

struct lfs_unpack;

/* The unpacked copy of @l (a compressed tar layer with a cache key), or
 * NULL when there can be none (uncompressed, directory, no cache).  A
 * complete copy already in @cache is opened and DONE at once.  All
 * arguments are borrowed. */
struct lfs_unpack *lfs_unpack_new(struct lfs_layer *l, struct lfs_cache *c,
				  struct lfs_workers *w,
				  const struct lfs_logger *lg);
/* Cancel a running unpack and wait for it. */
void lfs_unpack_free(struct lfs_unpack *u);

/* Start unpacking at @prio, unless it runs or ran already; an URGENT
 * start of a background unpack hurries it to the foreground. */
void lfs_unpack_start(struct lfs_unpack *u, enum lfs_work_prio prio);

/* Wait until the unpack is not running; returns its state. */
enum lfs_unpack_state lfs_unpack_wait(struct lfs_unpack *u);

/* Read @len bytes at @off from the copy.  Returns @len, or -EAGAIN when
 * the copy does not hold them (yet), or -errno (logged once per copy).  With @wait, a copy not
 * yet holding them is started (urgent) or hurried and waited for, until
 * it holds them or fails (-EAGAIN). */
ssize_t lfs_unpack_pread(struct lfs_unpack *u, void *buf, size_t len,
			 uint64_t off, bool wait);

/* Where bytes [@off, @off + @len) lie in a complete copy, for a reader
 * that hands the descriptor on (splice): 0 with the descriptor (open
 * until lfs_unpack_free()) and the position, or -EAGAIN when the copy is
 * not complete.  A copy still growing is never handed out, since a
 * failure would close its descriptor under the reader. */
int lfs_unpack_map(struct lfs_unpack *u, size_t len, uint64_t off, int *fd,
		   uint64_t *pos);

/* The state, and how many bytes from the start the copy holds. */
enum lfs_unpack_state lfs_unpack_state(struct lfs_unpack *u,
				       uint64_t *have);

#endif
