/* Changes to an object's own attributes: setattr (owner, mode, size,
 * times) and xattrs.  The object is copied up first: with its data only
 * for a truncate (and then no more of it than the new size keeps), else
 * its metadata alone where metacopy is on. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/upper.h"

static int set_owner(int dirfd, const char *name, const struct lfs_setattr *a)
{
	uid_t uid = (a->what & LFS_SET_UID) ? a->uid : (uid_t)-1;
	gid_t gid = (a->what & LFS_SET_GID) ? a->gid : (gid_t)-1;

	if (!(a->what & (LFS_SET_UID | LFS_SET_GID)))
		return 0;
	if (a->fd >= 0)
		return fchown(a->fd, uid, gid) < 0 ? -errno : 0;
	return fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0
		       ? -errno
		       : 0;
}

static int set_mode(int dirfd, const char *name, uint32_t type,
		    const struct lfs_setattr *a)
{
	if (!(a->what & LFS_SET_MODE))
		return 0;
	if (type == S_IFLNK)
		return -EOPNOTSUPP; /* Linux has no symlink modes */
	if (a->fd >= 0)
		return fchmod(a->fd, a->mode & 07777) < 0 ? -errno : 0;
	return fchmodat(dirfd, name, a->mode & 07777, 0) < 0 ? -errno : 0;
}

static int set_size(int dirfd, const char *name, const struct lfs_setattr *a)
{
	lfs_autofd fd = -1;

	if (!(a->what & LFS_SET_SIZE))
		return 0;
	if (a->fd >= 0)
		return ftruncate(a->fd, (off_t)a->size) < 0 ? -errno : 0;
	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ftruncate(fd, (off_t)a->size) < 0 ? -errno : 0;
}

static int set_times(int dirfd, const char *name, const struct lfs_setattr *a)
{
	struct timespec t[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	if (a->what & LFS_SET_ATIME_NOW)
		t[0].tv_nsec = UTIME_NOW;
	else if (a->what & LFS_SET_ATIME)
		t[0] = a->atime;
	if (a->what & LFS_SET_MTIME_NOW)
		t[1].tv_nsec = UTIME_NOW;
	else if (a->what & LFS_SET_MTIME)
		t[1] = a->mtime;
	if (t[0].tv_nsec == UTIME_OMIT && t[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (a->fd >= 0)
		return futimens(a->fd, t) < 0 ? -errno : 0;
	return utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int lfs_upper_setattr(struct lfs_upper *u, struct lfs_onode *n,
		      const struct lfs_setattr *a)
{
	struct lfs_onode *hold = NULL;
	g_autofree char *name = NULL;
	bool size = a->what & LFS_SET_SIZE;
	int fd, err;

	err = lfs_upper_copy_up(u, n, size, size ? a->size : 0);
	if (err)
		return err;
	fd = lfs_ovl_upper_at(u->ov, n, &hold, &name);
	if (fd < 0)
		return fd;
	/* Owner before mode: a chown clears the setuid and setgid bits a
	 * chmod in the same call may set. */
	err = set_owner(fd, name, a);
	if (!err)
		err = set_mode(fd, name, n->type, a);
	if (!err)
		err = set_size(fd, name, a);
	if (!err && (a->what & (LFS_SET_UID | LFS_SET_GID | LFS_SET_MODE)))
		err = lfs_upper_record_owner(u, fd, name);
	if (!err)
		err = set_times(fd, name, a);
	lfs_ovl_put(u->ov, hold);
	return err;
}

/* The path through which the xattr calls reach @n's upper, copied up
 * first.  The path names the parent's descriptor by number: *hold keeps
 * that open until the caller puts it.  The owner records a mount keeps
 * are its own (fuse-overlayfs refuses them too). */
static int xattr_path(struct lfs_upper *u, struct lfs_onode *n,
		      const char *xname, struct lfs_onode **hold, char **path)
{
	g_autofree char *name = NULL;
	int fd, err;

	*hold = NULL;
	if (u->live.override != LFS_OVERRIDE_NONE && lfs_override_name(xname))
		return -EPERM;
	err = lfs_upper_copy_up(u, n, false, 0);
	if (err)
		return err;
	fd = lfs_ovl_upper_at(u->ov, n, hold, &name);
	if (fd < 0)
		return fd;
	*path = lfs_live_proc_path(fd, name);
	return 0;
}

int lfs_upper_setxattr(struct lfs_upper *u, struct lfs_onode *n,
		       const char *name, const void *value, size_t size,
		       int flags)
{
	g_autofree char *path = NULL;
	g_autofree char *stored = lfs_ovl_escape(u->live.ns, name);
	struct lfs_onode *hold;
	int err = xattr_path(u, n, name, &hold, &path);

	/* A user's overlay.* name is stored escaped (whiteout.h). */
	if (!err && lsetxattr(path, stored, value, size, flags) < 0)
		err = -errno;
	lfs_ovl_put(u->ov, hold);
	return err;
}

int lfs_upper_removexattr(struct lfs_upper *u, struct lfs_onode *n,
			  const char *name)
{
	g_autofree char *path = NULL;
	g_autofree char *stored = lfs_ovl_escape(u->live.ns, name);
	struct lfs_onode *hold;
	int err = xattr_path(u, n, name, &hold, &path);

	if (!err && lremovexattr(path, stored) < 0)
		err = -errno;
	lfs_ovl_put(u->ov, hold);
	return err;
}
