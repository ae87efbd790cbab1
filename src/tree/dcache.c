/* The directory cache: merged directories (chain and listing) by inode
 * number, least recently used first out once they take more memory than
 * the tree's budget.
 *
 * Eviction is always safe: a directory is rebuilt from its number alone
 * (the number names its topmost entry; that entry's path, resolved again
 * from the root, gives the same chain, the tree being read-only), so the
 * kernel's lookup counts need not pin anything.  A directory in use when
 * it is evicted stays alive until its last user puts it.
 *
 * The indexes themselves are mapped files: every lookup and listing
 * touches their pages, which would otherwise stay mapped into the daemon
 * for good after a walk over the whole tree.  Every TRIM_EVERY operations
 * those mappings are released (the pages stay in the page cache, where
 * the kernel can reclaim them, and come back with a minor fault). */
#include <errno.h>
#include <string.h>

#include "layerfs/index_file.h"
#include "tree_internal.h"

#define TRIM_EVERY 32768u

/* What a hash table slot and the allocator add to a directory, roughly. */
#define DNODE_OVERHEAD 64u

static size_t list_bytes(const struct lfs_dirlist *list)
{
	return sizeof(*list) + (size_t)list->n * sizeof(list->ents[0]);
}

static size_t dnode_bytes(const struct lfs_dnode *d)
{
	return sizeof(*d) + DNODE_OVERHEAD +
	       d->nchain * sizeof(struct lfs_ref) +
	       (d->list ? list_bytes(d->list) : 0);
}

static struct lfs_dnode *dnode_new(const struct lfs_resolution *res,
				   uint64_t ino, uint64_t parent)
{
	struct lfs_dnode *d = g_new0(struct lfs_dnode, 1);

	d->ino = ino;
	d->parent = parent;
	d->meta = res->meta;
	d->nchain = res->chain->len;
	d->ncontrib = res->ncontrib;
	d->chain = g_memdup2(res->chain->data,
			     sizeof(struct lfs_ref) * res->chain->len);
	d->refs = 1;
	d->lru.data = d;
	return d;
}

static void dnode_unref(struct lfs_dnode *d)
{
	if (!d || !g_atomic_int_dec_and_test(&d->refs))
		return;
	if (d->list)
		lfs_dirlist_unref(d->list);
	g_free(d->chain);
	g_free(d);
}

void lfs_dirlist_unref(struct lfs_dirlist *list)
{
	if (list && g_atomic_int_dec_and_test(&list->refs))
		g_free(list);
}

void lfs_dcache_init(struct lfs_tree *t, uint64_t budget)
{
	t->budget = budget ? budget : LFS_TREE_CACHE_DEFAULT;
	g_mutex_init(&t->lock);
	t->dirs = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_queue_init(&t->lru);
}

void lfs_dcache_clear(struct lfs_tree *t)
{
	GList *l;

	while ((l = g_queue_pop_head_link(&t->lru)) != NULL)
		dnode_unref(l->data);
	g_clear_pointer(&t->dirs, g_hash_table_unref);
	g_mutex_clear(&t->lock);
}

/* Most recently used first (called with the lock held). */
static void touch(struct lfs_tree *t, struct lfs_dnode *d)
{
	g_queue_unlink(&t->lru, &d->lru);
	g_queue_push_head_link(&t->lru, &d->lru);
}

/* Drop least recently used directories, never @keep, until the cache
 * fits; they go on *victims, to be put outside the lock. */
static void evict(struct lfs_tree *t, struct lfs_dnode *keep,
		  GSList **victims)
{
	while (t->st.bytes > t->budget) {
		GList *l = g_queue_peek_tail_link(&t->lru);
		struct lfs_dnode *d = l->data;

		if (d == keep)
			break;
		g_queue_unlink(&t->lru, l);
		g_hash_table_remove(t->dirs, &d->ino);
		d->cached = false;
		t->st.bytes -= d->bytes;
		t->st.dirs--;
		t->st.evictions++;
		*victims = g_slist_prepend(*victims, d);
	}
}

static void put_all(GSList *victims)
{
	g_slist_free_full(victims, (GDestroyNotify)dnode_unref);
}

/* The cached directory @ino with one more count, or NULL (lock held). */
static struct lfs_dnode *find(struct lfs_tree *t, uint64_t ino)
{
	struct lfs_dnode *d = g_hash_table_lookup(t->dirs, &ino);

	if (d) {
		g_atomic_int_inc(&d->refs);
		touch(t, d);
		t->st.hits++;
	}
	return d;
}

/* Cache @d (which has the caller's count), unless a racing thread cached
 * the same directory first: then that one is returned and @d dropped. */
static struct lfs_dnode *insert(struct lfs_tree *t, struct lfs_dnode *d)
{
	struct lfs_dnode *old;
	GSList *victims = NULL;

	g_mutex_lock(&t->lock);
	t->st.misses++;
	old = find(t, d->ino);
	if (!old) {
		g_atomic_int_inc(&d->refs); /* the cache's */
		d->cached = true;
		d->bytes = dnode_bytes(d);
		g_queue_push_head_link(&t->lru, &d->lru);
		g_hash_table_insert(t->dirs, &d->ino, d);
		t->st.bytes += d->bytes;
		t->st.dirs++;
		evict(t, d, &victims);
	}
	g_mutex_unlock(&t->lock);
	put_all(victims);
	if (old) {
		dnode_unref(d);
		return old;
	}
	return d;
}

/* The entry number @ino names, if it is one this tree could have given
 * out for a directory. */
static int dir_ref(const struct lfs_tree *t, uint64_t ino, struct lfs_ref *r)
{
	uint64_t hi = ino >> 32;
	const struct lfs_index *ix;

	if (hi == 0 || hi > t->nlayers)
		return -ESTALE;
	r->layer = (uint32_t)(hi - 1);
	r->entry = (uint32_t)ino;
	ix = tree_index(t, r->layer);
	if (r->entry >= ix->nentries)
		return -ESTALE;
	return lfs_index_get(ix, r->entry)->type == LFS_T_DIR ? 0 : -ENOTDIR;
}

/* Work directory @ino out again from its number alone. */
static int rebuild(struct lfs_tree *t, uint64_t ino,
		   struct lfs_resolution *res)
{
	g_autofree char *path = NULL;
	struct lfs_ref r;
	int err;

	if (ino == LFS_ROOT_INO)
		return lfs_resolve_path(t, t->nlayers, "", res);
	err = dir_ref(t, ino, &r);
	if (err < 0)
		return err;
	path = lfs_index_path(tree_index(t, r.layer), r.entry);
	err = lfs_resolve_path(t, t->nlayers, path, res);
	/* Only a number this tree gave out resolves back to itself. */
	if (err == 0 && (res->type != S_IFDIR ||
			 lfs_ref_pack(res->top) != lfs_ref_pack(r)))
		err = -ESTALE;
	return err < 0 ? -ESTALE : 0;
}

struct lfs_dnode *lfs_dir_get(struct lfs_tree *t, uint64_t ino, int *err)
{
	struct lfs_resolution res = { 0 };
	struct lfs_dnode *d;

	g_mutex_lock(&t->lock);
	d = find(t, ino);
	g_mutex_unlock(&t->lock);
	if (d)
		return d;
	*err = rebuild(t, ino, &res);
	if (*err == 0)
		d = insert(t, dnode_new(&res, ino,
					ino == LFS_ROOT_INO ? LFS_ROOT_INO
							    : 0));
	if (res.chain)
		g_array_unref(res.chain);
	return d;
}

struct lfs_dnode *lfs_dir_add(struct lfs_tree *t,
			      const struct lfs_resolution *res,
			      uint64_t parent)
{
	uint64_t ino = lfs_ref_ino(res->top);
	struct lfs_dnode *d;

	g_mutex_lock(&t->lock);
	d = find(t, ino);
	if (d && !d->parent)
		d->parent = parent;
	g_mutex_unlock(&t->lock);
	return d ? d : insert(t, dnode_new(res, ino, parent));
}

void lfs_dir_put(struct lfs_tree *t, struct lfs_dnode *d)
{
	(void)t;
	dnode_unref(d);
}

struct lfs_dirlist *lfs_dir_list(struct lfs_tree *t, struct lfs_dnode *d)
{
	struct lfs_dirlist *list;
	GSList *victims = NULL;

	g_mutex_lock(&t->lock);
	list = d->list;
	if (list)
		g_atomic_int_inc(&list->refs);
	g_mutex_unlock(&t->lock);
	if (list)
		return list;

	/* Built unlocked: two racing builders make the same list and the
	 * loser's is dropped. */
	list = lfs_dirlist_build(t, d);
	g_mutex_lock(&t->lock);
	t->st.listings++;
	if (d->list) {
		lfs_dirlist_unref(list);
		list = d->list;
	} else {
		d->list = list;
		if (d->cached) {
			size_t more = list_bytes(list);

			d->bytes += more;
			t->st.bytes += more;
			evict(t, d, &victims);
		}
	}
	g_atomic_int_inc(&list->refs);
	g_mutex_unlock(&t->lock);
	put_all(victims);
	return list;
}

void lfs_tree_tick(struct lfs_tree *t)
{
	bool trim;

	g_mutex_lock(&t->lock);
	trim = ++t->ops >= TRIM_EVERY;
	if (trim) {
		t->ops = 0;
		t->st.trims++;
	}
	g_mutex_unlock(&t->lock);
	if (!trim)
		return;
	for (uint32_t l = 0; l < t->nlayers; l++)
		lfs_index_file_release(tree_index(t, l));
}

void lfs_tree_stats(struct lfs_tree *t, struct lfs_tree_stats *st)
{
	g_mutex_lock(&t->lock);
	*st = t->st;
	g_mutex_unlock(&t->lock);
}
