/* The changes an upper makes to the image below it (changes.h). */
#include <errno.h>
#include <string.h>

#include "layerfs/changes.h"

struct walk {
	struct lfs_ovl *ov;
	struct lfs_tree *lower;
	lfs_change_fn fn;
	void *ctx;
};

char lfs_change_letter(enum lfs_change_kind kind)
{
	switch (kind) {
	case LFS_CHANGE_ADDED:
		return 'A';
	case LFS_CHANGE_CHANGED:
		return 'C';
	case LFS_CHANGE_DELETED:
		return 'D';
	case LFS_CHANGE_KEPT:
		break;
	}
	return '\0';
}

static gint name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name of merged directory @dir and of the image's directory
 * @ldir (0: the image has none there), once each, in byte order. */
static int union_names(struct walk *w, struct lfs_onode *dir, uint64_t ldir,
		       GPtrArray **out)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	struct lfs_olist *ml = NULL;
	struct lfs_dirlist *ll = NULL;
	int err = lfs_ovl_dirlist(w->ov, dir, &ml);

	if (err)
		return err;
	for (uint32_t i = 0; i < ml->n; i++)
		g_ptr_array_add(names, g_strdup(ml->ents[i].name));
	lfs_olist_unref(ml);
	if (ldir) {
		err = lfs_tree_dirlist(w->lower, ldir, &ll);
		if (err)
			return err;
		for (uint32_t i = 0; i < ll->n; i++)
			g_ptr_array_add(names, g_strndup(ll->ents[i].name,
							 ll->ents[i].name_len));
		lfs_dirlist_unref(ll);
	}
	g_ptr_array_sort(names, name_cmp);
	/* Drop the second of each name both lists have. */
	for (guint i = 1; i < names->len;) {
		if (strcmp(names->pdata[i], names->pdata[i - 1]) == 0)
			g_ptr_array_remove_index(names, i);
		else
			i++;
	}
	*out = g_steal_pointer(&names);
	return 0;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The xattr names of merged node @n (@lo NULL) or of the image's object
 * @lo, sorted; NULL on failure. */
static GPtrArray *xattr_names(struct walk *w, struct lfs_onode *n,
			      const struct lfs_obj *lo)
{
	g_autofree char *buf = NULL;
	GPtrArray *names;
	ssize_t len = lo ? lfs_tree_listxattr(w->lower, lo, NULL, 0)
			 : lfs_ovl_listxattr(w->ov, n, NULL, 0);

	if (len < 0)
		return NULL;
	buf = g_malloc((size_t)len + 1);
	len = lo ? lfs_tree_listxattr(w->lower, lo, buf, (size_t)len)
		 : lfs_ovl_listxattr(w->ov, n, buf, (size_t)len);
	if (len < 0)
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	for (const char *x = buf; x < buf + len; x += strlen(x) + 1)
		g_ptr_array_add(names, g_strdup(x));
	g_ptr_array_sort(names, name_cmp);
	return names;
}

/* The value of xattr @name of @n or @lo (g_bytes_unref), or NULL. */
static GBytes *xattr_value(struct walk *w, struct lfs_onode *n,
			   const struct lfs_obj *lo, const char *name)
{
	ssize_t len = lo ? lfs_tree_getxattr(w->lower, lo, name, NULL, 0)
			 : lfs_ovl_getxattr(w->ov, n, name, NULL, 0);
	char *buf;

	if (len < 0)
		return NULL;
	buf = g_malloc((size_t)len + 1);
	len = lo ? lfs_tree_getxattr(w->lower, lo, name, buf, (size_t)len)
		 : lfs_ovl_getxattr(w->ov, n, name, buf, (size_t)len);
	if (len < 0) {
		g_free(buf);
		return NULL;
	}
	return g_bytes_new_take(buf, (gsize)len);
}

/* Whether @n and @lo have the same xattrs, names and values (any that
 * cannot be read counts as a difference). */
static bool same_xattrs(struct walk *w, struct lfs_onode *n,
			const struct lfs_obj *lo)
{
	g_autoptr(GPtrArray) mine = xattr_names(w, n, NULL);
	g_autoptr(GPtrArray) theirs = xattr_names(w, NULL, lo);

	if (!mine || !theirs || mine->len != theirs->len)
		return false;
	for (guint i = 0; i < mine->len; i++) {
		g_autoptr(GBytes) a = NULL, b = NULL;

		if (strcmp(mine->pdata[i], theirs->pdata[i]) != 0)
			return false;
		a = xattr_value(w, n, NULL, mine->pdata[i]);
		b = xattr_value(w, NULL, lo, mine->pdata[i]);
		if (!a || !b || !g_bytes_equal(a, b))
			return false;
	}
	return true;
}

/* Whether merged directory @n (at @path, resolved as @res) differs from
 * the image's object @lo there: another type, mode, owner, mtime or
 * xattrs; opaque; or renamed (its lower part from elsewhere). */
static int dir_changed(struct walk *w, struct lfs_onode *n,
		       const struct lfs_ovl_res *res, const char *path,
		       const struct lfs_obj *lo, bool *changed)
{
	struct stat ms, ls;
	int err = lfs_ovl_stat(w->ov, n, &ms);

	if (err)
		return err;
	lfs_tree_stat(w->lower, lo, &ls);
	*changed = lo->type != S_IFDIR || res->opaque ||
		   (res->upper && res->lower_path &&
		    strcmp(res->lower_path, path) != 0) ||
		   ms.st_mode != ls.st_mode || ms.st_uid != ls.st_uid ||
		   ms.st_gid != ls.st_gid ||
		   !same_time(&ms.st_mtim, &ls.st_mtim) ||
		   !same_xattrs(w, n, lo);
	return 0;
}

static int emit(struct walk *w, enum lfs_change_kind kind, const char *path,
		const char *name, uint32_t type, uint32_t old_type,
		struct lfs_onode *n)
{
	struct lfs_change c = { .kind = kind, .path = path, .name = name,
				.type = type, .old_type = old_type,
				.node = n };

	return w->fn(w->ctx, &c);
}

static int walk_dir(struct walk *w, struct lfs_onode *dir, const char *path,
		    uint64_t ldir);

/* One name of merged directory @dir at @path (the image's directory
 * there: @ldir, or 0). */
static int walk_name(struct walk *w, struct lfs_onode *dir, const char *path,
		     uint64_t ldir, const char *name)
{
	g_autofree char *cpath = path[0] ? g_strconcat(path, "/", name, NULL)
					 : g_strdup(name);
	struct lfs_ovl_res res;
	struct lfs_onode *n = NULL;
	struct lfs_obj lo = { 0 };
	enum lfs_change_kind kind;
	bool in_m, in_l = false, changed;
	int err = lfs_ovl_resolve(w->ov, dir, name, &res);

	if (err && err != -ENOENT)
		return err;
	in_m = err == 0;
	if (ldir) {
		err = lfs_tree_lookup(w->lower, ldir, name, &lo);
		if (err && err != -ENOENT)
			goto out;
		in_l = err == 0;
	}
	err = 0;
	if (!in_m) {
		/* Gone since it was listed: nothing to say. */
		if (in_l)
			err = emit(w, LFS_CHANGE_DELETED, cpath, name, lo.type,
				   lo.type, NULL);
		goto out;
	}
	/* The very object the image has there: unchanged, and so is all
	 * below it (only an upper directory holds changes). */
	if (in_l && !res.upper && res.lower == lo.ino)
		goto out;
	/* Counted, as a kernel lookup would: the node stays in the table
	 * (so calls by its id reach it) until its subtree is done. */
	err = lfs_ovl_lookup(w->ov, dir, name, &n);
	if (err == -ENOENT)
		err = 0; /* gone since it was resolved */
	if (err || !n)
		goto out;
	if (!in_l) {
		kind = LFS_CHANGE_ADDED;
	} else if (n->type != S_IFDIR) {
		kind = LFS_CHANGE_CHANGED;
	} else {
		err = dir_changed(w, n, &res, cpath, &lo, &changed);
		if (err)
			goto out;
		kind = changed ? LFS_CHANGE_CHANGED : LFS_CHANGE_KEPT;
	}
	err = emit(w, kind, cpath, name, n->type, in_l ? lo.type : 0, n);
	if (!err && n->type == S_IFDIR)
		err = walk_dir(w, n, cpath,
			       in_l && lo.type == S_IFDIR ? lo.ino : 0);
out:
	if (n) {
		lfs_ovl_forget(w->ov, n->id, 1);
		lfs_ovl_put(w->ov, n);
	}
	lfs_ovl_res_clear(&res);
	return err;
}

static int walk_dir(struct walk *w, struct lfs_onode *dir, const char *path,
		    uint64_t ldir)
{
	g_autoptr(GPtrArray) names = NULL;
	int err = union_names(w, dir, ldir, &names);

	for (guint i = 0; !err && i < names->len; i++)
		err = walk_name(w, dir, path, ldir, names->pdata[i]);
	return err;
}

int lfs_changes_walk(struct lfs_ovl *ov, lfs_change_fn fn, void *ctx)
{
	struct walk w = { .ov = ov, .lower = lfs_ovl_lower_tree(ov),
			  .fn = fn, .ctx = ctx };
	struct lfs_onode *root = lfs_ovl_get(ov, LFS_ROOT_INO);
	struct lfs_ovl_res res = { 0 };
	struct lfs_obj lo;
	bool changed = false;
	int err;

	if (!root)
		return -ESTALE;
	err = lfs_tree_obj(w.lower, LFS_ROOT_INO, &lo);
	if (!err) {
		g_mutex_lock(&root->lock);
		res.upper = root->upper;
		res.opaque = root->opaque;
		g_mutex_unlock(&root->lock);
		err = dir_changed(&w, root, &res, "", &lo, &changed);
	}
	if (!err)
		err = emit(&w, changed ? LFS_CHANGE_CHANGED : LFS_CHANGE_KEPT,
			   "", "", S_IFDIR, S_IFDIR, root);
	if (!err)
		err = walk_dir(&w, root, "", LFS_ROOT_INO);
	lfs_ovl_put(ov, root);
	return err;
}
