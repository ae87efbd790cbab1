/* core/mount.c and core/stats.c: layers indexed in parallel on the
 * workers, the same whatever the thread count; the failing layer named,
 * the others cancelled; a second mount served from the cache; progress
 * events for every layer; prefetch=unpack making copies in the
 * background; the statistics text; and mounts opened and closed again
 * and again leaving no descriptor or thread behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "asserts.h"
#include "fixtures.h"
#include "layerfs/fsops.h"
#include "layerfs/stats.h"

#define NLAYERS 6

struct env {
	char *dir;
	char *paths[NLAYERS]; /* bottom first: plain, gzip, zstd, ... */
	struct fx_log log;
	struct lfs_mount *m;
	GError *error;
	/* Progress events seen, per layer (under lock). */
	GMutex lock;
	int running[NLAYERS], ended[NLAYERS];
	enum lfs_progress_state last[NLAYERS];
};

/* Layer i holds l<i>/f (1 MiB of noise, so gzip layers have several
 * access points) and its own version of "shared". */
static GBytes *layer_tar(int i)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) noise = fx_noise(1u << 20, (uint32_t)i + 1, 20);
	g_autofree char *dir = g_strdup_printf("l%d", i);
	g_autofree char *file = g_strdup_printf("l%d/f", i);
	g_autofree char *shared = g_strdup_printf("layer %d\n", i);
	struct fx_entry e = { .path = file,
			      .data = g_bytes_get_data(noise, NULL),
			      .len = g_bytes_get_size(noise) };

	fx_tar_dir(t, dir);
	fx_tar_add(t, &e);
	fx_tar_file(t, "shared", shared);
	return fx_tar_finish(t);
}

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);

	e->dir = fx_tmpdir();
	for (int i = 0; i < NLAYERS; i++) {
		g_autoptr(GBytes) tar = layer_tar(i);
		g_autoptr(GBytes) stored = i % 3 == 1   ? fx_gzip(tar)
					   : i % 3 == 2 ? fx_zstd(tar)
							: g_bytes_ref(tar);
		g_autofree char *name = g_strdup_printf(
			"l%d.tar%s", i,
			i % 3 == 1 ? ".gz" : i % 3 == 2 ? ".zst" : "");

		e->paths[i] = fx_write(e->dir, name, stored);
	}
	fx_log_init(&e->log);
	g_mutex_init(&e->lock);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	lfs_mount_close(e->m);
	fx_log_clear(&e->log);
	fx_rmtree(e->dir);
	for (int i = 0; i < NLAYERS; i++)
		g_free(e->paths[i]);
	g_clear_error(&e->error);
	g_mutex_clear(&e->lock);
	g_free(e->dir);
	g_free(e);
	return 0;
}

static void on_progress(void *ctx, const struct lfs_mount_progress *ev)
{
	struct env *e = ctx;

	g_mutex_lock(&e->lock);
	if (ev->nlayers == NLAYERS && ev->layer < NLAYERS) {
		if (ev->state == LFS_PROGRESS_RUNNING)
			e->running[ev->layer]++;
		else
			e->ended[ev->layer]++;
		e->last[ev->layer] = ev->state;
	}
	g_mutex_unlock(&e->lock);
}

/* Options for the layers, with @threads workers and the test's cache. */
static struct lfs_options *options(struct env *e, unsigned int threads)
{
	struct lfs_options *o = lfs_options_new();

	for (int i = 0; i < NLAYERS; i++)
		g_ptr_array_add(o->layers, g_strdup(e->paths[i]));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->threads = threads;
	o->progress = on_progress;
	o->progress_ctx = e;
	return o;
}

static gboolean mount(struct env *e, struct lfs_options *o)
{
	lfs_mount_close(e->m);
	e->m = NULL;
	g_clear_error(&e->error);
	memset(e->running, 0, sizeof(e->running));
	memset(e->ended, 0, sizeof(e->ended));
	return lfs_mount_open(o, &e->log.lg, &e->m, &e->error);
}

static char *read_all(struct env *e, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	uint64_t ino = LFS_ROOT_INO;
	struct lfs_file *f;
	struct stat st;
	char *buf;

	for (char **p = parts; *p; p++) {
		assert_int_equal(lfs_fs_lookup(e->m, ino, *p, NULL, &st), 0);
		ino = st.st_ino;
	}
	buf = g_malloc0((size_t)st.st_size + 1);
	assert_int_equal(lfs_fs_open(e->m, ino, O_RDONLY, &f), 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, (size_t)st.st_size, 0),
			 st.st_size);
	lfs_fs_release(e->m, f);
	return buf;
}

/* Every file of every layer, and the top layer's "shared". */
static void check_tree(struct env *e)
{
	g_autofree char *shared = read_all(e, "shared");

	assert_string_equal(shared, "layer 5\n");
	for (int i = 0; i < NLAYERS; i++) {
		g_autofree char *p = g_strdup_printf("l%d/f", i);
		g_autofree char *got = read_all(e, p);
		g_autoptr(GBytes) want = fx_noise(1u << 20, (uint32_t)i + 1,
						  20);

		assert_memory_equal(got, g_bytes_get_data(want, NULL),
				    1u << 20);
	}
}

/* One thread or four, the same tree; each layer reports its end once. */
static void test_parallel_indexing(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) one = options(e, 1);
	g_autoptr(lfs_options) four = options(e, 4);

	/* Separate caches: each mount builds every index. */
	g_free(one->cache_dir);
	one->cache_dir = g_build_filename(e->dir, "cache1", NULL);
	assert_lfs_ok(mount(e, one), &e->error);
	assert_int_equal(lfs_workers_threads(e->m->workers), 1);
	check_tree(e);
	assert_lfs_ok(mount(e, four), &e->error);
	assert_int_equal(lfs_workers_threads(e->m->workers), 4);
	check_tree(e);
	for (int i = 0; i < NLAYERS; i++) {
		assert_int_equal(e->ended[i], 1);
		assert_int_equal(e->last[i], LFS_PROGRESS_BUILT);
		assert_false(e->m->layers[i]->loaded);
	}
}

/* The second mount maps every index from the cache: no pass at all. */
static void test_warm_mount(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 0);

	assert_lfs_ok(mount(e, o), &e->error);
	assert_lfs_ok(mount(e, o), &e->error);
	for (int i = 0; i < NLAYERS; i++) {
		assert_true(e->m->layers[i]->loaded);
		assert_int_equal(e->running[i], 0);
		assert_int_equal(e->last[i], LFS_PROGRESS_CACHED);
	}
	check_tree(e);
}

/* A broken layer in the middle: its error, naming it, is the mount's,
 * whatever the others were doing; nothing is left half open. */
static void test_failing_layer_named(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 3);
	g_autoptr(GBytes) junk = fx_noise(3u << 20, 9, 256);

	g_free(e->paths[3]);
	e->paths[3] = fx_write(e->dir, "broken.tar.gz", junk);
	g_free(o->layers->pdata[3]);
	o->layers->pdata[3] = g_strdup(e->paths[3]);
	assert_false(mount(e, o));
	assert_null(e->m);
	assert_non_null(strstr(e->error->message, "broken.tar.gz"));
	assert_int_not_equal(e->error->code, ECANCELED);
	assert_int_equal(e->last[3], LFS_PROGRESS_FAILED);
}

static enum lfs_unpack_state unpack_state(struct env *e, int i)
{
	struct lfs_stream_stats st;

	lfs_stream_stats(e->m->streams[i], &st);
	return st.unpack;
}

/* prefetch=unpack: every compressed layer gets its copy in the
 * background; plain ones need none.  The statistics say so. */
static void test_prefetch_unpack_and_stats(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 2);
	g_autofree char *text = NULL;
	int waited = 0;

	assert_lfs_ok(mount(e, o), &e->error);
	lfs_mount_prefetch(e->m, LFS_PREFETCH_UNPACK);
	for (int i = 0; i < NLAYERS; i++) {
		while (unpack_state(e, i) == LFS_UNPACK_RUNNING &&
		       waited++ < 6000)
			g_usleep(10000);
		assert_int_equal(unpack_state(e, i),
				 i % 3 == 0 ? LFS_UNPACK_NONE
					    : LFS_UNPACK_DONE);
	}
	check_tree(e);
	text = lfs_mount_stats_text(e->m);
	assert_non_null(strstr(text, "layers: 6 (0 indexes from the cache, "
				     "4 compressed, 4 of them unpacked)\n"));
	assert_non_null(strstr(text, "reads from unpacked copies: "));
	/* check_tree() read every file by copy. */
	assert_non_null(strstr(text, "file reads: 0 spliced from a plain "
				     "file, "));
	assert_null(strstr(text, " 0 copied\n"));
	assert_non_null(strstr(text, "directory cache: "));
	/* No FUSE here: no listing went out. */
	assert_non_null(strstr(text, "directory listings: 0 with attributes, "
				     "0 names only, 0 switches, now with "
				     "attributes\n"));
	assert_non_null(strstr(text, "memory: rss "));
	assert_non_null(strstr(text, "layer 2: "));
	assert_non_null(strstr(text, "gzip"));
	assert_non_null(strstr(text, "copy complete (1"));
	/* Reads after the copies came from them, not from the pool. */
	assert_null(strstr(text, "reads from unpacked copies: 0\n"));
}

/* prefetch=none and index start no copy; the statistics count pool use. */
static void test_no_unpack_without_asking(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 2);
	g_autofree char *text = NULL;

	assert_lfs_ok(mount(e, o), &e->error);
	lfs_mount_prefetch(e->m, LFS_PREFETCH_NONE);
	lfs_mount_prefetch(e->m, LFS_PREFETCH_INDEX);
	g_free(read_all(e, "l1/f")); /* gzip: through the pool */
	assert_int_equal(unpack_state(e, 1), LFS_UNPACK_NONE);
	text = lfs_mount_stats_text(e->m);
	assert_non_null(strstr(text, "unpacked)\n"));
	assert_null(strstr(text, "handle pool: 0 handles"));
	assert_null(strstr(text, "bytes inflated: 0 "));
}

/* Read @len bytes at @off of @path. */
static void read_at(struct env *e, const char *path, size_t len, uint64_t off)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	g_autofree char *buf = g_malloc(len);
	uint64_t ino = LFS_ROOT_INO;
	struct lfs_file *f;
	struct stat st;

	for (char **p = parts; *p; p++) {
		assert_int_equal(lfs_fs_lookup(e->m, ino, *p, NULL, &st), 0);
		ino = st.st_ino;
	}
	assert_int_equal(lfs_fs_open(e->m, ino, O_RDONLY, &f), 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, len, off), (ssize_t)len);
	lfs_fs_release(e->m, f);
}

/* prefetch=auto (the default): a gzip layer read from start to end is
 * never copied; one read all over is, once its reads have inflated more
 * than they returned (here 256 KiB, not LFS_SCATTER_WASTE: the layers are
 * small), and says why; a plain layer never is. */
static void test_unpack_when_scattered(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 2);
	int waited = 0;

	o->span = 64u << 10; /* access points every 64 KiB */
	assert_int_equal(o->prefetch, LFS_PREFETCH_AUTO);
	assert_lfs_ok(mount(e, o), &e->error);
	lfs_mount_prefetch(e->m, o->prefetch);
	lfs_stream_unpack_when_scattered(e->m->streams[1], 256u << 10);
	/* In order, 64 KiB at a time: nothing inflated but what is read. */
	for (uint64_t off = 0; off < (1u << 20); off += 64u << 10)
		read_at(e, "l1/f", 64u << 10, off);
	g_usleep(100000);
	assert_int_equal(unpack_state(e, 1), LFS_UNPACK_NONE);
	assert_false(fx_log_has(&e->log, "scattered"));
	/* Backwards, 4 KiB at a time: each read restarts at the access
	 * point before it; a few dozen inflate half the layer for nothing. */
	for (uint64_t off = (1u << 20) - 5000; off > 4096 && waited < 200;
	     off -= 20000, waited++) {
		read_at(e, "l1/f", 4096, off);
		read_at(e, "l0/f", 4096, off);
	}
	waited = 0;
	while (unpack_state(e, 1) != LFS_UNPACK_DONE && waited++ < 6000)
		g_usleep(10000);
	assert_int_equal(unpack_state(e, 1), LFS_UNPACK_DONE);
	assert_true(fx_log_has(&e->log, "its reads are scattered"));
	assert_int_equal(unpack_state(e, 0), LFS_UNPACK_NONE);
	assert_int_equal(unpack_state(e, 4), LFS_UNPACK_NONE);
	check_tree(e);
}

/* Entries of a /proc/self directory: open descriptors, or threads. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - (strcmp(dir, "/proc/self/fd") == 0); /* opendir's own */
}

/* Threads of the process once GLib's spare pool threads are stopped: a
 * freed pool's threads wait for a new pool (up to two, by default), and
 * end a moment after g_thread_pool_free() returns. */
static int settled_threads(void)
{
	int n = 0;

	for (int i = 0; i < 500; i++) {
		g_thread_pool_stop_unused_threads();
		n = count_entries("/proc/self/task");
		if (n == 1)
			break;
		g_usleep(10000);
	}
	return n;
}

/* A daemon mounts once, but the library must give back everything a
 * mount took: twenty mounts, cold and warm, read, prefetching (indexes,
 * then unpacked copies) and closed, leave the process with the
 * descriptors it had and no thread but its own. */
static void test_open_close_leaves_nothing(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = options(e, 3);
	int fds = count_entries("/proc/self/fd");

	assert_int_equal(settled_threads(), 1);
	for (int i = 0; i < 20; i++) {
		int waited = 0;

		if (i % 5 == 0) {
			g_autofree char *cache =
				g_build_filename(e->dir, "cache", NULL);

			fx_rmtree(cache);
		}
		assert_lfs_ok(mount(e, o), &e->error);
		lfs_mount_prefetch(e->m, i % 2 ? LFS_PREFETCH_UNPACK
					       : LFS_PREFETCH_INDEX);
		check_tree(e);
		/* Half the time closed while copies may still be made. */
		while (i % 4 == 1 && unpack_state(e, 1) == LFS_UNPACK_RUNNING &&
		       waited++ < 6000)
			g_usleep(10000);
		lfs_mount_close(e->m);
		e->m = NULL;
		assert_int_equal(count_entries("/proc/self/fd"), fds);
		assert_int_equal(settled_threads(), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parallel_indexing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_warm_mount, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_layer_named,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_unpack_and_stats,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpack_when_scattered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_unpack_without_asking,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_close_leaves_nothing,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("mount", tests, NULL, NULL);
}
