/* Streaming gzip/zstd/plain decompression of a blob (see decomp.h). */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <zlib.h>
#include <zstd.h>
#ifdef LFS_HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "layerfs/decomp.h"

/* Big enough to keep syscalls rare, small enough to stay in L2. */
#define IN_BUF_SIZE (256u << 10)

struct lfs_decomp {
	struct lfs_blob *blob;
	struct lfs_hasher *hash;
	enum lfs_compression comp;
	unsigned char *in;   /* input buffer */
	size_t in_len;	     /* valid bytes in @in */
	size_t in_pos;	     /* consumed bytes of @in */
	uint64_t in_off;     /* blob offset of in[0] + in_len */
	uint64_t out_bytes;
	bool in_eof;	     /* the blob is exhausted */
	bool done;	     /* the stream ended cleanly */
	z_stream z;
	bool z_live;
	bool gz_member_end;  /* just finished a gzip member */
#ifdef LFS_HAVE_ISAL
	/* gzip inflated by ISA-L instead (meson.build): chosen at the first
	 * read when no recorder is attached, since the recorder needs zlib's
	 * stops at block boundaries. */
	struct inflate_state *isal;
	/* zlib inflating with its own check off (own_check()): the CRC
	 * and length of the member so far, by ISA-L's CRC, which is
	 * several times faster than zlib 1.2's. */
	bool own_check;
	uint32_t crc;
	uint32_t isize;
#endif
	/* The last 8 bytes of the input before @in's, for a gzip trailer
	 * that a refill cut in two. */
	uint8_t tail[8];
	bool engine_chosen;
	bool zlib_only;	     /* lfs_decomp_use_zlib() */
	ZSTD_DStream *zs;
	size_t zs_last;	     /* last ZSTD_decompressStream result */
	struct lfs_seek_recorder *rec; /* access points, or NULL */
	bool sums_elsewhere; /* lfs_decomp_leave_sums() */
	char *error;
};

void lfs_decomp_record(struct lfs_decomp *d, struct lfs_seek_recorder *rec)
{
	d->rec = rec;
}

void lfs_decomp_leave_sums(struct lfs_decomp *d)
{
	d->sums_elsewhere = true;
}

void lfs_decomp_use_zlib(struct lfs_decomp *d)
{
	d->zlib_only = true;
}

int lfs_compression_detect(const void *magic, size_t len,
			   enum lfs_compression *out, const char **why)
{
	static const struct {
		const char *why;
		unsigned char bytes[6];
		size_t len;
	} refused[] = {
		{ "compressed with xz; image layers may only be uncompressed, "
		  "gzip or zstd",
		  { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6 },
		{ "compressed with bzip2; image layers may only be "
		  "uncompressed, gzip or zstd",
		  { 'B', 'Z', 'h' }, 3 },
		{ "compressed with lz4; image layers may only be uncompressed, "
		  "gzip or zstd",
		  { 0x04, 0x22, 0x4d, 0x18 }, 4 },
	};
	const unsigned char *m = magic;

	*out = LFS_COMP_NONE;
	if (len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		*out = LFS_COMP_GZIP;
		return 0;
	}
	/* A zstd frame, or a skippable frame (magic 0x184D2A5?, little
	 * endian), which may come first. */
	if (len >= 4 && ((m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
			  m[3] == 0xfd) ||
			 ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a &&
			  m[2] == 0x4d && m[3] == 0x18))) {
		*out = LFS_COMP_ZSTD;
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		if (len >= refused[i].len &&
		    memcmp(m, refused[i].bytes, refused[i].len) == 0) {
			*why = refused[i].why;
			return -ENOTSUP;
		}
	}
	return 0;
}

static ssize_t set_error(struct lfs_decomp *d, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static ssize_t set_error(struct lfs_decomp *d, const char *fmt, ...)
{
	va_list ap;

	g_free(d->error);
	va_start(ap, fmt);
	d->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return -EIO;
}

/* Before a refill: shift what @in holds into d->tail. */
static void keep_tail(struct lfs_decomp *d)
{
	size_t n = MIN(d->in_len, sizeof(d->tail));

	memmove(d->tail, d->tail + n, sizeof(d->tail) - n);
	memcpy(d->tail + sizeof(d->tail) - n, d->in + d->in_len - n, n);
}

/* Refill the input buffer when it is used up.  Returns 0 or -errno. */
static int fill(struct lfs_decomp *d)
{
	ssize_t n;

	if (d->in_pos < d->in_len || d->in_eof)
		return 0;
	keep_tail(d);
	n = lfs_blob_pread(d->blob, d->in, IN_BUF_SIZE, d->in_off);
	if (n < 0) {
		g_free(d->error);
		d->error = g_strdup_printf("read error at byte %llu of the "
					   "stored layer: %s",
					   (unsigned long long)d->in_off,
					   g_strerror((int)-n));
		return (int)n;
	}
	if (n == 0) {
		d->in_eof = true;
		d->in_len = d->in_pos = 0;
		return 0;
	}
	if (d->hash)
		lfs_hasher_update(d->hash, d->in, (size_t)n);
	d->in_len = (size_t)n;
	d->in_pos = 0;
	d->in_off += (uint64_t)n;
	return 0;
}

/* Offset in the blob of the next unconsumed input byte. */
static uint64_t in_position(const struct lfs_decomp *d)
{
	return d->in_off - (d->in_len - d->in_pos);
}

static ssize_t read_plain(struct lfs_decomp *d, void *buf, size_t len)
{
	size_t avail;
	int err = fill(d);

	if (err < 0)
		return err;
	avail = d->in_len - d->in_pos;
	if (avail == 0) {
		d->done = true;
		return 0;
	}
	if (len > avail)
		len = avail;
	memcpy(buf, d->in + d->in_pos, len);
	d->in_pos += len;
	return (ssize_t)len;
}

/* After a gzip member: end of input, or the next member must follow. */
static ssize_t gzip_next_member(struct lfs_decomp *d)
{
	int err = fill(d);

	if (err < 0)
		return err;
	if (d->in_pos == d->in_len) {
		d->done = true;
		return 0;
	}
	if (d->in[d->in_pos] != 0x1f)
		return set_error(d, "trailing garbage after gzip stream at "
				    "byte %llu",
				 (unsigned long long)in_position(d));
#ifdef LFS_HAVE_ISAL
	if (d->isal) {
		isal_inflate_reset(d->isal);
		d->isal->crc_flag = ISAL_GZIP;
	} else
#endif
		inflateReset(&d->z);
#ifdef LFS_HAVE_ISAL
	d->crc = 0;
	d->isize = 0;
#endif
	d->gz_member_end = false;
	return 1;
}

/* Input for the next inflate call, past a member's end if one just came:
 * 1 with input there, 0 at the end of the stream, or -errno. */
static ssize_t gzip_input(struct lfs_decomp *d)
{
	int err;

	if (d->gz_member_end) {
		ssize_t n = gzip_next_member(d);

		if (n <= 0)
			return n;
		if (d->rec)
			lfs_seek_recorder_member(d->rec);
	}
	err = fill(d);
	if (err < 0)
		return err;
	if (d->in_pos == d->in_len)
		return set_error(d, "truncated gzip stream: input ends at byte "
				    "%llu",
				 (unsigned long long)d->in_off);
	return 1;
}

#ifdef LFS_HAVE_ISAL
/* ISA-L's errors, in zlib's words where zlib has them. */
static const char *isal_error(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid block type or lengths";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER:
		return "incorrect header check";
	case ISAL_UNSUPPORTED_METHOD:
		return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "incorrect data check";
	default:
		return "inflate failed";
	}
}

/* read_gzip() with ISA-L: the same members, errors and checks (the
 * header's, and the trailer's CRC). */
static ssize_t read_gzip_isal(struct lfs_decomp *d, void *buf, size_t len)
{
	struct inflate_state *s = d->isal;
	uint32_t cap = (uint32_t)MIN(len, (size_t)UINT32_MAX);

	s->next_out = buf;
	s->avail_out = cap;
	while (s->avail_out == cap) {
		ssize_t more = gzip_input(d);
		int r;

		if (more <= 0)
			return more;
		s->next_in = d->in + d->in_pos;
		s->avail_in = (uint32_t)(d->in_len - d->in_pos);
		r = isal_inflate(s);
		d->in_pos = d->in_len - s->avail_in;
		if (r < 0)
			return set_error(d, "corrupt gzip stream near byte "
					    "%llu: %s",
					 (unsigned long long)in_position(d),
					 isal_error(r));
		if (s->block_state == ISAL_BLOCK_FINISH)
			d->gz_member_end = true;
	}
	return (ssize_t)(cap - s->avail_out);
}
#endif

/* The gzip engine, at the first read: ISA-L when built with it and no
 * recorder wants zlib's block boundaries.  zlib then leaves the check
 * of each member's CRC and length to own_check(). */
static void choose_engine(struct lfs_decomp *d)
{
	d->engine_chosen = true;
#ifdef LFS_HAVE_ISAL
	if (d->comp != LFS_COMP_GZIP)
		return;
	if (!d->rec && !d->zlib_only) {
		d->isal = g_new0(struct inflate_state, 1);
		isal_inflate_init(d->isal);
		d->isal->crc_flag = ISAL_GZIP;
	} else if (inflateValidate(&d->z, 0) == Z_OK) {
		d->own_check = true;
	}
#endif
}

#ifdef LFS_HAVE_ISAL
/* The last 8 input bytes consumed: at a member's end, its trailer. */
static void last_eight(const struct lfs_decomp *d, uint8_t out[8])
{
	size_t k = MIN(d->in_pos, (size_t)8);

	memcpy(out, d->tail + k, 8 - k);
	memcpy(out + 8 - k, d->in + d->in_pos - k, k);
}

/* zlib with its check off: count what one inflate() call produced and,
 * at the member's end, compare with its trailer (CRC-32, then the length
 * mod 2^32, both little-endian), as zlib would have.  Returns 0 or
 * -EIO. */
static int own_check(struct lfs_decomp *d, const uint8_t *out,
		     size_t produced, bool member_end)
{
	uint8_t t[8];

	d->crc = crc32_gzip_refl(d->crc, out, produced);
	d->isize += (uint32_t)produced;
	if (!member_end)
		return 0;
	last_eight(d, t);
	if (d->crc != (uint32_t)(t[0] | t[1] << 8 | t[2] << 16 |
				 (uint32_t)t[3] << 24))
		return (int)set_error(d, "corrupt gzip stream near byte %llu: "
				      "incorrect data check",
				      (unsigned long long)in_position(d));
	if (d->isize != (uint32_t)(t[4] | t[5] << 8 | t[6] << 16 |
				   (uint32_t)t[7] << 24))
		return (int)set_error(d, "corrupt gzip stream near byte %llu: "
				      "incorrect length check",
				      (unsigned long long)in_position(d));
	return 0;
}
#endif

/* Tell the recorder what one inflate() call produced, and whether it
 * stopped at a block boundary (Z_BLOCK: bit 7 of data_type set, bit 6 -
 * the last block - not). */
static void record_gzip(struct lfs_decomp *d, const uint8_t *out,
			size_t produced, uint64_t out_off)
{
	lfs_seek_recorder_output(d->rec, out, produced);
	if ((d->z.data_type & 0xc0) == 0x80)
		lfs_seek_recorder_boundary(d->rec, out_off, in_position(d),
					   (unsigned int)(d->z.data_type & 7));
}

static ssize_t read_gzip(struct lfs_decomp *d, void *buf, size_t len)
{
	uInt cap = (uInt)MIN(len, (size_t)UINT_MAX);
	/* Z_BLOCK stops at each block boundary, where access points go. */
	int flush = d->rec ? Z_BLOCK : Z_NO_FLUSH;

	d->z.next_out = buf;
	d->z.avail_out = cap;
	/* With a recorder, fill the buffer: inflate stops at every block,
	 * and the recorder keeps history per buffer, not per block. */
	while (d->z.avail_out == cap || (d->rec && d->z.avail_out > 0)) {
		ssize_t more = gzip_input(d);
		uInt before, produced;
		int r;

		if (more <= 0)
			return d->z.avail_out < cap ? (ssize_t)(cap - d->z.avail_out)
						    : more;
		d->z.next_in = d->in + d->in_pos;
		d->z.avail_in = (uInt)(d->in_len - d->in_pos);
		before = d->z.avail_out;
		r = inflate(&d->z, flush);
		d->in_pos = d->in_len - d->z.avail_in;
		produced = before - d->z.avail_out;
		if (d->rec)
			record_gzip(d, d->z.next_out - produced, produced,
				    d->out_bytes + (cap - d->z.avail_out));
		if (r == Z_STREAM_END)
			d->gz_member_end = true;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return set_error(d, "corrupt gzip stream near byte "
					    "%llu: %s",
					 (unsigned long long)in_position(d),
					 d->z.msg ? d->z.msg : zError(r));
#ifdef LFS_HAVE_ISAL
		if (d->own_check &&
		    own_check(d, d->z.next_out - produced, produced,
			      r == Z_STREAM_END) < 0)
			return -EIO;
#endif
	}
	return (ssize_t)(cap - d->z.avail_out);
}

static ssize_t read_zstd(struct lfs_decomp *d, void *buf, size_t len)
{
	ZSTD_outBuffer out = { buf, len, 0 };

	while (out.pos == 0) {
		ZSTD_inBuffer in;
		int err = fill(d);

		if (err < 0)
			return err;
		if (d->in_pos == d->in_len) {
			if (d->zs_last != 0)
				return set_error(d, "truncated zstd stream: "
						    "input ends at byte %llu",
						 (unsigned long long)d->in_off);
			d->done = true;
			return 0;
		}
		in.src = d->in;
		in.size = d->in_len;
		in.pos = d->in_pos;
		/* Between frames (or at the start): a new frame begins here. */
		if (d->rec && d->zs_last == 0)
			lfs_seek_recorder_frame(d->rec, in_position(d),
						d->out_bytes + out.pos);
		d->zs_last = ZSTD_decompressStream(d->zs, &out, &in);
		d->in_pos = in.pos;
		if (ZSTD_isError(d->zs_last))
			return set_error(d, "corrupt zstd stream near byte "
					    "%llu: %s",
					 (unsigned long long)in_position(d),
					 ZSTD_getErrorName(d->zs_last));
	}
	return (ssize_t)out.pos;
}

ssize_t lfs_decomp_read(struct lfs_decomp *d, void *buf, size_t len)
{
	ssize_t n;

	if (d->error)
		return -EIO;
	if (d->done || len == 0)
		return 0;
	if (!d->engine_chosen)
		choose_engine(d);
	switch (d->comp) {
	case LFS_COMP_GZIP:
#ifdef LFS_HAVE_ISAL
		if (d->isal) {
			n = read_gzip_isal(d, buf, len);
			break;
		}
#endif
		n = read_gzip(d, buf, len);
		break;
	case LFS_COMP_ZSTD:
		n = read_zstd(d, buf, len);
		break;
	default:
		n = read_plain(d, buf, len);
		break;
	}
	/* The caller may reuse @buf once this returns. */
	if (d->rec && d->comp == LFS_COMP_GZIP)
		lfs_seek_recorder_output_sync(d->rec);
	if (n > 0) {
		d->out_bytes += (uint64_t)n;
		/* A stored plain stream is read in place, never inflated:
		 * nothing to check it against later. */
		if (d->rec && d->comp != LFS_COMP_NONE && !d->sums_elsewhere)
			lfs_seek_recorder_data(d->rec, buf, (size_t)n);
	}
	return n;
}

static int setup_codec(struct lfs_decomp *d, const char **why)
{
	if (d->comp == LFS_COMP_GZIP) {
		/* 15 + 16: gzip wrapper only, maximum window. */
		if (inflateInit2(&d->z, 15 + 16) != Z_OK) {
			*why = "cannot initialise zlib";
			return -ENOMEM;
		}
		d->z_live = true;
	} else if (d->comp == LFS_COMP_ZSTD) {
		d->zs = ZSTD_createDStream();
		if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs))) {
			*why = "cannot initialise zstd";
			return -ENOMEM;
		}
	}
	return 0;
}

int lfs_decomp_new(struct lfs_blob *blob, enum lfs_compression comp,
		   struct lfs_hasher *stored_hash, struct lfs_decomp **out,
		   const char **why)
{
	struct lfs_decomp *d = g_new0(struct lfs_decomp, 1);
	enum lfs_compression found;
	int err;

	d->blob = blob;
	d->hash = stored_hash;
	d->in = g_malloc(IN_BUF_SIZE);
	err = fill(d);
	if (err < 0) {
		*why = "cannot read the start of the blob";
		goto fail;
	}
	err = lfs_compression_detect(d->in, d->in_len, &found, why);
	if (err < 0)
		goto fail;
	if (comp == LFS_COMP_DETECT) {
		comp = found;
	} else if (comp != found && d->in_len > 0) {
		*why = comp == LFS_COMP_GZIP   ? "media type says gzip but the "
						 "data is not gzip"
		       : comp == LFS_COMP_ZSTD ? "media type says zstd but the "
						 "data is not zstd"
					       : "media type says uncompressed "
						 "but the data is compressed";
		err = -EINVAL;
		goto fail;
	}
	d->comp = comp;
	err = setup_codec(d, why);
	if (err < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	lfs_decomp_free(d);
	return err;
}

const char *lfs_decomp_error(const struct lfs_decomp *d)
{
	return d->error ? d->error : "no error";
}

enum lfs_compression lfs_decomp_compression(const struct lfs_decomp *d)
{
	return d->comp;
}

uint64_t lfs_decomp_in_bytes(const struct lfs_decomp *d)
{
	return in_position(d);
}

uint64_t lfs_decomp_out_bytes(const struct lfs_decomp *d)
{
	return d->out_bytes;
}

void lfs_decomp_free(struct lfs_decomp *d)
{
	if (!d)
		return;
	if (d->z_live)
		inflateEnd(&d->z);
#ifdef LFS_HAVE_ISAL
	g_free(d->isal);
#endif
	ZSTD_freeDStream(d->zs);
	g_free(d->in);
	g_free(d->error);
	g_free(d);
}
