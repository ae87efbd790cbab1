/* The index builder's per-layer rules (index.h): last entry wins, implicit
 * parents, whiteout and opaque markers, orphans, hardlink resolution, and
 * the finished layout (sorted children, subdirectory counts, lookups). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/index.h"
#include "layerfs/index_file.h"

static struct lfs_scan_entry reg(uint64_t data)
{
	struct lfs_scan_entry e = { .type = LFS_T_REG, .mode = 0644,
				    .mtime_sec = FX_MTIME, .data = data };

	return e;
}

static struct lfs_scan_entry dir(uint32_t mode)
{
	struct lfs_scan_entry e = { .type = LFS_T_DIR, .mode = mode };

	return e;
}

static struct lfs_scan_entry hardlink(const char *target)
{
	struct lfs_scan_entry e = { .type = LFS_T_HARDLINK, .target = target };

	return e;
}

static struct lfs_index *finish(struct lfs_index_builder *b,
				struct fx_log *log)
{
	struct lfs_index *ix = NULL;

	fx_log_init(log);
	ix = lfs_index_builder_finish(b, &log->lg, "L");
	lfs_index_builder_free(b);
	return ix;
}

static const struct lfs_index_entry *at(const struct lfs_index *ix,
					const char *path)
{
	uint32_t i = lfs_index_lookup_path(ix, path);

	assert_int_not_equal(i, LFS_INDEX_NONE);
	return lfs_index_get(ix, i);
}

static void test_empty_layer_has_implicit_root(void **state)
{
	struct fx_log log;
	struct lfs_index *ix = finish(lfs_index_builder_new(), &log);

	(void)state;
	assert_int_equal(ix->nentries, 1);
	assert_int_equal(ix->entries[0].type, LFS_T_DIR);
	assert_true(ix->entries[0].flags & LFS_E_IMPLICIT);
	assert_int_equal(ix->entries[0].u.dir.count, 0);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_last_entry_wins(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry first = reg(512), second = reg(2048);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	first.size = 5;
	second.size = 7;
	assert_int_equal(lfs_index_builder_add(b, "dup", &first), 0);
	assert_int_equal(lfs_index_builder_add(b, "dup", &second), 0);
	ix = finish(b, &log);
	assert_int_equal(ix->nentries, 2);
	assert_int_equal(at(ix, "dup")->size, 7);
	assert_int_equal(at(ix, "dup")->u.data, 2048);
	assert_int_equal(ix->stat_entries, 2);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_implicit_parents(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0700);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "a/b/c/file", &f);
	lfs_index_builder_add(b, "a", &d);
	ix = finish(b, &log);
	/* root, a, a/b, a/b/c, a/b/c/file */
	assert_int_equal(ix->nentries, 5);
	assert_false(at(ix, "a")->flags & LFS_E_IMPLICIT);
	assert_int_equal(at(ix, "a")->mode, 0700);
	assert_true(at(ix, "a/b")->flags & LFS_E_IMPLICIT);
	assert_true(at(ix, "a/b/c")->flags & LFS_E_IMPLICIT);
	assert_true(ix->entries[0].flags & LFS_E_IMPLICIT);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static const char *const sorted_names[] = { "B",  "a",  "a\x01",
					     "ab", "b",	 "zz", "\xc3\xa9" };

/* Add @names in that order; the root's children must come out in
 * @sorted's (bytewise) order, and each be found. */
static void check_sorted_as(const char *const *names, size_t n,
			    const char *const *sorted)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0);
	const struct lfs_index_entry *root;
	struct fx_log log;
	struct lfs_index *ix;

	for (size_t i = 0; i < n; i++)
		lfs_index_builder_add(b, names[i], &f);
	ix = finish(b, &log);
	root = &ix->entries[0];
	assert_int_equal(root->u.dir.count, n);
	for (uint32_t i = 0; i < root->u.dir.count; i++) {
		const struct lfs_index_entry *e =
			&ix->entries[root->u.dir.first + i];
		const char *want = sorted[i];

		assert_string_equal(lfs_index_str(ix, e->name), want);
		assert_int_equal(e->name_len, strlen(want));
		assert_int_equal(e->parent, 0);
		assert_int_equal(lfs_index_find(ix, 0, want, strlen(want)),
				 root->u.dir.first + i);
	}
	assert_int_equal(lfs_index_find(ix, 0, "a", 0), LFS_INDEX_NONE);
	assert_int_equal(lfs_index_find(ix, 0, "c", 1), LFS_INDEX_NONE);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void check_children_sorted(const char *const *names, size_t n)
{
	check_sorted_as(names, n, sorted_names);
}

/* In any order the members come: shuffled, in order, backwards, and in
 * order but for the last two (the layout skips the sort for the two
 * orders it can see at a glance). */
static void test_children_sorted_bytewise(void **state)
{
	static const char *const shuffled[] = { "b", "a", "ab", "B",
						 "\xc3\xa9", "a\x01", "zz" };
	static const char *const backwards[] = { "\xc3\xa9", "zz", "b", "ab",
						  "a\x01", "a", "B" };
	static const char *const almost[] = { "B",  "a",	"a\x01", "ab",
					       "b", "\xc3\xa9", "zz" };

	(void)state;
	check_children_sorted(shuffled, G_N_ELEMENTS(shuffled));
	check_children_sorted(sorted_names, G_N_ELEMENTS(sorted_names));
	check_children_sorted(backwards, G_N_ELEMENTS(backwards));
	check_children_sorted(almost, G_N_ELEMENTS(almost));
}

/* Names alike in their first 8 bytes (the layout sorts by those first):
 * the rest decides, bytewise, a prefix first. */
static void test_children_sorted_past_8_bytes(void **state)
{
	static const char *const names[] = { "prefix12b", "prefix12",
					     "prefix12\xff", "prefix12a",
					     "prefix11zzz", "prefix12\x01" };
	static const char *const sorted[] = { "prefix11zzz", "prefix12",
					      "prefix12\x01", "prefix12a",
					      "prefix12b", "prefix12\xff" };

	(void)state;
	check_sorted_as(names, G_N_ELEMENTS(names), sorted);
}

static void test_parents_precede_children(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "z/y/x", &f);
	lfs_index_builder_add(b, "a/b", &f);
	lfs_index_builder_add(b, "m", &f);
	ix = finish(b, &log);
	for (uint32_t i = 1; i < ix->nentries; i++)
		assert_true(ix->entries[i].parent < i);
	{
		g_autofree char *p = lfs_index_path(
			ix, lfs_index_lookup_path(ix, "z/y/x"));

		assert_string_equal(p, "z/y/x");
	}
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_subdir_counts(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0755);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "d1", &d);
	lfs_index_builder_add(b, "d2/sub", &d);
	lfs_index_builder_add(b, "file", &f);
	lfs_index_builder_whiteout(b, "gone");
	ix = finish(b, &log);
	assert_int_equal(ix->entries[0].size, 2);
	assert_int_equal(at(ix, "d2")->size, 1);
	assert_int_equal(at(ix, "d1")->size, 0);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_whiteout_alone(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_whiteout(b, "etc/passwd");
	ix = finish(b, &log);
	assert_int_equal(at(ix, "etc/passwd")->type, LFS_T_WHITEOUT);
	assert_true(at(ix, "etc")->flags & LFS_E_IMPLICIT);
	assert_int_equal(ix->stat_whiteouts, 1);
	assert_int_equal(ix->stat_entries, 0);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* ".wh.x" and "x" in one layer: x stands, the lower x is replaced whole.
 * The order of the two members must not matter. */
static void test_whiteout_beside_entry(void **state)
{
	for (int order = 0; order < 2; order++) {
		struct lfs_index_builder *b = lfs_index_builder_new();
		struct lfs_scan_entry d = dir(0755);
		struct fx_log log;
		struct lfs_index *ix;

		(void)state;
		if (order == 0)
			lfs_index_builder_whiteout(b, "x");
		lfs_index_builder_add(b, "x", &d);
		if (order == 1)
			lfs_index_builder_whiteout(b, "x");
		ix = finish(b, &log);
		assert_int_equal(at(ix, "x")->type, LFS_T_DIR);
		assert_true(at(ix, "x")->flags & LFS_E_REPLACES);
		assert_false(at(ix, "x")->flags & LFS_E_IMPLICIT);
		lfs_index_free(ix);
		fx_log_clear(&log);
	}
}

/* ".wh.x" and "x/child": x is an implicit directory replacing lower x. */
static void test_whiteout_then_children(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_whiteout(b, "x");
	lfs_index_builder_add(b, "x/child", &f);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "x")->type, LFS_T_DIR);
	assert_true(at(ix, "x")->flags & LFS_E_IMPLICIT);
	assert_true(at(ix, "x")->flags & LFS_E_REPLACES);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_opaque_markers(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry d = dir(0711), f = reg(0);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "listed", &d);
	lfs_index_builder_opaque(b, "listed");
	lfs_index_builder_opaque(b, "unlisted");
	lfs_index_builder_opaque(b, "");
	lfs_index_builder_add(b, "file", &f);
	lfs_index_builder_opaque(b, "file"); /* nonsense: not a directory */
	ix = finish(b, &log);
	assert_true(at(ix, "listed")->flags & LFS_E_OPAQUE);
	assert_false(at(ix, "listed")->flags & LFS_E_IMPLICIT);
	assert_int_equal(at(ix, "listed")->mode, 0711);
	assert_true(at(ix, "unlisted")->flags & LFS_E_OPAQUE);
	assert_true(at(ix, "unlisted")->flags & LFS_E_IMPLICIT);
	assert_int_equal(at(ix, "unlisted")->type, LFS_T_DIR);
	assert_true(ix->entries[0].flags & LFS_E_OPAQUE);
	assert_false(at(ix, "file")->flags & LFS_E_OPAQUE);
	assert_int_equal(ix->stat_whiteouts, 4);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_children_of_file_dropped(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "a/b/c", &f);
	lfs_index_builder_add(b, "a", &f);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "a")->type, LFS_T_REG);
	assert_int_equal(lfs_index_lookup_path(ix, "a/b"), LFS_INDEX_NONE);
	assert_int_equal(ix->nentries, 2);
	/* a/b was only implied; the member lost is a/b/c. */
	assert_true(fx_log_has(&log, "L: entry \"a/b/c\" skipped: a parent "
				     "of it is not a directory in this layer"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static struct lfs_scan_entry slink(const char *target)
{
	struct lfs_scan_entry e = { .type = LFS_T_LNK, .mode = 0777,
				    .target = target };

	return e;
}

/* A member below one of the layer's own symlinks lands where the link
 * leads, as umoci and containerd extract it (securejoin): relative targets
 * from the link's directory, absolute ones and ".." never above the root,
 * chains followed, missing directories made implicit on the way. */
static void test_members_through_symlinks(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0750);
	struct lfs_scan_entry rel = slink("usr/lib"), abs = slink("/q/r");
	struct lfs_scan_entry up = slink("../../../usr"),
			      chain = slink("usr/up/lib/./");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "usr", &d);
	lfs_index_builder_add(b, "lib", &rel);
	lfs_index_builder_add(b, "lib/a", &f);	      /* -> usr/lib/a */
	lfs_index_builder_add(b, "s", &abs);
	lfs_index_builder_add(b, "s/f", &f);	      /* -> q/r/f */
	lfs_index_builder_add(b, "usr/up", &up);
	lfs_index_builder_add(b, "usr/up/b", &f);     /* -> usr/b */
	lfs_index_builder_add(b, "c", &chain);
	lfs_index_builder_add(b, "c/sub/deep", &f);   /* -> usr/lib/sub/deep */
	ix = finish(b, &log);
	assert_int_equal(at(ix, "lib")->type, LFS_T_LNK);
	assert_int_equal(at(ix, "usr/lib/a")->type, LFS_T_REG);
	assert_true(at(ix, "usr/lib")->flags & LFS_E_IMPLICIT);
	assert_int_equal(at(ix, "s")->type, LFS_T_LNK);
	assert_int_equal(at(ix, "q/r/f")->type, LFS_T_REG);
	assert_true(at(ix, "q")->flags & LFS_E_IMPLICIT);
	assert_int_equal(at(ix, "usr/b")->type, LFS_T_REG);
	assert_int_equal(at(ix, "usr")->mode, 0750);
	assert_int_equal(at(ix, "usr/lib/sub/deep")->type, LFS_T_REG);
	/* root; usr lib s c q; usr: b lib up; q: r; lib: a sub; r: f;
	 * sub: deep */
	assert_int_equal(ix->nentries, 14);
	assert_false(fx_log_has(&log, "skipped"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* Markers below a symlink apply where it leads; an opaque marker's
 * directory is resolved whole.  A symlink that loops, or has no target,
 * cannot be followed: what is below it is dropped, named in a warning. */
static void test_markers_and_loops_through_symlinks(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0755);
	struct lfs_scan_entry to_d = slink("d"), to_e = slink("e/");
	struct lfs_scan_entry l1 = slink("l2"), l2 = slink("./l1"),
			      empty = slink("");
	struct fx_log log;
	struct lfs_index *ix;
	enum lfs_wh_kind kind;

	(void)state;
	lfs_index_builder_add(b, "d", &d);
	lfs_index_builder_add(b, "ld", &to_d);
	lfs_index_builder_add(b, "le", &to_e);
	lfs_index_builder_marker(b, "ld/.wh.gone", &kind);
	assert_int_equal(kind, LFS_WH_DELETE);
	lfs_index_builder_marker(b, "le/.wh..wh..opq", &kind);
	assert_int_equal(kind, LFS_WH_OPAQUE);
	lfs_index_builder_add(b, "l1", &l1);
	lfs_index_builder_add(b, "l2", &l2);
	lfs_index_builder_add(b, "l1/f", &f);
	lfs_index_builder_add(b, "nothing", &empty);
	lfs_index_builder_add(b, "nothing/f", &f);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "d/gone")->type, LFS_T_WHITEOUT);
	assert_true(at(ix, "e")->flags & LFS_E_OPAQUE);
	assert_true(at(ix, "e")->flags & LFS_E_TRANSPARENT);
	assert_int_equal(at(ix, "le")->type, LFS_T_LNK);
	assert_int_equal(at(ix, "l1")->type, LFS_T_LNK);
	assert_true(fx_log_has(&log, "L: entry \"l1/f\" skipped: its parent is "
				     "a symbolic link that cannot be followed"));
	assert_true(fx_log_has(&log, "L: entry \"nothing/f\" skipped: its "
				     "parent is a symbolic link that cannot"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* Extraction works in member order: a member below a path resolves it as
 * the layer stands then.  A symlink that replaces a directory moves later
 * members, and a directory that replaces a symlink takes them back, even
 * when they share a directory with the member just before. */
static void test_symlink_order(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0700);
	struct lfs_scan_entry to_t = slink("t");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "x/one", &f);	/* x implicit */
	lfs_index_builder_add(b, "x", &to_t);	/* x a symlink now */
	lfs_index_builder_add(b, "x/two", &f);	/* -> t/two */
	lfs_index_builder_add(b, "x", &d);	/* a directory again */
	lfs_index_builder_add(b, "x/three", &f); /* stays in x */
	ix = finish(b, &log);
	assert_int_equal(at(ix, "x")->type, LFS_T_DIR);
	assert_int_equal(at(ix, "x/one")->type, LFS_T_REG);
	assert_int_equal(at(ix, "x/three")->type, LFS_T_REG);
	assert_int_equal(at(ix, "t/two")->type, LFS_T_REG);
	assert_int_equal(lfs_index_lookup_path(ix, "x/two"), LFS_INDEX_NONE);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* The layer's steps inside symlink targets are budgeted: past the budget,
 * a member below a symlink is dropped like one below a loop, so a hostile
 * layer of long chains cannot keep the pass busy for hours. */
static void test_symlink_step_budget(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), to_abc = slink("a/b/c");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_set_link_steps(b, 4);
	lfs_index_builder_add(b, "l", &to_abc);
	lfs_index_builder_add(b, "l/one", &f);	   /* 3 steps: 1 left */
	lfs_index_builder_add(b, "l/x/two", &f);   /* followed: 0 left */
	lfs_index_builder_add(b, "l/y/three", &f); /* not followed */
	ix = finish(b, &log);
	assert_int_equal(at(ix, "a/b/c/one")->type, LFS_T_REG);
	assert_int_equal(at(ix, "a/b/c/x/two")->type, LFS_T_REG);
	assert_int_equal(lfs_index_lookup_path(ix, "a/b/c/y"), LFS_INDEX_NONE);
	assert_true(fx_log_has(&log, "L: entry \"l/y/three\" skipped: a "
				     "parent of it is a symbolic link that "
				     "cannot be followed"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* A hardlink's target path is resolved through the layer's symlinks. */
static void test_hardlink_through_symlink(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(512), to_d = slink("d"),
			      h = hardlink("ld/file");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "d/file", &f);
	lfs_index_builder_add(b, "ld", &to_d);
	lfs_index_builder_add(b, "h", &h);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "h")->type, LFS_T_HARDLINK);
	assert_false(at(ix, "h")->flags & LFS_E_XLINK);
	assert_int_equal(at(ix, "h")->u.target,
			 lfs_index_lookup_path(ix, "d/file"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* Members are walked from the last member's directory when they share
 * it: a directory that became a file in between, and a sibling walked
 * after a deeper path, come out as a full walk would have them. */
static void test_same_directory_walks(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0700);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "x/y/one", &f);
	lfs_index_builder_add(b, "x/y/two", &f);
	lfs_index_builder_add(b, "x/y", &f);	  /* the directory, a file now */
	lfs_index_builder_add(b, "x/y/three", &f); /* so this is an orphan */
	lfs_index_builder_add(b, "x/z/four", &f);
	lfs_index_builder_add(b, "x/y2/five", &f);
	lfs_index_builder_add(b, "x/z", &d);	  /* explicit after implicit */
	lfs_index_builder_add(b, "x/z/six", &f);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "x/y")->type, LFS_T_REG);
	assert_int_equal(lfs_index_lookup_path(ix, "x/y/three"),
			 LFS_INDEX_NONE);
	assert_true(fx_log_has(&log, "L: entry \"x/y/three\" skipped: its "
				     "parent is not a directory in this "
				     "layer"));
	assert_int_equal(at(ix, "x/z")->mode, 0700);
	assert_int_equal(at(ix, "x/z")->flags & LFS_E_IMPLICIT, 0);
	assert_int_equal(at(ix, "x/z/four")->type, LFS_T_REG);
	assert_int_equal(at(ix, "x/z/six")->type, LFS_T_REG);
	assert_int_equal(at(ix, "x/y2/five")->type, LFS_T_REG);
	assert_int_equal(at(ix, "x")->u.dir.count, 3);
	/* root, x, y y2 z, five four six (one, two and three dropped) */
	assert_int_equal(ix->nentries, 8);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_root_entry_must_be_dir(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), d = dir(0700);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "", &d);
	ix = finish(b, &log);
	assert_int_equal(ix->entries[0].mode, 0700);
	assert_false(ix->entries[0].flags & LFS_E_IMPLICIT);
	lfs_index_free(ix);
	fx_log_clear(&log);

	b = lfs_index_builder_new();
	lfs_index_builder_add(b, "", &f);
	ix = finish(b, &log);
	assert_int_equal(ix->entries[0].type, LFS_T_DIR);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_hardlinks_in_layer(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(1024), h1 = hardlink("dir/target"),
			      h2 = hardlink("l1");
	struct fx_log log;
	struct lfs_index *ix;
	uint32_t target;

	(void)state;
	lfs_index_builder_add(b, "dir/target", &f);
	lfs_index_builder_add(b, "l1", &h1);
	lfs_index_builder_add(b, "sub/l2", &h2); /* a link to a link */
	ix = finish(b, &log);
	target = lfs_index_lookup_path(ix, "dir/target");
	assert_int_equal(at(ix, "l1")->type, LFS_T_HARDLINK);
	assert_int_equal(at(ix, "l1")->u.target, target);
	assert_int_equal(at(ix, "sub/l2")->u.target, target);
	assert_false(at(ix, "l1")->flags & LFS_E_XLINK);
	assert_int_equal(ix->nhardlinks, 2);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* A hardlink keeps the object it named when a later member replaces that
 * name, as extraction in member order leaves it: the first link takes
 * the object over, later links (and links to links) name that one, and a
 * link made after the replacement names the new object. */
static void test_hardlink_target_replaced(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry v1 = reg(512), v2 = reg(4096),
			      to_a = hardlink("a"), to_b = hardlink("b");
	struct fx_log log;
	struct lfs_index *ix;
	uint32_t bi, ai;

	(void)state;
	v1.mode = 0600;
	v1.size = 100;
	v2.size = 200;
	lfs_index_builder_add(b, "a", &v1);
	lfs_index_builder_add(b, "b", &to_a);
	lfs_index_builder_add(b, "c", &to_a);
	lfs_index_builder_add(b, "d", &to_b); /* a link to the link */
	lfs_index_builder_add(b, "a", &v2);
	lfs_index_builder_add(b, "e", &to_a); /* after: the new "a" */
	ix = finish(b, &log);
	bi = lfs_index_lookup_path(ix, "b");
	ai = lfs_index_lookup_path(ix, "a");
	assert_int_equal(at(ix, "b")->type, LFS_T_REG);
	assert_int_equal(at(ix, "b")->size, 100);
	assert_int_equal(at(ix, "b")->u.data, 512);
	assert_int_equal(at(ix, "b")->mode, 0600);
	assert_int_equal(at(ix, "a")->size, 200);
	assert_int_equal(at(ix, "a")->u.data, 4096);
	assert_int_equal(at(ix, "a")->mode, 0644);
	assert_int_equal(at(ix, "c")->u.target, bi);
	assert_int_equal(at(ix, "d")->u.target, bi);
	assert_int_equal(at(ix, "e")->u.target, ai);
	assert_int_equal(ix->nhardlinks, 3);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_hardlink_to_lower_layer(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry h = hardlink("usr/bin/elsewhere");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "link", &h);
	ix = finish(b, &log);
	assert_true(at(ix, "link")->flags & LFS_E_XLINK);
	assert_string_equal(lfs_index_str(ix, at(ix, "link")->u.target),
			    "usr/bin/elsewhere");
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_bad_hardlinks_dropped(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry d = dir(0755), to_dir = hardlink("d"),
			      a = hardlink("b"), bb = hardlink("a"),
			      empty = hardlink("");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "d", &d);
	lfs_index_builder_add(b, "to_dir", &to_dir);
	lfs_index_builder_add(b, "a", &a);
	lfs_index_builder_add(b, "b", &bb);
	lfs_index_builder_add(b, "empty", &empty);
	ix = finish(b, &log);
	assert_int_equal(lfs_index_lookup_path(ix, "to_dir"), LFS_INDEX_NONE);
	assert_int_equal(lfs_index_lookup_path(ix, "empty"), LFS_INDEX_NONE);
	assert_true(fx_log_has(&log, "hardlink \"to_dir\" skipped: it links "
				     "to a directory"));
	assert_true(fx_log_has(&log, "hardlink loop"));
	assert_true(fx_log_has(&log, "has no target"));
	assert_int_equal(ix->nhardlinks, 0);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_xattrs_and_strings(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	static const char bin[] = { 'a', '\0', 'b' };
	struct lfs_scan_xattr xs[] = { { "user.one", "1", 1 },
				       { "security.bin", bin, 3 } };
	struct lfs_scan_entry f = reg(0);
	struct lfs_scan_entry l = { .type = LFS_T_LNK, .target = "../t" };
	const struct lfs_index_entry *e;
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	f.xattrs = xs;
	f.nxattrs = 2;
	lfs_index_builder_add(b, "f", &f);
	lfs_index_builder_add(b, "l", &l);
	ix = finish(b, &log);
	e = at(ix, "f");
	assert_int_equal(e->xattr_count, 2);
	assert_string_equal(lfs_index_str(ix,
					  ix->xattrs[e->xattr_first].name),
			    "user.one");
	assert_int_equal(ix->xattrs[e->xattr_first + 1].value_len, 3);
	assert_memory_equal(
		lfs_index_str(ix, ix->xattrs[e->xattr_first + 1].value), bin,
		3);
	assert_string_equal(lfs_index_str(ix, at(ix, "l")->u.target), "../t");
	assert_int_equal(at(ix, "l")->size, 4);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

static void test_sparse_extents(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_index_extent ext[] = { { 4096, 1536, 10 },
					  { 65536, 2048, 20 } };
	struct lfs_scan_entry f = reg(1536);
	const struct lfs_index_entry *e;
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	f.size = 1 << 20;
	f.sparse = true;
	f.extents = ext;
	f.nextents = 2;
	lfs_index_builder_add(b, "sp", &f);
	ix = finish(b, &log);
	e = at(ix, "sp");
	assert_true(e->flags & LFS_E_SPARSE);
	assert_int_equal(e->u.ext.count, 2);
	assert_memory_equal(&ix->extents[e->u.ext.first], ext, sizeof(ext));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* Parents that only markers name are transparent: extraction creates
 * nothing for them.  A real member below makes them real directories. */
static void test_marker_only_parents(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0);
	enum lfs_wh_kind kind;
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_marker(b, "a/.wh.b", &kind);
	assert_int_equal(kind, LFS_WH_DELETE);
	lfs_index_builder_marker(b, "q/.wh..wh..opq", &kind);
	assert_int_equal(kind, LFS_WH_OPAQUE);
	lfs_index_builder_marker(b, ".wh.w", &kind);
	lfs_index_builder_marker(b, "w/.wh..wh..opq", &kind);
	lfs_index_builder_marker(b, "x/.wh.y", &kind);
	lfs_index_builder_add(b, "x/file", &f);
	lfs_index_builder_marker(b, "deep/er/.wh.z", &kind);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "a")->type, LFS_T_DIR);
	assert_true(at(ix, "a")->flags & LFS_E_TRANSPARENT);
	assert_int_equal(at(ix, "a/b")->type, LFS_T_WHITEOUT);
	assert_true(at(ix, "q")->flags & LFS_E_TRANSPARENT);
	assert_true(at(ix, "q")->flags & LFS_E_OPAQUE);
	/* ".wh.w" and "w/.wh..wh..opq": the name is simply deleted. */
	assert_int_equal(at(ix, "w")->type, LFS_T_WHITEOUT);
	assert_int_equal(lfs_index_lookup_path(ix, "w/.wh..wh..opq"),
			 LFS_INDEX_NONE);
	assert_false(at(ix, "x")->flags & LFS_E_TRANSPARENT);
	assert_true(at(ix, "x")->flags & LFS_E_IMPLICIT);
	assert_true(at(ix, "deep")->flags & LFS_E_TRANSPARENT);
	assert_true(at(ix, "deep/er")->flags & LFS_E_TRANSPARENT);
	/* Transparent directories are not counted as subdirectories. */
	assert_int_equal(ix->entries[0].size, 1);
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* A link to a link whose target lies in a lower layer follows the chain
 * to that path. */
static void test_link_chain_to_lower_layer(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry hb = hardlink("x"), hc = hardlink("b");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_add(b, "b", &hb);
	lfs_index_builder_add(b, "c", &hc);
	ix = finish(b, &log);
	assert_true(at(ix, "c")->flags & LFS_E_XLINK);
	assert_string_equal(lfs_index_str(ix, at(ix, "c")->u.target), "x");
	assert_string_equal(lfs_index_str(ix, at(ix, "b")->u.target), "x");
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* A member left out keeps the whiteout of its name. */
static void test_dropped_link_keeps_whiteout(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry loop = hardlink("x");
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	lfs_index_builder_whiteout(b, "x");
	lfs_index_builder_add(b, "x", &loop);
	ix = finish(b, &log);
	assert_int_equal(at(ix, "x")->type, LFS_T_WHITEOUT);
	assert_true(fx_log_has(&log, "hardlink \"x\" skipped"));
	lfs_index_free(ix);
	fx_log_clear(&log);
}

/* Deep paths cost one record per component, all counted. */
static void test_limits(void **state)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	g_autoptr(GString) deep = g_string_new("d");
	struct lfs_scan_entry f = reg(0);
	struct lfs_scan_xattr big = { "user.big", NULL, 1000 };
	g_autofree char *value = g_malloc0(1000);
	enum lfs_wh_kind kind;

	(void)state;
	lfs_index_builder_set_limits(b, 100, 1 << 20);
	for (int i = 0; i < 98; i++)
		g_string_append(deep, "/d");
	assert_int_equal(lfs_index_builder_add(b, deep->str, &f), 0);
	g_string_append(deep, "/more/x");
	assert_int_equal(lfs_index_builder_add(b, deep->str, &f), -E2BIG);
	assert_non_null(strstr(lfs_index_builder_error(b), "too many entries"));
	assert_int_equal(lfs_index_builder_marker(b, "q/r/.wh.s", &kind),
			 -E2BIG);
	lfs_index_builder_free(b);

	b = lfs_index_builder_new();
	lfs_index_builder_set_limits(b, 1000, 10000);
	big.value = value;
	f.xattrs = &big;
	f.nxattrs = 1;
	for (int i = 0; i < 9; i++) {
		g_autofree char *p = g_strdup_printf("f%d", i);

		assert_int_equal(lfs_index_builder_add(b, p, &f), 0);
	}
	assert_int_equal(lfs_index_builder_add(b, "f9", &f), -E2BIG);
	assert_non_null(strstr(lfs_index_builder_error(b), "too many bytes"));
	lfs_index_builder_free(b);
}

/* Many members: the builder holds about 60 bytes a path (its tree: a
 * node, the name, a slot of the table), with every member's attributes in
 * the member log, here a file in a directory of ours; and the index it
 * writes gives each member back.  The old builder held some 230 bytes a
 * path. */
#define MANY_DIRS 400
#define MANY_FILES 500

static uint32_t many_mode(unsigned d, unsigned f)
{
	return 0400 | ((d * 7 + f) % 0400);
}

static void test_many_members_small_memory(void **state)
{
	g_autofree char *tmp = fx_tmpdir();
	int dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_xattr xa = { "user.n", "value", 5 };
	struct lfs_index_extent ext = { 4096, 0, 10 };
	uint64_t paths = 1 + MANY_DIRS * (1 + MANY_FILES);
	struct fx_log log;
	struct lfs_index *ix;
	GDir *left;

	(void)state;
	assert_true(dirfd >= 0);
	lfs_index_builder_set_spill(b, dirfd);
	for (unsigned d = 0; d < MANY_DIRS; d++) {
		g_autofree char *dn = g_strdup_printf("d%03u", d);
		struct lfs_scan_entry de = dir(0755);

		assert_int_equal(lfs_index_builder_add(b, dn, &de), 0);
		for (unsigned f = 0; f < MANY_FILES; f++) {
			g_autofree char *p = g_strdup_printf("%s/f%06u", dn, f);
			struct lfs_scan_entry e = reg(512 * (d * MANY_FILES + f));

			e.mode = many_mode(d, f);
			e.uid = d;
			e.gid = f;
			e.mtime_sec = FX_MTIME + f;
			e.size = f;
			if (f % 100 == 1) {
				e.xattrs = &xa;
				e.nxattrs = 1;
			}
			if (f % 250 == 2) {
				e.sparse = true;
				e.extents = &ext;
				e.nextents = 1;
				e.size = 8192;
			}
			assert_int_equal(lfs_index_builder_add(b, p, &e), 0);
		}
	}
	if (lfs_index_builder_memory(b) > paths * 72)
		fail_msg("%.1f bytes a path",
			 (double)lfs_index_builder_memory(b) / (double)paths);
	ix = finish(b, &log);
	assert_non_null(ix);
	assert_int_equal(ix->nentries, paths);
	for (unsigned d = 0; d < MANY_DIRS; d += 37) {
		for (unsigned f = 0; f < MANY_FILES; f += 13) {
			g_autofree char *p = g_strdup_printf("d%03u/f%06u", d, f);
			const struct lfs_index_entry *e = at(ix, p);

			assert_int_equal(e->mode, many_mode(d, f));
			assert_int_equal(e->uid, d);
			assert_int_equal(e->gid, f);
			assert_int_equal(e->mtime_sec, FX_MTIME + f);
			assert_int_equal(e->xattr_count, f % 100 == 1);
			if (f % 250 == 2) {
				assert_true(e->flags & LFS_E_SPARSE);
				assert_int_equal(e->size, 8192);
				assert_int_equal(ix->extents[e->u.ext.first].logical,
						 4096);
			} else {
				assert_int_equal(e->size, f);
				assert_int_equal(e->u.data,
						 512 * (d * MANY_FILES + f));
			}
		}
	}
	assert_int_equal(at(ix, "d399")->u.dir.count, MANY_FILES);
	lfs_index_free(ix);
	fx_log_clear(&log);
	/* The log was an unlinked file: nothing is left in the directory. */
	left = g_dir_open(tmp, 0, NULL);
	assert_non_null(left);
	assert_null(g_dir_read_name(left));
	g_dir_close(left);
	close(dirfd);
	fx_rmtree(tmp);
}

/* A directory that cannot hold the log (here it is gone): the log is kept
 * in memory, and the index is the same. */
static void test_log_without_directory(void **state)
{
	g_autofree char *dir = fx_tmpdir();
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry e = reg(1024);
	struct fx_log log;
	struct lfs_index *ix;

	(void)state;
	assert_true(dirfd >= 0);
	fx_rmtree(dir);
	lfs_index_builder_set_spill(b, dirfd);
	e.mode = 0640;
	e.size = 3;
	assert_int_equal(lfs_index_builder_add(b, "a/b", &e), 0);
	ix = finish(b, &log);
	assert_non_null(ix);
	assert_int_equal(at(ix, "a/b")->mode, 0640);
	assert_int_equal(at(ix, "a/b")->u.data, 1024);
	lfs_index_free(ix);
	fx_log_clear(&log);
	close(dirfd);
}

/* Written twice (a first file could not be saved): the same bytes, a
 * file that loads and validates, and each warning said once.  A hardlink
 * laid out before its target ("a" before "d/f") gets the target's entry
 * all the same. */
static void test_write_twice(void **state)
{
	g_autofree char *dir = fx_tmpdir();
	g_autofree char *p1 = g_build_filename(dir, "one.idx", NULL);
	g_autofree char *p2 = g_build_filename(dir, "two.idx", NULL);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_scan_entry f = reg(0), l = hardlink("d/f");
	struct lfs_index_meta meta = { .tar_size = 1 << 20,
				       .stored_size = 1 << 20,
				       .compression = LFS_COMP_NONE };
	struct lfs_index_meta got;
	struct lfs_index *ix = NULL;
	const char *why = NULL;
	g_autofree char *one = NULL, *two = NULL;
	gsize n1, n2;
	struct fx_log log;
	int fd1, fd2;

	(void)state;
	fx_log_init(&log);
	assert_int_equal(lfs_index_builder_add(b, "d/f", &f), 0);
	assert_int_equal(lfs_index_builder_add(b, "d/f/below", &f), 0);
	assert_int_equal(lfs_index_builder_add(b, "z", &l), 0);
	assert_int_equal(lfs_index_builder_add(b, "a", &l), 0);
	fd1 = open(p1, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	fd2 = open(p2, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	assert_true(fd1 >= 0 && fd2 >= 0);
	assert_int_equal(lfs_index_builder_write(b, &log.lg, "L", NULL, &meta,
						 fd1), 0);
	assert_int_equal(lfs_index_builder_write(b, &log.lg, "L", NULL, &meta,
						 fd2), 0);
	lfs_index_builder_free(b);
	close(fd1);
	close(fd2);
	assert_true(g_file_get_contents(p1, &one, &n1, NULL));
	assert_true(g_file_get_contents(p2, &two, &n2, NULL));
	assert_int_equal(n1, n2);
	assert_memory_equal(one, two, n1);
	assert_int_equal(log.msgs->len, 1);
	assert_true(fx_log_has(&log, "entry \"d/f/below\" skipped"));
	/* Checked as a file found in the cache is. */
	if (lfs_index_file_load(dirfd, "two.idx", &ix, &got, &why) != 0)
		fail_msg("load: %s", why ? why : "?");
	assert_int_equal(ix->nentries, 5);
	assert_int_equal(at(ix, "a")->type, LFS_T_HARDLINK);
	assert_int_equal(at(ix, "a")->u.target,
			 lfs_index_lookup_path(ix, "d/f"));
	assert_int_equal(at(ix, "z")->u.target,
			 lfs_index_lookup_path(ix, "d/f"));
	lfs_index_free(ix);
	fx_log_clear(&log);
	close(dirfd);
	fx_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_layer_has_implicit_root),
		cmocka_unit_test(test_last_entry_wins),
		cmocka_unit_test(test_implicit_parents),
		cmocka_unit_test(test_children_sorted_bytewise),
		cmocka_unit_test(test_children_sorted_past_8_bytes),
		cmocka_unit_test(test_parents_precede_children),
		cmocka_unit_test(test_subdir_counts),
		cmocka_unit_test(test_whiteout_alone),
		cmocka_unit_test(test_whiteout_beside_entry),
		cmocka_unit_test(test_whiteout_then_children),
		cmocka_unit_test(test_opaque_markers),
		cmocka_unit_test(test_children_of_file_dropped),
		cmocka_unit_test(test_same_directory_walks),
		cmocka_unit_test(test_members_through_symlinks),
		cmocka_unit_test(test_markers_and_loops_through_symlinks),
		cmocka_unit_test(test_symlink_order),
		cmocka_unit_test(test_hardlink_through_symlink),
		cmocka_unit_test(test_symlink_step_budget),
		cmocka_unit_test(test_root_entry_must_be_dir),
		cmocka_unit_test(test_hardlinks_in_layer),
		cmocka_unit_test(test_hardlink_target_replaced),
		cmocka_unit_test(test_hardlink_to_lower_layer),
		cmocka_unit_test(test_bad_hardlinks_dropped),
		cmocka_unit_test(test_xattrs_and_strings),
		cmocka_unit_test(test_sparse_extents),
		cmocka_unit_test(test_marker_only_parents),
		cmocka_unit_test(test_link_chain_to_lower_layer),
		cmocka_unit_test(test_dropped_link_keeps_whiteout),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many_members_small_memory),
		cmocka_unit_test(test_log_without_directory),
		cmocka_unit_test(test_write_twice),
	};

	return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
