/* Unit tests for io/read.c: lfs_read_entry() on plain entries at various
 * offsets and lengths, on sparse entries (holes read as zeros, data runs
 * exact, reads across every hole/data boundary) written by libarchive
 * (pax 1.0) and by GNU tar in each of its sparse formats, plain and
 * gzipped, on directory layer files, and -ENODATA when the data is shorter than the index says;
 * lfs_read_map() placing the same bytes in a plain file, or saying it
 * cannot (compressed layers, reads that touch a hole). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/read.h"

#include "asserts.h"
#include "fixtures.h"

#define F_SIZE 1000
#define SP_SIZE (1u << 20)

struct fx {
	char *dir;
	struct lfs_cache *cache;
	struct lfs_layer_spec *spec;
	struct lfs_layer *l;
	struct lfs_stream *s; /* reads of f->l */
	guint8 f[F_SIZE]; /* content of the plain file "f" */
	guint8 *sp;	  /* SP_SIZE bytes: the sparse file's content */
	GError *error;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	g_autofree char *cdir = NULL;

	f->dir = fx_tmpdir();
	cdir = g_build_filename(f->dir, "cache", NULL);
	if (!lfs_cache_open(cdir, &f->cache, &f->error))
		return -1;
	for (size_t i = 0; i < F_SIZE; i++)
		f->f[i] = (guint8)(i % 251 + 1);
	/* The sparse file pax_sparse_layer() holds. */
	f->sp = g_malloc0(SP_SIZE);
	memcpy(f->sp + 4096, "HELLO", 5);
	memcpy(f->sp + 300000, "MIDDLE", 6);
	memcpy(f->sp + SP_SIZE - 3, "END", 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_stream_free(f->s);
	lfs_layer_free(f->l);
	lfs_layer_spec_free(f->spec);
	lfs_cache_free(f->cache);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->sp);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

static void open_layer(struct fx *f, enum lfs_layer_kind kind, const char *path,
		       bool with_cache)
{
	struct lfs_layer_options opts = {.cache = with_cache ? f->cache : NULL};

	f->spec = lfs_layer_spec_new(kind, path, "read-test layer");
	assert_lfs_ok(lfs_layer_open(f->spec, &opts, &f->l, &f->error),
		      &f->error);
	f->s = lfs_stream_new(f->l, NULL);
}

/* A plain tar holding "f", "empty", "dir" and "link", read in place. */
static char *plain_layer(struct fx *f)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry e = {
	    .path = "f", .data = (const char *)f->f, .len = F_SIZE};
	struct fx_entry empty = {.path = "empty", .data = ""};
	struct fx_entry link = {.path = "link", .type = AE_IFLNK, .link = "f"};
	g_autoptr(GBytes) tar = NULL;
	char *path;

	fx_tar_add(t, &e);
	fx_tar_add(t, &empty);
	fx_tar_dir(t, "dir");
	fx_tar_add(t, &link);
	tar = fx_tar_finish(t);
	path = fx_write(f->dir, "plain.tar", tar);
	open_layer(f, LFS_LAYER_TAR, path, false);
	return path;
}

static uint32_t lookup(struct fx *f, const char *path)
{
	uint32_t i = lfs_index_lookup_path(f->l->index, path);

	if (i == LFS_INDEX_NONE)
		fail_msg("no entry \"%s\"", path);
	return i;
}

struct range_case {
	uint64_t off;
	size_t len;
	ssize_t want; /* bytes returned */
};

static const struct range_case plain_reads[] = {
    {0, F_SIZE, F_SIZE}, {0, 10, 10},
    {500, 100, 100},	 {999, 1, 1},
    {990, 100, 10},	 {0, 5000, F_SIZE},
    {F_SIZE, 10, 0},	 {5000, 10, 0},
    {0, 0, 0},		 {UINT64_MAX - 1, 10, 0},
};

static void test_plain_offsets_and_lengths(void **state)
{
	struct fx *f = *state;
	/* Written for the reads below; only freed here. */
	g_autofree char *path G_GNUC_UNUSED = plain_layer(f);
	uint32_t i = lookup(f, "f");
	guint8 buf[5000 + 1];

	for (size_t k = 0; k < G_N_ELEMENTS(plain_reads); k++) {
		const struct range_case *c = &plain_reads[k];

		print_message("# off %llu len %zu\n",
			      (unsigned long long)c->off, c->len);
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(
		    lfs_read_entry(f->s, i, -1, buf, c->len, c->off), c->want);
		if (c->want > 0)
			assert_memory_equal(buf, f->f + c->off,
					    (size_t)c->want);
		/* Nothing written past what was returned. */
		assert_int_equal(buf[c->want], 0xee);
	}
}

static void test_empty_file(void **state)
{
	struct fx *f = *state;
	/* Written for the reads below; only freed here. */
	g_autofree char *path G_GNUC_UNUSED = plain_layer(f);
	guint8 buf[4];

	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "empty"), -1, buf, sizeof(buf), 0),
	    0);
}

static void test_not_a_regular_file(void **state)
{
	struct fx *f = *state;
	/* Written for the reads below; only freed here. */
	g_autofree char *path G_GNUC_UNUSED = plain_layer(f);
	guint8 buf[4];

	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "dir"), -1, buf, sizeof(buf), 0),
	    -EINVAL);
	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "link"), -1, buf, sizeof(buf), 0),
	    -EINVAL);
}

/* The tar shrank after indexing: the layer's file is no longer the one
 * indexed, so no read of it is served, never short or padded: not even
 * one before the cut, as nothing says what else changed.  (Reads past
 * the data a stream holds are -ENODATA: test_stream.c.) */
static void test_truncated_blob_is_eio(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = plain_layer(f);
	uint32_t i = lookup(f, "f");
	const struct lfs_index_entry *e = lfs_index_get(f->l->index, i);
	guint8 buf[F_SIZE];

	assert_int_equal(lfs_read_entry(f->s, i, -1, buf, 50, 0), 50);
	assert_int_equal(truncate(path, (off_t)(e->u.data + 100)), 0);
	assert_int_equal(lfs_read_entry(f->s, i, -1, buf, 50, 0), -ESTALE);
	assert_int_equal(lfs_read_entry(f->s, i, -1, buf, F_SIZE, 0), -ESTALE);
	assert_int_equal(lfs_read_errno(-ESTALE), -EIO);
}

/* A compressed layer indexed without a cache is read through its access
 * points: nothing needs a decompressed copy. */
static void test_compressed_without_cache(void **state)
{
	struct fx *f = *state;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) tar = NULL, gz = NULL;
	g_autofree char *path = NULL;
	guint8 buf[4];

	fx_tar_file(t, "x", "data");
	tar = fx_tar_finish(t);
	gz = fx_gzip(tar);
	path = fx_write(f->dir, "x.tar.gz", gz);
	open_layer(f, LFS_LAYER_TAR, path, false);
	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "x"), -1, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "data", 4);
}

/* ---- sparse files ------------------------------------------------------ */

/* A pax sparse member from the fixtures' writer (libarchive's, pax 1.0):
 * 1 MiB holding HELLO, MIDDLE and END. */
static char *pax_sparse_layer(struct fx *f)
{
	static const uint64_t map[] = {4096,	    5, 300000, 6,
				       SP_SIZE - 3, 3, 0,      0};
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry e = {.path = "sp",
			     .data = (const char *)f->sp,
			     .len = SP_SIZE,
			     .sparse = map};
	g_autoptr(GBytes) tar = NULL;
	char *path;

	fx_tar_add(t, &e);
	fx_tar_file(t, "plain", "plain\n");
	tar = fx_tar_finish(t);
	/* Holes are not stored. */
	assert_true(g_bytes_get_size(tar) < 16 * 1024);
	path = fx_write(f->dir, "sparse.tar", tar);
	open_layer(f, LFS_LAYER_TAR, path, false);
	return path;
}

/* Read the whole sparse file in @chunk-sized pieces; compare. */
static void assert_sparse_content(struct fx *f, uint32_t i, size_t chunk)
{
	g_autofree guint8 *buf = g_malloc(chunk);

	for (uint64_t off = 0; off < SP_SIZE; off += chunk) {
		size_t want = MIN(chunk, SP_SIZE - off);
		ssize_t n = lfs_read_entry(f->s, i, -1, buf, chunk, off);

		if (n != (ssize_t)want || memcmp(buf, f->sp + off, want) != 0)
			fail_msg("sparse read at %llu (chunk %zu): got %zd "
				 "bytes, or wrong bytes",
				 (unsigned long long)off, chunk, n);
	}
}

static const struct range_case sparse_reads[] = {
    {0, 4096, 4096},				 /* a hole only */
    {4096, 5, 5},				 /* exactly the data */
    {4090, 20, 20},				 /* hole, data, hole */
    {4093, 4, 4},				 /* hole into data */
    {4099, 10, 10},				 /* data into hole */
    {299990, 30, 30},				 /* around MIDDLE */
    {300003, 100, 100},				 /* its tail */
    {SP_SIZE - 10, 10, 10},			 /* hole into END */
    {SP_SIZE - 2, 100, 2},			 /* clamped at the end */
    {SP_SIZE, 10, 0},	    {0, 400000, 400000}, /* several runs at once */
};

static void check_sparse(struct fx *f)
{
	uint32_t i = lookup(f, "sp");
	const struct lfs_index_entry *e = lfs_index_get(f->l->index, i);
	g_autofree guint8 *buf = g_malloc(400000 + 16);
	guint8 pbuf[16] = {0};

	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->flags & LFS_E_SPARSE, LFS_E_SPARSE);
	assert_int_equal(e->size, SP_SIZE);
	for (size_t k = 0; k < G_N_ELEMENTS(sparse_reads); k++) {
		const struct range_case *c = &sparse_reads[k];

		print_message("# off %llu len %zu\n",
			      (unsigned long long)c->off, c->len);
		memset(buf, 0xee, c->len);
		assert_int_equal(
		    lfs_read_entry(f->s, i, -1, buf, c->len, c->off), c->want);
		if (c->want > 0)
			assert_memory_equal(buf, f->sp + c->off,
					    (size_t)c->want);
	}
	assert_sparse_content(f, i, 65536);
	assert_sparse_content(f, i, 4099);
	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "plain"), -1, pbuf, sizeof(pbuf), 0),
	    6);
	assert_string_equal((char *)pbuf, "plain\n");
}

static void test_sparse_pax_from_fixtures(void **state)
{
	struct fx *f = *state;
	/* Written for the reads below; only freed here. */
	g_autofree char *path G_GNUC_UNUSED = pax_sparse_layer(f);

	check_sparse(f);
}

static void close_layer(struct fx *f)
{
	g_clear_pointer(&f->s, lfs_stream_free);
	g_clear_pointer(&f->l, lfs_layer_free);
	g_clear_pointer(&f->spec, lfs_layer_spec_free);
}

/* A read of [@off, @off + @len) of entry @i gives the bytes of @sp there,
 * up to its end, and writes nothing past them. */
static void assert_reads(struct fx *f, uint32_t i, const struct fx_sparse *sp,
			 uint64_t off, size_t len)
{
	g_autofree guint8 *buf = g_malloc(len + 1);
	g_autofree guint8 *want = g_malloc0(len);
	size_t nwant = off >= sp->size ? 0 : (size_t)MIN(len, sp->size - off);
	ssize_t n;

	for (size_t k = 0; k < sp->nruns; k++) {
		uint64_t from = MAX(off, sp->runs[k].off);
		uint64_t to = MIN(off + nwant, sp->runs[k].off + sp->runs[k].len);

		for (uint64_t x = from; x < to; x++)
			want[x - off] = fx_sparse_byte(x);
	}
	memset(buf, 0xee, len + 1);
	n = lfs_read_entry(f->s, i, -1, buf, len, off);
	if (n != (ssize_t)nwant || memcmp(buf, want, nwant) != 0 ||
	    buf[nwant] != 0xee)
		fail_msg("%s: read of %zu at %llu: got %zd bytes (want %zu), "
			 "or wrong bytes",
			 sp->name, len, (unsigned long long)off, n, nwant);
}

/* Reads of the hole [@from, @to): whole, or its first and last 64 KiB
 * when it is too big to read at once. */
static void assert_reads_hole(struct fx *f, uint32_t i,
			      const struct fx_sparse *sp, uint64_t from,
			      uint64_t to)
{
	if (to - from <= (1u << 20)) {
		assert_reads(f, i, sp, from, to - from);
		return;
	}
	assert_reads(f, i, sp, from, 65536);
	assert_reads(f, i, sp, to - 65536, 65536);
}

/* Reads around each run of @sp: with a byte of hole on either side, each
 * boundary alone, and each hole alone. */
static void assert_reads_around_runs(struct fx *f, uint32_t i,
				     const struct fx_sparse *sp)
{
	uint64_t hole = 0; /* where the hole before run k starts */

	for (size_t k = 0; k < sp->nruns; k++) {
		uint64_t off = sp->runs[k].off;
		uint64_t end = off + sp->runs[k].len;
		uint64_t lo = off ? off - 1 : 0;

		assert_reads(f, i, sp, lo, end + 1 - lo);
		assert_reads(f, i, sp, lo, 2);
		assert_reads(f, i, sp, end - 1, 2);
		if (off > hole)
			assert_reads_hole(f, i, sp, hole, off);
		hole = end;
	}
	if (sp->size > hole)
		assert_reads_hole(f, i, sp, hole, sp->size);
}

/* Reads across every hole and data run of the GNU tar fixtures' files:
 * each run with a byte of hole on either side, each boundary alone, each
 * hole alone, the whole file at once and in odd pieces. */
static void check_gnu_sparse_reads(struct fx *f)
{
	size_t n;
	const struct fx_sparse *sps = fx_sparse_files(&n);
	guint8 pbuf[16] = {0};

	for (size_t j = 0; j < n; j++) {
		const struct fx_sparse *sp = &sps[j];
		uint32_t i = lookup(f, sp->name);

		assert_true(lfs_index_get(f->l->index, i)->flags &
			    LFS_E_SPARSE);
		assert_reads_around_runs(f, i, sp);
		assert_reads(f, i, sp, 0, sp->size + 10);
		for (uint64_t off = 0; off < sp->size; off += 4099)
			assert_reads(f, i, sp, off, 4099);
		for (uint64_t off = 0; off < sp->size; off += 65536)
			assert_reads(f, i, sp, off, 65536);
	}
	assert_int_equal(
	    lfs_read_entry(f->s, lookup(f, "plain"), -1, pbuf, sizeof(pbuf), 0),
	    6);
	assert_string_equal((char *)pbuf, "plain\n");
}

/* GNU tar's sparse formats (old GNU with extension blocks, pax 0.0, 0.1
 * and 1.0), each read in place and through gzip access points. */
static void test_sparse_gnu_tar(void **state)
{
	static const enum fx_gnu_sparse kinds[] = {
	    FX_GNU_OLD, FX_GNU_PAX_00, FX_GNU_PAX_01, FX_GNU_PAX_10};
	struct fx *f = *state;

	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		size_t n;
		const struct fx_sparse *sps = fx_sparse_files(&n);
		g_autoptr(GBytes) tar =
		    fx_gnu_sparse_tar(kinds[k], sps, n, false);

		if (!tar)
			skip();
		for (int gz = 0; gz <= 1; gz++) {
			g_autoptr(GBytes) blob =
			    gz ? fx_gzip(tar) : g_bytes_ref(tar);
			g_autofree char *name = g_strdup_printf(
			    "gnu-%d.tar%s", kinds[k], gz ? ".gz" : "");
			g_autofree char *path = fx_write(f->dir, name, blob);

			print_message("# %s%s\n", fx_gnu_sparse_name(kinds[k]),
				      gz ? ", gzip" : "");
			open_layer(f, LFS_LAYER_TAR, path, false);
			check_gnu_sparse_reads(f);
			close_layer(f);
		}
	}
}

/* Holes cost nothing: a 1 TiB member with 2 MiB of data at its start, at
 * 2^39 and at its end, archived by GNU tar (holes found with SEEK_HOLE) in
 * each format, is a tar of a few MiB whose index holds three extents, and
 * reads there and in the holes between give the data and zeros. */
static void test_sparse_1tib(void **state)
{
	static const enum fx_gnu_sparse kinds[] = {
	    FX_GNU_OLD, FX_GNU_PAX_00, FX_GNU_PAX_01, FX_GNU_PAX_10};
	static const struct fx_run runs[] = {
	    {0, 2u << 20},
	    {1ull << 39, 2u << 20},
	    {(1ull << 40) - (2u << 20), 2u << 20},
	};
	static const struct fx_sparse big = {"big", 1ull << 40, runs, 3};
	struct fx *f = *state;

	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		g_autoptr(GBytes) tar =
		    fx_gnu_sparse_tar(kinds[k], &big, 1, true);
		g_autofree char *name = NULL, *path = NULL;
		const struct lfs_index_entry *e;
		const struct lfs_index_extent *x;
		uint32_t i;

		if (!tar)
			skip();
		print_message("# %s\n", fx_gnu_sparse_name(kinds[k]));
		assert_true(g_bytes_get_size(tar) < (8u << 20));
		name = g_strdup_printf("big-%d.tar", kinds[k]);
		path = fx_write(f->dir, name, tar);
		open_layer(f, LFS_LAYER_TAR, path, false);
		i = lookup(f, "big");
		e = lfs_index_get(f->l->index, i);
		assert_true(e->flags & LFS_E_SPARSE);
		assert_true(e->size == 1ull << 40);
		assert_int_equal(e->u.ext.count, 3);
		x = &f->l->index->extents[e->u.ext.first];
		for (size_t r = 0; r < 3; r++) {
			assert_true(x[r].logical == runs[r].off);
			assert_int_equal(x[r].len, runs[r].len);
		}
		assert_reads_around_runs(f, i, &big);
		assert_reads(f, i, &big, 4096, 65536);
		assert_reads(f, i, &big, 1ull << 38, 131072);
		assert_reads(f, i, &big, (1ull << 39) - 100, 200);
		assert_reads(f, i, &big, (1ull << 39) + (2u << 20) - 100, 200);
		assert_reads(f, i, &big, (1ull << 40) - 10, 100);
		close_layer(f);
	}
}

/* A sparse member's data runs missing from a truncated blob: the layer
 * changed, so reads that need its data fail; holes need none. */
static void test_sparse_truncated_is_eio(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = pax_sparse_layer(f);
	uint32_t i = lookup(f, "sp");
	const struct lfs_index_entry *e = lfs_index_get(f->l->index, i);
	const struct lfs_index_extent *last =
	    &f->l->index->extents[e->u.ext.first + e->u.ext.count - 1];
	guint8 buf[16];

	assert_true(e->u.ext.count >= 1);
	assert_int_equal(last->logical + last->len, SP_SIZE);
	assert_int_equal(truncate(path, (off_t)last->physical), 0);
	assert_int_equal(lfs_read_entry(f->s, i, -1, buf, 3, SP_SIZE - 3),
			 -ESTALE);
}

/* ---- directory layers -------------------------------------------------- */

/* A directory layer holding "sub/f": its real path in *@file (g_free),
 * its entry in *@i; returns the file open, as lfs_fs_open() has it. */
static int dir_layer(struct fx *f, char **file, uint32_t *i)
{
	g_autofree char *root = g_build_filename(f->dir, "dirlayer", NULL);
	g_autoptr(GBytes) content = g_bytes_new(f->f, F_SIZE);
	int fd;

	*file = fx_write(root, "sub/f", content);
	open_layer(f, LFS_LAYER_DIR, root, true);
	*i = lookup(f, "sub/f");
	fd = lfs_layer_open_file(f->l, *i);
	assert_true(fd >= 0);
	return fd;
}

static void test_dir_layer_reads_through_fd(void **state)
{
	struct fx *f = *state;
	g_autofree char *file = NULL;
	uint32_t i;
	guint8 buf[F_SIZE];
	int fd = dir_layer(f, &file, &i);

	assert_int_equal(lfs_read_entry(f->s, i, fd, buf, 100, 900), 100);
	assert_memory_equal(buf, f->f + 900, 100);
	assert_int_equal(lfs_read_entry(f->s, i, fd, buf, 100, 950), 50);
	assert_int_equal(lfs_read_entry(f->s, i, fd, buf, 100, F_SIZE), 0);
	/* The file shrank after indexing: no invented bytes. */
	assert_int_equal(truncate(file, 500), 0);
	assert_int_equal(lfs_read_entry(f->s, i, fd, buf, 100, 450), -ENODATA);
	assert_int_equal(lfs_read_entry(f->s, i, fd, buf, 100, 0), 100);
	close(fd);
}

/* ---- lfs_read_map() ---------------------------------------------------- */

/* lfs_read_map() gives the bytes lfs_read_entry() gives. */
static void assert_map_matches(struct fx *f, uint32_t i, int fd, size_t len,
			       uint64_t off)
{
	g_autofree guint8 *want = g_malloc(len + 1);
	g_autofree guint8 *got = g_malloc(len + 1);
	ssize_t n = lfs_read_entry(f->s, i, fd, want, len, off);
	struct lfs_read_map map;

	print_message("# map off %llu len %zu\n", (unsigned long long)off,
		      len);
	assert_true(n >= 0);
	assert_int_equal(lfs_read_map(f->s, i, fd, len, off, &map), 0);
	assert_int_equal(map.len, (size_t)n);
	if (n == 0)
		return;
	assert_true(map.fd >= 0);
	assert_int_equal(pread(map.fd, got, map.len, (off_t)map.pos), n);
	assert_memory_equal(got, want, (size_t)n);
}

static void test_map_plain(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = plain_layer(f);
	uint32_t i = lookup(f, "f");
	const struct lfs_index_entry *e = lfs_index_get(f->l->index, i);
	struct lfs_read_map map;

	for (size_t k = 0; k < G_N_ELEMENTS(plain_reads); k++)
		assert_map_matches(f, i, -1, plain_reads[k].len,
				   plain_reads[k].off);
	assert_map_matches(f, lookup(f, "empty"), -1, 10, 0);
	assert_int_equal(lfs_read_map(f->s, lookup(f, "link"), -1, 10, 0,
				      &map),
			 -EINVAL);
	/* Cut short since indexing: an error, not a short splice. */
	assert_int_equal(truncate(path, (off_t)(e->u.data + 100)), 0);
	assert_int_equal(lfs_read_map(f->s, i, -1, 100, 50, &map), -ESTALE);
	assert_int_equal(lfs_read_map(f->s, i, -1, 10, 0, &map), -ESTALE);
}

static void test_map_compressed_is_eagain(void **state)
{
	struct fx *f = *state;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) tar = NULL, gz = NULL;
	g_autofree char *path = NULL;
	struct lfs_read_map map;

	fx_tar_file(t, "x", "data");
	tar = fx_tar_finish(t);
	gz = fx_gzip(tar);
	path = fx_write(f->dir, "x.tar.gz", gz);
	open_layer(f, LFS_LAYER_TAR, path, false);
	assert_int_equal(lfs_read_map(f->s, lookup(f, "x"), -1, 4, 0, &map),
			 -EAGAIN);
	/* At the end of the file there is nothing to place. */
	assert_int_equal(lfs_read_map(f->s, lookup(f, "x"), -1, 4, 4, &map),
			 0);
	assert_int_equal(map.len, 0);
}

/* A sparse file's read maps only when one data run holds all of it. */
static void test_map_sparse(void **state)
{
	struct fx *f = *state;
	/* Written for the reads below; only freed here. */
	g_autofree char *path G_GNUC_UNUSED = pax_sparse_layer(f);
	uint32_t i = lookup(f, "sp");
	struct lfs_read_map map;
	static const struct range_case holes[] = {
	    {0, 4096, 0},  {4090, 20, 0}, {4093, 4, 0},
	    {4099, 10, 0}, {0, 400000, 0}, {SP_SIZE - 10, 10, 0},
	};

	assert_map_matches(f, i, -1, 5, 4096);
	assert_map_matches(f, i, -1, 2, 4098);
	assert_map_matches(f, i, -1, 6, 300000);
	assert_map_matches(f, i, -1, 3, SP_SIZE - 3);
	assert_map_matches(f, i, -1, 100, SP_SIZE - 2);
	assert_map_matches(f, i, -1, 10, SP_SIZE);
	for (size_t k = 0; k < G_N_ELEMENTS(holes); k++)
		assert_int_equal(lfs_read_map(f->s, i, -1, holes[k].len,
					      holes[k].off, &map),
				 -EAGAIN);
}

static void test_map_dir_layer(void **state)
{
	struct fx *f = *state;
	g_autofree char *file = NULL;
	struct lfs_read_map map;
	uint32_t i;
	int fd = dir_layer(f, &file, &i);

	assert_map_matches(f, i, fd, 100, 900);
	assert_map_matches(f, i, fd, 100, 950);
	assert_map_matches(f, i, fd, 100, F_SIZE);
	assert_int_equal(truncate(file, 500), 0);
	assert_int_equal(lfs_read_map(f->s, i, fd, 100, 450, &map), -ENODATA);
	assert_map_matches(f, i, fd, 100, 0);
	close(fd);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_plain_offsets_and_lengths),
	    FT(test_empty_file),
	    FT(test_not_a_regular_file),
	    FT(test_truncated_blob_is_eio),
	    FT(test_compressed_without_cache),
	    FT(test_sparse_pax_from_fixtures),
	    FT(test_sparse_gnu_tar),
	    FT(test_sparse_1tib),
	    FT(test_sparse_truncated_is_eio),
	    FT(test_dir_layer_reads_through_fd),
	    FT(test_map_plain),
	    FT(test_map_compressed_is_eagain),
	    FT(test_map_sparse),
	    FT(test_map_dir_layer),
	};

	return cmocka_run_group_tests_name("read", tests, NULL, NULL);
}
