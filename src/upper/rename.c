/* rename(2) (cf. overlayfs dir.c, ovl_rename()), with RENAME_NOREPLACE
 * and RENAME_EXCHANGE, never EXDEV.
 *
 * A directory that has a part below keeps it when it moves: it is copied
 * up alone (not its contents), marked with overlay.redirect naming where
 * that part is (an absolute path from the root, as overlayfs writes with
 * redirect_dir=on), and renamed; its lower children are then found at
 * the redirect.  A directory made in the upper that moves to a name the
 * lower stack also has becomes opaque, or it would merge with what is
 * there.  A metacopy file keeps finding its data the same way.  The old
 * name gets a whiteout in the same step where the lower stack has one
 * there (RENAME_WHITEOUT).  A target directory that still hides lower
 * entries with whiteouts is first swapped for an empty opaque one, which
 * the rename then replaces. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/upper.h"

/* One side of a rename. */
struct side {
	struct lfs_onode *dir;
	const char *name;
	int fd; /* the directory's upper */
	struct lfs_ovl_res res;
	bool exists;
	struct lfs_onode *node; /* the kernel's node for it, or NULL */
};

static void side_clear(struct lfs_upper *u, struct side *s)
{
	lfs_ovl_res_clear(&s->res);
	lfs_ovl_put(u->ov, s->node);
}

static int side_get(struct lfs_upper *u, struct side *s)
{
	int err = lfs_ovl_child(u->ov, s->dir, s->name, &s->res, &s->node);

	s->exists = err == 0;
	return err == -ENOENT ? 0 : err;
}

static int set_xattr(struct lfs_upper *u, int dirfd, const char *name,
		     enum lfs_ovl_xattr key, const char *value)
{
	g_autofree char *path = lfs_live_proc_path(dirfd, name);

	if (lsetxattr(path, lfs_upper_xattr(u, key), value, strlen(value),
		      0) < 0)
		return -errno;
	return 0;
}

/* Mark @s's object (copied up) with where its lower part is, for its
 * move (see the top of this file). */
static int mark_moving(struct lfs_upper *u, struct side *s)
{
	struct lfs_onode *n = s->node;
	g_autofree char *redirect = NULL;
	bool opaque, metacopy, lower_part;

	g_mutex_lock(&n->lock);
	opaque = n->opaque;
	metacopy = n->metacopy;
	lower_part = n->lower != 0 && n->lower_path != NULL;
	if (lower_part)
		redirect = g_strconcat("/", n->lower_path, NULL);
	g_mutex_unlock(&n->lock);
	if (n->type == S_IFDIR && lower_part && !opaque)
		return set_xattr(u, s->fd, s->name, LFS_OVL_REDIRECT, redirect);
	if (n->type == S_IFREG && metacopy && lower_part)
		return set_xattr(u, s->fd, s->name, LFS_OVL_REDIRECT, redirect);
	return 0;
}

/* Whether directory @to has a lower part that could show something at a
 * name: a directory made in the upper that moves in must be opaque. */
static bool merged_dir(struct lfs_onode *to)
{
	bool merged;

	g_mutex_lock(&to->lock);
	merged = to->lower != 0 && !to->opaque;
	g_mutex_unlock(&to->lock);
	return merged;
}

static int make_opaque(struct lfs_upper *u, struct side *s)
{
	int err = set_xattr(u, s->fd, s->name, LFS_OVL_OPAQUE,
			    LFS_OVL_OPAQUE_YES);

	if (!err) {
		g_mutex_lock(&s->node->lock);
		s->node->opaque = true;
		g_mutex_unlock(&s->node->lock);
	}
	return err;
}

/* Copy @s's object up and mark it for its move into @to. */
static int prepare(struct lfs_upper *u, struct side *s, struct lfs_onode *to)
{
	bool opaque, lower_part;
	int err;

	if (!s->node) {
		err = lfs_ovl_node(u->ov, s->dir, s->name, &s->node);
		if (err)
			return err;
	}
	err = lfs_upper_copy_up(u, s->node, false, 0);
	if (err)
		return err;
	err = mark_moving(u, s);
	if (err || s->node->type != S_IFDIR)
		return err;
	g_mutex_lock(&s->node->lock);
	opaque = s->node->opaque;
	lower_part = s->node->lower != 0;
	g_mutex_unlock(&s->node->lock);
	if (!opaque && !lower_part && merged_dir(to))
		return make_opaque(u, s);
	return 0;
}

/* The merged view of directory @s holds nothing; if its upper still
 * hides lower entries, swap it for an empty opaque directory.  The one
 * swapped out is cleared, or with @keep kept (its name in *keep). */
static int clear_target_dir(struct lfs_upper *u, struct side *s, char **keep)
{
	g_autofree char *tmp = NULL, *path = NULL;
	struct lfs_olist *l;
	struct stat st;
	int err;

	if (!s->node) {
		err = lfs_ovl_node(u->ov, s->dir, s->name, &s->node);
		if (err)
			return err;
	}
	err = lfs_ovl_dirlist(u->ov, s->node, &l);
	if (err)
		return err;
	err = l->n ? -ENOTEMPTY : 0;
	lfs_olist_unref(l);
	if (err || !s->res.upper)
		return err;
	if (fstatat(s->fd, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	tmp = lfs_upper_tmpname(u);
	path = lfs_live_proc_path(u->workfd, tmp);
	if (mkdirat(u->workfd, tmp, st.st_mode & 07777) < 0)
		return -errno;
	if (lsetxattr(path, lfs_upper_xattr(u, LFS_OVL_OPAQUE),
		      LFS_OVL_OPAQUE_YES, 1, 0) < 0 ||
	    renameat2(u->workfd, tmp, s->fd, s->name, RENAME_EXCHANGE) < 0) {
		err = -errno;
		unlinkat(u->workfd, tmp, AT_REMOVEDIR);
		return err;
	}
	if (keep) {
		*keep = g_steal_pointer(&tmp);
		return 0;
	}
	return lfs_upper_work_remove(u, tmp);
}

/* Whether the upper has a whiteout at @s. */
static bool whiteout_at(struct lfs_upper *u, struct side *s)
{
	struct lfs_live_ent e;
	bool wh = lfs_live_stat(&u->live, s->fd, s->name, &e) == 0 &&
		  e.kind == LFS_LIVE_WHITEOUT;

	lfs_live_ent_clear(&e);
	return wh;
}

/* The rename itself, once both sides are up and marked. */
static int do_rename(struct lfs_upper *u, struct side *a, struct side *b,
		     bool exchange, bool below)
{
	unsigned int flags = 0;

	if (exchange)
		return renameat2(a->fd, a->name, b->fd, b->name,
				 RENAME_EXCHANGE) < 0
			       ? -errno
			       : 0;
	/* A directory cannot replace a whiteout: swap them, which leaves
	 * the whiteout at the old name, or drop it if nothing is below. */
	if (!b->exists && a->res.type == S_IFDIR && whiteout_at(u, b)) {
		if (renameat2(a->fd, a->name, b->fd, b->name,
			      RENAME_EXCHANGE) < 0)
			return -errno;
		if (!below && unlinkat(a->fd, a->name, 0) < 0)
			return -errno;
		return 0;
	}
	if (below && u->rename_whiteout)
		flags |= RENAME_WHITEOUT;
	if (renameat2(a->fd, a->name, b->fd, b->name, flags) < 0)
		return -errno;
	if (below && !u->rename_whiteout &&
	    mknodat(a->fd, a->name, S_IFCHR | 0000, 0) < 0)
		return -errno;
	return 0;
}

/* Whether @a and @b are names of one object (hardlinks): one upper inode,
 * or one lower object that has none.  Not st_ino alone: an origin gives
 * objects the upper holds apart one number (a lower hardlink's names
 * that a copy-up could not link, or an upper that lies). */
static bool one_object(const struct side *a, const struct side *b)
{
	if (a->res.upper != b->res.upper)
		return false;
	return a->res.upper ? a->res.upper_ino == b->res.upper_ino
			    : a->res.ino == b->res.ino;
}

static int check(struct side *a, struct side *b, unsigned int flags)
{
	if (!a->exists)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && b->exists)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !b->exists)
		return -ENOENT;
	if (!b->exists || (flags & RENAME_EXCHANGE))
		return 0;
	if (a->res.type == S_IFDIR && b->res.type != S_IFDIR)
		return -ENOTDIR;
	if (a->res.type != S_IFDIR && b->res.type == S_IFDIR)
		return -EISDIR;
	return 0;
}

int lfs_upper_rename(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, struct lfs_onode *newparent,
		     const char *newname, unsigned int flags)
{
	struct side a = { parent, name, -1 }, b = { newparent, newname, -1 };
	bool exchange = flags & RENAME_EXCHANGE, below, last, keep;
	g_autofree char *kept = NULL;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	err = side_get(u, &a);
	if (!err)
		err = side_get(u, &b);
	if (!err)
		err = check(&a, &b, flags);
	if (err)
		goto out;
	/* Two names of one file: rename(2) does nothing. */
	if (b.exists && one_object(&a, &b) && !exchange)
		goto out;
	/* A target that is a name of a lower hardlink goes as unlink(2)
	 * would take it. */
	if (b.exists && !exchange) {
		err = lfs_upper_lift_links(u, newparent, newname, &b.res,
					   &b.node);
		if (err)
			goto out;
	}
	err = lfs_upper_copy_up(u, newparent, false, 0);
	if (!err)
		err = lfs_upper_copy_up(u, parent, false, 0);
	if (err)
		goto out;
	a.fd = lfs_ovl_dirfd(u->ov, parent);
	b.fd = lfs_ovl_dirfd(u->ov, newparent);
	if (a.fd < 0 || b.fd < 0) {
		err = a.fd < 0 ? a.fd : b.fd;
		goto out;
	}
	/* A target in use that loses its last name keeps its upper in the
	 * work directory, as lfs_upper_remove() does. */
	keep = !exchange && b.exists && b.res.upper && b.node &&
	       lfs_ovl_in_use(u->ov, b.node, newparent, newname);
	err = prepare(u, &a, newparent);
	if (!err && exchange)
		err = prepare(u, &b, parent);
	else if (!err && b.exists && b.res.type == S_IFDIR)
		err = clear_target_dir(u, &b, keep ? &kept : NULL);
	if (!err && keep && b.res.type != S_IFDIR) {
		kept = lfs_upper_tmpname(u);
		if (linkat(b.fd, b.name, u->workfd, kept, 0) < 0)
			err = -errno;
	}
	if (err)
		goto fail;
	below = !exchange && lfs_ovl_lower_has(u->ov, parent, name);
	err = do_rename(u, &a, &b, exchange, below);
	if (err)
		goto fail;
	if (kept)
		lfs_ovl_orphaned(u->ov, b.node, g_steal_pointer(&kept));
	if (exchange) {
		lfs_ovl_renamed(u->ov, a.node, parent, name, newparent,
				newname);
		lfs_ovl_renamed(u->ov, b.node, newparent, newname, parent,
				name);
	} else {
		if (b.exists && b.node) {
			last = b.res.upper &&
			       (b.res.type == S_IFDIR || b.res.upper_nlink <= 1);
			lfs_ovl_unlinked(u->ov, b.node, newparent, newname,
					 last);
		}
		lfs_ovl_renamed(u->ov, a.node, parent, name, newparent,
				newname);
	}
	goto out;
fail:
	if (kept)
		lfs_upper_work_remove(u, kept);
out:
	side_clear(u, &a);
	side_clear(u, &b);
	return err;
}
