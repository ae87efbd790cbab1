/* The writable namespace's node table: kernel counts and forgets, ids
 * never handed out twice, names of one object on one node, an upper
 * inode number that may come back for a new file, and listings cached
 * until their directory changes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fixtures.h"
#include "layerfs/fsops.h"
#include "layerfs/overlay.h"

struct env {
	char *dir;
	struct fx_log log;
	struct lfs_mount *m;
	struct lfs_ovl *ov;
};

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry h2 = { .path = "d/h2", .hardlink = "d/h1" };
	g_autoptr(GBytes) tar = NULL;

	fx_tar_dir(t, "d");
	fx_tar_file(t, "d/h1", "h");
	fx_tar_add(t, &h2);
	fx_tar_file(t, "d/f", "f");
	tar = fx_tar_finish(t);
	e->dir = fx_tmpdir();
	g_ptr_array_add(o->layers, fx_write(e->dir, "l.tar", tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_build_filename(e->dir, "u", NULL);
	o->work = g_build_filename(e->dir, "w", NULL);
	g_mkdir(o->upper, 0755);
	g_mkdir(o->work, 0755);
	fx_log_init(&e->log);
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	e->ov = e->m->ovl;
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
	g_free(e);
	return 0;
}

static uint64_t lookup(struct env *e, uint64_t parent, const char *name)
{
	struct stat st;
	uint64_t id;

	assert_int_equal(lfs_fs_lookup(e->m, parent, name, &id, &st), 0);
	return id;
}

static uint64_t nodes(struct env *e)
{
	struct lfs_ovl_stats st;

	lfs_ovl_stats(e->ov, &st);
	return st.nodes;
}

static void test_counts_and_forget(void **state)
{
	struct env *e = *state;
	uint64_t d = lookup(e, LFS_ROOT_INO, "d");
	uint64_t f = lookup(e, d, "f");
	uint64_t again = lookup(e, d, "f");
	struct stat st;

	assert_int_equal(f, again);
	assert_int_equal(nodes(e), 2);
	/* Two counts: one forget keeps it. */
	lfs_fs_forget(e->m, f, 1);
	assert_int_equal(lfs_fs_getattr(e->m, f, &st), 0);
	lfs_fs_forget(e->m, f, 1);
	assert_int_equal(lfs_fs_getattr(e->m, f, &st), -ESTALE);
	assert_int_equal(nodes(e), 1);
	/* Looked up again it is a new node: ids are never reused, and the
	 * object keeps its inode number. */
	again = lookup(e, d, "f");
	assert_true(again != f);
	assert_int_equal(lfs_fs_getattr(e->m, again, &st), 0);
	/* The root is never forgotten. */
	lfs_fs_forget(e->m, LFS_ROOT_INO, 100);
	assert_int_equal(lfs_fs_getattr(e->m, LFS_ROOT_INO, &st), 0);
}

static void test_hardlinks_share_a_node(void **state)
{
	struct env *e = *state;
	uint64_t d = lookup(e, LFS_ROOT_INO, "d");

	assert_int_equal(lookup(e, d, "h1"), lookup(e, d, "h2"));
	assert_true(lookup(e, d, "h1") != lookup(e, d, "f"));
}

/* A removed upper file the kernel still holds keeps its node, and a new
 * file that the upper gives the same inode number gets another. */
static void test_upper_ino_reuse(void **state)
{
	struct env *e = *state;
	struct lfs_caller c = { 0, 0, 022 };
	struct lfs_new_obj o = { .mode = S_IFREG | 0644 };
	uint64_t d = lookup(e, LFS_ROOT_INO, "d"), a, b;
	struct stat sa, sb;

	assert_int_equal(lfs_fs_make(e->m, d, "new", &o, &c, &a, &sa, NULL),
			 0);
	assert_true(sa.st_ino & LFS_UPPER_INO_BIT);
	assert_int_equal(lfs_fs_unlink(e->m, d, "new"), 0);
	assert_int_equal(lfs_fs_make(e->m, d, "new2", &o, &c, &b, &sb, NULL),
			 0);
	assert_true(a != b);
}

static void test_listing_cache(void **state)
{
	struct env *e = *state;
	uint64_t d = lookup(e, LFS_ROOT_INO, "d");
	struct lfs_onode *n = lfs_ovl_get(e->ov, d);
	struct lfs_olist *l1, *l2, *l3;
	struct lfs_ovl_stats st;

	assert_int_equal(lfs_ovl_dirlist(e->ov, n, &l1), 0);
	assert_int_equal(lfs_ovl_dirlist(e->ov, n, &l2), 0);
	assert_ptr_equal(l1, l2);
	assert_int_equal(l1->n, 3);
	for (uint32_t i = 1; i < l1->n; i++)
		assert_true(l1->ents[i].cookie > l1->ents[i - 1].cookie);
	assert_true(l1->ents[0].cookie >= LFS_OLIST_FIRST_COOKIE);
	assert_int_equal(lfs_fs_unlink(e->m, d, "f"), 0);
	assert_int_equal(lfs_ovl_dirlist(e->ov, n, &l3), 0);
	assert_ptr_not_equal(l3, l1);
	assert_int_equal(l3->n, 2);
	lfs_ovl_stats(e->ov, &st);
	assert_int_equal(st.listings, 2);
	lfs_olist_unref(l1);
	lfs_olist_unref(l2);
	lfs_olist_unref(l3);
	lfs_ovl_put(e->ov, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_and_forget, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hardlinks_share_a_node,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_upper_ino_reuse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listing_cache, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("overlay", tests, NULL, NULL);
}
