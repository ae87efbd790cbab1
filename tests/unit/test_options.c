/* Unit tests for core/options.c: -o parsing takes our keys (cache_dir=,
 * cache-dir=, platform=, allow_other, noallow_other) out, drops mount(8)
 * and fstab bookkeeping words, keeps the rest for FUSE, honours "\,"
 * escapes and refuses empty values; for `layerfs index` it takes only
 * the keys indexing uses and refuses every option of a mount; every
 * option --help lists is one the parser takes, with a value of the form
 * it shows; lfs_options_fuse_string() builds the FUSE option string with
 * fsname escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "layerfs/options.h"

#include "asserts.h"

struct fx {
	struct lfs_options *o;
	GError *error;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->o = lfs_options_new();
	/* Start from a known value whoever runs the tests. */
	f->o->allow_other = false;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_options_free(f->o);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

static void parse_ok(struct fx *f, const char *arg)
{
	assert_lfs_ok(lfs_options_parse_o(f->o, arg, &f->error), &f->error);
}

/* The options left for FUSE, joined with '|' for easy comparison. */
static char *fuse_opts(struct fx *f)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < f->o->fuse_opts->len; i++)
		g_string_append_printf(s, "%s%s", i ? "|" : "",
				       (const char *)f->o->fuse_opts->pdata[i]);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_defaults(void **state)
{
	g_autoptr(lfs_options) o = lfs_options_new();

	(void)state;
	assert_null(o->source);
	assert_null(o->platform);
	assert_null(o->cache_dir);
	assert_int_equal(o->layers->len, 0);
	assert_int_equal(o->fuse_opts->len, 0);
	/* allow_other defaults to on for root only. */
	assert_int_equal(o->allow_other, geteuid() == 0);
}

static void test_our_keys(void **state)
{
	struct fx *f = *state;
	g_autofree char *rest = NULL;

	parse_ok(f, "cache_dir=/var/tmp/c,platform=linux/arm64/v8");
	assert_string_equal(f->o->cache_dir, "/var/tmp/c");
	assert_string_equal(f->o->platform, "linux/arm64/v8");
	parse_ok(f, "cache-dir=/other");
	assert_string_equal(f->o->cache_dir, "/other");
	rest = fuse_opts(f);
	assert_string_equal(rest, "");
}

/* A value may itself hold '='. */
static void test_value_with_equals(void **state)
{
	struct fx *f = *state;

	parse_ok(f, "cache_dir=/a=b");
	assert_string_equal(f->o->cache_dir, "/a=b");
}

static void test_allow_other(void **state)
{
	struct fx *f = *state;

	parse_ok(f, "allow_other");
	assert_true(f->o->allow_other);
	parse_ok(f, "noallow_other");
	assert_false(f->o->allow_other);
	/* The last one wins. */
	parse_ok(f, "noallow_other,allow_other");
	assert_true(f->o->allow_other);
	assert_int_equal(f->o->fuse_opts->len, 0);
}

/* mount(8)/fstab words and "rw" are dropped; "ro" and
 * "default_permissions" are always on, so not repeated. */
static void test_ignored_words(void **state)
{
	struct fx *f = *state;

	parse_ok(f, "rw,defaults,nofail,x-systemd.automount,x-foo,"
		    "comment=systemd.requires=network.target,auto,noauto,"
		    "_netdev,user,users,owner,group,nonempty,ro,"
		    "default_permissions");
	assert_int_equal(f->o->fuse_opts->len, 0);
	assert_null(f->o->cache_dir);
	assert_null(f->o->platform);
	assert_false(f->o->allow_other);
}

/* Unknown options go to FUSE, in order. */
static void test_rest_kept_for_fuse(void **state)
{
	struct fx *f = *state;
	g_autofree char *rest = NULL;

	parse_ok(f, "max_read=131072,rw,kernel_cache,cache_dir=/c,"
		    "entry_timeout=5");
	rest = fuse_opts(f);
	assert_string_equal(rest, "max_read=131072|kernel_cache|"
				  "entry_timeout=5");
	assert_string_equal(f->o->cache_dir, "/c");
}

static void test_escaped_commas(void **state)
{
	struct fx *f = *state;
	g_autofree char *rest = NULL;

	parse_ok(f, "cache_dir=/a\\,b,platform=linux/amd64,x=1\\,2,"
		    "cache-dir=/c\\\\d");
	assert_string_equal(f->o->cache_dir, "/c\\d");
	assert_string_equal(f->o->platform, "linux/amd64");
	rest = fuse_opts(f);
	assert_string_equal(rest, "x=1,2");
	parse_ok(f, "cache_dir=/a\\,b");
	assert_string_equal(f->o->cache_dir, "/a,b");
}

/* Empty items (",,", a trailing ',') are nothing. */
static void test_empty_items(void **state)
{
	struct fx *f = *state;

	parse_ok(f, ",allow_other,,");
	parse_ok(f, "");
	assert_true(f->o->allow_other);
	assert_int_equal(f->o->fuse_opts->len, 0);
}

static const struct {
	const char *arg, *key;
} empty_values[] = {
    {"cache_dir=", "cache_dir"},
    {"cache-dir=", "cache-dir"},
    {"platform=", "platform"},
    {"ro,platform=,rw", "platform"},
};

static void test_empty_value_refused(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(empty_values); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *want = g_strdup_printf(
		    "option %s= needs a value", empty_values[i].key);

		print_message("# %s\n", empty_values[i].arg);
		assert_false(
		    lfs_options_parse_o(f->o, empty_values[i].arg, &error));
		assert_lfs_error(error, EINVAL, want);
	}
	assert_null(f->o->cache_dir);
	assert_null(f->o->platform);
}

/* Sizes take K, M and G; counts are plain; both are range-checked, and
 * the error names the option and says what was wanted. */
static void test_tuning_keys(void **state)
{
	struct fx *f = *state;

	parse_ok(f, "span=4M,handles=8,meta_cache=65536");
	assert_int_equal(f->o->span, 4u << 20);
	assert_int_equal(f->o->handles, 8);
	assert_int_equal(f->o->meta_cache, 65536);
	parse_ok(f, "span=1g,meta_cache=2G");
	assert_int_equal(f->o->span, 1u << 30);
	assert_int_equal(f->o->meta_cache, (uint64_t)2 << 30);
	parse_ok(f, "span=64k");
	assert_int_equal(f->o->span, 64u << 10);
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_AUTO);
	parse_ok(f, "prefetch=index");
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_INDEX);
	parse_ok(f, "prefetch=auto");
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_AUTO);
	parse_ok(f, "threads=3,prefetch=unpack");
	assert_int_equal(f->o->threads, 3);
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_UNPACK);
	parse_ok(f, "prefetch=none");
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_NONE);
	assert_int_equal(f->o->readahead, LFS_READAHEAD_DEFAULT);
	parse_ok(f, "readahead=128K");
	assert_int_equal(f->o->readahead, 128u << 10);
	assert_true(f->o->splice);
	parse_ok(f, "nosplice");
	assert_false(f->o->splice);
	parse_ok(f, "splice");
	assert_true(f->o->splice);
	assert_int_equal(f->o->fuse_opts->len, 0);
}

static const struct {
	const char *arg, *msg;
} bad_values[] = {
    {"span=", "option span= needs a size, as in span=4M"},
    {"span=4X", "option span=4X: not a size"},
    {"span=4MB", "option span=4MB: not a size"},
    {"span=-1", "option span= needs a size"},
    {"span=1K", "option span=1K: out of range (65536 to 1073741824"},
    {"span=2G", "option span=2G: out of range"},
    {"span=99999999999999999999", "out of range"},
    {"meta_cache=1", "option meta_cache=1: out of range"},
    {"meta_cache=9999999G", "out of range"},
    {"handles=0", "option handles= needs a number from 1 to 64"},
    {"handles=65", "from 1 to 64"},
    {"handles=two", "from 1 to 64"},
    {"handles", "from 1 to 64"},
    {"threads=0", "option threads= needs a number from 1 to 256"},
    {"threads=1000", "from 1 to 256"},
    {"prefetch=all", "option prefetch= needs none, index, unpack or auto"},
    {"prefetch", "needs none, index, unpack or auto"},
    {"readahead=1K", "option readahead=1K: out of range"},
    {"readahead=32M", "option readahead=32M: out of range"},
};

static void test_tuning_values_checked(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_values); i++) {
		g_autoptr(GError) error = NULL;

		print_message("# %s\n", bad_values[i].arg);
		assert_false(
		    lfs_options_parse_o(f->o, bad_values[i].arg, &error));
		assert_lfs_error(error, EINVAL, bad_values[i].msg);
	}
	assert_int_equal(f->o->span, 0);
	assert_int_equal(f->o->handles, 0);
	assert_int_equal(f->o->meta_cache, 0);
	assert_int_equal(f->o->threads, 0);
	assert_int_equal(f->o->prefetch, LFS_PREFETCH_AUTO);
}

/* `layerfs index` takes what indexing uses... */
static void test_index_options(void **state)
{
	struct fx *f = *state;

	assert_lfs_ok(lfs_options_parse_for(f->o,
					    "cache_dir=/c,platform=linux/s390x,"
					    "threads=2,span=1M,cache-dir=/d",
					    LFS_OPTIONS_INDEX, &f->error),
		      &f->error);
	assert_string_equal(f->o->cache_dir, "/d");
	assert_string_equal(f->o->platform, "linux/s390x");
	assert_int_equal(f->o->threads, 2);
	assert_int_equal(f->o->span, 1u << 20);
	/* A bad value is as bad as for a mount. */
	assert_false(lfs_options_parse_for(f->o, "span=4X", LFS_OPTIONS_INDEX,
					   &f->error));
	assert_lfs_error(f->error, EINVAL, "option span=4X: not a size");
}

/* ...and refuses, naming it, every option only a mount has a use for:
 * FUSE's, fstab's words, layerfs's own for serving reads. */
static void test_index_refuses_mount_options(void **state)
{
	static const char *const mount_only[] = {
	    "noexec",	     "suid",	     "dev",	   "ro",
	    "rw",	     "defaults",     "nofail",	   "x-systemd.foo",
	    "allow_other",   "noallow_other", "handles=2", "prefetch=none",
	    "nosplice",	     "readahead=1M",  "meta_cache=1M",
	    "max_read=4096",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(mount_only); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *arg =
		    g_strdup_printf("threads=3,%s", mount_only[i]);
		g_autofree char *want = g_strdup_printf(
		    "option %s only applies to a mount; this command takes "
		    "cache_dir=, platform=, threads= and span=",
		    mount_only[i]);

		print_message("# %s\n", mount_only[i]);
		assert_false(lfs_options_parse_for(f->o, arg,
						   LFS_OPTIONS_INDEX, &error));
		assert_lfs_error(error, EINVAL, want);
	}
	assert_int_equal(f->o->fuse_opts->len, 0);
	assert_true(f->o->splice);
	assert_int_equal(f->o->handles, 0);
}

/* A flag is a word; given a value, it is a mistake, not a FUSE option. */
static void test_flag_with_value_refused(void **state)
{
	struct fx *f = *state;

	assert_false(lfs_options_parse_o(f->o, "allow_other=1", &f->error));
	assert_lfs_error(f->error, EINVAL,
			 "option allow_other takes no value");
	assert_int_equal(f->o->fuse_opts->len, 0);
}

/* A value of the form --help shows for it. */
static const char *sample_value(const char *shown)
{
	static const struct {
		const char *shown, *value;
	} samples[] = {
	    {"DIR", "/var/tmp/c"}, {"OS/ARCH", "linux/arm64"}, {"N", "2"},
	    {"SIZE", "1M"},	   {"none|index|unpack|auto", "auto"},
	    {"DIR[:DIR...]", "/a:/b"}, {"on|off", "on"},
	    {"on|follow", "on"},   {"off", "off"},
	    {"auto|on|off", "auto"}, {"C:H:L[:C:H:L...]", "0:1000:1"},
	    {"0|1", "0"},	   {"SECONDS", "1.5"}, {"0|1|2", "2"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
		if (strcmp(shown, samples[i].shown) == 0)
			return samples[i].value;
	}
	fail_msg("--help shows a value \"%s\" this test does not know",
		 shown);
	return NULL;
}

/* Every option --help lists for @use (each "  NAME[=VALUE][, NAME...]"
 * line up to the first line that is not one) parses for @use, is taken
 * as layerfs's own (nothing goes to FUSE), and the count is @want. */
static void check_help_options(enum lfs_options_use use, guint want)
{
	g_autofree char *help = lfs_options_help(use);
	g_auto(GStrv) lines = g_strsplit(help, "\n", -1);
	guint n = 0;

	assert_true(g_str_has_prefix(lines[0], "Options for -o"));
	for (char **l = lines + 1; *l && g_str_has_prefix(*l, "  ") &&
				   !g_str_has_prefix(*l, "   ");
	     l++) {
		/* The names, up to the two spaces before the help (the
		 * column is 30 wide; a longer entry pushes the help on). */
		const char *gap = strstr(*l + 2, "  ");
		g_autofree char *names =
		    gap ? g_strndup(*l + 2, (gsize)(gap - (*l + 2)))
			: g_strdup(*l + 2);
		g_auto(GStrv) each = g_strsplit(g_strstrip(names), ", ", -1);

		for (char **name = each; *name; name++) {
			g_autoptr(lfs_options) o = lfs_options_new();
			g_autoptr(GError) error = NULL;
			char *eq = strchr(*name, '=');
			g_autofree char *arg =
			    eq ? g_strdup_printf("%.*s=%s", (int)(eq - *name),
						 *name, sample_value(eq + 1))
			       : g_strdup(*name);

			print_message("# %s\n", arg);
			assert_lfs_ok(lfs_options_parse_for(o, arg, use,
							    &error),
				      &error);
			assert_int_equal(o->fuse_opts->len, 0);
			n++;
		}
	}
	assert_int_equal(n, want);
}

static void test_help_lists_what_parses(void **state)
{
	(void)state;
	/* cache_dir, cache-dir, platform, threads, span, handles,
	 * prefetch, meta_cache, readahead, allow_other, noallow_other,
	 * span_cache, splice, nosplice, profile, ro, default_permissions */
	check_help_options(LFS_OPTIONS_MOUNT, 42);
	check_help_options(LFS_OPTIONS_INDEX, 5);
}

static void test_fuse_string(void **state)
{
	struct fx *f = *state;
	g_autofree char *s = NULL, *s2 = NULL;

	s = lfs_options_fuse_string(f->o, "oci:/img");
	assert_string_equal(s, "ro,default_permissions,subtype=layerfs,"
			       "fsname=oci:/img");
	parse_ok(f, "allow_other,max_read=4096,kernel_cache");
	s2 = lfs_options_fuse_string(f->o, "oci:/img:v1");
	assert_string_equal(s2, "ro,default_permissions,subtype=layerfs,"
				"allow_other,fsname=oci:/img:v1,"
				"max_read=4096,kernel_cache");
}

/* A source with commas (a layer list) must stay one fsname value, and a
 * user option value with a comma one option. */
static void test_fuse_string_escapes(void **state)
{
	struct fx *f = *state;
	g_autofree char *s = NULL;

	parse_ok(f, "x=1\\,2");
	s = lfs_options_fuse_string(f->o, "/l/a.tar,/l/b\\dir");
	assert_string_equal(s, "ro,default_permissions,subtype=layerfs,"
			       "fsname=/l/a.tar\\,/l/b\\\\dir,x=1\\,2");
}

/* auto_unmount is libfuse's (its fusermount3 helper unmounts the mount
 * when the daemon dies, docs/decisions/0026): it reaches the FUSE
 * mount as it is, and `layerfs index` refuses it, as every mount option. */
static void test_auto_unmount_passed(void **state)
{
	struct fx *f = *state;
	g_autofree char *s = NULL;

	parse_ok(f, "auto_unmount");
	s = lfs_options_fuse_string(f->o, "oci:/img");
	assert_string_equal(s, "ro,default_permissions,subtype=layerfs,"
			       "fsname=oci:/img,auto_unmount");
	assert_false(lfs_options_parse_for(f->o, "auto_unmount",
					   LFS_OPTIONS_INDEX, &f->error));
	assert_lfs_error(f->error, EINVAL, "only applies to a mount");
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults), FT(test_our_keys),
	    FT(test_value_with_equals),	     FT(test_allow_other),
	    FT(test_ignored_words),	     FT(test_rest_kept_for_fuse),
	    FT(test_escaped_commas),	     FT(test_empty_items),
	    FT(test_empty_value_refused),    FT(test_fuse_string),
	    FT(test_fuse_string_escapes),    FT(test_tuning_keys),
	    FT(test_tuning_values_checked),  FT(test_index_options),
	    FT(test_index_refuses_mount_options),
	    FT(test_flag_with_value_refused),
	    FT(test_auto_unmount_passed),
	    cmocka_unit_test(test_help_lists_what_parses),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
