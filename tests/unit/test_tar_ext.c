/* Unit tests for layer/tar_ext.c: a NUL inside a pax path or linkpath, a
 * GNU long name or long link, is found wherever it sits in the header
 * chain; NULs that are allowed (padding, binary xattr values) pass; the
 * walk follows libarchive's rules for each header type and fails safe
 * when the bytes run out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fixtures.h"
#include "layerfs/tar_ext.h"

/* The headers of one member: @t so far, then the member's own ustar
 * header.  Returns what lfs_tar_ext_problem() says of them. */
static const char *problem(GByteArray *t)
{
	const char *why;

	fx_raw_block(t, "member", '0', NULL, 0);
	why = lfs_tar_ext_problem(t->data, t->len);
	g_byte_array_unref(t);
	return why;
}

static GByteArray *pax(const char *key, const char *value, size_t vlen)
{
	GByteArray *t = g_byte_array_new();

	fx_raw_pax(t, key, value, vlen);
	return t;
}

static GByteArray *gnu(char type, const char *body, size_t len)
{
	GByteArray *t = g_byte_array_new();

	fx_raw_block(t, "././@LongLink", type, body, len);
	return t;
}

static void test_whole_names_pass(void **state)
{
	g_autofree char *longname = g_strnfill(300, 'n');

	(void)state;
	assert_null(problem(pax("path", longname, strlen(longname))));
	assert_null(problem(pax("linkpath", "target", 6)));
	/* GNU tar pads a long name with NULs. */
	assert_null(problem(gnu('L', "long/name\0\0\0", 12)));
	assert_null(problem(gnu('K', "long/target\0", 12)));
	/* Only the member's own header. */
	assert_null(problem(g_byte_array_new()));
}

static void test_nul_in_names(void **state)
{
	(void)state;
	assert_string_equal(problem(pax("path", "a\0/../../x", 10)),
			    "name holds a NUL byte");
	assert_string_equal(problem(pax("GNU.sparse.name", "a\0b", 3)),
			    "name holds a NUL byte");
	assert_string_equal(problem(pax("linkpath", "t\0/etc", 6)),
			    "link target holds a NUL byte");
	/* A trailing NUL is a NUL inside a pax value all the same. */
	assert_string_equal(problem(pax("path", "a\0", 2)),
			    "name holds a NUL byte");
	assert_string_equal(problem(gnu('L', "a\0/../x\0", 8)),
			    "name holds a NUL byte");
	assert_string_equal(problem(gnu('K', "t\0x", 3)),
			    "link target holds a NUL byte");
}

/* A keyword read as a C string, as some libarchive versions compare it,
 * is "path" in "path\0junk": treated as the name it may become. */
static void test_keyword_read_as_c_string(void **state)
{
	static const char rec[] = "17 path\0junk=a\0b\n";
	GByteArray *t = g_byte_array_new();

	(void)state;
	fx_raw_block(t, "PaxHeader", 'x', rec, sizeof(rec) - 1);
	assert_string_equal(problem(t), "name holds a NUL byte");
}

/* Binary values elsewhere are fine: an xattr value may hold any byte. */
static void test_nul_elsewhere_allowed(void **state)
{
	(void)state;
	assert_null(problem(pax("SCHILY.xattr.security.capability",
				"\x01\0\0\x02", 4)));
	assert_null(problem(pax("comment", "x\0y", 3)));
}

/* The check finds a bad name behind any chain of other headers. */
static void test_found_down_the_chain(void **state)
{
	GByteArray *t = g_byte_array_new();

	(void)state;
	/* A global header with a body, a volume header without one (its
	 * size field is ignored), Solaris ACL text, a harmless pax
	 * header, then the bad GNU long name. */
	fx_raw_block(t, "GlobalHead", 'g', "9 a=bcd\n", 8);
	fx_raw_block(t, "volume", 'V', NULL, 0);
	t->data[t->len - 512 + 124 + 10] = '7'; /* size 7, no body */
	fx_raw_block(t, "acl", 'A', "1000000\0", 8);
	fx_raw_pax(t, "mtime", "1.5", 3);
	fx_raw_block(t, "././@LongLink", 'L', "x\0/../y", 7);
	assert_string_equal(problem(t), "name holds a NUL byte");
}

/* Malformed pax records end the check of that header, as libarchive
 * ignores the rest of it. */
static void test_malformed_pax_stops(void **state)
{
	static const char bad[] = "5 pa\n20 path=a\0/../../bb\n";
	GByteArray *t = g_byte_array_new();

	(void)state;
	fx_raw_block(t, "PaxHeader", 'x', bad, sizeof(bad) - 1);
	assert_null(problem(t));
}

static void test_cut_short(void **state)
{
	GByteArray *t = gnu('L', "long/name", 9);

	(void)state;
	/* Headers that end inside a body, or before the member's header. */
	assert_string_equal(lfs_tar_ext_problem(t->data, 600),
			    "extension headers cut short");
	assert_string_equal(lfs_tar_ext_problem(t->data, t->len),
			    "extension headers cut short");
	g_byte_array_unref(t);
}

static void test_too_many_headers(void **state)
{
	GByteArray *t = g_byte_array_new();

	(void)state;
	for (int i = 0; i < 33; i++)
		fx_raw_pax(t, "mtime", "1", 1);
	assert_string_equal(problem(t), "more than 32 extension headers");
}

/* A size field in base-256 (high bit set) is read as libarchive does. */
static void test_base256_size(void **state)
{
	GByteArray *t = gnu('L', "a\0b", 3);

	(void)state;
	memset(t->data + 124, 0, 12);
	t->data[124] = 0x80;
	t->data[135] = 3;
	assert_string_equal(problem(t), "name holds a NUL byte");
}

/* Old-GNU headers of members that are not sparse are told apart, with
 * their size field; ustar ones and sparse ('S') ones are not. */
static void test_plain_gnu(void **state)
{
	g_autoptr(GByteArray) t = g_byte_array_new();
	uint64_t size = 0;

	(void)state;
	fx_raw_block(t, "ustar", '0', "abc", 3);
	fx_raw_block(t, "gnu", '0', "abcd", 4);
	fx_raw_oldgnu(t, 1024, 0777, 0, 0);
	fx_raw_block(t, "sparse", 'S', "ab", 2);
	fx_raw_oldgnu(t, 2048, 0777, 0, 2);
	assert_false(lfs_tar_plain_gnu(t->data, &size));
	assert_true(lfs_tar_plain_gnu(t->data + 1024, &size));
	assert_int_equal(size, 4);
	assert_false(lfs_tar_plain_gnu(t->data + 2048, &size));
}

/* A pax mtime that libarchive reads a second late: negative, with a
 * fraction that is not zero; the last mtime record counts. */
static void test_mtime_late(void **state)
{
	static const struct {
		const char *first, *last; /* NULL: no such record */
		bool want;
	} cases[] = {
		{ "-1.5", NULL, true },
		{ "-0.000000001", NULL, true },
		{ "-86400.25", NULL, true },
		{ "-1", NULL, false },
		{ "-1.000", NULL, false },
		{ "1.5", NULL, false },
		{ "-1.5", "2", false },
		{ "2", "-3.1", true },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_pax(t, "mtime", cases[i].first,
			   strlen(cases[i].first));
		if (cases[i].last)
			fx_raw_pax(t, "mtime", cases[i].last,
				   strlen(cases[i].last));
		fx_raw_block(t, "member", '0', NULL, 0);
		if (lfs_tar_ext_mtime_late(t->data, t->len) != cases[i].want)
			fail_msg("%s, %s: want %d", cases[i].first,
				 cases[i].last ? cases[i].last : "-",
				 cases[i].want);
	}
}

/* How a stream libarchive called damaged at a header ends. */
static void test_end_after_ext_headers(void **state)
{
	static const struct {
		const char *what;
		const char *parts; /* x: pax header, g: global, L: long name,
				    * b: a pax header whose checksum is
				    * wrong, m: a member header, z: zero
				    * block, j: junk block, h: half a block */
		enum lfs_tar_end want;
	} cases[] = {
		{ "x, end blocks", "xzz", LFS_TAR_END },
		{ "x, one zero block", "xz", LFS_TAR_END },
		{ "g, end blocks", "gzz", LFS_TAR_END },
		{ "x, L, end blocks", "xLzz", LFS_TAR_END },
		{ "x, no more bytes", "x", LFS_TAR_END_CUT },
		{ "x, g, no more bytes", "xg", LFS_TAR_END_CUT },
		{ "x, half a block", "xh", LFS_TAR_DAMAGED },
		{ "x, junk", "xj", LFS_TAR_DAMAGED },
		{ "x, a member", "xm", LFS_TAR_DAMAGED },
		/* libarchive calls the header damaged, not the stream
		 * ended: the scan took it for an end when the end-of-archive
		 * blocks were read with it, and for damage when not. */
		{ "bad checksum, end blocks", "bzz", LFS_TAR_DAMAGED },
		{ "x, bad checksum, end blocks", "xbzz", LFS_TAR_DAMAGED },
		{ "bad checksum, no more bytes", "b", LFS_TAR_DAMAGED },
		{ "a member alone", "m", LFS_TAR_DAMAGED },
		{ "zeros alone", "zz", LFS_TAR_DAMAGED },
		{ "nothing", "", LFS_TAR_DAMAGED },
	};
	guint8 junk[512];

	(void)state;
	memset(junk, 'j', sizeof(junk));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) t = g_byte_array_new();

		for (const char *p = cases[i].parts; *p; p++) {
			switch (*p) {
			case 'x':
				fx_raw_pax(t, "path", "a/name", 6);
				break;
			case 'b':
				fx_raw_pax(t, "path", "a/name", 6);
				t->data[t->len - 1024 + 148] ^= 1;
				break;
			case 'g':
				fx_raw_block(t, "global", 'g', "9 a=bc\n", 7);
				break;
			case 'L':
				fx_raw_block(t, "././@LongLink", 'L', "n", 1);
				break;
			case 'm':
				fx_raw_block(t, "member", '0', "data", 4);
				break;
			case 'z':
			case 'j':
				g_byte_array_append(t, *p == 'j' ? junk
								 : (guint8[512]){ 0 },
						    512);
				break;
			case 'h':
				g_byte_array_append(t, junk, 256);
				break;
			}
		}
		if (lfs_tar_ext_end(t->data, t->len) != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].what,
				 lfs_tar_ext_end(t->data, t->len),
				 cases[i].want);
	}
	/* A body that runs past the bytes there are. */
	{
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_pax(t, "path", "a/name", 6);
		g_byte_array_set_size(t, t->len - 512);
		assert_int_equal(lfs_tar_ext_end(t->data, t->len),
				 LFS_TAR_DAMAGED);
	}
}

static void note_xattr(void *ctx, const struct lfs_tar_xattr *x)
{
	GString *got = ctx;

	g_string_append_len(got, (const char *)x->name, (gssize)x->name_len);
	g_string_append_c(got, '=');
	g_string_append_len(got, (const char *)x->value,
			    (gssize)x->value_len);
	g_string_append_c(got, ';');
}

/* The SCHILY.xattr records of a member's pax headers, in order, every
 * header of the chain: not libarchive's or Red Hat's spellings, not a
 * global header's records, nothing past the member's own header. */
static void test_xattr_records(void **state)
{
	static const struct fx_pax_rec first[] = {
		{ "SCHILY.xattr.user.a", "1", 0 },
		{ "LIBARCHIVE.xattr.user.b", "Mg==", 0 },
		{ "RHT.security.selinux", "u:r:t:s0", 0 },
		{ "SCHILY.xattr.", "no name", 0 },
		{ "SCHILY.xattr.user.bin", "x\0y", 3 },
	};
	static const struct fx_pax_rec second[] = {
		{ "path", "p", 0 },
		{ "SCHILY.xattr.user.a", "again", 0 },
	};
	g_autoptr(GByteArray) t = g_byte_array_new();
	g_autoptr(GString) got = g_string_new(NULL);

	(void)state;
	fx_raw_block(t, "global", 'g', "25 SCHILY.xattr.user.g=g\n", 25);
	fx_raw_paxv(t, first, G_N_ELEMENTS(first));
	fx_raw_block(t, "././@LongLink", 'L', "long", 4);
	fx_raw_paxv(t, second, G_N_ELEMENTS(second));
	fx_raw_block(t, "member", '0', NULL, 0);
	/* What follows is not the member's. */
	fx_raw_paxv(t, second + 1, 1);
	lfs_tar_ext_xattrs(t->data, t->len, note_xattr, got);
	assert_int_equal(got->len, 35);
	assert_memory_equal(got->str, "user.a=1;user.bin=x\0y;user.a=again;",
			    35);
}

/* Where a member's data ends, by its headers: its own header found down
 * the chain, its stored size from the pax "size" record or its size
 * field; GNU sparse ones told apart.  Sizes that disagree or are not
 * numbers say nothing. */
static void test_member(void **state)
{
	static const struct fx_pax_rec sparse10[] = {
		{ "GNU.sparse.major", "1", 0 },
		{ "GNU.sparse.realsize", "99999", 0 },
	};
	struct lfs_tar_member m;

	(void)state;
	{ /* a plain member, and what follows it */
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_block(t, "f", '0', "abc", 3);
		fx_raw_block(t, "next", '0', "x", 1);
		assert_true(lfs_tar_ext_member(t->data, t->len, &m));
		assert_int_equal(m.own, 0);
		assert_int_equal(m.stored, 3);
		assert_false(m.sparse);
	}
	{ /* a long name, a pax size, a pax 1.0 member */
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_block(t, "././@LongLink", 'L', "long", 4);
		fx_raw_pax(t, "size", "1027", 4);
		fx_raw_paxv(t, sparse10, G_N_ELEMENTS(sparse10));
		fx_raw_block(t, "GNUSparseFile.0/f", '0', "abcd", 4);
		assert_true(lfs_tar_ext_member(t->data, t->len, &m));
		assert_int_equal(m.own, 3072);
		assert_int_equal(m.stored, 1027);
		assert_true(m.sparse);
		assert_false(m.old_sparse);
	}
	{ /* old GNU sparse */
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_block(t, "sp", 'S', "12345", 5);
		fx_raw_oldgnu(t, 0, 4096, 1000, 5);
		assert_true(lfs_tar_ext_member(t->data, t->len, &m));
		assert_int_equal(m.stored, 5);
		assert_true(m.sparse);
		assert_true(m.old_sparse);
		/* 'S' with a ustar magic is no GNU header. */
		memcpy(t->data + 257, "ustar\00000", 8);
		assert_true(lfs_tar_ext_member(t->data, t->len, &m));
		assert_false(m.sparse);
	}
	{ /* two sizes that disagree, a size that is no number */
		g_autoptr(GByteArray) t = g_byte_array_new();
		g_autoptr(GByteArray) u = g_byte_array_new();

		fx_raw_pax(t, "size", "10", 2);
		fx_raw_pax(t, "size", "11", 2);
		fx_raw_block(t, "f", '0', NULL, 0);
		assert_false(lfs_tar_ext_member(t->data, t->len, &m));
		fx_raw_pax(u, "size", "1e3", 3);
		fx_raw_block(u, "f", '0', NULL, 0);
		assert_false(lfs_tar_ext_member(u->data, u->len, &m));
	}
	{ /* headers cut short */
		g_autoptr(GByteArray) t = g_byte_array_new();

		fx_raw_pax(t, "size", "10", 2);
		assert_false(lfs_tar_ext_member(t->data, t->len, &m));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_names_pass),
		cmocka_unit_test(test_nul_in_names),
		cmocka_unit_test(test_keyword_read_as_c_string),
		cmocka_unit_test(test_nul_elsewhere_allowed),
		cmocka_unit_test(test_found_down_the_chain),
		cmocka_unit_test(test_malformed_pax_stops),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_base256_size),
		cmocka_unit_test(test_end_after_ext_headers),
		cmocka_unit_test(test_plain_gnu),
		cmocka_unit_test(test_mtime_late),
		cmocka_unit_test(test_xattr_records),
		cmocka_unit_test(test_member),
	};

	return cmocka_run_group_tests_name("tar_ext", tests, NULL, NULL);
}
