/* The worker pool (see workers.h).  Foreground: an exclusive GThreadPool
 * sorted by priority.  Background: threads of our own around a queue,
 * not a GThreadPool: the threads of a freed GThreadPool go to GLib's
 * global pool of unused threads, from which any later pool may take them,
 * and a background thread keeps its low priority for life (raising it
 * back needs privileges).  Lock order: w->lock, then a job's lock. */
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layerfs/workers.h"

/* linux/ioprio.h is not in every libc's headers: the two values used. */
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

struct lfs_job {
	gint refs;
	struct lfs_workers *w;
	enum lfs_work_prio prio; /* fixed while queued */
	uint64_t seq;		 /* submission order */
	lfs_job_fn fn;
	void *arg;
	GDestroyNotify free_arg;
	gint cancelled;	   /* atomic */
	gint hurried;	   /* atomic */
	gint background;   /* atomic: running on a background thread */
	GMutex lock;
	GCond cond;
	bool done;	   /* protected by lock */
};

struct lfs_workers {
	unsigned int threads;
	GThreadPool *fg;
	GAsyncQueue *bg;   /* struct lfs_job *, or the pool itself: stop */
	GThread **bg_threads; /* NULL until the first background job */
	GMutex lock;	   /* protects what follows */
	uint64_t seq;
	GHashTable *live;  /* struct lfs_job *: queued or running */
};

void lfs_job_ref(struct lfs_job *j)
{
	g_atomic_int_inc(&j->refs);
}

void lfs_job_unref(struct lfs_job *j)
{
	if (!j || !g_atomic_int_dec_and_test(&j->refs))
		return;
	if (j->free_arg)
		j->free_arg(j->arg);
	g_cond_clear(&j->cond);
	g_mutex_clear(&j->lock);
	g_free(j);
}

static void finish(struct lfs_job *j)
{
	struct lfs_workers *w = j->w;

	g_mutex_lock(&w->lock);
	g_hash_table_remove(w->live, j);
	g_mutex_unlock(&w->lock);
	g_mutex_lock(&j->lock);
	j->done = true;
	g_cond_broadcast(&j->cond);
	g_mutex_unlock(&j->lock);
	lfs_job_unref(j); /* the pool's count */
}

/* URGENT before MOUNT; first come, first served within one kind. */
static gint job_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct lfs_job *x = a, *y = b;

	(void)data;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void run_fg(gpointer data, gpointer pool_data)
{
	struct lfs_job *j = data;

	(void)pool_data;
	g_atomic_int_set(&j->background, 0);
	j->fn(j, j->arg);
	finish(j);
}

/* Make the calling thread yield to everything else: nice 19, idle I/O
 * class.  Best effort: a kernel without ioprio support still runs the
 * job, only less politely. */
static void lower_priority(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)setpriority(PRIO_PROCESS, (id_t)tid, 19);
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid,
		      IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
}

static void run_bg(struct lfs_workers *w, struct lfs_job *j)
{
	g_atomic_int_set(&j->background, 1);
	if (j->fn(j, j->arg) == LFS_JOB_HURRY && !lfs_job_cancelled(j)) {
		g_atomic_int_set(&j->background, 0);
		g_mutex_lock(&w->lock);
		j->prio = LFS_WORK_URGENT;
		j->seq = w->seq++;
		g_mutex_unlock(&w->lock);
		g_thread_pool_push(w->fg, j, NULL);
		return;
	}
	finish(j);
}

static gpointer bg_thread(gpointer data)
{
	struct lfs_workers *w = data;
	gpointer job;

	lower_priority();
	while ((job = g_async_queue_pop(w->bg)) != w)
		run_bg(w, job);
	return NULL;
}

/* Called with w->lock held. */
static void start_bg(struct lfs_workers *w)
{
	w->bg = g_async_queue_new();
	w->bg_threads = g_new0(GThread *, w->threads);
	for (unsigned int i = 0; i < w->threads; i++)
		w->bg_threads[i] = g_thread_new("layerfs-bg", bg_thread, w);
}

static void stop_bg(struct lfs_workers *w)
{
	if (!w->bg_threads)
		return;
	for (unsigned int i = 0; i < w->threads; i++)
		g_async_queue_push(w->bg, w);
	for (unsigned int i = 0; i < w->threads; i++)
		g_thread_join(w->bg_threads[i]);
	g_free(w->bg_threads);
	g_async_queue_unref(w->bg);
}

struct lfs_workers *lfs_workers_new(unsigned int threads)
{
	struct lfs_workers *w = g_new0(struct lfs_workers, 1);

	w->threads = threads ? threads : (unsigned int)g_get_num_processors();
	g_mutex_init(&w->lock);
	w->live = g_hash_table_new(NULL, NULL);
	/* Exclusive pools start their threads now; that can only fail for
	 * lack of resources, which GLib treats as fatal anyway. */
	w->fg = g_thread_pool_new(run_fg, w, (gint)w->threads, TRUE, NULL);
	g_assert(w->fg);
	g_thread_pool_set_sort_function(w->fg, job_cmp, NULL);
	return w;
}

unsigned int lfs_workers_threads(const struct lfs_workers *w)
{
	return w->threads;
}

void lfs_workers_free(struct lfs_workers *w)
{
	GHashTableIter it;
	gpointer j;

	if (!w)
		return;
	g_mutex_lock(&w->lock);
	g_hash_table_iter_init(&it, w->live);
	while (g_hash_table_iter_next(&it, &j, NULL))
		lfs_job_cancel(j);
	g_mutex_unlock(&w->lock);
	/* Background first: a job there may still move to the
	 * foreground (it will find itself cancelled there). */
	stop_bg(w);
	g_thread_pool_free(w->fg, FALSE, TRUE);
	g_hash_table_unref(w->live);
	g_mutex_clear(&w->lock);
	g_free(w);
}

struct lfs_job *lfs_workers_submit(struct lfs_workers *w,
				   enum lfs_work_prio prio, lfs_job_fn fn,
				   void *arg, GDestroyNotify free_arg)
{
	struct lfs_job *j = g_new0(struct lfs_job, 1);

	j->refs = 2; /* the caller's and the pool's */
	j->w = w;
	j->prio = prio;
	j->fn = fn;
	j->arg = arg;
	j->free_arg = free_arg;
	g_mutex_init(&j->lock);
	g_cond_init(&j->cond);
	g_mutex_lock(&w->lock);
	j->seq = w->seq++;
	g_hash_table_add(w->live, j);
	if (prio == LFS_WORK_BACKGROUND && !w->bg_threads)
		start_bg(w);
	g_mutex_unlock(&w->lock);
	if (prio == LFS_WORK_BACKGROUND)
		g_async_queue_push(w->bg, j);
	else
		g_thread_pool_push(w->fg, j, NULL);
	return j;
}

void lfs_job_wait(struct lfs_job *j)
{
	g_mutex_lock(&j->lock);
	while (!j->done)
		g_cond_wait(&j->cond, &j->lock);
	g_mutex_unlock(&j->lock);
}

bool lfs_job_done(struct lfs_job *j)
{
	bool done;

	g_mutex_lock(&j->lock);
	done = j->done;
	g_mutex_unlock(&j->lock);
	return done;
}

void lfs_job_cancel(struct lfs_job *j)
{
	g_atomic_int_set(&j->cancelled, 1);
}

bool lfs_job_cancelled(const struct lfs_job *j)
{
	return g_atomic_int_get(&j->cancelled) != 0;
}

void lfs_job_hurry(struct lfs_job *j)
{
	g_atomic_int_set(&j->hurried, 1);
}

bool lfs_job_should_hurry(const struct lfs_job *j)
{
	return g_atomic_int_get(&j->hurried) &&
	       g_atomic_int_get(&j->background);
}
