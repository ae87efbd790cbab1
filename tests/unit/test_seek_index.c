/* layer/seek_index.c: access points recorded during a decompression pass,
 * and random reads through them, checked byte for byte against a straight
 * decompression: gzip with one or several members, zstd with several
 * frames, reads at every kind of offset, sequential continuation, damaged
 * blobs, a failing disk under the blob. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/decomp.h"
#include "layerfs/seek_index.h"

#include <xxhash.h>
#include <zlib.h>

#define SPAN (256u << 10)

struct fx {
	char *dir;
	GBytes *plain;
	struct lfs_blob *blob;
	struct lfs_index ix; /* only the access points are used */
	struct lfs_seek_reader *r;
	enum lfs_compression comp;
	bool zlib; /* gzip through zlib, not the default engine */
};

/* The prestate of the tests run again with zlib as the gzip engine (and
 * as the windows' deflater). */
static int zlib_engine;

/* A reader over @blob, with the test's engine. */
static int reader_new(struct fx *f, struct lfs_blob *blob,
		      enum lfs_compression comp, uint64_t tar_size)
{
	int err = lfs_seek_reader_new(blob, comp, &f->ix, tar_size, &f->r);

	if (err == 0 && f->zlib)
		lfs_seek_reader_use_zlib(f->r);
	return err;
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->zlib = *state == &zlib_engine;
	f->dir = fx_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_seek_reader_free(f->r);
	lfs_blob_close(f->blob);
	g_free(f->ix.checkpoints);
	g_free(f->ix.windows);
	g_free(f->ix.frames);
	g_free(f->ix.sums);
	if (f->plain)
		g_bytes_unref(f->plain);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Store @stored as a blob, run the indexing decompression over it with a
 * recorder (as the index pass does), reading @chunk bytes at a time into
 * one buffer, and open a reader. */
static void index_blob_chunked(struct fx *f, GBytes *stored, GBytes *plain,
			       enum lfs_compression comp, size_t chunk)
{
	g_autofree char *path = fx_write(f->dir, "blob", stored);
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(SPAN);
	struct lfs_decomp *d;
	const char *why = NULL;
	g_autofree guint8 *buf = g_malloc(1 << 20);
	uint64_t total = 0;
	ssize_t n;

	f->plain = g_bytes_ref(plain);
	f->comp = comp;
	assert_int_equal(lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF,
					    &f->blob),
			 0);
	assert_int_equal(lfs_decomp_new(f->blob, comp, NULL, &d, &why), 0);
	if (f->zlib)
		lfs_seek_recorder_use_zlib(rec);
	lfs_decomp_record(d, rec);
	while ((n = lfs_decomp_read(d, buf, chunk)) > 0)
		total += (uint64_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(total, g_bytes_get_size(plain));
	lfs_decomp_free(d);
	lfs_seek_recorder_finish(rec, &f->ix);
	lfs_seek_recorder_free(rec);
	assert_int_equal(reader_new(f, f->blob, comp, g_bytes_get_size(plain)),
			 0);
}

static void index_blob(struct fx *f, GBytes *stored, GBytes *plain,
		       enum lfs_compression comp)
{
	index_blob_chunked(f, stored, plain, comp, 1 << 20);
}

/* A read through the reader equals the plain bytes there. */
static void check_read(struct fx *f, uint64_t off, size_t len)
{
	gsize plen;
	const guint8 *plain = g_bytes_get_data(f->plain, &plen);
	g_autofree guint8 *buf = g_malloc(len + 1);
	size_t want = off >= plen ? 0 : MIN(len, plen - (size_t)off);
	ssize_t n = lfs_seek_reader_pread(f->r, buf, len, off);

	assert_int_equal(n, want);
	if (want)
		assert_memory_equal(buf, plain + off, want);
}

static void check_random_reads(struct fx *f, int count)
{
	gsize plen = g_bytes_get_size(f->plain);
	GRand *rand = g_rand_new_with_seed(42);

	for (int i = 0; i < count; i++) {
		uint64_t off = (uint64_t)g_rand_int_range(rand, 0, (gint32)plen);
		size_t len = (size_t)g_rand_int_range(rand, 1, 200000);

		check_read(f, off, len);
	}
	g_rand_free(rand);
}

static void test_gzip_points_and_random_reads(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(5u << 20, 1, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	/* One point per span or so, the first at 0 with no history. */
	assert_true(f->ix.ncheckpoints >= 5 * 4 - 2);
	assert_int_equal(f->ix.checkpoints[0].out, 0);
	assert_int_equal(f->ix.checkpoints[0].dict_len, 0);
	for (uint32_t i = 1; i < f->ix.ncheckpoints; i++) {
		assert_true(f->ix.checkpoints[i].out >=
			    f->ix.checkpoints[i - 1].out + SPAN);
		assert_int_equal(f->ix.checkpoints[i].dict_len,
				 LFS_SEEK_WINDOW);
	}
	assert_true(lfs_seek_possible(&f->ix, LFS_COMP_GZIP));
	check_random_reads(f, 60);
	/* Exactly at points, around them, at the very end and past it. */
	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++) {
		check_read(f, f->ix.checkpoints[i].out, 4096);
		if (f->ix.checkpoints[i].out)
			check_read(f, f->ix.checkpoints[i].out - 1, 2);
	}
	check_read(f, (5u << 20) - 10, 100);
	check_read(f, 5u << 20, 10);
}

/* The index pass reading into one small buffer again and again: the
 * recorder keeps what a point's window needs of each buffer before it is
 * reused (lfs_seek_recorder_output_sync()), so every point reads right. */
static void test_gzip_points_small_buffer(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(3u << 20, 2, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	index_blob_chunked(f, gz, plain, LFS_COMP_GZIP, 20000);
	assert_true(f->ix.ncheckpoints >= 3 * 4 - 2);
	/* Each window is the output right before its point. */
	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++) {
		const struct lfs_index_checkpoint *cp = &f->ix.checkpoints[i];
		guint8 win[LFS_SEEK_WINDOW];
		z_stream z = { 0 };

		if (cp->dict_len == 0)
			continue;
		assert_int_equal(inflateInit2(&z, -15), Z_OK);
		z.next_in = (guint8 *)f->ix.windows + cp->window;
		z.avail_in = cp->window_len;
		z.next_out = win;
		z.avail_out = sizeof(win);
		assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
		assert_int_equal(z.total_out, cp->dict_len);
		inflateEnd(&z);
		assert_memory_equal(win,
				    (const guint8 *)g_bytes_get_data(plain,
								     NULL) +
					    cp->out - cp->dict_len,
				    cp->dict_len);
	}
	/* Backwards: each read starts again at its point, with its window
	 * (forwards, the reader would inflate on from the last read). */
	for (uint32_t i = f->ix.ncheckpoints; i-- > 0;)
		check_read(f, f->ix.checkpoints[i].out, 4096);
}

/* Stored blocks (data that does not compress) count a quarter toward the
 * span: copying them out is cheap, so their points are four times as far
 * apart, and the index does not fill with windows that do not shrink. */
static void test_gzip_stored_blocks_sparser(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) text = fx_noise(2u << 20, 4, 40);
	g_autoptr(GBytes) noise = fx_noise(4u << 20, 5, 0);
	g_autoptr(GByteArray) both = g_byte_array_new();
	g_autoptr(GBytes) plain = NULL;
	g_autoptr(GBytes) gz = NULL;
	uint32_t in_text = 0, in_noise = 0;

	g_byte_array_append(both, g_bytes_get_data(text, NULL), 2u << 20);
	g_byte_array_append(both, g_bytes_get_data(noise, NULL), 4u << 20);
	plain = g_byte_array_free_to_bytes(g_steal_pointer(&both));
	gz = fx_gzip(plain);
	index_blob(f, gz, plain, LFS_COMP_GZIP);
	for (uint32_t i = 1; i < f->ix.ncheckpoints; i++) {
		uint64_t at = f->ix.checkpoints[i].out;
		uint64_t gap = at - f->ix.checkpoints[i - 1].out;

		if (at <= (2u << 20)) {
			/* A point per span, give or take a block. */
			assert_true(gap >= SPAN && gap < SPAN + (128u << 10));
			in_text++;
		} else if (f->ix.checkpoints[i - 1].out >= (2u << 20)) {
			assert_true(gap >= 4 * SPAN);
			in_noise++;
		}
	}
	assert_true(in_text >= 6);
	assert_true(in_noise >= 2 && in_noise <= 4);
	check_random_reads(f, 40);
	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++)
		check_read(f, f->ix.checkpoints[i].out + 1000, 4096);
}

/* A random read costs at most a span (plus its own length). */
static void test_gzip_random_read_cost(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(4u << 20, 2, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	uint64_t before;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	before = lfs_seek_reader_inflated(f->r);
	check_read(f, 3u << 20, 4096);
	/* It inflates to the end of the checksum chunk holding it. */
	assert_true(lfs_seek_reader_inflated(f->r) - before <=
		    2 * SPAN + LFS_SUM_CHUNK_DEFAULT + 4096);
}

/* Sequential reads continue where the last one stopped. */
static void test_gzip_sequential_continues(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(2u << 20, 3, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	uint64_t before;

	const uint64_t chunk = LFS_SUM_CHUNK_DEFAULT;
	uint64_t end = 0;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	check_read(f, 100000, 50000);
	before = lfs_seek_reader_inflated(f->r);
	for (uint64_t off = 150000; off < 1500000; off += 65536) {
		check_read(f, off, 65536);
		end = off + 65536;
	}
	/* No restart: every byte inflated once, in whole checksum chunks,
	 * from the end of the chunk the first read ended in to the end of
	 * the chunk the last one did. */
	assert_int_equal(lfs_seek_reader_inflated(f->r) - before,
			 (end + chunk - 1) / chunk * chunk -
				 (150000 + chunk - 1) / chunk * chunk);
	/* The decoder stands at the end of the last read's last chunk,
	 * which it keeps: a read from the start of that chunk on needs no
	 * restart. */
	assert_int_equal(lfs_seek_reader_pos(f->r),
			 (end + chunk - 1) / chunk * chunk);
	assert_int_equal(lfs_seek_reader_start(f->r),
			 (end - 1) / chunk * chunk);
}

static GBytes *concat3(GBytes *a, GBytes *b, GBytes *c)
{
	GByteArray *arr = g_byte_array_new();

	g_byte_array_append(arr, g_bytes_get_data(a, NULL),
			    (guint)g_bytes_get_size(a));
	g_byte_array_append(arr, g_bytes_get_data(b, NULL),
			    (guint)g_bytes_get_size(b));
	g_byte_array_append(arr, g_bytes_get_data(c, NULL),
			    (guint)g_bytes_get_size(c));
	return g_byte_array_free_to_bytes(arr);
}

/* Several gzip members: each starts with a point; reads cross them. */
static void test_gzip_members(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) a = fx_noise(700000, 4, 40);
	g_autoptr(GBytes) b = fx_noise(300000, 5, 40);
	g_autoptr(GBytes) c = fx_noise(900000, 6, 40);
	g_autoptr(GBytes) ga = fx_gzip(a), gb = fx_gzip(b), gc = fx_gzip(c);
	g_autoptr(GBytes) gz = concat3(ga, gb, gc);
	g_autoptr(GBytes) plain = concat3(a, b, c);
	bool at_b = false, at_c = false;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++) {
		at_b |= f->ix.checkpoints[i].out == 700000 &&
			f->ix.checkpoints[i].dict_len == 0;
		at_c |= f->ix.checkpoints[i].out == 1000000 &&
			f->ix.checkpoints[i].dict_len == 0;
	}
	assert_true(at_b);
	assert_true(at_c);
	check_read(f, 699990, 20);    /* across the first boundary */
	check_read(f, 650000, 400000); /* across both */
	check_read(f, 0, 1900000);     /* everything */
	check_random_reads(f, 40);
}

static GBytes *zstd_frames(GBytes *plain, size_t frame)
{
	GByteArray *arr = g_byte_array_new();
	gsize len;
	const guint8 *p = g_bytes_get_data(plain, &len);

	for (size_t off = 0; off < len; off += frame) {
		g_autoptr(GBytes) part = g_bytes_new(p + off,
						     MIN(frame, len - off));
		g_autoptr(GBytes) z = fx_zstd(part);

		g_byte_array_append(arr, g_bytes_get_data(z, NULL),
				    (guint)g_bytes_get_size(z));
	}
	return g_byte_array_free_to_bytes(arr);
}

static void test_zstd_frames(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(3u << 20, 7, 40);
	g_autoptr(GBytes) zst = zstd_frames(plain, 1u << 20);

	index_blob(f, zst, plain, LFS_COMP_ZSTD);
	assert_int_equal(f->ix.nframes, 3);
	assert_int_equal(f->ix.frames[1].out, 1u << 20);
	assert_int_equal(f->ix.frames[2].out, 2u << 20);
	assert_true(lfs_seek_possible(&f->ix, LFS_COMP_ZSTD));
	check_random_reads(f, 40);
	check_read(f, (1u << 20) - 5, 10);
}

/* The stored bytes a read needs (read ahead by profiles): from the point
 * at or before the start of its first checked chunk to the first point
 * past the end of its last. */
static void test_stored_range(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(4u << 20, 9, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	uint64_t size = g_bytes_get_size(gz), from, to;
	GRand *rand = g_rand_new_with_seed(11);

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	for (int i = 0; i < 200; i++) {
		uint64_t off = (uint64_t)g_rand_int_range(rand, 0, 4 << 20);
		uint64_t len = (uint64_t)g_rand_int_range(rand, 1, 1 << 20);
		/* Reads inflate whole checked chunks. */
		uint64_t c = f->ix.sum_chunk, first = off - off % c;
		uint64_t last = (off + len + c - 1) / c * c;
		uint32_t a = 0, b = f->ix.ncheckpoints;

		for (uint32_t j = 0; j < f->ix.ncheckpoints; j++) {
			if (f->ix.checkpoints[j].out <= first)
				a = j;
			if (b == f->ix.ncheckpoints &&
			    f->ix.checkpoints[j].out > last)
				b = j;
		}
		lfs_seek_stored_range(&f->ix, LFS_COMP_GZIP, off, len, size,
				      &from, &to);
		assert_int_equal(from, f->ix.checkpoints[a].in -
					       (f->ix.checkpoints[a].bits ? 1 : 0));
		assert_int_equal(to, b < f->ix.ncheckpoints
					     ? f->ix.checkpoints[b].in + 1
					     : size);
	}
	g_rand_free(rand);
}

static void test_stored_range_zstd(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(3u << 20, 7, 40);
	g_autoptr(GBytes) zst = zstd_frames(plain, 1u << 20);
	uint64_t size = g_bytes_get_size(zst), from, to;

	index_blob(f, zst, plain, LFS_COMP_ZSTD);
	/* Inside the second frame: that frame's bytes only. */
	lfs_seek_stored_range(&f->ix, LFS_COMP_ZSTD, (1u << 20) + 10, 100,
			      size, &from, &to);
	assert_int_equal(from, f->ix.frames[1].in);
	assert_int_equal(to, f->ix.frames[2].in);
	/* Across the last two: to the end. */
	lfs_seek_stored_range(&f->ix, LFS_COMP_ZSTD, (2u << 20) - 10, 100,
			      size, &from, &to);
	assert_int_equal(from, f->ix.frames[1].in);
	assert_int_equal(to, size);
}

/* One frame gives no access points beyond the start. */
static void test_zstd_single_frame(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(1u << 20, 8, 40);
	g_autoptr(GBytes) zst = fx_zstd(plain);

	index_blob(f, zst, plain, LFS_COMP_ZSTD);
	assert_int_equal(f->ix.nframes, 0);
	assert_false(lfs_seek_possible(&f->ix, LFS_COMP_ZSTD));
	/* Still readable, from the start. */
	check_read(f, 500000, 1000);
}

/* The blob lost its tail after indexing: reads that need it fail with
 * ENODATA; reads before still work. */
static void test_truncated_blob(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(2u << 20, 9, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autofree char *path = g_build_filename(f->dir, "blob", NULL);
	guint8 buf[100];

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	assert_int_equal(truncate(path, (off_t)(g_bytes_get_size(gz) / 2)), 0);
	check_read(f, 1000, 100);
	assert_int_equal(lfs_seek_reader_pread(f->r, buf, sizeof(buf),
					       (2u << 20) - 200),
			 -ENODATA);
}

/* Compressed bytes damaged after indexing, so that inflate cannot decode
 * them: a read of the span holding them fails with EUCLEAN (which the
 * log line tells apart from the disk's EIO and a checksum's EBADMSG). */
static void test_corrupt_blob(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(2u << 20, 10, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autofree char *path = g_build_filename(f->dir, "blob", NULL);
	g_autofree guint8 *buf = g_malloc(2 * SPAN);
	long at = (long)g_bytes_get_size(gz) / 2;
	const struct lfs_index_checkpoint *cp = NULL;
	guint8 junk[4096];
	FILE *fp;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++) {
		if (f->ix.checkpoints[i].in <= (uint64_t)at)
			cp = &f->ix.checkpoints[i];
	}
	memset(junk, 0xff, sizeof(junk));
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fseek(fp, at, SEEK_SET);
	fwrite(junk, 1, sizeof(junk), fp);
	fclose(fp);
	assert_int_equal(lfs_seek_reader_pread(f->r, buf, 2 * SPAN, cp->out),
			 -EUCLEAN);
}

/* The disk under the blob fails reads of the stored bytes at @bad_in
 * (EIO, as from a bad block): a read at @bad_out, which needs them, fails
 * with EIO, and only that read: one at @good_out works meanwhile, and
 * once the disk answers again the same reader reads @bad_out right,
 * keeping nothing of the failed read. */
static void check_disk_error(struct fx *f, uint64_t bad_in, uint64_t bad_out,
			     uint64_t good_out)
{
	g_autofree char *path = g_build_filename(f->dir, "blob", NULL);
	struct fx_fault fault = { .off = bad_in, .len = 1 };
	struct lfs_blob *inner, *disk;
	guint8 buf[4096];

	assert_int_equal(lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF,
					    &inner),
			 0);
	disk = fx_fault_blob(inner, &fault);
	lfs_seek_reader_free(f->r);
	assert_int_equal(reader_new(f, disk, f->comp,
				    g_bytes_get_size(f->plain)),
			 0);
	g_atomic_int_set(&fault.on, 1);
	assert_int_equal(lfs_seek_reader_pread(f->r, buf, sizeof(buf),
					       bad_out),
			 -EIO);
	check_read(f, good_out, 4096);
	assert_int_equal(lfs_seek_reader_pread(f->r, buf, sizeof(buf),
					       bad_out),
			 -EIO);
	assert_true(g_atomic_int_get(&fault.hits) >= 2);
	g_atomic_int_set(&fault.on, 0);
	check_read(f, bad_out, 4096);
	check_read(f, bad_out - 1000, 300000);
	lfs_seek_reader_free(f->r);
	f->r = NULL;
	lfs_blob_close(disk);
}

static void test_gzip_disk_error(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(5u << 20, 11, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	const struct lfs_index_checkpoint *cp;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	cp = &f->ix.checkpoints[f->ix.ncheckpoints / 2];
	check_disk_error(f, cp->in, cp->out, f->ix.checkpoints[1].out);
}

static void test_zstd_disk_error(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(3u << 20, 12, 40);
	g_autoptr(GBytes) zst = zstd_frames(plain, 1u << 20);

	index_blob(f, zst, plain, LFS_COMP_ZSTD);
	check_disk_error(f, f->ix.frames[2].in, f->ix.frames[2].out, 0);
}

/* The recorder keeps a checksum of every chunk of the uncompressed
 * stream, the last one shorter: gzip and zstd alike. */
static void check_sums(struct fx *f)
{
	gsize plen;
	const guint8 *plain = g_bytes_get_data(f->plain, &plen);
	uint64_t chunk = LFS_SUM_CHUNK_DEFAULT;

	assert_int_equal(f->ix.sum_chunk, chunk);
	assert_int_equal(f->ix.nsums, (plen + chunk - 1) / chunk);
	for (uint32_t k = 0; k < f->ix.nsums; k++) {
		uint64_t at = k * chunk;

		assert_true(f->ix.sums[k] ==
			    XXH3_64bits(plain + at, MIN(chunk, plen - at)));
	}
}

static void test_sums_recorded(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise((1u << 20) + 1000, 11, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	check_sums(f);
}

static void test_sums_recorded_zstd(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(3u << 20, 12, 40);
	g_autoptr(GBytes) zst = zstd_frames(plain, 1u << 20);

	index_blob(f, zst, plain, LFS_COMP_ZSTD);
	check_sums(f);
}

/* The blob changed in place after indexing, in a way inflate cannot see:
 * no byte of the chunk holding the change is given out, ever; the rest
 * of the stream still reads. */
static void test_changed_bytes_refused(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(1u << 20, 13, 40);
	g_autoptr(GBytes) gz = fx_gzip_level(plain, 0);
	g_autofree char *path = g_build_filename(f->dir, "blob", NULL);
	const uint64_t chunk = LFS_SUM_CHUNK_DEFAULT;
	/* Stored blocks: output byte n is near input byte n. */
	long at = 600000;
	uint64_t bad = (uint64_t)at / chunk * chunk;
	guint8 buf[4096];

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	fx_flip_byte(path, at, 0x20);

	check_read(f, 0, 4096);
	/* Anywhere in the bad chunk, even far from the changed byte, and
	 * reads across it; again and again. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lfs_seek_reader_pread(f->r, buf, sizeof(buf),
						       bad + 10),
				 -EBADMSG);
		assert_int_equal(lfs_seek_reader_pread(f->r, buf, sizeof(buf),
						       bad - 100),
				 -EBADMSG);
	}
	/* The chunks around it read right. */
	check_read(f, bad - chunk, 4096);
	check_read(f, bad + chunk, 4096);
	check_read(f, (1u << 20) - 10, 10);
}

/* An index without checksums (or too few) gets no reader: nothing is
 * ever given out unchecked. */
static void test_without_sums(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(2u << 20, 14, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	struct lfs_seek_reader *r = NULL;
	uint32_t n;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	n = f->ix.nsums;
	f->ix.nsums = n - 1;
	assert_int_equal(lfs_seek_reader_new(f->blob, LFS_COMP_GZIP, &f->ix,
					     g_bytes_get_size(plain), &r),
			 -EINVAL);
	f->ix.nsums = 0;
	assert_int_equal(lfs_seek_reader_new(f->blob, LFS_COMP_GZIP, &f->ix,
					     g_bytes_get_size(plain), &r),
			 -EINVAL);
	assert_null(r);
	f->ix.nsums = n;
}

/* Checking a whole stream in order, fed in pieces of any size. */
static void test_sum_check(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(300000, 15, 40);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	gsize plen;
	const guint8 *p = g_bytes_get_data(plain, &plen);
	g_autofree guint8 *copy = g_memdup2(p, plen);
	struct lfs_sum_check *c;
	size_t at = 0, step = 1;

	index_blob(f, gz, plain, LFS_COMP_GZIP);
	/* Right bytes, in odd pieces. */
	c = lfs_sum_check_new(&f->ix);
	assert_non_null(c);
	while (at < plen) {
		size_t n = MIN(step, plen - at);

		assert_int_equal(lfs_sum_check_feed(c, p + at, n), 0);
		at += n;
		step = step * 3 + 7;
	}
	assert_int_equal(lfs_sum_check_verified(c),
			 plen / LFS_SUM_CHUNK_DEFAULT * LFS_SUM_CHUNK_DEFAULT);
	assert_int_equal(lfs_sum_check_end(c), 0);
	lfs_sum_check_free(c);

	/* A byte changed: the chunk holding it fails, and all after. */
	copy[200000] ^= 1;
	c = lfs_sum_check_new(&f->ix);
	assert_int_equal(lfs_sum_check_feed(c, copy, 131072), 0);
	assert_int_equal(lfs_sum_check_feed(c, copy + 131072, plen - 131072),
			 -EBADMSG);
	assert_int_equal(lfs_sum_check_end(c), -EBADMSG);
	lfs_sum_check_free(c);

	/* Short (the last chunk missing), or too long. */
	c = lfs_sum_check_new(&f->ix);
	assert_int_equal(lfs_sum_check_feed(c, p, 196608), 0);
	assert_int_equal(lfs_sum_check_end(c), -EBADMSG);
	lfs_sum_check_free(c);
	c = lfs_sum_check_new(&f->ix);
	assert_int_equal(lfs_sum_check_feed(c, p, plen), 0);
	assert_int_equal(lfs_sum_check_feed(c, p, 10), 0);
	assert_int_equal(lfs_sum_check_end(c), -EBADMSG);
	lfs_sum_check_free(c);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
/* The gzip tests once more, through zlib: where ISA-L is built in, FT
 * runs them through it (seek_index.c). */
#define FTZ(t) { #t "_zlib", t, setup, teardown, &zlib_engine }

int main(void)
{
	const struct CMUnitTest tests[] = {
		FT(test_gzip_points_and_random_reads),
		FT(test_gzip_points_small_buffer),
		FT(test_gzip_random_read_cost),
		FT(test_gzip_stored_blocks_sparser),
		FT(test_gzip_sequential_continues),
		FT(test_gzip_members),
		FT(test_zstd_frames),
		FT(test_stored_range),
		FT(test_stored_range_zstd),
		FT(test_zstd_single_frame),
		FT(test_truncated_blob),
		FT(test_corrupt_blob),
		FT(test_sums_recorded),
		FT(test_sums_recorded_zstd),
		FT(test_changed_bytes_refused),
		FT(test_without_sums),
		FT(test_sum_check),
		FT(test_gzip_disk_error),
		FT(test_zstd_disk_error),
		FTZ(test_gzip_points_and_random_reads),
		FTZ(test_gzip_random_read_cost),
		FTZ(test_gzip_stored_blocks_sparser),
		FTZ(test_gzip_sequential_continues),
		FTZ(test_gzip_members),
		FTZ(test_truncated_blob),
		FTZ(test_corrupt_blob),
		FTZ(test_changed_bytes_refused),
		FTZ(test_gzip_disk_error),
	};

	return cmocka_run_group_tests_name("seek_index", tests, NULL, NULL);
}
