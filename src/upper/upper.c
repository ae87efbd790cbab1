/* Opening the upper and work directories (see upper.h): the checks kernel
 * overlayfs makes at mount, made before anything is written, and the work
 * directory emptied of what an earlier mount left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/error.h"
#include "layerfs/upper.h"

/* overlayfs's name for its scratch directory inside the work directory;
 * sharing it lets one work directory serve kernel overlayfs and layerfs
 * in turn. */
#define WORK_NAME "work"

/* Entries overlayfs itself keeps in a work directory (its index, and a
 * file system root's lost+found): not foreign. */
static const char *const known_work_entries[] = { WORK_NAME, "index",
						  "lost+found" };

/* Directories the clean-up goes into, at most: what we put in W/work is
 * one level deep; anything deeper is not ours to chase. */
#define MAX_REMOVE_DEPTH 64

static gboolean fail_dir(GError **error, int err, const char *what,
			 const char *path, const char *why)
{
	return lfs_fail(error, err, "%s directory %s: %s", what, path, why);
}

/* @a lies inside @b (or is @b); both are real paths. */
static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (strcmp(b, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (a[n] == '/' || a[n] == '\0');
}

static gboolean real_dir(const char *what, const char *path, char **out,
			 GError **error)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail_dir(error, errno, what, path,
				errno == ENOENT ? "does not exist"
						: g_strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail_dir(error, ENOTDIR, what, path, "not a directory");
	*out = realpath(path, NULL);
	if (!*out)
		return fail_dir(error, errno, what, path, g_strerror(errno));
	return TRUE;
}

static gboolean check_places(const struct lfs_upper_options *o,
			     const char *upper, const char *work,
			     GError **error)
{
	g_autofree char *mnt = o->mountpoint ? realpath(o->mountpoint, NULL)
					     : NULL;
	struct stat us, ws;
	struct statvfs vs;

	if (inside(upper, work) || inside(work, upper))
		return lfs_fail(error, EINVAL,
				"upper directory %s and work directory %s "
				"must be apart (neither inside the other)",
				o->upper, o->work);
	if (mnt && (inside(upper, mnt) || inside(work, mnt)))
		return lfs_fail(error, EINVAL,
				"%s directory %s lies inside the mountpoint %s",
				inside(upper, mnt) ? "upper" : "work",
				inside(upper, mnt) ? o->upper : o->work,
				o->mountpoint);
	if (stat(upper, &us) < 0 || stat(work, &ws) < 0)
		return lfs_fail(error, errno, "upper directory %s: %s",
				o->upper, g_strerror(errno));
	if (us.st_dev != ws.st_dev)
		return lfs_fail(error, EXDEV,
				"upper directory %s and work directory %s "
				"must be on the same file system",
				o->upper, o->work);
	if (statvfs(upper, &vs) == 0 && (vs.f_flag & ST_RDONLY))
		return fail_dir(error, EROFS, "upper", o->upper,
				"on a read-only file system");
	if (access(upper, W_OK) < 0)
		return fail_dir(error, errno, "upper", o->upper,
				g_strerror(errno));
	if (access(work, W_OK) < 0)
		return fail_dir(error, errno, "work", o->work,
				g_strerror(errno));
	return TRUE;
}

static bool known_entry(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(known_work_entries); i++) {
		if (strcmp(name, known_work_entries[i]) == 0)
			return true;
	}
	return false;
}

/* The work directory holds nothing but what overlayfs or layerfs put
 * there: another tool's files could be removed by the clean-up. */
static gboolean check_work_empty(int fd, const char *path, GError **error)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	g_autofree char *foreign = NULL;
	struct dirent *de;
	int err = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return fail_dir(error, errno, "work", path, g_strerror(errno));
	}
	/* readdir() ends with NULL on an error too: only errno tells, and
	 * a listing cut short must not pass for an empty directory. */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			err = errno;
			break;
		}
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !known_entry(de->d_name)) {
			foreign = g_strdup(de->d_name);
			break;
		}
	}
	closedir(d);
	if (err)
		return fail_dir(error, err, "work", path, g_strerror(err));
	if (foreign)
		return lfs_fail(error, ENOTEMPTY,
				"work directory %s holds \"%s\", which is "
				"neither overlayfs's nor layerfs's: give an "
				"empty directory",
				path, foreign);
	return TRUE;
}

/* Remove @name in @dirfd, and what it holds, never following a symlink
 * nor leaving the file system. */
static int remove_tree(int dirfd, const char *name, dev_t dev, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno
								       : 0;
	if (st.st_dev != dev || depth >= MAX_REMOVE_DEPTH)
		return -EXDEV;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			err = remove_tree(fd, de->d_name, dev, depth + 1);
	}
	closedir(d);
	if (!err && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		err = -errno;
	return err;
}

int lfs_upper_work_remove(struct lfs_upper *u, const char *name)
{
	struct stat st;

	if (fstat(u->workfd, &st) < 0)
		return -errno;
	return remove_tree(u->workfd, name, st.st_dev, 0);
}

void lfs_upper_drop_orphan(void *ctx, const char *name)
{
	struct lfs_upper *u = ctx;
	int err = lfs_upper_work_remove(u, name);

	/* Harmless but for the space: the next mount clears W/work. */
	if (err)
		lfs_warn(u->lg, "upper: cannot remove \"%s\" from the work "
				"directory: %s",
			 name, g_strerror(-err));
}

char *lfs_upper_tmpname(struct lfs_upper *u)
{
	guint64 n = __atomic_add_fetch(&u->tmp_seq, 1, __ATOMIC_RELAXED);

	return g_strdup_printf("#lfs.%d.%llx", (int)getpid(),
			       (unsigned long long)n);
}

const char *lfs_upper_xattr(const struct lfs_upper *u, enum lfs_ovl_xattr key)
{
	return lfs_ovl_xattr_name(u->live.ns, key);
}

/* W/work, emptied (an earlier mount may have died in the middle of a
 * change there) or made. */
static gboolean reset_work(struct lfs_upper *u, const char *path,
			   GError **error)
{
	struct stat st;
	int err;

	if (faccessat(u->workdir, WORK_NAME "/incompat/volatile", F_OK,
		      AT_SYMLINK_NOFOLLOW) == 0)
		return fail_dir(error, EINVAL, "work", path,
				"a volatile overlayfs mount of this upper "
				"did not end cleanly (work/incompat/volatile"
				"): its upper may have lost writes; remove "
				"that marker to use it anyway");
	if (fstat(u->workdir, &st) < 0)
		return fail_dir(error, errno, "work", path, g_strerror(errno));
	err = remove_tree(u->workdir, WORK_NAME, st.st_dev, 0);
	if (err)
		return lfs_fail(error, -err,
				"work directory %s: cannot clear %s/%s: %s",
				path, path, WORK_NAME, g_strerror(-err));
	if (mkdirat(u->workdir, WORK_NAME, 0700) < 0)
		return fail_dir(error, errno, "work", path, g_strerror(errno));
	u->workfd = openat(u->workdir, WORK_NAME,
			   O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->workfd < 0)
		return fail_dir(error, errno, "work", path, g_strerror(errno));
	return TRUE;
}

/* What the upper's file system can do, tried in directory @dirfd (on
 * the same file system), with names that cannot clash: overlay xattrs in
 * namespace @ns (required), a whiteout (required), RENAME_WHITEOUT (used
 * where there: *@rename_whiteout). */
static gboolean probe_at(int dirfd, enum lfs_ovl_ns ns, const char *path,
			 bool *rename_whiteout, GError **error)
{
	static guint seq;
	guint n = g_atomic_int_add(&seq, 2);
	g_autofree char *a = g_strdup_printf("#lfs.probe.%d.%u", (int)getpid(),
					     n);
	g_autofree char *b = g_strdup_printf("#lfs.probe.%d.%u", (int)getpid(),
					     n + 1);
	g_autofree char *pa = NULL;
	const char *xname = lfs_ovl_xattr_name(ns, LFS_OVL_OPAQUE);
	int fd = openat(dirfd, a, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			0600);
	int err = 0;

	if (fd < 0)
		return fail_dir(error, errno, "upper", path,
				g_strerror(errno));
	close(fd);
	pa = lfs_live_proc_path(dirfd, a);
	if (lsetxattr(pa, xname, "y", 1, 0) < 0)
		err = errno;
	unlinkat(dirfd, a, 0);
	if (err)
		return lfs_fail(error, err,
				"upper directory %s: its file system cannot "
				"hold %s xattrs: %s",
				path, ns == LFS_OVL_NS_TRUSTED ? "trusted.*"
							       : "user.*",
				g_strerror(err));
	if (mknodat(dirfd, a, S_IFCHR | 0000, 0) < 0)
		return lfs_fail(error, errno,
				"upper directory %s: cannot make whiteouts "
				"(character devices 0/0) there: %s",
				path, g_strerror(errno));
	*rename_whiteout =
		renameat2(dirfd, a, dirfd, b, RENAME_WHITEOUT) == 0;
	unlinkat(dirfd, a, 0);
	unlinkat(dirfd, b, 0);
	return TRUE;
}

static gboolean probe(struct lfs_upper *u, const char *path, GError **error)
{
	return probe_at(u->workfd, u->live.ns, path, &u->rename_whiteout,
			error);
}

int lfs_upper_record_owner(struct lfs_upper *u, int dirfd, const char *name)
{
	g_autofree char *path = NULL;
	struct stat st;
	char buf[64];
	size_t len;

	if (!u->record_owner)
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	len = lfs_override_format(buf, st.st_uid, st.st_gid, st.st_mode);
	path = lfs_live_proc_path(dirfd, name);
	if (lsetxattr(path, lfs_override_xattr(u->live.override), buf, len,
		      0) < 0)
		return -errno;
	return 0;
}

/* Which owner records the upper is read with: those its root carries;
 * with xattr_permissions= and none there, the option's, and the root
 * gets its record so that the next mount knows. */
static gboolean owner_records(struct lfs_upper *u, unsigned int perm,
			      const char *path, GError **error)
{
	g_autofree char *root = lfs_live_proc_path(u->live.rootfd, ".");
	int err;

	for (int k = LFS_OVERRIDE_PRIVILEGED; k <= LFS_OVERRIDE_CONTAINERS;
	     k++) {
		if (lgetxattr(root, lfs_override_xattr(k), NULL, 0) >= 0) {
			u->live.override = k;
			break;
		}
	}
	u->record_owner = perm != 0;
	if (!perm || u->live.override != LFS_OVERRIDE_NONE)
		return TRUE;
	u->live.override = perm == 1 ? LFS_OVERRIDE_PRIVILEGED
				     : LFS_OVERRIDE_USER;
	err = lfs_upper_record_owner(u, u->live.rootfd, ".");
	if (err)
		return lfs_fail(error, -err,
				"upper directory %s: cannot keep owner "
				"records (%s): %s",
				path, lfs_override_xattr(u->live.override),
				g_strerror(-err));
	return TRUE;
}

/* How long a mount waits for the work directory's lock: the daemon of a
 * mount just unmounted holds it until it has exited, a moment after
 * fusermount3 -u returns, and a remount right then (podman restarting a
 * container) must not fail for that. */
#define WORK_LOCK_WAIT_MS 2000
#define WORK_LOCK_STEP_MS 10

/* Lock the work directory @fd; -1 with errno EWOULDBLOCK if it stays
 * locked. */
static int lock_work(int fd)
{
	for (int waited = 0;; waited += WORK_LOCK_STEP_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || waited >= WORK_LOCK_WAIT_MS)
			return -1;
		g_usleep(WORK_LOCK_STEP_MS * 1000);
	}
}

/* Where the upper keeps overlayfs's xattrs: trusted.* needs root. */
static enum lfs_ovl_ns upper_ns(const struct lfs_upper_options *o)
{
	return geteuid() == 0 && !o->userxattr ? LFS_OVL_NS_TRUSTED
					       : LFS_OVL_NS_USER;
}

gboolean lfs_upper_check(const struct lfs_upper_options *o, GError **error)
{
	g_autofree char *upper = NULL, *work = NULL;
	enum lfs_ovl_ns ns = upper_ns(o);
	lfs_autofd wfd = -1;
	bool rw;

	if (!real_dir("upper", o->upper, &upper, error) ||
	    !real_dir("work", o->work, &work, error) ||
	    !check_places(o, upper, work, error))
		return FALSE;
	/* The file system's abilities, tried in the work directory (the
	 * upper's file system, and nobody's view) under names of our own:
	 * another mount may hold it, so nothing there is touched. */
	wfd = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return fail_dir(error, errno, "work", o->work,
				g_strerror(errno));
	return probe_at(wfd, ns, o->upper, &rw, error);
}

/* The upper alone, to be read: the owner records it carries apply, and
 * none is added. */
static gboolean open_readonly(struct lfs_upper *u,
			      const struct lfs_upper_options *o,
			      struct lfs_upper **out, GError **error)
{
	g_autofree char *upper = NULL;

	u->readonly = true;
	if (!real_dir("upper", o->upper, &upper, error))
		goto fail;
	u->live.rootfd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (u->live.rootfd < 0) {
		fail_dir(error, errno, "upper", o->upper, g_strerror(errno));
		goto fail;
	}
	if (!owner_records(u, 0, o->upper, error))
		goto fail;
	*out = u;
	return TRUE;
fail:
	lfs_upper_free(u);
	return FALSE;
}

gboolean lfs_upper_open(const struct lfs_upper_options *o,
			struct lfs_upper **out, GError **error)
{
	struct lfs_upper *u = g_new0(struct lfs_upper, 1);
	g_autofree char *upper = NULL, *work = NULL;

	u->live.rootfd = u->workdir = u->workfd = -1;
	u->lg = o->lg;
	u->fsync = !o->volatile_;
	u->metacopy = o->metacopy;
	u->live.stack_id = o->stack_id;
	u->live.ns = upper_ns(o);
	if (o->readonly)
		return open_readonly(u, o, out, error);
	if (!real_dir("upper", o->upper, &upper, error) ||
	    !real_dir("work", o->work, &work, error) ||
	    !check_places(o, upper, work, error))
		goto fail;
	u->live.rootfd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	u->workdir = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->live.rootfd < 0 || u->workdir < 0) {
		fail_dir(error, errno, u->workdir < 0 ? "work" : "upper",
			 u->workdir < 0 ? o->work : o->upper,
			 g_strerror(errno));
		goto fail;
	}
	/* One mount at a time: two would prepare changes in each other's
	 * way and clear each other's work directory. */
	if (lock_work(u->workdir) < 0) {
		fail_dir(error, errno == EWOULDBLOCK ? EBUSY : errno, "work",
			 o->work,
			 errno == EWOULDBLOCK ? "in use by another layerfs mount"
					      : g_strerror(errno));
		goto fail;
	}
	if (!check_work_empty(u->workdir, o->work, error) ||
	    !reset_work(u, o->work, error) || !probe(u, o->upper, error) ||
	    !owner_records(u, o->xattr_permissions, o->upper, error))
		goto fail;
	*out = u;
	return TRUE;
fail:
	lfs_upper_free(u);
	return FALSE;
}

void lfs_upper_free(struct lfs_upper *u)
{
	if (!u)
		return;
	if (u->workfd >= 0)
		close(u->workfd);
	if (u->workdir >= 0)
		close(u->workdir); /* and the lock with it */
	if (u->live.rootfd >= 0)
		close(u->live.rootfd);
	g_free(u);
}
