/* Reading a live directory layer: an upper made by hand in overlayfs's
 * format (both whiteout spellings, opaque, redirect, metacopy, origins
 * recorded over this stack and another), classified entry by entry; its
 * listings; xattrs with the overlay.* names hidden. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/live_dir.h"

#define STACK 0x1234

struct env {
	char *dir;
	struct lfs_live lv;
};

static void set(const char *dir, const char *name, const char *x,
		const char *v)
{
	g_autofree char *p = g_build_filename(dir, name, NULL);

	assert_int_equal(lsetxattr(p, x, v, strlen(v), 0), 0);
}

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	g_autofree char *p = NULL;

	e->dir = fx_tmpdir();
	e->lv.ns = LFS_OVL_NS_TRUSTED;
	e->lv.stack_id = STACK;
	p = g_build_filename(e->dir, "wh", NULL);
	assert_int_equal(mknod(p, S_IFCHR, 0), 0);
	g_free(fx_write_str(e->dir, "xwh", ""));
	set(e->dir, "xwh", "trusted.overlay.whiteout", "");
	g_free(fx_write_str(e->dir, "opq/f", "f"));
	set(e->dir, "opq", "trusted.overlay.opaque", "y");
	g_free(fx_write_str(e->dir, "notopq/f", "f"));
	set(e->dir, "notopq", "trusted.overlay.opaque", "x");
	g_free(fx_write_str(e->dir, "moved/f", "f"));
	set(e->dir, "moved", "trusted.overlay.redirect", "/a/b");
	g_free(fx_write_str(e->dir, "meta", ""));
	set(e->dir, "meta", "trusted.overlay.metacopy", "");
	set(e->dir, "meta", "trusted.overlay.redirect", "/x/y");
	g_free(fx_write_str(e->dir, "mine", "m"));
	set(e->dir, "mine", "trusted.overlay.layerfs.origin",
	    "layerfs1:0000000000001234:400000007");
	set(e->dir, "mine", "user.keep", "1");
	g_free(fx_write_str(e->dir, "theirs", "t"));
	set(e->dir, "theirs", "trusted.overlay.layerfs.origin",
	    "layerfs1:0000000000009999:400000007");
	set(e->dir, "theirs", "trusted.overlay.origin", "\x01\x02");
	e->lv.rootfd = open(e->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->lv.rootfd >= 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	close(e->lv.rootfd);
	fx_rmtree(e->dir);
	g_free(e->dir);
	g_free(e);
	return 0;
}

static const struct {
	const char *name;
	enum lfs_live_kind kind;
	bool opaque, metacopy;
	const char *redirect;
	uint64_t origin;
} cases[] = {
	{ "absent", LFS_LIVE_ABSENT, false, false, NULL, 0 },
	{ "wh", LFS_LIVE_WHITEOUT, false, false, NULL, 0 },
	{ "xwh", LFS_LIVE_WHITEOUT, false, false, NULL, 0 },
	{ "opq", LFS_LIVE_DIR, true, false, NULL, 0 },
	/* "x" marks a directory holding xattr whiteouts, not opaque. */
	{ "notopq", LFS_LIVE_DIR, false, false, NULL, 0 },
	{ "moved", LFS_LIVE_DIR, false, false, "/a/b", 0 },
	{ "meta", LFS_LIVE_OTHER, false, true, "/x/y", 0 },
	{ "mine", LFS_LIVE_OTHER, false, false, NULL, 0x400000007 },
	/* Recorded over another stack: names nothing here. */
	{ "theirs", LFS_LIVE_OTHER, false, false, NULL, 0 },
};

static void test_classify(void **state)
{
	struct env *e = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct lfs_live_ent ent;

		print_message("# %s\n", cases[i].name);
		assert_int_equal(lfs_live_stat(&e->lv, e->lv.rootfd,
					       cases[i].name, &ent),
				 0);
		assert_int_equal(ent.kind, cases[i].kind);
		assert_int_equal(ent.opaque, cases[i].opaque);
		assert_int_equal(ent.metacopy, cases[i].metacopy);
		if (cases[i].redirect)
			assert_string_equal(ent.redirect, cases[i].redirect);
		else
			assert_null(ent.redirect);
		assert_int_equal(ent.origin, cases[i].origin);
		lfs_live_ent_clear(&ent);
	}
}

/* A symlink at a name is the entry itself, never what it points to. */
static void test_symlink_not_followed(void **state)
{
	struct env *e = *state;
	g_autofree char *p = g_build_filename(e->dir, "ln", NULL);
	struct lfs_live_ent ent;
	char buf[64];
	int err;
	g_autofree char *t = NULL;

	assert_int_equal(symlink("opq", p), 0);
	assert_int_equal(lfs_live_stat(&e->lv, e->lv.rootfd, "ln", &ent), 0);
	assert_int_equal(ent.kind, LFS_LIVE_OTHER);
	assert_true(S_ISLNK(ent.st.st_mode));
	assert_false(ent.opaque);
	assert_int_equal(lfs_live_getxattr(&e->lv, e->lv.rootfd, "ln", "user.keep",
					   buf, sizeof(buf)),
			 -ENODATA);
	t = lfs_live_readlink(e->lv.rootfd, "ln", &err);
	assert_int_equal(err, 0);
	assert_string_equal(t, "opq");
	assert_null(lfs_live_readlink(e->lv.rootfd, "mine", &err));
	assert_int_equal(err, -EINVAL);
}

static void test_xattrs_hide_overlay(void **state)
{
	struct env *e = *state;
	char buf[256];

	assert_int_equal(lfs_live_listxattr(&e->lv, e->lv.rootfd, "mine", NULL, 0),
			 (ssize_t)sizeof("user.keep"));
	assert_int_equal(lfs_live_listxattr(&e->lv, e->lv.rootfd, "mine", buf,
					    sizeof(buf)),
			 (ssize_t)sizeof("user.keep"));
	assert_string_equal(buf, "user.keep");
	assert_int_equal(lfs_live_listxattr(&e->lv, e->lv.rootfd, "mine", buf, 3),
			 -ERANGE);
	assert_int_equal(lfs_live_getxattr(&e->lv, e->lv.rootfd, "mine",
					   "trusted.overlay.layerfs.origin",
					   buf, sizeof(buf)),
			 -ENODATA);
	assert_int_equal(lfs_live_getxattr(&e->lv, e->lv.rootfd, "mine", "user.keep",
					   buf, sizeof(buf)),
			 1);
	assert_int_equal(lfs_live_listxattr(&e->lv, e->lv.rootfd, "theirs", NULL, 0),
			 0);
}

static void test_list(void **state)
{
	struct env *e = *state;
	g_autoptr(GArray) ents = NULL;
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash,
						       g_str_equal);

	assert_int_equal(lfs_live_list(e->lv.rootfd, &ents), 0);
	assert_int_equal(ents->len, G_N_ELEMENTS(cases) - 1);
	for (guint i = 0; i < ents->len; i++) {
		struct lfs_live_dirent *d =
			&g_array_index(ents, struct lfs_live_dirent, i);

		g_hash_table_add(names, d->name);
		if (strcmp(d->name, "wh") == 0)
			assert_int_equal(d->d_type, DT_CHR);
	}
	assert_true(g_hash_table_contains(names, "moved"));
	assert_false(g_hash_table_contains(names, "."));
}

static void test_origin_value(void **state)
{
	struct env *e = *state;
	g_autofree char *v = lfs_live_origin_value(&e->lv, 0x400000007);

	assert_string_equal(v, "layerfs1:0000000000001234:400000007");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xattrs_hide_overlay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin_value, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("live_dir", tests, NULL, NULL);
}
