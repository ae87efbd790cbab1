/* The node table: one node per object the kernel knows, keyed by inode
 * number, with the FUSE lookup count (see tree.h).  The kernel refers to a
 * node only while it holds a count, so a node found here stays valid for
 * the duration of the request that names it. */
#include <string.h>

#include "tree_internal.h"

struct lfs_node *lfs_node_new(const struct lfs_resolution *res,
			      uint64_t parent)
{
	struct lfs_node *n = g_new0(struct lfs_node, 1);

	n->type = res->type;
	n->top = res->top;
	n->meta = res->meta;
	n->parent = parent;
	if (res->type == S_IFDIR) {
		n->ino = lfs_ref_ino(res->top);
		n->nchain = res->chain->len;
		n->ncontrib = res->ncontrib;
		n->chain = g_memdup2(res->chain->data,
				     sizeof(struct lfs_ref) * res->chain->len);
	} else {
		n->ino = lfs_ref_ino(res->meta);
	}
	return n;
}

void lfs_node_free(struct lfs_node *n)
{
	if (!n)
		return;
	g_free(n->chain);
	g_free(n->list);
	g_free(n);
}

struct lfs_node *lfs_nodes_insert(struct lfs_tree *t, struct lfs_node *n)
{
	struct lfs_node *old;

	g_mutex_lock(&t->lock);
	old = g_hash_table_lookup(t->nodes, &n->ino);
	if (old) {
		old->nlookup++;
	} else {
		n->nlookup = 1;
		g_hash_table_insert(t->nodes, &n->ino, n);
	}
	g_mutex_unlock(&t->lock);
	if (old)
		lfs_node_free(n);
	return old ? old : n;
}

struct lfs_node *lfs_tree_get(struct lfs_tree *t, uint64_t ino)
{
	struct lfs_node *n;

	g_mutex_lock(&t->lock);
	n = g_hash_table_lookup(t->nodes, &ino);
	g_mutex_unlock(&t->lock);
	return n;
}

/* One more count on @ino if it is already known: saves building a node
 * for every repeated lookup. */
static struct lfs_node *ref_existing(struct lfs_tree *t, uint64_t ino)
{
	struct lfs_node *n;

	g_mutex_lock(&t->lock);
	n = g_hash_table_lookup(t->nodes, &ino);
	if (n)
		n->nlookup++;
	g_mutex_unlock(&t->lock);
	return n;
}

int lfs_tree_lookup(struct lfs_tree *t, uint64_t parent, const char *name,
		    struct lfs_node **out)
{
	struct lfs_node *p = lfs_tree_get(t, parent);
	struct lfs_resolution res;
	uint64_t ino;
	int err;

	if (!p)
		return -ESTALE;
	if (p->type != S_IFDIR)
		return -ENOTDIR;
	err = lfs_resolve_child(t, p->chain, p->ncontrib, name, strlen(name),
				&res);
	if (err < 0)
		return err;
	ino = lfs_ref_ino(res.type == S_IFDIR ? res.top : res.meta);
	*out = ref_existing(t, ino);
	if (!*out)
		*out = lfs_nodes_insert(t, lfs_node_new(&res, parent));
	if (res.chain)
		g_array_unref(res.chain);
	return 0;
}

void lfs_tree_forget(struct lfs_tree *t, uint64_t ino, uint64_t count)
{
	struct lfs_node *n;

	g_mutex_lock(&t->lock);
	n = g_hash_table_lookup(t->nodes, &ino);
	/* The root lives as long as the tree, whatever the kernel says. */
	if (!n || n == t->root) {
		g_mutex_unlock(&t->lock);
		return;
	}
	n->nlookup -= MIN(count, n->nlookup);
	if (n->nlookup == 0)
		g_hash_table_steal(t->nodes, &ino);
	else
		n = NULL;
	g_mutex_unlock(&t->lock);
	lfs_node_free(n);
}

uint64_t lfs_node_ino(const struct lfs_node *n)
{
	return n->ino;
}

uint32_t lfs_node_type(const struct lfs_node *n)
{
	return n->type;
}

uint64_t lfs_node_parent(const struct lfs_node *n)
{
	return n->parent;
}
