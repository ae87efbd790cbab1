/* Streaming compression of a layer being written (compress.h). */
#include <errno.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "layerfs/compress.h"
#include "layerfs/fdutil.h"

/* Output is gathered in a buffer this big and written in one call. */
#define OUT_BUF (256u << 10)

struct lfs_compress {
	enum lfs_compression comp;
	int fd;
	z_stream z;
	bool z_init;
	ZSTD_CCtx *zc;
	struct lfs_hasher *plain_hash, *stored_hash;
	uint64_t plain_size, stored_size;
	uint8_t *out;
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

int lfs_compress_new(enum lfs_compression comp, int level, int fd,
		     struct lfs_compress **out)
{
	struct lfs_compress *c = g_new0(struct lfs_compress, 1);
	int err;

	c->comp = comp;
	c->fd = fd;
	err = lfs_hasher_new(LFS_DIGEST_SHA256, &c->plain_hash);
	if (!err)
		err = lfs_hasher_new(LFS_DIGEST_SHA256, &c->stored_hash);
	if (err)
		goto fail;
	c->out = g_malloc(OUT_BUF);
	switch (comp) {
	case LFS_COMP_NONE:
		break;
	case LFS_COMP_GZIP:
		if (level < 0 || level > 9) {
			err = -EINVAL;
			goto fail;
		}
		/* windowBits 15 + 16: a gzip wrapper, its header without a
		 * name or a time. */
		if (deflateInit2(&c->z, level ? level : 6, Z_DEFLATED, 15 + 16,
				 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			err = -ENOMEM;
			goto fail;
		}
		c->z_init = true;
		break;
	case LFS_COMP_ZSTD:
		if (level < 0 || level > ZSTD_maxCLevel()) {
			err = -EINVAL;
			goto fail;
		}
		c->zc = ZSTD_createCCtx();
		if (!level)
			level = 3;
		if (!c->zc ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
			    c->zc, ZSTD_c_compressionLevel, level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(
			    c->zc, ZSTD_c_checksumFlag, 1))) {
			err = -ENOMEM;
			goto fail;
		}
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

/* Deflate what is in c->z with @flush, writing every full buffer. */
static int gzip_run(struct lfs_compress *c, int flush)
{
	int zr, err;

	do {
		c->z.next_out = c->out;
		c->z.avail_out = OUT_BUF;
		zr = deflate(&c->z, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		err = put(c, c->out, OUT_BUF - c->z.avail_out);
		if (err)
			return err;
	} while (c->z.avail_out == 0 ||
		 (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
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

int lfs_compress_write(struct lfs_compress *c, const void *buf, size_t len)
{
	lfs_hasher_update(c->plain_hash, buf, len);
	c->plain_size += len;
	switch (c->comp) {
	case LFS_COMP_GZIP: {
		const uint8_t *p = buf;

		/* avail_in is 32 bits wide. */
		while (len) {
			size_t n = MIN(len, (size_t)1 << 30);
			int err;

			c->z.next_in = (Bytef *)p;
			c->z.avail_in = (uInt)n;
			err = gzip_run(c, Z_NO_FLUSH);
			if (err)
				return err;
			p += n;
			len -= n;
		}
		return 0;
	}
	case LFS_COMP_ZSTD: {
		ZSTD_inBuffer in = { buf, len, 0 };

		return zstd_run(c, &in, ZSTD_e_continue);
	}
	default:
		return put(c, buf, len);
	}
}

int lfs_compress_finish(struct lfs_compress *c,
			struct lfs_compress_result *out)
{
	int err = 0;

	if (c->comp == LFS_COMP_GZIP) {
		c->z.next_in = NULL;
		c->z.avail_in = 0;
		err = gzip_run(c, Z_FINISH);
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
	if (c->z_init)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zc);
	lfs_hasher_free(c->plain_hash);
	lfs_hasher_free(c->stored_hash);
	g_free(c->out);
	g_free(c);
}
