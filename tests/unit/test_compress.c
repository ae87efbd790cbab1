/* Compression of a layer being written (compress.h): every size around
 * the gzip block, written in odd pieces, comes back whole through zlib's
 * and zstd's own decoders; the digests are those of the input and of the
 * bytes written; the output is the same on one thread and on several;
 * levels out of range are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "fixtures.h"
#include "layerfs/compress.h"

#define BLOCK (128u << 10)

/* @len bytes that compress some but not all: words from a small
 * vocabulary, picked by a fixed generator. */
static GBytes *sample(size_t len)
{
	static const char *const words[] = { "layer ", "whiteout ", "tar ",
					     "gzip\n", "opaque ", "\x01\x02" };
	guint8 *p = g_malloc(len);
	guint32 x = 12345;

	for (size_t i = 0; i < len;) {
		const char *w;
		size_t n;

		x = x * 1103515245u + 12345u;
		w = words[(x >> 16) % G_N_ELEMENTS(words)];
		n = MIN(strlen(w), len - i);
		memcpy(p + i, w, n);
		i += n;
		if (i < len && (x & 0x100))
			p[i++] = (guint8)(x >> 24); /* noise */
	}
	return g_bytes_new_take(p, len);
}

/* Compress @in with @comp on @threads threads, in pieces of 1, 7, 4096,
 * 100000... bytes; the bytes written and the result. */
static GBytes *squeeze(enum lfs_compression comp, unsigned int threads,
			GBytes *in, struct lfs_compress_result *res)
{
	static const size_t pieces[] = { 1, 7, 4096, 100000, 3 };
	g_autofree char *dir = fx_tmpdir();
	g_autofree char *path = g_build_filename(dir, "out", NULL);
	struct lfs_compress *c = NULL;
	const guint8 *p = g_bytes_get_data(in, NULL);
	size_t len = g_bytes_get_size(in), off = 0;
	char *data = NULL;
	gsize n;
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(lfs_compress_new(comp, 0, threads, fd, &c), 0);
	for (size_t i = 0; off < len; i++) {
		size_t k = MIN(pieces[i % G_N_ELEMENTS(pieces)], len - off);

		assert_int_equal(lfs_compress_write(c, p + off, k), 0);
		off += k;
	}
	assert_int_equal(lfs_compress_finish(c, res), 0);
	lfs_compress_free(c);
	close(fd);
	assert_true(g_file_get_contents(path, &data, &n, NULL));
	fx_rmtree(dir);
	return g_bytes_new_take(data, n);
}

/* A gzip stream, inflated by zlib itself. */
static GBytes *gunzip(GBytes *z)
{
	GByteArray *out = g_byte_array_new();
	z_stream s;
	guint8 buf[65536];
	int zr;

	memset(&s, 0, sizeof(s));
	assert_int_equal(inflateInit2(&s, 15 + 16), Z_OK);
	s.next_in = (Bytef *)g_bytes_get_data(z, NULL);
	s.avail_in = (uInt)g_bytes_get_size(z);
	do {
		s.next_out = buf;
		s.avail_out = sizeof(buf);
		zr = inflate(&s, Z_NO_FLUSH);
		assert_true(zr == Z_OK || zr == Z_STREAM_END);
		g_byte_array_append(out, buf, sizeof(buf) - s.avail_out);
	} while (zr != Z_STREAM_END);
	assert_int_equal(s.avail_in, 0); /* one member, nothing after */
	inflateEnd(&s);
	return g_byte_array_free_to_bytes(out);
}

static GBytes *unzstd(GBytes *z)
{
	GByteArray *out = g_byte_array_new();
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = { g_bytes_get_data(z, NULL), g_bytes_get_size(z),
			     0 };
	guint8 buf[65536];

	while (in.pos < in.size) {
		ZSTD_outBuffer o = { buf, sizeof(buf), 0 };
		size_t r = ZSTD_decompressStream(d, &o, &in);

		assert_false(ZSTD_isError(r));
		g_byte_array_append(out, buf, o.pos);
	}
	ZSTD_freeDCtx(d);
	return g_byte_array_free_to_bytes(out);
}

static void check_digest(GBytes *data, const struct lfs_digest *d)
{
	g_autofree char *want = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256,
							     data);
	g_autofree char *got = lfs_digest_hex(d);

	assert_string_equal(got, want);
}

static void round_trip(enum lfs_compression comp)
{
	static const size_t sizes[] = { 0, 1, BLOCK - 1, BLOCK, BLOCK + 1,
					32 << 10, 5 * BLOCK + 777 };

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(GBytes) in = sample(sizes[i]);
		g_autoptr(GBytes) one = NULL, many = NULL, back = NULL;
		struct lfs_compress_result r1, r3;

		print_message("# %s, %zu bytes\n", lfs_compression_name(comp),
			      sizes[i]);
		one = squeeze(comp, 1, in, &r1);
		many = squeeze(comp, 3, in, &r3);
		/* The same bytes on any number of threads. */
		assert_true(g_bytes_equal(one, many));
		back = comp == LFS_COMP_GZIP   ? gunzip(many)
		       : comp == LFS_COMP_ZSTD ? unzstd(many)
					       : g_bytes_ref(many);
		assert_true(g_bytes_equal(back, in));
		check_digest(in, &r3.plain);
		check_digest(many, &r3.stored);
		assert_int_equal(r3.plain_size, sizes[i]);
		assert_int_equal(r3.stored_size, g_bytes_get_size(many));
		/* Compressed, where there is something to compress. */
		if (comp != LFS_COMP_NONE && sizes[i] > BLOCK)
			assert_true(r3.stored_size < r3.plain_size * 3 / 4);
	}
}

static void test_gzip(void **state)
{
	(void)state;
	round_trip(LFS_COMP_GZIP);
}

/* Bytes that do not compress: each block goes out stored, the most room
 * its output can take. */
static void test_gzip_incompressible(void **state)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	guint8 *p = g_malloc(3 * BLOCK + 5);
	g_autoptr(GBytes) in = NULL, out = NULL, back = NULL;
	struct lfs_compress_result r;

	(void)state;
	for (size_t i = 0; i < 3 * BLOCK + 5; i++)
		p[i] = (guint8)g_rand_int(rand);
	in = g_bytes_new_take(p, 3 * BLOCK + 5);
	out = squeeze(LFS_COMP_GZIP, 2, in, &r);
	back = gunzip(out);
	assert_true(g_bytes_equal(back, in));
	assert_true(r.stored_size > r.plain_size);
}

static void test_zstd(void **state)
{
	(void)state;
	round_trip(LFS_COMP_ZSTD);
}

static void test_none(void **state)
{
	(void)state;
	round_trip(LFS_COMP_NONE);
}

static void test_bad_levels(void **state)
{
	struct lfs_compress *c = NULL;

	(void)state;
	assert_int_equal(lfs_compress_new(LFS_COMP_GZIP, 10, 1, 1, &c),
			 -EINVAL);
	assert_int_equal(lfs_compress_new(LFS_COMP_ZSTD, ZSTD_maxCLevel() + 1,
					  1, 1, &c),
			 -EINVAL);
	assert_int_equal(lfs_compress_new(LFS_COMP_GZIP, -1, 1, 1, &c),
			 -EINVAL);
	assert_null(c);
}

/* A full disk: the error, from write or finish. */
static void test_write_error(void **state)
{
	g_autoptr(GBytes) in = sample(4 * BLOCK);
	struct lfs_compress *c = NULL;
	struct lfs_compress_result r;
	int fd = open("/dev/full", O_WRONLY);
	int err;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(lfs_compress_new(LFS_COMP_GZIP, 1, 2, fd, &c),
			 -ENOSPC);
	close(fd);
	fd = open("/dev/full", O_WRONLY);
	assert_int_equal(lfs_compress_new(LFS_COMP_ZSTD, 1, 2, fd, &c), 0);
	err = lfs_compress_write(c, g_bytes_get_data(in, NULL),
				 g_bytes_get_size(in));
	if (!err)
		err = lfs_compress_finish(c, &r);
	assert_int_equal(err, -ENOSPC);
	lfs_compress_free(c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_gzip_incompressible),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_bad_levels),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
