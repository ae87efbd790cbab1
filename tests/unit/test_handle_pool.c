/* io/handle_pool.c: the bound on handles, a sequential reader continuing
 * its handle (hits, bytes inflated once), interleaved readers each keeping
 * their own, eviction of the least recently used, waiting when every
 * handle is busy, many threads reading random ranges against the plain
 * bytes, and the span cache: what a restart passes over serves later
 * reads, and reads in order leave nothing in it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fixtures.h"
#include "layerfs/decomp.h"
#include "layerfs/handle_pool.h"
#include "layerfs/seek_index.h"

#define SPAN (256u << 10)
#define PLAIN_SIZE (6u << 20)
#define CHUNK (128u << 10)

struct fx {
	char *dir;
	GBytes *plain;
	struct lfs_blob *blob;
	struct lfs_index ix; /* only the access points are used */
	struct lfs_handle_pool *p;
	struct lfs_span_cache *cache; /* new_cached_pool() */
};

/* A gzip blob of compressible noise, indexed as the index pass does. */
static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	g_autoptr(GBytes) gz = NULL;
	g_autofree char *path = NULL;
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(SPAN);
	g_autofree guint8 *buf = g_malloc(1 << 20);
	struct lfs_decomp *d;
	const char *why;

	f->dir = fx_tmpdir();
	f->plain = fx_noise(PLAIN_SIZE, 7, 40);
	gz = fx_gzip(f->plain);
	path = fx_write(f->dir, "blob.gz", gz);
	assert_int_equal(lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF,
					    &f->blob),
			 0);
	assert_int_equal(lfs_decomp_new(f->blob, LFS_COMP_GZIP, NULL, &d,
					&why),
			 0);
	lfs_decomp_record(d, rec);
	while (lfs_decomp_read(d, buf, 1 << 20) > 0)
		;
	lfs_decomp_free(d);
	lfs_seek_recorder_finish(rec, &f->ix);
	lfs_seek_recorder_free(rec);
	assert_true(f->ix.ncheckpoints > 8);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_handle_pool_free(f->p);
	lfs_span_cache_free(f->cache);
	lfs_blob_close(f->blob);
	g_free(f->ix.checkpoints);
	g_free(f->ix.windows);
	g_free(f->ix.frames);
	g_free(f->ix.sums);
	g_bytes_unref(f->plain);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void new_pool(struct fx *f, unsigned int max)
{
	f->p = lfs_handle_pool_new(f->blob, LFS_COMP_GZIP, &f->ix,
				     g_bytes_get_size(f->plain), max, NULL);
}

/* A read through the pool equals the plain bytes there. */
static void check_read(struct lfs_handle_pool *p, GBytes *plain,
		       uint64_t off, size_t len)
{
	gsize plen;
	const guint8 *want = g_bytes_get_data(plain, &plen);
	g_autofree guint8 *buf = g_malloc(len);
	size_t n = MIN(len, plen - (size_t)off);

	assert_int_equal(lfs_handle_pool_pread(p, buf, len, off), n);
	assert_memory_equal(buf, want + off, n);
}

static struct lfs_pool_stats stats(struct fx *f)
{
	struct lfs_pool_stats st;

	lfs_handle_pool_stats(f->p, &st);
	return st;
}

static void new_cached_pool(struct fx *f, unsigned int max)
{
	f->cache = lfs_span_cache_new(8u << 20);
	f->p = lfs_handle_pool_new(f->blob, LFS_COMP_GZIP, &f->ix,
				     g_bytes_get_size(f->plain), max, f->cache);
}

/* The access point at or before @off. */
static uint64_t point_before(struct fx *f, uint64_t off)
{
	uint64_t at = 0;

	for (uint32_t i = 0; i < f->ix.ncheckpoints; i++)
		if (f->ix.checkpoints[i].out <= off)
			at = f->ix.checkpoints[i].out;
	return at;
}

/* A restart passes over what lies between the access point and the read:
 * kept in the span cache, a later read there is served from it, with no
 * handle and nothing inflated; a read only partly kept goes to a handle. */
static void test_span_cache_keeps_what_was_passed(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;
	struct lfs_span_cache_stats cs;
	uint64_t cp = point_before(f, 3u << 20), inflated;

	new_cached_pool(f, 1);
	check_read(f->p, f->plain, cp + 200000, 4096);
	lfs_span_cache_stats(f->cache, &cs);
	/* Whole chunks between the point and the read: at least two. */
	assert_true(cs.bytes >= 2 * LFS_SUM_CHUNK_DEFAULT);
	inflated = stats(f).inflated;
	/* Behind the handle, inside the passed-over chunks. */
	check_read(f->p, f->plain, cp + LFS_SUM_CHUNK_DEFAULT + 10, 30000);
	st = stats(f);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.inflated, inflated);
	assert_int_equal(st.misses, 1);
	/* Reaching past what is kept: a handle serves it. */
	check_read(f->p, f->plain, cp + 10, 4u * LFS_SUM_CHUNK_DEFAULT);
	st = stats(f);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.misses, 2);
}

/* Reads in order leave nothing in the span cache: each read takes up the
 * rest of the chunk the one before left. */
static void test_span_cache_not_filled_by_order(void **state)
{
	struct fx *f = *state;
	struct lfs_span_cache_stats cs;

	new_cached_pool(f, 4);
	for (uint64_t off = 0; off + 100000 <= PLAIN_SIZE; off += 100000)
		check_read(f->p, f->plain, off, 100000);
	lfs_span_cache_stats(f->cache, &cs);
	assert_int_equal(cs.bytes, 0);
	assert_int_equal(stats(f).misses, 1);
}

/* Reading a file front to back inflates it once: every read after the
 * first continues the same handle. */
static void test_sequential_continues(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;
	uint32_t reads = 0;

	new_pool(f, 4);
	for (uint64_t off = 0; off < PLAIN_SIZE; off += CHUNK, reads++)
		check_read(f->p, f->plain, off, CHUNK);
	st = stats(f);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, reads - 1);
	assert_int_equal(st.handles, 1);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.inflated, PLAIN_SIZE);
}

/* Two files read in turns keep a handle each: no restart, no eviction. */
static void test_interleaved_readers(void **state)
{
	struct fx *f = *state;
	uint64_t a = 0, b = 3u << 20;
	struct lfs_pool_stats st;

	new_pool(f, 2);
	for (int i = 0; i < 16; i++, a += CHUNK, b += CHUNK) {
		check_read(f->p, f->plain, a, CHUNK);
		check_read(f->p, f->plain, b, CHUNK);
	}
	st = stats(f);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 30);
	assert_int_equal(st.handles, 2);
	assert_int_equal(st.evictions, 0);
	/* Each handle inflated at most one span before its first byte. */
	assert_true(st.inflated <= 2 * (16 * CHUNK + SPAN));
}

/* Scattered reads never grow the pool past its bound: the least recently
 * used handle is moved. */
static void test_bound_and_eviction(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;

	new_pool(f, 2);
	/* Backwards, so no handle can continue to the next read. */
	for (int i = 11; i >= 0; i--)
		check_read(f->p, f->plain, (uint64_t)i * (512u << 10), 4096);
	st = stats(f);
	assert_int_equal(st.handles, 2);
	assert_int_equal(st.misses, 12);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.evictions, 10);

	/* The bound is per pool; the default applies with 0. */
	lfs_handle_pool_free(f->p);
	new_pool(f, 0);
	for (int i = 20; i >= 0; i--)
		check_read(f->p, f->plain, (uint64_t)i * (256u << 10), 4096);
	assert_int_equal(stats(f).handles, LFS_POOL_HANDLES_DEFAULT);
}

/* More readers streaming at once than the default pool has handles: each
 * comes back where its handle was moved from, and the pool grows for them
 * (up to its cap) instead of inflating their spans again; once they are
 * gone, the handles left idle go.  A bound given is kept. */
static void test_grows_for_streams(void **state)
{
	struct fx *f = *state;
	const uint64_t region = 640u << 10, step = 16u << 10;
	struct lfs_pool_stats st;

	new_pool(f, 0);
	for (uint64_t at = 0; at < region; at += step)
		for (int r = 0; r < 8; r++)
			check_read(f->p, f->plain, r * region + at, step);
	st = stats(f);
	assert_true(st.thrashed > 0);
	assert_true(st.peak > LFS_POOL_HANDLES_DEFAULT);
	assert_true(st.peak <= LFS_POOL_HANDLES_MAX);
	/* Each stream mostly continued its own handle. */
	assert_true(st.hits > st.misses * 4);
	/* One reader alone for a while: back to the default. */
	for (int i = 0; i < 1100; i++)
		check_read(f->p, f->plain, 4096, 4096);
	assert_int_equal(stats(f).handles, LFS_POOL_HANDLES_DEFAULT);

	/* One reader jumping around does not grow it. */
	lfs_handle_pool_free(f->p);
	new_pool(f, 0);
	{
		GRand *rand = g_rand_new_with_seed(3);

		for (int i = 0; i < 2000; i++)
			check_read(f->p, f->plain,
				   (uint64_t)g_rand_int_range(
					   rand, 0, PLAIN_SIZE - 4096),
				   4096);
		g_rand_free(rand);
	}
	assert_int_equal(stats(f).peak, LFS_POOL_HANDLES_DEFAULT);

	lfs_handle_pool_free(f->p);
	new_pool(f, 4);
	for (uint64_t at = 0; at < region; at += step)
		for (int r = 0; r < 8; r++)
			check_read(f->p, f->plain, r * region + at, step);
	assert_int_equal(stats(f).peak, 4);
}

/* A handle continues only forward (or inside the checked chunk it
 * keeps) and only within about a span: further on, restarting at an
 * access point is cheaper. */
static void test_reach(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;

	new_pool(f, 4);
	check_read(f->p, f->plain, 0, 4096);
	check_read(f->p, f->plain, 200000, 4096);   /* small skip: hit */
	check_read(f->p, f->plain, 4u << 20, 4096); /* far: miss */
	check_read(f->p, f->plain, 100, 4096);	    /* backwards: miss */
	/* Back, but inside the chunk the first handle keeps: hit. */
	check_read(f->p, f->plain, 3 * LFS_SUM_CHUNK_DEFAULT + 10, 4096);
	st = stats(f);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.handles, 3);
}

/* The reach counts from where a handle's decoder stands, though it can
 * also serve from the start of the chunk it keeps: a read exactly a reach
 * ahead (the kernel's readahead window is the span) continues. */
static void test_reach_from_decoder(void **state)
{
	struct fx *f = *state;
	const uint64_t chunk = LFS_SUM_CHUNK_DEFAULT;
	uint64_t reach = 0, end;

	for (uint32_t i = 1; i < f->ix.ncheckpoints; i++)
		reach = MAX(reach, f->ix.checkpoints[i].out -
					   f->ix.checkpoints[i - 1].out);
	new_pool(f, 4);
	/* Ends mid-chunk: the chunk is kept, the decoder at its end. */
	check_read(f->p, f->plain, 1000, 100000);
	end = (101000 + chunk - 1) / chunk * chunk;
	check_read(f->p, f->plain, end + reach, 4096);
	assert_int_equal(stats(f).hits, 1);
	assert_int_equal(stats(f).misses, 1);
}

/* Reads past the end are short, as pread is; a read entirely past it
 * returns 0. */
static void test_end_of_stream(void **state)
{
	struct fx *f = *state;
	char buf[64];

	new_pool(f, 1);
	check_read(f->p, f->plain, PLAIN_SIZE - 10, 4096);
	assert_int_equal(lfs_handle_pool_pread(f->p, buf, sizeof(buf),
					       PLAIN_SIZE + 5),
			 0);
}

struct worker {
	struct fx *f;
	uint32_t seed;
	int reads;
	bool sequential;
};

/* Random ranges, or consecutive chunks from a random start; the plain
 * bytes are compared in the thread (cmocka asserts are not thread safe,
 * so a mismatch is returned). */
static gpointer reader(gpointer data)
{
	struct worker *w = data;
	GRand *rand = g_rand_new_with_seed(w->seed);
	const guint8 *plain = g_bytes_get_data(w->f->plain, NULL);
	guint8 *buf = g_malloc(CHUNK);
	uint64_t off = (uint64_t)g_rand_int_range(rand, 0, PLAIN_SIZE / 2);
	gpointer bad = NULL;

	for (int i = 0; i < w->reads && !bad; i++) {
		size_t len = (size_t)g_rand_int_range(rand, 1, CHUNK);
		ssize_t n;

		if (!w->sequential)
			off = (uint64_t)g_rand_int_range(rand, 0,
							 PLAIN_SIZE - CHUNK);
		n = lfs_handle_pool_pread(w->f->p, buf, len, off);
		if (n != (ssize_t)len || memcmp(buf, plain + off, len) != 0)
			bad = GUINT_TO_POINTER(1);
		off += len;
		if (off + CHUNK > PLAIN_SIZE)
			off = 0;
	}
	g_free(buf);
	g_rand_free(rand);
	return bad;
}

static void run_readers(struct fx *f, int nthreads, int reads)
{
	GThread *t[16];
	struct worker w[16];

	assert_true(nthreads <= 16);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ f, 100u + (uint32_t)i, reads, i % 2 };
		t[i] = g_thread_new("reader", reader, &w[i]);
	}
	for (int i = 0; i < nthreads; i++)
		assert_null(g_thread_join(t[i]));
}

/* Eight threads over three handles: every byte right, the bound held,
 * and the reads that found every handle busy waited rather than failed. */
static void test_concurrent_readers(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;

	new_pool(f, 3);
	run_readers(f, 8, 60);
	st = stats(f);
	assert_true(st.handles <= 3);
	assert_int_equal(st.hits + st.misses, 8 * 60);
}

/* One handle shared by four threads: they take turns. */
static void test_single_handle_shared(void **state)
{
	struct fx *f = *state;

	new_pool(f, 1);
	run_readers(f, 4, 30);
	assert_int_equal(stats(f).handles, 1);
}

/* The kernel's readahead: one sequential stream whose next few chunks are
 * read at once by several threads, in no particular order.  One handle
 * carries the stream and the others wait for it, rather than leapfrog
 * through it each inflating all of it. */
struct streamer {
	struct fx *f;
	gint *next; /* the next chunk to read, shared */
	bool ok;
};

static gpointer stream_chunks(gpointer data)
{
	struct streamer *s = data;
	const guint8 *plain = g_bytes_get_data(s->f->plain, NULL);
	guint8 *buf = g_malloc(CHUNK);
	gint i;

	s->ok = true;
	while ((i = g_atomic_int_add(s->next, 1)) < (gint)(PLAIN_SIZE / CHUNK)) {
		uint64_t off = (uint64_t)i * CHUNK;

		if (lfs_handle_pool_pread(s->f->p, buf, CHUNK, off) != CHUNK ||
		    memcmp(buf, plain + off, CHUNK) != 0)
			s->ok = false;
	}
	g_free(buf);
	return NULL;
}

static void test_readahead_stream(void **state)
{
	struct fx *f = *state;
	struct streamer s[4];
	GThread *t[4];
	gint next = 0;
	struct lfs_pool_stats st;

	new_pool(f, 4);
	for (int i = 0; i < 4; i++) {
		s[i] = (struct streamer){ f, &next, false };
		t[i] = g_thread_new("readahead", stream_chunks, &s[i]);
	}
	for (int i = 0; i < 4; i++) {
		g_thread_join(t[i]);
		assert_true(s[i].ok);
	}
	st = stats(f);
	/* Measured: 1.1 to 1.4 times the stream (a chunk is sometimes taken
	 * before the one ahead of it has asked); handles that leapfrog made
	 * it 1.7 to 1.9 times. */
	assert_true(st.inflated <= PLAIN_SIZE + PLAIN_SIZE / 2);
}

/* Damage found by a read is that read's error; the handle goes back to
 * the pool and later reads elsewhere still work. */
static void test_damage_is_per_read(void **state)
{
	struct fx *f = *state;
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(fx_gzip(f->plain), &len);
	g_autoptr(GBytes) stored = NULL;
	g_autofree char *path = NULL;
	char buf[4096];

	/* Same length, garbage in the second half (one access point is
	 * kept sound: the first). */
	memset(bad + len / 2, 0x55, len / 2 - 64);
	stored = g_bytes_new_take(bad, len);
	path = fx_write(f->dir, "blob.gz", stored);
	lfs_blob_close(f->blob);
	assert_int_equal(lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF,
					    &f->blob),
			 0);
	new_pool(f, 1);
	assert_true(lfs_handle_pool_pread(f->p, buf, sizeof(buf),
					  PLAIN_SIZE - 8192) < 0);
	check_read(f->p, f->plain, 0, sizeof(buf));
	assert_int_equal(stats(f).handles, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sequential_continues,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_readers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_and_eviction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_grows_for_streams, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reach_from_decoder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_readers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_single_handle_shared,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_readahead_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damage_is_per_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_span_cache_keeps_what_was_passed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_span_cache_not_filled_by_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
