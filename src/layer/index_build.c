/* The index builder: records members, markers and whiteouts as a scanner
 * finds them, and applies one layer's changeset rules (see index.h), the
 * last of them once every member is in (lfs_index_settle).  It holds the
 * tree of a whole layer, so what it keeps per path is small
 * (index_internal.h): members' attributes go to the member log. */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "layerfs/index.h"
#include "layerfs/path.h"
#include "layerfs/whiteout.h"

#include "index_internal.h"

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

/* Slots the hash table starts with; it doubles when 3/4 full. */
#define TABLE_MIN_SLOTS 1024u

/* ---- storage ------------------------------------------------------------ */

/* @len bytes of @p and a NUL, kept; returns their offset in @s.  A name
 * never straddles two blocks, so an offset is a block and a place in it. */
static uint32_t store_add(struct store *s, const char *p, size_t len)
{
	char *block;
	uint32_t off;

	if (s->blocks->len == 0 || s->used + len + 1 > STORE_BLOCK) {
		g_ptr_array_add(s->blocks, g_malloc(STORE_BLOCK));
		s->used = 0;
	}
	block = s->blocks->pdata[s->blocks->len - 1];
	memcpy(block + s->used, p, len);
	block[s->used + len] = '\0';
	off = ((s->blocks->len - 1) << STORE_BLOCK_SHIFT) | s->used;
	s->used += (uint32_t)len + 1;
	return off;
}

/* A copy of @len bytes of @s that lives as long as the builder. */
static char *keep(struct lfs_index_builder *b, const char *s, size_t len)
{
	char *p = g_strndup(s, len);

	g_ptr_array_add(b->extra_store, p);
	return p;
}

struct bextra *lfs_bextra(const struct lfs_index_builder *b, uint32_t id)
{
	if (!(bnode_at(b, id)->flags & BN_EXTRA))
		return NULL;
	return g_hash_table_lookup(b->extras, GUINT_TO_POINTER(id));
}

static struct bextra *extra_of(struct lfs_index_builder *b, uint32_t id)
{
	struct bextra *x = lfs_bextra(b, id);

	if (x)
		return x;
	x = g_new0(struct bextra, 1);
	x->link_to = BNONE;
	x->link_data = BNONE;
	g_ptr_array_add(b->extra_store, x);
	g_hash_table_insert(b->extras, GUINT_TO_POINTER(id), x);
	bnode_at(b, id)->flags |= BN_EXTRA;
	return x;
}

static uint32_t hash_of(uint32_t parent, const char *name, size_t len)
{
	return (uint32_t)XXH3_64bits_withSeed(name, len, parent);
}

static void table_put(struct lfs_index_builder *b, uint64_t slot)
{
	uint32_t i = (uint32_t)(slot >> 32) & b->table_mask;

	while (b->table[i])
		i = (i + 1) & b->table_mask;
	b->table[i] = slot;
}

static void table_grow(struct lfs_index_builder *b)
{
	uint64_t *old = b->table;
	uint32_t slots = b->table_mask + 1;

	b->table = g_new0(uint64_t, (gsize)slots * 2);
	b->table_mask = slots * 2 - 1;
	for (uint32_t i = 0; i < slots; i++)
		if (old[i])
			table_put(b, old[i]);
	g_free(old);
}

static uint32_t table_find(const struct lfs_index_builder *b,
			   uint32_t parent, const char *name, size_t len,
			   uint32_t hash)
{
	for (uint32_t i = hash & b->table_mask; b->table[i];
	     i = (i + 1) & b->table_mask) {
		uint64_t slot = b->table[i];
		uint32_t id = (uint32_t)slot - 1;
		const struct bnode *n;

		if ((uint32_t)(slot >> 32) != hash)
			continue;
		n = bnode_at(b, id);
		if (n->parent == parent && n->name_len == len &&
		    memcmp(bnode_name(b, n), name, len) == 0)
			return id;
	}
	return BNONE;
}

/* A new node @name (@len bytes) below @parent (BNONE: the root). */
static uint32_t node_new(struct lfs_index_builder *b, uint32_t parent,
			 const char *name, size_t len, uint32_t hash)
{
	uint32_t id = b->nnodes;
	struct bnode *n;

	if ((id & (NODE_CHUNK - 1)) == 0)
		g_ptr_array_add(b->chunks, g_new(struct bnode, NODE_CHUNK));
	b->nnodes++;
	n = bnode_at(b, id);
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->first_child = BNONE;
	n->next_sibling = BNONE;
	n->name = store_add(&b->names, name, len);
	n->name_len = (uint16_t)len;
	n->index = BNONE;
	if (parent != BNONE) {
		struct bnode *p = bnode_at(b, parent);

		n->next_sibling = p->first_child;
		p->first_child = id;
	}
	if ((uint64_t)b->nnodes * 4 > (uint64_t)(b->table_mask + 1) * 3)
		table_grow(b);
	table_put(b, (uint64_t)hash << 32 | (id + 1));
	return id;
}

/* ---- the builder -------------------------------------------------------- */

struct lfs_index_builder *lfs_index_builder_new(void)
{
	struct lfs_index_builder *b = g_new0(struct lfs_index_builder, 1);

	b->chunks = g_ptr_array_new_with_free_func(g_free);
	b->table = g_new0(uint64_t, TABLE_MIN_SLOTS);
	b->table_mask = TABLE_MIN_SLOTS - 1;
	b->names.blocks = g_ptr_array_new_with_free_func(g_free);
	b->extras = g_hash_table_new(NULL, NULL);
	b->extra_store = g_ptr_array_new_with_free_func(g_free);
	b->links = g_hash_table_new_full(NULL, NULL, NULL,
					 (GDestroyNotify)g_array_unref);
	b->log.fd = -1;
	b->spill_dirfd = -1;
	b->max_entries = LFS_INDEX_MAX_ENTRIES;
	b->max_bytes = LFS_INDEX_MAX_BYTES;
	b->link_steps = SYMLINK_STEP_BUDGET;
	b->last_dir_node = BNONE;
	node_new(b, BNONE, "", 0, hash_of(BNONE, "", 0));
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

void lfs_index_builder_set_spill(struct lfs_index_builder *b, int dirfd)
{
	b->spill_dirfd = dirfd;
}

void lfs_index_builder_free(struct lfs_index_builder *b)
{
	if (!b)
		return;
	g_ptr_array_unref(b->chunks);
	g_free(b->table);
	g_ptr_array_unref(b->names.blocks);
	g_hash_table_unref(b->extras);
	g_ptr_array_unref(b->extra_store);
	g_hash_table_unref(b->links);
	if (b->log.buf)
		lfs_mlog_close(&b->log);
	g_free(b->failure);
	g_free(b);
}

uint64_t lfs_index_builder_members(const struct lfs_index_builder *b)
{
	return b->nentries;
}

uint64_t lfs_index_builder_memory(const struct lfs_index_builder *b)
{
	uint64_t n = (uint64_t)b->chunks->len * NODE_CHUNK *
		     sizeof(struct bnode);

	n += (uint64_t)(b->table_mask + 1) * sizeof(b->table[0]);
	n += (uint64_t)b->names.blocks->len * STORE_BLOCK;
	/* Extras, their strings and their hash table, roughly. */
	n += (uint64_t)b->extra_store->len * 48;
	return n;
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
static uint32_t child(struct lfs_index_builder *b, uint32_t parent,
		      const char *name, size_t len, bool create, int *err)
{
	uint32_t hash, id;

	len = MIN(len, (size_t)LFS_NAME_MAX);
	hash = hash_of(parent, name, len);
	id = table_find(b, parent, name, len, hash);
	if (id != BNONE || !create)
		return id;
	if (b->nnodes >= b->max_entries) {
		b->limit = "too many entries (implicit directories included)";
		*err = -E2BIG;
		return BNONE;
	}
	*err = charge(b, len + 1);
	if (*err < 0)
		return BNONE;
	return node_new(b, parent, name, len, hash);
}

enum walk_mode {
	WALK_FIND,   /* nothing is created */
	WALK_MARKER, /* missing nodes are created as placeholders */
	WALK_MEMBER, /* and the parents of a member become directories */
};

/* One walk through the nodes. */
struct walker {
	struct lfs_index_builder *b;
	enum walk_mode mode;
	unsigned hops; /* symlinks followed so far */
	int err;
};

static uint32_t walk_from(struct walker *w, uint32_t cur, const char *path,
			  size_t len, bool follow_last);

/* Where symlink @id leads, as extraction resolves a member's parent
 * (umoci and containerd: securejoin): the target is walked from the link's
 * directory, or from the root when absolute; ".." stops at the root, so
 * nothing leads out of the tree; missing directories on the way are made
 * as extraction's MkdirAll makes them.  A node that is not a symlink is
 * its own answer, and so is a symlink past MAX_SYMLINK_HOPS or with an
 * empty target: members below it are then dropped by settling. */
static uint32_t follow(struct walker *w, uint32_t id)
{
	const struct bnode *n = bnode_at(w->b, id);
	const struct bextra *x;
	uint32_t from;

	if (n->type != LFS_T_LNK || w->hops >= MAX_SYMLINK_HOPS ||
	    w->b->link_steps == 0)
		return id;
	x = lfs_bextra(w->b, id);
	if (!x || !x->target || !*x->target)
		return id;
	w->hops++;
	from = x->target[0] == '/' || n->parent == BNONE ? LFS_INDEX_ROOT
							 : n->parent;
	return walk_from(w, from, x->target, strlen(x->target), true);
}

/* Step from @cur through the @len bytes of @path.  Every component but
 * the last leads to a directory: a symlink there is followed, and in
 * WALK_MEMBER a new node there becomes an implicit directory; with
 * @follow_last the last one too (a symlink's target names a directory).
 * Member paths are canonical; "", "." and ".." come only from targets. */
static uint32_t walk_from(struct walker *w, uint32_t cur, const char *path,
			  size_t len, bool follow_last)
{
	const char *end = path + len;

	while (path < end && cur != BNONE) {
		const char *slash = memchr(path, '/', (size_t)(end - path));
		size_t n = slash ? (size_t)(slash - path) : (size_t)(end - path);
		bool dir = slash || follow_last;

		if (w->hops && w->b->link_steps)
			w->b->link_steps--;
		if (n == 2 && path[0] == '.' && path[1] == '.') {
			uint32_t up = bnode_at(w->b, cur)->parent;

			cur = up != BNONE ? up : cur;
		} else if (n > 0 && !(n == 1 && path[0] == '.')) {
			cur = child(w->b, cur, path, n, w->mode != WALK_FIND,
				    &w->err);
			if (cur != BNONE && dir)
				cur = follow(w, cur);
			if (cur != BNONE && dir && w->mode == WALK_MEMBER) {
				struct bnode *c = bnode_at(w->b, cur);

				if (!c->type) {
					c->type = LFS_T_DIR;
					c->flags |= BN_IMPLICIT;
				}
			}
		}
		path += n + (slash != NULL);
	}
	return cur;
}

/* The node for canonical @path, its parents resolved through the layer's
 * own symlinks (and the last component too when @follow_final).  Returns
 * BNONE when it does not exist (WALK_FIND) or a limit was reached
 * (*err = -E2BIG). */
static uint32_t walk(struct lfs_index_builder *b, const char *path,
		     enum walk_mode mode, bool follow_final, int *err)
{
	struct walker w = { b, mode, 0, 0 };
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	uint32_t cur = LFS_INDEX_ROOT;

	if (mode == WALK_MEMBER && dlen > 0 && b->last_dir_node != BNONE &&
	    dlen == b->last_dir_len && memcmp(path, b->last_dir, dlen) == 0) {
		cur = b->last_dir_node;
	} else if (dlen > 0) {
		cur = walk_from(&w, LFS_INDEX_ROOT, path, dlen, true);
		/* Members come grouped by directory: remember where this
		 * one's parent resolved to (lfs_index_builder_add forgets it). */
		if (mode == WALK_MEMBER && cur != BNONE &&
		    dlen <= LFS_PATH_MAX) {
			memcpy(b->last_dir, path, dlen);
			b->last_dir_len = dlen;
			b->last_dir_node = cur;
		}
	}
	if (cur != BNONE && *base) {
		cur = child(b, cur, base, strlen(base), mode != WALK_FIND,
			    &w.err);
		if (cur != BNONE && follow_final)
			cur = follow(&w, cur);
	}
	*err = w.err;
	return cur;
}

static uint32_t lookup(struct lfs_index_builder *b, const char *path)
{
	int err;

	return walk(b, path, WALK_FIND, false, &err);
}

/* Bytes @e will hold in the index's string table and extent list. */
static uint64_t entry_bytes(const struct lfs_scan_entry *e)
{
	uint64_t n = e->target ? strlen(e->target) + 1 : 0;

	for (size_t i = 0; i < e->nxattrs; i++)
		n += strlen(e->xattrs[i].name) + 1 + e->xattrs[i].len;
	return n + e->nextents * sizeof(struct lfs_index_extent);
}

/* Forget what a node's member brought beyond its attributes (a later
 * member replaces it, or it is no longer what it was). */
static void clear_data(struct lfs_index_builder *b, uint32_t id)
{
	struct bextra *x = lfs_bextra(b, id);

	bnode_at(b, id)->flags |= BN_NODATA;
	if (x)
		x->target = NULL;
}

static const char *target_of(const struct lfs_index_builder *b, uint32_t id)
{
	const struct bextra *x = lfs_bextra(b, id);

	return x ? x->target : NULL;
}

/* Whether node @id holds an object a hardlink can name (data, a symlink,
 * a device): a member of this layer that is no directory or link. */
static bool holds_object(const struct lfs_index_builder *b, uint32_t id)
{
	const struct bnode *n = bnode_at(b, id);

	return (n->flags & BN_MEMBER) && !(n->flags & BN_DROPPED) &&
	       n->type != LFS_T_DIR && n->type != LFS_T_HARDLINK &&
	       n->type != LFS_T_WHITEOUT;
}

static void array_remove(GArray *a, uint32_t id)
{
	for (guint i = 0; i < a->len; i++) {
		if (g_array_index(a, uint32_t, i) == id) {
			g_array_remove_index(a, i);
			return;
		}
	}
}

/* Hardlink @id, about to be replaced, no longer names what it did. */
static void unlink_link(struct lfs_index_builder *b, uint32_t id)
{
	struct bextra *x = lfs_bextra(b, id);
	GArray *l;

	if (!x || x->link_to == BNONE)
		return;
	l = g_hash_table_lookup(b->links, GUINT_TO_POINTER(x->link_to));
	if (l)
		array_remove(l, id);
	x->link_to = BNONE;
}

/* @id, whose object hardlinks that came after it name, is about to be
 * replaced by a later member: as extraction in order leaves it, the links
 * keep the object (its inode, data and mode).  The first link takes it
 * over, and the others name that link. */
static void take_over(struct lfs_index_builder *b, uint32_t id)
{
	GArray *l = g_hash_table_lookup(b->links, GUINT_TO_POINTER(id));
	struct bnode *r = bnode_at(b, id);
	struct bnode *hn;
	struct bextra *hx;
	uint32_t h;

	if (!l || l->len == 0) {
		g_hash_table_remove(b->links, GUINT_TO_POINTER(id));
		return;
	}
	h = g_array_index(l, uint32_t, 0);
	hn = bnode_at(b, h);
	hx = extra_of(b, h);
	hn->type = r->type;
	hn->meta = r->meta;
	hn->flags = (uint8_t)((hn->flags & ~BN_NODATA) | (r->flags & BN_NODATA));
	hx->target = target_of(b, id);
	hx->link_to = BNONE;
	g_array_remove_index(l, 0);
	for (guint i = 0; i < l->len; i++) {
		struct bextra *o = extra_of(b, g_array_index(l, uint32_t, i));

		o->target = hx->link_path;
		o->link_to = h;
	}
	/* The list moves to its new holder. */
	g_hash_table_steal(b->links, GUINT_TO_POINTER(id));
	if (l->len)
		g_hash_table_insert(b->links, GUINT_TO_POINTER(h), l);
	else
		g_array_unref(l);
}

/* Hardlink @id (at @path) just came: if what it names holds an object in
 * this layer now, through any links, note it, so that a later member
 * replacing that name leaves the link its object. */
static void note_link(struct lfs_index_builder *b, uint32_t id,
		      const char *path)
{
	const char *p = target_of(b, id);
	uint32_t t = p && *p ? lookup(b, p) : BNONE;
	struct bextra *x;
	GArray *l;

	for (int hop = 0; t != BNONE && bnode_at(b, t)->type == LFS_T_HARDLINK &&
			  hop < 64;
	     hop++) {
		p = target_of(b, t);
		t = p && *p ? lookup(b, p) : BNONE;
	}
	if (t == BNONE || !holds_object(b, t))
		return;
	x = extra_of(b, id);
	x->target = p;
	x->link_to = t;
	x->link_path = keep(b, path, strlen(path));
	l = g_hash_table_lookup(b->links, GUINT_TO_POINTER(t));
	if (!l) {
		l = g_array_new(FALSE, FALSE, sizeof(uint32_t));
		g_hash_table_insert(b->links, GUINT_TO_POINTER(t), l);
	}
	g_array_append_val(l, id);
}

/* The member log failed (no memory for it, even after it moved there):
 * the layer cannot be indexed.  Said as a limit is, by the scanners. */
static int log_failed(struct lfs_index_builder *b, int err)
{
	g_free(b->failure);
	b->failure = g_strdup_printf("cannot keep the members' attributes "
				     "while indexing: %s",
				     g_strerror(-err));
	b->limit = b->failure;
	return err;
}

/* The member log, opened at the first member (after set_spill). */
static int log_ready(struct lfs_index_builder *b)
{
	int err;

	if (b->log.buf)
		return 0;
	err = lfs_mlog_open(&b->log, b->spill_dirfd);
	if (err < 0)
		return log_failed(b, err);
	return 0;
}

int lfs_index_builder_add(struct lfs_index_builder *b, const char *path,
			  const struct lfs_scan_entry *e)
{
	int err = log_ready(b);
	uint32_t id, at;
	struct bnode *n;

	if (err < 0)
		return err;
	id = walk(b, path, WALK_MEMBER, false, &err);
	if (id == BNONE)
		return err;
	err = charge(b, entry_bytes(e));
	if (err < 0)
		return err;
	err = lfs_mlog_add(&b->log, e, &at);
	if (err == -E2BIG)
		b->limit = "too many members (replaced ones included)";
	else if (err < 0)
		return log_failed(b, err);
	if (err < 0)
		return err;
	n = bnode_at(b, id);
	if ((n->flags & BN_MEMBER) && n->type == LFS_T_HARDLINK)
		unlink_link(b, id);
	else if ((n->flags & BN_MEMBER) && g_hash_table_size(b->links))
		take_over(b, id);
	/* A symlink made or replaced can move where a remembered
	 * directory path resolves to. */
	if (n->type == LFS_T_LNK || e->type == LFS_T_LNK)
		b->last_dir_node = BNONE;
	clear_data(b, id);
	n->type = (uint8_t)e->type;
	n->flags = (uint8_t)((n->flags | BN_MEMBER) &
			     ~(BN_IMPLICIT | BN_NODATA));
	n->meta = at;
	if (e->target)
		extra_of(b, id)->target = keep(b, e->target,
					       strlen(e->target));
	if (e->type == LFS_T_HARDLINK)
		note_link(b, id, path);
	b->nentries++;
	return 0;
}

int lfs_index_builder_whiteout(struct lfs_index_builder *b, const char *path)
{
	int err;
	uint32_t id = walk(b, path, WALK_MARKER, false, &err);

	if (id == BNONE)
		return err;
	bnode_at(b, id)->flags |= BN_WHITEOUT;
	b->nwhiteouts++;
	return 0;
}

int lfs_index_builder_opaque(struct lfs_index_builder *b, const char *dir)
{
	int err;
	/* The marker's directory is resolved whole, as extraction resolves
	 * the directory it empties. */
	uint32_t id = walk(b, dir, WALK_MARKER, true, &err);

	if (id == BNONE)
		return err;
	bnode_at(b, id)->flags |= BN_OPAQUE;
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

/* ---- settling, the first half of writing -------------------------------- */

/* Canonical path of node @id, for messages. */
static char *bnode_path(const struct lfs_index_builder *b, uint32_t id)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new();
	GString *s = g_string_new(NULL);

	for (; id != BNONE && bnode_at(b, id)->parent != BNONE;
	     id = bnode_at(b, id)->parent)
		g_ptr_array_add(parts, (char *)bnode_name(b, bnode_at(b, id)));
	for (guint k = parts->len; k > 0; k--)
		g_string_append_printf(s, "%s%s", k == parts->len ? "" : "/",
				       (const char *)parts->pdata[k - 1]);
	return g_string_free(s, FALSE);
}

/* What nodes without a member of their own mean: the root is always a
 * directory; a whited-out name is a whiteout; anything else named only by
 * markers (a parent of markers, an opaque marker's directory) is a
 * transparent directory. */
static void settle(struct lfs_index_builder *b)
{
	struct bnode *root = bnode_at(b, LFS_INDEX_ROOT);

	if (root->type != LFS_T_DIR) {
		/* "./" as a file is nonsense no extraction could apply. */
		clear_data(b, LFS_INDEX_ROOT);
		root->type = LFS_T_DIR;
		root->flags = (uint8_t)((root->flags | BN_IMPLICIT) &
					~BN_MEMBER);
	}
	for (uint32_t i = 0; i < b->nnodes; i++) {
		struct bnode *n = bnode_at(b, i);

		if (n->type)
			continue;
		if (n->flags & BN_WHITEOUT) {
			n->type = LFS_T_WHITEOUT;
		} else {
			n->type = LFS_T_DIR;
			n->flags |= BN_IMPLICIT | BN_TRANSPARENT;
		}
	}
}

/* Leave out a member that cannot be applied; a whiteout of its name in
 * the same layer still stands. */
static void drop(struct lfs_index_builder *b, uint32_t id)
{
	struct bnode *n = bnode_at(b, id);

	if (n->flags & BN_WHITEOUT) {
		clear_data(b, id);
		n->type = LFS_T_WHITEOUT;
	} else {
		n->flags |= BN_DROPPED;
	}
}

/* Warnings settling may print for one layer; the rest are counted. */
#define MAX_WARNINGS 100

struct warner {
	const struct lfs_logger *lg;
	const char *layer;
	unsigned long n;
};

static void warn_member(struct warner *w, const struct lfs_index_builder *b,
			uint32_t id, const char *what, const char *why)
{
	g_autofree char *path = NULL;

	if (++w->n > MAX_WARNINGS)
		return;
	path = bnode_path(b, id);
	lfs_warn(w->lg, "%s: %s \"%s\" skipped: %s", w->layer, what, path, why);
}

/* Why the children of @p cannot stand: @p, or the nearest ancestor
 * that was dropped for it, is no directory.  walk() follows every
 * symlink it can: the ones left loop, lead nowhere, or came past the
 * layer's budget of steps. */
static const char *orphan_reason(const struct lfs_index_builder *b,
				 uint32_t p)
{
	uint32_t q = p;

	while (bnode_at(b, q)->type == LFS_T_DIR &&
	       bnode_at(b, q)->parent != BNONE)
		q = bnode_at(b, q)->parent;
	if (bnode_at(b, q)->type == LFS_T_LNK)
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
 * is named.  Parents come first, breadth first from the root, as each
 * node was made below its parent. */
static void drop_orphans(struct lfs_index_builder *b, struct warner *w)
{
	g_autoptr(GArray) queue = g_array_sized_new(FALSE, FALSE,
						    sizeof(uint32_t),
						    b->nnodes);
	uint32_t root = LFS_INDEX_ROOT;

	g_array_append_val(queue, root);
	for (guint i = 0; i < queue->len; i++) {
		uint32_t id = g_array_index(queue, uint32_t, i);
		struct bnode *n = bnode_at(b, id);

		if (n->parent != BNONE) {
			const struct bnode *p = bnode_at(b, n->parent);

			if ((p->flags & BN_DROPPED) || p->type != LFS_T_DIR) {
				n->flags |= BN_DROPPED;
				if (n->flags & BN_MEMBER)
					warn_member(w, b, id, "entry",
						    orphan_reason(b, n->parent));
			}
		}
		for (uint32_t c = n->first_child; c != BNONE;
		     c = bnode_at(b, c)->next_sibling)
			g_array_append_val(queue, c);
	}
}

/* Follow hardlink @id inside the layer: to the node holding the data, or
 * to the path (of the last link in the chain) that lies in a lower layer.
 * Returns NULL, or why the link cannot be made. */
static const char *follow_link(struct lfs_index_builder *b, uint32_t id)
{
	uint32_t cur = id;

	for (int hop = 0; hop < 64; hop++) {
		const char *target = target_of(b, cur);
		const struct bnode *t;
		uint32_t tid;

		if (!target || !*target)
			return "has no target";
		tid = lookup(b, target);
		t = tid != BNONE ? bnode_at(b, tid) : NULL;
		if (!t || (t->flags & (BN_DROPPED | BN_TRANSPARENT)) ||
		    t->type == LFS_T_WHITEOUT) {
			extra_of(b, id)->link_xpath = target;
			return NULL;
		}
		if (t->type == LFS_T_DIR)
			return "links to a directory";
		if (t->type != LFS_T_HARDLINK) {
			extra_of(b, id)->link_data = tid;
			return NULL;
		}
		cur = tid;
	}
	return "is part of a hardlink loop";
}

/* Resolve every hardlink once.  All are judged before any is dropped, so
 * the two ends of a loop are judged alike. */
static void resolve_links(struct lfs_index_builder *b, struct warner *w)
{
	g_autoptr(GArray) bad = g_array_new(FALSE, FALSE, sizeof(uint32_t));

	for (uint32_t i = 0; i < b->nnodes; i++) {
		const struct bnode *n = bnode_at(b, i);
		const char *why;

		if ((n->flags & BN_DROPPED) || n->type != LFS_T_HARDLINK)
			continue;
		why = follow_link(b, i);
		if (why) {
			g_autofree char *msg = g_strdup_printf("it %s", why);

			warn_member(w, b, i, "hardlink", msg);
			g_array_append_val(bad, i);
		}
	}
	for (guint i = 0; i < bad->len; i++)
		drop(b, g_array_index(bad, uint32_t, i));
}

void lfs_index_settle(struct lfs_index_builder *b,
		      const struct lfs_logger *lg, const char *layer)
{
	struct warner w = { lg, layer, 0 };

	if (b->settled)
		return;
	b->settled = true;
	settle(b);
	drop_orphans(b, &w);
	resolve_links(b, &w);
	if (w.n > MAX_WARNINGS)
		lfs_warn(lg, "%s: %lu more warnings not shown", layer,
			 w.n - MAX_WARNINGS);
	b->nkept = 0;
	for (uint32_t i = 0; i < b->nnodes; i++)
		if (!(bnode_at(b, i)->flags & BN_DROPPED))
			b->nkept++;
	/* Nothing is looked up by name from here on (nor added: the
	 * layer is complete), and laying out needs the memory. */
	g_clear_pointer(&b->table, g_free);
	b->table_mask = 0;
}
