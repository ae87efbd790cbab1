/* Members a layer holds below a lower layer's symlink (decision 0018).
 *
 * A layer may hold "lib/foo.so" without an entry for "lib", over a lower
 * layer where "lib" is a symlink to "usr/lib".  Extraction (umoci,
 * containerd, docker) resolves a member's directory through the tree as it
 * stands, so foo.so lands in usr/lib and the symlink stays.  A layer's
 * index cannot know this: it is built alone, before any other layer is
 * read.  So when the tree is built, each layer's implicit directories (the
 * index lists them) are checked against the layers below it; if one now
 * resolves elsewhere, the layer's index is rebuilt in memory with every
 * entry at the place extraction would have put it.  The persisted index
 * is not changed: the result depends on the layers below.
 *
 * Layers are done bottom-up, so each is checked against lower layers that
 * are already moved.  Most layers list every directory they hold, and
 * cost nothing here. */
#include <errno.h>
#include <string.h>

#include "layerfs/path.h"
#include "tree_internal.h"

/* Where each entry of one layer goes: a canonical path per entry, NULL
 * where nothing can go (the path cannot be resolved). */
struct places {
	struct lfs_tree *t;
	uint32_t layer;
	const struct lfs_index *ix;
	const char **dest;  /* per entry; dest[root] = "" */
	bool *done;	    /* dest[i] is worked out */
	GStringChunk *strs; /* holds the paths */
	GString *scratch;
	bool moved; /* some implicit directory resolves elsewhere */
	unsigned warned;
	uint32_t budget; /* left of STEP_BUDGET */
};

/* Warnings one layer may print here; a hostile layer could ask for
 * millions. */
#define MAX_WARNINGS 100
/* Path components one layer's directories may take to resolve, each a
 * lookup in every layer below: a real layer takes a few per implicit
 * directory; a hostile one (millions of them, each through long symlink
 * chains) stops here, after seconds, with what is below left out. */
#define STEP_BUDGET (1u << 24)

static void warn_unplaced(struct places *p, uint32_t i, const char *why)
{
	g_autofree char *path = NULL;

	if (++p->warned > MAX_WARNINGS)
		return;
	path = lfs_index_path(p->ix, i);
	lfs_warn(p->t->lg, "%s: entries under \"%s\" left out: %s",
		 p->t->layers[p->layer]->spec->name, path, why);
}

static const char *unplaced_reason(int err)
{
	switch (err) {
	case -ELOOP:
		return "too many levels of symbolic links";
	case -E2BIG:
		return "the layer's symbolic links take too long to resolve";
	default:
		return "the path it resolves to is too long";
	}
}

/* Where entry @i goes: an implicit directory is resolved through the
 * layers below and this one, anything else goes by name into where its
 * parent went.  Parents first, so no recursion goes deep. */
static const char *place(struct places *p, uint32_t i)
{
	g_autoptr(GArray) up = g_array_new(FALSE, FALSE, sizeof(uint32_t));

	for (uint32_t k = i; !p->done[k]; k = lfs_index_get(p->ix, k)->parent)
		g_array_append_val(up, k);
	for (guint n = up->len; n-- > 0;) {
		uint32_t k = g_array_index(up, uint32_t, n);
		const struct lfs_index_entry *e = lfs_index_get(p->ix, k);
		const char *parent = p->dest[e->parent];
		const char *name = lfs_index_str(p->ix, e->name);
		g_autofree char *joined = NULL;
		int err;

		p->done[k] = true;
		if (!parent)
			continue;
		joined = *parent ? g_strconcat(parent, "/", name, NULL)
				 : g_strdup(name);
		if (e->type != LFS_T_DIR || !(e->flags & LFS_E_IMPLICIT)) {
			p->dest[k] = g_string_chunk_insert(p->strs, joined);
			continue;
		}
		err = lfs_resolve_dir(p->t, p->layer + 1, joined, p->scratch,
				      &p->budget);
		if (err < 0 || p->scratch->len > LFS_PATH_MAX) {
			warn_unplaced(p, k, unplaced_reason(err));
			continue;
		}
		p->moved |= strcmp(p->scratch->str, joined) != 0;
		p->dest[k] = g_string_chunk_insert(p->strs, p->scratch->str);
	}
	return p->dest[i];
}

/* The scan entry that recreates index entry @e (its strings borrowed
 * from the index); @xattrs has room for its xattrs. */
static void scan_entry_of(const struct lfs_index *ix,
			  const struct lfs_index_entry *e,
			  struct lfs_scan_entry *se,
			  struct lfs_scan_xattr *xattrs)
{
	memset(se, 0, sizeof(*se));
	se->type = (enum lfs_etype)e->type;
	se->mode = e->mode;
	se->uid = e->uid;
	se->gid = e->gid;
	se->mtime_sec = e->mtime_sec;
	se->mtime_nsec = e->mtime_nsec;
	for (uint32_t k = 0; k < e->xattr_count; k++) {
		const struct lfs_index_xattr *x =
		    &ix->xattrs[e->xattr_first + k];

		xattrs[k].name = lfs_index_str(ix, x->name);
		xattrs[k].value = ix->strtab + x->value;
		xattrs[k].len = x->value_len;
	}
	se->xattrs = xattrs;
	se->nxattrs = e->xattr_count;
	switch (e->type) {
	case LFS_T_REG:
		se->size = e->size;
		se->sparse = e->flags & LFS_E_SPARSE;
		if (se->sparse) {
			se->extents = ix->extents + e->u.ext.first;
			se->nextents = e->u.ext.count;
		} else {
			se->data = e->u.data;
		}
		break;
	case LFS_T_LNK:
		se->target = lfs_index_str(ix, e->u.target);
		break;
	case LFS_T_CHR:
	case LFS_T_BLK:
		se->rdev = e->u.rdev;
		break;
	default:
		break;
	}
}

/* Add entry @i of the layer to @b at its place.  Implicit directories
 * are not added: the builder makes them again where what is below them
 * goes; their markers are carried over. */
static int add_entry(struct places *p, struct lfs_index_builder *b, uint32_t i,
		     struct lfs_scan_xattr *xattrs)
{
	const struct lfs_index_entry *e = lfs_index_get(p->ix, i);
	const char *path = place(p, i);
	struct lfs_scan_entry se;
	int err = 0;

	if (!path)
		return 0;
	if (e->flags & LFS_E_REPLACES || e->type == LFS_T_WHITEOUT)
		err = lfs_index_builder_whiteout(b, path);
	if (err == 0 && e->type == LFS_T_DIR && e->flags & LFS_E_OPAQUE)
		err = lfs_index_builder_opaque(b, path);
	if (err < 0 || e->type == LFS_T_WHITEOUT ||
	    (e->type == LFS_T_DIR && e->flags & LFS_E_IMPLICIT))
		return err;
	scan_entry_of(p->ix, e, &se, xattrs);
	if (e->type == LFS_T_HARDLINK) {
		se.target = e->flags & LFS_E_XLINK
				? lfs_index_str(p->ix, e->u.target)
				: place(p, e->u.target);
		if (!se.target)
			return 0;
	}
	return lfs_index_builder_add(b, path, &se);
}

/* The layer's index again, every entry at its place; NULL if the builder
 * refused (it cannot: the entries fitted its limits once). */
static struct lfs_index *rebuild(struct places *p)
{
	const struct lfs_index *ix = p->ix;
	struct lfs_index_builder *b = lfs_index_builder_new();
	g_autofree struct lfs_scan_xattr *xattrs =
	    g_new(struct lfs_scan_xattr, MAX(ix->nxattrs, 1u));
	struct lfs_index *out = NULL;
	int err = 0;

	for (uint32_t i = 1; err == 0 && i < ix->nentries; i++)
		err = add_entry(p, b, i, xattrs);
	if (err == 0) {
		/* The stream's access points and checksums are the layer's
		 * as they were, and so is what the scan saw. */
		out = lfs_index_builder_finish_seek(
		    b, p->t->lg, p->t->layers[p->layer]->spec->name, ix);
		if (out) {
			out->stat_entries = ix->stat_entries;
			out->stat_whiteouts = ix->stat_whiteouts;
		}
	}
	lfs_index_builder_free(b);
	return out;
}

void lfs_relocate_layer(struct lfs_tree *t, uint32_t layer)
{
	struct lfs_layer *l = t->layers[layer];
	const struct lfs_index *ix = l->index;
	struct places p = { .t = t, .layer = layer, .ix = ix,
			    .budget = t->link_steps ? t->link_steps
						    : STEP_BUDGET };
	struct lfs_index *moved = NULL;

	/* A directory layer holds every directory it has: none implicit. */
	if (layer == 0 || ix->nimplicit == 0 || l->dirfd >= 0)
		return;
	p.dest = g_new0(const char *, ix->nentries);
	p.done = g_new0(bool, ix->nentries);
	p.strs = g_string_chunk_new(4096);
	p.scratch = g_string_new(NULL);
	p.dest[LFS_INDEX_ROOT] = "";
	p.done[LFS_INDEX_ROOT] = true;
	for (uint32_t k = 0; k < ix->nimplicit; k++)
		place(&p, ix->implicit[k]);
	/* A directory that cannot be placed also moves what is below. */
	for (uint32_t k = 0; !p.moved && k < ix->nimplicit; k++)
		p.moved = p.dest[ix->implicit[k]] == NULL;
	if (p.moved)
		moved = rebuild(&p);
	if (p.warned > MAX_WARNINGS)
		lfs_warn(t->lg, "%s: %u more warnings not shown", l->spec->name,
			 p.warned - MAX_WARNINGS);
	if (moved) {
		lfs_info(t->lg,
			 "%s: members below symlinks of the layers "
			 "below moved to where those lead",
			 l->spec->name);
		lfs_index_free(l->index);
		l->index = moved;
	}
	g_free(p.dest);
	g_free(p.done);
	g_string_chunk_free(p.strs);
	g_string_free(p.scratch, TRUE);
}
