/* core/dirplus.c: which listings carry attributes.  Programs are played
 * against it as the kernel would show them: a listing begins, goes out,
 * and a program that stats what it lists looks up the files of each
 * listing that came without attributes (with them, the kernel already
 * has what stat needs). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>

#include "layerfs/dirplus.h"

struct run {
	uint64_t listings, with_attrs, lookups;
};

/* @dirs listings of @files files each, directories numbered from
 * @first; @stats: the program stats every file it lists. */
static struct run walk(struct lfs_dirplus *p, uint64_t first, int dirs,
		       uint32_t files, bool stats)
{
	struct run r = { 0 };

	for (uint64_t d = first; d < first + (uint64_t)dirs; d++) {
		bool attrs = lfs_dirplus_begin(p, d, 0);

		lfs_dirplus_sent(p, d, attrs, files);
		r.listings++;
		r.with_attrs += attrs;
		if (stats && !attrs) {
			for (uint32_t i = 0; i < files; i++)
				lfs_dirplus_lookup(p, d);
			r.lookups += files;
		}
	}
	return r;
}

static bool attrs_now(struct lfs_dirplus *p)
{
	struct lfs_dirplus_stats st;

	lfs_dirplus_stats(p, &st);
	return st.attrs;
}

/* find: names only, soon, and for good. */
static void test_names_program_gets_names(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	struct run r;
	struct lfs_dirplus_stats st;

	(void)state;
	assert_true(attrs_now(p));
	r = walk(p, 1, 2 * LFS_DIRPLUS_PROBE_EVERY + 1, 256, false);
	assert_false(attrs_now(p));
	assert_true(r.with_attrs <= 2 * LFS_DIRPLUS_PROBE_EVERY);
	r = walk(p, 1000, 10000, 256, false);
	assert_int_equal(r.with_attrs, 0);
	lfs_dirplus_stats(p, &st);
	assert_int_equal(st.switches, 1);
	assert_int_equal(st.with_attrs + st.names_only,
			 2 * LFS_DIRPLUS_PROBE_EVERY + 1 + 10000);
	lfs_dirplus_free(p);
}

/* ls -l, du, find -ls: attributes, but for the probes. */
static void test_stat_program_keeps_attributes(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	struct run r;

	(void)state;
	r = walk(p, 1, 16000, 256, true);
	assert_true(attrs_now(p));
	assert_true(r.with_attrs >= r.listings -
					    r.listings / LFS_DIRPLUS_PROBE_EVERY -
					    1);
	/* What the probes cost: a lookup per file of one listing in
	 * sixteen. */
	assert_true(r.lookups <= 256 * (r.listings / LFS_DIRPLUS_PROBE_EVERY));
	lfs_dirplus_free(p);
}

/* A program that begins to stat after a names-only walk gets attributes
 * back at its next listing. */
static void test_stats_bring_attributes_back(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	struct run r;

	(void)state;
	walk(p, 1, 100, 256, false);
	assert_false(attrs_now(p));
	r = walk(p, 1000, 4, 256, true);
	assert_true(attrs_now(p));
	/* The first two or three paid in lookups. */
	assert_true(r.with_attrs >= 1);
	assert_true(r.lookups <= 3 * 256);
	/* Lookups of files never listed (paths opened by name) count
	 * too, against the files listed: a few do not bring it back. */
	walk(p, 2000, 100, 256, false);
	assert_false(attrs_now(p));
	for (int i = 0; i < 10; i++)
		lfs_dirplus_lookup(p, 7);
	walk(p, 3000, 1, 256, false);
	assert_false(attrs_now(p));
	lfs_dirplus_free(p);
}

/* A probe of a directory of few files tells nothing: the next listing
 * is the probe. */
static void test_small_probes_pass_on(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	struct run r;

	(void)state;
	walk(p, 1, LFS_DIRPLUS_PROBE_EVERY - 1, 2, false);
	/* Directories of two files: probe after probe, never decided. */
	r = walk(p, 100, 50, 2, false);
	assert_true(attrs_now(p));
	assert_int_equal(r.with_attrs, 0);
	/* One with files decides once the program had its time. */
	walk(p, 200, 1, 64, false);
	walk(p, 300, LFS_DIRPLUS_PROBE_EVERY, 2, false);
	assert_false(attrs_now(p));
	lfs_dirplus_free(p);
}

/* The rest of a listing (offset past 0) goes as its start went. */
static void test_rest_of_listing_follows_start(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	uint64_t probe = LFS_DIRPLUS_PROBE_EVERY;

	(void)state;
	walk(p, 1, LFS_DIRPLUS_PROBE_EVERY - 1, 256, false);
	assert_false(lfs_dirplus_begin(p, probe, 0));
	lfs_dirplus_sent(p, probe, false, 100);
	assert_false(lfs_dirplus_begin(p, probe, 100));
	/* Another directory's rest, meanwhile: attributes still on. */
	assert_true(lfs_dirplus_begin(p, 5, 300));
	lfs_dirplus_free(p);
}

/* Several threads listing and looking up at once: counts stay whole. */
struct hammer {
	struct lfs_dirplus *p;
	uint64_t base;
};

static gpointer hammer_thread(gpointer data)
{
	struct hammer *h = data;

	walk(h->p, h->base, 5000, 32, (h->base / 100000) % 2 == 0);
	return NULL;
}

static void test_threads(void **state)
{
	struct lfs_dirplus *p = lfs_dirplus_new();
	struct hammer h[4];
	GThread *t[4];
	struct lfs_dirplus_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ p, (uint64_t)(i + 1) * 100000 };
		t[i] = g_thread_new("hammer", hammer_thread, &h[i]);
	}
	for (int i = 0; i < 4; i++)
		g_thread_join(t[i]);
	lfs_dirplus_stats(p, &st);
	assert_int_equal(st.with_attrs + st.names_only, 4 * 5000);
	lfs_dirplus_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_program_gets_names),
		cmocka_unit_test(test_stat_program_keeps_attributes),
		cmocka_unit_test(test_stats_bring_attributes_back),
		cmocka_unit_test(test_small_probes_pass_on),
		cmocka_unit_test(test_rest_of_listing_follows_start),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("dirplus", tests, NULL, NULL);
}
