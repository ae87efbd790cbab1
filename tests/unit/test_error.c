/* util/error.c: lfs_fail() sets an LFS_ERROR whose code is the errno and
 * returns FALSE; lfs_error_errno() maps errors back, EIO for foreign ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "layerfs/error.h"

static void test_fail_sets_errno_code(void **state)
{
	g_autoptr(GError) error = NULL;

	(void)state;
	assert_false(lfs_fail(&error, ENOENT, "%s: %d", "file", 7));
	assert_true(g_error_matches(error, LFS_ERROR, ENOENT));
	assert_string_equal(error->message, "file: 7");
	assert_int_equal(lfs_error_errno(error), ENOENT);
	assert_false(lfs_fail(NULL, EINVAL, "ignored"));
}

static void test_foreign_errors_are_eio(void **state)
{
	g_autoptr(GError) foreign = g_error_new_literal(G_FILE_ERROR,
							G_FILE_ERROR_NOENT,
							"x");

	(void)state;
	assert_int_equal(lfs_error_errno(foreign), EIO);
	assert_int_equal(lfs_error_errno(NULL), EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_sets_errno_code),
		cmocka_unit_test(test_foreign_errors_are_eio),
	};

	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
