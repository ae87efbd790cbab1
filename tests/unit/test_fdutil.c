/* util/fdutil.c: whole-buffer loops stop short only at end of file, and
 * lfs_file_read_small() enforces its cap and refuses non-files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"

static void test_read_write_loops(void **state)
{
	g_autofree char *dir = fx_tmpdir();
	g_autofree char *path = g_build_filename(dir, "f", NULL);
	char buf[16] = { 0 };
	int fd;

	(void)state;
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(lfs_write_full(fd, "hello world", 11), 0);
	assert_int_equal(lfs_pread_full(fd, buf, sizeof(buf), 6), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(lfs_pread_full(fd, buf, 4, 100), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(lfs_read_full(fd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	close(fd);
	assert_int_equal(lfs_pread_full(fd, buf, 1, 0), -EBADF);
	fx_rmtree(dir);
}

static void test_read_small(void **state)
{
	g_autofree char *dir = fx_tmpdir();
	g_autofree char *f = fx_write_str(dir, "doc.json", "{\"a\":1}");
	g_autoptr(GError) error = NULL;
	g_autofree char *data = NULL;
	size_t len;

	(void)state;
	assert_true(lfs_file_read_small(f, 100, &data, &len, &error));
	assert_int_equal(len, 7);
	assert_string_equal(data, "{\"a\":1}");
	assert_false(lfs_file_read_small(f, 6, &data, &len, &error));
	assert_true(g_error_matches(error, LFS_ERROR, EFBIG));
	assert_non_null(strstr(error->message, "doc.json: 7 bytes, larger "
					       "than the 6 allowed"));
	g_clear_error(&error);
	assert_false(lfs_file_read_small(dir, 100, &data, &len, &error));
	assert_non_null(strstr(error->message, "not a regular file"));
	g_clear_error(&error);
	assert_false(lfs_file_read_small("/nonexistent/x", 100, &data, &len,
					 &error));
	assert_true(g_error_matches(error, LFS_ERROR, ENOENT));
	fx_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write_loops),
		cmocka_unit_test(test_read_small),
	};

	return cmocka_run_group_tests_name("fdutil", tests, NULL, NULL);
}
