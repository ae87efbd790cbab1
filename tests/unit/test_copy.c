/* The copy engine with sources of every kind: buffered reads, a plain
 * file the kernel copies from, data runs with holes between, a limit, a
 * source shorter than it said or failing, and a destination that is
 * full (the stats tell the failing side). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/copy.h"
#include "layerfs/fdutil.h"

#define SIZE (3u << 20)

/* A source of SIZE bytes: data in two runs, zeros elsewhere. */
struct src {
	guint8 *bytes;
	int fd;		/* the same bytes in a file, or -1 */
	uint64_t short_at; /* reads past this come up short; 0: never */
	uint64_t fail_at;  /* reads past this fail with EIO; 0: never */
};

static const struct {
	uint64_t start, end;
} runs[] = { { 0, 4096 }, { 1u << 20, (1u << 20) + 100 } };

static ssize_t src_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct src *s = ctx;

	if (off >= SIZE)
		return 0;
	len = MIN(len, SIZE - off);
	if (s->fail_at && off + len > s->fail_at)
		return -EIO;
	if (s->short_at && off + len > s->short_at)
		len = s->short_at > off ? s->short_at - off : 0;
	memcpy(buf, s->bytes + off, len);
	return (ssize_t)len;
}

static int src_map(void *ctx, size_t len, uint64_t off,
		   struct lfs_read_map *out)
{
	struct src *s = ctx;

	if (s->fd < 0)
		return -EAGAIN;
	out->fd = s->fd;
	out->pos = off;
	out->len = len;
	return 0;
}

static bool src_next(void *ctx, uint64_t off, uint64_t *start, uint64_t *end)
{
	(void)ctx;
	for (size_t i = 0; i < G_N_ELEMENTS(runs); i++) {
		if (runs[i].end > off) {
			*start = MAX(off, runs[i].start);
			*end = runs[i].end;
			return true;
		}
	}
	return false;
}

struct env {
	char *dir;
	struct src s;
	struct lfs_copy_src src;
};

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	g_autoptr(GBytes) noise = fx_noise(SIZE, 3, 0);

	e->dir = fx_tmpdir();
	e->s.bytes = g_malloc0(SIZE);
	for (size_t i = 0; i < G_N_ELEMENTS(runs); i++)
		memcpy(e->s.bytes + runs[i].start,
		       (const guint8 *)g_bytes_get_data(noise, NULL) +
			       runs[i].start,
		       runs[i].end - runs[i].start);
	e->s.fd = -1;
	e->src.size = SIZE;
	e->src.read = src_read;
	e->src.map = src_map;
	e->src.next_data = src_next;
	e->src.ctx = &e->s;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->s.fd >= 0)
		close(e->s.fd);
	fx_rmtree(e->dir);
	g_free(e->dir);
	g_free(e->s.bytes);
	g_free(e);
	return 0;
}

static int dst(struct env *e, const char *name)
{
	g_autofree char *p = g_build_filename(e->dir, name, NULL);
	int fd = open(p, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	return fd;
}

static void check_copy(struct env *e, int fd, uint64_t size)
{
	g_autofree guint8 *got = g_malloc(SIZE);
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, size);
	assert_int_equal(lfs_pread_full(fd, got, size, 0), (ssize_t)size);
	assert_memory_equal(got, e->s.bytes, size);
}

static void test_buffered_with_holes(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	int fd = dst(e, "out");
	off_t hole;

	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st), 0);
	check_copy(e, fd, SIZE);
	assert_int_equal(st.buffered, 4096 + 100);
	assert_int_equal(st.kernel, 0);
	/* Holes stay holes (where the file system keeps them). */
	hole = lseek(fd, 0, SEEK_HOLE);
	assert_true(hole >= 4096 && hole < (off_t)(1u << 20));
	close(fd);
}

static void test_kernel_copy(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	g_autoptr(GBytes) b = g_bytes_new_static(e->s.bytes, SIZE);
	g_autofree char *p = fx_write(e->dir, "plain", b);
	int fd = dst(e, "out");

	e->s.fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st), 0);
	check_copy(e, fd, SIZE);
	assert_int_equal(st.kernel, 4096 + 100);
	assert_int_equal(st.buffered, 0);
	close(fd);
}

/* The kernel's copy stops where its file gives out (cut short here; a
 * bad block alike), and buffers take over from there: their reads and
 * writes are what tell a failing source from a failing destination. */
static void test_kernel_copy_falls_back(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	g_autoptr(GBytes) b = g_bytes_new_static(e->s.bytes, 2000);
	g_autofree char *p = fx_write(e->dir, "plain", b);
	int fd = dst(e, "out");

	e->s.fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st), 0);
	check_copy(e, fd, SIZE);
	assert_int_equal(st.kernel, 2000);
	assert_int_equal(st.buffered, 4096 - 2000 + 100);
	assert_false(st.read_failed);
	close(fd);
}

static void test_whole_file_and_limit(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	int fd = dst(e, "out");

	e->src.next_data = NULL; /* all data */
	assert_int_equal(lfs_copy_data(&e->src, fd, 5000, &st), 0);
	check_copy(e, fd, 5000);
	assert_int_equal(st.buffered, 5000);
	close(fd);
}

static void test_short_source(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	int fd = dst(e, "out");

	e->s.short_at = 1000;
	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st),
			 -ENODATA);
	assert_true(st.read_failed);
	assert_int_equal(st.failed_at, 0);
	close(fd);
}

/* A source that fails (a bad block under the layer) fails the copy, and
 * the stats say it was the source, and where. */
static void test_failing_source(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	int fd = dst(e, "out");

	e->s.fail_at = (1u << 20) + 50;
	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st), -EIO);
	assert_true(st.read_failed);
	assert_int_equal(st.failed_at, 1u << 20);
	close(fd);
}

static void test_full_destination(void **state)
{
	struct env *e = *state;
	struct lfs_copy_stats st = { 0 };
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		skip();
	assert_int_equal(lfs_copy_data(&e->src, fd, UINT64_MAX, &st),
			 -ENOSPC);
	assert_false(st.read_failed);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_buffered_with_holes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kernel_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kernel_copy_falls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_file_and_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_destination, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("copy", tests, NULL, NULL);
}
