/* util/mountinfo.c: the mount on top at a path, read from mount tables
 * in /proc/self/mountinfo's format: optional fields, names with escaped
 * blanks, a mount over another, near misses, broken lines; and this
 * process's own table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "layerfs/mountinfo.h"

static const char table[] =
	"22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	"48 22 0:42 / /mnt ro,nosuid,nodev - fuse.layerfs oci:img ro,"
	"user_id=0\n"
	/* A broken line, ignored. */
	"49 22 0:43 / /mnt\n"
	"50 22 0:44 / /mnt/a\\040b rw shared:7 master:3 - tmpfs my\\040tmp "
	"rw\n"
	"51 22 0:45 / /mnt/ab rw - tmpfs ab rw\n"
	/* Mounted over /mnt: on top now. */
	"52 48 0:46 / /mnt rw,relatime - fuse.sshfs host:/x rw\n";

static void test_find(void **state)
{
	struct lfs_mountinfo mi;

	(void)state;
	assert_true(lfs_mountinfo_find(table, "/", &mi));
	assert_string_equal(mi.devnum, "253:0");
	assert_string_equal(mi.fstype, "ext4");
	assert_string_equal(mi.source, "/dev/vda");
	lfs_mountinfo_clear(&mi);

	assert_true(lfs_mountinfo_find(table, "/mnt/a b", &mi));
	assert_string_equal(mi.devnum, "0:44");
	assert_string_equal(mi.fstype, "tmpfs");
	assert_string_equal(mi.source, "my tmp");
	lfs_mountinfo_clear(&mi);

	assert_true(lfs_mountinfo_find(table, "/mnt/ab", &mi));
	assert_string_equal(mi.source, "ab");
	lfs_mountinfo_clear(&mi);
}

/* Of two mounts at one point, the later (on top) counts. */
static void test_top_mount(void **state)
{
	struct lfs_mountinfo mi;

	(void)state;
	assert_true(lfs_mountinfo_find(table, "/mnt", &mi));
	assert_string_equal(mi.devnum, "0:46");
	assert_string_equal(mi.fstype, "fuse.sshfs");
	lfs_mountinfo_clear(&mi);
	assert_true(lfs_mountinfo_find(
		"48 22 0:42 / /mnt ro - fuse.layerfs oci:img ro\n", "/mnt", &mi));
	assert_string_equal(mi.fstype, "fuse.layerfs");
	assert_string_equal(mi.source, "oci:img");
	lfs_mountinfo_clear(&mi);
}

static void test_not_mounted(void **state)
{
	struct lfs_mountinfo mi;

	(void)state;
	assert_false(lfs_mountinfo_find(table, "/mnt/a", &mi));
	assert_null(mi.fstype);
	assert_false(lfs_mountinfo_find(table, "/mnt/", &mi));
	assert_false(lfs_mountinfo_find(table, "/mnt/a\\040b", &mi));
	assert_false(lfs_mountinfo_find("", "/", &mi));
}

/* This process's own table has its root. */
static void test_here(void **state)
{
	struct lfs_mountinfo mi;

	(void)state;
	assert_true(lfs_mountinfo_here("/", &mi));
	assert_non_null(mi.fstype);
	assert_non_null(mi.devnum);
	lfs_mountinfo_clear(&mi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_top_mount),
		cmocka_unit_test(test_not_mounted),
		cmocka_unit_test(test_here),
	};

	return cmocka_run_group_tests_name("mountinfo", tests, NULL, NULL);
}
