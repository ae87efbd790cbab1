/* layer/index_file.c: the persisted index.  A round trip gives back every
 * array and the metadata; any damage to the file is rejected: every single
 * flipped byte, every truncation, and hostile contents under a valid
 * checksum (the file re-sealed after the edit), each with its reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "fixtures.h"
#include "layerfs/decomp.h"
#include "layerfs/index_file.h"

#define TAR_SIZE (1u << 20)

struct fx {
	char *dir;
	int dirfd;
	struct lfs_index *built;
	struct lfs_index_meta meta;
	GBytes *gz;
};

static struct lfs_scan_entry entry(enum lfs_etype type, uint64_t data,
				   uint64_t size)
{
	struct lfs_scan_entry e = { .type = type, .mode = 0644,
				    .mtime_sec = FX_MTIME, .data = data,
				    .size = size };

	return e;
}

/* An index with every kind of record, and gzip access points. */
static struct lfs_index *make_index(GBytes **gz)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry d = entry(LFS_T_DIR, 0, 0);
	struct lfs_scan_entry f = entry(LFS_T_REG, 512, 100);
	struct lfs_scan_entry sp = entry(LFS_T_REG, 0, 1 << 19);
	struct lfs_scan_entry l = entry(LFS_T_LNK, 0, 0);
	struct lfs_scan_entry h = entry(LFS_T_HARDLINK, 0, 0);
	struct lfs_scan_entry x = entry(LFS_T_HARDLINK, 0, 0);
	struct lfs_scan_xattr xa[] = { { "user.a", "1", 1 },
				       { "user.b", "two", 3 } };
	struct lfs_index_extent ext[] = { { 4096, 2048, 10 },
					  { 65536, 4096, 20 } };
	/* Compressible, with a few points: small windows keep the file small
	 * enough to damage byte by byte. */
	g_autoptr(GBytes) plain = fx_noise(TAR_SIZE, 3, 4);
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(200 << 10);
	struct lfs_index *seek = g_new0(struct lfs_index, 1);
	struct lfs_index *ix;
	uint32_t seek_sums;

	f.xattrs = xa;
	f.nxattrs = 2;
	sp.sparse = true;
	sp.extents = ext;
	sp.nextents = 2;
	l.target = "../target";
	h.target = "etc/f";
	x.target = "lower/file";
	lfs_index_builder_add(b, "etc", &d);
	lfs_index_builder_add(b, "etc/f", &f);
	lfs_index_builder_add(b, "etc/sparse", &sp);
	lfs_index_builder_add(b, "etc/link", &l);
	lfs_index_builder_add(b, "hl", &h);
	lfs_index_builder_add(b, "xl", &x);
	lfs_index_builder_whiteout(b, "gone");
	lfs_index_builder_add(b, "implied/dir/f", &f);

	/* Access points from a real pass over a gzip stream. */
	{
		g_autofree char *dir = fx_tmpdir();
		g_autofree char *path = NULL;
		g_autofree guint8 *buf = g_malloc(1 << 20);
		struct lfs_blob *blob;
		struct lfs_decomp *dc;
		const char *why;

		*gz = fx_gzip(plain);
		path = fx_write(dir, "gz", *gz);
		assert_int_equal(lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF,
						    &blob),
				 0);
		assert_int_equal(lfs_decomp_new(blob, LFS_COMP_GZIP, NULL, &dc,
						&why),
				 0);
		lfs_decomp_record(dc, rec);
		while (lfs_decomp_read(dc, buf, 1 << 20) > 0)
			;
		lfs_decomp_free(dc);
		lfs_blob_close(blob);
		fx_rmtree(dir);
	}
	lfs_seek_recorder_finish(rec, seek);
	lfs_seek_recorder_free(rec);
	seek_sums = seek->nsums;
	assert_true(seek_sums > 0);
	ix = lfs_index_builder_finish_seek(b, NULL, "L", seek);
	lfs_index_builder_free(b);
	lfs_index_free(seek);
	assert_int_equal(ix->nimplicit, 2);
	assert_true(ix->ncheckpoints >= 4);
	assert_int_equal(ix->nsums, seek_sums);
	return ix;
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	f->built = make_index(&f->gz);
	f->meta.blob = (struct lfs_blob_id){ 1, 2, 3, 4, 5, 6, 7 };
	f->meta.stored_size = g_bytes_get_size(f->gz);
	f->meta.tar_size = TAR_SIZE;
	f->meta.compression = LFS_COMP_GZIP;
	f->meta.has_digest = true;
	assert_int_equal(lfs_digest_parse("sha256:"
					  "0123456789abcdef0123456789abcdef"
					  "0123456789abcdef0123456789abcdef",
					  &f->meta.digest),
			 0);
	f->meta.span = 200 << 10;
	assert_int_equal(lfs_index_file_write(f->dirfd, "x.idx", f->built,
					      &f->meta),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_index_free(f->built);
	g_bytes_unref(f->gz);
	close(f->dirfd);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

#define SAME_ARRAY(a, b, field, count)                                        \
	do {                                                                  \
		assert_int_equal((a)->count, (b)->count);                     \
		if ((a)->count)                                               \
			assert_memory_equal((a)->field, (b)->field,           \
					    (a)->count * sizeof(*(a)->field)); \
	} while (0)

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct lfs_index *ix = NULL;
	struct lfs_index_meta meta;
	const char *why;

	assert_int_equal(lfs_index_file_load(f->dirfd, "x.idx", &ix, &meta,
					     &why),
			 0);
	SAME_ARRAY(ix, f->built, entries, nentries);
	SAME_ARRAY(ix, f->built, xattrs, nxattrs);
	SAME_ARRAY(ix, f->built, extents, nextents);
	SAME_ARRAY(ix, f->built, hardlinks, nhardlinks);
	SAME_ARRAY(ix, f->built, checkpoints, ncheckpoints);
	SAME_ARRAY(ix, f->built, frames, nframes);
	SAME_ARRAY(ix, f->built, implicit, nimplicit);
	assert_int_equal(ix->strtab_len, f->built->strtab_len);
	assert_memory_equal(ix->strtab, f->built->strtab, ix->strtab_len);
	assert_int_equal(ix->windows_len, f->built->windows_len);
	assert_memory_equal(ix->windows, f->built->windows, ix->windows_len);
	assert_int_equal(ix->stat_entries, f->built->stat_entries);
	assert_memory_equal(&meta.blob, &f->meta.blob, sizeof(meta.blob));
	assert_int_equal(meta.tar_size, TAR_SIZE);
	assert_int_equal(meta.compression, LFS_COMP_GZIP);
	assert_true(meta.has_digest);
	assert_true(lfs_digest_equal(&meta.digest, &f->meta.digest));
	assert_int_equal(meta.span, 200 << 10);
	assert_non_null(ix->map);
	assert_int_not_equal(lfs_index_lookup_path(ix, "etc/sparse"),
			     LFS_INDEX_NONE);
	lfs_index_free(ix);
}

static GBytes *read_idx(struct fx *f)
{
	g_autofree char *path = g_build_filename(f->dir, "x.idx", NULL);
	gchar *data;
	gsize len;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	return g_bytes_new_take(data, len);
}

/* Rewrite the index file in place (no fsync: thousands of rewrites). */
static void write_idx(struct fx *f, const void *data, size_t len)
{
	int fd = openat(f->dirfd, "x.idx", O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

/* A new file named y.idx holding @data. */
static void write_idx_new(struct fx *f, const void *data, size_t len)
{
	int fd = openat(f->dirfd, "y.idx", O_WRONLY | O_CREAT | O_EXCL, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
}

static int load(struct fx *f, const char **why)
{
	struct lfs_index *ix = NULL;
	struct lfs_index_meta meta;
	int err = lfs_index_file_load(f->dirfd, "x.idx", &ix, &meta, why);

	lfs_index_free(ix);
	return err;
}

/* Flip each byte in turn: the file is never accepted. */
static void test_every_flipped_byte_rejected(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) orig = read_idx(f);
	gsize len;
	const guint8 *data = g_bytes_get_data(orig, &len);
	g_autofree guint8 *copy = g_memdup2(data, len);
	const char *why;

	for (gsize i = 0; i < len; i++) {
		const gsize v = offsetof(struct lfs_index_file_header, version);
		int err;

		copy[i] ^= 0x41;
		write_idx(f, copy, len);
		err = load(f, &why);
		/* A flip in the version reads as another version. */
		if (err != -EINVAL &&
		    !(err == -ESTALE && i >= v && i < v + sizeof(uint32_t)))
			fail_msg("a flip at byte %zu was accepted", i);
		copy[i] = data[i];
	}
	write_idx(f, copy, len);
	assert_int_equal(load(f, &why), 0);
}

/* The file this process just wrote and sealed is not hashed again when it
 * is still the same inode; any other file of that name is. */
static void test_load_written_trusts_only_its_inode(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) orig = read_idx(f);
	gsize len;
	const guint8 *data = g_bytes_get_data(orig, &len);
	g_autofree guint8 *copy = g_memdup2(data, len);
	struct lfs_index *ix = NULL;
	struct lfs_index_meta meta;
	struct stat written, other;
	const char *why;

	assert_int_equal(fstatat(f->dirfd, "x.idx", &written, 0), 0);
	/* A string's byte changed in place: the same inode, trusted. */
	copy[len - 1] ^= 0x01;
	write_idx(f, copy, len);
	assert_int_equal(lfs_index_file_load_written(f->dirfd, "x.idx",
						     &written, &ix, &meta,
						     &why),
			 0);
	lfs_index_free(ix);
	ix = NULL;
	assert_int_equal(load(f, &why), -EINVAL);
	assert_string_equal(why, "checksum mismatch");
	/* Another file put in its place (made while the first exists, so
	 * that it cannot get its inode number): checked. */
	write_idx_new(f, copy, len);
	assert_int_equal(renameat(f->dirfd, "y.idx", f->dirfd, "x.idx"), 0);
	assert_int_equal(fstatat(f->dirfd, "x.idx", &other, 0), 0);
	assert_true(other.st_ino != written.st_ino ||
		    other.st_dev != written.st_dev);
	assert_int_equal(lfs_index_file_load_written(f->dirfd, "x.idx",
						     &written, &ix, &meta,
						     &why),
			 -EINVAL);
	assert_string_equal(why, "checksum mismatch");
}

static void test_every_truncation_rejected(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) orig = read_idx(f);
	gsize len;
	const guint8 *data = g_bytes_get_data(orig, &len);
	const char *why;

	for (gsize cut = 0; cut < len; cut++) {
		write_idx(f, data, cut);
		if (load(f, &why) != -EINVAL)
			fail_msg("cut at %zu was accepted", cut);
	}
}

/* Re-compute the checksum after an edit, as a hostile writer would. */
static void reseal(guint8 *data, gsize len)
{
	uint64_t zero = 0, sum;
	XXH3_state_t *st = XXH3_createState();

	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, data, LFS_INDEX_FILE_CHECKSUM_AT);
	XXH3_64bits_update(st, &zero, sizeof(zero));
	XXH3_64bits_update(st, data + LFS_INDEX_FILE_CHECKSUM_AT + 8,
			   len - LFS_INDEX_FILE_CHECKSUM_AT - 8);
	sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	memcpy(data + LFS_INDEX_FILE_CHECKSUM_AT, &sum, sizeof(sum));
}

typedef void (*edit_fn)(struct fx *f, guint8 *data);

static struct lfs_index_entry *entry_at(guint8 *data, uint32_t i)
{
	struct lfs_index_file_header *h = (void *)data;

	return (struct lfs_index_entry *)(data +
					  h->sec[LFS_SEC_ENTRIES].offset) +
	       i;
}

static uint32_t find(struct fx *f, const char *path)
{
	return lfs_index_lookup_path(f->built, path);
}

static void edit_name(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc/f"))->name = 0xfffffff0;
}

/* A name holding a '/': no lookup could reach it, a listing would show
 * it.  Then "..", which a listing must not show either. */
static void edit_name_slash(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	const struct lfs_index_entry *e = entry_at(data, find(f, "etc/f"));

	data[h->sec[LFS_SEC_STRTAB].offset + e->name] = '/';
}

static void edit_name_dotdot(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	struct lfs_index_entry *e = entry_at(data, find(f, "hl"));

	/* "hl" is two bytes, as ".." is. */
	memcpy(data + h->sec[LFS_SEC_STRTAB].offset + e->name, "..", 2);
}

static void edit_data(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc/f"))->u.data = TAR_SIZE - 10;
}

static void edit_parent(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc/f"))->parent = find(f, "etc/f");
}

static void edit_link(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "hl"))->u.target = 1u << 30;
}

static void edit_children(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc"))->u.dir.count = 1u << 30;
}

/* The root's children reach one entry further, into another directory's:
 * each entry still lies among its own parent's children, but a lookup in
 * the root searched them out of order. */
static void edit_children_overlap(struct fx *f, guint8 *data)
{
	(void)f;
	entry_at(data, LFS_INDEX_ROOT)->u.dir.count++;
}

static void edit_extent(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	struct lfs_index_extent *x =
		(void *)(data + h->sec[LFS_SEC_EXTENTS].offset);

	(void)f;
	x[1].physical = TAR_SIZE;
}

static void edit_checkpoint(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	struct lfs_index_checkpoint *cp =
		(void *)(data + h->sec[LFS_SEC_CHECKPOINTS].offset);

	(void)f;
	cp[2].out = cp[1].out;
}

/* History of some bytes stored in none: the reader inflated it from a
 * windows blob that may not be there at all. */
static void edit_window(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	struct lfs_index_checkpoint *cp =
		(void *)(data + h->sec[LFS_SEC_CHECKPOINTS].offset);

	(void)f;
	cp[1].window_len = 0;
}

static void edit_implicit(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	uint32_t *imp = (void *)(data + h->sec[LFS_SEC_IMPLICIT].offset);

	imp[1] = find(f, "implied/dir/f");
}

static void edit_implicit_order(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;
	uint32_t *imp = (void *)(data + h->sec[LFS_SEC_IMPLICIT].offset);

	(void)f;
	imp[1] = imp[0];
}

static void edit_section(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->sec[LFS_SEC_STRTAB].size += 1u << 20;
}

static void edit_version(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->version++;
}

static void edit_endian(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->endian = GUINT32_SWAP_LE_BE(h->endian);
}

static void edit_sum_chunk(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->sum_chunk = 3 * 4096;
}

static void edit_sums_short(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->sec[LFS_SEC_SUMS].size -= sizeof(uint64_t);
}

/* A compressed layer's index without checksums could serve a changed
 * layer: refused. */
static void edit_no_sums(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->sec[LFS_SEC_SUMS].size = 0;
	h->sum_chunk = 0;
}

/* A mode with type bits: stat showed a symlink that lookups called a
 * file. */
static void edit_mode(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc/f"))->mode = 0120644;
}

static void edit_mtime_nsec(struct fx *f, guint8 *data)
{
	entry_at(data, find(f, "etc/f"))->mtime_nsec = 1000000000;
}

/* An algorithm number past the table: `layerfs inspect` looked its name
 * up there (an out-of-bounds read) before the header said no. */
static void edit_digest_algo(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->digest_algo = 1000000;
}

/* A length that is not the algorithm's. */
static void edit_digest_len(struct fx *f, guint8 *data)
{
	struct lfs_index_file_header *h = (void *)data;

	(void)f;
	h->digest_len = 20;
}

static void test_hostile_contents_rejected(void **state)
{
	static const struct {
		edit_fn edit;
		const char *why;
	} cases[] = {
		{ edit_name, "name out of bounds" },
		{ edit_name_slash, "name is not one path component" },
		{ edit_name_dotdot, "name is not one path component" },
		{ edit_data, "file data out of bounds" },
		{ edit_parent, "parent out of order" },
		{ edit_link, "hardlink target out of bounds" },
		{ edit_children, "children out of bounds" },
		{ edit_children_overlap, "children ranges overlap" },
		{ edit_extent, "extent out of bounds" },
		{ edit_checkpoint, "access points out of order" },
		{ edit_window, "access point without its history" },
		{ edit_implicit, "implicit directory list names another" },
		{ edit_implicit_order, "implicit directory list out of order" },
		{ edit_section, "section out of bounds" },
		{ edit_version, "another format version" },
		{ edit_endian, "another kind of machine" },
		{ edit_sum_chunk, "bad checksum chunk size" },
		{ edit_sums_short, "checksums do not cover the stream" },
		{ edit_no_sums, "no checksums of the uncompressed stream" },
		{ edit_mode, "mode beyond the permission bits" },
		{ edit_mtime_nsec, "mtime nanoseconds out of range" },
		{ edit_digest_algo, "bad digest" },
		{ edit_digest_len, "bad digest" },
	};
	struct fx *f = *state;
	g_autoptr(GBytes) orig = read_idx(f);
	gsize len;
	const guint8 *data = g_bytes_get_data(orig, &len);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree guint8 *copy = g_memdup2(data, len);
		const char *why = NULL;

		cases[i].edit(f, copy);
		reseal(copy, len);
		write_idx(f, copy, len);
		/* Another version is routine (an upgrade), not damage. */
		assert_int_equal(load(f, &why), cases[i].edit == edit_version
							? -ESTALE
							: -EINVAL);
		assert_non_null(why);
		if (!strstr(why, cases[i].why))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, why,
				 cases[i].why);
	}
}

static void test_missing_and_leftovers(void **state)
{
	struct fx *f = *state;
	struct lfs_index *ix = NULL;
	struct lfs_index_meta meta;
	const char *why;
	DIR *d;
	struct dirent *de;
	int names = 0;

	assert_int_equal(lfs_index_file_load(f->dirfd, "none.idx", &ix, &meta,
					     &why),
			 -ENOENT);
	/* Writing again replaces the file and leaves no temporary one. */
	assert_int_equal(lfs_index_file_write(f->dirfd, "x.idx", f->built,
					      &f->meta),
			 0);
	d = opendir(f->dir);
	while ((de = readdir(d)) != NULL)
		names += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(names, 1);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FT(test_round_trip),
		FT(test_every_flipped_byte_rejected),
		FT(test_load_written_trusts_only_its_inode),
		FT(test_every_truncation_rejected),
		FT(test_hostile_contents_rejected),
		FT(test_missing_and_leftovers),
	};

	return cmocka_run_group_tests_name("index_file", tests, NULL, NULL);
}
