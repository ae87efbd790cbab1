/* Unit tests for util/path.c: lfs_path_normalize() turns archive member
 * names into canonical relative paths, never above the root, or refuses
 * them with a reason, and
 * lfs_path_split() cuts a canonical path into parent and base. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "layerfs/path.h"

struct norm_case {
	const char *in;
	const char *out; /* NULL: refused */
	const char *why; /* the reason when refused */
};

static const struct norm_case norm_cases[] = {
    {"a", "a", NULL},
    {"./a", "a", NULL},
    {"a/", "a", NULL},
    {"a//b", "a/b", NULL},
    {"a///b//", "a/b", NULL},
    {".", "", NULL},
    {"./", "", NULL},
    {".//.", "", NULL},
    {"a/./b", "a/b", NULL},
    {"./a/./b/.", "a/b", NULL},
    {"...", "...", NULL},
    {".a/..b/b..", ".a/..b/b..", NULL},
    {".wh..wh..opq", ".wh..wh..opq", NULL},
    /* As umoci reads them: never above the root. */
    {"../x", "x", NULL},
    {"../../../../x/y", "x/y", NULL},
    {"a/../b", "b", NULL},
    {"a/b/../../c/./d/..", "c", NULL},
    {"a/..", "", NULL},
    {"..", "", NULL},
    {"a/../../..", "", NULL},
    {"/etc", "etc", NULL},
    {"/", "", NULL},
    {"//a//../b", "b", NULL},
    {"/../etc/passwd", "etc/passwd", NULL},
    {"", NULL, "empty name"},
};

static void test_normalize_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(norm_cases); i++) {
		const struct norm_case *c = &norm_cases[i];
		char *out = (char *)"unset";
		const char *why = NULL;
		int r = lfs_path_normalize(c->in, &out, &why);

		print_message("# \"%s\"\n", c->in);
		if (c->out) {
			assert_int_equal(r, 0);
			assert_string_equal(out, c->out);
		} else {
			assert_int_equal(r, -EINVAL);
			assert_null(out);
			assert_non_null(why);
			assert_string_equal(why, c->why);
		}
		g_free(out);
	}
}

static void test_normalize_null_is_empty_name(void **state)
{
	char *out = NULL;
	const char *why = NULL;

	(void)state;
	assert_int_equal(lfs_path_normalize(NULL, &out, &why), -EINVAL);
	assert_null(out);
	assert_string_equal(why, "empty name");
}

/* A component of exactly LFS_NAME_MAX bytes is fine, one more is not,
 * wherever it stands in the path. */
static void test_normalize_component_length_limit(void **state)
{
	char c255[LFS_NAME_MAX + 1], c256[LFS_NAME_MAX + 2];
	char *out = NULL;
	const char *why = NULL;
	g_autofree char *nested255 = NULL, *nested256 = NULL, *want = NULL;

	(void)state;
	memset(c255, 'x', LFS_NAME_MAX);
	c255[LFS_NAME_MAX] = '\0';
	memset(c256, 'y', LFS_NAME_MAX + 1);
	c256[LFS_NAME_MAX + 1] = '\0';

	assert_int_equal(lfs_path_normalize(c255, &out, &why), 0);
	assert_string_equal(out, c255);
	g_clear_pointer(&out, g_free);

	nested255 = g_strdup_printf("./d/%s/", c255);
	want = g_strdup_printf("d/%s", c255);
	assert_int_equal(lfs_path_normalize(nested255, &out, &why), 0);
	assert_string_equal(out, want);
	g_clear_pointer(&out, g_free);

	assert_int_equal(lfs_path_normalize(c256, &out, &why), -EINVAL);
	assert_null(out);
	assert_string_equal(why, "component longer than 255 bytes");

	nested256 = g_strdup_printf("d/%s/e", c256);
	why = NULL;
	assert_int_equal(lfs_path_normalize(nested256, &out, &why), -EINVAL);
	assert_null(out);
	assert_string_equal(why, "component longer than 255 bytes");
}

/* A canonical path of LFS_PATH_MAX bytes is fine, one more is not. */
static char *path_of_length(size_t len)
{
	GString *s = g_string_new(NULL);

	while (s->len + 100 < len)
		g_string_append_printf(s, "%099d/", 0);
	while (s->len < len)
		g_string_append_c(s, 'y');
	return g_string_free(s, FALSE);
}

static void test_normalize_path_length_limit(void **state)
{
	g_autofree char *max = path_of_length(LFS_PATH_MAX);
	g_autofree char *over = path_of_length(LFS_PATH_MAX + 1);
	char *out = NULL;
	const char *why = NULL;

	(void)state;
	assert_int_equal(strlen(max), LFS_PATH_MAX);
	assert_int_equal(lfs_path_normalize(max, &out, &why), 0);
	assert_string_equal(out, max);
	g_clear_pointer(&out, g_free);
	assert_int_equal(lfs_path_normalize(over, &out, &why), -EINVAL);
	assert_null(out);
	assert_string_equal(why, "path longer than 4095 bytes");
}

struct split_case {
	const char *path;
	size_t parent_len;
	const char *base;
};

static const struct split_case split_cases[] = {
    {"", 0, ""},	   {"a", 0, "a"},
    {"a/b", 1, "b"},	   {"dir/sub/file.txt", 7, "file.txt"},
    {".wh.x", 0, ".wh.x"}, {"d/.wh..wh..opq", 1, ".wh..wh..opq"},
};

static void test_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		const char *base = NULL;
		size_t n = lfs_path_split(c->path, &base);

		print_message("# \"%s\"\n", c->path);
		assert_int_equal(n, c->parent_len);
		assert_string_equal(base, c->base);
		/* *base points into the path, after the parent and '/'. */
		assert_ptr_equal(base,
				 c->path + strlen(c->path) - strlen(c->base));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_table),
	    cmocka_unit_test(test_normalize_null_is_empty_name),
	    cmocka_unit_test(test_normalize_component_length_limit),
	    cmocka_unit_test(test_normalize_path_length_limit),
	    cmocka_unit_test(test_split_table),
	};

	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
