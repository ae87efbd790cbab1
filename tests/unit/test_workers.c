/* work/workers.c: jobs run and can be waited for; urgent jobs go before
 * mount jobs, each kind in order; background threads run at nice 19 in
 * the idle I/O class; a hurried background job moves to a foreground
 * thread and resumes there; freeing the pool cancels and waits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layerfs/workers.h"

#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

/* A latch the test opens to let blocked jobs go. */
struct gate {
	GMutex lock;
	GCond cond;
	bool open;
	gint entered;
};

static void gate_init(struct gate *g)
{
	g_mutex_init(&g->lock);
	g_cond_init(&g->cond);
	g->open = false;
	g->entered = 0;
}

static void gate_open(struct gate *g)
{
	g_mutex_lock(&g->lock);
	g->open = true;
	g_cond_broadcast(&g->cond);
	g_mutex_unlock(&g->lock);
}

static void gate_clear(struct gate *g)
{
	g_cond_clear(&g->cond);
	g_mutex_clear(&g->lock);
}

static void wait_entered(struct gate *g, int n)
{
	while (g_atomic_int_get(&g->entered) < n)
		g_usleep(1000);
}

static enum lfs_job_result blocker(struct lfs_job *j, void *arg)
{
	struct gate *g = arg;

	(void)j;
	g_atomic_int_inc(&g->entered);
	g_mutex_lock(&g->lock);
	while (!g->open)
		g_cond_wait(&g->cond, &g->lock);
	g_mutex_unlock(&g->lock);
	return LFS_JOB_DONE;
}

/* Records its tag in a shared order string. */
struct tagged {
	GMutex *lock;
	GString *order;
	char tag;
};

static enum lfs_job_result record(struct lfs_job *j, void *arg)
{
	struct tagged *t = arg;

	(void)j;
	g_mutex_lock(t->lock);
	g_string_append_c(t->order, t->tag);
	g_mutex_unlock(t->lock);
	return LFS_JOB_DONE;
}

static enum lfs_job_result count(struct lfs_job *j, void *arg)
{
	(void)j;
	g_atomic_int_inc((gint *)arg);
	return LFS_JOB_DONE;
}

static void test_run_and_wait(void **state)
{
	struct lfs_workers *w = lfs_workers_new(3);
	struct lfs_job *jobs[20];
	gint n = 0;

	(void)state;
	assert_int_equal(lfs_workers_threads(w), 3);
	for (int i = 0; i < 20; i++)
		jobs[i] = lfs_workers_submit(w, i % 2 ? LFS_WORK_MOUNT
						      : LFS_WORK_URGENT,
					     count, &n, NULL);
	for (int i = 0; i < 20; i++) {
		lfs_job_wait(jobs[i]);
		assert_true(lfs_job_done(jobs[i]));
		lfs_job_unref(jobs[i]);
	}
	assert_int_equal(n, 20);
	lfs_workers_free(w);

	/* 0 threads: one per processor. */
	w = lfs_workers_new(0);
	assert_int_equal(lfs_workers_threads(w), g_get_num_processors());
	lfs_workers_free(w);
}

/* One thread, held busy while jobs queue: urgent ones then run first,
 * and within a kind, in the order they came. */
static void test_priority_order(void **state)
{
	struct lfs_workers *w = lfs_workers_new(1);
	static const char tags[] = "abcdef";
	static const enum lfs_work_prio prios[] = {
		LFS_WORK_MOUNT, LFS_WORK_MOUNT,	 LFS_WORK_URGENT,
		LFS_WORK_MOUNT, LFS_WORK_URGENT, LFS_WORK_URGENT,
	};
	struct tagged t[6];
	struct lfs_job *jobs[6], *hold;
	GMutex lock;
	GString *order = g_string_new(NULL);
	struct gate g;

	(void)state;
	g_mutex_init(&lock);
	gate_init(&g);
	hold = lfs_workers_submit(w, LFS_WORK_MOUNT, blocker, &g, NULL);
	wait_entered(&g, 1);
	for (int i = 0; i < 6; i++) {
		t[i] = (struct tagged){ &lock, order, tags[i] };
		jobs[i] = lfs_workers_submit(w, prios[i], record, &t[i], NULL);
	}
	gate_open(&g);
	for (int i = 0; i < 6; i++) {
		lfs_job_wait(jobs[i]);
		lfs_job_unref(jobs[i]);
	}
	lfs_job_unref(hold);
	assert_string_equal(order->str, "cefabd");
	lfs_workers_free(w);
	g_string_free(order, TRUE);
	g_mutex_clear(&lock);
	gate_clear(&g);
}

struct prio_seen {
	int nice;
	int ioprio; /* -1 when the kernel would not say */
	GThread *thread;
};

static void note_priority(struct prio_seen *p)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	errno = 0;
	p->nice = getpriority(PRIO_PROCESS, (id_t)tid);
	p->ioprio = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	p->thread = g_thread_self();
}

static enum lfs_job_result note(struct lfs_job *j, void *arg)
{
	(void)j;
	note_priority(arg);
	return LFS_JOB_DONE;
}

static void test_background_is_lowered(void **state)
{
	struct lfs_workers *w = lfs_workers_new(1);
	struct prio_seen bg = { 0 }, fg = { 0 };
	struct lfs_job *j;
	int base = getpriority(PRIO_PROCESS, 0);

	(void)state;
	j = lfs_workers_submit(w, LFS_WORK_BACKGROUND, note, &bg, NULL);
	lfs_job_wait(j);
	lfs_job_unref(j);
	j = lfs_workers_submit(w, LFS_WORK_MOUNT, note, &fg, NULL);
	lfs_job_wait(j);
	lfs_job_unref(j);
	assert_int_equal(bg.nice, 19);
	assert_int_equal(fg.nice, base);
	if (bg.ioprio >= 0)
		assert_int_equal(bg.ioprio >> IOPRIO_CLASS_SHIFT,
				 IOPRIO_CLASS_IDLE);
	if (fg.ioprio >= 0)
		assert_int_not_equal(fg.ioprio >> IOPRIO_CLASS_SHIFT,
				     IOPRIO_CLASS_IDLE);
	assert_ptr_not_equal(bg.thread, fg.thread);
	lfs_workers_free(w);
}

/* A job that works in steps and keeps its place in @arg. */
struct stepper {
	gint started;
	int step;	       /* where it got to */
	int runs;	       /* times the function was entered */
	struct prio_seen first, second;
};

static enum lfs_job_result step(struct lfs_job *j, void *arg)
{
	struct stepper *s = arg;

	if (s->runs++ == 0)
		note_priority(&s->first);
	else
		note_priority(&s->second);
	g_atomic_int_set(&s->started, 1);
	for (; s->step < 100000; s->step++) {
		if (lfs_job_cancelled(j))
			return LFS_JOB_DONE;
		if (lfs_job_should_hurry(j))
			return LFS_JOB_HURRY;
		g_usleep(100);
	}
	return LFS_JOB_DONE;
}

/* Hurried, a background job comes back on a foreground thread at normal
 * priority and goes on from where it was. */
static void test_hurry_moves_to_foreground(void **state)
{
	struct lfs_workers *w = lfs_workers_new(1);
	struct stepper s = { 0 };
	struct lfs_job *j;
	int at;

	(void)state;
	j = lfs_workers_submit(w, LFS_WORK_BACKGROUND, step, &s, NULL);
	while (!g_atomic_int_get(&s.started))
		g_usleep(1000);
	g_usleep(20000);
	lfs_job_hurry(j);
	/* Let it move, then stop it. */
	while (s.runs < 2)
		g_usleep(1000);
	at = s.step;
	lfs_job_cancel(j);
	lfs_job_wait(j);
	lfs_job_unref(j);
	assert_int_equal(s.runs, 2);
	assert_true(at > 0);
	assert_true(s.step >= at);
	assert_int_equal(s.first.nice, 19);
	assert_int_equal(s.second.nice, getpriority(PRIO_PROCESS, 0));
	assert_ptr_not_equal(s.first.thread, s.second.thread);
	lfs_workers_free(w);
}

/* Hurrying a foreground job changes nothing. */
static void test_hurry_in_foreground_is_nothing(void **state)
{
	struct lfs_workers *w = lfs_workers_new(1);
	struct stepper s = { .step = 99990 };
	struct lfs_job *j;

	(void)state;
	j = lfs_workers_submit(w, LFS_WORK_URGENT, step, &s, NULL);
	lfs_job_hurry(j);
	lfs_job_wait(j);
	lfs_job_unref(j);
	assert_int_equal(s.runs, 1);
	assert_int_equal(s.step, 100000);
	lfs_workers_free(w);
}

static void free_stepper(gpointer p)
{
	g_atomic_int_set(&((struct stepper *)p)->started, 2);
}

/* Freeing the pool cancels what runs and what waits, and waits for the
 * threads; arguments are freed. */
static void test_free_cancels(void **state)
{
	struct lfs_workers *w = lfs_workers_new(1);
	struct stepper bg = { 0 }, fg = { 0 }, queued = { 0 };
	struct lfs_job *a, *b, *c;

	(void)state;
	a = lfs_workers_submit(w, LFS_WORK_BACKGROUND, step, &bg,
			       free_stepper);
	b = lfs_workers_submit(w, LFS_WORK_MOUNT, step, &fg, NULL);
	c = lfs_workers_submit(w, LFS_WORK_MOUNT, step, &queued, NULL);
	while (!g_atomic_int_get(&bg.started) || !g_atomic_int_get(&fg.started))
		g_usleep(1000);
	lfs_workers_free(w);
	assert_true(lfs_job_done(a) && lfs_job_done(b) && lfs_job_done(c));
	assert_true(lfs_job_cancelled(a) && lfs_job_cancelled(c));
	assert_true(bg.step < 100000 && fg.step < 100000);
	/* The queued one ran only to find it was cancelled. */
	assert_int_equal(queued.step, 0);
	lfs_job_unref(a);
	assert_int_equal(bg.started, 2);
	lfs_job_unref(b);
	lfs_job_unref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_and_wait),
		cmocka_unit_test(test_priority_order),
		cmocka_unit_test(test_background_is_lowered),
		cmocka_unit_test(test_hurry_moves_to_foreground),
		cmocka_unit_test(test_hurry_in_foreground_is_nothing),
		cmocka_unit_test(test_free_cancels),
	};

	return cmocka_run_group_tests_name("workers", tests, NULL, NULL);
}
