/* The index builder: records members, markers and whiteouts as a scanner
 * finds them, and applies one layer's changeset rules (see index.h), the
 * last of them once every member is in (lfs_index_settle).  It holds a
 * whole layer in memory, so its records are small and arena-allocated. */
#include <errno.h>
#include <string.h>

#include "layerfs/index.h"
#include "layerfs/path.h"
#include "layerfs/whiteout.h"

#include "index_internal.h"

/* Blocks of the arena; an allocation larger than a block gets its own. */
#define ARENA_BLOCK (1u << 20)

/* Symlinks one walk may follow, as many as the kernel would (MAXSYMLINKS):
 * a loop, or a chain longer than that, ends the following there. */
#define MAX_SYMLINK_HOPS 40
/* Components all the walks of one layer may take inside symlink targets.
 * Forty hops through 4 KiB targets is 80,000 steps for one member: a
 * hostile layer of such members could keep the index pass busy for hours.
 * Real layers take a few steps per symlinked member; past this budget
 * (seconds of work) symlinks are no longer followed and what is below
 * them is dropped with a warning. */
#define SYMLINK_STEP_BUDGET (1u << 26)

static void arena_init(struct arena *a)
{
	a->blocks = g_ptr_array_new_with_free_func(g_free);
	a->next = NULL;
	a->left = 0;
}

static void arena_clear(struct arena *a)
{
	g_clear_pointer(&a->blocks, g_ptr_array_unref);
}

/* @size bytes, 8-aligned, zeroed; they live until arena_clear(). */
static void *arena_alloc(struct arena *a, size_t size)
{
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (size > ARENA_BLOCK / 4) {
		p = g_malloc0(size);
		g_ptr_array_add(a->blocks, p);
		return p;
	}
	if (size > a->left) {
		a->next = g_malloc(ARENA_BLOCK);
		a->left = ARENA_BLOCK;
		g_ptr_array_add(a->blocks, a->next);
	}
	p = a->next;
	a->next += size;
	a->left -= size;
	return memset(p, 0, size);
}

static void *arena_dup(struct arena *a, const void *src, size_t len)
{
	return len ? memcpy(arena_alloc(a, len), src, len) : NULL;
}

static char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	memcpy(p, s, len);
	return p;
}

static guint brec_hash(gconstpointer p)
{
	const struct brec *r = p;

	return g_str_hash(r->name) ^ g_direct_hash(r->parent);
}

static gboolean brec_equal(gconstpointer pa, gconstpointer pb)
{
	const struct brec *a = pa, *b = pb;

	return a->parent == b->parent && a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0;
}

/* Forget a record's data (a later member replaces it); the bytes stay in
 * the arena, counted against the budget once. */
static void brec_clear_data(struct brec *r)
{
	r->target = NULL;
	r->xattrs = NULL;
	r->nxattrs = 0;
	r->extents = NULL;
	r->nextents = 0;
	r->sparse = false;
}

struct lfs_index_builder *lfs_index_builder_new(void)
{
	struct lfs_index_builder *b = g_new0(struct lfs_index_builder, 1);

	arena_init(&b->arena);
	b->recs = g_hash_table_new(brec_hash, brec_equal);
	b->links = g_hash_table_new_full(NULL, NULL, NULL,
					 (GDestroyNotify)g_ptr_array_unref);
	b->root = arena_alloc(&b->arena, sizeof(*b->root));
	b->root->name = "";
	g_hash_table_add(b->recs, b->root);
	b->max_entries = LFS_INDEX_MAX_ENTRIES;
	b->max_bytes = LFS_INDEX_MAX_BYTES;
	b->link_steps = SYMLINK_STEP_BUDGET;
	return b;
}

void lfs_index_builder_set_limits(struct lfs_index_builder *b,
				  uint32_t max_entries, uint64_t max_bytes)
{
	b->max_entries = MIN(max_entries, LFS_INDEX_MAX_ENTRIES);
	b->max_bytes = MIN(max_bytes, (uint64_t)LFS_INDEX_MAX_BYTES);
}

void lfs_index_builder_set_link_steps(struct lfs_index_builder *b,
				      uint32_t steps)
{
	b->link_steps = MIN(steps, SYMLINK_STEP_BUDGET);
}

void lfs_index_builder_free(struct lfs_index_builder *b)
{
	if (!b)
		return;
	g_hash_table_unref(b->recs);
	g_hash_table_unref(b->links);
	arena_clear(&b->arena);
	g_free(b);
}

uint64_t lfs_index_builder_members(const struct lfs_index_builder *b)
{
	return b->nentries;
}

const char *lfs_index_builder_error(const struct lfs_index_builder *b)
{
	return b->limit ? b->limit : "no limit reached";
}

/* Account for @n more bytes; -E2BIG past the budget. */
static int charge(struct lfs_index_builder *b, uint64_t n)
{
	b->bytes += n;
	if (b->bytes <= b->max_bytes)
		return 0;
	b->limit = "too many bytes of names, link targets and xattrs";
	return -E2BIG;
}

/* Child @name (@len bytes) of @parent, made when @create. */
static struct brec *child(struct lfs_index_builder *b, struct brec *parent,
			  const char *name, size_t len, bool create, int *err)
{
	char buf[LFS_NAME_MAX + 1];
	struct brec key = { .parent = parent, .name = buf };
	struct brec *r;

	len = MIN(len, (size_t)LFS_NAME_MAX);
	memcpy(buf, name, len);
	buf[len] = '\0';
	key.name_len = (uint16_t)len;
	r = g_hash_table_lookup(b->recs, &key);
	if (r || !create)
		return r;
	if (g_hash_table_size(b->recs) >= b->max_entries) {
		b->limit = "too many entries (implicit directories included)";
		*err = -E2BIG;
		return NULL;
	}
	*err = charge(b, len + 1);
	if (*err < 0)
		return NULL;
	r = arena_alloc(&b->arena, sizeof(*r));
	r->parent = parent;
	r->name = arena_strndup(&b->arena, buf, len);
	r->name_len = (uint16_t)len;
	r->next_sibling = parent->first_child;
	parent->first_child = r;
	g_hash_table_add(b->recs, r);
	return r;
}

enum walk_mode {
	WALK_FIND,   /* nothing is created */
	WALK_MARKER, /* missing records are created as placeholders */
	WALK_MEMBER, /* and the parents of a member become directories */
};

/* One walk through the records. */
struct walker {
	struct lfs_index_builder *b;
	enum walk_mode mode;
	unsigned hops; /* symlinks followed so far */
	int err;
};

static struct brec *walk_from(struct walker *w, struct brec *cur,
			      const char *path, size_t len, bool follow_last);

/* Where symlink @r leads, as extraction resolves a member's parent
 * (umoci and containerd: securejoin): the target is walked from the link's
 * directory, or from the root when absolute; ".." stops at the root, so
 * nothing leads out of the tree; missing directories on the way are made
 * as extraction's MkdirAll makes them.  A record that is not a symlink is
 * its own answer, and so is a symlink past MAX_SYMLINK_HOPS or with an
 * empty target: members below it are then dropped by finish(). */
static struct brec *follow(struct walker *w, struct brec *r)
{
	struct brec *from;

	if (r->type != LFS_T_LNK || !r->target || !*r->target ||
	    w->hops >= MAX_SYMLINK_HOPS || w->b->link_steps == 0)
		return r;
	w->hops++;
	from = r->target[0] == '/' || !r->parent ? w->b->root : r->parent;
	return walk_from(w, from, r->target, strlen(r->target), true);
}

/* Step from @cur through the @len bytes of @path.  Every component but
 * the last leads to a directory: a symlink there is followed, and in
 * WALK_MEMBER a new record there becomes an implicit directory; with
 * @follow_last the last one too (a symlink's target names a directory).
 * Member paths are canonical; "", "." and ".." come only from targets. */
static struct brec *walk_from(struct walker *w, struct brec *cur,
			      const char *path, size_t len, bool follow_last)
{
	const char *end = path + len;

	while (path < end && cur) {
		const char *slash = memchr(path, '/', (size_t)(end - path));
		size_t n = slash ? (size_t)(slash - path) : (size_t)(end - path);
		bool dir = slash || follow_last;

		if (w->hops && w->b->link_steps)
			w->b->link_steps--;
		if (n == 2 && path[0] == '.' && path[1] == '.') {
			cur = cur->parent ? cur->parent : cur;
		} else if (n > 0 && !(n == 1 && path[0] == '.')) {
			cur = child(w->b, cur, path, n, w->mode != WALK_FIND,
				    &w->err);
			if (cur && dir)
				cur = follow(w, cur);
			if (cur && dir && w->mode == WALK_MEMBER && !cur->type) {
				cur->type = LFS_T_DIR;
				cur->implicit = true;
			}
		}
		path += n + (slash != NULL);
	}
	return cur;
}

/* The record for canonical @path, its parents resolved through the
 * layer's own symlinks (and the last component too when @follow_final).
 * Returns NULL when it does not exist (WALK_FIND) or a limit was reached
 * (*err = -E2BIG). */
static struct brec *walk(struct lfs_index_builder *b, const char *path,
			 enum walk_mode mode, bool follow_final, int *err)
{
	struct walker w = { b, mode, 0, 0 };
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	struct brec *cur = b->root;

	if (mode == WALK_MEMBER && dlen > 0 && b->last_dir_rec &&
	    dlen == b->last_dir_len && memcmp(path, b->last_dir, dlen) == 0) {
		cur = b->last_dir_rec;
	} else if (dlen > 0) {
		cur = walk_from(&w, b->root, path, dlen, true);
		/* Members come grouped by directory: remember where this
		 * one's parent resolved to (lfs_index_builder_add forgets it). */
		if (mode == WALK_MEMBER && cur && dlen <= LFS_PATH_MAX) {
			memcpy(b->last_dir, path, dlen);
			b->last_dir_len = dlen;
			b->last_dir_rec = cur;
		}
	}
	if (cur && *base) {
		cur = child(b, cur, base, strlen(base), mode != WALK_FIND,
			    &w.err);
		if (cur && follow_final)
			cur = follow(&w, cur);
	}
	*err = w.err;
	return cur;
}

static struct brec *lookup(struct lfs_index_builder *b, const char *path)
{
	int err;

	return walk(b, path, WALK_FIND, false, &err);
}

static void copy_xattrs(struct arena *a, struct brec *r,
			const struct lfs_scan_entry *e)
{
	r->xattrs = arena_alloc(a, e->nxattrs * sizeof(*r->xattrs));
	r->nxattrs = (uint32_t)e->nxattrs;
	for (size_t i = 0; i < e->nxattrs; i++) {
		const struct lfs_scan_xattr *x = &e->xattrs[i];

		r->xattrs[i].name = arena_strndup(a, x->name, strlen(x->name));
		r->xattrs[i].value = arena_dup(a, x->value, x->len);
		r->xattrs[i].len = (uint32_t)x->len;
	}
}

/* Bytes @e will hold in the index's string table and extent list. */
static uint64_t entry_bytes(const struct lfs_scan_entry *e)
{
	uint64_t n = e->target ? strlen(e->target) + 1 : 0;

	for (size_t i = 0; i < e->nxattrs; i++)
		n += strlen(e->xattrs[i].name) + 1 + e->xattrs[i].len;
	return n + e->nextents * sizeof(struct lfs_index_extent);
}

/* Whether @r holds an object a hardlink can name (data, a symlink, a
 * device): a member of this layer that is no directory or link. */
static bool holds_object(const struct brec *r)
{
	return r->member && !r->dropped && r->type != LFS_T_DIR &&
	       r->type != LFS_T_HARDLINK && r->type != LFS_T_WHITEOUT;
}

/* Hardlink @r, about to be replaced, no longer names what it did. */
static void unlink_link(struct lfs_index_builder *b, struct brec *r)
{
	GPtrArray *l;

	if (!r->link_to)
		return;
	l = g_hash_table_lookup(b->links, r->link_to);
	if (l)
		g_ptr_array_remove(l, r);
	r->link_to = NULL;
}

/* @r, whose object hardlinks that came after it name, is about to be
 * replaced by a later member: as extraction in order leaves it, the links
 * keep the object (its inode, data and mode).  The first link takes it
 * over, and the others name that link. */
static void take_over(struct lfs_index_builder *b, struct brec *r)
{
	GPtrArray *l = g_hash_table_lookup(b->links, r);
	struct brec *h;

	if (!l || l->len == 0) {
		g_hash_table_remove(b->links, r);
		return;
	}
	h = l->pdata[0];
	h->type = r->type;
	h->mode = r->mode;
	h->uid = r->uid;
	h->gid = r->gid;
	h->mtime_sec = r->mtime_sec;
	h->mtime_nsec = r->mtime_nsec;
	h->size = r->size;
	h->data = r->data;
	h->rdev = r->rdev;
	h->target = r->target;
	h->xattrs = r->xattrs;
	h->nxattrs = r->nxattrs;
	h->extents = r->extents;
	h->nextents = r->nextents;
	h->sparse = r->sparse;
	h->link_to = NULL;
	g_ptr_array_remove_index(l, 0);
	for (guint i = 0; i < l->len; i++) {
		struct brec *o = l->pdata[i];

		o->target = h->link_path;
		o->link_to = h;
	}
	/* The list moves to its new holder. */
	g_hash_table_steal(b->links, r);
	if (l->len)
		g_hash_table_insert(b->links, h, l);
	else
		g_ptr_array_unref(l);
}

/* Hardlink @r (at @path) just came: if what it names holds an object in
 * this layer now, through any links, note it, so that a later member
 * replacing that name leaves the link its object. */
static void note_link(struct lfs_index_builder *b, struct brec *r,
		      const char *path)
{
	const char *p = r->target;
	struct brec *t = p && *p ? lookup(b, p) : NULL;
	GPtrArray *l;

	for (int hop = 0; t && t->type == LFS_T_HARDLINK && hop < 64; hop++) {
		p = t->target;
		t = p && *p ? lookup(b, p) : NULL;
	}
	if (!t || !holds_object(t))
		return;
	r->target = p;
	r->link_to = t;
	r->link_path = arena_strndup(&b->arena, path, strlen(path));
	l = g_hash_table_lookup(b->links, t);
	if (!l) {
		l = g_ptr_array_new();
		g_hash_table_insert(b->links, t, l);
	}
	g_ptr_array_add(l, r);
}

int lfs_index_builder_add(struct lfs_index_builder *b, const char *path,
			  const struct lfs_scan_entry *e)
{
	int err;
	struct brec *r = walk(b, path, WALK_MEMBER, false, &err);

	if (!r)
		return err;
	err = charge(b, entry_bytes(e));
	if (err < 0)
		return err;
	if (r->member && r->type == LFS_T_HARDLINK)
		unlink_link(b, r);
	else if (r->member && g_hash_table_size(b->links))
		take_over(b, r);
	/* A symlink made or replaced can move where a remembered
	 * directory path resolves to. */
	if (r->type == LFS_T_LNK || e->type == LFS_T_LNK)
		b->last_dir_rec = NULL;
	brec_clear_data(r);
	r->type = (uint8_t)e->type;
	r->member = true;
	r->implicit = false;
	r->mode = e->mode & 07777;
	r->uid = e->uid;
	r->gid = e->gid;
	r->mtime_sec = e->mtime_sec;
	r->mtime_nsec = e->mtime_nsec;
	r->size = e->size;
	r->data = e->data;
	r->rdev = e->rdev;
	if (e->target)
		r->target = arena_strndup(&b->arena, e->target,
					  strlen(e->target));
	if (e->nxattrs)
		copy_xattrs(&b->arena, r, e);
	if (e->sparse) {
		/* Possibly empty: a sparse file may hold no data at all. */
		r->sparse = true;
		r->extents = arena_dup(&b->arena, e->extents,
				       e->nextents * sizeof(*e->extents));
		r->nextents = (uint32_t)e->nextents;
	}
	if (e->type == LFS_T_HARDLINK)
		note_link(b, r, path);
	b->nentries++;
	return 0;
}

int lfs_index_builder_whiteout(struct lfs_index_builder *b, const char *path)
{
	int err;
	struct brec *r = walk(b, path, WALK_MARKER, false, &err);

	if (!r)
		return err;
	r->whiteout = true;
	b->nwhiteouts++;
	return 0;
}

int lfs_index_builder_opaque(struct lfs_index_builder *b, const char *dir)
{
	int err;
	/* The marker's directory is resolved whole, as extraction resolves
	 * the directory it empties. */
	struct brec *r = walk(b, dir, WALK_MARKER, true, &err);

	if (!r)
		return err;
	r->opaque = true;
	b->nwhiteouts++;
	return 0;
}

int lfs_index_builder_marker(struct lfs_index_builder *b, const char *path,
			     enum lfs_wh_kind *kind)
{
	const char *base, *name = NULL;
	size_t plen = lfs_path_split(path, &base);
	g_autofree char *parent = NULL;
	g_autofree char *deleted = NULL;

	*kind = lfs_whiteout_classify(base, &name);
	/* Most members are no markers: nothing to copy for them. */
	if (*kind == LFS_WH_OPAQUE || *kind == LFS_WH_DELETE)
		parent = g_strndup(path, plen);
	switch (*kind) {
	case LFS_WH_OPAQUE:
		return lfs_index_builder_opaque(b, parent);
	case LFS_WH_DELETE:
		deleted = plen ? g_strdup_printf("%s/%s", parent, name)
			       : g_strdup(name);
		return lfs_index_builder_whiteout(b, deleted);
	case LFS_WH_NONE:
	case LFS_WH_META:
	case LFS_WH_INVALID:
		break;
	}
	return 0;
}

/* ---- settling, the first half of finish() --------------------------- */

/* Canonical path of a record, for messages. */
static char *brec_path(const struct brec *r)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new();
	GString *s = g_string_new(NULL);

	for (; r && r->parent; r = r->parent)
		g_ptr_array_add(parts, (char *)r->name);
	for (guint k = parts->len; k > 0; k--)
		g_string_append_printf(s, "%s%s", k == parts->len ? "" : "/",
				       (const char *)parts->pdata[k - 1]);
	return g_string_free(s, FALSE);
}

/* What records without a member of their own mean: the root is always a
 * directory; a whited-out name is a whiteout; anything else named only by
 * markers (a parent of markers, an opaque marker's directory) is a
 * transparent directory. */
static void settle(struct lfs_index_builder *b, GPtrArray *all)
{
	struct brec *root = b->root;

	if (root->type != LFS_T_DIR) {
		/* "./" as a file is nonsense no extraction could apply. */
		brec_clear_data(root);
		root->type = LFS_T_DIR;
		root->implicit = true;
		root->member = false;
	}
	for (guint i = 0; i < all->len; i++) {
		struct brec *r = all->pdata[i];

		if (r->type)
			continue;
		if (r->whiteout) {
			r->type = LFS_T_WHITEOUT;
		} else {
			r->type = LFS_T_DIR;
			r->implicit = true;
			r->transparent = true;
		}
	}
}

/* Every record, parents before children (breadth first from the root:
 * each one was made as a child of its parent). */
static GPtrArray *all_records(struct lfs_index_builder *b)
{
	GPtrArray *all = g_ptr_array_sized_new(g_hash_table_size(b->recs));

	g_ptr_array_add(all, b->root);
	for (guint i = 0; i < all->len; i++) {
		const struct brec *r = all->pdata[i];

		for (struct brec *c = r->first_child; c; c = c->next_sibling)
			g_ptr_array_add(all, c);
	}
	return all;
}

/* Leave out a member that cannot be applied; a whiteout of its name in
 * the same layer still stands. */
static void drop(struct brec *r)
{
	if (r->whiteout) {
		brec_clear_data(r);
		r->type = LFS_T_WHITEOUT;
	} else {
		r->dropped = true;
	}
}

/* Warnings finish() may print for one layer; the rest are counted. */
#define MAX_WARNINGS 100

struct warner {
	const struct lfs_logger *lg;
	const char *layer;
	unsigned long n;
};

static void warn_member(struct warner *w, const struct brec *r,
			const char *what, const char *why)
{
	g_autofree char *path = NULL;

	if (++w->n > MAX_WARNINGS)
		return;
	path = brec_path(r);
	lfs_warn(w->lg, "%s: %s \"%s\" skipped: %s", w->layer, what, path, why);
}

/* Why the children of @p cannot stand: @p, or the nearest ancestor
 * that was dropped for it, is no directory.  walk() follows every
 * symlink it can: the ones left loop, lead nowhere, or came past the
 * layer's budget of steps. */
static const char *orphan_reason(const struct brec *p)
{
	const struct brec *q = p;

	while (q->type == LFS_T_DIR && q->parent)
		q = q->parent;
	if (q->type == LFS_T_LNK)
		return q == p ? "its parent is a symbolic link that cannot be "
				"followed (a loop, an empty target, or too "
				"many steps)"
			      : "a parent of it is a symbolic link that "
				"cannot be followed (a loop, an empty target, "
				"or too many steps)";
	return q == p ? "its parent is not a directory in this layer"
		      : "a parent of it is not a directory in this layer";
}

/* Children of a non-directory (a layer holding both "a" and "a/b", which
 * no extraction can make) go, with their subtrees; each member among them
 * is named.  @all has parents first. */
static void drop_orphans(GPtrArray *all, struct warner *w)
{
	for (guint i = 1; i < all->len; i++) {
		struct brec *r = all->pdata[i];
		const struct brec *p = r->parent;

		if (!p->dropped && p->type == LFS_T_DIR)
			continue;
		r->dropped = true;
		if (r->member)
			warn_member(w, r, "entry", orphan_reason(p));
	}
}

/* Follow hardlink @r inside the layer: to the record holding the data, or
 * to the path (of the last link in the chain) that lies in a lower layer.
 * Returns NULL, or why the link cannot be made. */
static const char *follow_link(struct lfs_index_builder *b, struct brec *r)
{
	struct brec *cur = r;

	for (int hop = 0; hop < 64; hop++) {
		struct brec *t;

		if (!cur->target || !*cur->target)
			return "has no target";
		t = lookup(b, cur->target);
		if (!t || t->dropped || t->type == LFS_T_WHITEOUT ||
		    t->transparent) {
			r->link_xpath = cur->target;
			return NULL;
		}
		if (t->type == LFS_T_DIR)
			return "links to a directory";
		if (t->type != LFS_T_HARDLINK) {
			r->link_data = t;
			return NULL;
		}
		cur = t;
	}
	return "is part of a hardlink loop";
}

/* Resolve every hardlink once.  All are judged before any is dropped, so
 * the two ends of a loop are judged alike. */
static void resolve_links(struct lfs_index_builder *b, GPtrArray *all,
			  struct warner *w)
{
	g_autoptr(GPtrArray) bad = g_ptr_array_new();

	for (guint i = 0; i < all->len; i++) {
		struct brec *r = all->pdata[i];
		const char *why;

		if (r->dropped || r->type != LFS_T_HARDLINK)
			continue;
		why = follow_link(b, r);
		if (why) {
			g_autofree char *msg = g_strdup_printf("it %s", why);

			warn_member(w, r, "hardlink", msg);
			g_ptr_array_add(bad, r);
		}
	}
	for (guint i = 0; i < bad->len; i++)
		drop(bad->pdata[i]);
}

guint lfs_index_settle(struct lfs_index_builder *b,
		       const struct lfs_logger *lg, const char *layer)
{
	g_autoptr(GPtrArray) all = all_records(b);
	struct warner w = { lg, layer, 0 };

	settle(b, all);
	drop_orphans(all, &w);
	resolve_links(b, all, &w);
	if (w.n > MAX_WARNINGS)
		lfs_warn(lg, "%s: %lu more warnings not shown", layer,
			 w.n - MAX_WARNINGS);
	return all->len;
}
