/* Sequential decompression of a layer blob: stored bytes in (gzip, zstd or
 * plain), the tar stream out.  Used by the indexing pass, which reads every
 * byte once; it also hashes the stored bytes on the way, so the digest check
 * costs no second read.
 *
 * gzip follows `gzip -dc` and Go's compress/gzip (what docker and umoci use):
 * concatenated members are one stream; bytes after the last member that do
 * not start another member are an error.  zstd accepts concatenated frames. */
#ifndef LAYERFS_DECOMP_H
#define LAYERFS_DECOMP_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/blob.h"
#include "layerfs/digest.h"
#include "layerfs/image.h"
#include "layerfs/seek_index.h"

struct lfs_decomp;

/* What the first bytes of a stream say: NONE when they match no known
 * compressor.  Returns -ENOTSUP for compressors layers may not use
 * (xz, bzip2, lz4), with *why saying so. */
int lfs_compression_detect(const void *magic, size_t len,
			   enum lfs_compression *out, const char **why);

/* Start decompressing @blob (borrowed) as @comp (DETECT is resolved from
 * the first bytes).  @stored_hash, if not NULL, receives every stored byte.
 * Returns 0 or -errno with *why saying what was wrong: the data for
 * -EINVAL and -ENOTSUP, what failed for other errors. */
int lfs_decomp_new(struct lfs_blob *blob, enum lfs_compression comp,
		   struct lfs_hasher *stored_hash, struct lfs_decomp **out,
		   const char **why);

/* Up to @len bytes of output.  Returns the count (0 at the end of the
 * stream) or -errno: -EIO for corrupt or truncated data, with the reason in
 * lfs_decomp_error(). */
ssize_t lfs_decomp_read(struct lfs_decomp *d, void *buf, size_t len);

/* Record access points (seek_index.h) into @rec (borrowed) while
 * decompressing.  Call before the first read: it makes gzip inflate with
 * zlib, whose stops at block boundaries the access points need. */
void lfs_decomp_record(struct lfs_decomp *d, struct lfs_seek_recorder *rec);
/* The caller hands every byte read to lfs_seek_recorder_data() itself
 * (the index pass does it on the thread that parses the stream, so that
 * the inflating thread only inflates). */
void lfs_decomp_leave_sums(struct lfs_decomp *d);
/* Inflate gzip with zlib even where ISA-L is built in (decomp.c), for
 * tests and for comparing the two.  Call before the first read. */
void lfs_decomp_use_zlib(struct lfs_decomp *d);

const char *lfs_decomp_error(const struct lfs_decomp *d);
enum lfs_compression lfs_decomp_compression(const struct lfs_decomp *d);
uint64_t lfs_decomp_in_bytes(const struct lfs_decomp *d);
uint64_t lfs_decomp_out_bytes(const struct lfs_decomp *d);

void lfs_decomp_free(struct lfs_decomp *d);

#endif
