/* Owner mapping: ranges parsed as fuse-overlayfs writes them, ids shown
 * and stored through them, unmapped ids as the overflow id, squashing,
 * and every malformed value refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "asserts.h"
#include "layerfs/idmap.h"

static void test_map(void **state)
{
	struct lfs_idmap m = { 0 };
	g_autoptr(GError) error = NULL;

	(void)state;
	assert_true(lfs_idmap_parse(&m, "uidmapping", "0:1000:1:1:110000:65536",
				    &error));
	assert_int_equal(lfs_idmap_show(&m, 1000), 0);
	assert_int_equal(lfs_idmap_show(&m, 110000), 1);
	assert_int_equal(lfs_idmap_show(&m, 110005), 6);
	assert_int_equal(lfs_idmap_show(&m, 0), LFS_IDMAP_OVERFLOW);
	assert_int_equal(lfs_idmap_store(&m, 0), 1000);
	assert_int_equal(lfs_idmap_store(&m, 65536), 175535);
	assert_int_equal(lfs_idmap_store(&m, 65537), LFS_IDMAP_OVERFLOW);
	lfs_idmap_clear(&m);
	/* No ranges: the identity. */
	assert_int_equal(lfs_idmap_show(&m, 42), 42);
	assert_int_equal(lfs_idmap_store(&m, 42), 42);
	m.squash = true;
	m.squash_to = 7;
	assert_int_equal(lfs_idmap_show(&m, 42), 7);
}

static void test_bad(void **state)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
		{ "", "triples" },
		{ "0:1000", "triples" },
		{ "0:x:1", "\"x\" is not an id" },
		{ "0:1000:0", "\"0\" is not an id or count" },
		{ "0:4294967295:2", "past the largest id" },
		{ "0:1000:10:5:2000:1", "overlap" },
		{ "0:1000:10:20:1005:1", "overlap" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct lfs_idmap m = { 0 };
		g_autoptr(GError) error = NULL;

		print_message("# %s\n", bad[i].value);
		assert_false(lfs_idmap_parse(&m, "gidmapping", bad[i].value,
					     &error));
		assert_lfs_error(error, EINVAL, "gidmapping", bad[i].why);
		lfs_idmap_clear(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}
