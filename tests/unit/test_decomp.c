/* Unit tests for layer/decomp.c: plain, gzip (single and multi-member) and
 * zstd (single and multi-frame) streams decode to the exact bytes;
 * truncated, corrupt and trailing-garbage streams fail with -EIO and a
 * reason; lfs_compression_detect() knows the magic numbers; a declared
 * compression that the data contradicts is refused; the stored-bytes
 * hasher and the byte counters see exactly the input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "layerfs/decomp.h"

#include "asserts.h"
#include "fixtures.h"

/* Bigger than decomp.c's 256 KiB input buffer, so streams span refills. */
#define BIG (600u * 1024)

struct fx {
	bool zlib; /* gzip through zlib, not the default engine */
	char *dir;
	struct lfs_blob *blob;
	struct lfs_decomp *d;
	GByteArray *out;
};

/* The prestate of the tests run again with zlib as the gzip engine. */
static int zlib_engine;

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->zlib = *state == &zlib_engine;
	f->dir = fx_tmpdir();
	f->out = g_byte_array_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_decomp_free(f->d);
	lfs_blob_close(f->blob);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_byte_array_unref(f->out);
	g_free(f);
	return 0;
}

static GBytes *concat(GBytes *a, GBytes *b)
{
	GByteArray *arr = g_byte_array_new();

	g_byte_array_append(arr, g_bytes_get_data(a, NULL),
			    (guint)g_bytes_get_size(a));
	g_byte_array_append(arr, g_bytes_get_data(b, NULL),
			    (guint)g_bytes_get_size(b));
	return g_byte_array_free_to_bytes(arr);
}

static GBytes *str_bytes(const char *s)
{
	return g_bytes_new(s, strlen(s));
}

/* Store @data as the blob and start decompressing it as @comp. */
static int start(struct fx *f, GBytes *data, enum lfs_compression comp,
		 struct lfs_hasher *h, const char **why)
{
	g_autofree char *path = fx_write(f->dir, "blob", data);

	int err;

	assert_int_equal(
	    lfs_blob_open_file(path, 0, LFS_LENGTH_TO_EOF, &f->blob), 0);
	err = lfs_decomp_new(f->blob, comp, h, &f->d, why);
	if (err == 0 && f->zlib)
		lfs_decomp_use_zlib(f->d);
	return err;
}

/* Read to the end in @chunk-sized reads; returns 0 or the -errno. */
static ssize_t drain(struct fx *f, size_t chunk)
{
	g_autofree guint8 *buf = g_malloc(chunk);
	ssize_t n;

	while ((n = lfs_decomp_read(f->d, buf, chunk)) > 0) {
		assert_true((size_t)n <= chunk);
		g_byte_array_append(f->out, buf, (guint)n);
	}
	return n;
}

static void assert_out_is(struct fx *f, GBytes *want)
{
	assert_int_equal(f->out->len, g_bytes_get_size(want));
	assert_memory_equal(f->out->data, g_bytes_get_data(want, NULL),
			    f->out->len);
}

/* Decode @stored as @comp in chunks of @chunk; it must give @plain. */
static void decode_ok(struct fx *f, GBytes *stored, enum lfs_compression comp,
		      enum lfs_compression want_comp, GBytes *plain,
		      size_t chunk)
{
	const char *why = NULL;

	assert_int_equal(start(f, stored, comp, NULL, &why), 0);
	assert_int_equal(lfs_decomp_compression(f->d), want_comp);
	assert_int_equal(drain(f, chunk), 0);
	assert_out_is(f, plain);
	assert_int_equal(lfs_decomp_in_bytes(f->d), g_bytes_get_size(stored));
	assert_int_equal(lfs_decomp_out_bytes(f->d), g_bytes_get_size(plain));
	/* The end stays the end. */
	assert_int_equal(lfs_decomp_read(f->d, f->out->data, 1), 0);
	assert_string_equal(lfs_decomp_error(f->d), "no error");
}

/* ---- good streams ------------------------------------------------------ */

static void test_plain(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 1, 16);

	decode_ok(f, plain, LFS_COMP_DETECT, LFS_COMP_NONE, plain, 7000);
}

static void test_plain_declared(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("just some bytes");

	decode_ok(f, plain, LFS_COMP_NONE, LFS_COMP_NONE, plain, 4);
}

static void test_empty_blob(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);

	decode_ok(f, empty, LFS_COMP_DETECT, LFS_COMP_NONE, empty, 16);
}

static void test_gzip(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 2, 16);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	decode_ok(f, gz, LFS_COMP_DETECT, LFS_COMP_GZIP, plain, 65536);
}

static void test_gzip_declared_small_reads(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(50000, 3, 16);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	decode_ok(f, gz, LFS_COMP_GZIP, LFS_COMP_GZIP, plain, 333);
}

/* Highly compressible data read through a small buffer: the decoder holds
 * output it could not hand over yet when the input is all consumed. */
static void test_gzip_compressible_small_reads(void **state)
{
	struct fx *f = *state;
	g_autofree char *zeros = g_malloc0(BIG);
	g_autoptr(GBytes) plain = g_bytes_new(zeros, BIG);
	g_autoptr(GBytes) gz = fx_gzip(plain);

	decode_ok(f, gz, LFS_COMP_DETECT, LFS_COMP_GZIP, plain, 4096);
}

/* Two gzip members back to back are one stream (gzip -dc, Go). */
static void test_gzip_multi_member(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) a = fx_noise(BIG, 4, 16), b = str_bytes("second member");
	g_autoptr(GBytes) ga = fx_gzip(a), gb = fx_gzip(b);
	g_autoptr(GBytes) both = concat(ga, gb), plain = concat(a, b);

	decode_ok(f, both, LFS_COMP_DETECT, LFS_COMP_GZIP, plain, 10000);
}

static void test_zstd(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 5, 16);
	g_autoptr(GBytes) zst = fx_zstd(plain);

	decode_ok(f, zst, LFS_COMP_DETECT, LFS_COMP_ZSTD, plain, 65536);
}

static void test_zstd_multi_frame(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) a = fx_noise(BIG, 6, 16), b = str_bytes("second frame");
	g_autoptr(GBytes) za = fx_zstd(a), zb = fx_zstd(b);
	g_autoptr(GBytes) both = concat(za, zb), plain = concat(a, b);

	decode_ok(f, both, LFS_COMP_ZSTD, LFS_COMP_ZSTD, plain, 10000);
}

/* A stream may start with a skippable frame (magic 0x184D2A5?, a 4-byte
 * little-endian length, that many bytes): still zstd, and skipped. */
static void test_zstd_skippable_first(void **state)
{
	struct fx *f = *state;
	static const guint8 skippable[] = { 0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0,
					    0, 'p', 'a', 'd' };
	g_autoptr(GBytes) plain = fx_noise(BIG, 12, 16);
	g_autoptr(GBytes) zst = fx_zstd(plain);
	g_autoptr(GBytes) skip = g_bytes_new(skippable, sizeof(skippable));
	g_autoptr(GBytes) both = concat(skip, zst);

	decode_ok(f, both, LFS_COMP_DETECT, LFS_COMP_ZSTD, plain, 65536);
}

/* As for gzip: all input consumed while decoded output is still
 * waiting for room. */
static void test_zstd_compressible_small_reads(void **state)
{
	struct fx *f = *state;
	g_autofree char *zeros = g_malloc0(BIG);
	g_autoptr(GBytes) plain = g_bytes_new(zeros, BIG);
	g_autoptr(GBytes) zst = fx_zstd(plain);

	decode_ok(f, zst, LFS_COMP_DETECT, LFS_COMP_ZSTD, plain, 4096);
}

/* ---- broken streams ---------------------------------------------------- */

/* Decode @stored, expecting -EIO with @reason in the error. */
static void decode_fails(struct fx *f, GBytes *stored, const char *reason)
{
	const char *why = NULL;
	guint8 buf[16];

	assert_int_equal(start(f, stored, LFS_COMP_DETECT, NULL, &why), 0);
	assert_int_equal(drain(f, 4096), -EIO);
	assert_str_contains(lfs_decomp_error(f->d), reason);
	/* An error sticks. */
	assert_int_equal(lfs_decomp_read(f->d, buf, sizeof(buf)), -EIO);
}

static void test_gzip_trailing_garbage(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(1000, 7, 16);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autoptr(GBytes) junk = str_bytes("garbage!");
	g_autoptr(GBytes) stored = concat(gz, junk);
	g_autofree char *where =
	    g_strdup_printf("trailing garbage after gzip stream at byte %zu",
			    g_bytes_get_size(gz));

	decode_fails(f, stored, where);
	/* Everything before the garbage was delivered. */
	assert_out_is(f, plain);
}

/* Zero padding after the member is garbage too (not another member). */
static void test_gzip_trailing_zeros(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("padded");
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autofree char *zeros = g_malloc0(512);
	g_autoptr(GBytes) pad = g_bytes_new(zeros, 512);
	g_autoptr(GBytes) stored = concat(gz, pad);

	decode_fails(f, stored, "trailing garbage");
}

static void test_gzip_truncated(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 8, 16);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autoptr(GBytes) cut =
	    g_bytes_new_from_bytes(gz, 0, g_bytes_get_size(gz) / 2);

	decode_fails(f, cut, "truncated");
	assert_true(f->out->len < BIG);
}

/* Cut inside the 8-byte trailer: all data decoded, CRC and size lost. */
static void test_gzip_truncated_in_trailer(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("short");
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autoptr(GBytes) cut =
	    g_bytes_new_from_bytes(gz, 0, g_bytes_get_size(gz) - 3);

	decode_fails(f, cut, "truncated");
}

static void test_gzip_corrupt(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 9, 16);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(g_bytes_ref(gz), &len);
	g_autoptr(GBytes) stored = NULL;

	/* Overwrite a stretch in the middle of the deflate data. */
	memset(bad + len / 2, 0xff, 64);
	stored = g_bytes_new_take(bad, len);
	decode_fails(f, stored, "corrupt gzip stream");
}

/* A damaged CRC: every byte decodes, the check must still fail. */
static void test_gzip_bad_crc(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("check me");
	g_autoptr(GBytes) gz = fx_gzip(plain);
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(g_bytes_ref(gz), &len);
	g_autoptr(GBytes) stored = NULL;

	bad[len - 8] ^= 0x01; /* first byte of the CRC32 */
	stored = g_bytes_new_take(bad, len);
	decode_fails(f, stored, "corrupt gzip stream");
}

/* A damaged length (ISIZE): the CRC holds, the length check must fail. */
static void test_gzip_bad_length(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("measure me");
	g_autoptr(GBytes) gz = fx_gzip(plain);
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(g_bytes_ref(gz), &len);
	g_autoptr(GBytes) stored = NULL;

	bad[len - 4] ^= 0x01; /* first byte of ISIZE */
	stored = g_bytes_new_take(bad, len);
	decode_fails(f, stored, "corrupt gzip stream");
}

/* A member of incompressible bytes whose 8-byte trailer straddles the
 * end of decomp.c's first 256 KiB input buffer, @cut bytes of it in the
 * first: followed by a second member, so that the first one's check
 * reads bytes from before a refill. */
static GBytes *trailer_across_refill(size_t cut, GBytes **plain)
{
	const size_t in_buf = 256u << 10;

	for (size_t n = in_buf - 200; n < in_buf; n++) {
		g_autoptr(GBytes) a = fx_noise(n, 21, 256);
		g_autoptr(GBytes) ga = fx_gzip(a);
		g_autoptr(GBytes) b = str_bytes("after the refill");
		g_autoptr(GBytes) gb = fx_gzip(b);

		if (g_bytes_get_size(ga) - 8 + cut != in_buf)
			continue;
		*plain = concat(a, b);
		return concat(ga, gb);
	}
	fail_msg("no noise length puts the trailer across the refill");
	return NULL;
}

static void test_gzip_trailer_across_refill(void **state)
{
	struct fx *f = *state;

	for (size_t cut = 1; cut < 8; cut += 3) {
		g_autoptr(GBytes) plain = NULL;
		g_autoptr(GBytes) gz = trailer_across_refill(cut, &plain);

		decode_ok(f, gz, LFS_COMP_DETECT, LFS_COMP_GZIP, plain, 65536);
		lfs_decomp_free(f->d);
		f->d = NULL;
		lfs_blob_close(f->blob);
		f->blob = NULL;
		g_byte_array_set_size(f->out, 0);
	}
}

static void test_zstd_truncated(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 10, 16);
	g_autoptr(GBytes) zst = fx_zstd(plain);
	g_autoptr(GBytes) cut =
	    g_bytes_new_from_bytes(zst, 0, g_bytes_get_size(zst) - 100);

	decode_fails(f, cut, "truncated zstd stream");
}

static void test_zstd_corrupt(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 11, 16);
	g_autoptr(GBytes) zst = fx_zstd(plain);
	gsize len;
	guint8 *bad = g_bytes_unref_to_data(g_bytes_ref(zst), &len);
	g_autoptr(GBytes) stored = NULL;

	/* Break the first block header (right after the frame header). */
	memset(bad + 4, 0xff, 16);
	stored = g_bytes_new_take(bad, len);
	decode_fails(f, stored, "corrupt zstd stream");
}

/* ---- detection and declared types -------------------------------------- */

struct magic_case {
	const char *name;
	unsigned char bytes[8];
	size_t len;
	int ret;
	enum lfs_compression comp;
	const char *refused; /* in *why for -ENOTSUP */
};

static const struct magic_case magics[] = {
    {"gzip", {0x1f, 0x8b, 0x08, 0}, 4, 0, LFS_COMP_GZIP, NULL},
    {"zstd", {0x28, 0xb5, 0x2f, 0xfd, 0x04}, 5, 0, LFS_COMP_ZSTD, NULL},
    {"zstd skippable frame", {0x50, 0x2a, 0x4d, 0x18, 0}, 5, 0, LFS_COMP_ZSTD,
     NULL},
    {"xz",
     {0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00},
     7,
     -ENOTSUP,
     LFS_COMP_NONE,
     "xz"},
    {"bzip2", {'B', 'Z', 'h', '9', '1'}, 5, -ENOTSUP, LFS_COMP_NONE, "bzip2"},
    {"lz4", {0x04, 0x22, 0x4d, 0x18, 0x64}, 5, -ENOTSUP, LFS_COMP_NONE, "lz4"},
    {"tar", {'e', 't', 'c', '/', 0, 0, 0, 0}, 8, 0, LFS_COMP_NONE, NULL},
    {"one gzip byte", {0x1f}, 1, 0, LFS_COMP_NONE, NULL},
    {"three zstd bytes", {0x28, 0xb5, 0x2f}, 3, 0, LFS_COMP_NONE, NULL},
    {"empty", {0}, 0, 0, LFS_COMP_NONE, NULL},
};

static void test_compression_detect(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(magics); i++) {
		const struct magic_case *c = &magics[i];
		enum lfs_compression comp = LFS_COMP_DETECT;
		const char *why = NULL;
		g_autofree char *with = NULL;

		print_message("# %s\n", c->name);
		assert_int_equal(
		    lfs_compression_detect(c->bytes, c->len, &comp, &why),
		    c->ret);
		if (c->refused) {
			with =
			    g_strconcat("compressed with ", c->refused, NULL);
			assert_str_contains(why, with);
		} else {
			assert_int_equal(comp, c->comp);
			assert_null(why);
		}
	}
}

/* xz data is refused at the start, naming the compressor. */
static void test_refused_compressor(void **state)
{
	static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0, 1};
	struct fx *f = *state;
	g_autoptr(GBytes) stored = g_bytes_new(xz, sizeof(xz));
	const char *why = NULL;

	assert_int_equal(start(f, stored, LFS_COMP_DETECT, NULL, &why),
			 -ENOTSUP);
	assert_null(f->d);
	assert_str_contains(why, "compressed with xz");
}

struct mismatch_case {
	enum lfs_compression declared;
	int actual; /* 0 plain, 1 gzip, 2 zstd */
	const char *why;
};

static const struct mismatch_case mismatches[] = {
    {LFS_COMP_GZIP, 0, "media type says gzip but the data is not gzip"},
    {LFS_COMP_GZIP, 2, "media type says gzip but the data is not gzip"},
    {LFS_COMP_ZSTD, 0, "media type says zstd but the data is not zstd"},
    {LFS_COMP_ZSTD, 1, "media type says zstd but the data is not zstd"},
    {LFS_COMP_NONE, 1,
     "media type says uncompressed but the data is "
     "compressed"},
    {LFS_COMP_NONE, 2,
     "media type says uncompressed but the data is "
     "compressed"},
};

static void test_declared_compression_mismatch(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("plain tar, honestly");
	g_autoptr(GBytes) gz = fx_gzip(plain);
	g_autoptr(GBytes) zst = fx_zstd(plain);
	GBytes *actual[] = {plain, gz, zst};

	for (size_t i = 0; i < G_N_ELEMENTS(mismatches); i++) {
		const char *why = NULL;

		print_message("# declared %d, data %d\n",
			      mismatches[i].declared, mismatches[i].actual);
		assert_int_equal(start(f, actual[mismatches[i].actual],
				       mismatches[i].declared, NULL, &why),
				 -EINVAL);
		assert_null(f->d);
		assert_string_equal(why, mismatches[i].why);
		g_clear_pointer(&f->blob, lfs_blob_close);
	}
}

/* ---- hashing and counters ---------------------------------------------- */

/* The hasher sees every stored byte exactly once, across refills and
 * gzip members. */
static void test_stored_hasher_sees_input(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) random = fx_noise(BIG, 12, 0);
	g_autoptr(GBytes) extra = str_bytes("and a second member");
	g_autoptr(GBytes) g1 = fx_gzip(random), g2 = fx_gzip(extra);
	g_autoptr(GBytes) stored = concat(g1, g2);
	g_autoptr(lfs_hasher) h = NULL;
	g_autofree char *want = fx_sha256(stored), *got = NULL;
	struct lfs_digest d;
	const char *why = NULL;

	assert_true(g_bytes_get_size(stored) > 2 * 256 * 1024);
	assert_int_equal(lfs_hasher_new(LFS_DIGEST_SHA256, &h), 0);
	assert_int_equal(start(f, stored, LFS_COMP_GZIP, h, &why), 0);
	assert_int_equal(drain(f, 50000), 0);
	lfs_hasher_finish(h, &d);
	got = lfs_digest_to_string(&d);
	assert_string_equal(got, want);
}

static void test_plain_hasher_sees_input(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 14, 16);
	g_autoptr(lfs_hasher) h = NULL;
	g_autofree char *want = fx_sha256(plain), *got = NULL;
	struct lfs_digest d;
	const char *why = NULL;

	assert_int_equal(lfs_hasher_new(LFS_DIGEST_SHA256, &h), 0);
	assert_int_equal(start(f, plain, LFS_COMP_DETECT, h, &why), 0);
	assert_int_equal(drain(f, 12345), 0);
	lfs_hasher_finish(h, &d);
	got = lfs_digest_to_string(&d);
	assert_string_equal(got, want);
}

/* Part-way through, out_bytes is what was handed out and in_bytes never
 * runs past the stored size. */
static void test_counters_part_way(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 15, 16);
	guint8 buf[1000];
	const char *why = NULL;

	assert_int_equal(start(f, plain, LFS_COMP_NONE, NULL, &why), 0);
	assert_int_equal(lfs_decomp_out_bytes(f->d), 0);
	assert_int_equal(lfs_decomp_in_bytes(f->d), 0);
	assert_int_equal(lfs_decomp_read(f->d, buf, sizeof(buf)), 1000);
	assert_int_equal(lfs_decomp_read(f->d, buf, 500), 500);
	assert_int_equal(lfs_decomp_out_bytes(f->d), 1500);
	/* Plain: input consumed is exactly what was handed out. */
	assert_int_equal(lfs_decomp_in_bytes(f->d), 1500);
	assert_memory_equal(
	    buf, (const guint8 *)g_bytes_get_data(plain, NULL) + 1000, 500);
}

static void test_read_len_zero(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = str_bytes("abc");
	guint8 buf[4];
	const char *why = NULL;

	assert_int_equal(start(f, plain, LFS_COMP_DETECT, NULL, &why), 0);
	assert_int_equal(lfs_decomp_read(f->d, buf, 0), 0);
	assert_int_equal(lfs_decomp_read(f->d, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
}

/* The disk under the blob fails a read (EIO, as from a bad block): the
 * pass fails with the disk's error and where, for the indexing pass's
 * one-line message; every byte before the bad ones came out. */
static void test_blob_read_error(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) plain = fx_noise(BIG, 13, 0);
	g_autoptr(GBytes) gz = fx_gzip(plain);
	struct fx_fault fault = { .off = 300000, .len = 1, .on = 1 };
	const char *why = NULL;
	guint8 buf[16];

	assert_int_equal(start(f, gz, LFS_COMP_GZIP, NULL, &why), 0);
	f->blob = fx_fault_blob(f->blob, &fault);
	lfs_decomp_free(f->d);
	assert_int_equal(lfs_decomp_new(f->blob, LFS_COMP_GZIP, NULL, &f->d,
					&why),
			 0);
	if (f->zlib)
		lfs_decomp_use_zlib(f->d);
	assert_int_equal(drain(f, 4096), -EIO);
	assert_string_equal(lfs_decomp_error(f->d),
			    "read error at byte 262144 of the stored layer: "
			    "Input/output error");
	assert_true(f->out->len > 0);
	assert_memory_equal(f->out->data, g_bytes_get_data(plain, NULL),
			    f->out->len);
	assert_int_equal(lfs_decomp_read(f->d, buf, sizeof(buf)), -EIO);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
/* The gzip tests once more, through zlib: where ISA-L is built in, FT
 * runs them through it (decomp.c). */
#define FTZ(t) { #t "_zlib", t, setup, teardown, &zlib_engine }

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_plain),
	    FT(test_plain_declared),
	    FT(test_empty_blob),
	    FT(test_gzip),
	    FT(test_gzip_declared_small_reads),
	    FT(test_gzip_compressible_small_reads),
	    FT(test_gzip_multi_member),
	    FT(test_zstd),
	    FT(test_zstd_multi_frame),
	    FT(test_zstd_skippable_first),
	    FT(test_zstd_compressible_small_reads),
	    FT(test_gzip_trailing_garbage),
	    FT(test_gzip_trailing_zeros),
	    FT(test_gzip_truncated),
	    FT(test_gzip_truncated_in_trailer),
	    FT(test_gzip_corrupt),
	    FT(test_gzip_bad_crc),
	    FT(test_gzip_bad_length),
	    FT(test_gzip_trailer_across_refill),
	    FT(test_zstd_truncated),
	    FT(test_zstd_corrupt),
	    FT(test_blob_read_error),
	    cmocka_unit_test(test_compression_detect),
	    FT(test_refused_compressor),
	    FT(test_declared_compression_mismatch),
	    FT(test_stored_hasher_sees_input),
	    FT(test_plain_hasher_sees_input),
	    FT(test_counters_part_way),
	    FT(test_read_len_zero),
		    FTZ(test_gzip),
	    FTZ(test_gzip_declared_small_reads),
	    FTZ(test_gzip_compressible_small_reads),
	    FTZ(test_gzip_multi_member),
	    FTZ(test_gzip_trailing_garbage),
	    FTZ(test_gzip_trailing_zeros),
	    FTZ(test_gzip_truncated),
	    FTZ(test_gzip_truncated_in_trailer),
	    FTZ(test_gzip_corrupt),
	    FTZ(test_gzip_bad_crc),
	    FTZ(test_gzip_bad_length),
	    FTZ(test_gzip_trailer_across_refill),
	    FTZ(test_blob_read_error),
};

	return cmocka_run_group_tests_name("decomp", tests, NULL, NULL);
}
