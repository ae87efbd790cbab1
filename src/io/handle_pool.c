/* Pooled decompressor handles (see handle_pool.h).  Lock order: only
 * p->lock exists, never held while a handle decompresses. */
#include <errno.h>

#include <glib.h>

#include "layerfs/handle_pool.h"
#include "layerfs/seek_index.h"

struct handle {
	struct lfs_seek_reader *r;
	bool busy;	    /* protected by p->lock */
	uint64_t last_used; /* protected by p->lock */
};

struct lfs_handle_pool {
	struct lfs_blob *stored;
	enum lfs_compression comp;
	const struct lfs_index *ix;
	unsigned int max;
	uint64_t reach; /* how far ahead a handle may continue */
	GMutex lock;
	GCond freed;
	GPtrArray *handles; /* struct handle *; protected by lock */
	uint64_t tick;	    /* protected by lock */
	struct lfs_pool_stats st; /* protected by lock */
};

static void handle_free(struct handle *h)
{
	lfs_seek_reader_free(h->r);
	g_free(h);
}

/* Continuing from a position costs inflating the gap; restarting costs
 * up to a span from the access point.  So a handle is worth continuing
 * within about a span: the distance between gzip access points, or the
 * largest gap between zstd frames (with one frame, any distance: the only
 * restart is from the very start). */
static uint64_t reach_of(const struct lfs_index *ix, enum lfs_compression c)
{
	uint64_t reach = 0;

	if (c == LFS_COMP_GZIP) {
		for (uint32_t i = 1; i < ix->ncheckpoints; i++)
			reach = MAX(reach, ix->checkpoints[i].out -
						   ix->checkpoints[i - 1].out);
	} else {
		for (uint32_t i = 1; i < ix->nframes; i++)
			reach = MAX(reach,
				    ix->frames[i].out - ix->frames[i - 1].out);
	}
	return reach ? reach : UINT64_MAX;
}

struct lfs_handle_pool *lfs_handle_pool_new(struct lfs_blob *stored,
					    enum lfs_compression comp,
					    const struct lfs_index *ix,
					    unsigned int max)
{
	struct lfs_handle_pool *p = g_new0(struct lfs_handle_pool, 1);

	p->stored = stored;
	p->comp = comp;
	p->ix = ix;
	p->max = max ? max : LFS_POOL_HANDLES_DEFAULT;
	p->reach = reach_of(ix, comp);
	g_mutex_init(&p->lock);
	g_cond_init(&p->freed);
	p->handles = g_ptr_array_new_with_free_func(
		(GDestroyNotify)handle_free);
	return p;
}

void lfs_handle_pool_free(struct lfs_handle_pool *p)
{
	if (!p)
		return;
	g_ptr_array_unref(p->handles);
	g_cond_clear(&p->freed);
	g_mutex_clear(&p->lock);
	g_free(p);
}

/* The idle handle that can continue to @off most cheaply, or NULL. */
static struct handle *closest(struct lfs_handle_pool *p, uint64_t off)
{
	struct handle *best = NULL;
	uint64_t best_pos = 0;

	for (guint i = 0; i < p->handles->len; i++) {
		struct handle *h = p->handles->pdata[i];
		uint64_t pos = lfs_seek_reader_pos(h->r);

		if (h->busy || pos > off || off - pos > p->reach)
			continue;
		if (!best || pos > best_pos) {
			best = h;
			best_pos = pos;
		}
	}
	return best;
}

static struct handle *least_recent_idle(struct lfs_handle_pool *p)
{
	struct handle *lru = NULL;

	for (guint i = 0; i < p->handles->len; i++) {
		struct handle *h = p->handles->pdata[i];

		if (!h->busy && (!lru || h->last_used < lru->last_used))
			lru = h;
	}
	return lru;
}

/* Take a handle for a read at @off (called with the lock held). */
static struct handle *take(struct lfs_handle_pool *p, uint64_t off,
			   int *err)
{
	struct handle *h;

	for (;;) {
		h = closest(p, off);
		if (h) {
			p->st.hits++;
			break;
		}
		if (p->handles->len < p->max) {
			h = g_new0(struct handle, 1);
			*err = lfs_seek_reader_new(p->stored, p->comp, p->ix,
						   &h->r);
			if (*err < 0) {
				g_free(h);
				return NULL;
			}
			g_ptr_array_add(p->handles, h);
			p->st.misses++;
			break;
		}
		h = least_recent_idle(p);
		if (h) {
			p->st.misses++;
			p->st.evictions++;
			break;
		}
		p->st.waits++;
		g_cond_wait(&p->freed, &p->lock);
	}
	h->busy = true;
	return h;
}

ssize_t lfs_handle_pool_pread(struct lfs_handle_pool *p, void *buf,
			      size_t len, uint64_t off)
{
	struct handle *h;
	uint64_t before;
	ssize_t n;
	int err = 0;

	g_mutex_lock(&p->lock);
	h = take(p, off, &err);
	g_mutex_unlock(&p->lock);
	if (!h)
		return err;
	before = lfs_seek_reader_inflated(h->r);
	n = lfs_seek_reader_pread(h->r, buf, len, off);
	g_mutex_lock(&p->lock);
	p->st.inflated += lfs_seek_reader_inflated(h->r) - before;
	h->busy = false;
	h->last_used = ++p->tick;
	g_cond_signal(&p->freed);
	g_mutex_unlock(&p->lock);
	return n;
}

void lfs_handle_pool_stats(struct lfs_handle_pool *p,
			   struct lfs_pool_stats *st)
{
	g_mutex_lock(&p->lock);
	*st = p->st;
	st->handles = p->handles->len;
	g_mutex_unlock(&p->lock);
}
