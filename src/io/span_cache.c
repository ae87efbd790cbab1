/* Inflated chunks kept for reads to come (see span_cache.h). */
#include <string.h>

#include <glib.h>

#include "layerfs/span_cache.h"

struct chunk {
	const void *owner; /* the key: owner and number */
	uint32_t k;
	uint32_t len;
	GList link; /* in c->lru, most recent first */
	uint8_t data[];
};

struct lfs_span_cache {
	GMutex lock;
	GHashTable *chunks; /* struct chunk, by itself (owner, k) */
	GQueue lru;
	struct lfs_span_cache_stats st;
};

static guint chunk_hash(gconstpointer p)
{
	const struct chunk *c = p;

	return g_direct_hash(c->owner) * 31 + c->k;
}

static gboolean chunk_equal(gconstpointer a, gconstpointer b)
{
	const struct chunk *x = a, *y = b;

	return x->owner == y->owner && x->k == y->k;
}

struct lfs_span_cache *lfs_span_cache_new(uint64_t max)
{
	struct lfs_span_cache *c = g_new0(struct lfs_span_cache, 1);

	g_mutex_init(&c->lock);
	c->chunks = g_hash_table_new_full(chunk_hash, chunk_equal, g_free,
					  NULL);
	g_queue_init(&c->lru);
	c->st.max = max;
	return c;
}

void lfs_span_cache_free(struct lfs_span_cache *c)
{
	if (!c)
		return;
	g_hash_table_unref(c->chunks); /* frees the chunks */
	g_mutex_clear(&c->lock);
	g_free(c);
}

/* Take @ch out (lock held) and free it. */
static void drop(struct lfs_span_cache *c, struct chunk *ch)
{
	g_queue_unlink(&c->lru, &ch->link);
	c->st.bytes -= ch->len;
	g_hash_table_remove(c->chunks, ch);
}

void lfs_span_cache_put(struct lfs_span_cache *c, const void *owner,
			uint32_t k, const uint8_t *data, size_t len)
{
	struct chunk *ch;

	if (len > c->st.max)
		return;
	/* Copied before the lock is taken. */
	ch = g_malloc(sizeof(*ch) + len);
	ch->owner = owner;
	ch->k = k;
	ch->len = (uint32_t)len;
	ch->link = (GList){ .data = ch };
	memcpy(ch->data, data, len);
	g_mutex_lock(&c->lock);
	if (g_hash_table_contains(c->chunks, ch)) {
		g_mutex_unlock(&c->lock);
		g_free(ch);
		return;
	}
	while (c->st.bytes + len > c->st.max)
		drop(c, g_queue_peek_tail(&c->lru));
	g_hash_table_add(c->chunks, ch);
	g_queue_push_head_link(&c->lru, &ch->link);
	c->st.bytes += len;
	g_mutex_unlock(&c->lock);
}

static struct chunk *find(struct lfs_span_cache *c, const void *owner,
			  uint64_t k)
{
	struct chunk key = { .owner = owner, .k = (uint32_t)k };

	if (k > UINT32_MAX)
		return NULL;
	return g_hash_table_lookup(c->chunks, &key);
}

bool lfs_span_cache_read(struct lfs_span_cache *c, const void *owner,
			 uint64_t chunk, void *buf, size_t len, uint64_t off)
{
	uint64_t end = off + len;
	uint8_t *out = buf;
	bool ok = true;

	if (!chunk || len == 0)
		return false;
	g_mutex_lock(&c->lock);
	for (uint64_t k = off / chunk; ok && k * chunk < end; k++) {
		struct chunk *ch = find(c, owner, k);

		ok = ch && k * chunk + ch->len >= MIN(end, (k + 1) * chunk);
	}
	for (uint64_t k = off / chunk; ok && k * chunk < end; k++) {
		struct chunk *ch = find(c, owner, k);
		uint64_t from = MAX(off, k * chunk);
		uint64_t to = MIN(end, k * chunk + ch->len);

		memcpy(out + (from - off), ch->data + (from - k * chunk),
		       to - from);
		g_queue_unlink(&c->lru, &ch->link);
		g_queue_push_head_link(&c->lru, &ch->link);
	}
	if (ok)
		c->st.hits++;
	g_mutex_unlock(&c->lock);
	return ok;
}

void lfs_span_cache_forget(struct lfs_span_cache *c, const void *owner)
{
	GList *l, *next;

	g_mutex_lock(&c->lock);
	for (l = c->lru.head; l; l = next) {
		struct chunk *ch = l->data;

		next = l->next;
		if (ch->owner == owner)
			drop(c, ch);
	}
	g_mutex_unlock(&c->lock);
}

void lfs_span_cache_stats(struct lfs_span_cache *c,
			  struct lfs_span_cache_stats *st)
{
	g_mutex_lock(&c->lock);
	*st = c->st;
	g_mutex_unlock(&c->lock);
}
