/* The changes an upper makes to its image (changes.h): made through a
 * writable mount, listed by the walk, and the same when the upper is
 * opened again only to be read (lfs_options.upper_readonly), which must
 * refuse every write and touch nothing on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fixtures.h"
#include "layerfs/changes.h"
#include "layerfs/fsops.h"
#include "layerfs/upper.h"

struct env {
	char *dir, *tar, *upper, *work;
	struct fx_log log;
	struct lfs_mount *m;
	struct lfs_caller c;
};

static struct lfs_mount *open_mount(struct env *e, bool readonly)
{
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	struct lfs_mount *m = NULL;

	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->upper_readonly = readonly;
	if (!readonly)
		o->work = g_strdup(e->work);
	assert_true(lfs_mount_open(o, &e->log.lg, &m, &error));
	return m;
}

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) tar = NULL;

	fx_tar_dir(t, "d");
	fx_tar_file(t, "d/a", "a");
	fx_tar_file(t, "d/b", "b");
	fx_tar_dir(t, "e");
	fx_tar_file(t, "e/x", "x");
	fx_tar_dir(t, "o");
	fx_tar_file(t, "o/gone", "g");
	fx_tar_file(t, "o/kept", "k");
	fx_tar_file(t, "f", "f");
	fx_tar_dir(t, "p");
	fx_tar_dir(t, "p/q");
	fx_tar_file(t, "p/q/r", "r");
	fx_tar_dir(t, "x");
	tar = fx_tar_finish(t);
	e->dir = fx_tmpdir();
	e->tar = fx_write(e->dir, "l.tar", tar);
	e->upper = g_build_filename(e->dir, "u", NULL);
	e->work = g_build_filename(e->dir, "w", NULL);
	g_mkdir(e->upper, 0755);
	g_mkdir(e->work, 0755);
	fx_log_init(&e->log);
	e->c = (struct lfs_caller){ .uid = 0, .gid = 0, .umask = 022 };
	e->m = open_mount(e, false);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	lfs_mount_close(e->m);
	fx_log_clear(&e->log);
	fx_rmtree(e->dir);
	g_free(e->dir);
	g_free(e->tar);
	g_free(e->upper);
	g_free(e->work);
	g_free(e);
	return 0;
}

static uint64_t must(struct env *e, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	uint64_t id = LFS_ROOT_INO;
	struct stat st;

	for (char **p = parts; *p && **p; p++)
		assert_int_equal(lfs_fs_lookup(e->m, id, *p, &id, &st), 0);
	return id;
}

static int make(struct env *e, const char *dir, const char *name,
		mode_t mode)
{
	struct lfs_new_obj o = { .mode = mode, .target = "t" };
	struct stat st;
	uint64_t id;

	return lfs_fs_make(e->m, must(e, dir), name, &o, &e->c, &id, &st,
			   NULL);
}

static int collect(void *ctx, const struct lfs_change *c)
{
	GString *out = ctx;
	char letter = lfs_change_letter(c->kind);

	/* The node is the merged tree's object, of the type reported. */
	if (c->kind == LFS_CHANGE_DELETED)
		assert_null(c->node);
	else
		assert_int_equal(c->node->type, c->type);
	g_string_append_printf(out, "%c %s\n", letter ? letter : '=',
			       c->path[0] ? c->path : "/");
	return 0;
}

static char *changes(struct lfs_mount *m)
{
	GString *out = g_string_new(NULL);

	assert_int_equal(lfs_changes_walk(m->ovl, collect, out), 0);
	return g_string_free(out, FALSE);
}

/* Every kind of change: a new file and directory, a file removed, a
 * directory renamed (a redirect), one emptied and made again (opaque), a
 * file's data changed, a directory that only holds a change. */
static void make_changes(struct env *e)
{
	struct lfs_file *f;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600,
				 .fd = -1 };
	struct stat st;

	assert_int_equal(make(e, "", "n", S_IFREG | 0644), 0);
	assert_int_equal(make(e, "d", "sub", S_IFDIR | 0755), 0);
	assert_int_equal(make(e, "d/sub", "s", S_IFLNK | 0777), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "d"), "a"), 0);
	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "e", LFS_ROOT_INO,
				       "e2", 0),
			 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "o"), "gone"), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "o"), "kept"), 0);
	assert_int_equal(lfs_fs_rmdir(e->m, LFS_ROOT_INO, "o"), 0);
	assert_int_equal(make(e, "", "o", S_IFDIR | 0755), 0);
	assert_int_equal(make(e, "o", "kept", S_IFREG | 0644), 0);
	assert_int_equal(lfs_fs_open(e->m, must(e, "f"), O_WRONLY, &f), 0);
	assert_int_equal(lfs_fs_write(e->m, f, "F", 1, 0), 1);
	lfs_fs_release(e->m, f);
	/* p/q/r copied up, its mode changed: p and p/q are in the upper
	 * only as its parents. */
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "p/q/r"), &a, NULL, &st),
			 0);
	/* x given an xattr, nothing else: copied up, mtime kept. */
	assert_int_equal(lfs_fs_setxattr(e->m, must(e, "x"), "user.k", "v", 1,
					 0),
			 0);
}

/* The root and d changed (entries made and removed); e renamed away and
 * e2 new with what e held; o made again (opaque): kept is there again
 * (changed), gone is deleted; f copied up; p and p/q only parents; x
 * changed by its xattr alone. */
static const char expected[] = "C /\n"
			       "C d\n"
			       "D d/a\n"
			       "A d/sub\n"
			       "A d/sub/s\n"
			       "D e\n"
			       "A e2\n"
			       "A e2/x\n"
			       "C f\n"
			       "A n\n"
			       "C o\n"
			       "D o/gone\n"
			       "C o/kept\n"
			       "= p\n"
			       "= p/q\n"
			       "C p/q/r\n"
			       "C x\n";

static void test_walk(void **state)
{
	struct env *e = *state;
	g_autofree char *none = changes(e->m);
	g_autofree char *got = NULL;

	assert_string_equal(none, "= /\n");
	make_changes(e);
	got = changes(e->m);
	assert_string_equal(got, expected);
}

/* Opened again only to be read: the same changes; writes refused; the
 * work directory neither needed nor touched. */
static void test_readonly_view(void **state)
{
	struct env *e = *state;
	g_autofree char *got = NULL;
	struct lfs_new_obj o = { .mode = S_IFREG | 0644, .flags = O_RDWR };
	struct lfs_file *f = NULL;
	struct stat st;
	uint64_t id;

	make_changes(e);
	lfs_mount_close(e->m);
	fx_rmtree(e->work);
	e->m = open_mount(e, true);
	assert_false(lfs_fs_writable(e->m));
	got = changes(e->m);
	assert_string_equal(got, expected);
	assert_int_equal(lfs_fs_make(e->m, LFS_ROOT_INO, "x", &o, &e->c, &id,
				     &st, &f),
			 -EROFS);
	assert_int_equal(lfs_fs_unlink(e->m, LFS_ROOT_INO, "n"), -EROFS);
	assert_int_equal(lfs_fs_open(e->m, must(e, "d/b"), O_WRONLY, &f),
			 -EROFS);
	/* Reading a file whose data is still below works. */
	assert_int_equal(lfs_fs_open(e->m, must(e, "d/b"), O_RDONLY, &f), 0);
	lfs_fs_release(e->m, f);
	assert_false(g_file_test(e->work, G_FILE_TEST_EXISTS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_view, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
