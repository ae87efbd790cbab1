/* Unit tests for layer/tar_fast.c: every member the fast reader takes reads
 * as libarchive reads it (name, type, mode, owners, times, sizes, link,
 * device, where the data starts), in each dialect libarchive's writer
 * makes; the members it must leave to libarchive are left; headers cut
 * short ask for the bytes they need; and libarchive reads a member behind
 * the lead entry as that member, even one whose header its format check
 * would refuse at a stream's start. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include "fixtures.h"
#include "layerfs/tar_fast.h"

/* ---- helpers ------------------------------------------------------------ */

struct bufs {
	char name[LFS_TAR_FAST_NAME_MAX + 1];
	char link[LFS_TAR_FAST_NAME_MAX + 1];
};

/* Parse one member after @st (updated). */
static enum lfs_tar_fast_result parse_in(const guint8 *p, size_t len,
					 struct lfs_tar_state *st,
					 struct lfs_tar_fast *m, struct bufs *b)
{
	size_t need = 0;

	return lfs_tar_fast_parse(p, len, st, m, b->name, b->link, &need);
}

/* Parse one member after the state @pax says (sparse not allowed). */
static enum lfs_tar_fast_result parse(const guint8 *p, size_t len,
				      bool pax, struct lfs_tar_fast *m,
				      struct bufs *b)
{
	struct lfs_tar_state st = { .pax = pax };

	return parse_in(p, len, &st, m, b);
}

static enum lfs_etype libarchive_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return LFS_T_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return LFS_T_DIR;
	case AE_IFLNK:
		return LFS_T_LNK;
	case AE_IFCHR:
		return LFS_T_CHR;
	case AE_IFBLK:
		return LFS_T_BLK;
	case AE_IFIFO:
		return LFS_T_FIFO;
	default:
		return LFS_T_REG;
	}
}

/* Read @tar with libarchive and, member by member, with the fast reader,
 * which must take every member and read it as libarchive does.  Returns
 * how many members there were. */
static unsigned int agree(GBytes *tar)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(tar, &len);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned int taken = 0;
	size_t pos = 0;
	struct lfs_tar_state st = { 0 };
	struct bufs b;
	int r0;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, p, len), ARCHIVE_OK);
	/* ARCHIVE_WARN: a pax name it could not convert, given as it is. */
	while ((r0 = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       r0 == ARCHIVE_WARN) {
		uint64_t data = (uint64_t)archive_filter_bytes(a, 0);
		struct lfs_tar_fast m;
		enum lfs_tar_fast_result r =
			parse_in(p + pos, len - pos, &st, &m, &b);
		const char *link = archive_entry_hardlink(e)
					   ? archive_entry_hardlink(e)
					   : archive_entry_symlink(e);

		assert_int_equal(r, LFS_TAR_FAST_OK);
		if (r == LFS_TAR_FAST_OK) {
			taken++;
			assert_string_equal(m.name,
					    archive_entry_pathname(e));
			assert_int_equal(m.type, libarchive_type(e));
			assert_int_equal(m.perm, archive_entry_perm(e));
			assert_int_equal(m.uid, archive_entry_uid(e));
			assert_int_equal(m.gid, archive_entry_gid(e));
			assert_int_equal(m.mtime_sec, archive_entry_mtime(e));
			assert_int_equal(m.mtime_nsec,
					 archive_entry_mtime_nsec(e));
			assert_int_equal(m.size, archive_entry_size(e));
			assert_int_equal(pos + m.hdr_len, data);
			if (m.type == LFS_T_LNK || m.type == LFS_T_HARDLINK)
				assert_string_equal(m.link, link ? link : "");
			if (m.type == LFS_T_CHR || m.type == LFS_T_BLK) {
				assert_int_equal(m.rdev_major,
						 archive_entry_rdevmajor(e));
				assert_int_equal(m.rdev_minor,
						 archive_entry_rdevminor(e));
			}
		}
		assert_int_equal(archive_read_data_skip(a), ARCHIVE_OK);
		pos = (size_t)archive_filter_bytes(a, 0);
	}
	archive_read_free(a);
	return taken;
}

/* The members of every test archive: each type, names and link targets
 * too long for a ustar name field, owners too big for an octal field, an
 * mtime before 1970 and one with nanoseconds, an xattr. */
static GBytes *every_kind(int format)
{
	g_autofree char *longdir = g_strnfill(120, 'd');
	g_autofree char *longpath = g_strdup_printf("%s/file", longdir);
	g_autofree char *longlink = g_strnfill(150, 't');
	struct fx_tar *t = fx_tar_new(format);
	const bool pax = format == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED ||
			 format == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE;
	const bool ustar = format == ARCHIVE_FORMAT_TAR_USTAR;
	struct fx_entry entries[] = {
		{ .path = "dir", .type = AE_IFDIR, .mode = 0750 },
		{ .path = "dir/file", .data = "some data", .mode = 04755,
		  .uid = 1000, .gid = 100 },
		{ .path = "dir/empty", .data = "" },
		{ .path = "dir/sym", .type = AE_IFLNK, .link = "file" },
		{ .path = "dir/hard", .hardlink = "dir/file" },
		{ .path = "dev/null", .type = AE_IFCHR, .rmajor = 1,
		  .rminor = 3, .mode = 0666 },
		{ .path = "dev/sda", .type = AE_IFBLK, .rmajor = 8,
		  .rminor = 0, .mode = 0660 },
		{ .path = "run/fifo", .type = AE_IFIFO },
		{ .path = longpath, .data = "deep" },
		/* (ustar has no room for a time before 1970) */
		{ .path = "old", .data = "x", .mtime = ustar ? 1 : -86400 },
		{ .path = "nanos", .data = "y", .mtime = 1700000000,
		  .mtime_nsec = pax ? 123456789 : 0 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(entries); i++)
		fx_tar_add(t, &entries[i]);
	/* ustar holds neither a 150-byte link target nor a 9-digit uid. */
	if (!ustar) {
		struct fx_entry lnk = { .path = "longsym", .type = AE_IFLNK,
					.link = longlink };
		struct fx_entry big = { .path = "bigowner", .data = "z",
					.uid = 123456789, .gid = 987654321 };

		fx_tar_add(t, &lnk);
		fx_tar_add(t, &big);
	}
	if (pax) {
		struct fx_entry xa = { .path = "xattr", .data = "w",
				       .xattr = "user.k",
				       .xattr_value = "v" };

		fx_tar_add(t, &xa);
	}
	return fx_tar_finish(t);
}

/* Make the block at @t[@at] say @bytes at @off (and fix its checksum). */
static void patch(GByteArray *t, size_t at, size_t off, const void *bytes,
		  size_t n)
{
	memcpy(t->data + at + off, bytes, n);
	fx_raw_checksum(t->data + at);
}

/* ---- what it reads ------------------------------------------------------ */

static void test_ustar(void **state)
{
	g_autoptr(GBytes) tar = every_kind(ARCHIVE_FORMAT_TAR_USTAR);

	(void)state;
	assert_int_equal(agree(tar), 11);
}

static void test_gnu(void **state)
{
	g_autoptr(GBytes) tar = every_kind(ARCHIVE_FORMAT_TAR_GNUTAR);

	(void)state;
	assert_int_equal(agree(tar), 13);
}

static void test_pax(void **state)
{
	g_autoptr(GBytes) r = every_kind(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) i = every_kind(ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);

	(void)state;
	assert_int_equal(agree(r), 14);
	assert_int_equal(agree(i), 14);
}

/* Number fields the way old and odd writers fill them: blanks first,
 * base-256, a space instead of the NUL, a value past the field's digits
 * cut where libarchive cuts it, a negative base-256 mtime. */
static void test_odd_numbers(void **state)
{
	GByteArray *t = g_byte_array_new();
	static const guint8 b256_uid[8] = { 0x80, 0, 0, 0, 0, 0x12, 0x34,
					    0x56 };
	static const guint8 neg_mtime[12] = { 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0x00 };
	g_autoptr(GBytes) tar = NULL;

	(void)state;
	fx_raw_block(t, "blanks", '0', "ab", 2);
	patch(t, 0, 100, "   644 ", 8);
	patch(t, 0, 108, "  1750 ", 8);
	fx_raw_block(t, "b256", '0', NULL, 0);
	patch(t, 1024, 108, b256_uid, 8);
	patch(t, 1024, 136, neg_mtime, 12);
	fx_raw_block(t, "junk", '5', NULL, 0);
	patch(t, 1536, 116, "12x4567", 8);
	patch(t, 1536, 136, "17777777777 ", 12);
	/* A checksum of signed bytes, as old BSD and Solaris tars made. */
	fx_raw_block(t, "signed", '5', NULL, 0);
	patch(t, 2048, 108, b256_uid, 8);
	{
		guint8 *h = t->data + 2048;
		int sum = 0;

		memset(h + 148, ' ', 8);
		for (size_t i = 0; i < 512; i++)
			sum += (signed char)h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
	}
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	assert_int_equal(agree(tar), 4);
}

/* A v7 header (no magic): no prefix, no device fields. */
static void test_v7(void **state)
{
	GByteArray *t = g_byte_array_new();
	static const guint8 none[8] = { 0 };
	g_autoptr(GBytes) tar = NULL;

	(void)state;
	fx_raw_block(t, "v7file", '0', "hello", 5);
	patch(t, 0, 257, none, 8);
	patch(t, 0, 345, "prefix", 6); /* not a prefix in v7 */
	fx_raw_block(t, "v7dev", '3', NULL, 0);
	patch(t, 1024, 257, none, 8);
	patch(t, 1024, 329, "0000007", 8);
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	assert_int_equal(agree(tar), 2);
}

/* Names past ASCII (UTF-8, and bytes that are not UTF-8), in a header,
 * a GNU long name and a pax path: the bytes as they are, as libarchive
 * gives them in the C locale. */
static void test_names_past_ascii(void **state)
{
	GByteArray *t = g_byte_array_new();
	g_autofree char *dirs = g_strnfill(100, 'd');
	g_autofree char *longname =
		g_strdup_printf("%s/Arany_Cl\xc3\xa1ss.crt", dirs);
	g_autoptr(GBytes) tar = NULL;

	(void)state;
	fx_raw_block(t, "caf\xc3\xa9", '0', "x", 1);
	fx_raw_block(t, "latin1-\xe9", '5', NULL, 0);
	fx_raw_block(t, "././@LongLink", 'L', longname, strlen(longname) + 1);
	fx_raw_block(t, "short", '0', NULL, 0);
	fx_raw_pax(t, "path", "na\xc3\xafve/\xff\xfe", 9);
	fx_raw_block(t, "p", '0', "y", 1);
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	assert_int_equal(agree(tar), 4);
}

/* Sizes a header states that libarchive does not read as data. */
static void test_sizes_not_data(void **state)
{
	GByteArray *t = g_byte_array_new();
	g_autoptr(GBytes) tar = NULL;

	(void)state;
	/* A directory whose size field says 1024: no data follows. */
	fx_raw_block(t, "d", '5', NULL, 0);
	patch(t, 0, 124, "00000002000", 12);
	/* A GNU hardlink with a size: ignored. */
	fx_raw_block(t, "h", '1', NULL, 0);
	patch(t, 512, 157, "d", 1);
	patch(t, 512, 124, "00000000010", 12);
	patch(t, 512, 257, "ustar  ", 8);
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	assert_int_equal(agree(tar), 2);
}

/* A hardlink's size field: data where libarchive reads the archive as
 * pax, which a pax header starts and a GNU or v7 header ends. */
static void test_hardlink_size_by_format(void **state)
{
	GByteArray *t = g_byte_array_new();
	g_autoptr(GBytes) tar = NULL;
	struct lfs_tar_state st = { 0 };
	struct lfs_tar_fast m;
	struct bufs b;
	size_t at;

	(void)state;
	/* A pax header, then a GNU hardlink saying 8 bytes: GNU, ignored
	 * (no data follows it). */
	fx_raw_pax(t, "mtime", "1.5", 3);
	fx_raw_block(t, "h", '1', NULL, 0);
	patch(t, t->len - 512, 157, "p", 1);
	patch(t, t->len - 512, 124, "00000000010", 12);
	patch(t, t->len - 512, 257, "ustar  ", 8);
	fx_raw_block(t, "after", '0', "a", 1);
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	assert_int_equal(agree(tar), 2);

	/* A pax member, a GNU one, then a ustar hardlink saying 4 bytes:
	 * the GNU header ended pax, so it is left to libarchive's guess. */
	t = g_byte_array_new();
	fx_raw_pax(t, "mtime", "1.5", 3);
	fx_raw_block(t, "p", '0', "pp", 2);
	fx_raw_block(t, "g", '0', "gg", 2);
	patch(t, t->len - 1024, 257, "ustar  ", 8);
	at = t->len;
	fx_raw_block(t, "h", '1', NULL, 0);
	patch(t, at, 157, "p", 1);
	patch(t, at, 124, "00000000004", 12);
	assert_int_equal(parse_in(t->data, t->len, &st, &m, &b),
			 LFS_TAR_FAST_OK);
	assert_true(st.pax);
	assert_true(st.sparse_allowed);
	assert_int_equal(parse_in(t->data + 2048, t->len - 2048, &st, &m, &b),
			 LFS_TAR_FAST_OK);
	assert_false(st.pax);
	assert_int_equal(parse_in(t->data + at, t->len - at, &st, &m, &b),
			 LFS_TAR_FAST_NO);
	g_byte_array_unref(t);
}

/* ---- what it leaves to libarchive --------------------------------------- */

static void assert_left(GByteArray *t, bool pax_format)
{
	struct lfs_tar_fast m;
	struct bufs b;

	assert_int_equal(parse(t->data, t->len, pax_format, &m, &b),
			 LFS_TAR_FAST_NO);
	g_byte_array_unref(t);
}

static GByteArray *one_pax(const char *key, const char *value, char type,
			   const char *name)
{
	GByteArray *t = g_byte_array_new();

	fx_raw_pax(t, key, value, strlen(value));
	fx_raw_block(t, name, type, NULL, 0);
	fx_raw_end(t);
	return t;
}

static void test_leaves_alone(void **state)
{
	static const char *const keys[] = {
		"SCHILY.acl.access", "hdrcharset", "GNU.sparse.size",
		"SCHILY.realsize",   "SUN.holesdata", "unknown.key",
	};
	GByteArray *t;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		assert_left(one_pax(keys[i], "1", '0', "f"), false);
	/* A pax size for a symlink; a link target for a file. */
	assert_left(one_pax("size", "3", '2', "l"), false);
	assert_left(one_pax("linkpath", "t", '0', "f"), false);
	/* A "regular" member named like a directory. */
	t = g_byte_array_new();
	fx_raw_block(t, "dir/", '0', NULL, 0);
	assert_left(t, false);
	/* Types it does not take. */
	t = g_byte_array_new();
	fx_raw_block(t, "c", '7', NULL, 0);
	assert_left(t, false);
	t = g_byte_array_new();
	fx_raw_block(t, "s", 'S', NULL, 0);
	assert_left(t, false);
	t = g_byte_array_new();
	fx_raw_block(t, "g", 'g', "9 a=b\nxx\n", 9);
	assert_left(t, false);
	/* A bad checksum. */
	t = g_byte_array_new();
	fx_raw_block(t, "f", '0', NULL, 0);
	t->data[0] ^= 1;
	assert_left(t, false);
	/* A malformed record; a long name with a NUL inside. */
	t = g_byte_array_new();
	fx_raw_block(t, "x", 'x', "9 a=b\n", 6);
	fx_raw_block(t, "f", '0', NULL, 0);
	assert_left(t, false);
	t = g_byte_array_new();
	fx_raw_block(t, "././@LongLink", 'L', "ab\0cd", 5);
	fx_raw_block(t, "f", '0', NULL, 0);
	assert_left(t, false);
	/* A long name and a pax path both. */
	t = g_byte_array_new();
	fx_raw_block(t, "././@LongLink", 'L', "long", 5);
	fx_raw_pax(t, "path", "other", 5);
	fx_raw_block(t, "f", '0', NULL, 0);
	assert_left(t, false);
	/* A ustar hardlink with data: libarchive guesses by what follows,
	 * unless a pax header came before. */
	t = g_byte_array_new();
	fx_raw_block(t, "h", '1', "data", 4);
	assert_left(t, false);
}

static void test_hardlink_data_after_pax(void **state)
{
	GByteArray *t = g_byte_array_new();
	struct lfs_tar_fast m;
	struct bufs b;

	(void)state;
	fx_raw_block(t, "h", '1', "data", 4);
	assert_int_equal(parse(t->data, t->len, true, &m, &b),
			 LFS_TAR_FAST_OK);
	assert_int_equal(m.type, LFS_T_HARDLINK);
	assert_int_equal(m.data_len, 4);
	g_byte_array_unref(t);
}

/* ---- headers cut short, and the end ------------------------------------- */

static void test_more_and_end(void **state)
{
	struct lfs_tar_state st = { 0 };
	GByteArray *t = g_byte_array_new();
	g_autofree char *body = g_strnfill(700, 'n');
	struct lfs_tar_fast m;
	struct bufs b;
	size_t need = 0;
	static const guint8 zero[512];

	(void)state;
	fx_raw_block(t, "././@LongLink", 'L', body, 700);
	fx_raw_block(t, "f", '0', NULL, 0);
	assert_int_equal(lfs_tar_fast_parse(t->data, 100, &st, &m, b.name,
					    b.link, &need),
			 LFS_TAR_FAST_MORE);
	assert_int_equal(need, 512);
	assert_int_equal(lfs_tar_fast_parse(t->data, 600, &st, &m, b.name,
					    b.link, &need),
			 LFS_TAR_FAST_MORE);
	assert_int_equal(need, 512 + 1024);
	assert_int_equal(lfs_tar_fast_parse(t->data, 1536, &st, &m, b.name,
					    b.link, &need),
			 LFS_TAR_FAST_MORE);
	assert_int_equal(need, 2048);
	assert_int_equal(lfs_tar_fast_parse(t->data, t->len, &st, &m,
					    b.name, b.link, &need),
			 LFS_TAR_FAST_OK);
	assert_string_equal(m.name, body);
	assert_int_equal(m.hdr_len, 2048);
	assert_int_equal(parse(zero, sizeof(zero), false, &m, &b),
			 LFS_TAR_FAST_END);
	/* A zero block inside a member's headers is damage. */
	g_byte_array_set_size(t, 0);
	fx_raw_pax(t, "path", "p", 1);
	g_byte_array_append(t, zero, sizeof(zero));
	assert_int_equal(parse(t->data, t->len, false, &m, &b),
			 LFS_TAR_FAST_NO);
	g_byte_array_unref(t);
}

/* ---- the lead ----------------------------------------------------------- */

/* libarchive's reading of @lead then @member: the name of the entry after
 * the lead's, or NULL where it refuses. */
static char *read_behind(const guint8 *lead, size_t lead_len,
			 GByteArray *member, int64_t *size)
{
	GByteArray *t = g_byte_array_new();
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *name = NULL;

	if (lead)
		g_byte_array_append(t, lead, (guint)lead_len);
	g_byte_array_append(t, member->data, member->len);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, t->data, t->len) != ARCHIVE_OK)
		goto out;
	if (lead) {
		if (archive_read_next_header(a, &e) != ARCHIVE_OK)
			goto out;
		assert_string_equal(archive_entry_pathname(e),
				    "layerfs-lead");
		assert_int_equal(archive_entry_size(e), 0);
	}
	if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		name = g_strdup(archive_entry_pathname(e));
		*size = archive_entry_size(e);
	}
out:
	archive_read_free(a);
	g_byte_array_unref(t);
	return name;
}

static void test_lead(void **state)
{
	GByteArray *t = g_byte_array_new();
	static const struct lfs_tar_state plain = { false, false };
	static const struct lfs_tar_state pax = { true, false };
	static const struct lfs_tar_state sparse = { false, true };
	guint8 d[LFS_TAR_FAST_LEAD_MAX], g[LFS_TAR_FAST_LEAD_MAX];
	guint8 z[LFS_TAR_FAST_LEAD_MAX];
	size_t dn, gn, zn;
	g_autofree char *none = NULL, *behind_d = NULL, *behind_g = NULL;
	g_autofree char *hard_d = NULL, *hard_g = NULL, *behind_z = NULL;
	int64_t size = -1;

	(void)state;
	dn = lfs_tar_fast_lead(&plain, d);
	assert_int_equal(dn, 512);
	assert_int_equal(d[156], '5');
	gn = lfs_tar_fast_lead(&pax, g);
	assert_int_equal(gn, 1024);
	assert_int_equal(g[156], 'g');
	assert_int_equal(g[512 + 156], '5');
	zn = lfs_tar_fast_lead(&sparse, z);
	assert_int_equal(zn, 512);
	assert_int_equal(z[156], '0');
	/* A member whose mtime field libarchive's format check refuses:
	 * at the start of a stream it is "not tar", behind a lead it
	 * reads, as it would in the middle of a stream. */
	fx_raw_block(t, "odd", '0', "x", 1);
	patch(t, 0, 136, "no number!", 10);
	fx_raw_end(t);
	none = read_behind(NULL, 0, t, &size);
	assert_null(none);
	behind_d = read_behind(d, dn, t, &size);
	assert_string_equal(behind_d, "odd");
	assert_int_equal(size, 1);
	behind_g = read_behind(g, gn, t, &size);
	assert_string_equal(behind_g, "odd");
	behind_z = read_behind(z, zn, t, &size);
	assert_string_equal(behind_z, "odd");
	/* Behind 'g', a ustar hardlink's size is data (pax); otherwise
	 * libarchive guesses from the next header, a valid one: none. */
	g_byte_array_set_size(t, 0);
	fx_raw_block(t, "h", '1', NULL, 0);
	patch(t, 0, 124, "00000001000", 12);
	fx_raw_block(t, "next", '0', NULL, 0);
	fx_raw_end(t);
	hard_g = read_behind(g, gn, t, &size);
	assert_string_equal(hard_g, "h");
	assert_int_equal(size, 512);
	hard_d = read_behind(d, dn, t, &size);
	assert_string_equal(hard_d, "h");
	assert_int_equal(size, 0);
	g_byte_array_unref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ustar),
		cmocka_unit_test(test_gnu),
		cmocka_unit_test(test_pax),
		cmocka_unit_test(test_odd_numbers),
		cmocka_unit_test(test_v7),
		cmocka_unit_test(test_sizes_not_data),
		cmocka_unit_test(test_names_past_ascii),
		cmocka_unit_test(test_leaves_alone),
		cmocka_unit_test(test_hardlink_data_after_pax),
		cmocka_unit_test(test_hardlink_size_by_format),
		cmocka_unit_test(test_more_and_end),
		cmocka_unit_test(test_lead),
	};

	return cmocka_run_group_tests_name("tar_fast", tests, NULL, NULL);
}
