/* Building and querying one layer's index (see index.h for the layout and
 * the rules).
 *
 * The builder keeps one record per path in a hash table, so a later entry
 * for the same path simply overwrites the earlier one.  finish() then adds
 * the implicit parent directories, drops what cannot stand, and sorts the
 * records by (depth, parent path, name): that puts every directory before
 * its children and every directory's children next to each other, in the
 * order lookups binary-search. */
#include <errno.h>
#include <string.h>

#include "layerfs/index.h"
#include "layerfs/path.h"

struct bxattr {
	char *name;
	GBytes *value;
};

struct brec {
	char *path;
	uint32_t base;	/* offset of the last component in @path */
	uint32_t depth; /* components in @path; the root has 0 */
	uint8_t type;	/* 0 until an entry (not a marker) is recorded */
	bool whiteout;	/* ".wh.<name>" seen for this path */
	bool opaque;	/* ".wh..wh..opq" seen in this directory */
	bool implicit;
	bool dropped;
	uint32_t mode, uid, gid, mtime_nsec;
	int64_t mtime_sec;
	uint64_t size, data, rdev;
	char *target;
	GArray *xattrs;	 /* struct bxattr */
	GArray *extents; /* struct lfs_index_extent */
	uint32_t index;	 /* position in the finished index */
};

struct lfs_index_builder {
	GHashTable *by_path; /* path -> struct brec * (owns) */
	uint64_t nentries, nwhiteouts;
};

static void bxattr_clear(struct bxattr *x)
{
	g_free(x->name);
	g_bytes_unref(x->value);
}

static void brec_clear_data(struct brec *r)
{
	g_clear_pointer(&r->target, g_free);
	g_clear_pointer(&r->xattrs, g_array_unref);
	g_clear_pointer(&r->extents, g_array_unref);
}

static void brec_free(struct brec *r)
{
	brec_clear_data(r);
	g_free(r->path);
	g_free(r);
}

struct lfs_index_builder *lfs_index_builder_new(void)
{
	struct lfs_index_builder *b = g_new0(struct lfs_index_builder, 1);

	b->by_path = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)brec_free);
	return b;
}

void lfs_index_builder_free(struct lfs_index_builder *b)
{
	if (!b)
		return;
	g_hash_table_unref(b->by_path);
	g_free(b);
}

static struct brec *brec_get(struct lfs_index_builder *b, const char *path)
{
	struct brec *r = g_hash_table_lookup(b->by_path, path);
	const char *base;

	if (r)
		return r;
	r = g_new0(struct brec, 1);
	r->path = g_strdup(path);
	lfs_path_split(r->path, &base);
	r->base = (uint32_t)(base - r->path);
	for (const char *p = path; *p; p++)
		r->depth += *p == '/';
	r->depth += *path != '\0';
	g_hash_table_insert(b->by_path, r->path, r);
	return r;
}

static int check_limit(struct lfs_index_builder *b)
{
	return g_hash_table_size(b->by_path) >= LFS_INDEX_MAX_ENTRIES ? -E2BIG
								      : 0;
}

int lfs_index_builder_add(struct lfs_index_builder *b, const char *path,
			  const struct lfs_scan_entry *e)
{
	struct brec *r;
	int err = check_limit(b);

	if (err < 0)
		return err;
	r = brec_get(b, path);
	brec_clear_data(r);
	r->type = (uint8_t)e->type;
	r->implicit = false;
	r->mode = e->mode & 07777;
	r->uid = e->uid;
	r->gid = e->gid;
	r->mtime_sec = e->mtime_sec;
	r->mtime_nsec = e->mtime_nsec;
	r->size = e->size;
	r->data = e->data;
	r->rdev = e->rdev;
	r->target = g_strdup(e->target);
	if (e->nxattrs) {
		r->xattrs = g_array_sized_new(FALSE, FALSE,
					      sizeof(struct bxattr),
					      (guint)e->nxattrs);
		g_array_set_clear_func(r->xattrs,
				       (GDestroyNotify)bxattr_clear);
		for (size_t i = 0; i < e->nxattrs; i++) {
			struct bxattr x = {
				g_strdup(e->xattrs[i].name),
				g_bytes_new(e->xattrs[i].value,
					    e->xattrs[i].len),
			};
			g_array_append_val(r->xattrs, x);
		}
	}
	if (e->nextents) {
		r->extents = g_array_sized_new(FALSE, FALSE,
					       sizeof(struct lfs_index_extent),
					       (guint)e->nextents);
		g_array_append_vals(r->extents, e->extents,
				    (guint)e->nextents);
	}
	b->nentries++;
	return 0;
}

int lfs_index_builder_whiteout(struct lfs_index_builder *b, const char *path)
{
	int err = check_limit(b);

	if (err < 0)
		return err;
	brec_get(b, path)->whiteout = true;
	b->nwhiteouts++;
	return 0;
}

int lfs_index_builder_opaque(struct lfs_index_builder *b, const char *dir)
{
	int err = check_limit(b);

	if (err < 0)
		return err;
	brec_get(b, dir)->opaque = true;
	b->nwhiteouts++;
	return 0;
}

enum lfs_wh_kind lfs_whiteout_classify(const char *base, const char **name)
{
	static const char prefix[] = ".wh.";
	const char *rest = base + sizeof(prefix) - 1;

	if (strncmp(base, prefix, sizeof(prefix) - 1) != 0)
		return LFS_WH_NONE;
	if (strcmp(base, ".wh..wh..opq") == 0)
		return LFS_WH_OPAQUE;
	if (strncmp(rest, prefix, sizeof(prefix) - 1) == 0)
		return LFS_WH_META;
	if (!*rest || strcmp(rest, ".") == 0 || strcmp(rest, "..") == 0)
		return LFS_WH_INVALID;
	*name = rest;
	return LFS_WH_DELETE;
}

int lfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Order records by depth, then parent path, then name (see the top). */
static gint brec_cmp(gconstpointer pa, gconstpointer pb)
{
	const struct brec *a = *(struct brec *const *)pa;
	const struct brec *b = *(struct brec *const *)pb;
	size_t ap = a->base ? a->base - 1 : 0, bp = b->base ? b->base - 1 : 0;
	int c;

	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	c = lfs_name_cmp(a->path, ap, b->path, bp);
	if (c)
		return c;
	return lfs_name_cmp(a->path + a->base, strlen(a->path + a->base),
			    b->path + b->base, strlen(b->path + b->base));
}

/* The records as an array (GLib 2.74 has no values-as-array helper). */
static GPtrArray *all_records(struct lfs_index_builder *b)
{
	GPtrArray *arr = g_ptr_array_sized_new(g_hash_table_size(b->by_path));
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, b->by_path);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(arr, value);
	return arr;
}

/* Give every record its parent chain, creating implicit directories; a
 * marker-only record that turns out to be a parent becomes one too. */
static void add_parents(struct lfs_index_builder *b)
{
	g_autoptr(GPtrArray) recs = all_records(b);
	struct brec *root = brec_get(b, "");

	/* The root is a directory whatever the layer says ("./" as a file
	 * is nonsense no extraction could apply). */
	if (root->type != LFS_T_DIR) {
		brec_clear_data(root);
		root->type = LFS_T_DIR;
		root->implicit = true;
	}
	for (guint i = 0; i < recs->len; i++) {
		struct brec *r = recs->pdata[i];
		g_autofree char *p = g_strdup(r->path);

		while (*p) {
			const char *base;
			size_t plen = lfs_path_split(p, &base);
			struct brec *parent;

			p[plen] = '\0';
			parent = brec_get(b, p);
			if (parent->type)
				break; /* an entry: its own parents were or
					* will be handled from it */
			parent->type = LFS_T_DIR;
			parent->implicit = true;
		}
	}
}

/* A record with no entry of its own after add_parents() is a whiteout
 * marker, or an opaque marker whose directory the layer never listed. */
static void settle_markers(GPtrArray *sorted)
{
	for (guint i = 0; i < sorted->len; i++) {
		struct brec *r = sorted->pdata[i];

		if (r->type)
			continue;
		if (r->opaque) {
			r->type = LFS_T_DIR;
			r->implicit = true;
		} else {
			r->type = LFS_T_WHITEOUT;
		}
	}
}

/* Drop children of non-directories (in order: parents come first), e.g. a
 * layer holding both a file "a" and "a/b", which no extraction can make. */
static void drop_orphans(struct lfs_index_builder *b, GPtrArray *sorted,
			 const struct lfs_logger *lg, const char *layer)
{
	for (guint i = 1; i < sorted->len; i++) {
		struct brec *r = sorted->pdata[i];
		g_autofree char *ppath = g_strndup(r->path,
						   r->base ? r->base - 1 : 0);
		struct brec *parent = g_hash_table_lookup(b->by_path, ppath);

		if (parent->dropped) {
			r->dropped = true;
		} else if (parent->type != LFS_T_DIR) {
			r->dropped = true;
			lfs_warn(lg, "%s: entry \"%s\" skipped: its parent is "
				     "not a directory in this layer",
				 layer, r->path);
		}
	}
}

struct strtab {
	GByteArray *bytes;
	bool overflow;
};

static uint32_t str_add(struct strtab *st, const void *s, size_t len,
			bool nul)
{
	uint32_t off = st->bytes->len;

	if ((uint64_t)off + len + 1 > LFS_INDEX_MAX_STRTAB) {
		st->overflow = true;
		return 0;
	}
	g_byte_array_append(st->bytes, s, (guint)len);
	if (nul)
		g_byte_array_append(st->bytes, (const guint8 *)"", 1);
	return off;
}

/* Hardlink @r: follow links inside the layer to the entry holding the
 * data.  Returns that record, NULL for a link to a lower layer (XLINK), or
 * sets *bad for a link to a directory or a loop. */
static struct brec *link_target(struct lfs_index_builder *b, struct brec *r,
				const char **bad)
{
	struct brec *t = r;

	if (!r->target || !*r->target) {
		*bad = "has no target";
		return NULL;
	}
	for (int hop = 0; hop < 64; hop++) {
		t = g_hash_table_lookup(b->by_path, t->target);
		if (!t || t->dropped || t->type == LFS_T_WHITEOUT)
			return NULL;
		if (t->type == LFS_T_DIR) {
			*bad = "links to a directory";
			return NULL;
		}
		if (t->type != LFS_T_HARDLINK)
			return t;
	}
	*bad = "is part of a hardlink loop";
	return NULL;
}

static void fill_entry(struct lfs_index_entry *e, const struct brec *r,
		       struct strtab *st)
{
	const char *name = r->path + r->base;
	size_t len = strlen(name);

	e->name = str_add(st, name, len, true);
	e->name_len = (uint16_t)len;
	e->type = r->type;
	e->flags = (r->implicit ? LFS_E_IMPLICIT : 0) |
		   (r->whiteout && r->type != LFS_T_WHITEOUT ? LFS_E_REPLACES
							     : 0) |
		   (r->opaque && r->type == LFS_T_DIR ? LFS_E_OPAQUE : 0);
	e->mode = r->mode;
	e->uid = r->uid;
	e->gid = r->gid;
	e->mtime_sec = r->mtime_sec;
	e->mtime_nsec = r->mtime_nsec;
	e->size = r->size;
	e->parent = 0;
	e->xattr_first = 0;
	e->xattr_count = 0;
	switch (r->type) {
	case LFS_T_REG:
		e->u.data = r->data;
		break;
	case LFS_T_LNK: {
		const char *t = r->target ? r->target : "";

		e->u.target = str_add(st, t, strlen(t), true);
		e->size = strlen(t);
		break;
	}
	case LFS_T_CHR:
	case LFS_T_BLK:
		e->u.rdev = r->rdev;
		break;
	case LFS_T_DIR:
		e->size = 0; /* counted by link_tree() */
		e->u.data = 0;
		break;
	default:
		e->u.data = 0;
		break;
	}
}

static void add_xattrs(struct lfs_index_entry *e, const struct brec *r,
		       GArray *xattrs, struct strtab *st)
{
	if (!r->xattrs)
		return;
	e->xattr_first = xattrs->len;
	e->xattr_count = r->xattrs->len;
	for (guint i = 0; i < r->xattrs->len; i++) {
		const struct bxattr *x = &g_array_index(r->xattrs,
							struct bxattr, i);
		gsize vlen;
		const void *v = g_bytes_get_data(x->value, &vlen);
		struct lfs_index_xattr rec = {
			.name = str_add(st, x->name, strlen(x->name), true),
			.value = str_add(st, v, vlen, false),
			.value_len = (uint32_t)vlen,
		};

		g_array_append_val(xattrs, rec);
	}
}

static void add_extents(struct lfs_index_entry *e, const struct brec *r,
			GArray *extents)
{
	if (r->type != LFS_T_REG || !r->extents)
		return;
	e->flags |= LFS_E_SPARSE;
	e->u.ext.first = extents->len;
	e->u.ext.count = r->extents->len;
	g_array_append_vals(extents, r->extents->data, r->extents->len);
}

/* Drop hardlinks that cannot be made (to a directory, in a loop, without a
 * target).  Extraction would fail on them; we skip just the one entry.
 * All are judged before any is dropped, so the two ends of a loop are
 * judged alike. */
static void drop_bad_links(struct lfs_index_builder *b, GPtrArray *sorted,
			   const struct lfs_logger *lg, const char *layer)
{
	g_autoptr(GPtrArray) bad = g_ptr_array_new();

	for (guint i = 0; i < sorted->len; i++) {
		struct brec *r = sorted->pdata[i];
		const char *why = NULL;

		if (r->dropped || r->type != LFS_T_HARDLINK)
			continue;
		link_target(b, r, &why);
		if (why) {
			lfs_warn(lg, "%s: hardlink \"%s\" skipped: it %s",
				 layer, r->path, why);
			g_ptr_array_add(bad, r);
		}
	}
	for (guint i = 0; i < bad->len; i++)
		((struct brec *)bad->pdata[i])->dropped = true;
}

static void link_entry(struct lfs_index_builder *b, struct lfs_index *ix,
		       struct brec *r, struct strtab *st, GArray *links)
{
	struct lfs_index_entry *e = &ix->entries[r->index];
	const char *bad = NULL;
	struct brec *t = link_target(b, r, &bad);

	if (t) {
		e->u.target = t->index;
	} else {
		e->flags |= LFS_E_XLINK;
		e->u.target = str_add(st, r->target, strlen(r->target), true);
	}
	g_array_append_val(links, r->index);
}

/* Point each directory at its children, each entry at its parent. */
static void link_tree(struct lfs_index_builder *b, struct lfs_index *ix,
		      GPtrArray *kept)
{
	for (guint i = 1; i < kept->len; i++) {
		struct brec *r = kept->pdata[i];
		g_autofree char *ppath = g_strndup(r->path,
						   r->base ? r->base - 1 : 0);
		struct brec *parent = g_hash_table_lookup(b->by_path, ppath);
		struct lfs_index_entry *pe = &ix->entries[parent->index];

		ix->entries[i].parent = parent->index;
		if (pe->u.dir.count == 0)
			pe->u.dir.first = i;
		pe->u.dir.count++;
		if (r->type == LFS_T_DIR)
			pe->size++;
	}
}

int lfs_index_builder_finish(struct lfs_index_builder *b,
			     const struct lfs_logger *lg, const char *layer,
			     struct lfs_index **out)
{
	g_autoptr(GPtrArray) sorted = NULL, kept = g_ptr_array_new();
	g_autoptr(GArray) xattrs = g_array_new(FALSE, FALSE,
					       sizeof(struct lfs_index_xattr));
	g_autoptr(GArray) extents = g_array_new(
		FALSE, FALSE, sizeof(struct lfs_index_extent));
	g_autoptr(GArray) links = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	struct strtab st = { g_byte_array_new(), false };
	struct lfs_index *ix;

	add_parents(b);
	sorted = all_records(b);
	g_ptr_array_sort(sorted, brec_cmp);
	settle_markers(sorted);
	drop_orphans(b, sorted, lg, layer);
	drop_bad_links(b, sorted, lg, layer);
	for (guint i = 0; i < sorted->len; i++) {
		struct brec *r = sorted->pdata[i];

		if (!r->dropped) {
			r->index = kept->len;
			g_ptr_array_add(kept, r);
		}
	}

	ix = g_new0(struct lfs_index, 1);
	ix->nentries = kept->len;
	ix->entries = g_new0(struct lfs_index_entry, kept->len);
	str_add(&st, "", 0, true); /* offset 0: the empty string */
	for (guint i = 0; i < kept->len; i++) {
		fill_entry(&ix->entries[i], kept->pdata[i], &st);
		add_xattrs(&ix->entries[i], kept->pdata[i], xattrs, &st);
		add_extents(&ix->entries[i], kept->pdata[i], extents);
	}
	for (guint i = 0; i < kept->len; i++) {
		struct brec *r = kept->pdata[i];

		if (r->type == LFS_T_HARDLINK)
			link_entry(b, ix, r, &st, links);
	}
	link_tree(b, ix, kept);

	ix->stat_entries = b->nentries;
	ix->stat_whiteouts = b->nwhiteouts;
	ix->strtab_len = st.bytes->len;
	ix->strtab = (char *)g_byte_array_free(st.bytes, FALSE);
	ix->nxattrs = xattrs->len;
	ix->xattrs = (struct lfs_index_xattr *)g_array_steal(xattrs, NULL);
	ix->nextents = extents->len;
	ix->extents = (struct lfs_index_extent *)g_array_steal(extents, NULL);
	ix->nhardlinks = links->len;
	ix->hardlinks = (uint32_t *)g_array_steal(links, NULL);
	if (st.overflow) {
		lfs_index_free(ix);
		return -E2BIG;
	}
	*out = ix;
	return 0;
}

void lfs_index_free(struct lfs_index *ix)
{
	if (!ix)
		return;
	g_free(ix->entries);
	g_free(ix->strtab);
	g_free(ix->xattrs);
	g_free(ix->extents);
	g_free(ix->hardlinks);
	g_free(ix);
}

uint32_t lfs_index_find(const struct lfs_index *ix, uint32_t dir,
			const char *name, size_t len)
{
	const struct lfs_index_entry *d = &ix->entries[dir];
	uint32_t lo, hi;

	if (d->type != LFS_T_DIR)
		return LFS_INDEX_NONE;
	lo = d->u.dir.first;
	hi = lo + d->u.dir.count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct lfs_index_entry *e = &ix->entries[mid];
		int c = lfs_name_cmp(name, len, ix->strtab + e->name,
				     e->name_len);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return LFS_INDEX_NONE;
}

uint32_t lfs_index_lookup_path(const struct lfs_index *ix, const char *path)
{
	uint32_t cur = LFS_INDEX_ROOT;

	while (*path && cur != LFS_INDEX_NONE) {
		size_t len = strcspn(path, "/");

		cur = lfs_index_find(ix, cur, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return cur;
}

char *lfs_index_path(const struct lfs_index *ix, uint32_t i)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new();
	GString *s = g_string_new(NULL);

	for (; i != LFS_INDEX_ROOT; i = ix->entries[i].parent)
		g_ptr_array_add(parts, ix->strtab + ix->entries[i].name);
	for (guint k = parts->len; k > 0; k--)
		g_string_append_printf(s, "%s%s", k == parts->len ? "" : "/",
				       (const char *)parts->pdata[k - 1]);
	return g_string_free(s, FALSE);
}
