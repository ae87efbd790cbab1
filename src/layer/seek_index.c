/* Access points into gzip and zstd streams, and reading through them (see
 * seek_index.h).  Written after zlib's examples/zran.c (the technique), for
 * our index: the points live in struct lfs_index and its file, their 32 KiB
 * histories deflated in one blob. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>
#ifdef LFS_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif
#ifdef LFS_HAVE_XXH_DISPATCH
/* The same functions, on the widest vector unit found at run time. */
#include <xxh_x86dispatch.h>
#endif

#include "layerfs/seek_index.h"

/* inflateInit2() window bits: raw deflate, or gzip (header parsed). */
#define ZRAW (-15)
#define ZGZIP 31
#define GZIP_TRAILER 8

/* Compressed input read per refill. */
#define IN_CHUNK (128u << 10)

/* ---- checksums of the uncompressed stream ----------------------------- */

/* Hashing a stream chunk by chunk, in pieces of any size. */
struct chunk_hash {
	XXH3_state_t *st;
	uint32_t chunk;
	uint32_t done; /* chunks completed */
	uint64_t have; /* bytes hashed of the current one */
};

static void chunk_hash_init(struct chunk_hash *h, uint32_t chunk)
{
	h->st = XXH3_createState();
	if (!h->st)
		g_error("out of memory");
	XXH3_64bits_reset(h->st);
	h->chunk = chunk;
	h->done = 0;
	h->have = 0;
}

/* Hash up to the end of the current chunk; returns the bytes taken, and
 * with *sum set when the chunk is complete. */
static size_t chunk_hash_feed(struct chunk_hash *h, const uint8_t *p,
			      size_t len, bool *complete, uint64_t *sum)
{
	size_t n = (size_t)MIN((uint64_t)len, h->chunk - h->have);

	XXH3_64bits_update(h->st, p, n);
	h->have += n;
	*complete = h->have == h->chunk;
	if (*complete) {
		*sum = XXH3_64bits_digest(h->st);
		XXH3_64bits_reset(h->st);
		h->done++;
		h->have = 0;
	}
	return n;
}

/* ---- recording -------------------------------------------------------- */

/* What a byte of a stored block (or of one that barely compresses)
 * counts toward the span, against a byte of a coded block: inflating it is
 * a copy, which is many times cheaper than decoding, though its input is
 * as long as its output. */
#define STORED_WEIGHT 4

struct lfs_seek_recorder {
	uint64_t span;
	uint8_t ring[LFS_SEEK_WINDOW]; /* earlier output, circular */
	size_t ring_pos;	       /* where the next byte goes */
	/* The output since the ring, in the caller's buffer, not copied:
	 * one block's output after another, until the buffer is handed
	 * over (lfs_seek_recorder_output_sync()).  Copying every block's
	 * last 32 KiB was half a gigabyte a gigabyte of output. */
	const uint8_t *run;
	size_t run_len;
	uint64_t history;	       /* output since the member began */
	uint64_t cost;		       /* weighted output since the last point */
	uint64_t blk_out, blk_in;      /* where the last block ended */
	bool force;		       /* the next boundary is a point */
	GArray *points;		       /* struct lfs_index_checkpoint */
	GByteArray *windows;
	z_stream z; /* deflates the windows, reset for each */
	bool z_init;
#ifdef LFS_HAVE_ISAL
	/* ISA-L deflates a window three times as fast as zlib at level 1,
	 * to about the same size; its level 1 wants this much room. */
	uint8_t *isal_level_buf;
	bool zlib_only; /* lfs_seek_recorder_use_zlib() */
#endif
	GArray *frames; /* struct lfs_index_frame */
	struct chunk_hash hash;
	GArray *sums;	/* uint64_t */
};

struct lfs_seek_recorder *lfs_seek_recorder_new(uint64_t span)
{
	struct lfs_seek_recorder *r = g_new0(struct lfs_seek_recorder, 1);

	r->span = span ? span : LFS_SEEK_SPAN_DEFAULT;
	r->force = true;
	r->points = g_array_new(FALSE, FALSE,
				sizeof(struct lfs_index_checkpoint));
	r->windows = g_byte_array_new();
	r->frames = g_array_new(FALSE, FALSE, sizeof(struct lfs_index_frame));
	chunk_hash_init(&r->hash, LFS_SUM_CHUNK_DEFAULT);
	r->sums = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	return r;
}

void lfs_seek_recorder_free(struct lfs_seek_recorder *r)
{
	if (!r)
		return;
	g_array_unref(r->points);
	g_byte_array_unref(r->windows);
	if (r->z_init)
		deflateEnd(&r->z);
#ifdef LFS_HAVE_ISAL
	g_free(r->isal_level_buf);
#endif
	g_array_unref(r->frames);
	XXH3_freeState(r->hash.st);
	g_array_unref(r->sums);
	g_free(r);
}

void lfs_seek_recorder_use_zlib(struct lfs_seek_recorder *r)
{
#ifdef LFS_HAVE_ISAL
	r->zlib_only = true;
#else
	(void)r;
#endif
}

void lfs_seek_recorder_data(struct lfs_seek_recorder *r, const void *buf,
			    size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		bool complete;
		uint64_t sum;
		size_t n = chunk_hash_feed(&r->hash, p, len, &complete, &sum);

		if (complete)
			g_array_append_val(r->sums, sum);
		p += n;
		len -= n;
	}
}

/* Copy the last window's worth of @p[0..@len) into the ring. */
static void ring_add(struct lfs_seek_recorder *r, const uint8_t *p,
		     size_t len)
{
	if (len > LFS_SEEK_WINDOW) {
		p += len - LFS_SEEK_WINDOW;
		len = LFS_SEEK_WINDOW;
	}
	while (len) {
		size_t n = MIN(len, LFS_SEEK_WINDOW - r->ring_pos);

		memcpy(r->ring + r->ring_pos, p, n);
		r->ring_pos = (r->ring_pos + n) % LFS_SEEK_WINDOW;
		p += n;
		len -= n;
	}
}

void lfs_seek_recorder_output_sync(struct lfs_seek_recorder *r)
{
	ring_add(r, r->run, r->run_len);
	r->run = NULL;
	r->run_len = 0;
}

void lfs_seek_recorder_output(struct lfs_seek_recorder *r, const void *buf,
			      size_t len)
{
	const uint8_t *p = buf;

	r->history += len;
	if (len == 0)
		return;
	if (r->run && p != r->run + r->run_len)
		lfs_seek_recorder_output_sync(r);
	if (!r->run)
		r->run = p;
	r->run_len += len;
}

void lfs_seek_recorder_member(struct lfs_seek_recorder *r)
{
	r->history = 0;
	r->force = true;
}

#ifdef LFS_HAVE_ISAL
/* Raw deflate of @len bytes at @in into @out (room for @cap): the bytes
 * written, or 0 when ISA-L could not (zlib then does it). */
static size_t deflate_isal(struct lfs_seek_recorder *r, const uint8_t *in,
			   size_t len, uint8_t *out, size_t cap)
{
	struct isal_zstream s;

	if (!r->isal_level_buf)
		r->isal_level_buf = g_malloc(ISAL_DEF_LVL1_DEFAULT);
	isal_deflate_stateless_init(&s);
	s.level = 1;
	s.level_buf = r->isal_level_buf;
	s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	s.gzip_flag = IGZIP_DEFLATE;
	s.end_of_stream = 1;
	s.flush = NO_FLUSH;
	s.next_in = (uint8_t *)in;
	s.avail_in = (uint32_t)len;
	s.next_out = out;
	s.avail_out = (uint32_t)cap;
	if (isal_deflate_stateless(&s) != COMP_OK || s.avail_in)
		return 0;
	return s.total_out;
}
#endif

/* Raw deflate of @len bytes at @in into @out (room for @cap, at least
 * compressBound()): the bytes written.  Level 1: windows are read back
 * rarely, and the index pass should not wait on them. */
static size_t deflate_window(struct lfs_seek_recorder *r, const uint8_t *in,
			     size_t len, uint8_t *out, size_t cap)
{
#ifdef LFS_HAVE_ISAL
	size_t n = r->zlib_only ? 0 : deflate_isal(r, in, len, out, cap);

	if (n)
		return n;
#endif
	if (!r->z_init) {
		if (deflateInit2(&r->z, 1, Z_DEFLATED, ZRAW, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			g_error("out of memory");
		r->z_init = true;
	}
	deflateReset(&r->z);
	r->z.next_in = (uint8_t *)in;
	r->z.avail_in = (uInt)len;
	r->z.next_out = out;
	r->z.avail_out = (uInt)cap;
	deflate(&r->z, Z_FINISH);
	return r->z.total_out;
}

/* Deflate the last @len bytes of history into the windows blob: from the
 * current run alone where it holds them, else from the ring before it
 * and the run. */
static uint32_t store_window(struct lfs_seek_recorder *r, size_t len,
			     uint64_t *where)
{
	uint8_t dict[LFS_SEEK_WINDOW];
	const uint8_t *in = dict;
	size_t cap = compressBound((uLong)len) + 1024;
	guint old = r->windows->len;
	size_t n;

	if (r->run_len >= len) {
		in = r->run + r->run_len - len;
	} else {
		size_t from_ring = len - r->run_len;
		size_t start = (r->ring_pos + LFS_SEEK_WINDOW - from_ring) %
			       LFS_SEEK_WINDOW;
		size_t first = MIN(from_ring, LFS_SEEK_WINDOW - start);

		memcpy(dict, r->ring + start, first);
		memcpy(dict + first, r->ring, from_ring - first);
		if (r->run_len)
			memcpy(dict + from_ring, r->run, r->run_len);
	}
	g_byte_array_set_size(r->windows, old + (guint)cap);
	n = deflate_window(r, in, len, r->windows->data + old, cap);
	g_byte_array_set_size(r->windows, old + (guint)n);
	*where = old;
	return (uint32_t)n;
}

/* A block ended at @out, @in: add what it costs a reader to inflate. */
static void count_block(struct lfs_seek_recorder *r, uint64_t out,
			uint64_t in)
{
	uint64_t dout = out - r->blk_out, din = in - r->blk_in;

	/* A stored block is its output plus a few bytes of header. */
	r->cost += din * 16 >= dout * 15 ? dout / STORED_WEIGHT : dout;
	r->blk_out = out;
	r->blk_in = in;
}

void lfs_seek_recorder_boundary(struct lfs_seek_recorder *r, uint64_t out,
				uint64_t in, unsigned int bits)
{
	struct lfs_index_checkpoint cp = { .out = out, .in = in, .bits = bits };

	count_block(r, out, in);
	if (!r->force && r->cost < r->span)
		return;
	/* The windows blob is indexed by 32 bits: past that, no more points
	 * (reads there restart at the last one: slower, never wrong). */
	if (r->windows->len > G_MAXUINT - 2 * LFS_SEEK_WINDOW - 2048)
		return;
	cp.dict_len = (uint32_t)MIN(r->history, (uint64_t)LFS_SEEK_WINDOW);
	if (cp.dict_len)
		cp.window_len = store_window(r, cp.dict_len, &cp.window);
	g_array_append_val(r->points, cp);
	r->cost = 0;
	r->force = false;
}

void lfs_seek_recorder_frame(struct lfs_seek_recorder *r, uint64_t in,
			     uint64_t out)
{
	struct lfs_index_frame f = { in, out };

	g_array_append_val(r->frames, f);
}

void lfs_seek_recorder_finish(struct lfs_seek_recorder *r,
			      struct lfs_index *ix)
{
	g_free(ix->checkpoints);
	g_free(ix->windows);
	g_free(ix->frames);
	ix->ncheckpoints = r->points->len;
	ix->checkpoints = (struct lfs_index_checkpoint *)g_array_steal(
		r->points, NULL);
	ix->windows_len = r->windows->len;
	ix->windows = g_byte_array_steal(r->windows, NULL);
	/* One frame gives no access beyond the start. */
	ix->nframes = r->frames->len > 1 ? r->frames->len : 0;
	ix->frames = r->frames->len > 1
			     ? (struct lfs_index_frame *)g_array_steal(
				       r->frames, NULL)
			     : NULL;
	/* The last chunk is what is left. */
	if (r->hash.have) {
		uint64_t sum = XXH3_64bits_digest(r->hash.st);

		g_array_append_val(r->sums, sum);
		XXH3_64bits_reset(r->hash.st);
		r->hash.have = 0;
	}
	g_free(ix->sums);
	ix->nsums = r->sums->len;
	ix->sum_chunk = r->sums->len ? r->hash.chunk : 0;
	ix->sums = (uint64_t *)g_array_steal(r->sums, NULL);
}

/* ---- checking a whole stream ------------------------------------------ */

struct lfs_sum_check {
	const struct lfs_index *ix;
	struct chunk_hash hash;
	bool failed;
};

struct lfs_sum_check *lfs_sum_check_new(const struct lfs_index *ix)
{
	struct lfs_sum_check *c;

	if (ix->nsums == 0)
		return NULL;
	c = g_new0(struct lfs_sum_check, 1);
	c->ix = ix;
	chunk_hash_init(&c->hash, ix->sum_chunk);
	return c;
}

void lfs_sum_check_free(struct lfs_sum_check *c)
{
	if (!c)
		return;
	XXH3_freeState(c->hash.st);
	g_free(c);
}

/* Chunk @k's checksum is @sum? */
static int sum_matches(struct lfs_sum_check *c, uint32_t k, uint64_t sum)
{
	if (k < c->ix->nsums && c->ix->sums[k] == sum)
		return 0;
	c->failed = true;
	return -EBADMSG;
}

int lfs_sum_check_feed(struct lfs_sum_check *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (c->failed)
		return -EBADMSG;
	while (len) {
		uint32_t k = c->hash.done;
		bool complete;
		uint64_t sum;
		size_t n = chunk_hash_feed(&c->hash, p, len, &complete, &sum);

		if (complete && sum_matches(c, k, sum) < 0)
			return -EBADMSG;
		p += n;
		len -= n;
	}
	return 0;
}

int lfs_sum_check_end(struct lfs_sum_check *c)
{
	if (c->failed)
		return -EBADMSG;
	if (c->hash.have &&
	    sum_matches(c, c->hash.done, XXH3_64bits_digest(c->hash.st)) < 0)
		return -EBADMSG;
	/* Every chunk seen, and no more than the index has. */
	return c->hash.done + (c->hash.have != 0) == c->ix->nsums ? 0
								   : -EBADMSG;
}

uint64_t lfs_sum_check_verified(const struct lfs_sum_check *c)
{
	return (uint64_t)c->hash.done * c->hash.chunk;
}

bool lfs_seek_possible(const struct lfs_index *ix, enum lfs_compression comp)
{
	if (comp == LFS_COMP_GZIP)
		return ix->ncheckpoints > 0;
	if (comp == LFS_COMP_ZSTD)
		return ix->nframes > 1;
	return false;
}

/* ---- reading ---------------------------------------------------------- */

struct lfs_seek_reader {
	struct lfs_blob *blob;
	enum lfs_compression comp;
	const struct lfs_index *ix;
	uint8_t *in;	 /* input buffer */
	size_t in_len;	 /* valid bytes in @in */
	size_t in_pos;	 /* consumed bytes of @in */
	uint64_t in_off; /* blob offset of in[in_len] */
	uint64_t pos;	 /* uncompressed offset of the next output */
	bool live;	 /* the decoder is positioned at @pos */
	bool ended;	 /* the stream is decoded to its end */
	z_stream z;
	bool z_init;
#ifdef LFS_HAVE_ISAL
	/* The deflate data inflated by ISA-L, about twice zlib's speed
	 * here: restarted at an access point with its history and the bits
	 * of the byte before it primed (both formats agree on what a
	 * position in a deflate stream is).  zlib still parses the gzip
	 * header of each member after the first. */
	struct inflate_state *isal;
#endif
	ZSTD_DCtx *zs;
	size_t zs_last;	  /* zstd's last hint: 0 at a frame's end */
	uint8_t *scratch; /* skipped output lands here */
	uint64_t inflated;
	/* With checksums: the stream is produced in whole chunks, each
	 * checked before any byte of it is given out; a read that takes part
	 * of a chunk keeps the chunk here for the next. */
	uint64_t tar_size;
	uint8_t *chunk;
	uint64_t chunk_at; /* its offset in the stream; NO_CHUNK: none */
	/* Checked chunks inflated but not given out whole to a caller:
	 * handed to @hook (lfs_seek_reader_set_chunk_hook()). */
	lfs_seek_chunk_fn hook;
	void *hook_ctx;
	uint8_t *skipped; /* a chunk passed over on the way to a read */
	bool chunk_used;  /* a later read took from @chunk */
};

#define NO_CHUNK UINT64_MAX

int lfs_seek_reader_new(struct lfs_blob *blob, enum lfs_compression comp,
			const struct lfs_index *ix, uint64_t tar_size,
			struct lfs_seek_reader **out)
{
	struct lfs_seek_reader *r;

	if (comp != LFS_COMP_GZIP && comp != LFS_COMP_ZSTD)
		return -EINVAL;
	if (comp == LFS_COMP_GZIP && ix->ncheckpoints == 0)
		return -EINVAL;
	/* No byte is given out unchecked: an index without checksums (one
	 * that lost them on the way) is a bug, not a layer to serve. */
	if (tar_size > 0 && (ix->nsums == 0 || ix->sum_chunk == 0 ||
			     (uint64_t)ix->nsums * ix->sum_chunk < tar_size))
		return -EINVAL;
	r = g_new0(struct lfs_seek_reader, 1);
	r->blob = blob;
	r->comp = comp;
	r->ix = ix;
	r->in = g_malloc(IN_CHUNK);
	r->scratch = g_malloc(LFS_SEEK_WINDOW);
	r->tar_size = tar_size;
	r->chunk_at = NO_CHUNK;
	if (ix->nsums)
		r->chunk = g_malloc(ix->sum_chunk);
	if (comp == LFS_COMP_GZIP) {
		if (inflateInit2(&r->z, ZRAW) != Z_OK) {
			lfs_seek_reader_free(r);
			return -ENOMEM;
		}
		r->z_init = true;
#ifdef LFS_HAVE_ISAL
		r->isal = g_new0(struct inflate_state, 1);
		isal_inflate_init(r->isal);
#endif
	} else {
		r->zs = ZSTD_createDCtx();
		if (!r->zs) {
			lfs_seek_reader_free(r);
			return -ENOMEM;
		}
	}
	*out = r;
	return 0;
}

void lfs_seek_reader_free(struct lfs_seek_reader *r)
{
	if (!r)
		return;
	if (r->z_init)
		inflateEnd(&r->z);
#ifdef LFS_HAVE_ISAL
	g_free(r->isal);
#endif
	ZSTD_freeDCtx(r->zs);
	g_free(r->in);
	g_free(r->scratch);
	g_free(r->chunk);
	g_free(r->skipped);
	g_free(r);
}

void lfs_seek_reader_set_chunk_hook(struct lfs_seek_reader *r,
				    lfs_seek_chunk_fn hook, void *ctx)
{
	r->hook = r->ix->nsums ? hook : NULL;
	r->hook_ctx = ctx;
}

void lfs_seek_reader_use_zlib(struct lfs_seek_reader *r)
{
#ifdef LFS_HAVE_ISAL
	g_clear_pointer(&r->isal, g_free);
#else
	(void)r;
#endif
}

uint64_t lfs_seek_reader_pos(const struct lfs_seek_reader *r)
{
	return r->pos;
}

uint64_t lfs_seek_reader_start(const struct lfs_seek_reader *r)
{
	/* The chunk kept ends where the decoder stands: reads from its
	 * start on need no restart. */
	return r->chunk_at != NO_CHUNK ? r->chunk_at : r->pos;
}

uint64_t lfs_seek_reader_inflated(const struct lfs_seek_reader *r)
{
	return r->inflated;
}

/* Input from blob offset @off on. */
static void input_at(struct lfs_seek_reader *r, uint64_t off)
{
	r->in_off = off;
	r->in_len = r->in_pos = 0;
}

/* More input when all is consumed.  Returns the bytes available, 0 at the
 * end of the blob, or -errno. */
static ssize_t refill(struct lfs_seek_reader *r)
{
	ssize_t n;

	if (r->in_pos < r->in_len)
		return (ssize_t)(r->in_len - r->in_pos);
	n = lfs_blob_pread(r->blob, r->in, IN_CHUNK, r->in_off);
	if (n <= 0)
		return n;
	r->in_len = (size_t)n;
	r->in_pos = 0;
	r->in_off += (uint64_t)n;
	return n;
}

/* The last access point at or before @off (the index has them sorted, the
 * first at 0). */
static const struct lfs_index_checkpoint *
best_checkpoint(const struct lfs_index *ix, uint64_t off)
{
	uint32_t lo = 0, hi = ix->ncheckpoints;

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->checkpoints[mid].out <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &ix->checkpoints[lo];
}

static struct lfs_index_frame best_frame(const struct lfs_index *ix,
					 uint64_t off)
{
	struct lfs_index_frame start = { 0, 0 };
	uint32_t lo = 0, hi = ix->nframes;

	if (ix->nframes == 0)
		return start;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->frames[mid].out <= off)
			lo = mid;
		else
			hi = mid;
	}
	return ix->frames[lo];
}

/* The first frame starting past uncompressed @end, or @ix->nframes. */
static uint32_t frame_after(const struct lfs_index *ix, uint64_t end)
{
	uint32_t lo = 0, hi = ix->nframes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->frames[mid].out <= end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void lfs_seek_stored_range(const struct lfs_index *ix,
			   enum lfs_compression comp, uint64_t off,
			   uint64_t len, uint64_t stored_size, uint64_t *from,
			   uint64_t *to)
{
	uint64_t chunk = ix->sum_chunk ? ix->sum_chunk : 1;
	uint64_t end = off + len;

	/* A read inflates whole checked chunks: the range is theirs. */
	off -= off % chunk;
	end = end % chunk ? end + (chunk - end % chunk) : end;
	*from = 0;
	*to = stored_size;
	if (comp == LFS_COMP_GZIP && ix->ncheckpoints) {
		const struct lfs_index_checkpoint *cp = best_checkpoint(ix, off);
		uint32_t next = (uint32_t)(best_checkpoint(ix, end) -
					   ix->checkpoints) + 1;

		*from = cp->in - (cp->in && cp->bits ? 1 : 0);
		if (next < ix->ncheckpoints)
			*to = MIN(stored_size, ix->checkpoints[next].in + 1);
	} else if (comp == LFS_COMP_ZSTD && ix->nframes) {
		uint32_t next = frame_after(ix, end);

		*from = best_frame(ix, off).in;
		if (next < ix->nframes)
			*to = MIN(stored_size, ix->frames[next].in);
	}
	if (*from > *to)
		*from = *to;
}

/* A point's history, inflated into @dict with the reader's own decoder
 * (which the caller then resets for the stream): ISA-L's one-shot inflate
 * where built in, about four times as fast on a 32 KiB window as a zlib
 * set up for it.  Returns 0 or -EUCLEAN. */
static int load_window(struct lfs_seek_reader *r,
		       const struct lfs_index_checkpoint *cp, uint8_t *dict)
{
	const struct lfs_index *ix = r->ix;
	int ret;

#ifdef LFS_HAVE_ISAL
	if (r->isal) {
		struct inflate_state *s = r->isal;

		isal_inflate_reset(s);
		s->next_in = (uint8_t *)ix->windows + cp->window;
		s->avail_in = cp->window_len;
		s->next_out = dict;
		s->avail_out = cp->dict_len;
		ret = isal_inflate_stateless(s);
		if ((ret != ISAL_DECOMP_OK && ret != ISAL_END_INPUT) ||
		    s->avail_out || s->block_state != ISAL_BLOCK_FINISH)
			return -EUCLEAN;
		return 0;
	}
#endif
	if (inflateReset2(&r->z, ZRAW) != Z_OK)
		return -EUCLEAN;
	r->z.next_in = (uint8_t *)ix->windows + cp->window;
	r->z.avail_in = cp->window_len;
	r->z.next_out = dict;
	r->z.avail_out = cp->dict_len;
	ret = inflate(&r->z, Z_FINISH);
	if (ret != Z_STREAM_END || r->z.avail_out)
		return -EUCLEAN;
	return 0;
}

/* Input from access point @cp on.  A point inside a byte (after a block
 * that ended mid-byte) starts with that byte's high @cp->bits bits, which
 * go to *bits, lowest first as deflate reads them, for the decoder to be
 * primed with.  Returns 0 or -errno. */
static int input_at_point(struct lfs_seek_reader *r,
			  const struct lfs_index_checkpoint *cp,
			  unsigned int *bits)
{
	*bits = 0;
	input_at(r, cp->in - (cp->bits ? 1 : 0));
	if (cp->bits) {
		ssize_t n = refill(r);

		if (n <= 0)
			return n < 0 ? (int)n : -ENODATA;
		*bits = r->in[r->in_pos++] >> (8 - cp->bits);
	}
	return 0;
}

#ifdef LFS_HAVE_ISAL
static int restart_isal(struct lfs_seek_reader *r,
			const struct lfs_index_checkpoint *cp)
{
	uint8_t dict[LFS_SEEK_WINDOW];
	int err;

	unsigned int bits;

	if (cp->dict_len) {
		err = load_window(r, cp, dict);
		if (err < 0)
			return err;
	}
	isal_inflate_reset(r->isal);
	if (cp->dict_len) {
		if (isal_inflate_set_dict(r->isal, dict, cp->dict_len) !=
		    ISAL_DECOMP_OK)
			return -EIO;
	}
	err = input_at_point(r, cp, &bits);
	if (err < 0)
		return err;
	r->isal->read_in = bits;
	r->isal->read_in_length = (int32_t)cp->bits;
	r->pos = cp->out;
	return 0;
}
#endif

static int restart_gzip(struct lfs_seek_reader *r, uint64_t off)
{
	const struct lfs_index_checkpoint *cp = best_checkpoint(r->ix, off);
	uint8_t dict[LFS_SEEK_WINDOW];
	unsigned int bits;
	int err;

#ifdef LFS_HAVE_ISAL
	if (r->isal)
		return restart_isal(r, cp);
#endif
	if (cp->dict_len) {
		err = load_window(r, cp, dict);
		if (err < 0)
			return err;
	}
	if (inflateReset2(&r->z, ZRAW) != Z_OK)
		return -EIO;
	err = input_at_point(r, cp, &bits);
	if (err < 0)
		return err;
	if (cp->bits)
		inflatePrime(&r->z, (int)cp->bits, (int)bits);
	if (cp->dict_len)
		inflateSetDictionary(&r->z, dict, cp->dict_len);
	r->pos = cp->out;
	return 0;
}

static int restart_zstd(struct lfs_seek_reader *r, uint64_t off)
{
	struct lfs_index_frame f = best_frame(r->ix, off);

	ZSTD_DCtx_reset(r->zs, ZSTD_reset_session_only);
	input_at(r, f.in);
	r->pos = f.out;
	r->zs_last = 0;
	return 0;
}

/* Consume @n bytes of input, across refills.  Returns 0 or -errno. */
static int skip_input(struct lfs_seek_reader *r, size_t n)
{
	while (n) {
		ssize_t have = refill(r);
		size_t take;

		if (have <= 0)
			return have < 0 ? (int)have : -ENODATA;
		take = MIN(n, (size_t)have);
		r->in_pos += take;
		n -= take;
	}
	return 0;
}

/* A gzip member ended: skip its trailer and, if another follows, its
 * header, and go on inflating raw.  Sets r->ended at the end. */
static int next_member(struct lfs_seek_reader *r)
{
	ssize_t have;
	int ret, err = skip_input(r, GZIP_TRAILER);

	if (err < 0)
		return err;
	have = refill(r);
	if (have <= 0) {
		r->ended = have == 0;
		return (int)have;
	}
	inflateReset2(&r->z, ZGZIP);
	do {
		have = refill(r);
		if (have <= 0)
			return have < 0 ? (int)have : -ENODATA;
		r->z.next_in = r->in + r->in_pos;
		r->z.avail_in = (uInt)have;
		r->z.next_out = r->scratch;
		r->z.avail_out = LFS_SEEK_WINDOW;
		ret = inflate(&r->z, Z_BLOCK); /* stops after the header */
		r->in_pos = r->in_len - r->z.avail_in;
	} while (ret == Z_OK && !(r->z.data_type & 0x80));
	if (ret != Z_OK)
		return -EUCLEAN;
	inflateReset2(&r->z, ZRAW);
	return 0;
}

/* One zlib inflate() call over the @have bytes of input there are, into
 * @buf: the bytes written, or -EUCLEAN; *end when a member ended. */
static ssize_t step_zlib(struct lfs_seek_reader *r, uint8_t *buf, size_t len,
			 size_t have, bool *end)
{
	int ret;

	/* Set each time: next_member() uses the stream for a header. */
	r->z.next_out = buf;
	r->z.avail_out = (uInt)len;
	r->z.next_in = r->in + r->in_pos;
	r->z.avail_in = (uInt)have;
	ret = inflate(&r->z, Z_NO_FLUSH);
	r->in_pos = r->in_len - r->z.avail_in;
	*end = ret == Z_STREAM_END;
	if (ret != Z_OK && ret != Z_BUF_ERROR && ret != Z_STREAM_END)
		return -EUCLEAN;
	return (ssize_t)(len - r->z.avail_out);
}

#ifdef LFS_HAVE_ISAL
/* step_zlib() with ISA-L. */
static ssize_t step_isal(struct lfs_seek_reader *r, uint8_t *buf, size_t len,
			 size_t have, bool *end)
{
	struct inflate_state *s = r->isal;
	int ret;

	s->next_out = buf;
	s->avail_out = (uint32_t)len;
	s->next_in = r->in + r->in_pos;
	s->avail_in = (uint32_t)have;
	ret = isal_inflate(s);
	r->in_pos = r->in_len - s->avail_in;
	if (ret < 0)
		return -EUCLEAN;
	*end = s->block_state == ISAL_BLOCK_FINISH;
	if (*end) {
		/* ISA-L may have read whole bytes past the member's last
		 * block (the trailer's) into its bit buffer, which raw
		 * deflate does not give back: step back to the byte after
		 * the block (its last partial byte is padding). */
		input_at(r, r->in_off - (r->in_len - r->in_pos) -
				    (uint64_t)(s->read_in_length / 8));
		isal_inflate_reset(s);
	}
	return (ssize_t)(len - s->avail_out);
}
#endif

/* Decode up to @len bytes (at least one unless at the end). */
static ssize_t produce_gzip(struct lfs_seek_reader *r, uint8_t *buf,
			    size_t len)
{
	size_t done = 0;

	len = MIN(len, (size_t)UINT32_MAX);
	while (done == 0 && !r->ended) {
		ssize_t have = refill(r), n;
		bool end = false;
		int err;

		if (have <= 0)
			return have < 0 ? have : -ENODATA;
#ifdef LFS_HAVE_ISAL
		if (r->isal)
			n = step_isal(r, buf, len, (size_t)have, &end);
		else
#endif
			n = step_zlib(r, buf, len, (size_t)have, &end);
		if (n < 0)
			return n;
		done = (size_t)n;
		if (end) {
			err = next_member(r);
			if (err < 0)
				return err;
		}
	}
	return (ssize_t)done;
}

static ssize_t produce_zstd(struct lfs_seek_reader *r, uint8_t *buf,
			    size_t len)
{
	ZSTD_outBuffer out = { buf, len, 0 };

	while (out.pos == 0 && !r->ended) {
		ssize_t have = refill(r);
		ZSTD_inBuffer in;
		size_t ret;

		if (have < 0)
			return have;
		if (have == 0) {
			/* Mid-frame at the end of the blob: it was cut. */
			if (r->zs_last != 0)
				return -ENODATA;
			r->ended = true;
			break;
		}
		in.src = r->in;
		in.size = r->in_len;
		in.pos = r->in_pos;
		ret = ZSTD_decompressStream(r->zs, &out, &in);
		r->in_pos = in.pos;
		if (ZSTD_isError(ret))
			return -EUCLEAN;
		r->zs_last = ret;
	}
	return (ssize_t)out.pos;
}

static ssize_t produce(struct lfs_seek_reader *r, uint8_t *buf, size_t len)
{
	ssize_t n = r->comp == LFS_COMP_GZIP ? produce_gzip(r, buf, len)
					     : produce_zstd(r, buf, len);

	if (n > 0) {
		r->pos += (uint64_t)n;
		r->inflated += (uint64_t)n;
	}
	return n;
}

/* Produce the whole chunk at r->pos, which a read is passing over, and
 * hand it to the hook if it is what was indexed (one that is not is
 * only passed over: the read that wants it will say so).  Returns 0 or
 * -errno. */
static int skip_chunk(struct lfs_seek_reader *r)
{
	uint32_t k = (uint32_t)(r->pos / r->ix->sum_chunk);
	size_t len = (size_t)r->ix->sum_chunk, got = 0;

	if (!r->skipped)
		r->skipped = g_malloc(len);
	while (got < len) {
		ssize_t n = produce(r, r->skipped + got, len - got);

		if (n <= 0) {
			r->live = false;
			return n < 0 ? (int)n : -ENODATA;
		}
		got += (size_t)n;
	}
	if (k < r->ix->nsums && XXH3_64bits(r->skipped, len) == r->ix->sums[k])
		r->hook(r->hook_ctx, k, r->skipped, len);
	return 0;
}

/* Position at @off: continue if the current position is on the way and
 * no access point lies between, else restart. */
static int seek_to(struct lfs_seek_reader *r, uint64_t off)
{
	uint64_t restart_at;
	int err;

	if (r->comp == LFS_COMP_GZIP)
		restart_at = best_checkpoint(r->ix, off)->out;
	else
		restart_at = best_frame(r->ix, off).out;
	if (!r->live || off < r->pos || restart_at > r->pos) {
		r->live = false;
		r->ended = false;
		err = r->comp == LFS_COMP_GZIP ? restart_gzip(r, off)
					       : restart_zstd(r, off);
		if (err < 0)
			return err;
		r->live = true;
	}
	while (r->pos < off) {
		uint64_t chunk = r->ix->sum_chunk;
		uint64_t want = MIN(off - r->pos, (uint64_t)LFS_SEEK_WINDOW);
		ssize_t n;

		if (r->hook && r->pos % chunk == 0 && off - r->pos >= chunk) {
			err = skip_chunk(r);
			if (err < 0)
				return err;
			continue;
		}
		/* With a hook, stop at the next chunk's start: from there
		 * whole chunks can be kept. */
		if (r->hook)
			want = MIN(want, chunk - r->pos % chunk);
		n = produce(r, r->scratch, (size_t)want);
		if (n <= 0) {
			r->live = false;
			return n < 0 ? (int)n : 0;
		}
	}
	return 0;
}

/* Produce chunk @k (@len bytes) into @dst and check it.  Returns 0, or
 * -EBADMSG when it differs from the checksum recorded at indexing (the
 * layer changed since), or another -errno. */
static int fill_chunk(struct lfs_seek_reader *r, uint32_t k, uint8_t *dst,
		      size_t len)
{
	size_t got = 0;
	int err = seek_to(r, (uint64_t)k * r->ix->sum_chunk);

	if (err < 0)
		return err;
	while (got < len) {
		ssize_t n = produce(r, dst + got, len - got);

		if (n <= 0) {
			r->live = false;
			return n < 0 ? (int)n : -ENODATA;
		}
		got += (size_t)n;
	}
	if (XXH3_64bits(dst, len) != r->ix->sums[k]) {
		r->live = false;
		return -EBADMSG;
	}
	return 0;
}

/* The kept chunk is about to go.  If no read came back for the rest of
 * it, that rest is likely another file's, read later and elsewhere: the
 * hook may keep it.  (Reads in order take the rest themselves: handing
 * those over would fill the hook with what nobody reads again.) */
static void drop_chunk(struct lfs_seek_reader *r)
{
	uint64_t at = r->chunk_at;

	r->chunk_at = NO_CHUNK;
	if (!r->hook || at == NO_CHUNK || r->chunk_used)
		return;
	r->hook(r->hook_ctx, (uint32_t)(at / r->ix->sum_chunk), r->chunk,
		(size_t)MIN((uint64_t)r->ix->sum_chunk, r->tar_size - at));
}

ssize_t lfs_seek_reader_pread(struct lfs_seek_reader *r, void *buf,
			      size_t len, uint64_t off)
{
	uint64_t chunk = r->ix->sum_chunk;
	uint8_t *out = buf;
	size_t done = 0;

	while (done < len && off + done < r->tar_size) {
		uint64_t at = off + done;
		uint32_t k = (uint32_t)(at / chunk);
		uint64_t start = (uint64_t)k * chunk;
		size_t clen = (size_t)MIN(chunk, r->tar_size - start);
		size_t skip = (size_t)(at - start), take;
		int err;

		if (k >= r->ix->nsums)
			return -EIO; /* validation prevents it */
		if (r->chunk_at != start) {
			drop_chunk(r);
			/* A whole chunk the caller wants goes straight to
			 * its buffer: no copy. */
			if (skip == 0 && len - done >= clen) {
				err = fill_chunk(r, k, out + done, clen);
				if (err < 0)
					return err;
				done += clen;
				continue;
			}
			err = fill_chunk(r, k, r->chunk, clen);
			if (err < 0)
				return err;
			r->chunk_at = start;
			r->chunk_used = false;
		} else {
			/* Kept from an earlier read, and wanted again: the
			 * reads go on in order. */
			r->chunk_used = true;
		}
		take = MIN(clen - skip, len - done);
		memcpy(out + done, r->chunk + skip, take);
		done += take;
	}
	return (ssize_t)done;
}
