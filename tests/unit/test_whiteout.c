/* Unit tests for layer/whiteout.c: what a name says under the AUFS/OCI
 * whiteout rules (lfs_whiteout_classify), and overlayfs's on-disk names:
 * the xattr names per namespace, the private-xattr test, and the 0/0
 * character device that is a whiteout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <glib.h>

#include "layerfs/whiteout.h"

struct classify_case {
	const char *base;
	enum lfs_wh_kind kind;
	const char *name; /* LFS_WH_DELETE: the name deleted */
};

static const struct classify_case classify_cases[] = {
	{ "file", LFS_WH_NONE, NULL },
	{ "", LFS_WH_NONE, NULL },
	{ ".wh", LFS_WH_NONE, NULL },
	{ ".whx", LFS_WH_NONE, NULL },
	{ ".WH.x", LFS_WH_NONE, NULL },
	{ "x.wh.y", LFS_WH_NONE, NULL },
	{ ".wh.x", LFS_WH_DELETE, "x" },
	{ ".wh..hidden", LFS_WH_DELETE, ".hidden" },
	{ ".wh.a.wh.b", LFS_WH_DELETE, "a.wh.b" },
	{ ".wh..wh", LFS_WH_DELETE, ".wh" },
	{ ".wh..wh..opq", LFS_WH_OPAQUE, NULL },
	{ ".wh..wh..opqx", LFS_WH_META, NULL },
	{ ".wh..wh..opq.", LFS_WH_META, NULL },
	{ ".wh..wh.plnk", LFS_WH_META, NULL },
	{ ".wh..wh.", LFS_WH_META, NULL },
	{ ".wh.", LFS_WH_INVALID, NULL },
	{ ".wh..", LFS_WH_INVALID, NULL },
	{ ".wh...", LFS_WH_INVALID, NULL },
};

static void test_classify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(classify_cases); i++) {
		const struct classify_case *c = &classify_cases[i];
		const char *name = NULL;

		print_message("# \"%s\"\n", c->base);
		assert_int_equal(lfs_whiteout_classify(c->base, &name),
				 c->kind);
		if (c->name) {
			assert_string_equal(name, c->name);
			/* NAME points into the member's own name. */
			assert_ptr_equal(name,
					 c->base + strlen(LFS_WH_PREFIX));
		} else {
			assert_null(name);
		}
	}
}

/* The spelled-out constants are the names the classifier knows. */
static void test_classify_constants(void **state)
{
	const char *name = NULL;

	(void)state;
	assert_string_equal(LFS_WH_PREFIX, ".wh.");
	assert_string_equal(LFS_WH_META_PREFIX, ".wh..wh.");
	assert_string_equal(LFS_WH_OPAQUE_NAME, ".wh..wh..opq");
	assert_int_equal(lfs_whiteout_classify(LFS_WH_OPAQUE_NAME, &name),
			 LFS_WH_OPAQUE);
	assert_int_equal(lfs_whiteout_classify(LFS_WH_META_PREFIX "x", &name),
			 LFS_WH_META);
	assert_int_equal(lfs_whiteout_classify(LFS_WH_PREFIX "x", &name),
			 LFS_WH_DELETE);
	assert_string_equal(name, "x");
}

struct xattr_name_case {
	enum lfs_ovl_ns ns;
	enum lfs_ovl_xattr key;
	const char *name; /* NULL: refused */
};

static const struct xattr_name_case xattr_name_cases[] = {
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_OPAQUE, "trusted.overlay.opaque" },
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_REDIRECT, "trusted.overlay.redirect" },
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_ORIGIN, "trusted.overlay.origin" },
	{ LFS_OVL_NS_USER, LFS_OVL_OPAQUE, "user.overlay.opaque" },
	{ LFS_OVL_NS_USER, LFS_OVL_REDIRECT, "user.overlay.redirect" },
	{ LFS_OVL_NS_USER, LFS_OVL_ORIGIN, "user.overlay.origin" },
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_METACOPY, "trusted.overlay.metacopy" },
	{ LFS_OVL_NS_USER, LFS_OVL_WHITEOUT, "user.overlay.whiteout" },
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_LAYERFS_ORIGIN,
	  "trusted.overlay.layerfs.origin" },
	{ LFS_OVL_NS_USER, LFS_OVL_LAYERFS_ORIGIN,
	  "user.overlay.layerfs.origin" },
	{ (enum lfs_ovl_ns)2, LFS_OVL_OPAQUE, NULL },
	{ (enum lfs_ovl_ns)-1, LFS_OVL_OPAQUE, NULL },
	{ LFS_OVL_NS_TRUSTED, LFS_OVL_NKEYS, NULL },
	{ LFS_OVL_NS_USER, (enum lfs_ovl_xattr)-1, NULL },
};

static void test_ovl_xattr_name_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(xattr_name_cases); i++) {
		const struct xattr_name_case *c = &xattr_name_cases[i];
		const char *name = lfs_ovl_xattr_name(c->ns, c->key);

		print_message("# ns %d key %d\n", (int)c->ns, (int)c->key);
		if (!c->name) {
			assert_null(name);
			continue;
		}
		assert_non_null(name);
		assert_string_equal(name, c->name);
		/* Every name we give out is one a layer never shows. */
		assert_true(lfs_ovl_private_xattr(name));
	}
	assert_string_equal(LFS_OVL_OPAQUE_YES, "y");
}

struct private_case {
	const char *name;
	bool private_;
};

static const struct private_case private_cases[] = {
	{ "trusted.overlay.opaque", true },
	{ "trusted.overlay.redirect", true },
	{ "trusted.overlay.metacopy", true },
	{ "trusted.overlay.", true },
	{ "user.overlay.origin", true },
	{ "user.overlay.", true },
	{ "trusted.overlay", false },
	{ "trusted.overlayfs.x", false },
	{ "user.overlay", false },
	{ "user.overlayx", false },
	{ "TRUSTED.overlay.opaque", false },
	{ "xtrusted.overlay.opaque", false },
	{ "security.overlay.opaque", false },
	{ "user.layerfs.stats", false },
	{ "security.selinux", false },
	{ "trusted.foo", false },
	{ "", false },
};

static void test_ovl_private_xattr_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(private_cases); i++) {
		const struct private_case *c = &private_cases[i];

		print_message("# \"%s\"\n", c->name);
		assert_int_equal(lfs_ovl_private_xattr(c->name), c->private_);
	}
}

struct whiteout_case {
	mode_t mode;
	dev_t rdev;
	bool whiteout;
};

static const struct whiteout_case whiteout_cases[] = {
	{ S_IFCHR, 0, true },
	{ S_IFCHR | 0644, 0, true },
	{ S_IFCHR | 07777, 0, true },
	{ S_IFCHR, 1, false },
	{ S_IFBLK, 0, false },
	{ S_IFREG, 0, false },
	{ S_IFDIR, 0, false },
	{ S_IFIFO, 0, false },
	{ S_IFLNK, 0, false },
	{ S_IFSOCK, 0, false },
	{ 0, 0, false },
};

static void test_ovl_is_whiteout_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(whiteout_cases); i++) {
		const struct whiteout_case *c = &whiteout_cases[i];

		print_message("# mode %o rdev %llu\n", (unsigned)c->mode,
			      (unsigned long long)c->rdev);
		assert_int_equal(lfs_ovl_is_whiteout(c->mode, c->rdev),
				 c->whiteout);
	}
	/* Only 0/0: a device with either number set is a real device. */
	assert_true(lfs_ovl_is_whiteout(S_IFCHR, makedev(0, 0)));
	assert_false(lfs_ovl_is_whiteout(S_IFCHR, makedev(0, 1)));
	assert_false(lfs_ovl_is_whiteout(S_IFCHR, makedev(1, 0)));
	assert_false(lfs_ovl_is_whiteout(S_IFCHR, makedev(1, 3)));
	assert_false(lfs_ovl_is_whiteout(S_IFCHR, makedev(4096, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_classify_constants),
		cmocka_unit_test(test_ovl_xattr_name_table),
		cmocka_unit_test(test_ovl_private_xattr_table),
		cmocka_unit_test(test_ovl_is_whiteout_table),
	};

	return cmocka_run_group_tests_name("whiteout", tests, NULL, NULL);
}
