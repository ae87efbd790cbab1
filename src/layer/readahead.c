/* A producer thread reading into a ring of buffers (see readahead.h). */
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "layerfs/readahead.h"

struct slot {
	unsigned char *buf;
	ssize_t n; /* what the read gave */
};

struct lfs_readahead {
	lfs_readahead_fn fn;
	void *ctx;
	size_t bufsize;
	unsigned int nbufs;
	struct slot *slots;
	GThread *thread;
	GMutex lock;
	GCond changed;
	/* Protected by lock.  Chunks are numbered from 0; chunk k lives in
	 * slot k % nbufs.  [consumed, produced) hold chunks read and not
	 * yet handed out; the consumer holds chunk consumed - 1 until its
	 * next call, so that slot is not reused under it. */
	uint64_t produced, consumed;
	bool stop; /* the consumer wants no more */
	/* Who sleeps on changed: a wake-up costs a system call and, on a
	 * busy machine, a context switch, so only a sleeper gets one. */
	bool producer_waits, consumer_waits;
};

/* A free slot: every chunk before the one the consumer holds is done. */
static bool has_room(const struct lfs_readahead *ra)
{
	uint64_t held = ra->consumed ? ra->consumed - 1 : 0;

	return ra->produced - held < ra->nbufs;
}

static gpointer produce(gpointer data)
{
	struct lfs_readahead *ra = data;

	for (;;) {
		struct slot *s;
		ssize_t n;

		g_mutex_lock(&ra->lock);
		while (!ra->stop && !has_room(ra)) {
			ra->producer_waits = true;
			g_cond_wait(&ra->changed, &ra->lock);
			ra->producer_waits = false;
		}
		if (ra->stop) {
			g_mutex_unlock(&ra->lock);
			return NULL;
		}
		s = &ra->slots[ra->produced % ra->nbufs];
		g_mutex_unlock(&ra->lock);

		/* The slot is ours: the consumer will not look at it until
		 * produced moves past it. */
		n = ra->fn(ra->ctx, s->buf, ra->bufsize);

		g_mutex_lock(&ra->lock);
		s->n = n;
		ra->produced++;
		if (ra->consumer_waits)
			g_cond_signal(&ra->changed);
		g_mutex_unlock(&ra->lock);
		if (n <= 0)
			return NULL;
	}
}

struct lfs_readahead *lfs_readahead_new(lfs_readahead_fn fn, void *ctx,
					size_t bufsize, unsigned int nbufs)
{
	struct lfs_readahead *ra = g_new0(struct lfs_readahead, 1);

	ra->fn = fn;
	ra->ctx = ctx;
	ra->bufsize = bufsize;
	ra->nbufs = MAX(nbufs, 2u);
	ra->slots = g_new0(struct slot, ra->nbufs);
	for (unsigned int i = 0; i < ra->nbufs; i++)
		ra->slots[i].buf = g_malloc(bufsize);
	g_mutex_init(&ra->lock);
	g_cond_init(&ra->changed);
	ra->thread = g_thread_new("readahead", produce, ra);
	return ra;
}

ssize_t lfs_readahead_next(struct lfs_readahead *ra, const void **buf)
{
	struct slot *s;

	g_mutex_lock(&ra->lock);
	/* A chunk of 0 or an error stays the answer: do not move past it. */
	if (ra->consumed > 0) {
		s = &ra->slots[(ra->consumed - 1) % ra->nbufs];
		if (s->n <= 0) {
			g_mutex_unlock(&ra->lock);
			return s->n;
		}
	}
	while (ra->consumed == ra->produced) {
		ra->consumer_waits = true;
		g_cond_wait(&ra->changed, &ra->lock);
		ra->consumer_waits = false;
	}
	s = &ra->slots[ra->consumed % ra->nbufs];
	ra->consumed++;
	/* The slot of the previous chunk is free now. */
	if (ra->producer_waits)
		g_cond_signal(&ra->changed);
	g_mutex_unlock(&ra->lock);
	*buf = s->buf;
	return s->n;
}

void lfs_readahead_free(struct lfs_readahead *ra)
{
	if (!ra)
		return;
	g_mutex_lock(&ra->lock);
	ra->stop = true;
	g_cond_broadcast(&ra->changed);
	g_mutex_unlock(&ra->lock);
	g_thread_join(ra->thread);
	for (unsigned int i = 0; i < ra->nbufs; i++)
		g_free(ra->slots[i].buf);
	g_free(ra->slots);
	g_cond_clear(&ra->changed);
	g_mutex_clear(&ra->lock);
	g_free(ra);
}
