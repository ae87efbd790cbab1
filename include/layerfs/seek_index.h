/* Random access into compressed layers, without a decompressed copy.
 *
 * gzip (the zran technique from zlib's examples): while a layer is first
 * decompressed, an access point is recorded at a deflate block boundary
 * about every @span bytes of output: where the block starts in the
 * compressed stream (to the bit) and the 32 KiB of output before it, which
 * the block may refer back to.  To read at any offset, inflate restarts at
 * the last access point before it, with that history, and skips at most
 * one span.  Each gzip member starts with an access point of its own.
 *
 * zstd: a frame can be decoded on its own, so every frame start is an
 * access point.  A stream of one frame (the usual) has none past its
 * start; such layers are read through an unpacked copy instead.
 *
 * The recorder runs inside the index pass (decomp.c); the reader serves
 * reads through the handle pool.
 *
 * Integrity: the index pass verified the blob's digest, and a mount checks
 * that the blob is still the file that was indexed.  Past that, nothing
 * in a compressed stream says whether a random read got the right bytes
 * (gzip's CRC covers a whole member, which such a read never reaches), so
 * the recorder also keeps a checksum (XXH3-64) of every chunk of the
 * uncompressed stream, and the reader produces whole chunks and gives
 * out none whose checksum differs: a blob changed in place, bit rot, or a
 * disk returning other bytes, is an error (-EBADMSG), never wrong data
 * (docs/integrity.md). */
#ifndef LAYERFS_SEEK_INDEX_H
#define LAYERFS_SEEK_INDEX_H

#include <stdint.h>
#include <sys/types.h>

#include "layerfs/blob.h"
#include "layerfs/image.h"
#include "layerfs/index.h"

/* deflate's history window. */
#define LFS_SEEK_WINDOW 32768u

/* The default distance between gzip access points: small enough that a
 * random read inflates at most a few milliseconds' worth, large enough
 * that the points of a 1 GiB layer fit in a few MiB (docs/benchmarks.md). */
#define LFS_SEEK_SPAN_DEFAULT (512u << 10)

/* The checksum chunk: a random read inflates to the end of its chunk
 * (half a chunk more on average than it needs), and the checksums of a
 * 1 GiB stream take 128 KiB. */
#define LFS_SUM_CHUNK_DEFAULT (64u << 10)

struct lfs_seek_recorder;

struct lfs_seek_recorder *lfs_seek_recorder_new(uint64_t span);
void lfs_seek_recorder_free(struct lfs_seek_recorder *r);
/* Deflate the windows with zlib even where ISA-L is built in, for tests.
 * Call before the first output. */
void lfs_seek_recorder_use_zlib(struct lfs_seek_recorder *r);

/* gzip: output the inflater produced, in order (kept as history).  The
 * bytes are not copied while the next output follows them in memory:
 * they must stay as they are until lfs_seek_recorder_output_sync(). */
void lfs_seek_recorder_output(struct lfs_seek_recorder *r, const void *buf,
			      size_t len);
/* gzip: the buffer the output went to is about to be handed over (or
 * reused): keep what history needs of it. */
void lfs_seek_recorder_output_sync(struct lfs_seek_recorder *r);
/* gzip: a new member begins: history starts afresh, and its first block
 * boundary is an access point whatever the span. */
void lfs_seek_recorder_member(struct lfs_seek_recorder *r);
/* gzip: inflate stopped at a block boundary (or a header's end) at
 * uncompressed @out; the next block starts at compressed byte @in, less
 * @bits bits.  Records an access point if a span has passed. */
void lfs_seek_recorder_boundary(struct lfs_seek_recorder *r, uint64_t out,
				uint64_t in, unsigned int bits);
/* gzip and zstd: the uncompressed stream, every byte in order (for the
 * chunk checksums). */
void lfs_seek_recorder_data(struct lfs_seek_recorder *r, const void *buf,
			    size_t len);
/* zstd: a frame starts at compressed @in, uncompressed @out. */
void lfs_seek_recorder_frame(struct lfs_seek_recorder *r, uint64_t in,
			     uint64_t out);
/* Move what was recorded into @ix (replacing what it had). */
void lfs_seek_recorder_finish(struct lfs_seek_recorder *r,
			      struct lfs_index *ix);

struct lfs_seek_reader;

/* A reader of @blob's uncompressed stream of @tar_size bytes (@blob and
 * @ix borrowed), for @comp GZIP or ZSTD.  Returns 0 or -errno. */
int lfs_seek_reader_new(struct lfs_blob *blob, enum lfs_compression comp,
			const struct lfs_index *ix, uint64_t tar_size,
			struct lfs_seek_reader **out);
void lfs_seek_reader_free(struct lfs_seek_reader *r);
/* Inflate gzip with zlib even where ISA-L is built in (seek_index.c), for
 * tests and for comparing the two.  Call before the first read. */
void lfs_seek_reader_use_zlib(struct lfs_seek_reader *r);

/* Checked chunk @k of the stream (@len bytes at @k * sum_chunk), which a
 * reader inflated without giving it out whole to a read: passed over on
 * the way to one, or only partly wanted.  @data is the reader's, valid
 * during the call. */
typedef void (*lfs_seek_chunk_fn)(void *ctx, uint32_t k, const uint8_t *data,
				  size_t len);

/* Hand such chunks to @hook from now on (NULL: no longer). */
void lfs_seek_reader_set_chunk_hook(struct lfs_seek_reader *r,
				    lfs_seek_chunk_fn hook, void *ctx);

/* Read @len bytes at uncompressed offset @off: continue from where the
 * last read ended when that is on the way, else restart at the best
 * access point.  Returns the bytes read (short only at the end of the
 * stream) or -errno: -EBADMSG for data that differs from its checksum,
 * -EUCLEAN for data that does not decompress, -ENODATA for a blob cut
 * short, the blob's own error (-EIO from a bad disk block).  After an
 * error the next read restarts at an access point: nothing of the failed
 * one is kept. */
ssize_t lfs_seek_reader_pread(struct lfs_seek_reader *r, void *buf,
			      size_t len, uint64_t off);

/* Where the decoder stands: a read from here on continues, paying for
 * the bytes in between. */
uint64_t lfs_seek_reader_pos(const struct lfs_seek_reader *r);
/* The lowest offset a read can start at without a restart: the start of
 * the checked chunk the reader keeps (which ends at its position), else
 * its position. */
uint64_t lfs_seek_reader_start(const struct lfs_seek_reader *r);
/* Bytes decompressed so far, skipped ones included (statistics). */
uint64_t lfs_seek_reader_inflated(const struct lfs_seek_reader *r);

/* Checking a whole stream against @ix's checksums, as it is produced in
 * order (the unpacked copy).  NULL when @ix has none. */
struct lfs_sum_check;

struct lfs_sum_check *lfs_sum_check_new(const struct lfs_index *ix);
void lfs_sum_check_free(struct lfs_sum_check *c);
/* The next @len bytes: 0, or -EBADMSG once a chunk differs. */
int lfs_sum_check_feed(struct lfs_sum_check *c, const void *buf, size_t len);
/* At the end of the stream: the last chunk too, and no chunk missing.
 * 0 or -EBADMSG. */
int lfs_sum_check_end(struct lfs_sum_check *c);
/* Bytes from the start checked so far (whole chunks). */
uint64_t lfs_sum_check_verified(const struct lfs_sum_check *c);

/* Whether the index gives @comp random access at all. */
bool lfs_seek_possible(const struct lfs_index *ix, enum lfs_compression comp);

/* The stored (compressed) bytes [*@from, *@to) that reading uncompressed
 * [@off, @off + @len) through @ix's access points takes: from the point
 * before @off to the one after the end (the whole blob of @stored_size
 * bytes where there are none). */
void lfs_seek_stored_range(const struct lfs_index *ix,
			   enum lfs_compression comp, uint64_t off,
			   uint64_t len, uint64_t stored_size, uint64_t *from,
			   uint64_t *to);

#endif
