/* Streaming compression of a layer being written (compress.h). */
#include <errno.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "layerfs/compress.h"
#include "layerfs/fdutil.h"

/* Output is gathered in a buffer this big and written in one call. */
#define OUT_BUF (256u << 10)

/* gzip is made of blocks of this much input, each deflated on its own
 * (as pigz does) with the 32 KiB of input before it as its dictionary and
 * ended with a sync flush, so the blocks can be deflated in parallel and
 * the output is the same whatever the number of threads. */
#define BLOCK (128u << 10)
#define DICT (32u << 10)

/* One gzip block, deflated by a worker. */
struct block {
	uint8_t *in;	/* DICT bytes of dictionary, then the block */
	size_t dict;	/* dictionary bytes before the block */
	size_t len;	/* the block's bytes */
	bool last;	/* Z_FINISH, not a sync flush */
	uint8_t *out;
	size_t out_len;
	uLong crc;	/* crc32 of the block */
	int err;
	bool done;	/* under lfs_compress.lock */
};

struct lfs_compress {
	enum lfs_compression comp;
	int level;
	int fd;
	ZSTD_CCtx *zc;
	struct lfs_hasher *plain_hash, *stored_hash;
	uint64_t plain_size, stored_size;
	uint8_t *out;
	/* gzip: the block being filled, the ones being deflated (oldest
	 * first), the workers, and the stream's CRC so far. */
	struct block *fill;
	GQueue queue;
	GThreadPool *pool;
	unsigned int max_queued;
	GMutex lock;
	GCond cond;
	uLong crc;
	uint8_t tail[DICT]; /* the last DICT bytes of input so far */
	size_t tail_len;
};

static int put(struct lfs_compress *c, const void *buf, size_t len)
{
	int err;

	if (len == 0)
		return 0;
	err = lfs_write_full(c->fd, buf, len);
	if (err)
		return err;
	lfs_hasher_update(c->stored_hash, buf, len);
	c->stored_size += len;
	return 0;
}

static void block_free(struct block *b)
{
	if (!b)
		return;
	g_free(b->in);
	g_free(b->out);
	g_free(b);
}

static struct block *block_new(struct lfs_compress *c)
{
	struct block *b = g_new0(struct block, 1);

	b->in = g_malloc(DICT + BLOCK);
	b->dict = c->tail_len;
	memcpy(b->in, c->tail, c->tail_len);
	return b;
}

/* Deflate one block (a worker's job). */
static void deflate_block(gpointer data, gpointer user)
{
	struct block *b = data;
	struct lfs_compress *c = user;
	z_stream z;
	size_t cap;
	int zr;

	memset(&z, 0, sizeof(z));
	b->crc = crc32(0L, b->in + b->dict, (uInt)b->len);
	/* Raw deflate: the gzip wrapper is written once, around all. */
	if (deflateInit2(&z, c->level, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		b->err = -ENOMEM;
		goto done;
	}
	if (b->dict)
		deflateSetDictionary(&z, b->in, (uInt)b->dict);
	cap = deflateBound(&z, b->len) + 16;
	b->out = g_malloc(cap);
	z.next_in = b->in + b->dict;
	z.avail_in = (uInt)b->len;
	z.next_out = b->out;
	z.avail_out = (uInt)cap;
	zr = deflate(&z, b->last ? Z_FINISH : Z_SYNC_FLUSH);
	/* deflateBound() plus room for the flush's empty block holds it
	 * all; a full buffer would mean output left behind: never cut. */
	if (zr != (b->last ? Z_STREAM_END : Z_OK) || z.avail_in ||
	    z.avail_out == 0)
		b->err = -EIO;
	b->out_len = cap - z.avail_out;
	deflateEnd(&z);
done:
	g_mutex_lock(&c->lock);
	b->done = true;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
}

/* Write out the oldest block once deflated; -errno. */
static int drain_one(struct lfs_compress *c)
{
	struct block *b = g_queue_pop_head(&c->queue);
	int err;

	g_mutex_lock(&c->lock);
	while (!b->done)
		g_cond_wait(&c->cond, &c->lock);
	g_mutex_unlock(&c->lock);
	err = b->err;
	if (!err)
		err = put(c, b->out, b->out_len);
	c->crc = crc32_combine(c->crc, b->crc, (z_off_t)b->len);
	block_free(b);
	return err;
}

/* Hand the block being filled to the workers; keep at most
 * max_queued in flight, writing the oldest out in order. */
static int submit(struct lfs_compress *c, bool last)
{
	struct block *b = g_steal_pointer(&c->fill);
	size_t keep = MIN(b->len, (size_t)DICT);

	/* The next block's dictionary: this one's last bytes (joined to
	 * the one before where this one is short). */
	if (keep == DICT) {
		memcpy(c->tail, b->in + b->dict + b->len - DICT, DICT);
		c->tail_len = DICT;
	} else {
		size_t old = MIN(c->tail_len, (size_t)DICT - keep);

		memmove(c->tail, c->tail + c->tail_len - old, old);
		memcpy(c->tail + old, b->in + b->dict, keep);
		c->tail_len = old + keep;
	}
	b->last = last;
	g_queue_push_tail(&c->queue, b);
	g_thread_pool_push(c->pool, b, NULL);
	while (c->queue.length > c->max_queued) {
		int err = drain_one(c);

		if (err)
			return err;
	}
	return 0;
}

int lfs_compress_new(enum lfs_compression comp, int level,
		     unsigned int threads, int fd, struct lfs_compress **out)
{
	struct lfs_compress *c = g_new0(struct lfs_compress, 1);
	int err;

	c->comp = comp;
	c->fd = fd;
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	g_queue_init(&c->queue);
	if (!threads)
		threads = MAX(1u, g_get_num_processors());
	err = lfs_hasher_new_async(LFS_DIGEST_SHA256, &c->plain_hash);
	if (!err)
		err = lfs_hasher_new_async(LFS_DIGEST_SHA256, &c->stored_hash);
	if (err)
		goto fail;
	c->out = g_malloc(OUT_BUF);
	switch (comp) {
	case LFS_COMP_NONE:
		break;
	case LFS_COMP_GZIP: {
		/* The gzip header zlib writes: no name, no time, Unix. */
		static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0,
						    0,	  0,	0, 0, 3 };

		if (level < 0 || level > 9) {
			err = -EINVAL;
			goto fail;
		}
		c->level = level ? level : 6;
		c->crc = crc32(0L, Z_NULL, 0);
		c->max_queued = 2 * threads;
		c->pool = g_thread_pool_new(deflate_block, c, (gint)threads,
					    FALSE, NULL);
		c->fill = block_new(c);
		err = put(c, header, sizeof(header));
		if (err)
			goto fail;
		break;
	}
	case LFS_COMP_ZSTD:
		if (level < 0 || level > ZSTD_maxCLevel()) {
			err = -EINVAL;
			goto fail;
		}
		if (!level)
			level = 3;
		c->zc = ZSTD_createCCtx();
		/* With workers, zstd's output is the same for any number of
		 * them (one at least). */
		if (!c->zc ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
			    c->zc, ZSTD_c_compressionLevel, level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
			    c->zc, ZSTD_c_checksumFlag, 1))) {
			err = -ENOMEM;
			goto fail;
		}
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, (int)threads);
		break;
	default:
		err = -EINVAL;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	lfs_compress_free(c);
	return err;
}

static int zstd_run(struct lfs_compress *c, ZSTD_inBuffer *in,
		    ZSTD_EndDirective end)
{
	size_t left;
	int err;

	do {
		ZSTD_outBuffer o = { c->out, OUT_BUF, 0 };

		left = ZSTD_compressStream2(c->zc, &o, in, end);
		if (ZSTD_isError(left))
			return -EIO;
		err = put(c, c->out, o.pos);
		if (err)
			return err;
	} while (end == ZSTD_e_end ? left != 0 : in->pos < in->size);
	return 0;
}

static int gzip_write(struct lfs_compress *c, const uint8_t *p, size_t len)
{
	while (len) {
		struct block *b = c->fill;
		size_t n;
		int err;

		if (b->len == BLOCK) {
			err = submit(c, false);
			if (err)
				return err;
			c->fill = block_new(c);
			continue;
		}
		n = MIN(len, (size_t)BLOCK - b->len);
		memcpy(b->in + b->dict + b->len, p, n);
		b->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

int lfs_compress_write(struct lfs_compress *c, const void *buf, size_t len)
{
	lfs_hasher_update(c->plain_hash, buf, len);
	c->plain_size += len;
	switch (c->comp) {
	case LFS_COMP_GZIP:
		return gzip_write(c, buf, len);
	case LFS_COMP_ZSTD: {
		ZSTD_inBuffer in = { buf, len, 0 };

		return zstd_run(c, &in, ZSTD_e_continue);
	}
	default:
		return put(c, buf, len);
	}
}

/* The last block (perhaps empty), every block written, the trailer. */
static int gzip_finish(struct lfs_compress *c)
{
	uint8_t trailer[8];
	uint32_t isize = (uint32_t)c->plain_size;
	int err = submit(c, true);

	while (!err && c->queue.length)
		err = drain_one(c);
	if (err)
		return err;
	for (int i = 0; i < 4; i++) {
		trailer[i] = (uint8_t)(c->crc >> (8 * i));
		trailer[4 + i] = (uint8_t)(isize >> (8 * i));
	}
	return put(c, trailer, sizeof(trailer));
}

int lfs_compress_finish(struct lfs_compress *c,
			struct lfs_compress_result *out)
{
	int err = 0;

	if (c->comp == LFS_COMP_GZIP) {
		err = gzip_finish(c);
	} else if (c->comp == LFS_COMP_ZSTD) {
		ZSTD_inBuffer in = { NULL, 0, 0 };

		err = zstd_run(c, &in, ZSTD_e_end);
	}
	if (err)
		return err;
	lfs_hasher_finish(c->plain_hash, &out->plain);
	lfs_hasher_finish(c->stored_hash, &out->stored);
	out->plain_size = c->plain_size;
	out->stored_size = c->stored_size;
	return 0;
}

void lfs_compress_free(struct lfs_compress *c)
{
	if (!c)
		return;
	/* Let the workers end, then drop what they held. */
	if (c->pool)
		g_thread_pool_free(c->pool, FALSE, TRUE);
	while (c->queue.length)
		block_free(g_queue_pop_head(&c->queue));
	block_free(c->fill);
	ZSTD_freeCCtx(c->zc);
	lfs_hasher_free(c->plain_hash);
	lfs_hasher_free(c->stored_hash);
	g_free(c->out);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}
