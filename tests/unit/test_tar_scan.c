/* The indexing pass over tar streams (tar_scan.h): data offsets for every
 * tar dialect, long names, sparse members, whiteout members, unsafe names,
 * and corrupt or truncated streams.  Streams are fed in small chunks so
 * libarchive's buffer boundaries fall everywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fixtures.h"
#include "layerfs/path.h"
#include "layerfs/tar_scan.h"

struct mem_source {
	const guint8 *data;
	gsize len, pos, chunk;
	bool fail_at_end;
};

static ssize_t mem_read(void *ctx, const void **buf)
{
	struct mem_source *m = ctx;
	gsize n = MIN(m->chunk, m->len - m->pos);

	if (n == 0 && m->fail_at_end)
		return -EIO;
	*buf = m->data + m->pos;
	m->pos += n;
	return (ssize_t)n;
}

static const char *mem_error(void *ctx)
{
	(void)ctx;
	return "the source broke";
}

struct scanned {
	struct lfs_index *ix;
	GBytes *tar; /* the uncompressed stream, to check offsets */
	struct fx_log log;
	GError *error;
};

/* Scan @tar in @chunk-byte pieces into s->ix, with the fast reader
 * unless @libarchive_only. */
static bool scan_with(struct scanned *s, GBytes *tar, gsize chunk,
		      bool fail_at_end, bool libarchive_only)
{
	struct mem_source m = { NULL, 0, 0, chunk, fail_at_end };
	struct lfs_tar_source src = { mem_read, mem_error, &m,
				      libarchive_only };
	struct lfs_index_builder *b = lfs_index_builder_new();
	bool ok;

	memset(s, 0, sizeof(*s));
	fx_log_init(&s->log);
	s->tar = tar;
	m.data = g_bytes_get_data(tar, &m.len);
	ok = lfs_tar_scan(&src, b, &s->log.lg, "L", &s->error);
	if (ok)
		s->ix = lfs_index_builder_finish(b, &s->log.lg, "L");
	lfs_index_builder_free(b);
	return ok;
}

static void assert_same_index(const struct lfs_index *a,
			      const struct lfs_index *b)
{
	assert_int_equal(a->nentries, b->nentries);
	assert_memory_equal(a->entries, b->entries,
			    a->nentries * sizeof(a->entries[0]));
	assert_int_equal(a->strtab_len, b->strtab_len);
	assert_memory_equal(a->strtab, b->strtab, a->strtab_len);
	assert_int_equal(a->nextents, b->nextents);
	if (a->nextents)
		assert_memory_equal(a->extents, b->extents,
				    a->nextents * sizeof(a->extents[0]));
	assert_int_equal(a->nxattrs, b->nxattrs);
	if (a->nxattrs)
		assert_memory_equal(a->xattrs, b->xattrs,
				    a->nxattrs * sizeof(a->xattrs[0]));
}

/* Every stream a test scans is scanned twice: with the fast reader
 * (tar_fast.c) and with libarchive alone.  Both must succeed or fail
 * together, with the same index. */
static bool scan_chunked(struct scanned *s, GBytes *tar, gsize chunk,
			 bool fail_at_end)
{
	struct scanned slow;
	bool ok = scan_with(s, tar, chunk, fail_at_end, false);
	bool slow_ok = scan_with(&slow, g_bytes_ref(tar), chunk, fail_at_end,
				 true);

	assert_int_equal(ok, slow_ok);
	if (ok)
		assert_same_index(s->ix, slow.ix);
	lfs_index_free(slow.ix);
	g_bytes_unref(slow.tar);
	fx_log_clear(&slow.log);
	g_clear_error(&slow.error);
	return ok;
}

static bool scan(struct scanned *s, GBytes *tar)
{
	return scan_chunked(s, tar, 97, false);
}

static void scanned_free(struct scanned *s)
{
	lfs_index_free(s->ix);
	g_bytes_unref(s->tar);
	fx_log_clear(&s->log);
	g_clear_error(&s->error);
}

static const struct lfs_index_entry *at(const struct scanned *s,
					const char *path)
{
	uint32_t i = lfs_index_lookup_path(s->ix, path);

	assert_int_not_equal(i, LFS_INDEX_NONE);
	return lfs_index_get(s->ix, i);
}

/* The bytes the index says a regular file holds. */
static void assert_data(const struct scanned *s, const char *path,
			const char *want)
{
	const struct lfs_index_entry *e = at(s, path);
	gsize len;
	const char *tar = g_bytes_get_data(s->tar, &len);

	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->size, strlen(want));
	assert_true(e->u.data + e->size <= len);
	assert_memory_equal(tar + e->u.data, want, e->size);
}

static void check_dialect(int format)
{
	g_autofree char *longdir = g_strnfill(120, 'd');
	g_autofree char *longpath = g_strdup_printf("%s/file", longdir);
	g_autofree char *longlink = g_strnfill(150, 't');
	struct fx_tar *t = fx_tar_new(format);
	struct fx_entry lnk = { .path = "sym", .type = AE_IFLNK,
				.link = longlink };
	struct fx_entry big = { .path = "owner", .data = "o", .uid = 1234,
				.gid = 4321, .mode = 04755 };
	struct scanned s;

	fx_tar_dir(t, "./");
	fx_tar_file(t, "./a", "first file");
	fx_tar_dir(t, longdir);
	fx_tar_file(t, longpath, "in a long path");
	fx_tar_file(t, "empty", "");
	fx_tar_add(t, &lnk);
	fx_tar_add(t, &big);
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_data(&s, "a", "first file");
	assert_data(&s, longpath, "in a long path");
	assert_data(&s, "empty", "");
	assert_string_equal(lfs_index_str(s.ix, at(&s, "sym")->u.target),
			    longlink);
	assert_int_equal(at(&s, "owner")->uid, 1234);
	assert_int_equal(at(&s, "owner")->gid, 4321);
	assert_int_equal(at(&s, "owner")->mode, 04755);
	assert_int_equal(at(&s, "a")->mtime_sec, FX_MTIME);
	assert_false(s.ix->entries[0].flags & LFS_E_IMPLICIT);
	scanned_free(&s);
}

static void test_pax(void **state)
{
	(void)state;
	check_dialect(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
}

static void test_gnu(void **state)
{
	(void)state;
	check_dialect(ARCHIVE_FORMAT_TAR_GNUTAR);
}

/* ustar cannot hold a 150-byte link target; the rest of the checks hold. */
static void test_ustar(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_USTAR);
	struct scanned s;

	(void)state;
	fx_tar_file(t, "x/y", "ustar data");
	fx_tar_file(t, "z", "second");
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_data(&s, "x/y", "ustar data");
	assert_data(&s, "z", "second");
	assert_true(at(&s, "x")->flags & LFS_E_IMPLICIT);
	scanned_free(&s);
}

static void test_types_and_attributes(void **state)
{
	/* pax interchange: sub-second mtimes are written too. */
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	struct fx_entry chr = { .path = "null", .type = AE_IFCHR, .rmajor = 1,
				.rminor = 3 };
	struct fx_entry blk = { .path = "sda", .type = AE_IFBLK, .rmajor = 8,
				.rminor = 0 };
	struct fx_entry fifo = { .path = "fifo", .type = AE_IFIFO };
	struct fx_entry hl = { .path = "hl", .hardlink = "./a" };
	struct fx_entry ns = { .path = "ns", .data = "n", .mtime = 1234,
			       .mtime_nsec = 567890 };
	struct fx_entry xa = { .path = "xa", .data = "x",
			       .xattr = "security.capability",
			       .xattr_value = "cap" };
	struct scanned s;

	(void)state;
	fx_tar_file(t, "a", "target");
	fx_tar_add(t, &chr);
	fx_tar_add(t, &blk);
	fx_tar_add(t, &fifo);
	fx_tar_add(t, &hl);
	fx_tar_add(t, &ns);
	fx_tar_add(t, &xa);
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_int_equal(at(&s, "null")->type, LFS_T_CHR);
	assert_int_equal(at(&s, "null")->u.rdev, makedev(1, 3));
	assert_int_equal(at(&s, "sda")->type, LFS_T_BLK);
	assert_int_equal(at(&s, "sda")->u.rdev, makedev(8, 0));
	assert_int_equal(at(&s, "fifo")->type, LFS_T_FIFO);
	assert_int_equal(at(&s, "hl")->type, LFS_T_HARDLINK);
	assert_int_equal(at(&s, "hl")->u.target,
			 lfs_index_lookup_path(s.ix, "a"));
	assert_int_equal(at(&s, "ns")->mtime_sec, 1234);
	assert_int_equal(at(&s, "ns")->mtime_nsec, 567890);
	assert_int_equal(at(&s, "xa")->xattr_count, 1);
	assert_string_equal(
		lfs_index_str(s.ix, s.ix->xattrs[at(&s, "xa")->xattr_first].name),
		"security.capability");
	assert_int_equal(s.ix->stat_entries, 7);
	scanned_free(&s);
}

/* xattrs as umoci unpacks them (decision 0023): from SCHILY.xattr
 * records alone, the last of a name winning; not from libarchive's own
 * records (LIBARCHIVE.xattr.*: URL-encoded name, base64 value), which
 * bsdtar writes next to them, nor from Red Hat's RHT.security.selinux;
 * never a name umoci leaves alone.  Binary values, and a '%' in a name,
 * stay as the record holds them. */
static void test_xattr_spellings(void **state)
{
	static const struct {
		const char *path;
		struct fx_pax_rec recs[2];
		const char *name, *value; /* NULL: no xattr */
		size_t len;
	} cases[] = {
		{ "schily", { { "SCHILY.xattr.user.s", "schily", 0 } },
		  "user.s", "schily", 6 },
		{ "libarchive", { { "LIBARCHIVE.xattr.user.l%3Dx", "bGli", 0 } },
		  NULL, NULL, 0 },
		{ "rht", { { "RHT.security.selinux", "u:object_r:rht_t:s0", 0 } },
		  NULL, NULL, 0 },
		{ "schily-then-libarchive",
		  { { "SCHILY.xattr.user.d", "schily", 0 },
		    { "LIBARCHIVE.xattr.user.d", "bGliYXJjaGl2ZQ==", 0 } },
		  "user.d", "schily", 6 },
		{ "libarchive-then-schily",
		  { { "LIBARCHIVE.xattr.user.d", "bGliYXJjaGl2ZQ==", 0 },
		    { "SCHILY.xattr.user.d", "schily", 0 } },
		  "user.d", "schily", 6 },
		{ "twice", { { "SCHILY.xattr.user.t", "one", 0 },
			     { "SCHILY.xattr.user.t", "two", 0 } },
		  "user.t", "two", 3 },
		{ "selinux", { { "SCHILY.xattr.security.selinux", "u:r:t:s0", 0 } },
		  NULL, NULL, 0 },
		{ "overlay", { { "SCHILY.xattr.trusted.overlay.opaque", "y", 0 } },
		  NULL, NULL, 0 },
		{ "nfs4", { { "SCHILY.xattr.system.nfs4_acl", "\0\0\0\0", 4 } },
		  NULL, NULL, 0 },
		{ "trusted", { { "SCHILY.xattr.trusted.foo", "bar", 0 } },
		  "trusted.foo", "bar", 3 },
		{ "percent", { { "SCHILY.xattr.user.pct%3D", "raw", 0 } },
		  "user.pct%3D", "raw", 3 },
		{ "binary", { { "SCHILY.xattr.user.bin", "a\0b\nc", 5 } },
		  "user.bin", "a\0b\nc", 5 },
		{ "empty", { { "SCHILY.xattr.user.e", "", 0 } }, NULL, NULL, 0 },
	};
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		fx_raw_paxv(t, cases[i].recs, cases[i].recs[1].key ? 2 : 1);
		fx_raw_block(t, cases[i].path, '0', "data", 4);
	}
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct lfs_index_entry *e = at(&s, cases[i].path);
		const struct lfs_index_xattr *x;

		assert_data(&s, cases[i].path, "data");
		if (!cases[i].name) {
			if (e->xattr_count != 0)
				fail_msg("%s: xattr %s", cases[i].path,
					 lfs_index_str(s.ix, s.ix->xattrs
						 [e->xattr_first].name));
			continue;
		}
		assert_int_equal(e->xattr_count, 1);
		x = &s.ix->xattrs[e->xattr_first];
		assert_string_equal(lfs_index_str(s.ix, x->name),
				    cases[i].name);
		assert_int_equal(x->value_len, cases[i].len);
		assert_memory_equal(lfs_index_str(s.ix, x->value),
				    cases[i].value, cases[i].len);
	}
	scanned_free(&s);
}

/* A SCHILY.xattr name holding a NUL names no xattr: skipped with a
 * warning (libarchive would cut it at the NUL; Go refuses the record). */
static void test_xattr_name_with_nul(void **state)
{
	static const char rec[] = "27 SCHILY.xattr.user.a\0b=v\n";
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_block(t, "PaxHeader", 'x', rec, sizeof(rec) - 1);
	fx_raw_block(t, "f", '0', "data", 4);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_data(&s, "f", "data");
	assert_int_equal(at(&s, "f")->xattr_count, 0);
	assert_true(fx_log_has(&s.log, "skipped: invalid name"));
	scanned_free(&s);
}

/* Extension headers then the end: GNU tar, Go's archive/tar and umoci
 * take an 'x' or 'g' header followed by the end-of-archive blocks for the
 * end (libarchive calls it damaged), and so does the scan, after the
 * members before it, at every chunk size; with no end-of-archive blocks
 * at all, the same with a warning.  Anything but zeros after them is
 * damage still, and so is a header whose checksum is wrong. */
static void test_ext_headers_then_end(void **state)
{
	static const gsize chunks[] = { 1, 97, 512, 4096 };

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		for (int kind = 0; kind < 5; kind++) {
			GByteArray *t = g_byte_array_new();
			struct scanned s;
			bool ok;

			if (kind != 1)
				fx_raw_block(t, "before", '0', "data", 4);
			fx_raw_pax(t, "path", "after", 5);
			/* A wrong checksum: a damaged header, not an
			 * extension header, before the end-of-archive
			 * blocks (taken for the end when a chunk held
			 * those blocks too). */
			if (kind == 4)
				t->data[t->len - 1024 + 148] ^= 1;
			if (kind == 1 || kind == 2 || kind == 4)
				fx_raw_end(t);
			if (kind == 3) { /* a block that is not zeros */
				guint8 junk[512];

				memset(junk, 'j', sizeof(junk));
				g_byte_array_append(t, junk, sizeof(junk));
				fx_raw_end(t);
			}
			ok = scan_chunked(&s, g_byte_array_free_to_bytes(t),
					  chunks[i], false);
			if (kind >= 3) {
				assert_false(ok);
				assert_non_null(strstr(s.error->message,
						       "corrupt or truncated"));
				scanned_free(&s);
				continue;
			}
			assert_true(ok);
			assert_int_equal(lfs_index_lookup_path(s.ix, "after"),
					 LFS_INDEX_NONE);
			if (kind != 1)
				assert_data(&s, "before", "data");
			assert_int_equal(fx_log_has(&s.log, "without the "
							    "end-of-archive"),
					 kind == 0);
			scanned_free(&s);
		}
	}
}

/* A stream that ends with its last member's data, without the padding to
 * a block or the end-of-archive blocks (Debian 12's umoci insert writes
 * such layers; umoci takes them): the member whole, with a warning, at
 * every chunk size.  Data cut short is still an error. */
static void test_last_member_without_padding(void **state)
{
	static const gsize chunks[] = { 1, 97, 512, 4096 };

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		for (int cut = 0; cut < 2; cut++) {
			GByteArray *t = g_byte_array_new();
			struct scanned s;
			bool ok;

			fx_raw_block(t, "first", '0', "first\n", 6);
			fx_raw_block(t, "last", '0', "last member data\n", 17);
			/* Its data, and no padding; or 7 bytes short. */
			g_byte_array_set_size(t, 1536 + 17 - (cut ? 7 : 0));
			ok = scan_chunked(&s, g_byte_array_free_to_bytes(t),
					  chunks[i], false);
			if (cut) {
				assert_false(ok);
				assert_non_null(strstr(s.error->message,
						       "corrupt or truncated"));
			} else {
				assert_true(ok);
				assert_data(&s, "first", "first\n");
				assert_data(&s, "last", "last member data\n");
				assert_true(fx_log_has(&s.log,
						       "without its padding"));
			}
			scanned_free(&s);
		}
	}
}

/* Old-GNU fields in the header of a member that is not sparse (type
 * '0') are junk, as GNU tar reads them: a "realsize" does not change its
 * size, a sparse map does not make it sparse.  An 'S' member is sparse
 * as its map says. */
static void test_old_gnu_fields_of_plain_members(void **state)
{
	GByteArray *t = g_byte_array_new();
	const struct lfs_index_entry *e;
	struct scanned s;

	(void)state;
	fx_raw_block(t, "realsize", '0', "hello world\n", 12);
	fx_raw_oldgnu(t, 0, 0777777, 0, 0);
	fx_raw_block(t, "map", '0', "mapped data\n", 12);
	fx_raw_oldgnu(t, 1024, 0, 4096, 12);
	fx_raw_block(t, "sparse", 'S', "real\n", 5);
	fx_raw_oldgnu(t, 2048, 8192, 4096, 5);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_data(&s, "realsize", "hello world\n");
	assert_data(&s, "map", "mapped data\n");
	e = at(&s, "sparse");
	assert_int_equal(e->size, 8192);
	assert_true(e->flags & LFS_E_SPARSE);
	scanned_free(&s);
}

/* A pax ACL does not change the mode: the header's 0670 stands (libarchive
 * makes it 0640 from the owning group's entry), and the ACL is not shown,
 * as umoci unpacks it. */
static void test_pax_acl_keeps_mode(void **state)
{
	static const char acl[] =
		"user::rw-,group::r--,group:1234:rwx,mask::rwx,other::---";
	GByteArray *t = g_byte_array_new();
	const struct lfs_index_entry *e;
	struct scanned s;

	(void)state;
	fx_raw_pax(t, "SCHILY.acl.access", acl, strlen(acl));
	fx_raw_block(t, "f", '0', "acl\n", 4);
	fx_raw_mode(t, 1024, 0670);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	e = at(&s, "f");
	assert_int_equal(e->mode, 0670);
	assert_int_equal(e->xattr_count, 0);
	assert_data(&s, "f", "acl\n");
	scanned_free(&s);
}

/* A negative pax mtime with a fraction is read as GNU tar and Go read it:
 * "-86400.25" is -86401 s + 0.75 s (libarchive: -86400 s + 0.25 s). */
static void test_negative_fractional_mtime(void **state)
{
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_pax(t, "mtime", "-86400.25", 9);
	fx_raw_block(t, "neg", '0', "t\n", 2);
	fx_raw_pax(t, "mtime", "-86400", 6);
	fx_raw_block(t, "whole", '0', "t\n", 2);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_int_equal(at(&s, "neg")->mtime_sec, -86401);
	assert_int_equal(at(&s, "neg")->mtime_nsec, 750000000);
	assert_int_equal(at(&s, "whole")->mtime_sec, -86400);
	assert_int_equal(at(&s, "whole")->mtime_nsec, 0);
	scanned_free(&s);
}

/* A sparse map whose data reaches past the file's size (byte 4099 of a
 * 4096-byte file) refuses the layer, naming the member and the problem,
 * in the old GNU format and pax 0.1 and 1.0, as Go's archive/tar (so
 * umoci) refuses it; it was kept as an index its own check rejects,
 * built again on every mount. */
static void test_sparse_map_past_size(void **state)
{
	static const struct fx_pax_rec pax01[] = {
		{ "GNU.sparse.size", "4096", 0 },
		{ "GNU.sparse.numblocks", "1", 0 },
		{ "GNU.sparse.map", "4094,5", 0 },
	};
	static const struct fx_pax_rec pax10[] = {
		{ "GNU.sparse.major", "1", 0 },
		{ "GNU.sparse.minor", "0", 0 },
		{ "GNU.sparse.name", "sp", 0 },
		{ "GNU.sparse.realsize", "4096", 0 },
	};
	static const char map10[512] = "1\n4094\n5\n";

	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		GByteArray *t = g_byte_array_new();
		struct scanned s;

		fx_raw_block(t, "before", '0', "data", 4);
		switch (kind) {
		case 0: /* old GNU: realsize and the map in the header */
			fx_raw_block(t, "sp", 'S', "12345", 5);
			fx_raw_oldgnu(t, 1024, 4096, 4094, 5);
			break;
		case 1:
			fx_raw_paxv(t, pax01, G_N_ELEMENTS(pax01));
			fx_raw_block(t, "sp", '0', "12345", 5);
			break;
		case 2: { /* the map is the data's first block */
			guint8 data[517];

			memcpy(data, map10, 512);
			memcpy(data + 512, "12345", 5);
			fx_raw_paxv(t, pax10, G_N_ELEMENTS(pax10));
			fx_raw_block(t, "GNUSparseFile.0/sp", '0', data,
				     sizeof(data));
			break;
		}
		}
		fx_raw_block(t, "after", '0', "data", 4);
		fx_raw_end(t);
		assert_false(scan(&s, g_byte_array_free_to_bytes(t)));
		if (!strstr(s.error->message,
			    "L: entry \"sp\": its sparse map reaches past the "
			    "end of the file (byte 4099 of 4096); refusing "
			    "the layer"))
			fail_msg("kind %d: %s", kind, s.error->message);
		scanned_free(&s);
	}
}

/* Append a sparse member @name of @kind (0: old GNU, 1: pax 0.1, 2: pax
 * 1.0): 4096 bytes, "12345" at offset 1000, then @extra bytes of data its
 * map does not name (@zeros: zeros, else 'x'). */
static void add_sparse_with_tail(GByteArray *t, const char *name, int kind,
				 size_t extra, bool zeros)
{
	static const struct fx_pax_rec pax01[] = {
		{ "GNU.sparse.size", "4096", 0 },
		{ "GNU.sparse.numblocks", "1", 0 },
		{ "GNU.sparse.map", "1000,5", 0 },
	};
	static const struct fx_pax_rec pax10[] = {
		{ "GNU.sparse.major", "1", 0 },
		{ "GNU.sparse.minor", "0", 0 },
		{ "GNU.sparse.realsize", "4096", 0 },
	};
	g_autofree char *stand_in = g_strdup_printf("GNUSparseFile.0/%s",
						    name);
	struct fx_pax_rec real_name = { "GNU.sparse.name", name, 0 };
	GByteArray *data = g_byte_array_new();
	size_t at;

	if (kind == 2) { /* the map is the data's first block */
		guint8 map[512] = "1\n1000\n5\n";

		g_byte_array_append(data, map, sizeof(map));
	}
	g_byte_array_append(data, (const guint8 *)"12345", 5);
	at = data->len;
	g_byte_array_set_size(data, at + (guint)extra);
	memset(data->data + at, zeros ? 0 : 'x', extra);

	if (kind == 1)
		fx_raw_paxv(t, pax01, G_N_ELEMENTS(pax01));
	if (kind == 2) {
		struct fx_pax_rec recs[G_N_ELEMENTS(pax10) + 1];

		memcpy(recs, pax10, sizeof(pax10));
		recs[G_N_ELEMENTS(pax10)] = real_name;
		fx_raw_paxv(t, recs, G_N_ELEMENTS(recs));
	}
	at = t->len;
	fx_raw_block(t, kind == 2 ? stand_in : name, kind == 0 ? 'S' : '0',
		     data->data, data->len);
	if (kind == 0)
		fx_raw_oldgnu(t, at, 4096, 1000, 5);
	g_byte_array_unref(data);
}

/* "sp1" and "sp2", sparse members of @kind with @extra bytes after their
 * maps (add_sparse_with_tail()), between members "before" and "after". */
static GBytes *sparse_with_tail(int kind, size_t extra, bool zeros)
{
	GByteArray *t = g_byte_array_new();

	fx_raw_block(t, "before", '0', "data", 4);
	add_sparse_with_tail(t, "sp1", kind, extra, zeros);
	add_sparse_with_tail(t, "sp2", kind, extra, zeros);
	fx_raw_block(t, "after", '0', "after\n", 6);
	fx_raw_end(t);
	return g_byte_array_free_to_bytes(t);
}

/* A sparse member holding data after all its map names (a valid member
 * to GNU tar, which skips it, and to libarchive since 3.8.1): the file
 * is what its map says, with a warning, and the members after it read
 * right, in every GNU sparse format, whatever the tail (a byte, a block
 * of zeros that libarchive 3.6 would take for the end of the archive,
 * more than a chunk) and wherever chunks end.  libarchive 3.6 stopped
 * where the map did and failed the layer, or ended it early. */
static void test_sparse_data_after_map(void **state)
{
	static const struct {
		size_t extra;
		bool zeros;
	} tails[] = { { 1, false }, { 511, false }, { 512, true },
		      { 1024, true }, { 5000, false } };
	/* 65536: all in one chunk, which after the first resync is a copy
	 * of its rest, which the second resync copies from. */
	static const gsize chunks[] = { 1, 97, 512, 4096, 65536 };

	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		for (size_t i = 0; i < G_N_ELEMENTS(tails); i++) {
			for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
				GBytes *tar = sparse_with_tail(
					kind, tails[i].extra, tails[i].zeros);
				const char *bytes = g_bytes_get_data(tar, NULL);
				g_autofree char *warning = g_strdup_printf(
					"entry \"sp2\": %zu byte%s of its data "
					"after all its sparse map names",
					tails[i].extra,
					tails[i].extra == 1 ? "" : "s");
				struct scanned s;

				print_message("# kind %d, %zu bytes after, "
					      "chunks of %zu\n",
					      kind, tails[i].extra, chunks[c]);
				if (!scan_chunked(&s, tar, chunks[c], false))
					fail_msg("%s", s.error->message);
				assert_data(&s, "before", "data");
				assert_data(&s, "after", "after\n");
				for (int k = 0; k < 2; k++) {
					const struct lfs_index_entry *e =
						at(&s, k ? "sp2" : "sp1");
					const struct lfs_index_extent *x =
						&s.ix->extents[e->u.ext.first];

					assert_int_equal(e->size, 4096);
					assert_true(e->flags & LFS_E_SPARSE);
					assert_int_equal(e->u.ext.count, 1);
					assert_int_equal(x->logical, 1000);
					assert_int_equal(x->len, 5);
					assert_memory_equal(bytes + x->physical,
							    "12345", 5);
				}
				assert_true(fx_log_has(&s.log, warning));
				scanned_free(&s);
			}
		}
	}
}

/* A failure libarchive gives no reason for (a pax 1.0 sparse map it
 * cannot parse) is still said in words, never "(null)". */
static void test_failure_without_reason(void **state)
{
	static const char recs[] = "22 GNU.sparse.major=1\n"
				   "22 GNU.sparse.minor=0\n"
				   "22 GNU.sparse.name=sp\n"
				   "27 GNU.sparse.realsize=100\n";
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_block(t, "PaxHeader", 'x', recs, strlen(recs));
	fx_raw_block(t, "GNUSparseFile.0/sp", '0', "zz\nqq\n", 6);
	fx_raw_end(t);
	assert_false(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_null(strstr(s.error->message, "(null)"));
	assert_non_null(strstr(s.error->message,
			       "a member's headers cannot be read"));
	scanned_free(&s);
}

static void test_whiteout_members(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct scanned s;

	(void)state;
	fx_tar_dir(t, "d");
	fx_tar_file(t, "d/.wh.gone", "");
	fx_tar_file(t, "d/.wh..wh..opq", "");
	fx_tar_file(t, ".wh..wh.plnk", "");
	fx_tar_file(t, ".wh.rootfile", "");
	fx_tar_file(t, "e/.wh.", "");
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_int_equal(at(&s, "d/gone")->type, LFS_T_WHITEOUT);
	assert_true(at(&s, "d")->flags & LFS_E_OPAQUE);
	assert_int_equal(at(&s, "rootfile")->type, LFS_T_WHITEOUT);
	assert_int_equal(lfs_index_lookup_path(s.ix, ".wh..wh.plnk"),
			 LFS_INDEX_NONE);
	assert_int_equal(lfs_index_lookup_path(s.ix, "d/.wh.gone"),
			 LFS_INDEX_NONE);
	assert_true(fx_log_has(&s.log, "entry \"e/.wh.\" skipped: whiteout "
				       "of an invalid name"));
	assert_int_equal(s.ix->stat_whiteouts, 3);
	scanned_free(&s);
}

/* Names that point out of the tree land inside it, as umoci reads them
 * (decision 0023): a leading '/' goes, each ".." takes away the name
 * before it, never above the root; a hardlink's target the same way. */
static void test_names_cleaned_inside_root(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry badlink = { .path = "hl", .hardlink = "../outside" };
	struct scanned s;

	(void)state;
	fx_tar_file(t, "../up", "up");
	fx_tar_file(t, "a/../../evil", "evil");
	fx_tar_file(t, "/etc/shadow", "shadow");
	fx_tar_add(t, &badlink);
	fx_tar_file(t, "good", "ok");
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_data(&s, "up", "up");
	assert_data(&s, "evil", "evil");
	assert_data(&s, "etc/shadow", "shadow");
	assert_true(at(&s, "hl")->flags & LFS_E_XLINK);
	assert_string_equal(lfs_index_str(s.ix, at(&s, "hl")->u.target),
			    "outside");
	assert_data(&s, "good", "ok");
	assert_false(fx_log_has(&s.log, "skipped"));
	scanned_free(&s);
}

/* A NUL inside a pax path or linkpath, or a GNU long name or long link,
 * reaches libarchive's caller cut short at the NUL ("evil\0/../x" reads as
 * "evil"): the member is skipped, not applied under the shorter name.
 * Chunk sizes put the chunk boundaries everywhere in the headers, which
 * the scanner must see whole. */
static void test_nul_in_names_skipped(void **state)
{
	static const gsize chunks[] = { 1, 7, 97, 511, 512, 513, 1500, 1 << 20 };
	g_autofree char *dir = g_strnfill(150, 'd');
	g_autofree char *longname = g_strdup_printf("%s/%s", dir, dir);
	GByteArray *t = g_byte_array_new();
	GBytes *tar;

	(void)state;
	fx_raw_pax(t, "path", "evil1\0/../../x", 14);
	fx_raw_block(t, "ustar-name", '0', "bad1", 4);
	fx_raw_block(t, "././@LongLink", 'L', "evil2\0/../y\0", 13);
	fx_raw_block(t, "ustar-name", '0', "bad2", 4);
	fx_raw_pax(t, "linkpath", "good\0/../../etc/shadow", 22);
	fx_raw_block(t, "hl", '1', NULL, 0);
	fx_raw_block(t, "././@LongLink", 'K', "good\0x", 6);
	fx_raw_block(t, "sym", '2', NULL, 0);
	/* Whole names in the same headers pass, a binary xattr too. */
	fx_raw_pax(t, "path", longname, strlen(longname));
	fx_raw_block(t, "ustar-name", '0', "long", 4);
	fx_raw_pax(t, "SCHILY.xattr.user.bin", "a\0b", 3);
	fx_raw_block(t, "good", '0', "ok", 2);
	fx_raw_end(t);
	tar = g_byte_array_free_to_bytes(t);
	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		struct scanned s;

		assert_true(scan_chunked(&s, g_bytes_ref(tar), chunks[i],
					 false));
		assert_true(fx_log_has(&s.log, "L: entry \"evil1\" skipped: "
					       "name holds a NUL byte"));
		assert_true(fx_log_has(&s.log, "L: entry \"evil2\" skipped: "
					       "name holds a NUL byte"));
		assert_true(fx_log_has(&s.log, "L: entry \"hl\" skipped: link "
					       "target holds a NUL byte"));
		assert_true(fx_log_has(&s.log, "L: entry \"sym\" skipped: "
					       "link target holds a NUL byte"));
		assert_data(&s, longname, "long");
		assert_data(&s, "good", "ok");
		assert_int_equal(at(&s, "good")->xattr_count, 1);
		/* root, the long name, its implicit directory and "good":
		 * nothing under a cut name. */
		assert_int_equal(s.ix->nentries, 4);
		scanned_free(&s);
	}
	g_bytes_unref(tar);
}

static void test_raw_name_bytes(void **state)
{
	static const char utf8[] = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac";
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct scanned s;

	(void)state;
	fx_tar_file(t, utf8, "u");
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_data(&s, utf8, "u");
	scanned_free(&s);
}

static void test_sparse_pax(void **state)
{
	static const uint64_t map[] = { 4096, 5, 70000, 6, 0, 0 };
	g_autofree char *content = g_malloc0(100000);
	struct fx_entry sp = { .path = "sp", .data = content, .len = 100000,
			       .sparse = map };
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_index_entry *e;
	const struct lfs_index_extent *x;
	const char *tar;
	struct scanned s;

	(void)state;
	memcpy(content + 4096, "HELLO", 5);
	memcpy(content + 70000, "WORLD!", 6);
	fx_tar_add(t, &sp);
	fx_tar_file(t, "after", "next");
	assert_true(scan(&s, fx_tar_finish(t)));
	tar = g_bytes_get_data(s.tar, NULL);
	e = at(&s, "sp");
	assert_true(e->flags & LFS_E_SPARSE);
	assert_int_equal(e->size, 100000);
	assert_int_equal(e->u.ext.count, 2);
	x = &s.ix->extents[e->u.ext.first];
	assert_int_equal(x[0].logical, 4096);
	assert_int_equal(x[0].len, 5);
	assert_memory_equal(tar + x[0].physical, "HELLO", 5);
	assert_int_equal(x[1].logical, 70000);
	assert_memory_equal(tar + x[1].physical, "WORLD!", 6);
	assert_data(&s, "after", "next");
	scanned_free(&s);
}

/* Every sparse member of @s is the file fx_sparse_files() describes: one
 * extent per data run, at the run's offset and length, whose bytes in the
 * stream are the run's; the member after them is intact. */
static void check_gnu_sparse(const struct scanned *s)
{
	const char *tar = g_bytes_get_data(s->tar, NULL);
	size_t n;
	const struct fx_sparse *sps = fx_sparse_files(&n);

	for (size_t i = 0; i < n; i++) {
		const struct fx_sparse *sp = &sps[i];
		const struct lfs_index_entry *e = at(s, sp->name);
		const struct lfs_index_extent *x =
		    &s->ix->extents[e->u.ext.first];
		g_autofree guint8 *content = fx_sparse_content(sp);

		print_message("# %s\n", sp->name);
		assert_int_equal(e->type, LFS_T_REG);
		assert_true(e->flags & LFS_E_SPARSE);
		assert_int_equal(e->size, sp->size);
		assert_int_equal(e->u.ext.count, sp->nruns);
		for (size_t k = 0; k < sp->nruns; k++) {
			assert_int_equal(x[k].logical, sp->runs[k].off);
			assert_int_equal(x[k].len, sp->runs[k].len);
			assert_memory_equal(tar + x[k].physical,
					    content + sp->runs[k].off,
					    sp->runs[k].len);
		}
	}
	assert_data(s, "plain", "plain\n");
}

/* The archive is in the format it claims: for the old GNU format, "sp"
 * has an 'S' header (4 runs) and two extension blocks (21 and 5), the
 * first flagged as followed by another; for pax, the records of that
 * version are there. */
static void assert_sparse_format(GBytes *tar, enum fx_gnu_sparse kind)
{
	static const char *const marks[] = {
	    [FX_GNU_PAX_00] = "GNU.sparse.offset=",
	    [FX_GNU_PAX_01] = "GNU.sparse.map=",
	    [FX_GNU_PAX_10] = "GNU.sparse.major=1",
	};
	gsize len;
	const guint8 *p = g_bytes_get_data(tar, &len);

	if (kind != FX_GNU_OLD) {
		assert_non_null(memmem(p, len, marks[kind],
				       strlen(marks[kind])));
		return;
	}
	for (gsize off = 0; off + 3 * 512 <= len; off += 512) {
		const guint8 *h = p + off;

		if (h[156] != 'S' || strcmp((const char *)h, "sp") != 0)
			continue;
		assert_int_equal(h[482], 1);	   /* isextended */
		assert_int_equal(h[512 + 504], 1); /* another follows */
		assert_int_equal(h[1024 + 504], 0);
		return;
	}
	fail_msg("no GNU 'S' header for \"sp\"");
}

/* GNU tar's sparse formats, which libarchive's writer does not make: the
 * old GNU header with extension blocks, and pax 0.0, 0.1 and 1.0. */
static void test_sparse_gnu_tar(void **state)
{
	static const enum fx_gnu_sparse kinds[] = {
	    FX_GNU_OLD, FX_GNU_PAX_00, FX_GNU_PAX_01, FX_GNU_PAX_10};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		size_t n;
		const struct fx_sparse *sps = fx_sparse_files(&n);
		GBytes *tar = fx_gnu_sparse_tar(kinds[i], sps, n, false);
		struct scanned s;

		if (!tar)
			skip();
		print_message("# %s\n", fx_gnu_sparse_name(kinds[i]));
		assert_sparse_format(tar, kinds[i]);
		/* In pieces that cut headers and maps anywhere, and at once. */
		assert_true(scan(&s, g_bytes_ref(tar)));
		check_gnu_sparse(&s);
		scanned_free(&s);
		assert_true(scan_chunked(&s, tar, 1 << 20, false));
		check_gnu_sparse(&s);
		scanned_free(&s);
	}
}

/* A source of @prefix, then @zeros zero bytes, handed out a MiB at a time
 * from one buffer: a stream of many GiB that costs no memory. */
struct zero_source {
	GBytes *prefix;
	bool prefix_done;
	uint64_t zeros;
};

static ssize_t zero_read(void *ctx, const void **buf)
{
	static const guint8 zero[1 << 20];
	struct zero_source *z = ctx;
	gsize n;

	if (!z->prefix_done) {
		z->prefix_done = true;
		*buf = g_bytes_get_data(z->prefix, &n);
		return (ssize_t)n;
	}
	n = (gsize)MIN(z->zeros, sizeof(zero));
	z->zeros -= n;
	*buf = zero;
	return (ssize_t)n;
}

/* A member over 8 GiB: the ustar size field cannot hold it, the pax
 * "size" record does, and its data lies right after the headers. */
static void test_size_over_8gib(void **state)
{
	static const uint64_t size = UINT64_C(9000000000);
	g_autofree char *value = g_strdup_printf("%" G_GUINT64_FORMAT, size);
	GByteArray *t = g_byte_array_new();
	struct zero_source z = { NULL, false, 0 };
	struct lfs_tar_source src = { zero_read, mem_error, &z };
	struct lfs_index_builder *b = lfs_index_builder_new();
	const struct lfs_index_entry *e;
	struct fx_log log;
	struct lfs_index *ix;
	GError *error = NULL;
	uint32_t i;

	(void)state;
	fx_log_init(&log);
	fx_raw_pax(t, "size", value, strlen(value));
	fx_raw_block(t, "huge", '0', NULL, 0);
	z.prefix = g_byte_array_free_to_bytes(t);
	/* The data, its padding to a block (none), the end marker. */
	z.zeros = size + 1024;
	assert_true(lfs_tar_scan(&src, b, &log.lg, "L", &error));
	ix = lfs_index_builder_finish(b, &log.lg, "L");
	i = lfs_index_lookup_path(ix, "huge");
	assert_int_not_equal(i, LFS_INDEX_NONE);
	e = lfs_index_get(ix, i);
	assert_int_equal(e->type, LFS_T_REG);
	assert_true(e->size == size);
	assert_int_equal(e->u.data, g_bytes_get_size(z.prefix));
	lfs_index_free(ix);
	lfs_index_builder_free(b);
	g_bytes_unref(z.prefix);
	fx_log_clear(&log);
}

static void test_empty_stream(void **state)
{
	struct scanned s;

	(void)state;
	assert_true(scan(&s, g_bytes_new(NULL, 0)));
	assert_int_equal(s.ix->nentries, 1);
	scanned_free(&s);
}

static void test_truncated_tar(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) whole = NULL;
	g_autofree char *big = g_strnfill(5000, 'b');
	gsize len;
	const guint8 *data;
	struct scanned s;

	(void)state;
	fx_tar_file(t, "big", big);
	whole = fx_tar_finish(t);
	data = g_bytes_get_data(whole, &len);
	assert_false(scan(&s, g_bytes_new(data, 3000)));
	assert_int_equal(s.error->code, EIO);
	assert_non_null(strstr(s.error->message, "L: corrupt or truncated "
						 "tar near stream offset"));
	scanned_free(&s);
}

static void test_not_a_tar(void **state)
{
	g_autofree char *junk = g_strnfill(4096, 'j');
	struct scanned s;

	(void)state;
	assert_false(scan(&s, g_bytes_new(junk, 4096)));
	assert_non_null(strstr(s.error->message, "L: corrupt or truncated"));
	scanned_free(&s);
}

static void test_source_error_reported(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) whole = NULL;
	gsize len;
	const guint8 *data;
	struct scanned s;

	(void)state;
	fx_tar_file(t, "f", "data");
	whole = fx_tar_finish(t);
	data = g_bytes_get_data(whole, &len);
	/* Half a header, then the source fails. */
	assert_false(scan_chunked(&s, g_bytes_new(data, 300), 100, true));
	assert_string_equal(s.error->message, "L: the source broke");
	scanned_free(&s);
}

/* The source fails inside a member's data (a read error of the disk
 * under the blob): its own reason is the error, not a corrupt tar. */
static void test_source_error_in_data(void **state)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autofree char *big = g_strnfill(5000, 'b');
	g_autoptr(GBytes) whole = NULL;
	const guint8 *data;
	gsize len;
	struct scanned s;

	(void)state;
	fx_tar_file(t, "big", big);
	whole = fx_tar_finish(t);
	data = g_bytes_get_data(whole, &len);
	assert_false(scan_chunked(&s, g_bytes_new(data, 3000), 100, true));
	assert_int_equal(s.error->code, EIO);
	assert_string_equal(s.error->message, "L: the source broke");
	scanned_free(&s);
}

/* Limits against hostile members: over-long symlink targets are skipped,
 * and an entry keeps at most LFS_XATTR_COUNT_MAX xattrs. */
static void test_limits(void **state)
{
	g_autofree char *target = g_strnfill(LFS_PATH_MAX + 1, 't');
	g_autofree char *fits = g_strnfill(LFS_PATH_MAX, 'f');
	struct fx_entry toolong = { .path = "long", .type = AE_IFLNK,
				    .link = target };
	struct fx_entry ok = { .path = "ok", .type = AE_IFLNK, .link = fits };
	g_autoptr(GPtrArray) xs = g_ptr_array_new_with_free_func(g_free);
	struct fx_entry many = { .path = "many", .data = "m" };
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct scanned s;

	(void)state;
	for (int i = 0; i < LFS_XATTR_COUNT_MAX + 10; i++) {
		g_ptr_array_add(xs, g_strdup_printf("user.x%03d", i));
		g_ptr_array_add(xs, g_strdup("v"));
	}
	g_ptr_array_add(xs, NULL);
	many.xattrs = (const char *const *)xs->pdata;
	fx_tar_add(t, &toolong);
	fx_tar_add(t, &ok);
	fx_tar_add(t, &many);
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_int_equal(lfs_index_lookup_path(s.ix, "long"), LFS_INDEX_NONE);
	assert_true(fx_log_has(&s.log, "entry \"long\" skipped: symlink "
				       "target longer than 4095 bytes"));
	assert_int_equal(at(&s, "ok")->size, LFS_PATH_MAX);
	assert_int_equal(at(&s, "many")->xattr_count, LFS_XATTR_COUNT_MAX);
	assert_true(fx_log_has(&s.log, "more than 128 xattrs"));
	scanned_free(&s);
}

/* ---- hand-made headers, for what libarchive's writer cannot write ---- */

/* A ustar header block for @name, type @type, @size bytes of data. */
static void raw_header(guint8 *h, const char *name, char type, size_t size)
{
	unsigned int sum = 0;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	g_snprintf((char *)h + 124, 12, "%011zo", size);
	memcpy(h + 136, "14000000000", 11);
	h[156] = (guint8)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	g_snprintf((char *)h + 148, 8, "%06o", sum);
}

static size_t digits(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* Append a pax record "LEN key=value\n" (LEN counts its own digits). */
static void pax_record(GString *s, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3;
	size_t len = body + 1;

	while (len != body + digits(len))
		len = body + digits(len);
	g_string_append_printf(s, "%zu %s=%s\n", len, key, value);
}

static void append_block(GByteArray *tar, const void *data, size_t len)
{
	guint8 pad[512] = { 0 };

	g_byte_array_append(tar, data, (guint)len);
	if (len % 512)
		g_byte_array_append(tar, pad, (guint)(512 - len % 512));
}

/* A member that says "sparse, 64 KiB" with an empty map holds no data: it
 * reads as 64 KiB of zeros (as Go's archive/tar gives it), and never as the
 * bytes of the member after it. */
static void test_sparse_empty_map(void **state)
{
	static const char secret[] = "SECRET-CONTENT-OF-NEXT-FILE";
	g_autoptr(GString) pax = g_string_new(NULL);
	GByteArray *tar = g_byte_array_new();
	guint8 h[512], zeros[1024] = { 0 };
	const struct lfs_index_entry *e;
	struct scanned s;

	(void)state;
	pax_record(pax, "GNU.sparse.size", "65536");
	pax_record(pax, "GNU.sparse.numblocks", "0");
	raw_header(h, "PaxHeaders/holey", 'x', pax->len);
	append_block(tar, h, 512);
	append_block(tar, pax->str, pax->len);
	raw_header(h, "holey", '0', 0);
	append_block(tar, h, 512);
	raw_header(h, "next", '0', strlen(secret));
	append_block(tar, h, 512);
	append_block(tar, secret, strlen(secret));
	append_block(tar, zeros, sizeof(zeros));
	assert_true(scan(&s, g_byte_array_free_to_bytes(tar)));
	e = at(&s, "holey");
	assert_int_equal(e->size, 65536);
	assert_true(e->flags & LFS_E_SPARSE);
	assert_int_equal(e->u.ext.count, 0);
	assert_data(&s, "next", secret);
	scanned_free(&s);
}

/* ---- the fast reader and libarchive taking over ------------------------ */



/* The fast reader reads the plain members before a sparse one; libarchive
 * reads on from the sparse one, and every offset stays the stream's. */
static void test_libarchive_takes_over(void **state)
{
	static const uint64_t map[] = { 4096, 5, 0, 0 };
	g_autofree char *content = g_malloc0(8192);
	struct fx_entry sp = { .path = "sp", .data = content, .len = 8192,
			       .sparse = map };
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_index_extent *x;
	const struct lfs_index_entry *e;
	struct scanned s;

	(void)state;
	memcpy(content + 4096, "HELLO", 5);
	fx_tar_file(t, "a", "first");
	fx_tar_file(t, "b", "second");
	fx_tar_add(t, &sp);
	fx_tar_file(t, "c", "third");
	assert_true(scan(&s, fx_tar_finish(t)));
	assert_true(fx_log_has(&s.log, "libarchive reads on from stream "
				       "offset 2048"));
	assert_data(&s, "a", "first");
	assert_data(&s, "b", "second");
	assert_data(&s, "c", "third");
	e = at(&s, "sp");
	x = &s.ix->extents[e->u.ext.first];
	assert_memory_equal((const char *)g_bytes_get_data(s.tar, NULL) +
				    x[0].physical,
			    "HELLO", 5);
	scanned_free(&s);
}

/* A member the fast reader leaves alone, whose header libarchive's format
 * check would refuse at a stream's start (its mtime field is not a
 * number), in the middle of a stream: read as libarchive alone reads it. */
static void test_takes_over_behind_lead(void **state)
{
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_block(t, "a", '0', "first", 5);
	fx_raw_block(t, "odd", '7', "contiguous", 10);
	memcpy(t->data + 1024 + 136, "not a time", 10);
	fx_raw_checksum(t->data + 1024);
	fx_raw_block(t, "b", '0', "after", 5);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_true(fx_log_has(&s.log, "libarchive reads on"));
	assert_data(&s, "odd", "contiguous");
	assert_data(&s, "b", "after");
	scanned_free(&s);
}

/* libarchive refuses GNU sparse records on a member that is not a file
 * until it has read a member of type '0', and then takes them on any:
 * here a directory renamed by GNU.sparse.name after a file.  The fast
 * reader leaves the directory to libarchive, whose new reader is led in
 * by an empty file it drops, so that it reads the directory as one reader
 * from the start would; and reads the rest of the stream the same. */
static void test_takes_over_where_sparse_allowed(void **state)
{
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_block(t, "a", '0', "first", 5);
	fx_raw_pax(t, "GNU.sparse.name", "renamed", 7);
	fx_raw_block(t, "d", '5', NULL, 0);
	fx_raw_block(t, "b", '0', "after", 5);
	fx_raw_end(t);
	assert_true(scan(&s, g_byte_array_free_to_bytes(t)));
	assert_true(fx_log_has(&s.log, "libarchive reads on"));
	assert_int_equal(at(&s, "renamed")->type, LFS_T_DIR);
	assert_int_equal(lfs_index_lookup_path(s.ix, "layerfs-lead"),
			 LFS_INDEX_NONE);
	assert_data(&s, "a", "first");
	assert_data(&s, "b", "after");
	scanned_free(&s);
}

/* libarchive checks a stream's first header more strictly than the rest:
 * an mtime field with a blank inside ("74401 70400") makes it refuse the
 * stream, and the fast reader must not take it either. */
static void test_first_header_checked(void **state)
{
	GByteArray *t = g_byte_array_new();
	struct scanned s;

	(void)state;
	fx_raw_block(t, "etc", '5', NULL, 0);
	fx_raw_block(t, "etc/hostname", '0', "host\n", 5);
	fx_raw_end(t);
	memcpy(t->data + 136, "74401 70400 ", 12);
	fx_raw_checksum(t->data);
	assert_false(scan(&s, g_byte_array_free_to_bytes(t)));
	scanned_free(&s);
}

/* A ustar hardlink whose size field says 4.  Where a pax header came
 * before, libarchive reads the 4 bytes as its data, and so does the fast
 * reader.  Otherwise libarchive guesses from the header that follows (and,
 * reading its own header again, always guesses "no data": the data block
 * is then a damaged header); the fast reader leaves the member to it, and
 * the lead keeps its guess. */
static void test_hardlink_with_data(void **state)
{
	(void)state;
	for (int pax = 0; pax < 2; pax++) {
		GByteArray *t = g_byte_array_new();
		struct scanned s;

		if (pax)
			fx_raw_pax(t, "mtime", "1.5", 3);
		fx_raw_block(t, "p", '0', "file", 4);
		fx_raw_block(t, "h", '1', "data", 4);
		t->data[t->len - 1024 + 157] = 'p';
		fx_raw_checksum(t->data + t->len - 1024);
		fx_raw_block(t, "q", '0', "last", 4);
		fx_raw_end(t);
		assert_int_equal(scan(&s, g_byte_array_free_to_bytes(t)), pax);
		assert_int_equal(fx_log_has(&s.log, "libarchive reads on"),
				 !pax);
		if (pax) {
			assert_int_equal(at(&s, "h")->type, LFS_T_HARDLINK);
			assert_data(&s, "q", "last");
		} else {
			assert_non_null(strstr(s.error->message,
					       "Damaged tar archive"));
		}
		scanned_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pax),
		cmocka_unit_test(test_gnu),
		cmocka_unit_test(test_ustar),
		cmocka_unit_test(test_types_and_attributes),
		cmocka_unit_test(test_xattr_spellings),
		cmocka_unit_test(test_xattr_name_with_nul),
		cmocka_unit_test(test_whiteout_members),
		cmocka_unit_test(test_names_cleaned_inside_root),
		cmocka_unit_test(test_nul_in_names_skipped),
		cmocka_unit_test(test_raw_name_bytes),
		cmocka_unit_test(test_sparse_pax),
		cmocka_unit_test(test_sparse_gnu_tar),
		cmocka_unit_test(test_size_over_8gib),
		cmocka_unit_test(test_empty_stream),
		cmocka_unit_test(test_truncated_tar),
		cmocka_unit_test(test_not_a_tar),
		cmocka_unit_test(test_source_error_reported),
		cmocka_unit_test(test_source_error_in_data),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sparse_empty_map),
		cmocka_unit_test(test_ext_headers_then_end),
		cmocka_unit_test(test_failure_without_reason),
		cmocka_unit_test(test_sparse_map_past_size),
		cmocka_unit_test(test_sparse_data_after_map),
		cmocka_unit_test(test_old_gnu_fields_of_plain_members),
		cmocka_unit_test(test_pax_acl_keeps_mode),
		cmocka_unit_test(test_last_member_without_padding),
		cmocka_unit_test(test_negative_fractional_mtime),
		cmocka_unit_test(test_libarchive_takes_over),
		cmocka_unit_test(test_takes_over_behind_lead),
		cmocka_unit_test(test_hardlink_with_data),
		cmocka_unit_test(test_first_header_checked),
		cmocka_unit_test(test_takes_over_where_sparse_allowed),
	};

	return cmocka_run_group_tests_name("tar_scan", tests, NULL, NULL);
}
