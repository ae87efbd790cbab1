/* Registry references (registry_ref.h): normalised as the distribution
 * project's reference package normalises them, and refused, in one line
 * naming the reference, where it refuses them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "asserts.h"
#include "layerfs/registry_ref.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalised(void **state)
{
	static const struct {
		const char *in, *host, *api, *repo, *tag, *canonical;
	} cases[] = {
		{ "debian", "docker.io", "registry-1.docker.io",
		  "library/debian", "latest", "docker://docker.io/library/debian:latest" },
		{ "debian:12", "docker.io", "registry-1.docker.io",
		  "library/debian", "12", NULL },
		{ "docker.io/debian:12", "docker.io", "registry-1.docker.io",
		  "library/debian", "12", NULL },
		{ "index.docker.io/user/app", "docker.io",
		  "registry-1.docker.io", "user/app", "latest", NULL },
		{ "user/app:v1.2-rc_3", "docker.io", "registry-1.docker.io",
		  "user/app", "v1.2-rc_3", NULL },
		{ "localhost/app", "localhost", "localhost", "app", "latest",
		  NULL },
		{ "localhost:5000/a/b/c:t", "localhost:5000", "localhost:5000",
		  "a/b/c", "t", "docker://localhost:5000/a/b/c:t" },
		{ "127.0.0.1:5000/x__y.z--w", "127.0.0.1:5000",
		  "127.0.0.1:5000", "x__y.z--w", "latest", NULL },
		{ "quay.io/org/img", "quay.io", "quay.io", "org/img", "latest",
		  NULL },
		/* A first component without '.', ':' or "localhost" is a
		 * repository component, on docker.io. */
		{ "registry/app", "docker.io", "registry-1.docker.io",
		  "registry/app", "latest", NULL },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(lfs_registry_ref) r = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree char *s = NULL;

		print_message("# %s\n", cases[i].in);
		assert_lfs_ok(lfs_registry_ref_parse(cases[i].in, &r, &error),
			      &error);
		assert_string_equal(r->host, cases[i].host);
		assert_string_equal(r->api_host, cases[i].api);
		assert_string_equal(r->repo, cases[i].repo);
		assert_string_equal(r->tag, cases[i].tag);
		assert_false(r->has_digest);
		s = lfs_registry_ref_string(r);
		if (cases[i].canonical)
			assert_string_equal(s, cases[i].canonical);
		g_free(s);
		s = lfs_registry_ref_manifest(r);
		assert_string_equal(s, cases[i].tag);
	}
}

static void test_digests(void **state)
{
	g_autoptr(lfs_registry_ref) r = NULL, t = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *s = NULL, *m = NULL, *st = NULL;

	(void)state;
	assert_lfs_ok(lfs_registry_ref_parse("localhost:5000/app@sha256:" HEX64,
					     &r, &error),
		      &error);
	assert_true(r->has_digest);
	assert_null(r->tag);
	s = lfs_registry_ref_string(r);
	assert_string_equal(s, "docker://localhost:5000/app@sha256:" HEX64);
	m = lfs_registry_ref_manifest(r);
	assert_string_equal(m, "sha256:" HEX64);
	/* A tag and a digest: both kept, the digest decides. */
	assert_lfs_ok(lfs_registry_ref_parse("app:1@sha256:" HEX64, &t,
					     &error),
		      &error);
	assert_string_equal(t->tag, "1");
	st = lfs_registry_ref_string(t);
	assert_string_equal(st,
			    "docker://docker.io/library/app:1@sha256:" HEX64);
	g_free(m);
	m = lfs_registry_ref_manifest(t);
	assert_string_equal(m, "sha256:" HEX64);
}

static void test_refused(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{ "", "no repository" },
		{ "Debian", "lower-case" },
		{ "app:", "a tag is" },
		{ "app:.x", "a tag is" },
		{ "app:a b", "a tag is" },
		{ "app@sha256:1234", "not a digest" },
		{ "app@md5:" HEX64, "not a digest" },
		{ "localhost:5000/", "lower-case" },
		{ "localhost:5000//app", "lower-case" },
		{ "a/-b", "lower-case" },
		{ "a/b-", "lower-case" },
		{ "a/b_", "lower-case" },
		{ "a/b___c", "lower-case" },
		{ "host.io:99999999/app", "registry host" },
		{ "-host.io/app", "registry host" },
		{ "ho_st.io/app", "registry host" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(lfs_registry_ref) r = NULL;
		g_autoptr(GError) error = NULL;

		print_message("# \"%s\"\n", cases[i].in);
		assert_false(lfs_registry_ref_parse(cases[i].in, &r, &error));
		assert_null(r);
		assert_lfs_error(error, EINVAL, cases[i].why);
		/* The reference as given, then the reason. */
		assert_true(g_str_has_prefix(error->message, "docker://"));
		assert_non_null(strstr(error->message, cases[i].in));
	}
}

static void test_long_names(void **state)
{
	g_autofree char *ok = g_strnfill(237, 'a');
	g_autofree char *too = g_strnfill(238, 'a');
	g_autofree char *long_tag = g_strnfill(129, 't');
	g_autofree char *with_tag = g_strconcat("app:", long_tag, NULL);
	g_autoptr(lfs_registry_ref) r = NULL;
	g_autoptr(GError) error = NULL;

	(void)state;
	/* "docker.io/library/" and 237 more: 255, the most there may be. */
	assert_lfs_ok(lfs_registry_ref_parse(ok, &r, &error), &error);
	g_clear_pointer(&r, lfs_registry_ref_free);
	assert_false(lfs_registry_ref_parse(too, &r, &error));
	assert_lfs_error(error, EINVAL, "longer than 255");
	g_clear_error(&error);
	assert_false(lfs_registry_ref_parse(with_tag, &r, &error));
	assert_lfs_error(error, EINVAL, "a tag is");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
