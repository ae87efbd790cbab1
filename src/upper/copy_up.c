/* Copy-up (cf. overlayfs copy_up.c): before the first change to an object
 * that lives below, a copy of it is made in the upper.
 *
 * The copy is prepared in the work directory and renamed into place, so
 * the upper never holds half of it: data first, then owner, mode and
 * xattrs (a chown would drop security.capability, so xattrs come after
 * it), then the origin layerfs records, times last (everything before
 * changes them).  Parents go first, each the same way.
 *
 * Metadata only.  A chmod, chown, utimens or xattr change of a regular
 * file needs none of its data: the copy is then an empty file of the same
 * size (all hole) marked overlay.metacopy, and reads go on below, as
 * overlayfs's metacopy=on does.  The data follows, in place, the first
 * time the file is opened for writing or truncated; the mark goes only
 * once the data is whole (and flushed), so a crash in between leaves the
 * file served from below again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/read.h"
#include "layerfs/upper.h"

/* What a copy-up is doing: the object below, and the temporary. */
struct cu_ctx {
	struct lfs_upper *u;
	struct lfs_onode *n;
	struct lfs_obj lower;
	struct stat st; /* the lower object's attributes */
	char *tmp;	/* its name in the work directory */
	int fd;		/* the temporary opened (a file), or -1 */
	bool data;	/* the data is copied (else metacopy) */
	uint64_t size;	/* bytes of data to copy */
};

/* Set xattr @name on the temporary: through its descriptor where there
 * is one (no path to resolve), else through @path. */
static int set_xattr(const struct cu_ctx *c, const char *path,
		     const char *name, const void *value, size_t size)
{
	int r = c->fd >= 0 ? fsetxattr(c->fd, name, value, size, 0)
			   : lsetxattr(path, name, value, size, 0);

	return r < 0 ? -errno : 0;
}

static void count(guint64 *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* Copy the lower object's xattrs onto @path (the temporary). */
static int copy_xattrs(struct cu_ctx *c, const char *path)
{
	struct lfs_tree *t = lfs_ovl_lower_tree(c->u->ov);
	ssize_t len = lfs_tree_listxattr(t, &c->lower, NULL, 0);
	g_autofree char *names = NULL;

	if (len <= 0)
		return (int)len;
	names = g_malloc((size_t)len);
	len = lfs_tree_listxattr(t, &c->lower, names, (size_t)len);
	for (ssize_t off = 0; len > 0 && off < len;
	     off += (ssize_t)strlen(names + off) + 1) {
		const char *x = names + off;
		ssize_t vlen = lfs_tree_getxattr(t, &c->lower, x, NULL, 0);
		g_autofree char *v = NULL;

		if (vlen < 0)
			return (int)vlen;
		v = g_malloc((size_t)vlen + 1);
		vlen = lfs_tree_getxattr(t, &c->lower, x, v, (size_t)vlen);
		if (vlen < 0)
			return (int)vlen;
		/* An image's own overlay.* names are data, never marks:
		 * stored escaped, as the user's are (whiteout.h). */
		g_autofree char *stored = lfs_ovl_escape(c->u->live.ns, x);
		int err = set_xattr(c, path, stored, v, (size_t)vlen);

		if (err)
			return err;
	}
	return 0;
}

/* The lower file's data into @fd.  A lower file that cannot be read (a
 * bad block under its layer) is logged, naming the layer and the file,
 * since the caller only sees its write or chmod fail with EIO. */
static int copy_file_data(struct cu_ctx *c, int fd)
{
	struct lfs_upper *u = c->u;
	struct lfs_layer *l = u->layers[c->lower.meta.layer];
	uint32_t entry = c->lower.meta.entry;
	struct lfs_copy_entry_ctx ec;
	struct lfs_copy_src src;
	struct lfs_copy_stats st = { 0 };
	g_autofree char *path = NULL, *why = NULL;
	lfs_autofd lfd = -1;
	int err;

	if (l->dirfd >= 0) {
		lfd = lfs_layer_open_file(l, entry);
		if (lfd < 0) {
			err = lfd;
			goto unreadable;
		}
	}
	lfs_copy_src_entry(&src, &ec, u->streams[c->lower.meta.layer], entry,
			   lfd);
	err = lfs_copy_data(&src, fd, c->size, &st);
	count(&u->st.copied, st.kernel + st.buffered);
	if (!err || !st.read_failed)
		return err;
unreadable:
	path = lfs_index_path(l->index, entry);
	why = lfs_read_why(l, entry, err);
	lfs_err(u->lg, "%s: \"%s\": cannot copy it up: data at offset %llu "
		       "unreadable: %s",
		l->spec->name, path, (unsigned long long)st.failed_at, why);
	return lfs_read_errno(err);
}

/* The temporary, of the lower object's type, with its data; a file
 * stays open in c->fd. */
static int make_temp(struct cu_ctx *c)
{
	struct lfs_upper *u = c->u;
	struct lfs_tree *t = lfs_ovl_lower_tree(u->ov);
	int err;

	switch (c->st.st_mode & S_IFMT) {
	case S_IFDIR:
		return mkdirat(u->workfd, c->tmp, 0700) < 0 ? -errno : 0;
	case S_IFLNK:
		return symlinkat(lfs_tree_readlink(t, &c->lower), u->workfd,
				 c->tmp) < 0
			       ? -errno
			       : 0;
	case S_IFREG:
		break;
	default:
		return mknodat(u->workfd, c->tmp, c->st.st_mode & S_IFMT,
			       c->st.st_rdev) < 0
			       ? -errno
			       : 0;
	}
	c->fd = openat(u->workfd, c->tmp,
		       O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->fd < 0)
		return -errno;
	if (!c->data)
		return ftruncate(c->fd, c->st.st_size) < 0 ? -errno : 0;
	err = copy_file_data(c, c->fd);
	if (!err && u->fsync && fsync(c->fd) < 0)
		err = -errno;
	return err;
}

/* Owner, mode, xattrs, marks and times onto the temporary (through its
 * descriptor when it is a file, the commonest copy-up). */
static int set_attrs(struct cu_ctx *c)
{
	struct lfs_upper *u = c->u;
	g_autofree char *path = lfs_live_proc_path(u->workfd, c->tmp);
	g_autofree char *origin = lfs_live_origin_value(&u->live, c->n->ino);
	struct timespec times[2] = { c->st.st_atim, c->st.st_mtim };
	bool lnk = S_ISLNK(c->st.st_mode);
	int err;

	if ((c->fd >= 0 ? fchown(c->fd, c->st.st_uid, c->st.st_gid)
			: fchownat(u->workfd, c->tmp, c->st.st_uid,
				   c->st.st_gid, AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	if (!lnk && (c->fd >= 0 ? fchmod(c->fd, c->st.st_mode & 07777)
				: fchmodat(u->workfd, c->tmp,
					   c->st.st_mode & 07777, 0)) < 0)
		return -errno;
	err = copy_xattrs(c, path);
	if (!err && !c->data && S_ISREG(c->st.st_mode))
		err = set_xattr(c, path, lfs_upper_xattr(u, LFS_OVL_METACOPY),
				"", 0);
	if (!err)
		err = set_xattr(c, path,
				lfs_upper_xattr(u, LFS_OVL_LAYERFS_ORIGIN),
				origin, strlen(origin));
	if (err)
		return err;
	if ((c->fd >= 0 ? futimens(c->fd, times)
			: utimensat(u->workfd, c->tmp, times,
				    AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	return 0;
}

/* A copy-up changes nothing the merged view shows, so the directory it
 * lands in keeps its times (as overlayfs keeps them): read them before,
 * put them back after. */
struct dir_times {
	int fd;
	struct timespec t[2];
	bool ok;
};

static void dir_times_save(struct dir_times *d, int fd)
{
	struct stat st;

	d->fd = fd;
	d->ok = fstat(fd, &st) == 0;
	d->t[0] = st.st_atim;
	d->t[1] = st.st_mtim;
}

static void dir_times_restore(const struct dir_times *d)
{
	g_autofree char *path = NULL;

	if (!d->ok)
		return;
	path = g_strdup_printf("/proc/self/fd/%d", d->fd);
	utimensat(AT_FDCWD, path, d->t, 0);
}

/* @n's upper appeared at @pfd/@name meanwhile: take its state (@n's
 * copy-up lock held); puts @hold. */
static int copied_by_another(struct lfs_upper *u, struct lfs_onode *n,
			     int pfd, const char *name, struct lfs_onode *hold)
{
	struct lfs_live_ent e;
	int err = lfs_live_stat(&u->live, pfd, name, &e);

	if (!err && (e.kind == LFS_LIVE_ABSENT || e.kind == LFS_LIVE_WHITEOUT))
		err = -ESTALE;
	if (!err) {
		lfs_ovl_copying(u->ov, n, e.st.st_ino);
		g_mutex_lock(&n->lock);
		n->upper = true;
		n->metacopy = e.metacopy;
		g_mutex_unlock(&n->lock);
	}
	lfs_live_ent_clear(&e);
	lfs_ovl_put(u->ov, hold);
	return err;
}

/* @n's lower number. */
static uint64_t lower_of(struct lfs_onode *n)
{
	uint64_t lower;

	g_mutex_lock(&n->lock);
	lower = n->lower;
	g_mutex_unlock(&n->lock);
	return lower;
}

/* Copy @n (whose parent has an upper; @n's copy-up lock held) up.  Until
 * the copy is in place, everybody else goes on using the object below,
 * which is what the copy holds. */
static int copy_one(struct lfs_upper *u, struct lfs_onode *n, bool data,
		    uint64_t size)
{
	struct lfs_tree *t = lfs_ovl_lower_tree(u->ov);
	struct cu_ctx c = { u, n, { 0 }, { 0 }, NULL, -1, data, size };
	struct lfs_onode *hold = NULL;
	g_autofree char *name = NULL;
	struct stat tst;
	int pfd, err;

	err = lfs_tree_obj(t, lower_of(n), &c.lower);
	if (err)
		return err;
	lfs_tree_stat(t, &c.lower, &c.st);
	/* Metadata only is for files whose data would cost something; a
	 * caller that asked for no data then gets all of it. */
	if (!c.data &&
	    (!u->metacopy || !S_ISREG(c.st.st_mode) || c.st.st_size == 0)) {
		c.data = true;
		c.size = UINT64_MAX;
	}
	pfd = lfs_ovl_upper_at(u->ov, n, &hold, &name);
	if (pfd < 0)
		return pfd;
	c.tmp = lfs_upper_tmpname(u);
	err = make_temp(&c);
	if (!err)
		err = set_attrs(&c);
	if (!err && (c.fd >= 0 ? fstat(c.fd, &tst)
			       : fstatat(u->workfd, c.tmp, &tst,
					 AT_SYMLINK_NOFOLLOW)) < 0)
		err = -errno;
	if (c.fd >= 0)
		close(c.fd);
	if (!err) {
		struct dir_times dt;

		/* Found in the upper, the copy is @n from the first moment. */
		lfs_ovl_copying(u->ov, n, tst.st_ino);
		dir_times_save(&dt, pfd);
		if (renameat2(u->workfd, c.tmp, pfd, name, RENAME_NOREPLACE) <
		    0) {
			err = -errno;
			lfs_ovl_copying(u->ov, n, 0);
		} else {
			dir_times_restore(&dt);
		}
	}
	if (err)
		lfs_upper_work_remove(u, c.tmp);
	g_free(c.tmp);
	/* Another node of the same object (one the kernel no longer held,
	 * taken for a change it did not name) was copied up first: the
	 * upper has it, as this copy would have made it. */
	if (err == -EEXIST)
		return copied_by_another(u, n, pfd, name, hold);
	lfs_ovl_put(u->ov, hold);
	if (err)
		return err;
	g_mutex_lock(&n->lock);
	n->upper = true;
	n->metacopy = !c.data;
	g_mutex_unlock(&n->lock);
	count(&u->st.copy_ups, 1);
	if (S_ISREG(c.st.st_mode))
		count(c.data ? &u->st.data_copies : &u->st.metacopies, 1);
	return 0;
}

/* Directory @parts[0..n) of the merged view as a node (referenced), or
 * NULL if it is not a directory there any more. */
static struct lfs_onode *walk_dir(struct lfs_ovl *ov, char **parts,
				  size_t n)
{
	struct lfs_onode *d = lfs_ovl_get(ov, LFS_ROOT_INO);

	for (size_t i = 0; d && i < n; i++) {
		struct lfs_onode *c = NULL;

		if (lfs_ovl_node(ov, d, parts[i], &c) == 0 &&
		    c->type != S_IFDIR) {
			lfs_ovl_put(ov, c);
			c = NULL;
		}
		lfs_ovl_put(ov, d);
		d = c;
	}
	return d;
}

/* Give @n's new upper the name @base in directory @d too, if that name
 * still shows the same lower file; true if it does (linked or not). */
static bool link_in(struct lfs_upper *u, struct lfs_onode *n,
		    struct lfs_onode *d, const char *base, const char *path)
{
	struct lfs_onode *hold = NULL;
	g_autofree char *sname = NULL;
	struct lfs_ovl_res res = { 0 };
	bool same;
	int sfd, pfd;

	same = lfs_ovl_resolve(u->ov, d, base, &res) == 0 && !res.upper &&
	       res.ino == n->ino;
	lfs_ovl_res_clear(&res);
	if (!same)
		return false;
	if (lfs_upper_copy_up(u, d, false, 0) == 0 &&
	    (pfd = lfs_ovl_dirfd(u->ov, d)) >= 0 &&
	    (sfd = lfs_ovl_upper_at(u->ov, n, &hold, &sname)) >= 0) {
		struct dir_times dt;

		dir_times_save(&dt, pfd);
		if (linkat(sfd, sname, pfd, base, 0) < 0)
			lfs_warn(u->lg, "upper: cannot link \"%s\" to its "
					"copied-up hardlink: %s",
				 path, g_strerror(errno));
		else
			dir_times_restore(&dt);
		lfs_ovl_put(u->ov, hold);
	}
	return true;
}

/* Give @n's new upper the lower name @path too, if that name still shows
 * the same lower file: at the same path, or in the directory that shows
 * its lower directory now, if that was renamed and the kernel holds it
 * (the usual case: the other name is beside the one being copied up). */
static void link_name(struct lfs_upper *u, struct lfs_onode *n,
		      const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	size_t k = g_strv_length(parts);
	struct lfs_onode *d = k ? walk_dir(u->ov, parts, k - 1) : NULL;
	const char *slash = strrchr(path, '/');
	g_autofree char *dir = NULL;
	struct lfs_onode *moved = NULL;

	if (!k)
		return;
	if (d && link_in(u, n, d, parts[k - 1], path)) {
		lfs_ovl_put(u->ov, d);
		return;
	}
	/* The root is never renamed. */
	if (slash) {
		dir = g_strndup(path, slash - path);
		moved = lfs_ovl_lower_dir_node(u->ov, dir);
	}
	if (moved && moved != d)
		link_in(u, n, moved, parts[k - 1], path);
	lfs_ovl_put(u->ov, moved);
	lfs_ovl_put(u->ov, d);
}

/* A lower file with several names is copied up once, and every other
 * name that still shows it becomes a hardlink of the copy, so a write
 * through one name shows through all, now and after a remount (kernel
 * overlayfs needs index=on for that).  A name whose directory was renamed
 * since is found where that directory is now while the kernel holds it;
 * so is every name the node has (the kernel looked it up, before or
 * while this ran).  A name not found shows the lower file, in this mount
 * as after a remount: another object, as overlayfs shows it.  Then
 * (lfs_ovl_copied()) no name found below is @n any more. */
static void link_group(struct lfs_upper *u, struct lfs_onode *n)
{
	struct lfs_tree *t = lfs_ovl_lower_tree(u->ov);
	g_autoptr(GPtrArray) paths = NULL;
	g_autoptr(GHashTable) seen =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GPtrArray *names;
	struct lfs_obj o;

	if (n->type != S_IFDIR && lfs_tree_obj(t, lower_of(n), &o) == 0)
		paths = lfs_tree_link_paths(t, &o);
	for (guint i = 0; paths && i < paths->len; i++)
		link_name(u, n, paths->pdata[i]);
	while ((names = lfs_ovl_copied(u->ov, n, seen)) != NULL) {
		for (guint i = 0; i < names->len; i++) {
			struct lfs_alias *a = names->pdata[i];

			if (n->type != S_IFDIR)
				link_in(u, n, a->parent, a->name, a->name);
			lfs_ovl_put(u->ov, a->parent);
			g_free(a->name);
			g_free(a);
		}
		g_ptr_array_unref(names);
	}
}

/* Empty metacopy file @fd again, all hole, @size bytes long. */
static void unfill(int fd, off_t size)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      size) == 0)
		return;
	if (ftruncate(fd, 0) == 0)
		(void)!ftruncate(fd, size);
}

int lfs_upper_lower_data(struct lfs_upper *u, struct lfs_onode *n,
			 struct lfs_obj *out)
{
	int err = lfs_ovl_lower_obj(u->ov, n, out);

	/* An upper that says the data is below where nothing is (a lower
	 * file gone, or not a regular file): the data is lost. */
	if (err == -ENOENT) {
		lfs_err(u->lg, "upper: a metacopy file (inode %llu) has no "
			       "data in the lower layers",
			(unsigned long long)n->ino);
		return -EIO;
	}
	return err;
}

/* A metacopy file gets its data, in place (@n's copy-up lock held).  It
 * may be renamed meanwhile (that needs no data): the mark goes through
 * the descriptor, not the name. */
static int fill_data(struct lfs_upper *u, struct lfs_onode *n, uint64_t size)
{
	struct cu_ctx c = { u, n, { 0 }, { 0 }, NULL, -1, true, size };
	struct lfs_onode *hold = NULL;
	g_autofree char *name = NULL;
	lfs_autofd fd = -1;
	struct stat ust;
	int pfd, err;

	err = lfs_upper_lower_data(u, n, &c.lower);
	if (err)
		return err;
	pfd = lfs_ovl_upper_at(u->ov, n, &hold, &name);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	lfs_ovl_put(u->ov, hold);
	err = fd < 0 ? -errno : 0;
	if (!err)
		err = copy_file_data(&c, fd);
	if (!err && u->fsync && fsync(fd) < 0)
		err = -errno;
	/* A fill that failed (a full upper, say) gives its blocks back: the
	 * file is still read from below, and the space is the upper's. */
	if (err && fd >= 0 && fstat(fd, &ust) == 0)
		unfill(fd, ust.st_size);
	/* The data is whole: only now may reads stop going below. */
	if (!err &&
	    fremovexattr(fd, lfs_upper_xattr(u, LFS_OVL_METACOPY)) < 0 &&
	    errno != ENODATA)
		err = -errno;
	if (err)
		return err;
	g_mutex_lock(&n->lock);
	n->metacopy = false;
	g_mutex_unlock(&n->lock);
	count(&u->st.data_copies, 1);
	return 0;
}

int lfs_upper_copy_up(struct lfs_upper *u, struct lfs_onode *n, bool data,
		      uint64_t size)
{
	struct lfs_onode *p = NULL;
	g_autofree char *name = NULL;
	bool done, up, metacopy;
	int err = 0;

	g_mutex_lock(&n->lock);
	up = n->upper;
	done = up && !(data && n->metacopy);
	g_mutex_unlock(&n->lock);
	if (done)
		return 0;
	/* Parents first; a parent, once up, stays up.  An object up already
	 * only needs its data, in place (and one removed while open has no
	 * parent). */
	if (!up) {
		err = lfs_ovl_alias(u->ov, n, &p, &name);
		if (err)
			return err;
		err = lfs_upper_copy_up(u, p, false, 0);
		lfs_ovl_put(u->ov, p);
		if (err)
			return err;
	}
	/* Not n->lock: a copy-up may take long (a big file's data), and
	 * only those who need the copy may wait for it. */
	g_mutex_lock(&n->cu_lock);
	g_mutex_lock(&n->lock);
	up = n->upper;
	g_mutex_unlock(&n->lock);
	if (!up) {
		err = copy_one(u, n, data, size);
		if (!err)
			link_group(u, n);
	}
	g_mutex_lock(&n->lock);
	metacopy = n->metacopy;
	g_mutex_unlock(&n->lock);
	if (!err && data && metacopy)
		err = fill_data(u, n, size);
	g_mutex_unlock(&n->cu_lock);
	return err;
}

int lfs_upper_open_file(struct lfs_upper *u, struct lfs_onode *n, int flags)
{
	struct lfs_onode *hold = NULL;
	g_autofree char *name = NULL;
	int pfd = lfs_ovl_upper_at(u->ov, n, &hold, &name);
	int fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	lfs_ovl_put(u->ov, hold);
	return fd;
}

int lfs_upper_redirect_data(struct lfs_upper *u, struct lfs_onode *n)
{
	struct lfs_onode *hold = NULL;
	g_autofree char *name = NULL, *path = NULL, *redirect = NULL;
	int fd, err = 0;

	g_mutex_lock(&n->lock);
	if (n->metacopy && n->lower_path)
		redirect = g_strconcat("/", n->lower_path, NULL);
	g_mutex_unlock(&n->lock);
	if (!redirect)
		return 0;
	fd = lfs_ovl_upper_at(u->ov, n, &hold, &name);
	if (fd < 0)
		return fd;
	path = lfs_live_proc_path(fd, name);
	if (lsetxattr(path, lfs_upper_xattr(u, LFS_OVL_REDIRECT), redirect,
		      strlen(redirect), 0) < 0)
		err = -errno;
	lfs_ovl_put(u->ov, hold);
	return err;
}

/* Whether directory @fd holds anything. */
static int dir_empty(int fd)
{
	g_autoptr(GArray) ents = NULL;
	int err = lfs_live_list(fd, &ents);

	return err ? err : ents->len == 0;
}

int lfs_upper_adopt_root(struct lfs_upper *u)
{
	struct lfs_tree *t = lfs_ovl_lower_tree(u->ov);
	struct lfs_live_ent e;
	struct lfs_obj root;
	struct stat st;
	struct timespec times[2];
	g_autofree char *path = NULL, *origin = NULL;
	int empty, err;

	err = lfs_live_stat(&u->live, u->live.rootfd, ".", &e);
	if (err)
		return err;
	lfs_live_ent_clear(&e);
	empty = dir_empty(u->live.rootfd);
	if (empty <= 0 || e.origin)
		return empty < 0 ? empty : 0;
	err = lfs_tree_obj(t, LFS_ROOT_INO, &root);
	if (err)
		return err;
	lfs_tree_stat(t, &root, &st);
	path = lfs_live_proc_path(u->live.rootfd, ".");
	origin = lfs_live_origin_value(&u->live, LFS_ROOT_INO);
	if (lchown(path, st.st_uid, st.st_gid) < 0 ||
	    chmod(path, st.st_mode & 07777) < 0)
		return -errno;
	{
		struct cu_ctx c = { u, NULL, root, st, NULL, -1, false, 0 };

		err = copy_xattrs(&c, path);
		if (err)
			return err;
	}
	if (lsetxattr(path, lfs_upper_xattr(u, LFS_OVL_LAYERFS_ORIGIN), origin,
		      strlen(origin), 0) < 0)
		return -errno;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	return utimensat(AT_FDCWD, path, times, 0) < 0 ? -errno : 0;
}
