/* core/profile.c: first reads recorded once each, in order; profiles
 * saved and loaded whole; every kind of bad file refused with a reason. */
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
#include "layerfs/profile.h"

struct fx {
	char *dir;
	int dirfd;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->dirfd);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static const struct lfs_profile_range *at(GArray *a, guint i)
{
	return &g_array_index(a, struct lfs_profile_range, i);
}

static void test_first_reads_in_order(void **state)
{
	const uint32_t n[] = { 10, 3 };
	struct lfs_profile *p = lfs_profile_new(2, n);
	g_autoptr(GArray) r = NULL;

	(void)state;
	lfs_profile_note(p, 1, 2, 5000, 100);
	lfs_profile_note(p, 0, 9, 0, 7);
	lfs_profile_note(p, 1, 2, 5000, 100); /* again: not recorded */
	lfs_profile_note(p, 0, 4, 512, 0);    /* empty: nothing to read */
	lfs_profile_note(p, 0, 10, 1, 1);     /* no such entry */
	lfs_profile_note(p, 2, 0, 1, 1);      /* no such layer */
	lfs_profile_note(p, 0, 3, 1024, 4096);
	r = lfs_profile_ranges(p);
	assert_int_equal(r->len, 3);
	assert_int_equal(at(r, 0)->layer, 1);
	assert_int_equal(at(r, 0)->off, 5000);
	assert_int_equal(at(r, 0)->len, 100);
	assert_int_equal(at(r, 1)->layer, 0);
	assert_int_equal(at(r, 1)->len, 7);
	assert_int_equal(at(r, 2)->off, 1024);
	lfs_profile_free(p);
}

static void test_capped(void **state)
{
	const uint32_t n[] = { LFS_PROFILE_MAX + 100 };
	struct lfs_profile *p = lfs_profile_new(1, n);
	g_autoptr(GArray) r = NULL;

	(void)state;
	for (uint32_t i = 0; i < LFS_PROFILE_MAX + 100; i++)
		lfs_profile_note(p, 0, i, (uint64_t)i * 512, 512);
	r = lfs_profile_ranges(p);
	assert_int_equal(r->len, LFS_PROFILE_MAX);
	lfs_profile_free(p);
}

static void test_save_and_load(void **state)
{
	struct fx *f = *state;
	const uint32_t n[] = { 100, 100, 100 };
	struct lfs_profile *p = lfs_profile_new(3, n);
	g_autoptr(GArray) saved = NULL;
	GArray *loaded = NULL;
	const char *why;

	for (uint32_t i = 0; i < 100; i++)
		lfs_profile_note(p, i % 3, i, (uint64_t)i << 20, i + 1);
	saved = lfs_profile_ranges(p);
	assert_int_equal(lfs_profile_save(f->dirfd, "a.prof", saved), 0);
	assert_int_equal(lfs_profile_load(f->dirfd, "a.prof", 3, &loaded,
					  &why),
			 0);
	assert_int_equal(loaded->len, 100);
	assert_memory_equal(loaded->data, saved->data,
			    100 * sizeof(struct lfs_profile_range));
	g_array_unref(loaded);
	/* Saved again over it: replaced whole. */
	g_array_set_size(saved, 2);
	assert_int_equal(lfs_profile_save(f->dirfd, "a.prof", saved), 0);
	assert_int_equal(lfs_profile_load(f->dirfd, "a.prof", 3, &loaded,
					  &why),
			 0);
	assert_int_equal(loaded->len, 2);
	g_array_unref(loaded);
	/* An image of two layers does not take ranges of a third. */
	assert_int_equal(lfs_profile_load(f->dirfd, "a.prof", 1, &loaded,
					  &why),
			 -EINVAL);
	assert_string_equal(why, "a range of a layer the image does not have");
	assert_int_equal(lfs_profile_load(f->dirfd, "none.prof", 3, &loaded,
					  &why),
			 -ENOENT);
	lfs_profile_free(p);
}

/* Write @len bytes of @data as @name. */
static void put(struct fx *f, const char *name, const void *data, size_t len)
{
	g_autofree char *path = g_build_filename(f->dir, name, NULL);

	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void expect_refused(struct fx *f, const char *name, int err,
			   const char *why_want)
{
	GArray *r = NULL;
	const char *why = NULL;

	assert_int_equal(lfs_profile_load(f->dirfd, name, 4, &r, &why), err);
	assert_null(r);
	if (why_want)
		assert_string_equal(why, why_want);
}

static void test_bad_files(void **state)
{
	struct fx *f = *state;
	const uint32_t n[] = { 10 };
	struct lfs_profile *p = lfs_profile_new(1, n);
	g_autoptr(GArray) r = NULL;
	g_autofree char *good = NULL, *path = NULL, *link = NULL;
	gsize len;
	guint8 *b;

	lfs_profile_note(p, 0, 1, 100, 200);
	lfs_profile_note(p, 0, 2, 300, 400);
	r = lfs_profile_ranges(p);
	assert_int_equal(lfs_profile_save(f->dirfd, "good.prof", r), 0);
	path = g_build_filename(f->dir, "good.prof", NULL);
	assert_true(g_file_get_contents(path, &good, &len, NULL));
	assert_int_equal(len, 24 + 2 * 24);
	b = (guint8 *)good;

	put(f, "short.prof", good, 10);
	expect_refused(f, "short.prof", -EINVAL, "not a profile");
	put(f, "cut.prof", good, len - 1);
	expect_refused(f, "cut.prof", -EINVAL, "cut short or too long");
	b[0] ^= 1;
	put(f, "magic.prof", good, len);
	expect_refused(f, "magic.prof", -EINVAL, "not a profile");
	b[0] ^= 1;
	b[8] = 9;
	put(f, "version.prof", good, len);
	expect_refused(f, "version.prof", -ESTALE, "another format version");
	b[8] = 1;
	b[12] = 0xff; /* count */
	put(f, "count.prof", good, len);
	expect_refused(f, "count.prof", -EINVAL, "cut short or too long");
	b[12] = 2;
	b[24 + 8] ^= 0x40; /* a range's offset */
	put(f, "sum.prof", good, len);
	expect_refused(f, "sum.prof", -EINVAL, "its checksum does not match");
	b[24 + 8] ^= 0x40;
	put(f, "ok.prof", good, len);
	{
		GArray *ok = NULL;
		const char *why;

		assert_int_equal(lfs_profile_load(f->dirfd, "ok.prof", 1, &ok,
						  &why),
				 0);
		g_array_unref(ok);
	}
	/* A symlink is not followed, a directory is not a profile. */
	link = g_build_filename(f->dir, "link.prof", NULL);
	assert_int_equal(symlink("good.prof", link), 0);
	expect_refused(f, "link.prof", -ELOOP, NULL);
	assert_int_equal(mkdirat(f->dirfd, "dir.prof", 0700), 0);
	expect_refused(f, "dir.prof", -EINVAL, "not a profile");
	/* A FIFO neither hangs the loader nor passes. */
	assert_int_equal(mkfifoat(f->dirfd, "fifo.prof", 0600), 0);
	expect_refused(f, "fifo.prof", -EINVAL, "not a profile");
	lfs_profile_free(p);
}

/* Zero-length and wrapping ranges, with the checksum made right. */
static void test_malformed_ranges(void **state)
{
	struct fx *f = *state;
	struct lfs_profile_range bad[2] = {
		{ .layer = 0, .off = 1, .len = 0 },
		{ .layer = 0, .off = UINT64_MAX - 1, .len = 5 },
	};

	for (int i = 0; i < 2; i++) {
		GArray *a = g_array_new(FALSE, FALSE, sizeof(bad[0]));

		g_array_append_val(a, bad[i]);
		assert_int_equal(lfs_profile_save(f->dirfd, "m.prof", a), 0);
		expect_refused(f, "m.prof", -EINVAL, "a malformed range");
		g_array_unref(a);
	}
}

static void test_names(void **state)
{
	const char *ab[] = { "sha256-aa", "sha256-bb" };
	const char *ba[] = { "sha256-bb", "sha256-aa" };
	g_autofree char *n1 = lfs_profile_name(ab, 2);
	g_autofree char *n2 = lfs_profile_name(ab, 2);
	g_autofree char *n3 = lfs_profile_name(ba, 2);
	g_autofree char *n4 = lfs_profile_name(ab, 1);

	(void)state;
	assert_string_equal(n1, n2);
	assert_string_not_equal(n1, n3);
	assert_string_not_equal(n1, n4);
	assert_true(g_str_has_suffix(n1, ".prof"));
	assert_int_equal(strlen(n1), 16 + 5);
}

struct noter {
	struct lfs_profile *p;
};

static gpointer note_all(gpointer data)
{
	struct noter *t = data;

	for (uint32_t i = 0; i < 5000; i++)
		lfs_profile_note(t->p, 0, i, i, 1);
	return NULL;
}

static void test_threads(void **state)
{
	const uint32_t n[] = { 5000 };
	struct noter t = { lfs_profile_new(1, n) };
	GThread *th[4];
	g_autoptr(GArray) r = NULL;

	(void)state;
	for (int i = 0; i < 4; i++)
		th[i] = g_thread_new("note", note_all, &t);
	for (int i = 0; i < 4; i++)
		g_thread_join(th[i]);
	r = lfs_profile_ranges(t.p);
	assert_int_equal(r->len, 5000);
	lfs_profile_free(t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_reads_in_order),
		cmocka_unit_test(test_capped),
		cmocka_unit_test_setup_teardown(test_save_and_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_ranges, setup,
						teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
