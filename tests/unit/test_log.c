/* util/log.c: messages reach the sink formatted, levels above the
 * logger's maximum are dropped, and a NULL logger or sink is harmless. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixtures.h"
#include "layerfs/log.h"

static void test_formats_and_filters(void **state)
{
	struct fx_log log;

	(void)state;
	fx_log_init(&log);
	log.lg.max_level = LFS_LOG_WARN;
	lfs_warn(&log.lg, "layer %d: %s", 3, "warned");
	lfs_err(&log.lg, "an error");
	lfs_info(&log.lg, "not shown");
	lfs_debug(&log.lg, "not shown either");
	assert_int_equal(log.msgs->len, 2);
	assert_string_equal(log.msgs->pdata[0], "layer 3: warned");
	assert_string_equal(log.msgs->pdata[1], "an error");
	fx_log_clear(&log);
}

static void test_null_logger_and_sink(void **state)
{
	struct lfs_logger no_sink = { NULL, NULL, LFS_LOG_DEBUG };

	(void)state;
	lfs_err(NULL, "dropped %s", "quietly");
	lfs_err(&no_sink, "dropped too");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_and_filters),
		cmocka_unit_test(test_null_logger_and_sink),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
