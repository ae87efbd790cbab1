/* Unit tests for layer/layer.c: lfs_layer_open() on tar, tar.gz and tar.zst
 * files, with and without the digest and size a source promises, as a
 * whole file or a byte range of a bigger one, with and without a cache.
 * The index must be right and reads through a stream at the indexed offsets
 * must give the files' bytes; broken or mismatching layers fail with a
 * message naming the layer.  Directory layers: lfs_layer_open_file() opens
 * an indexed file but refuses paths that now pass through a symlink. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/index_file.h"
#include "layerfs/layer.h"
#include "layerfs/stream.h"

#include "asserts.h"
#include "fixtures.h"

#define NAME "layer-under-test"
#define BIG_SIZE (300u * 1024)

enum form { PLAIN, GZIP, ZSTD };

struct fx {
	char *dir;
	struct lfs_cache *cache;
	char *cache_dir;
	GBytes *big;	   /* content of "big" */
	GBytes *tar;	   /* the layer, uncompressed */
	GBytes *stored[3]; /* as PLAIN, GZIP, ZSTD */
	struct lfs_layer_spec *spec;
	struct lfs_layer *l;
	struct fx_log log;
	GError *error;
	uint64_t span; /* the span= option; 0: not given */
	/* Progress reports of a kept index's layer hashed again, and the
	 * bytes the last one said. */
	unsigned int verify_reports;
	uint64_t verified;
};

static const struct {
	const char *path, *data;
} small_files[] = {
    {"a.txt", "alpha\n"},
    {"dir/b.txt", "bravo bravo"},
    {"dir/empty", ""},
};

static GBytes *build_tar(GBytes *big)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry e = {.path = "big"};
	struct fx_entry l = {.path = "link", .type = AE_IFLNK, .link = "a.txt"};
	gsize len;

	fx_tar_dir(t, "dir");
	for (size_t i = 0; i < G_N_ELEMENTS(small_files); i++) {
		struct fx_entry f = {.path = small_files[i].path,
				     .data = small_files[i].data};

		fx_tar_add(t, &f);
	}
	e.data = g_bytes_get_data(big, &len);
	e.len = len;
	fx_tar_add(t, &e);
	fx_tar_add(t, &l);
	return fx_tar_finish(t);
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	g_autoptr(GError) error = NULL;

	f->dir = fx_tmpdir();
	f->cache_dir = g_build_filename(f->dir, "cache", NULL);
	if (!lfs_cache_open(f->cache_dir, &f->cache, &error))
		return -1;
	f->big = fx_noise(BIG_SIZE, 2463534242u, 20);
	f->tar = build_tar(f->big);
	f->stored[PLAIN] = g_bytes_ref(f->tar);
	f->stored[GZIP] = fx_gzip(f->tar);
	f->stored[ZSTD] = fx_zstd(f->tar);
	fx_log_init(&f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_layer_free(f->l);
	lfs_layer_spec_free(f->spec);
	lfs_cache_free(f->cache);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->cache_dir);
	g_bytes_unref(f->big);
	g_bytes_unref(f->tar);
	for (int i = 0; i < 3; i++)
		g_bytes_unref(f->stored[i]);
	fx_log_clear(&f->log);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

/* A TAR spec for @data written to DIR/@file; offset 0, whole file. */
static struct lfs_layer_spec *tar_spec(struct fx *f, const char *file,
				       GBytes *data)
{
	g_autofree char *path = fx_write(f->dir, file, data);

	lfs_layer_spec_free(f->spec);
	f->spec = lfs_layer_spec_new(LFS_LAYER_TAR, path, NAME);
	return f->spec;
}

static struct lfs_layer_spec *form_spec(struct fx *f, enum form form)
{
	static const char *const files[] = {"layer.tar", "layer.tar.gz",
					    "layer.tar.zst"};

	return tar_spec(f, files[form], f->stored[form]);
}

static void set_digest(struct lfs_digest *d, GBytes *of)
{
	g_autofree char *s = fx_sha256(of);

	assert_int_equal(lfs_digest_parse(s, d), 0);
}

static void count_verify(void *ctx, const struct lfs_layer_spec *spec,
			 const struct lfs_layer_progress *p)
{
	struct fx *f = ctx;

	(void)spec;
	if (p->verifying) {
		f->verify_reports++;
		f->verified = p->done;
	}
}

static gboolean open_layer(struct fx *f, bool with_cache)
{
	struct lfs_layer_options opts = {
	    .cache = with_cache ? f->cache : NULL,
	    .lg = &f->log.lg,
	    .span = f->span,
	    .progress = count_verify,
	    .progress_ctx = f,
	};

	lfs_layer_free(g_steal_pointer(&f->l));
	g_clear_error(&f->error);
	return lfs_layer_open(f->spec, &opts, &f->l, &f->error);
}

static void open_ok(struct fx *f, bool with_cache)
{
	assert_lfs_ok(open_layer(f, with_cache), &f->error);
	assert_non_null(f->l);
}

static void open_fails(struct fx *f, bool with_cache)
{
	assert_false(open_layer(f, with_cache));
	assert_null(f->l);
}

/* File @path of the layer holds @want, read through a stream. */
static void assert_file(struct fx *f, const char *path, const void *want,
			size_t len)
{
	uint32_t i = lfs_index_lookup_path(f->l->index, path);
	const struct lfs_index_entry *e;
	g_autofree guint8 *buf = g_malloc(len + 1);

	if (i == LFS_INDEX_NONE)
		fail_msg("no entry \"%s\"", path);
	e = lfs_index_get(f->l->index, i);
	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->size, len);
	assert_true(e->u.data + len <= f->l->tar_size);
	{
		struct lfs_stream *s = lfs_stream_new(f->l, NULL);

		assert_int_equal(lfs_stream_read(s, buf, len, e->u.data), 0);
		lfs_stream_free(s);
	}
	assert_memory_equal(buf, want, len);
}

/* The whole layer reads back right. */
static void assert_contents(struct fx *f)
{
	const struct lfs_index *ix = f->l->index;
	const struct lfs_index_entry *e;
	gsize blen;
	const void *big = g_bytes_get_data(f->big, &blen);

	assert_non_null(f->l->stored);
	for (size_t i = 0; i < G_N_ELEMENTS(small_files); i++)
		assert_file(f, small_files[i].path, small_files[i].data,
			    strlen(small_files[i].data));
	assert_file(f, "big", big, blen);
	e = lfs_index_get(ix, lfs_index_lookup_path(ix, "link"));
	assert_int_equal(e->type, LFS_T_LNK);
	assert_string_equal(lfs_index_str(ix, e->u.target), "a.txt");
	assert_int_equal(
	    lfs_index_get(ix, lfs_index_lookup_path(ix, "dir"))->type,
	    LFS_T_DIR);
	/* root, a.txt, big, dir, dir/b.txt, dir/empty, link */
	assert_int_equal(ix->nentries, 7);
}

static guint count_names(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;

	assert_non_null(d);
	while (g_dir_read_name(d))
		n++;
	return n;
}

static void check_form(struct fx *f, enum form form, enum lfs_compression comp)
{
	form_spec(f, form);
	open_ok(f, true);
	assert_int_equal(f->l->comp, comp);
	assert_int_equal(f->l->dirfd, -1);
	assert_int_equal(f->l->stored_size, g_bytes_get_size(f->stored[form]));
	assert_int_equal(f->l->tar_size, g_bytes_get_size(f->tar));
	assert_contents(f);
	/* Reads need no decompressed copy: nothing is unpacked. */
	{
		g_autofree char *unpacked =
		    g_build_filename(f->cache_dir, "unpacked", NULL);

		assert_int_equal(count_names(unpacked), 0);
	}
}

static void test_plain_tar(void **state)
{
	check_form(*state, PLAIN, LFS_COMP_NONE);
}

static void test_gzip_tar(void **state)
{
	check_form(*state, GZIP, LFS_COMP_GZIP);
}

static void test_zstd_tar(void **state)
{
	check_form(*state, ZSTD, LFS_COMP_ZSTD);
}

/* The digest and size of the stored bytes, and the diff_id of the tar,
 * all as promised: fine for every form. */
static void test_expected_digest_and_size(void **state)
{
	struct fx *f = *state;

	for (enum form form = PLAIN; form <= ZSTD; form++) {
		struct lfs_layer_spec *s = form_spec(f, form);

		print_message("# form %d\n", form);
		s->has_digest = true;
		set_digest(&s->digest, f->stored[form]);
		s->size = (int64_t)g_bytes_get_size(f->stored[form]);
		s->has_diff_id = true;
		set_digest(&s->diff_id, f->tar);
		open_ok(f, true);
		assert_contents(f);
	}
}

static void test_wrong_digest(void **state)
{
	struct fx *f = *state;

	for (enum form form = PLAIN; form <= ZSTD; form++) {
		struct lfs_layer_spec *s = form_spec(f, form);
		g_autofree char *want = NULL;

		print_message("# form %d\n", form);
		s->has_digest = true;
		set_digest(&s->digest, f->big);
		want = lfs_digest_to_string(&s->digest);
		open_fails(f, true);
		assert_lfs_error(f->error, EINVAL, NAME, "digest mismatch",
				 want);
		assert_lfs_cause(f->error, LFS_CAUSE_INTEGRITY);
	}
}

static void test_wrong_size(void **state)
{
	struct fx *f = *state;

	for (enum form form = PLAIN; form <= ZSTD; form++) {
		struct lfs_layer_spec *s = form_spec(f, form);
		gsize len = g_bytes_get_size(f->stored[form]);
		g_autofree char *says = g_strdup_printf(
		    "expected %zu bytes, blob has %zu", len + 1, len);

		print_message("# form %d\n", form);
		s->size = (int64_t)len + 1;
		open_fails(f, true);
		assert_lfs_error(f->error, EINVAL, NAME, "size mismatch", says);
	}
}

static void test_wrong_diff_id(void **state)
{
	struct fx *f = *state;
	struct lfs_layer_spec *s = form_spec(f, GZIP);

	s->has_diff_id = true;
	set_digest(&s->diff_id, f->stored[GZIP]);
	open_fails(f, true);
	assert_lfs_error(f->error, EINVAL, NAME, "diff_id mismatch");
}

/* An uncompressed layer's diff_id is checked against the digest of its
 * stored bytes (no second hasher): right passes, wrong fails. */
static void test_plain_diff_id(void **state)
{
	struct fx *f = *state;
	struct lfs_layer_spec *s = form_spec(f, PLAIN);

	s->has_diff_id = true;
	set_digest(&s->diff_id, f->tar);
	open_ok(f, true);
	s = form_spec(f, PLAIN);
	s->has_diff_id = true;
	set_digest(&s->diff_id, f->big);
	open_fails(f, true);
	assert_lfs_error(f->error, EINVAL, NAME, "diff_id mismatch");
}

/* The layer's digest is that of its stored bytes, the same from the pass
 * and from the persisted index. */
static void assert_layer_digest(struct fx *f, GBytes *stored)
{
	g_autofree char *want = fx_sha256(stored);
	g_autofree char *got = NULL;

	assert_true(f->l->has_digest);
	got = lfs_digest_to_string(&f->l->digest);
	assert_string_equal(got, want);
}

/* A source that promises no digest (a --layer file, a docker-archive
 * member named by no digest) still gets one: sha256 of the stored bytes,
 * computed by the indexing pass and kept in the persisted index. */
static void test_digest_without_promise(void **state)
{
	struct fx *f = *state;

	for (enum form form = PLAIN; form <= ZSTD; form++) {
		print_message("# form %d\n", form);
		form_spec(f, form);
		open_ok(f, false);
		assert_layer_digest(f, f->stored[form]);
		open_ok(f, true);
		assert_false(f->l->loaded);
		assert_layer_digest(f, f->stored[form]);
		open_ok(f, true);
		assert_true(f->l->loaded);
		assert_layer_digest(f, f->stored[form]);
	}
	/* With a diff_id to check too (docker-archive). */
	form_spec(f, GZIP)->has_diff_id = true;
	set_digest(&f->spec->diff_id, f->tar);
	open_ok(f, false);
	assert_layer_digest(f, f->stored[GZIP]);
}

/* A persisted index that records no digest of the stored bytes cannot say
 * what the layer's digest is: it is not used, and the layer is indexed
 * (and the index saved) again. */
static void test_index_without_digest(void **state)
{
	struct fx *f = *state;
	g_autofree char *name = NULL;
	struct lfs_index_meta m;
	struct lfs_index *ix = NULL;
	const char *why = NULL;
	int dirfd = lfs_cache_index_dir(f->cache);

	form_spec(f, ZSTD);
	open_ok(f, true);
	name = g_strdup_printf("%s.idx", f->l->cache_key);
	assert_int_equal(lfs_index_file_load(dirfd, name, &ix, &m, &why), 0);
	m.has_digest = false;
	assert_int_equal(lfs_index_file_write(dirfd, name, ix, &m), 0);
	lfs_index_free(ix);
	open_ok(f, true);
	assert_false(f->l->loaded);
	assert_true(fx_log_has(&f->log, "records no digest"));
	assert_layer_digest(f, f->stored[ZSTD]);
	open_ok(f, true);
	assert_true(f->l->loaded);
	assert_layer_digest(f, f->stored[ZSTD]);
}

/* Damage in the middle of the gzip stream stops the layer. */
static void test_corrupt_gzip_middle(void **state)
{
	struct fx *f = *state;
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(g_bytes_ref(f->stored[GZIP]), &len);
	g_autoptr(GBytes) stored = NULL;

	memset(bad + len / 2, 0xff, 64);
	stored = g_bytes_new_take(bad, len);
	tar_spec(f, "bad.tar.gz", stored);
	open_fails(f, true);
	assert_lfs_error(f->error, EIO, NAME, "corrupt gzip");
}

static void test_truncated_gzip(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) cut = g_bytes_new_from_bytes(
	    f->stored[GZIP], 0, g_bytes_get_size(f->stored[GZIP]) / 2);

	tar_spec(f, "cut.tar.gz", cut);
	open_fails(f, true);
	assert_lfs_error(f->error, EIO, NAME, "truncated");
}

/* Cancelled from outside (another layer of the mount failed) after the
 * tar's end but while the rest of the stream is still being read for its
 * digest: the error says "cancelled" with ECANCELED, so the mount reports
 * the layer that really failed rather than this one.
 *
 * The cancellation is set from the progress report, and when that comes
 * depends on the read-ahead thread.  A report is due once per MiB of
 * stored bytes read, counted where the read-ahead is: while the scan holds
 * 1 MiB chunk k, chunks up to k + 3 may be read already (a ring of 4).  So
 * with a small tar and a random tail, the only report could come before
 * the scan saw a member (using up the MiB), or after the read-ahead met
 * the end (nothing left to cancel), and the layer opened fine.  The
 * stream is laid out for the timing not to matter:
 *   chunks 0-3  the tar, then zeros: far less than 1 MiB stored, so no
 *               report comes while the scan holds chunk 0, which has the
 *               whole tar, end marker included;
 *   chunks 4-8  random bytes: stored bytes pass 1 MiB in chunk 4, so the
 *               first report comes at the latest when the scan takes it;
 *               the read-ahead has then read at most up to chunk 7, and
 *               its next read (chunk 8, or the end) sees the stop. */
#define MIB (1u << 20)
#define DRAIN_ZEROS_END (4 * MIB)
#define DRAIN_END (9 * MIB)

struct drain_stop {
	gint stop;
	unsigned int reports;
	uint64_t entries; /* members indexed at the first report */
};

static void stop_on_progress(void *ctx, const struct lfs_layer_spec *spec,
			     const struct lfs_layer_progress *p)
{
	struct drain_stop *d = ctx;

	(void)spec;
	if (d->reports++ == 0)
		d->entries = p->entries;
	g_atomic_int_set(&d->stop, 1);
}

static void test_cancelled_while_draining(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) tail =
	    fx_noise(DRAIN_END - DRAIN_ZEROS_END, 88172645u, 256);
	gsize tar_len = g_bytes_get_size(f->tar);
	guint8 *plain = g_malloc0(DRAIN_END);
	g_autoptr(GBytes) tar = NULL, stored = NULL;
	struct drain_stop d = { 0 };
	struct lfs_layer_options opts = {
	    .lg = &f->log.lg,
	    .progress = stop_on_progress,
	    .progress_ctx = &d,
	    .stop = &d.stop,
	};

	/* The layout above needs the tar inside the first chunk. */
	assert_true(tar_len < MIB);
	memcpy(plain, g_bytes_get_data(f->tar, NULL), tar_len);
	memcpy(plain + DRAIN_ZEROS_END, g_bytes_get_data(tail, NULL),
	       DRAIN_END - DRAIN_ZEROS_END);
	tar = g_bytes_new_take(plain, DRAIN_END);
	stored = fx_gzip(tar);
	tar_spec(f, "tail.tar.gz", stored);
	assert_false(lfs_layer_open(f->spec, &opts, &f->l, &f->error));
	assert_null(f->l);
	/* Cancelled once every member was indexed: while draining. */
	assert_int_equal(g_atomic_int_get(&d.stop), 1);
	assert_int_equal(d.entries, 6);
	assert_lfs_error(f->error, ECANCELED, NAME, "cancelled");
}

/* A tar cut inside a member's data. */
static void test_truncated_tar(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) cut = g_bytes_new_from_bytes(
	    f->tar, 0, g_bytes_get_size(f->tar) - 100 * 1024);

	tar_spec(f, "cut.tar", cut);
	open_fails(f, true);
	assert_lfs_error(f->error, EIO, NAME);
}

/* A layer that is a byte range of a bigger file (a docker-archive member):
 * offsets are relative to the range, bytes around it are not looked at. */
/* The index is saved in the cache and, on the next open of the same
 * bytes, used as it is (no pass over the layer); a changed blob or a
 * damaged index file is indexed again. */
static void test_persisted_index(void **state)
{
	struct fx *f = *state;
	g_autofree char *idx = NULL;
	struct stat st;
	uint32_t n;

	form_spec(f, GZIP);
	f->spec->has_digest = true;
	set_digest(&f->spec->digest, f->stored[GZIP]);
	open_ok(f, true);
	assert_false(f->l->loaded);
	/* Built now, but served from the saved file's mapping. */
	assert_non_null(f->l->index->map);
	n = f->l->index->nentries;
	assert_true(f->l->index->ncheckpoints > 0);
	idx = g_strdup_printf("%s/index/%s.idx", f->cache_dir,
			      f->l->cache_key);
	assert_true(g_file_test(idx, G_FILE_TEST_IS_REGULAR));
	assert_non_null(strstr(f->l->cache_key, "sha256-"));

	open_ok(f, true);
	assert_true(f->l->loaded);
	assert_int_equal(f->l->index->nentries, n);
	assert_int_equal(f->l->comp, LFS_COMP_GZIP);
	assert_int_equal(f->l->tar_size, g_bytes_get_size(f->tar));
	assert_contents(f);

	/* A damaged index file: noticed, and replaced. */
	assert_int_equal(stat(idx, &st), 0);
	assert_int_equal(truncate(idx, st.st_size - 100), 0);
	fx_log_clear(&f->log);
	fx_log_init(&f->log);
	open_ok(f, true);
	assert_false(f->l->loaded);
	assert_true(fx_log_has(&f->log, "not used (truncated or extended)"));
	open_ok(f, true);
	assert_true(f->l->loaded);

	/* The blob file replaced (same bytes, another file): its digest
	 * checked again, and the index kept, saved under the new file, so
	 * the next mount trusts it at once. */
	form_spec(f, GZIP);
	f->spec->has_digest = true;
	set_digest(&f->spec->digest, f->stored[GZIP]);
	fx_log_clear(&f->log);
	fx_log_init(&f->log);
	f->verify_reports = 0;
	open_ok(f, true);
	assert_true(f->l->loaded);
	assert_true(fx_log_has(&f->log, "digest verified again: index kept"));
	/* ... with its progress, to the last byte. */
	assert_true(f->verify_reports > 0);
	assert_int_equal(f->verified, g_bytes_get_size(f->stored[GZIP]));
	assert_contents(f);
	fx_log_clear(&f->log);
	fx_log_init(&f->log);
	open_ok(f, true);
	assert_true(f->l->loaded);
	assert_false(fx_log_has(&f->log, "digest verified again"));
}

/* span= asked for, and different from a saved index's: the layer is
 * indexed again with it.  Not asked for: any saved index serves. */
static void test_span_asked_indexes_again(void **state)
{
	struct fx *f = *state;
	uint32_t points;

	form_spec(f, GZIP);
	open_ok(f, true);
	assert_false(f->l->loaded);
	points = f->l->index->ncheckpoints;

	f->span = 64u << 10;
	fx_log_clear(&f->log);
	fx_log_init(&f->log);
	open_ok(f, true);
	assert_false(f->l->loaded);
	assert_true(fx_log_has(&f->log, "not the 65536 asked for"));
	assert_true(f->l->index->ncheckpoints > points);
	assert_contents(f);
	open_ok(f, true);
	assert_true(f->l->loaded);

	f->span = 0;
	open_ok(f, true);
	assert_true(f->l->loaded);
	assert_true(f->l->index->ncheckpoints > points);
}

/* An index that cannot be saved (here its directory in the cache is gone:
 * the member log cannot go there either) is built and served in memory,
 * and the layer says why it is not saved, for
 * `layerfs index` to tell (it said only "see above"). */
static void test_unsaved_index_says_why(void **state)
{
	struct fx *f = *state;
	g_autofree char *index_dir = g_build_filename(f->cache_dir, "index",
						      NULL);
	g_autofree char *want = g_strdup_printf("cannot write it in %s: ",
						f->cache_dir);

	form_spec(f, PLAIN);
	fx_rmtree(index_dir);
	open_ok(f, true);
	assert_false(f->l->loaded);
	assert_non_null(f->l->unsaved);
	/* Then the reason the file system gave. */
	if (!g_str_has_prefix(f->l->unsaved, want) ||
	    strlen(f->l->unsaved) <= strlen(want))
		fail_msg("unsaved: %s", f->l->unsaved);
	assert_true(fx_log_has(&f->log, "cannot save its index"));
	assert_contents(f);
}

/* Without a digest, the key names the file; a changed file gets a new
 * one. */
static void test_local_key(void **state)
{
	struct fx *f = *state;
	g_autofree char *key = NULL;

	form_spec(f, ZSTD);
	open_ok(f, true);
	key = g_strdup(f->l->cache_key);
	assert_true(g_str_has_prefix(key, "local-"));
	open_ok(f, true);
	assert_true(f->l->loaded);
	form_spec(f, ZSTD); /* written again: a new inode and mtime */
	open_ok(f, true);
	assert_false(f->l->loaded);
	assert_string_not_equal(f->l->cache_key, key);
	assert_contents(f);
}

static void test_byte_range_in_bigger_file(void **state)
{
	struct fx *f = *state;

	for (enum form form = PLAIN; form <= GZIP; form++) {
		GByteArray *arr = g_byte_array_new();
		g_autoptr(GBytes) outer = NULL;
		g_autofree char *before = g_strnfill(1000, 'x');
		g_autofree char *after = g_strnfill(333, 'y');
		struct lfs_layer_spec *s;

		print_message("# form %d\n", form);
		g_byte_array_append(arr, (const guint8 *)before, 1000);
		g_byte_array_append(arr,
				    g_bytes_get_data(f->stored[form], NULL),
				    (guint)g_bytes_get_size(f->stored[form]));
		g_byte_array_append(arr, (const guint8 *)after, 333);
		outer = g_byte_array_free_to_bytes(arr);
		s = tar_spec(f, "outer.tar", outer);
		s->offset = 1000;
		s->length = g_bytes_get_size(f->stored[form]);
		s->size = (int64_t)s->length;
		s->has_digest = true;
		set_digest(&s->digest, f->stored[form]);
		open_ok(f, true);
		assert_int_equal(f->l->stored_size, s->length);
		assert_int_equal(f->l->tar_size, g_bytes_get_size(f->tar));
		assert_contents(f);
	}
}

/* Layers with no members: an empty file, a bare end-of-archive marker,
 * and that marker gzipped.  Each indexes to the root alone. */
static void test_empty_layers(void **state)
{
	struct fx *f = *state;
	g_autofree char *zeros = g_malloc0(1024);
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
	g_autoptr(GBytes) marker = g_bytes_new(zeros, 1024);
	g_autoptr(GBytes) gz = fx_gzip(marker);
	GBytes *layers[] = {empty, marker, gz};

	for (size_t i = 0; i < G_N_ELEMENTS(layers); i++) {
		print_message("# layer %zu\n", i);
		tar_spec(f, "empty.tar", layers[i]);
		open_ok(f, true);
		assert_int_equal(f->l->index->nentries, 1);
		assert_int_equal(lfs_index_get(f->l->index, 0)->type,
				 LFS_T_DIR);
		assert_int_equal(f->l->stored_size,
				 g_bytes_get_size(layers[i]));
	}
}

static void test_range_past_end_of_file(void **state)
{
	struct fx *f = *state;
	struct lfs_layer_spec *s = form_spec(f, PLAIN);

	s->offset = 512;
	s->length = g_bytes_get_size(f->tar);
	open_fails(f, true);
	assert_lfs_error(f->error, EINVAL, NAME,
			 "the file is shorter than the layer");
}

/* Without a cache: every index is built, nothing is saved, and every
 * form still reads back right (compressed ones through access points). */
static void test_without_cache(void **state)
{
	struct fx *f = *state;

	form_spec(f, GZIP);
	open_ok(f, false);
	assert_null(f->l->cache_key);
	assert_int_equal(f->l->comp, LFS_COMP_GZIP);
	assert_int_equal(f->l->index->nentries, 7);
	assert_int_equal(f->l->tar_size, g_bytes_get_size(f->tar));
	assert_contents(f);
	form_spec(f, ZSTD);
	open_ok(f, false);
	assert_contents(f);
	form_spec(f, PLAIN);
	open_ok(f, false);
	assert_contents(f);
}

static void test_declared_compression_contradicted(void **state)
{
	struct fx *f = *state;

	form_spec(f, PLAIN)->compression = LFS_COMP_GZIP;
	open_fails(f, true);
	assert_lfs_error(f->error, EINVAL, NAME, "media type says gzip");
}

static void test_refused_compressor(void **state)
{
	static const unsigned char xz[] = {0xfd, '7', 'z', 'X',	 'Z',
					   0,	 0,   4,   0xe6, 0xd6};
	struct fx *f = *state;
	g_autoptr(GBytes) stored = g_bytes_new(xz, sizeof(xz));

	tar_spec(f, "layer.tar.xz", stored);
	open_fails(f, true);
	assert_lfs_error(f->error, ENOTSUP, NAME, "xz");
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *nope = g_build_filename(f->dir, "nope.tar", NULL);

	f->spec = lfs_layer_spec_new(LFS_LAYER_TAR, nope, NAME);
	open_fails(f, true);
	assert_lfs_error(f->error, ENOENT, NAME, nope);
}

/* ---- directory layers -------------------------------------------------- */

static void dir_layer(struct fx *f)
{
	g_autofree char *root = g_build_filename(f->dir, "dirlayer", NULL);

	g_free(fx_write_str(root, "sub/deep/f", "dir data"));
	g_free(fx_write_str(root, "top", "top data"));
	g_free(fx_write_str(f->dir, "elsewhere/deep/f", "other data"));
	g_free(fx_write_str(f->dir, "elsewhere/top", "other top"));
	lfs_layer_spec_free(f->spec);
	f->spec = lfs_layer_spec_new(LFS_LAYER_DIR, root, NAME);
	open_ok(f, true);
}

static uint32_t lookup(struct fx *f, const char *path)
{
	uint32_t i = lfs_index_lookup_path(f->l->index, path);

	if (i == LFS_INDEX_NONE)
		fail_msg("no entry \"%s\"", path);
	return i;
}

static void assert_fd_reads(int fd, const char *want)
{
	char buf[64] = {0};

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), strlen(want));
	assert_string_equal(buf, want);
	close(fd);
}

static void test_dir_layer_open_file(void **state)
{
	struct fx *f = *state;

	dir_layer(f);
	assert_null(f->l->stored);
	assert_true(f->l->dirfd >= 0);
	assert_int_equal(
	    lfs_index_get(f->l->index, lookup(f, "sub/deep/f"))->size, 8);
	assert_fd_reads(lfs_layer_open_file(f->l, lookup(f, "sub/deep/f")),
			"dir data");
	assert_fd_reads(lfs_layer_open_file(f->l, lookup(f, "top")),
			"top data");
}

/* A directory on the path swapped for a symlink after indexing: refused,
 * even though the link leads to a file of the same name. */
static void test_dir_layer_refuses_swapped_parent(void **state)
{
	struct fx *f = *state;
	g_autofree char *sub = NULL, *moved = NULL, *other = NULL;
	uint32_t i;

	dir_layer(f);
	i = lookup(f, "sub/deep/f");
	sub = g_build_filename(f->spec->path, "sub", NULL);
	moved = g_build_filename(f->dir, "sub.moved", NULL);
	other = g_build_filename(f->dir, "elsewhere", NULL);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(symlink(other, sub), 0);
	assert_int_equal(lfs_layer_open_file(f->l, i), -ELOOP);
}

/* The same for the final component. */
static void test_dir_layer_refuses_swapped_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *top = NULL, *other = NULL;
	uint32_t i;

	dir_layer(f);
	i = lookup(f, "top");
	top = g_build_filename(f->spec->path, "top", NULL);
	other = g_build_filename(f->dir, "elsewhere", "top", NULL);
	assert_int_equal(unlink(top), 0);
	assert_int_equal(symlink(other, top), 0);
	assert_int_equal(lfs_layer_open_file(f->l, i), -ELOOP);
}

/* Even a relative link that stays inside the layer is refused. */
/* A FIFO or a device put in an indexed file's place is refused at once:
 * opening must neither block on the FIFO nor read the device. */
static void test_dir_layer_refuses_non_files(void **state)
{
	struct fx *f = *state;
	g_autofree char *top = NULL;
	uint32_t i;

	dir_layer(f);
	i = lookup(f, "top");
	top = g_build_filename(f->spec->path, "top", NULL);
	assert_int_equal(unlink(top), 0);
	assert_int_equal(mkfifo(top, 0644), 0);
	assert_int_equal(lfs_layer_open_file(f->l, i), -ESTALE);
	assert_int_equal(unlink(top), 0);
	assert_int_equal(mknod(top, S_IFCHR | 0644, makedev(1, 9)), 0);
	assert_int_equal(lfs_layer_open_file(f->l, i), -ESTALE);
}

static void test_dir_layer_refuses_inner_symlink(void **state)
{
	struct fx *f = *state;
	g_autofree char *sub = NULL, *moved = NULL;
	uint32_t i;

	dir_layer(f);
	i = lookup(f, "sub/deep/f");
	sub = g_build_filename(f->spec->path, "sub", NULL);
	moved = g_build_filename(f->spec->path, "sub2", NULL);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(symlink("sub2", sub), 0);
	assert_int_equal(lfs_layer_open_file(f->l, i), -ELOOP);
}

static void test_tar_layer_has_no_files_to_open(void **state)
{
	struct fx *f = *state;

	form_spec(f, PLAIN);
	open_ok(f, true);
	assert_int_equal(lfs_layer_open_file(f->l, lookup(f, "a.txt")),
			 -EINVAL);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_plain_tar),
	    FT(test_gzip_tar),
	    FT(test_zstd_tar),
	    FT(test_expected_digest_and_size),
	    FT(test_wrong_digest),
	    FT(test_wrong_size),
	    FT(test_wrong_diff_id),
	    FT(test_plain_diff_id),
	    FT(test_digest_without_promise),
	    FT(test_index_without_digest),
	    FT(test_corrupt_gzip_middle),
	    FT(test_truncated_gzip),
	    FT(test_truncated_tar),
	    FT(test_cancelled_while_draining),
	    FT(test_persisted_index),
	    FT(test_span_asked_indexes_again),
	    FT(test_local_key),
	    FT(test_byte_range_in_bigger_file),
	    FT(test_empty_layers),
	    FT(test_range_past_end_of_file),
	    FT(test_without_cache),
	    FT(test_unsaved_index_says_why),
	    FT(test_declared_compression_contradicted),
	    FT(test_refused_compressor),
	    FT(test_missing_file),
	    FT(test_dir_layer_open_file),
	    FT(test_dir_layer_refuses_swapped_parent),
	    FT(test_dir_layer_refuses_swapped_file),
	    FT(test_dir_layer_refuses_non_files),
	    FT(test_dir_layer_refuses_inner_symlink),
	    FT(test_tar_layer_has_no_files_to_open),
	};

	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
