/* Changes to directories (cf. overlayfs dir.c): making, linking and
 * removing names, with the whiteouts and opaque directories overlayfs
 * would leave.
 *
 * A new name where the upper has a whiteout is prepared in the work
 * directory and exchanged with the whiteout (RENAME_EXCHANGE), so the
 * name goes from deleted to new in one step; a new directory there is
 * opaque, since what was deleted below must stay hidden.  Removing a
 * name that also exists below leaves a whiteout: the upper's object is
 * moved into the work directory with RENAME_WHITEOUT, which puts the
 * whiteout in its place in the same step, and cleared there. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/upper.h"

static void count(guint64 *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* The upper descriptor of directory @p, copied up first. */
static int upper_dir(struct lfs_upper *u, struct lfs_onode *p)
{
	int err = lfs_upper_copy_up(u, p, false, 0);

	return err ? err : lfs_ovl_dirfd(u->ov, p);
}

/* What the upper holds at @pfd/@name: 0 nothing, 1 a whiteout; -EEXIST
 * if the merged view has the name. */
static int name_free(struct lfs_upper *u, struct lfs_onode *p, int pfd,
		     const char *name)
{
	struct lfs_live_ent e;
	int err = lfs_live_stat(&u->live, pfd, name, &e);

	if (err)
		return err;
	lfs_live_ent_clear(&e);
	if (e.kind == LFS_LIVE_WHITEOUT)
		return 1;
	if (e.kind != LFS_LIVE_ABSENT)
		return -EEXIST;
	return lfs_ovl_lower_has(u->ov, p, name) ? -EEXIST : 0;
}

/* Make the object @o as @name in @dirfd; for a regular file *fd gets it
 * opened with @o->flags. */
static int make(int dirfd, const char *name, const struct lfs_new_obj *o,
		int *fd)
{
	mode_t perm = o->mode & 07777;

	switch (o->mode & S_IFMT) {
	case S_IFREG:
		*fd = openat(dirfd, name,
			     (o->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) |
				     O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     perm);
		return *fd < 0 ? -errno : 0;
	case S_IFDIR:
		return mkdirat(dirfd, name, perm) < 0 ? -errno : 0;
	case S_IFLNK:
		return symlinkat(o->target, dirfd, name) < 0 ? -errno : 0;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return mknodat(dirfd, name, o->mode, o->rdev) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/* POSIX ACLs as xattrs store them (linux/posix_acl_xattr.h): a version,
 * then entries of a tag, permission bits and an id, little-endian. */
#define ACL_XATTR_VERSION 2
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20
#define ACL_ENTRY_SIZE 8
#define ACL_MAX_BYTES (4 + 4096 * ACL_ENTRY_SIZE)

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

/* The kernel's posix_acl_create_masq(): the default ACL @acl (@len
 * bytes, rewritten in place) becomes a new object's access ACL, its
 * entries and *mode's permission bits limiting each other.  1 if the ACL
 * says more than the mode can (it must be kept), 0 if not, -EINVAL for a
 * value that is not an ACL. */
static int acl_masq(unsigned char *acl, size_t len, mode_t *mode)
{
	unsigned char *group = NULL, *mask = NULL;
	mode_t m = *mode & 0777;
	int more = 0;

	if (len < 4 || (len - 4) % ACL_ENTRY_SIZE ||
	    acl[0] != ACL_XATTR_VERSION || acl[1] || acl[2] || acl[3])
		return -EINVAL;
	for (unsigned char *e = acl + 4; e < acl + len; e += ACL_ENTRY_SIZE) {
		uint16_t perm = get16(e + 2);

		switch (get16(e)) {
		case ACL_USER_OBJ:
			perm &= (m >> 6) | ~0007;
			m &= (mode_t)(perm << 6) | ~0700;
			break;
		case ACL_USER:
		case ACL_GROUP:
			more = 1;
			break;
		case ACL_GROUP_OBJ:
			group = e;
			break;
		case ACL_OTHER:
			perm &= m | ~0007;
			m &= perm | ~0007;
			break;
		case ACL_MASK:
			mask = e;
			more = 1;
			break;
		default:
			return -EINVAL;
		}
		put16(e + 2, perm);
	}
	if (!mask)
		mask = group;
	if (!mask)
		return -EINVAL;
	put16(mask + 2, get16(mask + 2) & ((m >> 3) | ~0007));
	m &= (mode_t)(get16(mask + 2) << 3) | ~0070;
	*mode = (*mode & ~(mode_t)0777) | m;
	return more;
}

/* A new object's mode and ACLs, as the kernel's posix_acl_create() gives
 * them where POSIX ACLs are checked (upper->posix_acl; else the kernel
 * applied the umask already): where directory @pfd has a default ACL,
 * the object gets it as its access ACL, limited by *mode (and the mode by
 * it; no umask), and a directory gets it as its default ACL too; else the
 * umask applies.  The ACLs are set on @dirfd/@name only once its mode is
 * (a chmod would change their mask): *acl and *dflt (g_free) hold them
 * meanwhile, *len their size. */
static int inherit(struct lfs_upper *u, int pfd, const struct lfs_new_obj *o,
		   const struct lfs_caller *c, mode_t *mode,
		   unsigned char **acl, unsigned char **dflt, size_t *len)
{
	g_autofree char *ppath = NULL;
	g_autofree unsigned char *buf = NULL;
	ssize_t n;
	int more;

	*acl = *dflt = NULL;
	if (!u->posix_acl || S_ISLNK(o->mode))
		return 0;
	ppath = lfs_live_proc_path(pfd, ".");
	buf = g_malloc(ACL_MAX_BYTES);
	n = getxattr(ppath, "system.posix_acl_default", buf, ACL_MAX_BYTES);
	if (n < 0 && errno != ENODATA && errno != EOPNOTSUPP)
		return -errno;
	if (n <= 0) {
		*mode &= ~(c->umask & 0777);
		return 0;
	}
	*len = (size_t)n;
	if (S_ISDIR(o->mode))
		*dflt = g_memdup2(buf, *len);
	more = acl_masq(buf, *len, mode);
	if (more < 0)
		return more;
	if (more)
		*acl = g_steal_pointer(&buf);
	return 0;
}

static int set_acl(const char *path, const char *xname,
		   const unsigned char *acl, size_t len)
{
	if (acl && lsetxattr(path, xname, acl, len, 0) < 0)
		return -errno;
	return 0;
}

/* Owner and mode of a new object, as the kernel would have made them for
 * the caller: the caller's uid; the directory's gid where it is setgid
 * (and a new directory setgid too), else the caller's; the mode exactly
 * as asked (our own umask must not take bits away), or as the umask or
 * the directory's default ACL make it (inherit()).  Only what the upper
 * made otherwise is changed: a create is the commonest write, and most
 * already come out right.  *st: the object's attributes at the end. */
static int own(struct lfs_upper *u, int dirfd, const char *name, int pfd,
	       const struct lfs_new_obj *o, const struct lfs_caller *c,
	       struct stat *st)
{
	g_autofree unsigned char *acl = NULL, *dflt = NULL;
	g_autofree char *path = NULL;
	struct stat ps;
	gid_t gid = c->gid;
	mode_t mode = o->mode & 07777;
	size_t len = 0;
	int err;

	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* The group and setgid bit depend on the directory when it is
	 * setgid: a file the upper made in place with the caller's group,
	 * not a directory, cannot be in one (made in the work directory,
	 * it says nothing of its directory). */
	if (st->st_gid != gid || S_ISDIR(o->mode) || dirfd != pfd) {
		if (fstat(pfd, &ps) < 0)
			return -errno;
		if (ps.st_mode & S_ISGID) {
			gid = ps.st_gid;
			if (S_ISDIR(o->mode))
				mode |= S_ISGID;
		}
	}
	err = inherit(u, pfd, o, c, &mode, &acl, &dflt, &len);
	if (err)
		return err;
	if ((st->st_uid != c->uid || st->st_gid != gid) &&
	    fchownat(dirfd, name, c->uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* A chown may clear setuid and setgid: check the mode after it. */
	if (!S_ISLNK(o->mode) &&
	    ((st->st_mode & 07777) != mode || st->st_uid != c->uid ||
	     st->st_gid != gid) &&
	    fchmodat(dirfd, name, mode, 0) < 0)
		return -errno;
	st->st_uid = c->uid;
	st->st_gid = gid;
	if (!S_ISLNK(o->mode))
		st->st_mode = (st->st_mode & S_IFMT) | mode;
	/* The upper's file system may have given it the directory's ACLs
	 * already (not in the work directory): these are the same. */
	if (acl || dflt) {
		path = lfs_live_proc_path(dirfd, name);
		err = set_acl(path, "system.posix_acl_access", acl, len);
		if (!err)
			err = set_acl(path, "system.posix_acl_default", dflt,
				      len);
		if (err)
			return err;
	}
	return lfs_upper_record_owner(u, dirfd, name);
}

/* Put @tmp (in the work directory) where the whiteout @pfd/@name is. */
static int replace_whiteout(struct lfs_upper *u, const char *tmp, int pfd,
			    const char *name)
{
	if (renameat2(u->workfd, tmp, pfd, name, RENAME_EXCHANGE) < 0)
		return -errno;
	/* The whiteout is the temporary now. */
	return lfs_upper_work_remove(u, tmp);
}

/* A new object where the upper has a whiteout: made in the work
 * directory, opaque if a directory, then swapped in. */
static int create_over_whiteout(struct lfs_upper *u, int pfd,
				const char *name, const struct lfs_new_obj *o,
				const struct lfs_caller *c, int *fd,
				struct stat *st)
{
	g_autofree char *tmp = lfs_upper_tmpname(u);
	g_autofree char *path = lfs_live_proc_path(u->workfd, tmp);
	int err = make(u->workfd, tmp, o, fd);

	if (!err)
		err = own(u, u->workfd, tmp, pfd, o, c, st);
	if (!err && S_ISDIR(o->mode) &&
	    lsetxattr(path, lfs_upper_xattr(u, LFS_OVL_OPAQUE),
		      LFS_OVL_OPAQUE_YES, strlen(LFS_OVL_OPAQUE_YES), 0) < 0)
		err = -errno;
	if (!err)
		err = replace_whiteout(u, tmp, pfd, name);
	if (err) {
		lfs_upper_work_remove(u, tmp);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	return err;
}

int lfs_upper_create(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, const struct lfs_new_obj *obj,
		     const struct lfs_caller *c, struct lfs_onode **out,
		     int *fd)
{
	struct stat st;
	int pfd, free_, err;

	*fd = -1;
	/* A device 0/0 is a whiteout: nobody may make one (overlayfs answers
	 * the same). */
	if (S_ISCHR(obj->mode) && obj->rdev == 0)
		return -EPERM;
	pfd = upper_dir(u, parent);
	if (pfd < 0)
		return pfd;
	free_ = name_free(u, parent, pfd, name);
	if (free_ < 0)
		return free_;
	if (free_ == 1) {
		err = create_over_whiteout(u, pfd, name, obj, c, fd, &st);
	} else {
		err = make(pfd, name, obj, fd);
		if (!err) {
			err = own(u, pfd, name, pfd, obj, c, &st);
			if (err)
				unlinkat(pfd, name, S_ISDIR(obj->mode)
							    ? AT_REMOVEDIR
							    : 0);
		}
	}
	/* Made over a whiteout, a directory is opaque. */
	if (!err)
		lfs_ovl_created(u->ov, parent, name, &st, free_ == 1, out);
	if (err && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return err;
}

int lfs_upper_link(struct lfs_upper *u, struct lfs_onode *n,
		   struct lfs_onode *parent, const char *name)
{
	struct lfs_onode *hold = NULL;
	g_autofree char *sname = NULL, *tmp = NULL;
	int pfd, sfd, free_, err;

	if (n->type == S_IFDIR)
		return -EPERM;
	err = lfs_upper_copy_up(u, n, false, 0);
	if (!err)
		err = lfs_upper_redirect_data(u, n);
	if (err)
		return err;
	pfd = upper_dir(u, parent);
	if (pfd < 0)
		return pfd;
	free_ = name_free(u, parent, pfd, name);
	if (free_ < 0)
		return free_;
	sfd = lfs_ovl_upper_at(u->ov, n, &hold, &sname);
	if (sfd < 0)
		return sfd;
	if (free_ == 0) {
		err = linkat(sfd, sname, pfd, name, 0) < 0 ? -errno : 0;
	} else {
		/* Over a whiteout: link in the work directory, then rename
		 * over it (a non-directory replaces one in one step). */
		tmp = lfs_upper_tmpname(u);
		err = linkat(sfd, sname, u->workfd, tmp, 0) < 0 ? -errno : 0;
		if (!err && renameat(u->workfd, tmp, pfd, name) < 0) {
			err = -errno;
			unlinkat(u->workfd, tmp, 0);
		}
	}
	lfs_ovl_put(u->ov, hold);
	if (!err)
		lfs_ovl_linked(u->ov, n, parent, name);
	return err;
}

/* What was moved into the work directory as @tmp is cleared there, or,
 * with @keep, kept: its name goes to *keep. */
static int moved_aside(struct lfs_upper *u, char **tmp, char **keep)
{
	if (keep) {
		*keep = g_steal_pointer(tmp);
		return 0;
	}
	return lfs_upper_work_remove(u, *tmp);
}

/* Move @pfd/@name into the work directory, leaving a whiteout, and clear
 * it there (or keep it, see moved_aside()). */
static int remove_leaving_whiteout(struct lfs_upper *u, int pfd,
				   const char *name, char **keep)
{
	g_autofree char *tmp = lfs_upper_tmpname(u);
	g_autofree char *wh = NULL;

	if (u->rename_whiteout) {
		if (renameat2(pfd, name, u->workfd, tmp, RENAME_WHITEOUT) < 0)
			return -errno;
		return moved_aside(u, &tmp, keep);
	}
	/* Without RENAME_WHITEOUT: a whiteout made aside, exchanged. */
	wh = lfs_upper_tmpname(u);
	if (mknodat(u->workfd, wh, S_IFCHR | 0000, 0) < 0)
		return -errno;
	if (renameat2(u->workfd, wh, pfd, name, RENAME_EXCHANGE) < 0) {
		int err = -errno;

		unlinkat(u->workfd, wh, 0);
		return err;
	}
	return moved_aside(u, &wh, keep);
}

/* @pfd/@name goes with nothing in its place: a directory (which holds at
 * most whiteouts) is moved aside first, so it vanishes in one step (or
 * stays there, with @keep). */
static int remove_plain(struct lfs_upper *u, int pfd, const char *name,
			bool dir, char **keep)
{
	g_autofree char *tmp = NULL;

	if (!dir)
		return unlinkat(pfd, name, 0) < 0 ? -errno : 0;
	tmp = lfs_upper_tmpname(u);
	if (renameat(pfd, name, u->workfd, tmp) < 0)
		return -errno;
	return moved_aside(u, &tmp, keep);
}

/* The merged view of directory @parent/@name holds nothing. */
static int check_empty(struct lfs_upper *u, struct lfs_onode *parent,
		       const char *name, struct lfs_onode *child)
{
	struct lfs_onode *n = child;
	struct lfs_olist *l;
	int err = 0;

	if (!n) {
		err = lfs_ovl_node(u->ov, parent, name, &n);
		if (err)
			return err;
	}
	err = lfs_ovl_dirlist(u->ov, n, &l);
	if (!err) {
		err = l->n ? -ENOTEMPTY : 0;
		lfs_olist_unref(l);
	}
	if (!child)
		lfs_ovl_put(u->ov, n);
	return err;
}

/* The names lower object @lower has below. */
static nlink_t lower_links(struct lfs_upper *u, uint64_t lower)
{
	struct lfs_tree *t = lfs_ovl_lower_tree(u->ov);
	struct lfs_obj o;
	struct stat st;

	if (!lower || lfs_tree_obj(t, lower, &o) < 0)
		return 0;
	lfs_tree_stat(t, &o, &st);
	return st.st_nlink;
}

int lfs_upper_lift_links(struct lfs_upper *u, struct lfs_onode *parent,
			 const char *name, struct lfs_ovl_res *res,
			 struct lfs_onode **node)
{
	int err;

	if (res->type == S_IFDIR || res->upper ||
	    lower_links(u, res->lower) <= 1)
		return 0;
	if (!*node) {
		err = lfs_ovl_node(u->ov, parent, name, node);
		if (err)
			return err;
	}
	err = lfs_upper_copy_up(u, *node, false, 0);
	lfs_ovl_res_clear(res);
	return err ? err : lfs_ovl_resolve(u->ov, parent, name, res);
}

int lfs_upper_remove(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, bool dir)
{
	struct lfs_ovl_res res;
	struct lfs_onode *child = NULL;
	g_autofree char *kept = NULL;
	bool below, last, keep;
	int pfd, err;

	err = lfs_ovl_child(u->ov, parent, name, &res, &child);
	if (err)
		return err;
	if (dir != (res.type == S_IFDIR)) {
		err = dir ? -ENOTDIR : -EISDIR;
		goto out;
	}
	if (dir && (err = check_empty(u, parent, name, child)) < 0)
		goto out;
	err = lfs_upper_lift_links(u, parent, name, &res, &child);
	if (err)
		goto out;
	below = lfs_ovl_lower_has(u->ov, parent, name);
	pfd = upper_dir(u, parent);
	if (pfd < 0) {
		err = pfd;
		goto out;
	}
	/* An object in use (an open file, say) that loses its last name
	 * keeps its upper in the work directory until its last user goes,
	 * as a local file system keeps the inode: fstat, fchmod, reads to
	 * its end still work.  A file is linked there (one more name, which
	 * stat does not count), a directory moved there instead of being
	 * cleared. */
	keep = res.upper && child && lfs_ovl_in_use(u->ov, child, parent, name);
	if (keep && !dir) {
		kept = lfs_upper_tmpname(u);
		if (linkat(pfd, name, u->workfd, kept, 0) < 0) {
			err = -errno;
			goto out;
		}
	}
	if (!res.upper)
		err = mknodat(pfd, name, S_IFCHR | 0000, 0) < 0 ? -errno : 0;
	else if (below)
		err = remove_leaving_whiteout(u, pfd, name,
					      keep && dir ? &kept : NULL);
	else
		err =
		    remove_plain(u, pfd, name, dir, keep && dir ? &kept : NULL);
	if (err) {
		if (kept)
			lfs_upper_work_remove(u, kept);
		goto out;
	}
	if (kept)
		lfs_ovl_orphaned(u->ov, child, g_steal_pointer(&kept));
	if (below)
		count(&u->st.whiteouts);
	/* Only an upper inode's number can come back, for a new file. */
	last = res.upper && (dir || res.upper_nlink <= 1);
	if (child)
		lfs_ovl_unlinked(u->ov, child, parent, name, last);
	else
		lfs_ovl_dir_changed(u->ov, parent);
out:
	lfs_ovl_res_clear(&res);
	lfs_ovl_put(u->ov, child);
	return err;
}
