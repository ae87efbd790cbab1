/* The worker pool: jobs run on threads of their own, by priority.
 *
 * Two sets of threads.  Foreground threads run jobs somebody waits for:
 * URGENT ones (a read needs them) before MOUNT ones (the mount needs
 * them), each kind in the order submitted.  Background threads run
 * prefetch work at the lowest CPU priority (nice 19) and the idle I/O
 * class, so they use only what reads and the mount leave; they are
 * started on the first background job.
 *
 * A background job that somebody starts waiting for (lfs_job_hurry())
 * should return LFS_JOB_HURRY at its next convenient point: it is then
 * queued again as URGENT on the foreground threads and resumes from the
 * state it keeps in its argument.  That way a read never waits behind a
 * niced thread.
 *
 * Cancellation is cooperative: lfs_workers_free() cancels every job and
 * waits for the threads; a job checks lfs_job_cancelled() as it goes and
 * returns early.  A job queued when the pool is freed still runs, to find
 * it is cancelled. */
#ifndef LAYERFS_WORKERS_H
#define LAYERFS_WORKERS_H

#include <stdbool.h>

#include <glib.h>

enum lfs_work_prio {
	LFS_WORK_URGENT,
	LFS_WORK_MOUNT,
	LFS_WORK_BACKGROUND,
};

enum lfs_job_result {
	LFS_JOB_DONE,
	LFS_JOB_HURRY, /* background only: move to the foreground */
};

struct lfs_workers;
struct lfs_job;

typedef enum lfs_job_result (*lfs_job_fn)(struct lfs_job *job, void *arg);

/* A pool with @threads foreground threads and as many background ones
 * (0: one per processor). */
struct lfs_workers *lfs_workers_new(unsigned int threads);
/* Cancel every job, wait for the threads, free the pool. */
void lfs_workers_free(struct lfs_workers *w);
unsigned int lfs_workers_threads(const struct lfs_workers *w);

/* Queue fn(job, arg); @free_arg (may be NULL) is called on @arg when the
 * job is over.  The returned job has a count for the caller. */
struct lfs_job *lfs_workers_submit(struct lfs_workers *w,
				   enum lfs_work_prio prio, lfs_job_fn fn,
				   void *arg, GDestroyNotify free_arg);

/* Wait until the job has run to its end. */
void lfs_job_wait(struct lfs_job *j);
bool lfs_job_done(struct lfs_job *j);
void lfs_job_ref(struct lfs_job *j);
void lfs_job_unref(struct lfs_job *j);

void lfs_job_cancel(struct lfs_job *j);
bool lfs_job_cancelled(const struct lfs_job *j);

/* Ask a background job to move to the foreground (nothing for a job that
 * already runs there). */
void lfs_job_hurry(struct lfs_job *j);
/* Whether the job, running now, should return LFS_JOB_HURRY. */
bool lfs_job_should_hurry(const struct lfs_job *j);

#endif
