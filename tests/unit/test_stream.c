/* io/stream.c: reads of a layer's tar stream, in place for a plain tar,
 * through the handle pool for gzip and zstd, against the tar's bytes;
 * exact-length reads and -ENODATA past what the stream holds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <archive.h>

#include "layerfs/stream.h"

#include "asserts.h"
#include "fixtures.h"

struct fx {
	char *dir;
	GBytes *tar;
	struct lfs_layer_spec *spec;
	struct lfs_layer *l;
	struct lfs_stream *s;
	GError *error;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) big = fx_noise(3u << 20, 3, 30);
	struct fx_entry e = {.path = "big",
			     .data = g_bytes_get_data(big, NULL),
			     .len = g_bytes_get_size(big)};

	f->dir = fx_tmpdir();
	fx_tar_add(t, &e);
	fx_tar_file(t, "small", "small\n");
	f->tar = fx_tar_finish(t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_stream_free(f->s);
	lfs_layer_free(f->l);
	lfs_layer_spec_free(f->spec);
	g_bytes_unref(f->tar);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

static void open_stream(struct fx *f, const char *name, GBytes *stored)
{
	g_autofree char *path = fx_write(f->dir, name, stored);
	struct lfs_layer_options opts = {0};
	struct lfs_stream_options so = {.handles = 2};

	f->spec = lfs_layer_spec_new(LFS_LAYER_TAR, path, name);
	assert_lfs_ok(lfs_layer_open(f->spec, &opts, &f->l, &f->error),
		      &f->error);
	f->s = lfs_stream_new(f->l, &so);
	assert_ptr_equal(lfs_stream_layer(f->s), f->l);
}

/* Reads at a spread of offsets, the last one up to the stream's end,
 * then one byte past it. */
static void check_stream(struct fx *f)
{
	gsize len;
	const guint8 *tar = g_bytes_get_data(f->tar, &len);
	g_autofree guint8 *buf = g_malloc(len);
	static const size_t sizes[] = {1, 512, 4096, 100000, 1u << 20};

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		uint64_t off = (len - sizes[i]) * i / G_N_ELEMENTS(sizes);

		assert_int_equal(lfs_stream_read(f->s, buf, sizes[i], off), 0);
		assert_memory_equal(buf, tar + off, sizes[i]);
	}
	assert_int_equal(lfs_stream_read(f->s, buf, 100, len - 100), 0);
	assert_memory_equal(buf, tar + len - 100, 100);
	assert_int_equal(lfs_stream_read(f->s, buf, 101, len - 100),
			 -ENODATA);
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	struct lfs_pool_stats st;

	open_stream(f, "l.tar", f->tar);
	check_stream(f);
	/* Read in place: no pool, nothing inflated. */
	lfs_stream_stats(f->s, &st);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.inflated, 0);
}

static void test_gzip(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	struct lfs_pool_stats st;

	open_stream(f, "l.tar.gz", gz);
	check_stream(f);
	lfs_stream_stats(f->s, &st);
	assert_true(st.handles >= 1 && st.handles <= 2);
	assert_true(st.inflated > 0);
}

static void test_zstd(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) zst = fx_zstd(f->tar);

	open_stream(f, "l.tar.zst", zst);
	check_stream(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zstd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
