/* Merged listings of the writable namespace (cf. overlayfs readdir.c):
 * the upper directory's entries, whiteouts left out and the names they
 * hide remembered, then the lower directory's (unless the upper is
 * opaque), each name once, the upper's first.
 *
 * Offsets.  The kernel reads a big directory in several READDIR calls,
 * handing back the offset of the last entry it took, and entries may be
 * added or removed in between.  An offset that is a position would then
 * skip or repeat entries; here it is the entry's cookie, a keyed hash of
 * its name, and a listing is sorted by cookie, so "after offset X" means
 * the same entries however the directory changed: every entry present
 * throughout is returned once.  The key is random per mount, so nobody
 * can make two names collide on purpose; an accidental collision gets
 * the next free value.
 *
 * Listings are cached per directory node until the directory changes,
 * least recently used out first past the cache's budget. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "overlay_internal.h"

size_t lfs_olist_bytes(const struct lfs_olist *l)
{
	/* Names are counted roughly: a pointer and 16 bytes each. */
	return sizeof(*l) + (size_t)l->n * (sizeof(l->ents[0]) + 16);
}

void lfs_olist_unref(struct lfs_olist *l)
{
	if (l && g_atomic_int_dec_and_test(&l->refs)) {
		g_string_chunk_free(l->names);
		g_free(l);
	}
}

/* Cookies fill [LFS_OLIST_FIRST_COOKIE, 2^62]: off_t is signed, and the
 * kernel hands offsets back as they were given. */
static uint64_t cookie(const struct lfs_ovl *ov, const char *name)
{
	uint64_t h = XXH3_64bits_withSeed(name, strlen(name), ov->seed);

	return LFS_OLIST_FIRST_COOKIE + (h >> 2);
}

struct builder {
	struct lfs_ovl *ov;
	GArray *ents;	   /* struct lfs_odirent */
	GStringChunk *names;
	GHashTable *taken; /* names listed or whited out */
};

/* List @name, a copy the listing owns. */
static void push(struct builder *b, const char *name, uint32_t type,
		 uint64_t ino)
{
	struct lfs_odirent e;

	e.name = name;
	e.type = type;
	e.ino = ino;
	e.cookie = cookie(b->ov, name);
	g_array_append_val(b->ents, e);
}

/* List an upper entry; it hides the same name below. */
static void add(struct builder *b, const char *name, uint32_t type,
		uint64_t ino)
{
	const char *copy = g_string_chunk_insert(b->names, name);

	g_hash_table_add(b->taken, (gpointer)copy);
	push(b, copy, type, ino);
}

/* The upper directory's part: each entry resolved as a lookup would
 * (whiteouts, the numbers of copied-up and merged objects). */
static int add_upper(struct builder *b, struct lfs_onode *dir, int fd)
{
	g_autoptr(GArray) ents = NULL;
	int err = lfs_live_list(fd, &ents);

	if (err)
		return err;
	for (guint i = 0; i < ents->len; i++) {
		struct lfs_live_dirent *d = &g_array_index(
			ents, struct lfs_live_dirent, i);
		struct lfs_ovl_res res;

		err = lfs_ovl_resolve(b->ov, dir, d->name, &res);
		if (err == -ENOENT) {
			/* A whiteout: it hides the name below. */
			g_hash_table_add(b->taken,
					 g_string_chunk_insert(b->names,
							       d->name));
			continue;
		}
		if (err) {
			/* One entry that cannot be looked up (its marks are
			 * unreadable, said by the lookup) is listed as the
			 * upper has it, as overlayfs lists it: the rest of
			 * the directory must stay reachable, and removable. */
			add(b, d->name, DTTOIF(d->d_type),
			    LFS_UPPER_INO_BIT | d->d_ino);
			continue;
		}
		add(b, d->name, res.type, res.ino);
		lfs_ovl_res_clear(&res);
	}
	return 0;
}

static int add_lower(struct builder *b, uint64_t lower)
{
	struct lfs_dirlist *l;
	int err = lfs_tree_dirlist(b->ov->lower, lower, &l);

	if (err)
		return err;
	/* The lower listing has each name once: only the upper's names
	 * need looking up, and none at all where the upper has none (most
	 * directories of a writable mount). */
	bool shadowed = g_hash_table_size(b->taken) > 0;

	for (uint32_t i = 0; i < l->n; i++) {
		const struct lfs_mdirent *m = &l->ents[i];
		const char *name = g_string_chunk_insert_len(
			b->names, m->name, (gssize)m->name_len);

		if (!shadowed || !g_hash_table_contains(b->taken, name))
			push(b, name, m->type, m->ino);
	}
	lfs_dirlist_unref(l);
	return 0;
}

static gint by_cookie(gconstpointer pa, gconstpointer pb)
{
	const struct lfs_odirent *a = pa, *b = pb;

	if (a->cookie != b->cookie)
		return a->cookie < b->cookie ? -1 : 1;
	return strcmp(a->name, b->name);
}

static struct lfs_olist *finish(struct builder *b)
{
	struct lfs_olist *l;

	g_array_sort(b->ents, by_cookie);
	/* Equal cookies (a one in 2^62 chance per pair): the later name
	 * takes the next value, keeping the order. */
	for (guint i = 1; i < b->ents->len; i++) {
		struct lfs_odirent *prev = &g_array_index(
			b->ents, struct lfs_odirent, i - 1);
		struct lfs_odirent *e = &g_array_index(b->ents,
						       struct lfs_odirent, i);

		if (e->cookie <= prev->cookie)
			e->cookie = prev->cookie + 1;
	}
	l = g_malloc(sizeof(*l) + b->ents->len * sizeof(l->ents[0]));
	l->refs = 1;
	l->n = b->ents->len;
	l->nsubdirs = 0;
	l->names = g_steal_pointer(&b->names);
	if (l->n)
		memcpy(l->ents, b->ents->data, l->n * sizeof(l->ents[0]));
	for (uint32_t i = 0; i < l->n; i++)
		l->nsubdirs += l->ents[i].type == S_IFDIR;
	return l;
}

static int build(struct lfs_ovl *ov, struct lfs_onode *dir,
		 struct lfs_olist **out)
{
	struct builder b = { ov, NULL, NULL, NULL };
	struct ovl_state s;
	int err = 0;

	g_mutex_lock(&dir->lock);
	s.upper = dir->upper;
	s.lower = dir->lower;
	s.opaque = dir->opaque;
	g_mutex_unlock(&dir->lock);
	b.ents = g_array_new(FALSE, FALSE, sizeof(struct lfs_odirent));
	b.names = g_string_chunk_new(4096);
	b.taken = g_hash_table_new(g_str_hash, g_str_equal);
	if (s.upper) {
		int fd = lfs_ovl_dirfd(ov, dir);

		err = fd < 0 ? fd : add_upper(&b, dir, fd);
	}
	if (!err && s.lower && !s.opaque)
		err = add_lower(&b, s.lower);
	g_hash_table_unref(b.taken);
	if (!err)
		*out = finish(&b);
	if (b.names)
		g_string_chunk_free(b.names);
	g_array_unref(b.ents);
	return err;
}

/* Drop least recently used listings until the cache fits, never @keep's
 * (lock held); they go on *victims, to be freed outside the lock. */
static void evict(struct lfs_ovl *ov, struct lfs_onode *keep,
		  GSList **victims)
{
	while (ov->list_bytes > ov->budget) {
		GList *link = g_queue_peek_tail_link(&ov->lru);
		struct lfs_onode *n = link->data;

		if (n == keep)
			break;
		g_queue_unlink(&ov->lru, link);
		ov->list_bytes -= lfs_olist_bytes(n->list);
		*victims = g_slist_prepend(*victims, g_steal_pointer(&n->list));
	}
}

int lfs_ovl_dirlist(struct lfs_ovl *ov, struct lfs_onode *dir,
		    struct lfs_olist **out)
{
	struct lfs_olist *l;
	GSList *victims = NULL;
	uint64_t gen;
	int err;

	if (dir->type != S_IFDIR)
		return -ENOTDIR;
	g_mutex_lock(&ov->lock);
	gen = dir->list_gen;
	l = dir->list;
	if (l) {
		g_atomic_int_inc(&l->refs);
		g_queue_unlink(&ov->lru, &dir->lru);
		g_queue_push_head_link(&ov->lru, &dir->lru);
	}
	g_mutex_unlock(&ov->lock);
	if (l) {
		*out = l;
		return 0;
	}
	err = build(ov, dir, &l);
	if (err)
		return err;
	g_mutex_lock(&ov->lock);
	ov->listings++;
	/* Cache it only while the kernel holds the directory (a forgotten
	 * node is out of the table), if nobody cached one first and the
	 * directory did not change while it was built. */
	if (!dir->list && dir->list_gen == gen &&
	    g_hash_table_lookup(ov->by_id, &dir->id) == dir) {
		dir->list = l;
		g_atomic_int_inc(&l->refs);
		g_queue_push_head_link(&ov->lru, &dir->lru);
		ov->list_bytes += lfs_olist_bytes(l);
		evict(ov, dir, &victims);
	}
	g_mutex_unlock(&ov->lock);
	g_slist_free_full(victims, (GDestroyNotify)lfs_olist_unref);
	*out = l;
	return 0;
}

void lfs_ovl_dir_changed(struct lfs_ovl *ov, struct lfs_onode *dir)
{
	struct lfs_olist *l;

	g_mutex_lock(&ov->lock);
	dir->list_gen++;
	l = g_steal_pointer(&dir->list);
	if (l) {
		g_queue_unlink(&ov->lru, &dir->lru);
		ov->list_bytes -= lfs_olist_bytes(l);
	}
	g_mutex_unlock(&ov->lock);
	lfs_olist_unref(l);
}
