/* The writable namespace (see overlay.h): the node table, lookups through
 * the upper and then the lower stack, attributes, symlinks and xattrs.
 * Listings are in olist.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/overlay.h"
#include "layerfs/path.h"
#include "overlay_internal.h"

static struct lfs_onode *node_new(uint32_t type, uint64_t ino)
{
	struct lfs_onode *n = g_new0(struct lfs_onode, 1);

	n->type = type;
	n->ino = ino;
	n->refs = 1;
	n->aliases = g_ptr_array_new();
	n->dirfd = -1;
	n->lru.data = n;
	g_mutex_init(&n->lock);
	g_mutex_init(&n->cu_lock);
	return n;
}

struct lfs_onode *lfs_onode_ref(struct lfs_onode *n)
{
	g_atomic_int_inc(&n->refs);
	return n;
}

static void alias_free(struct lfs_ovl *ov, struct lfs_alias *a);

/* The last reference went: nobody can reach @n any more. */
static void node_free(struct lfs_ovl *ov, struct lfs_onode *n)
{
	for (guint i = 0; i < n->aliases->len; i++)
		alias_free(ov, n->aliases->pdata[i]);
	g_ptr_array_unref(n->aliases);
	if (n->list)
		lfs_olist_unref(n->list);
	if (n->dirfd >= 0)
		close(n->dirfd);
	/* The last user of a removed object is gone: so is its upper. */
	if (n->orphan && ov->drop_orphan)
		ov->drop_orphan(ov->ctx, n->orphan);
	g_free(n->orphan);
	g_free(n->lower_path);
	g_mutex_clear(&n->lock);
	g_mutex_clear(&n->cu_lock);
	g_free(n);
}

void lfs_ovl_put(struct lfs_ovl *ov, struct lfs_onode *n)
{
	if (n && g_atomic_int_dec_and_test(&n->refs))
		node_free(ov, n);
}

static void alias_free(struct lfs_ovl *ov, struct lfs_alias *a)
{
	lfs_ovl_put(ov, a->parent);
	g_free(a->name);
	g_free(a);
}

/* ---- the table ------------------------------------------------------- */

int lfs_ovl_new(const struct lfs_ovl_options *o, struct lfs_ovl **out)
{
	struct lfs_ovl *ov = g_new0(struct lfs_ovl, 1);
	struct lfs_live_ent e;
	struct lfs_onode *root;
	int err;

	ov->lower = o->lower;
	ov->upper = o->upper;
	ov->lg = o->lg;
	ov->workfd = o->workfd;
	ov->drop_orphan = o->drop_orphan;
	ov->ctx = o->ctx;
	ov->budget = o->cache_bytes ? o->cache_bytes : LFS_TREE_CACHE_DEFAULT;
	ov->seed = g_random_int() | (uint64_t)g_random_int() << 32;
	g_mutex_init(&ov->lock);
	ov->by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
	ov->by_ino = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_queue_init(&ov->lru);
	ov->next_id = LFS_ROOT_INO + 1;

	root = node_new(S_IFDIR, LFS_ROOT_INO);
	root->id = LFS_ROOT_INO;
	root->nlookup = 1; /* the kernel never forgets the root */
	root->upper = true;
	root->lower = LFS_ROOT_INO;
	root->lower_path = g_strdup("");
	root->dirfd = fcntl(ov->upper->rootfd, F_DUPFD_CLOEXEC, 0);
	if (root->dirfd < 0) {
		err = -errno;
		goto fail;
	}
	err = lfs_live_stat(ov->upper, root->dirfd, ".", &e);
	if (err)
		goto fail;
	/* Never opaque: overlayfs does not read the mark on its upper's
	 * root, so neither may a stray one hide the whole image here. */
	root->opaque = false;
	root->upper_ino = e.st.st_ino;
	lfs_live_ent_clear(&e);
	ov->root = root;
	g_hash_table_insert(ov->by_id, &root->id, root);
	g_hash_table_insert(ov->by_ino, &root->ino, root);
	root->hashed = true;
	*out = ov;
	return 0;
fail:
	node_free(ov, root);
	lfs_ovl_free(ov);
	return err;
}

void lfs_ovl_free(struct lfs_ovl *ov)
{
	GHashTableIter it;
	gpointer v;
	g_autoptr(GPtrArray) nodes = g_ptr_array_new();

	if (!ov)
		return;
	/* At unmount the kernel's counts drop to zero without forgets:
	 * drop the table's reference on every node.  Names hold their
	 * parents, so the aliases go first, then the nodes. */
	g_hash_table_iter_init(&it, ov->by_id);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(nodes, v);
	for (guint i = 0; i < nodes->len; i++) {
		struct lfs_onode *n = nodes->pdata[i];

		while (n->aliases->len) {
			struct lfs_alias *a = g_ptr_array_steal_index(
				n->aliases, n->aliases->len - 1);

			alias_free(ov, a);
		}
	}
	for (guint i = 0; i < nodes->len; i++)
		lfs_ovl_put(ov, nodes->pdata[i]);
	g_hash_table_unref(ov->by_id);
	g_hash_table_unref(ov->by_ino);
	g_mutex_clear(&ov->lock);
	g_free(ov);
}

struct lfs_onode *lfs_ovl_get(struct lfs_ovl *ov, uint64_t id)
{
	struct lfs_onode *n;

	g_mutex_lock(&ov->lock);
	n = g_hash_table_lookup(ov->by_id, &id);
	if (n)
		lfs_onode_ref(n);
	g_mutex_unlock(&ov->lock);
	return n;
}

/* Unlink @n from the tables (lock held); the caller drops the table's
 * reference outside the lock. */
static void unhash(struct lfs_ovl *ov, struct lfs_onode *n)
{
	g_hash_table_remove(ov->by_id, &n->id);
	if (n->hashed && g_hash_table_lookup(ov->by_ino, &n->ino) == n)
		g_hash_table_remove(ov->by_ino, &n->ino);
	n->hashed = false;
	if (n->list) {
		g_queue_unlink(&ov->lru, &n->lru);
		ov->list_bytes -= lfs_olist_bytes(n->list);
	}
	ov->nodes--;
}

void lfs_ovl_forget(struct lfs_ovl *ov, uint64_t id, uint64_t count)
{
	struct lfs_onode *n;
	struct lfs_olist *list = NULL;
	bool gone = false;

	g_mutex_lock(&ov->lock);
	n = g_hash_table_lookup(ov->by_id, &id);
	if (n && n != ov->root) {
		n->nlookup -= MIN(count, n->nlookup);
		if (n->nlookup == 0) {
			unhash(ov, n);
			list = g_steal_pointer(&n->list);
			gone = true;
		}
	}
	g_mutex_unlock(&ov->lock);
	if (list)
		lfs_olist_unref(list);
	if (gone)
		lfs_ovl_put(ov, n);
}

void lfs_ovl_count(struct lfs_ovl *ov, struct lfs_onode *n)
{
	g_mutex_lock(&ov->lock);
	n->nlookup++;
	g_mutex_unlock(&ov->lock);
}

static bool has_alias(const struct lfs_onode *n, const struct lfs_onode *p,
		      const char *name)
{
	for (guint i = 0; i < n->aliases->len; i++) {
		const struct lfs_alias *a = n->aliases->pdata[i];

		if (a->parent == p && strcmp(a->name, name) == 0)
			return true;
	}
	return false;
}

/* Give @n the name @p/@name (lock held). */
static void add_alias(struct lfs_onode *n, struct lfs_onode *p,
		      const char *name)
{
	struct lfs_alias *a;

	if (!p || has_alias(n, p, name))
		return;
	a = g_new(struct lfs_alias, 1);
	a->parent = lfs_onode_ref(p);
	a->name = g_strdup(name);
	g_ptr_array_add(n->aliases, a);
}

/* Take @p/@name from @n (lock held); the alias is returned to be freed
 * outside the lock, or NULL. */
static struct lfs_alias *take_alias(struct lfs_onode *n,
				    const struct lfs_onode *p,
				    const char *name)
{
	for (guint i = 0; i < n->aliases->len; i++) {
		struct lfs_alias *a = n->aliases->pdata[i];

		if (a->parent == p && strcmp(a->name, name) == 0)
			return g_ptr_array_steal_index(n->aliases, i);
	}
	return NULL;
}

/* Whether node @n, found by the ino of @p/@name (resolved as @res), is
 * the object that name shows (lock held).  Names of one object share its
 * ino, but so may two objects: a lower hardlink whose names the upper
 * does not all hold (one under a directory renamed since, which the
 * copy-up did not find) shows the lower file at the names left out, and
 * the copy (with the lower ino as its origin) at the others; and an
 * upper that lies may give any object any number.  An upper object is
 * known by its upper inode (a node whose upper has not shown its number
 * yet, copied up by another node, by the name); a lower one joins a
 * node that has no upper, or one whose copy-up is linking the names
 * (that name may be one, in the upper a moment later). */
static bool same_object(const struct lfs_onode *n, const struct lfs_onode *p,
			const char *name, const struct lfs_ovl_res *res)
{
	if (n->type != res->type)
		return false; /* cannot happen unless the upper lies */
	if (res->upper)
		return n->upper_ino ? n->upper_ino == res->upper_ino
				    : has_alias(n, p, name);
	return !n->upper_ino || n->linking;
}

/* The node the table has for @p/@name, resolved as @res, or NULL (lock
 * held); then *again if @res was found below where a node of its number
 * has an upper: it may be a name linked to that copy since it was
 * resolved (see lfs_ovl_lookup()). */
static struct lfs_onode *find(struct lfs_ovl *ov, struct lfs_onode *p,
			      const char *name, const struct lfs_ovl_res *res,
			      bool *again)
{
	struct lfs_onode *n = g_hash_table_lookup(ov->by_ino, &res->ino);

	*again = false;
	if (n && !same_object(n, p, name, res)) {
		*again = !res->upper;
		n = NULL;
	}
	return n;
}

/* The node for @res, found or made, with a kernel count and a reference
 * for the caller, named @p/@name; with @retry, NULL if find() says to
 * resolve the name again. */
static struct lfs_onode *node_for(struct lfs_ovl *ov, struct lfs_onode *p,
				  const char *name, struct lfs_ovl_res *res,
				  bool retry)
{
	struct lfs_onode *n;
	bool again;

	g_mutex_lock(&ov->lock);
	n = find(ov, p, name, res, &again);
	if (!n && again && retry) {
		g_mutex_unlock(&ov->lock);
		return NULL;
	}
	if (!n) {
		n = node_new(res->type, res->ino);
		n->id = ov->next_id++;
		n->upper_ino = res->upper ? res->upper_ino : 0;
		n->upper = res->upper;
		n->lower = res->lower;
		n->opaque = res->opaque;
		n->metacopy = res->metacopy;
		/* A new node takes the path (a readdirplus makes one per
		 * entry: no copy to make). */
		n->lower_path = g_steal_pointer(&res->lower_path);
		g_hash_table_insert(ov->by_id, &n->id, n);
		if (!g_hash_table_contains(ov->by_ino, &n->ino)) {
			g_hash_table_insert(ov->by_ino, &n->ino, n);
			n->hashed = true;
		}
		ov->nodes++;
	}
	n->nlookup++;
	add_alias(n, p, name);
	lfs_onode_ref(n);
	g_mutex_unlock(&ov->lock);
	/* One name of a metacopy file may know where its data is when the
	 * name it was first found by did not (an older upper). */
	if (res->lower) {
		g_mutex_lock(&n->lock);
		if (!n->lower) {
			n->lower = res->lower;
			g_free(n->lower_path);
			n->lower_path = g_strdup(res->lower_path);
		}
		g_mutex_unlock(&n->lock);
	}
	return n;
}

/* ---- resolution ------------------------------------------------------ */

/* A snapshot of @n's state. */
static void state(struct lfs_onode *n, struct ovl_state *s)
{
	g_mutex_lock(&n->lock);
	s->upper = n->upper;
	s->lower = n->lower;
	s->opaque = n->opaque;
	s->metacopy = n->metacopy;
	g_mutex_unlock(&n->lock);
}

/* Whether @n still has a name (the root always). */
static bool named(struct lfs_ovl *ov, struct lfs_onode *n)
{
	bool named;

	g_mutex_lock(&ov->lock);
	named = n == ov->root || n->aliases->len;
	g_mutex_unlock(&ov->lock);
	return named;
}

/* The name in the work directory of @n's upper if @n is an orphan (no
 * name left), for g_free, else NULL. */
static char *orphan_name(struct lfs_ovl *ov, struct lfs_onode *n)
{
	char *name = NULL;

	g_mutex_lock(&ov->lock);
	if (!n->aliases->len && n->orphan)
		name = g_strdup(n->orphan);
	g_mutex_unlock(&ov->lock);
	return name;
}

int lfs_ovl_dirfd(struct lfs_ovl *ov, struct lfs_onode *n)
{
	struct lfs_onode *p = NULL;
	g_autofree char *name = NULL;
	int fd, pfd, err;

	g_mutex_lock(&n->lock);
	fd = n->dirfd;
	err = n->upper ? 0 : -ENOENT;
	g_mutex_unlock(&n->lock);
	if (fd >= 0 || err)
		return fd >= 0 ? fd : err;
	name = orphan_name(ov, n);
	if (name) {
		pfd = ov->workfd;
	} else {
		err = lfs_ovl_alias(ov, n, &p, &name);
		if (err)
			return err;
		pfd = lfs_ovl_dirfd(ov, p);
		if (pfd < 0) {
			lfs_ovl_put(ov, p);
			return pfd;
		}
	}
	fd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	lfs_ovl_put(ov, p);
	if (err)
		return err;
	g_mutex_lock(&n->lock);
	if (n->dirfd < 0) {
		n->dirfd = fd;
	} else {
		close(fd); /* a racing opener was first */
		fd = n->dirfd;
	}
	g_mutex_unlock(&n->lock);
	return fd;
}

int lfs_ovl_alias(struct lfs_ovl *ov, struct lfs_onode *n,
		  struct lfs_onode **parent, char **name)
{
	struct lfs_alias *a;

	g_mutex_lock(&ov->lock);
	if (!n->aliases->len) {
		g_mutex_unlock(&ov->lock);
		return -ESTALE;
	}
	a = n->aliases->pdata[0];
	*parent = lfs_onode_ref(a->parent);
	*name = g_strdup(a->name);
	g_mutex_unlock(&ov->lock);
	return 0;
}

/* Look @name up in the lower directory @dir (a lower number). */
static int lower_child(struct lfs_ovl *ov, uint64_t dir, const char *name,
		       struct lfs_obj *out)
{
	return lfs_tree_lookup(ov->lower, dir, name, out);
}

/* The lower object at canonical @path ("" the root). */
static int lower_path_obj(struct lfs_ovl *ov, const char *path,
			  struct lfs_obj *out)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	int err = lfs_tree_obj(ov->lower, LFS_ROOT_INO, out);

	for (char **p = parts; !err && *p; p++) {
		if (!**p)
			continue;
		if (out->type != S_IFDIR)
			return -ENOTDIR;
		err = lower_child(ov, out->ino, *p, out);
	}
	return err;
}

static char *join(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}

/* Where the lower part of @name in @ps (parent @p) is: @redirect if set
 * (absolute from the root, or a name beside it), else @name.  Fills
 * @res->lower and lower_path when something of type @want is there. */
static void find_lower(struct lfs_ovl *ov, struct lfs_onode *p,
		       const struct ovl_state *ps, const char *name,
		       const char *redirect, uint32_t want,
		       struct lfs_ovl_res *res)
{
	g_autofree char *ppath = NULL, *path = NULL;
	struct lfs_obj o;
	int err;

	if (redirect && redirect[0] == '/') {
		path = g_strdup(redirect + strspn(redirect, "/"));
		err = lower_path_obj(ov, path, &o);
	} else {
		if (!ps->lower || ps->opaque)
			return;
		g_mutex_lock(&p->lock);
		ppath = g_strdup(p->lower_path);
		g_mutex_unlock(&p->lock);
		if (!ppath)
			return;
		if (redirect && strchr(redirect, '/'))
			return; /* a relative redirect is one name */
		path = join(ppath, redirect ? redirect : name);
		err = lower_child(ov, ps->lower, redirect ? redirect : name,
				  &o);
	}
	if (err || o.type != want)
		return;
	res->lower = o.ino;
	res->lower_path = g_steal_pointer(&path);
}

/* The links lower object @lower has below (0 if it is gone). */
static nlink_t lower_nlink(struct lfs_ovl *ov, uint64_t lower)
{
	struct lfs_obj o;
	struct stat st;

	if (lfs_tree_obj(ov->lower, lower, &o) < 0)
		return 0;
	lfs_tree_stat(ov->lower, &o, &st);
	return st.st_nlink;
}

/* @name found in the upper as @e. */
static void resolve_upper(struct lfs_ovl *ov, struct lfs_onode *p,
			  const struct ovl_state *ps, const char *name,
			  const struct lfs_live_ent *e,
			  struct lfs_ovl_res *res)
{
	uint64_t own = LFS_UPPER_INO_BIT | (uint64_t)e->st.st_ino;

	res->upper = true;
	res->upper_nlink = e->st.st_nlink;
	res->upper_ino = e->st.st_ino;
	res->type = e->st.st_mode & S_IFMT;
	if (e->kind == LFS_LIVE_DIR) {
		res->opaque = e->opaque;
		if (!e->opaque)
			find_lower(ov, p, ps, name, e->redirect, S_IFDIR, res);
		/* A merged directory is its lower one. */
		res->ino = res->lower ? res->lower
				      : (e->origin ? e->origin : own);
		return;
	}
	if (e->metacopy) {
		res->metacopy = true;
		find_lower(ov, p, ps, name, e->redirect, S_IFREG, res);
	}
	res->ino = e->origin ? e->origin
			     : (res->lower ? res->lower : own);
	/* A copy without our origin (kernel overlayfs made it) of a lower
	 * hardlink: overlayfs broke the link at copy-up, so the lower's
	 * other names are other files, and it gives the copy the upper's
	 * number (ovl_getattr()); so do we, or two files would share one. */
	if (!e->origin && res->lower && lower_nlink(ov, res->lower) > 1)
		res->ino = own;
}

int lfs_ovl_resolve(struct lfs_ovl *ov, struct lfs_onode *p, const char *name,
		    struct lfs_ovl_res *res)
{
	struct ovl_state ps;
	struct lfs_live_ent e;
	struct lfs_obj o;
	int err;

	memset(res, 0, sizeof(*res));
	if (strlen(name) > LFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (p->type != S_IFDIR)
		return -ENOTDIR;
	state(p, &ps);
	if (ps.upper) {
		int fd = lfs_ovl_dirfd(ov, p);

		if (fd < 0)
			return fd == -ENOENT ? -EIO : fd;
		err = lfs_live_stat(ov->upper, fd, name, &e);
		if (err == -EIO)
			lfs_err(ov->lg, "upper: \"%s\": its overlay xattrs "
					"cannot be read (a value too long, or "
					"the file system failed): EIO",
				name);
		if (err)
			return err;
		if (e.kind == LFS_LIVE_WHITEOUT)
			return -ENOENT;
		if (e.kind != LFS_LIVE_ABSENT) {
			resolve_upper(ov, p, &ps, name, &e, res);
			lfs_live_ent_clear(&e);
			return 0;
		}
	}
	if (!ps.lower || ps.opaque)
		return -ENOENT;
	err = lower_child(ov, ps.lower, name, &o);
	if (err)
		return err;
	res->type = o.type;
	res->lower = o.ino;
	res->ino = o.ino;
	g_mutex_lock(&p->lock);
	if (p->lower_path)
		res->lower_path = join(p->lower_path, name);
	g_mutex_unlock(&p->lock);
	return 0;
}

void lfs_ovl_res_clear(struct lfs_ovl_res *res)
{
	g_clear_pointer(&res->lower_path, g_free);
}

/* A name found below whose object has a node with an upper (and no
 * copy-up linking names) is either a name that copy-up left out (another
 * object) or one it linked after it was found: found again, it is in the
 * upper then, or below for good (every copy-up of it has ended). */
int lfs_ovl_lookup(struct lfs_ovl *ov, struct lfs_onode *parent,
		   const char *name, struct lfs_onode **out)
{
	for (bool retry = true;; retry = false) {
		struct lfs_ovl_res res;
		int err = lfs_ovl_resolve(ov, parent, name, &res);

		if (err)
			return err;
		*out = node_for(ov, parent, name, &res, retry);
		lfs_ovl_res_clear(&res);
		if (*out)
			return 0;
	}
}

int lfs_ovl_node(struct lfs_ovl *ov, struct lfs_onode *parent,
		 const char *name, struct lfs_onode **out)
{
	int err = lfs_ovl_lookup(ov, parent, name, out);

	if (err == 0)
		lfs_ovl_forget(ov, (*out)->id, 1);
	return err;
}

int lfs_ovl_child(struct lfs_ovl *ov, struct lfs_onode *parent,
		  const char *name, struct lfs_ovl_res *res,
		  struct lfs_onode **node)
{
	*node = NULL;
	/* Found below, a name is found again as lfs_ovl_lookup() does. */
	for (bool retry = true;; retry = false) {
		int err = lfs_ovl_resolve(ov, parent, name, res);
		bool again;

		if (err)
			return err;
		g_mutex_lock(&ov->lock);
		*node = find(ov, parent, name, res, &again);
		if (*node)
			lfs_onode_ref(*node);
		g_mutex_unlock(&ov->lock);
		if (!again || !retry)
			return 0;
		lfs_ovl_res_clear(res);
	}
}

void lfs_ovl_created(struct lfs_ovl *ov, struct lfs_onode *parent,
		     const char *name, const struct stat *st, bool opaque,
		     struct lfs_onode **out)
{
	/* What resolve_upper() would find: an object of the upper's alone,
	 * numbered by its upper inode. */
	struct lfs_ovl_res res = {
		.type = st->st_mode & S_IFMT,
		.ino = LFS_UPPER_INO_BIT | (uint64_t)st->st_ino,
		.upper = true,
		.upper_nlink = st->st_nlink,
		.upper_ino = st->st_ino,
		.opaque = S_ISDIR(st->st_mode) && opaque,
	};

	lfs_ovl_dir_changed(ov, parent);
	*out = node_for(ov, parent, name, &res, false);
}

bool lfs_ovl_lower_has(struct lfs_ovl *ov, struct lfs_onode *dir,
		       const char *name)
{
	struct ovl_state s;
	struct lfs_obj o;

	state(dir, &s);
	if (!s.lower || s.opaque)
		return false;
	return lower_child(ov, s.lower, name, &o) == 0;
}

struct lfs_onode *lfs_ovl_lower_dir_node(struct lfs_ovl *ov, const char *path)
{
	struct lfs_onode *n;
	struct ovl_state s;
	struct lfs_obj o;

	if (lower_path_obj(ov, path, &o) < 0 || o.type != S_IFDIR)
		return NULL;
	/* A merged directory's ino is its lower one's. */
	g_mutex_lock(&ov->lock);
	n = g_hash_table_lookup(ov->by_ino, &o.ino);
	if (n && (n->type != S_IFDIR || (n != ov->root && !n->aliases->len)))
		n = NULL;
	if (n)
		lfs_onode_ref(n);
	g_mutex_unlock(&ov->lock);
	if (!n)
		return NULL;
	state(n, &s);
	if (s.lower != o.ino || s.opaque) {
		lfs_ovl_put(ov, n);
		return NULL;
	}
	return n;
}

int lfs_ovl_lower_obj(struct lfs_ovl *ov, struct lfs_onode *n,
		      struct lfs_obj *out)
{
	struct ovl_state s;

	state(n, &s);
	if (!s.lower)
		return -ENOENT;
	return lfs_tree_obj(ov->lower, s.lower, out);
}

/* ---- names ----------------------------------------------------------- */

void lfs_ovl_linked(struct lfs_ovl *ov, struct lfs_onode *n,
		    struct lfs_onode *parent, const char *name)
{
	g_mutex_lock(&ov->lock);
	add_alias(n, parent, name);
	n->nlookup++;
	g_mutex_unlock(&ov->lock);
	lfs_ovl_dir_changed(ov, parent);
}

void lfs_ovl_unlinked(struct lfs_ovl *ov, struct lfs_onode *n,
		      struct lfs_onode *parent, const char *name, bool last)
{
	struct lfs_alias *a;

	g_mutex_lock(&ov->lock);
	a = take_alias(n, parent, name);
	/* The upper may give the inode number to a new file now: this node
	 * (still open somewhere, perhaps) must not be found for it. */
	if (last && n->hashed &&
	    g_hash_table_lookup(ov->by_ino, &n->ino) == n) {
		g_hash_table_remove(ov->by_ino, &n->ino);
		n->hashed = false;
	}
	g_mutex_unlock(&ov->lock);
	if (a)
		alias_free(ov, a);
	lfs_ovl_dir_changed(ov, parent);
}

void lfs_ovl_copying(struct lfs_ovl *ov, struct lfs_onode *n,
		     uint64_t upper_ino)
{
	g_mutex_lock(&ov->lock);
	n->upper_ino = upper_ino;
	n->linking = upper_ino != 0;
	g_mutex_unlock(&ov->lock);
}

GPtrArray *lfs_ovl_copied(struct lfs_ovl *ov, struct lfs_onode *n,
			  GHashTable *seen)
{
	GPtrArray *names = NULL;

	g_mutex_lock(&ov->lock);
	for (guint i = 0; i < n->aliases->len; i++) {
		const struct lfs_alias *a = n->aliases->pdata[i];
		char *key = g_strdup_printf("%" G_GUINT64_FORMAT "/%s",
					    a->parent->id, a->name);
		struct lfs_alias *c;

		if (!g_hash_table_add(seen, key))
			continue;
		c = g_new(struct lfs_alias, 1);
		c->parent = lfs_onode_ref(a->parent);
		c->name = g_strdup(a->name);
		if (!names)
			names = g_ptr_array_new();
		g_ptr_array_add(names, c);
	}
	/* No name joined since the last call: every one is linked, and a
	 * name found below from now on is another object (one found below
	 * before this is resolved again, see lfs_ovl_lookup()). */
	if (!names)
		n->linking = false;
	g_mutex_unlock(&ov->lock);
	return names;
}

bool lfs_ovl_in_use(struct lfs_ovl *ov, struct lfs_onode *n,
		    const struct lfs_onode *parent, const char *name)
{
	bool other = false, in_use;

	g_mutex_lock(&ov->lock);
	for (guint i = 0; i < n->aliases->len; i++) {
		const struct lfs_alias *a = n->aliases->pdata[i];

		if (a->parent != parent || strcmp(a->name, name) != 0)
			other = true;
	}
	/* The table's reference and the caller's; any more is an open file
	 * (or a call under way, for which keeping the upper a little
	 * longer does no harm). */
	in_use = !other && n->nlookup &&
		 (n->type == S_IFDIR || g_atomic_int_get(&n->refs) > 2);
	g_mutex_unlock(&ov->lock);
	return in_use;
}

void lfs_ovl_orphaned(struct lfs_ovl *ov, struct lfs_onode *n, char *name)
{
	char *old;

	g_mutex_lock(&ov->lock);
	old = n->orphan;
	n->orphan = name;
	g_mutex_unlock(&ov->lock);
	/* Cannot happen: a node loses its last name once. */
	if (old && ov->drop_orphan)
		ov->drop_orphan(ov->ctx, old);
	g_free(old);
}

void lfs_ovl_renamed(struct lfs_ovl *ov, struct lfs_onode *n,
		     struct lfs_onode *parent, const char *name,
		     struct lfs_onode *newparent, const char *newname)
{
	struct lfs_alias *a;

	g_mutex_lock(&ov->lock);
	a = take_alias(n, parent, name);
	add_alias(n, newparent, newname);
	g_mutex_unlock(&ov->lock);
	if (a)
		alias_free(ov, a);
	lfs_ovl_dir_changed(ov, parent);
	if (newparent != parent)
		lfs_ovl_dir_changed(ov, newparent);
}

uint64_t lfs_ovl_parent_id(struct lfs_ovl *ov, struct lfs_onode *n)
{
	uint64_t id = LFS_ROOT_INO;

	g_mutex_lock(&ov->lock);
	if (n != ov->root && n->aliases->len)
		id = ((struct lfs_alias *)n->aliases->pdata[0])->parent->id;
	g_mutex_unlock(&ov->lock);
	return id;
}

/* ---- attributes ------------------------------------------------------ */

/* Where @n's upper is: a directory descriptor and a name in it ("." for
 * the root), borrowed from @n's parent, which *hold keeps alive; for an
 * orphan, the work directory and its name there (*hold NULL). */
static int upper_at(struct lfs_ovl *ov, struct lfs_onode *n,
		    struct lfs_onode **hold, char **name)
{
	int fd, err;

	*hold = NULL;
	if (n == ov->root) {
		*name = g_strdup(".");
		return lfs_ovl_dirfd(ov, n);
	}
	*name = orphan_name(ov, n);
	if (*name)
		return ov->workfd;
	err = lfs_ovl_alias(ov, n, hold, name);
	if (err)
		return err;
	fd = lfs_ovl_dirfd(ov, *hold);
	if (fd < 0) {
		lfs_ovl_put(ov, g_steal_pointer(hold));
		g_clear_pointer(name, g_free);
	}
	return fd;
}

int lfs_ovl_upper_at(struct lfs_ovl *ov, struct lfs_onode *n,
		     struct lfs_onode **hold, char **name)
{
	return upper_at(ov, n, hold, name);
}

/* Subdirectories of merged directory @n, for its link count. */
static uint32_t merged_subdirs(struct lfs_ovl *ov, struct lfs_onode *n)
{
	struct lfs_olist *l;
	uint32_t k;

	if (lfs_ovl_dirlist(ov, n, &l) < 0)
		return 0;
	k = l->nsubdirs;
	lfs_olist_unref(l);
	return k;
}

static int stat_upper(struct lfs_ovl *ov, struct lfs_onode *n,
		      const struct ovl_state *s, struct stat *st)
{
	struct lfs_onode *hold;
	g_autofree char *name = NULL;
	int fd = upper_at(ov, n, &hold, &name);
	bool orphan = !hold && n != ov->root;
	int err = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	else
		lfs_live_apply_override(ov->upper, fd, name, st);
	lfs_ovl_put(ov, hold);
	if (err)
		return err == -ENOENT ? -ESTALE : err;
	if ((st->st_mode & S_IFMT) != n->type)
		return -ESTALE;
	/* An orphan: the work directory's name for it is ours, and a
	 * removed directory holds nothing. */
	if (orphan && S_ISDIR(st->st_mode))
		st->st_nlink = 0;
	else if (orphan && st->st_nlink)
		st->st_nlink--;
	if (s->metacopy && s->lower) {
		struct lfs_obj o;
		struct stat lst;

		/* The data, and so the blocks it takes, are below. */
		if (lfs_tree_obj(ov->lower, s->lower, &o) == 0) {
			lfs_tree_stat(ov->lower, &o, &lst);
			st->st_blocks = lst.st_blocks;
		}
	}
	if (S_ISDIR(st->st_mode) && s->lower && !s->opaque && !orphan)
		st->st_nlink = 2 + merged_subdirs(ov, n);
	return 0;
}

int lfs_ovl_stat(struct lfs_ovl *ov, struct lfs_onode *n, struct stat *st)
{
	struct ovl_state s;
	struct lfs_obj o;
	int err;

	state(n, &s);
	if (s.upper) {
		err = stat_upper(ov, n, &s, st);
	} else {
		err = lfs_tree_obj(ov->lower, s.lower, &o);
		if (err == 0)
			lfs_tree_stat(ov->lower, &o, st);
		/* Removed (still open): the lower's links are not its own,
		 * as a local file system counts (overlayfs shows them). */
		if (err == 0 && !named(ov, n))
			st->st_nlink = 0;
	}
	if (err)
		return err;
	st->st_ino = n->ino;
	return 0;
}

int lfs_ovl_readlink(struct lfs_ovl *ov, struct lfs_onode *n, char **target)
{
	struct ovl_state s;
	struct lfs_onode *hold;
	g_autofree char *name = NULL;
	struct lfs_obj o;
	const char *t;
	int fd, err;

	if (n->type != S_IFLNK)
		return -EINVAL;
	state(n, &s);
	if (!s.upper) {
		err = lfs_tree_obj(ov->lower, s.lower, &o);
		if (err)
			return err;
		t = lfs_tree_readlink(ov->lower, &o);
		if (!t)
			return -EINVAL;
		*target = g_strdup(t);
		return 0;
	}
	fd = upper_at(ov, n, &hold, &name);
	if (fd < 0)
		return fd;
	*target = lfs_live_readlink(fd, name, &err);
	lfs_ovl_put(ov, hold);
	return err;
}

/* getxattr(2) of @xname, or listxattr(2) when @xname is NULL, on @n: its
 * upper if it has one, else the lower object. */
static ssize_t xattrs(struct lfs_ovl *ov, struct lfs_onode *n,
		      const char *xname, void *buf, size_t size)
{
	struct ovl_state s;
	struct lfs_onode *hold;
	g_autofree char *name = NULL;
	struct lfs_obj o;
	ssize_t r;
	int fd;

	state(n, &s);
	if (!s.upper) {
		int err = lfs_tree_obj(ov->lower, s.lower, &o);

		if (err)
			return err;
		return xname ? lfs_tree_getxattr(ov->lower, &o, xname, buf,
						 size)
			     : lfs_tree_listxattr(ov->lower, &o, buf, size);
	}
	fd = upper_at(ov, n, &hold, &name);
	if (fd < 0)
		return fd;
	r = xname ? lfs_live_getxattr(ov->upper, fd, name, xname, buf, size)
		  : lfs_live_listxattr(ov->upper, fd, name, buf, size);
	lfs_ovl_put(ov, hold);
	return r;
}

ssize_t lfs_ovl_getxattr(struct lfs_ovl *ov, struct lfs_onode *n,
			 const char *xname, void *buf, size_t size)
{
	return xattrs(ov, n, xname, buf, size);
}

ssize_t lfs_ovl_listxattr(struct lfs_ovl *ov, struct lfs_onode *n,
			  char *buf, size_t size)
{
	return xattrs(ov, n, NULL, buf, size);
}

struct lfs_tree *lfs_ovl_lower_tree(struct lfs_ovl *ov)
{
	return ov->lower;
}

const struct lfs_live *lfs_ovl_upper(struct lfs_ovl *ov)
{
	return ov->upper;
}

const struct lfs_logger *lfs_ovl_logger(struct lfs_ovl *ov)
{
	return ov->lg;
}

void lfs_ovl_stats(struct lfs_ovl *ov, struct lfs_ovl_stats *st)
{
	memset(st, 0, sizeof(*st));
	g_mutex_lock(&ov->lock);
	st->nodes = ov->nodes;
	st->listings = ov->listings;
	g_mutex_unlock(&ov->lock);
}
