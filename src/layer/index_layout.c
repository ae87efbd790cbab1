/* finish(): the builder's settled records laid out breadth first into the
 * flat index that lookups binary-search and index_file.c writes as is.
 * Every directory comes before its children, and each directory's
 * children are contiguous and sorted by name. */
#include <stdlib.h>
#include <string.h>

#include "layerfs/index.h"

#include "index_internal.h"

/* Siblings by name (names are unique among siblings). */
static int name_order(const void *pa, const void *pb)
{
	const struct brec *a = *(struct brec *const *)pa;
	const struct brec *b = *(struct brec *const *)pb;

	return lfs_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Positions, breadth first from the root, each directory's kept children
 * sorted by name: so every level is in (parent's position, name) order. */
static GPtrArray *lay_out(struct lfs_index_builder *b, guint n)
{
	GPtrArray *kept = g_ptr_array_sized_new(n);
	g_autoptr(GPtrArray) kids = g_ptr_array_new();

	b->root->index = 0;
	g_ptr_array_add(kept, b->root);
	for (guint i = 0; i < kept->len; i++) {
		const struct brec *r = kept->pdata[i];

		g_ptr_array_set_size(kids, 0);
		for (struct brec *c = r->first_child; c; c = c->next_sibling)
			if (!c->dropped)
				g_ptr_array_add(kids, c);
		if (kids->len > 1)
			qsort(kids->pdata, kids->len, sizeof(void *),
			      name_order);
		for (guint k = 0; k < kids->len; k++) {
			struct brec *c = kids->pdata[k];

			c->index = kept->len;
			g_ptr_array_add(kept, c);
		}
	}
	return kept;
}

struct tables {
	GByteArray *str;
	GArray *xattrs;	  /* struct lfs_index_xattr */
	GArray *extents;  /* struct lfs_index_extent */
	GArray *links;	  /* uint32_t */
	GArray *implicit; /* uint32_t */
};

/* The byte budget keeps the string table far below 4 GiB, so offsets
 * always fit. */
static uint32_t str_add(struct tables *t, const void *s, size_t len,
			bool nul)
{
	uint32_t off = t->str->len;

	g_byte_array_append(t->str, s, (guint)len);
	if (nul)
		g_byte_array_append(t->str, (const guint8 *)"", 1);
	return off;
}

static void fill_specifics(struct lfs_index_entry *e, const struct brec *r,
			   struct tables *t)
{
	switch (r->type) {
	case LFS_T_REG:
		if (r->sparse) {
			e->flags |= LFS_E_SPARSE;
			e->u.ext.first = t->extents->len;
			e->u.ext.count = r->nextents;
			g_array_append_vals(t->extents, r->extents,
					    r->nextents);
		} else {
			e->u.data = r->data;
		}
		break;
	case LFS_T_LNK: {
		const char *target = r->target ? r->target : "";

		e->u.target = str_add(t, target, strlen(target), true);
		e->size = strlen(target);
		break;
	}
	case LFS_T_CHR:
	case LFS_T_BLK:
		e->u.rdev = r->rdev;
		break;
	case LFS_T_HARDLINK:
		if (r->link_data) {
			e->u.target = r->link_data->index;
		} else {
			e->flags |= LFS_E_XLINK;
			e->u.target = str_add(t, r->link_xpath,
					      strlen(r->link_xpath), true);
		}
		g_array_append_val(t->links, r->index);
		break;
	case LFS_T_DIR:
		e->size = 0; /* counted when the children are placed */
		if (r->implicit && r->index != LFS_INDEX_ROOT)
			g_array_append_val(t->implicit, r->index);
		break;
	default:
		break;
	}
}

static void fill_xattrs(struct lfs_index_entry *e, const struct brec *r,
			struct tables *t)
{
	if (!r->nxattrs)
		return;
	e->xattr_first = t->xattrs->len;
	e->xattr_count = r->nxattrs;
	for (uint32_t i = 0; i < r->nxattrs; i++) {
		const struct bxattr *x = &r->xattrs[i];
		struct lfs_index_xattr rec = {
			.name = str_add(t, x->name, strlen(x->name), true),
			.value = str_add(t, x->value, x->len, false),
			.value_len = x->len,
		};

		g_array_append_val(t->xattrs, rec);
	}
}

static void fill_entry(struct lfs_index *ix, const struct brec *r,
		       struct tables *t)
{
	struct lfs_index_entry *e = &ix->entries[r->index];

	e->name = str_add(t, r->name, r->name_len, true);
	e->name_len = r->name_len;
	e->type = r->type;
	e->flags = (r->implicit ? LFS_E_IMPLICIT : 0) |
		   (r->transparent ? LFS_E_TRANSPARENT : 0) |
		   (r->whiteout && r->type != LFS_T_WHITEOUT ? LFS_E_REPLACES
							     : 0) |
		   (r->opaque && r->type == LFS_T_DIR ? LFS_E_OPAQUE : 0);
	e->mode = r->mode;
	e->uid = r->uid;
	e->gid = r->gid;
	e->mtime_sec = r->mtime_sec;
	e->mtime_nsec = r->mtime_nsec;
	e->size = r->size;
	fill_specifics(e, r, t);
	fill_xattrs(e, r, t);
}

/* Records come parents first and, per parent, in a contiguous sorted run:
 * the first child seen starts its parent's range. */
static void place_child(struct lfs_index *ix, const struct brec *r)
{
	struct lfs_index_entry *pe = &ix->entries[r->parent->index];

	ix->entries[r->index].parent = r->parent->index;
	if (pe->u.dir.count == 0)
		pe->u.dir.first = r->index;
	pe->u.dir.count++;
	if (r->type == LFS_T_DIR && !r->transparent)
		pe->size++;
}

struct lfs_index *lfs_index_builder_finish(struct lfs_index_builder *b,
					   const struct lfs_logger *lg,
					   const char *layer)
{
	guint n = lfs_index_settle(b, lg, layer);
	g_autoptr(GPtrArray) kept = lay_out(b, n);
	/* Sized for every name, target and xattr charged, so the string
	 * table grows without copying itself over and over. */
	struct tables t = {
		g_byte_array_sized_new((guint)MIN(b->bytes + n + 1,
						  (uint64_t)G_MAXUINT)),
		g_array_new(FALSE, FALSE, sizeof(struct lfs_index_xattr)),
		g_array_new(FALSE, FALSE, sizeof(struct lfs_index_extent)),
		g_array_new(FALSE, FALSE, sizeof(uint32_t)),
		g_array_new(FALSE, FALSE, sizeof(uint32_t)),
	};
	struct lfs_index *ix = g_new0(struct lfs_index, 1);

	ix->nentries = kept->len;
	ix->entries = g_new0(struct lfs_index_entry, kept->len);
	str_add(&t, "", 0, true); /* offset 0: the empty string */
	for (guint i = 0; i < kept->len; i++)
		fill_entry(ix, kept->pdata[i], &t);
	for (guint i = 1; i < kept->len; i++)
		place_child(ix, kept->pdata[i]);

	ix->stat_entries = b->nentries;
	ix->stat_whiteouts = b->nwhiteouts;
	ix->strtab_len = t.str->len;
	ix->strtab = (char *)g_byte_array_free(t.str, FALSE);
	ix->nxattrs = t.xattrs->len;
	ix->xattrs = (struct lfs_index_xattr *)g_array_free(t.xattrs, FALSE);
	ix->nextents = t.extents->len;
	ix->extents = (struct lfs_index_extent *)g_array_free(t.extents,
							      FALSE);
	ix->nhardlinks = t.links->len;
	ix->hardlinks = (uint32_t *)g_array_free(t.links, FALSE);
	ix->nimplicit = t.implicit->len;
	ix->implicit = (uint32_t *)g_array_free(t.implicit, FALSE);
	return ix;
}
