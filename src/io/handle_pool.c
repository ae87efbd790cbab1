/* Pooled decompressor handles (see handle_pool.h).  Lock order: only
 * p->lock exists, never held while a handle decompresses. */
#include <errno.h>

#include <glib.h>

#include "layerfs/handle_pool.h"
#include "layerfs/seek_index.h"
#include "layerfs/span_cache.h"

#define NO_POS UINT64_MAX

/* A moved handle coming back within this many reads counts. */
#define RECENT 64

/* A handle moved away: where its last read ended (NO_POS: free), and
 * when. */
struct moved {
	uint64_t end;
	uint64_t tick;
};

struct handle {
	struct lfs_seek_reader *r;
	bool busy;	    /* protected by p->lock */
	uint64_t end;	    /* busy: where its read will leave it; lock */
	uint64_t last_used; /* protected by p->lock */
};

struct lfs_handle_pool {
	struct lfs_blob *stored;
	enum lfs_compression comp;
	const struct lfs_index *ix;
	uint64_t tar_size;
	unsigned int max; /* handles kept while reads do not thrash */
	unsigned int cap; /* handles while they do */
	/* Where the last handles moved away had ended their last read. */
	struct moved moved[2 * LFS_POOL_HANDLES_MAX];
	guint moved_next;
	uint64_t last_thrash; /* tick of the last reader coming back */
	uint64_t reach; /* how far ahead a handle may continue */
	GMutex lock;
	GCond freed;
	GPtrArray *handles; /* struct handle *; protected by lock */
	GArray *waiting;    /* uint64_t: offsets of reads waiting; lock */
	uint64_t tick;	    /* protected by lock */
	struct lfs_pool_stats st; /* protected by lock */
	struct lfs_span_cache *cache; /* borrowed; NULL: none */
};

static void handle_free(struct handle *h)
{
	lfs_seek_reader_free(h->r);
	g_free(h);
}

/* The hook of every handle's reader: chunks no read took whole go to the
 * span cache. */
static void keep_chunk(void *ctx, uint32_t k, const uint8_t *data,
		       size_t len)
{
	struct lfs_handle_pool *p = ctx;

	lfs_span_cache_put(p->cache, p, k, data, len);
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
					    uint64_t tar_size, unsigned int max,
					    struct lfs_span_cache *cache)
{
	struct lfs_handle_pool *p = g_new0(struct lfs_handle_pool, 1);

	p->stored = stored;
	p->comp = comp;
	p->ix = ix;
	p->tar_size = tar_size;
	/* A bound given is kept; the default grows when reads thrash. */
	p->max = max ? max : LFS_POOL_HANDLES_DEFAULT;
	p->cap = max ? max : LFS_POOL_HANDLES_MAX;
	for (guint i = 0; i < G_N_ELEMENTS(p->moved); i++)
		p->moved[i].end = NO_POS;
	p->reach = reach_of(ix, comp);
	g_mutex_init(&p->lock);
	g_cond_init(&p->freed);
	p->handles = g_ptr_array_new_with_free_func(
		(GDestroyNotify)handle_free);
	p->waiting = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	p->cache = cache;
	return p;
}

void lfs_handle_pool_free(struct lfs_handle_pool *p)
{
	if (!p)
		return;
	g_ptr_array_unref(p->handles);
	g_array_unref(p->waiting);
	if (p->cache)
		lfs_span_cache_forget(p->cache, p);
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

		/* It can serve from the start of the chunk it keeps; the
		 * distance to pay is from where its decoder stands. */
		if (h->busy || lfs_seek_reader_start(h->r) > off ||
		    (off > pos && off - pos > p->reach))
			continue;
		if (!best || pos > best_pos) {
			best = h;
			best_pos = pos;
		}
	}
	return best;
}

/* The busy handle whose read will end closest before @off (within
 * reach), or NULL: the read just before this one in a sequential stream,
 * which the kernel sends in parallel with it (readahead). */
static struct handle *busy_predecessor(struct lfs_handle_pool *p,
				       uint64_t off)
{
	struct handle *best = NULL;

	for (guint i = 0; i < p->handles->len; i++) {
		struct handle *h = p->handles->pdata[i];

		if (h->busy && h->end <= off && off - h->end <= p->reach &&
		    (!best || h->end > best->end))
			best = h;
	}
	return best;
}

/* Whether a waiting read wants a place in [@from, @off): the handle at
 * @from is its to take first, or it would be skipped over and restart. */
static bool earlier_waiter(struct lfs_handle_pool *p, uint64_t from,
			  uint64_t off)
{
	for (guint i = 0; i < p->waiting->len; i++) {
		uint64_t w = g_array_index(p->waiting, uint64_t, i);

		if (w >= from && w < off)
			return true;
	}
	return false;
}

/* Wait for a handle to come free, known to the others as a read of @off
 * (called with the lock held). */
static void wait_free(struct lfs_handle_pool *p, uint64_t off)
{
	g_array_append_val(p->waiting, off);
	p->st.waits++;
	g_cond_wait(&p->freed, &p->lock);
	for (guint i = 0; i < p->waiting->len; i++) {
		if (g_array_index(p->waiting, uint64_t, i) == off) {
			g_array_remove_index_fast(p->waiting, i);
			break;
		}
	}
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

/* Whether a read at @off would have continued a handle moved away a
 * moment ago: it starts exactly where that handle's last read ended, as a
 * streaming reader's next read does, and the move was among the last
 * reads.  Readers came back for positions taken from them, as when more
 * readers stream at once than the pool has handles; then the pool grows
 * instead of moving another, up to its cap.  A reader jumping around
 * lands exactly there hardly ever.  The position is forgotten (lock
 * held). */
static bool thrashing(struct lfs_handle_pool *p, uint64_t off)
{
	for (guint i = 0; i < G_N_ELEMENTS(p->moved); i++) {
		struct moved *m = &p->moved[i];

		if (m->end == off && p->tick - m->tick <= RECENT) {
			m->end = NO_POS;
			p->st.thrashed++;
			p->last_thrash = p->tick;
			return true;
		}
	}
	return false;
}

/* Handle @h is moved away: remember where its last read ended, in a
 * small ring. */
static void note_moved(struct lfs_handle_pool *p, const struct handle *h)
{
	p->moved[p->moved_next] = (struct moved){ h->end, p->tick };
	p->moved_next = (p->moved_next + 1) % G_N_ELEMENTS(p->moved);
}

/* Once this many reads have passed with no reader coming back for a
 * position, the readers streaming at once are gone: a handle beyond the
 * pool's own number goes, the least recently used idle one, one per read
 * (lock held). */
#define SHRINK_AFTER 1024

static void shrink(struct lfs_handle_pool *p)
{
	struct handle *lru;

	if (p->handles->len <= p->max ||
	    p->tick - p->last_thrash <= SHRINK_AFTER)
		return;
	lru = least_recent_idle(p);
	if (lru)
		g_ptr_array_remove_fast(p->handles, lru);
}

/* A new handle in the pool (lock held), or NULL with *err set. */
static struct handle *new_handle(struct lfs_handle_pool *p, int *err)
{
	struct handle *h = g_new0(struct handle, 1);

	*err = lfs_seek_reader_new(p->stored, p->comp, p->ix, p->tar_size,
				   &h->r);
	if (*err < 0) {
		g_free(h);
		return NULL;
	}
	if (p->cache)
		lfs_seek_reader_set_chunk_hook(h->r, keep_chunk, p);
	g_ptr_array_add(p->handles, h);
	if (p->handles->len > p->st.peak)
		p->st.peak = p->handles->len;
	return h;
}

/* Take a handle for a read at @off (called with the lock held). */
static struct handle *take(struct lfs_handle_pool *p, uint64_t off,
			   int *err)
{
	struct handle *h;

	for (;;) {
		struct handle *busy = busy_predecessor(p, off);

		h = closest(p, off);
		/* Waiting for the busy one costs the rest of its read; an
		 * idle one further back would inflate what it is inflating
		 * now, and two handles would leapfrog through the stream,
		 * each decompressing all of it.  Starting afresh costs up
		 * to a span. */
		if (busy && (!h || lfs_seek_reader_pos(h->r) < busy->end)) {
			wait_free(p, off);
			continue;
		}
		/* Readahead arrives out of order: the read just before this
		 * one goes first. */
		if (h && earlier_waiter(p, lfs_seek_reader_start(h->r), off)) {
			wait_free(p, off);
			continue;
		}
		if (h) {
			p->st.hits++;
			break;
		}
		if (p->handles->len < p->max ||
		    (p->handles->len < p->cap && thrashing(p, off))) {
			h = new_handle(p, err);
			if (!h)
				return NULL;
			p->st.misses++;
			break;
		}
		h = least_recent_idle(p);
		if (h) {
			note_moved(p, h);
			p->st.misses++;
			p->st.evictions++;
			break;
		}
		wait_free(p, off);
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

	if (p->cache && lfs_span_cache_read(p->cache, p, p->ix->sum_chunk, buf,
					     len, off)) {
		g_mutex_lock(&p->lock);
		p->st.cache_hits++;
		p->st.served += len;
		g_mutex_unlock(&p->lock);
		return (ssize_t)len;
	}
	g_mutex_lock(&p->lock);
	h = take(p, off, &err);
	if (h)
		h->end = off + len;
	g_mutex_unlock(&p->lock);
	if (!h)
		return err;
	before = lfs_seek_reader_inflated(h->r);
	n = lfs_seek_reader_pread(h->r, buf, len, off);
	g_mutex_lock(&p->lock);
	p->st.inflated += lfs_seek_reader_inflated(h->r) - before;
	if (n > 0)
		p->st.served += (uint64_t)n;
	h->busy = false;
	h->last_used = ++p->tick;
	shrink(p);
	/* Broadcast: a waiter may want this handle in particular. */
	g_cond_broadcast(&p->freed);
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
