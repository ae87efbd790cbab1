/* Assertions the unit tests share on top of cmocka: a GError check that
 * prints the message it got, and a substring check.  Include after
 * <cmocka.h>. */
#ifndef LAYERFS_TEST_ASSERTS_H
#define LAYERFS_TEST_ASSERTS_H

#include <string.h>

#include <glib.h>

#include "layerfs/error.h"

/* @err is an LFS_ERROR (or one of the causes' domains, error.h) with
 * code @errnum whose message holds every one of the strings that
 * follow. */
#define assert_lfs_error(err, errnum, ...)                                     \
	assert_lfs_error_impl((err), (errnum),                                 \
			      (const char *const[]){__VA_ARGS__, NULL},        \
			      __FILE__, __LINE__)

static inline void assert_lfs_error_impl(const GError *err, int errnum,
					 const char *const *needles,
					 const char *file, int line)
{
	if (!err) {
		print_error("expected an error (code %d), got none\n", errnum);
		_fail(file, line);
		return;
	}
	if ((err->domain != LFS_ERROR &&
	     lfs_error_cause(err) == LFS_CAUSE_OTHER) ||
	    err->code != errnum) {
		print_error("error \"%s\": domain %s code %d, expected "
			    "a layerfs domain, code %d (%s)\n",
			    err->message, g_quark_to_string(err->domain),
			    err->code, errnum, g_strerror(errnum));
		_fail(file, line);
	}
	for (; *needles; needles++) {
		if (!strstr(err->message, *needles)) {
			print_error("error \"%s\" does not contain \"%s\"\n",
				    err->message, *needles);
			_fail(file, line);
		}
	}
}

/* @err has cause @cause (error.h). */
#define assert_lfs_cause(err, cause)                                           \
	do {                                                                   \
		assert_non_null(err);                                          \
		assert_int_equal(lfs_error_cause(err), (cause));               \
	} while (0)

/* @haystack contains @needle. */
#define assert_str_contains(haystack, needle)                                  \
	assert_str_contains_impl((haystack), (needle), __FILE__, __LINE__)

static inline void assert_str_contains_impl(const char *haystack,
					    const char *needle,
					    const char *file, int line)
{
	if (!haystack || !strstr(haystack, needle)) {
		print_error("\"%s\" does not contain \"%s\"\n",
			    haystack ? haystack : "(null)", needle);
		_fail(file, line);
	}
}

/* No error happened; print it if one did. */
#define assert_no_gerror(err) assert_no_gerror_impl((err), __FILE__, __LINE__)

static inline void assert_no_gerror_impl(const GError *err, const char *file,
					 int line)
{
	if (err) {
		print_error("unexpected error: %s\n", err->message);
		_fail(file, line);
	}
}

/* @call returns TRUE and leaves *@errp unset; print the error if not. */
#define assert_lfs_ok(call, errp)                                              \
	do {                                                                   \
		gboolean ok_ = (call);                                         \
		assert_no_gerror(*(errp));                                     \
		assert_true(ok_);                                              \
	} while (0)

#endif
