/* Unit tests for layer/blob.c: a blob over a whole file or a byte range of
 * it reads exactly those bytes, clamps reads at its end, and refuses a
 * range that does not lie inside the file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "layerfs/blob.h"
#include "layerfs/image.h"

#include "fixtures.h"

#define FILE_SIZE 1000

struct fx {
	char *dir;
	char *path;
	guint8 bytes[FILE_SIZE]; /* the file's content */
	struct lfs_blob *blob;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	g_autoptr(GBytes) b = NULL;

	for (size_t i = 0; i < FILE_SIZE; i++)
		f->bytes[i] = (guint8)(i * 7 + i / 256);
	b = g_bytes_new(f->bytes, FILE_SIZE);
	f->dir = fx_tmpdir();
	f->path = fx_write(f->dir, "file", b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_blob_close(f->blob);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->path);
	g_free(f);
	return 0;
}

static void test_whole_file(void **state)
{
	struct fx *f = *state;
	guint8 buf[FILE_SIZE];

	assert_int_equal(
	    lfs_blob_open_file(f->path, 0, LFS_LENGTH_TO_EOF, &f->blob), 0);
	assert_int_equal(f->blob->size, FILE_SIZE);
	assert_int_equal(lfs_blob_pread(f->blob, buf, FILE_SIZE, 0), FILE_SIZE);
	assert_memory_equal(buf, f->bytes, FILE_SIZE);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 10, 500), 10);
	assert_memory_equal(buf, f->bytes + 500, 10);
}

/* A read running past the end returns what is there; at or past the end
 * it returns 0. */
static void test_pread_clamped_at_end(void **state)
{
	struct fx *f = *state;
	guint8 buf[100];

	assert_int_equal(
	    lfs_blob_open_file(f->path, 0, LFS_LENGTH_TO_EOF, &f->blob), 0);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, FILE_SIZE - 10), 10);
	assert_memory_equal(buf, f->bytes + FILE_SIZE - 10, 10);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, FILE_SIZE), 0);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, FILE_SIZE + 5), 0);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, UINT64_MAX), 0);
}

/* A range reads relative to its start and ends at its own end, not the
 * file's. */
static void test_range(void **state)
{
	struct fx *f = *state;
	guint8 buf[100];

	assert_int_equal(lfs_blob_open_file(f->path, 100, 50, &f->blob), 0);
	assert_int_equal(f->blob->size, 50);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 50, 0), 50);
	assert_memory_equal(buf, f->bytes + 100, 50);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, 40), 10);
	assert_memory_equal(buf, f->bytes + 140, 10);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 100, 50), 0);
}

static void test_range_to_eof(void **state)
{
	struct fx *f = *state;
	guint8 buf[FILE_SIZE];

	assert_int_equal(
	    lfs_blob_open_file(f->path, 900, LFS_LENGTH_TO_EOF, &f->blob), 0);
	assert_int_equal(f->blob->size, 100);
	assert_int_equal(lfs_blob_pread(f->blob, buf, sizeof(buf), 0), 100);
	assert_memory_equal(buf, f->bytes + 900, 100);
}

/* Ranges that end exactly at the end of the file are fine, also empty
 * ones. */
static void test_range_up_to_end(void **state)
{
	struct fx *f = *state;
	guint8 buf[8];

	assert_int_equal(lfs_blob_open_file(f->path, 990, 10, &f->blob), 0);
	assert_int_equal(f->blob->size, 10);
	lfs_blob_close(g_steal_pointer(&f->blob));
	assert_int_equal(lfs_blob_open_file(f->path, FILE_SIZE, 0, &f->blob),
			 0);
	assert_int_equal(f->blob->size, 0);
	assert_int_equal(lfs_blob_pread(f->blob, buf, sizeof(buf), 0), 0);
	lfs_blob_close(g_steal_pointer(&f->blob));
	assert_int_equal(
	    lfs_blob_open_file(f->path, FILE_SIZE, LFS_LENGTH_TO_EOF, &f->blob),
	    0);
	assert_int_equal(f->blob->size, 0);
}

struct range_case {
	uint64_t offset, length;
};

static const struct range_case past_eof[] = {
    {FILE_SIZE + 1, 0},	  {FILE_SIZE + 1, LFS_LENGTH_TO_EOF},
    {0, FILE_SIZE + 1},	  {990, 11},
    {FILE_SIZE, 1},	  {UINT64_MAX - 5, 10},
    {10, UINT64_MAX - 1},
};

static void test_range_past_eof_refused(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(past_eof); i++) {
		struct lfs_blob *b = NULL;

		print_message("# offset %llu length %llu\n",
			      (unsigned long long)past_eof[i].offset,
			      (unsigned long long)past_eof[i].length);
		assert_int_equal(lfs_blob_open_file(f->path, past_eof[i].offset,
						    past_eof[i].length, &b),
				 -EINVAL);
		assert_null(b);
	}
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *nope = g_build_filename(f->dir, "nope", NULL);

	assert_int_equal(
	    lfs_blob_open_file(nope, 0, LFS_LENGTH_TO_EOF, &f->blob), -ENOENT);
	assert_null(f->blob);
}

/* The blob owns the descriptor it was given: closing the blob closes
 * it. */
static void test_open_fd_takes_ownership(void **state)
{
	struct fx *f = *state;
	int fd = open(f->path, O_RDONLY);
	guint8 buf[4];

	assert_true(fd >= 0);
	assert_int_equal(lfs_blob_open_fd(fd, 4, 4, &f->blob), 0);
	assert_int_equal(lfs_blob_pread(f->blob, buf, 4, 0), 4);
	assert_memory_equal(buf, f->bytes + 4, 4);
	lfs_blob_close(g_steal_pointer(&f->blob));
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* The descriptor is taken over even when the range is refused. */
static void test_open_fd_refused_still_closes(void **state)
{
	struct fx *f = *state;
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(lfs_blob_open_fd(fd, FILE_SIZE + 1, 0, &f->blob),
			 -EINVAL);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* The size is fixed at open: a file that grows later does not grow the
 * blob. */
static void test_size_fixed_at_open(void **state)
{
	struct fx *f = *state;
	guint8 buf[FILE_SIZE + 100];
	int fd;

	assert_int_equal(
	    lfs_blob_open_file(f->path, 0, LFS_LENGTH_TO_EOF, &f->blob), 0);
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "more", 4), 4);
	close(fd);
	assert_int_equal(f->blob->size, FILE_SIZE);
	assert_int_equal(lfs_blob_pread(f->blob, buf, sizeof(buf), 0),
			 FILE_SIZE);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_whole_file),
	    FT(test_pread_clamped_at_end),
	    FT(test_range),
	    FT(test_range_to_eof),
	    FT(test_range_up_to_end),
	    FT(test_range_past_eof_refused),
	    FT(test_missing_file),
	    FT(test_open_fd_takes_ownership),
	    FT(test_open_fd_refused_still_closes),
	    FT(test_size_fixed_at_open),
	};

	return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
