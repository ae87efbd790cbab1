/* Quiescing changes (freeze.h): a freeze waits for the changes in
 * flight, holds new ones until the thaw, refuses a second holder, and
 * ends by itself when its holder exits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "layerfs/freeze.h"

struct changer {
	struct lfs_freeze *z;
	gint done; /* atomic */
};

static gpointer change(gpointer arg)
{
	struct changer *c = arg;

	lfs_freeze_enter(c->z);
	g_atomic_int_set(&c->done, 1);
	lfs_freeze_leave(c->z);
	return NULL;
}

/* Whether @c's change got through within @ms. */
static bool through(struct changer *c, int ms)
{
	for (int i = 0; i < ms; i += 5) {
		if (g_atomic_int_get(&c->done))
			return true;
		g_usleep(5000);
	}
	return g_atomic_int_get(&c->done);
}

/* A child that only waits to be killed. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_freeze_and_thaw(void **state)
{
	struct lfs_freeze z;
	struct changer c = { &z, 0 };
	pid_t other = sleeper();
	GThread *t;

	(void)state;
	lfs_freeze_init(&z);
	assert_int_equal(lfs_freeze(&z, getpid()), 0);
	assert_true(lfs_frozen(&z));
	/* The same holder again: still frozen, no error. */
	assert_int_equal(lfs_freeze(&z, getpid()), 0);
	assert_int_equal(lfs_freeze(&z, other), -EBUSY);
	t = g_thread_new("change", change, &c);
	assert_false(through(&c, 200));
	lfs_thaw(&z);
	assert_true(through(&c, 5000));
	g_thread_join(t);
	/* Thawed: another holder may freeze. */
	assert_int_equal(lfs_freeze(&z, other), 0);
	lfs_thaw(&z);
	lfs_freeze_clear(&z);
	reap(other);
}

/* A holder that exits thaws; the watch of an earlier holder does not
 * thaw a later one's freeze. */
static void test_holder_exits(void **state)
{
	struct lfs_freeze z;
	struct changer c = { &z, 0 };
	pid_t a = sleeper(), b = sleeper();
	GThread *t;

	(void)state;
	lfs_freeze_init(&z);
	assert_int_equal(lfs_freeze(&z, a), 0);
	t = g_thread_new("change", change, &c);
	assert_false(through(&c, 200));
	reap(a);
	assert_true(through(&c, 5000));
	g_thread_join(t);
	assert_false(lfs_frozen(&z));

	assert_int_equal(lfs_freeze(&z, b), 0);
	lfs_thaw(&z);
	assert_int_equal(lfs_freeze(&z, getpid()), 0);
	reap(b); /* b no longer holds it */
	g_usleep(100000);
	assert_true(lfs_frozen(&z));
	lfs_freeze_clear(&z);
	/* A holder that is gone cannot freeze. */
	lfs_freeze_init(&z);
	assert_int_equal(lfs_freeze(&z, b), -ESRCH);
	lfs_freeze_clear(&z);
}

/* A freeze waits for the change in flight. */
static gpointer freezer(gpointer arg)
{
	struct lfs_freeze *z = arg;

	lfs_freeze(z, getpid());
	return NULL;
}

static void test_waits_for_changes(void **state)
{
	struct lfs_freeze z;
	GThread *t;

	(void)state;
	lfs_freeze_init(&z);
	lfs_freeze_enter(&z);
	t = g_thread_new("freeze", freezer, &z);
	g_usleep(100000);
	/* It is frozen to new changes, but still waiting for this one. */
	assert_true(lfs_frozen(&z));
	lfs_freeze_leave(&z);
	g_thread_join(t);
	assert_true(lfs_frozen(&z));
	lfs_freeze_clear(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freeze_and_thaw),
		cmocka_unit_test(test_holder_exits),
		cmocka_unit_test(test_waits_for_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
