/* Unit tests for layer/cache.c: opening creates the directory and its
 * missing parents with mode 0700, temporary files are anonymous (nothing
 * appears in the directory) and usable, and the default directory depends
 * on who runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layerfs/cache.h"

#include "asserts.h"
#include "fixtures.h"

struct fx {
	char *dir;
	struct lfs_cache *cache;
	GError *error;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_cache_free(f->cache);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

static void assert_mode(const char *path, mode_t mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
}

static void test_open_creates_dirs_0700(void **state)
{
	struct fx *f = *state;
	g_autofree char *a = g_build_filename(f->dir, "a", NULL);
	g_autofree char *ab = g_build_filename(a, "b", NULL);
	g_autofree char *abc = g_build_filename(ab, "c", NULL);
	mode_t old = umask(0);

	assert_lfs_ok(lfs_cache_open(abc, &f->cache, &f->error), &f->error);
	umask(old);
	assert_mode(a, 0700);
	assert_mode(ab, 0700);
	assert_mode(abc, 0700);
	assert_string_equal(lfs_cache_path(f->cache), abc);
}

static void test_open_existing_dir(void **state)
{
	struct fx *f = *state;

	assert_lfs_ok(lfs_cache_open(f->dir, &f->cache, &f->error), &f->error);
	assert_string_equal(lfs_cache_path(f->cache), f->dir);
}

static void test_open_under_a_file_fails(void **state)
{
	struct fx *f = *state;
	g_autofree char *file = fx_write_str(f->dir, "file", "x");
	g_autofree char *sub = g_build_filename(file, "cache", NULL);

	assert_false(lfs_cache_open(sub, &f->cache, &f->error));
	assert_null(f->cache);
	assert_lfs_error(f->error, ENOTDIR, "cache directory", sub);
}

static guint count_names(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;

	assert_non_null(d);
	while (g_dir_read_name(d))
		n++;
	return n;
}

/* A temporary file has no name, works for writing and reading back, and
 * two of them are separate files. */
static void test_tmpfile_is_anonymous(void **state)
{
	struct fx *f = *state;
	g_autofree char *cdir = g_build_filename(f->dir, "cache", NULL);
	g_autofree char *udir = g_build_filename(cdir, "unpacked", NULL);
	struct stat st1, st2;
	char buf[6] = {0};
	int fd1, fd2;

	assert_lfs_ok(lfs_cache_open(cdir, &f->cache, &f->error), &f->error);
	assert_int_equal(count_names(udir), 0);
	fd1 = lfs_cache_tmpfile(f->cache);
	fd2 = lfs_cache_tmpfile(f->cache);
	assert_true(fd1 >= 0);
	assert_true(fd2 >= 0);
	assert_int_equal(count_names(udir), 0);

	assert_int_equal(pwrite(fd1, "cached", 6, 0), 6);
	assert_int_equal(pread(fd1, buf, 6, 0), 6);
	assert_memory_equal(buf, "cached", 6);
	assert_int_equal(fstat(fd1, &st1), 0);
	assert_int_equal(fstat(fd2, &st2), 0);
	assert_int_equal(st1.st_nlink, 0);
	assert_true(S_ISREG(st1.st_mode));
	assert_int_equal(st1.st_mode & 0077, 0);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(st2.st_size, 0);
	close(fd1);
	close(fd2);
	assert_int_equal(count_names(udir), 0);
}

static void test_default_dir_for_root(void **state)
{
	g_autofree char *d = NULL;

	(void)state;
	if (geteuid() != 0)
		skip();
	d = lfs_cache_default_dir();
	assert_string_equal(d, "/var/cache/layerfs");
}

/* For anyone else it is under $XDG_CACHE_HOME.  Run in a child that drops
 * its effective uid, so this process keeps its identity. */
static void test_default_dir_for_user(void **state)
{
	struct fx *f = *state;
	g_autofree char *xdg = g_build_filename(f->dir, "xdg", NULL);
	g_autofree char *want = g_build_filename(xdg, "layerfs", NULL);
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip(); /* cannot switch users to test it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		g_autofree char *d = NULL;

		g_setenv("XDG_CACHE_HOME", xdg, TRUE);
		if (seteuid(65534) != 0)
			_exit(2);
		d = lfs_cache_default_dir();
		_exit(strcmp(d, want) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A lock's file is there while it is held, and gone once released. */
static void test_lock_leaves_nothing(void **state)
{
	struct fx *f = *state;
	g_autofree char *cdir = g_build_filename(f->dir, "cache", NULL);
	g_autofree char *idir = g_build_filename(cdir, "index", NULL);
	g_autofree char *lock = g_build_filename(idir, "k.lock", NULL);
	int fd;

	assert_lfs_ok(lfs_cache_open(cdir, &f->cache, &f->error), &f->error);
	fd = lfs_cache_lock(f->cache, "k");
	assert_true(fd >= 0);
	assert_int_equal(access(lock, F_OK), 0);
	lfs_cache_unlock(f->cache, "k", fd);
	assert_int_equal(count_names(idir), 0);
	lfs_cache_unlock(f->cache, "k", -1); /* nothing held: nothing done */
}

struct lockers {
	struct lfs_cache *cache;
	gint inside, overlaps;
};

static gpointer locker(gpointer data)
{
	struct lockers *l = data;

	for (int i = 0; i < 60; i++) {
		int fd = lfs_cache_lock(l->cache, "k");

		g_assert(fd >= 0);
		if (g_atomic_int_add(&l->inside, 1) != 0)
			g_atomic_int_inc(&l->overlaps);
		g_usleep(50);
		g_atomic_int_add(&l->inside, -1);
		lfs_cache_unlock(l->cache, "k", fd);
	}
	return NULL;
}

/* Threads taking and releasing one lock: one holds it at a time, though
 * each release removes the file a waiter may have opened already. */
static void test_lock_excludes_across_removal(void **state)
{
	struct fx *f = *state;
	g_autofree char *cdir = g_build_filename(f->dir, "cache", NULL);
	g_autofree char *idir = g_build_filename(cdir, "index", NULL);
	struct lockers l = { 0 };
	GThread *t[4];

	assert_lfs_ok(lfs_cache_open(cdir, &f->cache, &f->error), &f->error);
	l.cache = f->cache;
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		t[i] = g_thread_new("locker", locker, &l);
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		g_thread_join(t[i]);
	assert_int_equal(l.overlaps, 0);
	assert_int_equal(count_names(idir), 0);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_open_creates_dirs_0700),
	    FT(test_open_existing_dir),
	    FT(test_open_under_a_file_fails),
	    FT(test_tmpfile_is_anonymous),
	    FT(test_lock_leaves_nothing),
	    FT(test_lock_excludes_across_removal),
	    cmocka_unit_test(test_default_dir_for_root),
	    FT(test_default_dir_for_user),
	};

	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
