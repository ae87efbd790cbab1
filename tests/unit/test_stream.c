/* io/stream.c and io/unpack.c: reads of a layer's tar stream, in place
 * for a plain tar, through the handle pool for gzip and zstd, from the
 * unpacked copy where it holds the bytes, against the tar's bytes;
 * exact-length reads and -ENODATA past what the stream holds; a zstd
 * layer of one frame waiting for its copy rather than decompressing from
 * the start; readers switching to a copy finished under them; a finished
 * copy found by the next mount, a wrong one ignored; a copy that fails
 * (damaged data, a failing disk under the blob) leaving reads to the
 * compressed layer, and a finished copy that fails a read doing the same;
 * unmounting mid-unpack;
 * lfs_stream_map() placing bytes in the plain tar or the finished copy,
 * never in a compressed blob. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "layerfs/seek_index.h"
#include "layerfs/stream.h"

#include "asserts.h"
#include "fixtures.h"

struct fx {
	char *dir;
	GBytes *tar;
	struct fx_log log;
	struct lfs_cache *cache;
	struct lfs_workers *workers;
	struct lfs_layer_spec *spec;
	struct lfs_layer *l;
	struct lfs_stream *s;
	GError *error;
	struct fx_fault *fault; /* if set: the disk under the layer's blob */
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) big = fx_noise(8u << 20, 3, 30);
	struct fx_entry e = {.path = "big",
			     .data = g_bytes_get_data(big, NULL),
			     .len = g_bytes_get_size(big)};

	f->dir = fx_tmpdir();
	fx_tar_add(t, &e);
	fx_tar_file(t, "small", "small\n");
	f->tar = fx_tar_finish(t);
	fx_log_init(&f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_stream_free(f->s);
	lfs_workers_free(f->workers);
	lfs_layer_free(f->l);
	lfs_layer_spec_free(f->spec);
	lfs_cache_free(f->cache);
	fx_log_clear(&f->log);
	g_bytes_unref(f->tar);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

/* Open the layer and its stream; @cached: with a cache and workers, so
 * unpacked copies can be made. */
static void open_layer(struct fx *f, const char *name, bool cached)
{
	g_autofree char *path = g_build_filename(f->dir, name, NULL);
	struct lfs_layer_options opts = { .lg = &f->log.lg };
	struct lfs_stream_options so = { .handles = 2, .lg = &f->log.lg };

	if (cached) {
		g_autofree char *cdir = g_build_filename(f->dir, "cache",
							 NULL);

		if (!f->cache)
			assert_lfs_ok(lfs_cache_open(cdir, &f->cache,
						     &f->error),
				      &f->error);
		if (!f->workers)
			f->workers = lfs_workers_new(2);
		opts.cache = so.cache = f->cache;
		so.workers = f->workers;
	}
	f->spec = lfs_layer_spec_new(LFS_LAYER_TAR, path, name);
	assert_lfs_ok(lfs_layer_open(f->spec, &opts, &f->l, &f->error),
		      &f->error);
	if (f->fault)
		f->l->stored = fx_fault_blob(f->l->stored, f->fault);
	f->s = lfs_stream_new(f->l, &so);
	assert_ptr_equal(lfs_stream_layer(f->s), f->l);
}

/* Close the stream and layer (as an unmount does), keeping the cache. */
static void close_layer(struct fx *f)
{
	g_clear_pointer(&f->s, lfs_stream_free);
	g_clear_pointer(&f->l, lfs_layer_free);
	g_clear_pointer(&f->spec, lfs_layer_spec_free);
}

static void open_stream(struct fx *f, const char *name, GBytes *stored)
{
	g_free(fx_write(f->dir, name, stored));
	open_layer(f, name, false);
}

static struct lfs_stream_stats stats(struct fx *f)
{
	struct lfs_stream_stats st;

	lfs_stream_stats(f->s, &st);
	return st;
}

/* Wait (a bounded while) for the unpack to end; returns its state. */
static enum lfs_unpack_state wait_unpack(struct fx *f)
{
	for (int i = 0; i < 6000; i++) {
		struct lfs_stream_stats st = stats(f);

		if (st.unpack != LFS_UNPACK_RUNNING)
			return st.unpack;
		g_usleep(10000);
	}
	fail_msg("the unpack did not end within a minute");
	return LFS_UNPACK_FAILED;
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
	struct lfs_stream_stats st;

	open_stream(f, "l.tar", f->tar);
	check_stream(f);
	/* Read in place: no pool, nothing inflated, no copy. */
	st = stats(f);
	assert_int_equal(st.pool.handles, 0);
	assert_int_equal(st.pool.inflated, 0);
	assert_int_equal(st.unpack, LFS_UNPACK_NONE);
	close_layer(f);
	/* Even with a cache: there is nothing to unpack. */
	open_layer(f, "l.tar", true);
	lfs_stream_prefetch(f->s);
	check_stream(f);
	st = stats(f);
	assert_int_equal(st.unpack, LFS_UNPACK_NONE);
	assert_int_equal(st.copy_reads, 0);
}

/* A plain layer read in place whose file changes under the mount: one
 * merely touched, linked or chmod-ed (its ctime moves) keeps serving once
 * its digest is verified again; one rewritten in place, even with its
 * size and mtime put back, never serves a byte again, by read or map. */
static void test_plain_changed_in_place(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "l.tar", NULL);
	g_autofree char *other = g_build_filename(f->dir, "link", NULL);
	const guint8 *tar = g_bytes_get_data(f->tar, NULL);
	struct stat before;
	struct timespec times[2];
	guint8 buf[512];
	uint64_t pos;
	int fd;

	open_stream(f, "l.tar", f->tar);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 0), 0);
	/* Linked and chmod-ed: the same bytes. */
	assert_int_equal(link(path, other), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 1024), 0);
	assert_memory_equal(buf, tar + 1024, sizeof(buf));
	assert_true(fx_log_has(&f->log, "digest verified again"));
	assert_int_equal(lfs_stream_map(f->s, 10, 0, &fd, &pos), 0);

	/* Rewritten in place, its mtime put back: the ctime shows it. */
	assert_int_equal(stat(path, &before), 0);
	fx_flip_byte(path, 3000000, 0x01);
	times[0] = before.st_atim;
	times[1] = before.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	for (int i = 0; i < 2; i++) {
		/* Anywhere in the layer, not only where it changed. */
		assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 0),
				 -ESTALE);
		assert_int_equal(lfs_stream_map(f->s, 10, 0, &fd, &pos),
				 -ESTALE);
	}
	assert_true(fx_log_has(&f->log, "was rewritten since it was indexed"));
}

static void test_gzip(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	struct lfs_stream_stats st;

	open_stream(f, "l.tar.gz", gz);
	check_stream(f);
	st = stats(f);
	assert_true(st.pool.handles >= 1 && st.pool.handles <= 2);
	assert_true(st.pool.inflated > 0);
	/* No cache: no copy is started by reads. */
	assert_int_equal(st.unpack, LFS_UNPACK_NONE);
}

static void test_zstd(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) zst = fx_zstd(f->tar);

	open_stream(f, "l.tar.zst", zst);
	check_stream(f);
}

/* lfs_stream_map() at a spread of offsets: the bytes it places in a
 * plain file are the stream's. */
static void check_map(struct fx *f)
{
	gsize len;
	const guint8 *tar = g_bytes_get_data(f->tar, &len);
	g_autofree guint8 *buf = g_malloc(1u << 20);
	static const size_t sizes[] = {1, 512, 4096, 100000, 1u << 20};
	uint64_t pos;
	int fd;

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		uint64_t off = (len - sizes[i]) * i / G_N_ELEMENTS(sizes);

		assert_int_equal(lfs_stream_map(f->s, sizes[i], off, &fd,
						&pos), 0);
		assert_int_equal(pread(fd, buf, sizes[i], (off_t)pos),
				 (ssize_t)sizes[i]);
		assert_memory_equal(buf, tar + off, sizes[i]);
	}
	assert_int_equal(lfs_stream_map(f->s, 100, len - 100, &fd, &pos), 0);
	assert_int_equal(lfs_stream_map(f->s, 101, len - 100, &fd, &pos),
			 -ENODATA);
}

static void test_map(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	uint64_t pos;
	int fd;

	/* A plain tar is its own plain file. */
	open_stream(f, "l.tar", f->tar);
	check_map(f);
	assert_int_equal(stats(f).copy_reads, 0);
	close_layer(f);
	/* A compressed one only once its copy is complete. */
	open_stream(f, "l.tar.gz", gz);
	assert_int_equal(lfs_stream_map(f->s, 10, 0, &fd, &pos), -EAGAIN);
	close_layer(f);
	open_layer(f, "l.tar.gz", true);
	assert_int_equal(lfs_stream_map(f->s, 10, 0, &fd, &pos), -EAGAIN);
	assert_int_equal(lfs_stream_unpack(f->s), 0);
	check_map(f);
	assert_true(stats(f).copy_reads >= 6);
	assert_int_equal(stats(f).pool.inflated, 0);
}

/* One zstd frame, no access points: the first read starts the copy and
 * waits for the bytes it needs; nothing goes through the pool. */
static void test_zstd_one_frame_waits_for_copy(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) zst = fx_zstd(f->tar);
	struct lfs_stream_stats st;

	g_free(fx_write(f->dir, "l.tar.zst", zst));
	open_layer(f, "l.tar.zst", true);
	check_stream(f);
	st = stats(f);
	assert_int_equal(st.pool.inflated, 0);
	assert_int_equal(st.pool.handles, 0);
	assert_true(st.copy_reads >= 6);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_DONE);
}

/* A thread reads the whole stream over and over, checking every byte,
 * while the copy is made in the background and the reads move to it. */
struct churn {
	struct fx *f;
	gint stop;
	int rounds;
	bool ok;
};

static gpointer churn_reader(gpointer data)
{
	struct churn *c = data;
	gsize len;
	const guint8 *tar = g_bytes_get_data(c->f->tar, &len);
	guint8 *buf = g_malloc(128 * 1024);

	c->ok = true;
	while (c->ok && !g_atomic_int_get(&c->stop)) {
		for (uint64_t off = 0; off < len && c->ok; off += 128 * 1024) {
			size_t n = MIN(128 * 1024, len - off);

			c->ok = lfs_stream_read(c->f->s, buf, n, off) == 0 &&
				memcmp(buf, tar + off, n) == 0;
		}
		c->rounds++;
	}
	g_free(buf);
	return NULL;
}

static void test_prefetch_switches_reads(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	struct churn c = { .f = f };
	struct lfs_stream_stats st;
	GThread *t;
	int rounds;

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	open_layer(f, "l.tar.gz", true);
	t = g_thread_new("churn", churn_reader, &c);
	while (g_atomic_int_get(&c.rounds) < 1)
		g_usleep(1000);
	lfs_stream_prefetch(f->s);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_DONE);
	/* Two more rounds, from the copy now. */
	rounds = g_atomic_int_get(&c.rounds);
	while (g_atomic_int_get(&c.rounds) < rounds + 2 && c.ok)
		g_usleep(1000);
	g_atomic_int_set(&c.stop, 1);
	g_thread_join(t);
	assert_true(c.ok);
	st = stats(f);
	assert_true(st.copy_reads > 0);
	assert_true(st.pool.inflated > 0);
	assert_int_equal(st.unpacked, g_bytes_get_size(f->tar));
	check_stream(f);
}

/* The finished copy is kept under its key and used by the next mount from
 * its first read; a copy of the wrong size is not. */
static void test_copy_kept_for_next_mount(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	g_autofree char *copy = NULL;
	struct lfs_stream_stats st;

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	open_layer(f, "l.tar.gz", true);
	lfs_stream_prefetch(f->s);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_DONE);
	copy = g_strdup_printf("%s/cache/unpacked/%s.tar", f->dir,
			       f->l->cache_key);
	close_layer(f);
	assert_true(g_file_test(copy, G_FILE_TEST_IS_REGULAR));

	open_layer(f, "l.tar.gz", true);
	st = stats(f);
	assert_int_equal(st.unpack, LFS_UNPACK_DONE);
	check_stream(f);
	st = stats(f);
	assert_int_equal(st.pool.inflated, 0);
	assert_true(st.copy_reads >= 6);
	close_layer(f);

	assert_int_equal(truncate(copy, 1000), 0);
	open_layer(f, "l.tar.gz", true);
	assert_int_equal(stats(f).unpack, LFS_UNPACK_NONE);
	check_stream(f);
	assert_int_equal(stats(f).copy_reads, 0);
}

/* The blob damaged after indexing: the copy fails, says so once, and
 * reads go to the compressed layer (which fails only where the damage
 * is). */
static void test_failed_copy_leaves_reads_to_layer(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	gsize len = g_bytes_get_size(gz);
	guint8 *bad = g_memdup2(g_bytes_get_data(gz, NULL), len);
	g_autoptr(GBytes) damaged = NULL;
	guint8 buf[4096];

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	open_layer(f, "l.tar.gz", true);
	/* Damaged in place after it was indexed. */
	memset(bad + len - 4096, 0x55, 2048);
	damaged = g_bytes_new_take(bad, len);
	{
		g_autofree char *path = g_build_filename(f->dir, "l.tar.gz",
							 NULL);
		FILE *fp = fopen(path, "r+");

		assert_non_null(fp);
		assert_int_equal(fwrite(g_bytes_get_data(damaged, NULL), 1,
					len, fp),
				 len);
		fclose(fp);
	}
	lfs_stream_prefetch(f->s);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_FAILED);
	assert_true(fx_log_has(&f->log, "cannot unpack it into"));
	assert_true(fx_log_has(&f->log, "reads go on from the compressed"));
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 0), 0);
	assert_memory_equal(buf, g_bytes_get_data(f->tar, NULL), sizeof(buf));
	/* Nothing of the failed copy is left in the cache. */
	{
		g_autofree char *udir = g_build_filename(f->dir, "cache",
							 "unpacked", NULL);
		g_autoptr(GDir) d = g_dir_open(udir, 0, NULL);

		assert_null(g_dir_read_name(d));
	}
}

/* The blob changed in place after indexing where inflate cannot notice
 * (stored blocks): the copy is dropped, saying why, and no read of the
 * changed chunk gives out a byte of it, from the copy or the layer. */
static void test_changed_layer_refused(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip_level(f->tar, 0);
	g_autofree char *path = g_build_filename(f->dir, "l.tar.gz", NULL);
	const guint8 *tar = g_bytes_get_data(f->tar, NULL);
	/* Inside "big"'s data, mid-chunk: stored blocks keep output near
	 * input (a few bytes of headers per 64 KiB before it). */
	long at = (5l << 20) + 30000;
	uint64_t chunk = LFS_SUM_CHUNK_DEFAULT;
	uint64_t bad = (uint64_t)at / chunk * chunk;
	guint8 buf[4096];

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	open_layer(f, "l.tar.gz", true);
	fx_flip_byte(path, at, 0x01);

	lfs_stream_prefetch(f->s);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_FAILED);
	assert_true(fx_log_has(&f->log, "differ from the checksums recorded"));
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), bad + 100),
			 -EBADMSG);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), bad - 10),
			 -EBADMSG);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 0), 0);
	assert_memory_equal(buf, tar, sizeof(buf));
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), bad + chunk),
			 0);
	assert_memory_equal(buf, tar + bad + chunk, sizeof(buf));
}

static bool unpacked_empty(struct fx *f)
{
	g_autofree char *udir = g_build_filename(f->dir, "cache", "unpacked",
						 NULL);
	g_autoptr(GDir) d = g_dir_open(udir, 0, NULL);

	assert_non_null(d);
	return g_dir_read_name(d) == NULL;
}

/* The disk under a gzip blob fails reads of some of its bytes (EIO, a
 * bad block) while the copy is made: the copy fails, says why once, and
 * leaves nothing in the cache; it is not tried again in this mount.
 * Reads go to the compressed layer: those that need the bad bytes fail
 * with EIO, the others work, and once the disk answers again, all do. */
static void test_disk_error_during_unpack(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	struct fx_fault fault = { 0 };
	const struct lfs_index_checkpoint *cp;
	guint8 buf[4096];

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	f->fault = &fault;
	open_layer(f, "l.tar.gz", true);
	assert_true(f->l->index->ncheckpoints >= 3);
	cp = &f->l->index->checkpoints[f->l->index->ncheckpoints / 2];
	fault.off = cp->in;
	fault.len = 1;
	g_atomic_int_set(&fault.on, 1);
	lfs_stream_prefetch(f->s);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_FAILED);
	assert_true(fx_log_has(&f->log, "cannot unpack it into"));
	assert_true(fx_log_has(&f->log, "Input/output error"));
	assert_true(unpacked_empty(f));
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), cp->out),
			 -EIO);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf), 0), 0);
	assert_memory_equal(buf, g_bytes_get_data(f->tar, NULL), sizeof(buf));
	g_atomic_int_set(&fault.on, 0);
	check_stream(f);
	assert_int_equal(stats(f).unpack, LFS_UNPACK_FAILED);
	assert_int_equal(stats(f).copy_reads, 0);
}

/* A zstd layer of one frame, whose reads wait for the copy: the copy
 * fails on the bad bytes, and the readers waiting for it are let go, to
 * the compressed layer, which fails too (EIO, no hang); once the disk
 * answers they read from the compressed layer. */
static void test_zstd_one_frame_disk_error(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) zst = fx_zstd(f->tar);
	struct fx_fault fault = { .off = g_bytes_get_size(zst) / 2, .len = 1 };
	gsize len = g_bytes_get_size(f->tar);
	guint8 buf[4096];

	g_free(fx_write(f->dir, "l.tar.zst", zst));
	f->fault = &fault;
	open_layer(f, "l.tar.zst", true);
	g_atomic_int_set(&fault.on, 1);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf),
					 len - sizeof(buf)),
			 -EIO);
	assert_int_equal(wait_unpack(f), LFS_UNPACK_FAILED);
	assert_true(unpacked_empty(f));
	g_atomic_int_set(&fault.on, 0);
	assert_int_equal(lfs_stream_read(f->s, buf, sizeof(buf),
					 len - sizeof(buf)),
			 0);
	assert_memory_equal(buf,
			    (const guint8 *)g_bytes_get_data(f->tar, NULL) +
				    len - sizeof(buf),
			    sizeof(buf));
}

/* A finished copy that fails a read (its file cut short here; a bad block
 * of the cache's disk fails the same pread): the read is served by the
 * compressed layer, right, and the failure is logged once. */
static void test_copy_read_error_falls_back(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) gz = fx_gzip(f->tar);
	g_autofree char *copy = NULL;

	g_free(fx_write(f->dir, "l.tar.gz", gz));
	open_layer(f, "l.tar.gz", true);
	assert_int_equal(lfs_stream_unpack(f->s), 0);
	copy = g_strdup_printf("%s/cache/unpacked/%s.tar", f->dir,
			       f->l->cache_key);
	assert_int_equal(truncate(copy, 1000), 0);
	fx_log_clear(&f->log);
	fx_log_init(&f->log);
	check_stream(f);
	assert_true(fx_log_has(&f->log, "reading its unpacked copy in"));
	assert_int_equal(f->log.msgs->len, 1);
	assert_true(stats(f).pool.inflated > 0);
}

/* Unmounting while a copy is being made cancels it and leaves nothing. */
static void test_close_mid_unpack(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) zst = fx_zstd(f->tar);
	g_autofree char *udir = NULL;
	g_autoptr(GDir) d = NULL;

	g_free(fx_write(f->dir, "l.tar.zst", zst));
	open_layer(f, "l.tar.zst", true);
	lfs_stream_prefetch(f->s);
	close_layer(f);
	udir = g_build_filename(f->dir, "cache", "unpacked", NULL);
	d = g_dir_open(udir, 0, NULL);
	/* Either it finished before the close, or nothing is there. */
	for (const char *n; (n = g_dir_read_name(d));)
		assert_true(g_str_has_suffix(n, ".tar"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zstd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_zstd_one_frame_waits_for_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_switches_reads,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_kept_for_next_mount,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_copy_leaves_reads_to_layer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_plain_changed_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_layer_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_error_during_unpack,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_zstd_one_frame_disk_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_copy_read_error_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_mid_unpack, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
