/* The operations of a writable mount (see fsops.h): names through the
 * overlay namespace (overlay.h), changes through upper/ (upper.h), data
 * from the upper file once there is one, else from below.  Every write
 * call here answers -EROFS on a read-only mount. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fsops_internal.h"
#include "layerfs/cleanup.h"
#include "layerfs/fdutil.h"

static struct lfs_onode *node(struct lfs_mount *m, uint64_t id)
{
	return lfs_ovl_get(m->ovl, id);
}

/* @n's attributes for a reply that hands it out: on failure its new
 * kernel count is taken back. */
static int entry_out(struct lfs_mount *m, struct lfs_onode *n, uint64_t *id,
		     struct stat *st)
{
	int err = lfs_ovl_stat(m->ovl, n, st);

	if (err)
		lfs_ovl_forget(m->ovl, n->id, 1);
	else if (id)
		*id = n->id;
	if (!err)
		lfs_fs_show(m, st);
	return err;
}

int lfs_rw_lookup(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t *id, struct stat *st)
{
	struct lfs_onode *p = node(m, parent), *n;
	int err;

	if (!p)
		return -ESTALE;
	err = lfs_ovl_lookup(m->ovl, p, name, &n);
	lfs_ovl_put(m->ovl, p);
	if (err)
		return err;
	err = entry_out(m, n, id, st);
	lfs_ovl_put(m->ovl, n);
	return err;
}

int lfs_rw_getattr(struct lfs_mount *m, uint64_t id, struct stat *st)
{
	struct lfs_onode *n = node(m, id);
	int err;

	if (!n)
		return -ESTALE;
	err = lfs_ovl_stat(m->ovl, n, st);
	if (!err)
		lfs_fs_show(m, st);
	lfs_ovl_put(m->ovl, n);
	return err;
}

int lfs_rw_readlink(struct lfs_mount *m, uint64_t id, char **target)
{
	struct lfs_onode *n = node(m, id);
	int err;

	if (!n)
		return -ESTALE;
	err = lfs_ovl_readlink(m->ovl, n, target);
	lfs_ovl_put(m->ovl, n);
	return err;
}

ssize_t lfs_rw_getxattr(struct lfs_mount *m, uint64_t id, const char *name,
			void *buf, size_t size)
{
	struct lfs_onode *n = node(m, id);
	ssize_t r;

	if (!n)
		return -ESTALE;
	r = lfs_ovl_getxattr(m->ovl, n, name, buf, size);
	lfs_ovl_put(m->ovl, n);
	return r;
}

ssize_t lfs_rw_listxattr(struct lfs_mount *m, uint64_t id, char *buf,
			 size_t size)
{
	struct lfs_onode *n = node(m, id);
	ssize_t r;

	if (!n)
		return -ESTALE;
	r = lfs_ovl_listxattr(m->ovl, n, buf, size);
	lfs_ovl_put(m->ovl, n);
	return r;
}

int lfs_rw_statfs(struct lfs_mount *m, struct statvfs *st)
{
	/* The space writes can take is the upper's. */
	if (fstatvfs(m->upper->live.rootfd, st) < 0)
		return -errno;
	st->f_flag &= ~(unsigned long)ST_RDONLY;
	return 0;
}

/* ---- files ---- */

/* The open(2) flags our own descriptor of the upper file takes: the
 * access mode and synchronous writes.  Not O_APPEND: the kernel already
 * gives every write its offset (the end of the file, for O_APPEND), and
 * a pwrite() on an O_APPEND descriptor would ignore it. */
static int upper_flags(int flags)
{
	return (flags & (O_ACCMODE | O_SYNC | O_DSYNC | O_NOATIME)) |
	       O_NONBLOCK;
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Truncate @n's upper to nothing, through a descriptor of our own (the
 * open may be O_RDONLY | O_TRUNC). */
static int truncate_upper(struct lfs_mount *m, struct lfs_onode *n)
{
	lfs_autofd fd = lfs_upper_open_file(m->upper, n, O_WRONLY);

	if (fd < 0)
		return fd;
	return ftruncate(fd, 0) < 0 ? -errno : 0;
}

/* A new open file of @n: the upper file if there is one (it must, for
 * writing), else the data below. */
static int file_new(struct lfs_mount *m, struct lfs_onode *n, int flags,
		    int ufd, struct lfs_file **out)
{
	struct lfs_file *f = g_new0(struct lfs_file, 1);
	struct lfs_obj o;
	bool upper, metacopy;
	int err = 0;

	f->node = lfs_onode_ref(n);
	f->flags = flags;
	f->fd = -1;
	f->ufd = ufd;
	g_mutex_init(&f->lock);
	g_mutex_lock(&n->lock);
	upper = n->upper;
	metacopy = n->metacopy;
	g_mutex_unlock(&n->lock);
	if (f->ufd < 0 && upper && !metacopy) {
		f->ufd = lfs_upper_open_file(m->upper, n, O_RDONLY | O_NONBLOCK);
		err = f->ufd < 0 ? f->ufd : 0;
	} else if (f->ufd < 0) {
		err = lfs_upper_lower_data(m->upper, n, &o);
		if (!err)
			err = lfs_file_set_lower(m, f, &o);
	}
	if (err) {
		lfs_file_free(m, f);
		return err;
	}
	lfs_file_track(m, f);
	*out = f;
	return 0;
}

int lfs_rw_open(struct lfs_mount *m, uint64_t id, int flags,
		struct lfs_file **out)
{
	struct lfs_onode *n = node(m, id);
	bool trunc = flags & O_TRUNC;
	int ufd = -1, err = 0;

	if (!n)
		return -ESTALE;
	if (n->type == S_IFDIR)
		err = -EISDIR;
	else if (n->type != S_IFREG)
		err = -EINVAL;
	if (!err && (wants_write(flags) || trunc) && !lfs_fs_writable(m))
		err = -EROFS;
	if (!err && wants_write(flags))
		err = lfs_upper_copy_up(m->upper, n, true,
					trunc ? 0 : UINT64_MAX);
	if (!err && trunc)
		err = truncate_upper(m, n);
	if (!err && (flags & O_ACCMODE) != O_RDONLY) {
		ufd = lfs_upper_open_file(m->upper, n, upper_flags(flags));
		err = ufd < 0 ? ufd : 0;
	}
	if (!err)
		err = file_new(m, n, flags, ufd, out);
	lfs_ovl_put(m->ovl, n);
	return err;
}

/* The upper descriptor reads of @f go to, or -1 while the data is below.
 * A file opened for reading before another opener copied it up switches
 * to the copy, so it never reads stale data the kernel would then cache
 * beside the new. */
static int read_fd(struct lfs_mount *m, struct lfs_file *f)
{
	bool upper, metacopy;
	int fd;

	g_mutex_lock(&f->lock);
	fd = f->ufd;
	g_mutex_unlock(&f->lock);
	if (fd >= 0 || !f->node)
		return fd;
	g_mutex_lock(&f->node->lock);
	upper = f->node->upper;
	metacopy = f->node->metacopy;
	g_mutex_unlock(&f->node->lock);
	if (!upper || metacopy)
		return -1;
	fd = lfs_upper_open_file(m->upper, f->node, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1; /* the data below is still right */
	g_mutex_lock(&f->lock);
	if (f->ufd < 0) {
		f->ufd = fd;
	} else {
		close(fd);
		fd = f->ufd;
	}
	g_mutex_unlock(&f->lock);
	return fd;
}

ssize_t lfs_rw_read(struct lfs_mount *m, struct lfs_file *f, void *buf,
		    size_t len, uint64_t off)
{
	int fd = read_fd(m, f);

	if (fd >= 0) {
		ssize_t n = lfs_pread_full(fd, buf, len, (off_t)off);

		if (n >= 0)
			__atomic_fetch_add(&m->reads_copied, 1,
					   __ATOMIC_RELAXED);
		return n;
	}
	if (!f->layer)
		return -EIO;
	return lfs_file_read_lower(m, f, buf, len, off);
}

int lfs_rw_read_map(struct lfs_mount *m, struct lfs_file *f, size_t len,
		    uint64_t off, struct lfs_read_map *out)
{
	int fd = read_fd(m, f);
	struct stat st;

	if (fd < 0)
		return f->layer ? lfs_file_map_lower(m, f, len, off, out)
				: -EIO;
	if (fstat(fd, &st) < 0)
		return -errno;
	out->fd = fd;
	out->pos = off;
	out->len = off >= (uint64_t)st.st_size
			   ? 0
			   : (size_t)MIN((uint64_t)len, st.st_size - off);
	__atomic_fetch_add(&m->reads_spliced, 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- listings ---- */

/* The first entry of @l whose cookie is past @off. */
static uint32_t first_after(const struct lfs_olist *l, uint64_t off)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (l->ents[mid].cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int emit_dots(struct lfs_mount *m, struct lfs_onode *d, uint64_t off,
		     bool plus, lfs_dirent_fn emit, void *ctx)
{
	struct stat st = { 0 };
	uint64_t parent = lfs_ovl_parent_id(m->ovl, d);

	if (off == 0) {
		if (plus && lfs_ovl_stat(m->ovl, d, &st) == 0)
			lfs_fs_show(m, &st);
		st.st_ino = d->ino;
		st.st_mode = S_IFDIR | (st.st_mode & 07777);
		if (emit(ctx, ".", d->id, &st, 1))
			return 1;
	}
	if (off <= 1) {
		struct lfs_onode *p = node(m, parent);

		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFDIR;
		/* An entry numbered 0 would not be shown at all. */
		st.st_ino = p ? p->ino : d->ino;
		lfs_ovl_put(m->ovl, p);
		if (emit(ctx, "..", parent, &st, 2))
			return 1;
	}
	return 0;
}

/* One readdirplus entry: looked up (a kernel count, taken back if the
 * entry does not fit). */
static int emit_plus(struct lfs_mount *m, struct lfs_onode *d,
		     const struct lfs_odirent *e, lfs_dirent_fn emit, void *ctx)
{
	struct lfs_onode *n;
	struct stat st;
	int r = lfs_ovl_lookup(m->ovl, d, e->name, &n);

	if (r)
		return r;
	r = entry_out(m, n, NULL, &st);
	if (r == 0) {
		r = emit(ctx, e->name, n->id, &st, e->cookie);
		if (r)
			lfs_ovl_forget(m->ovl, n->id, 1);
	}
	lfs_ovl_put(m->ovl, n);
	return r;
}

int lfs_rw_readdir(struct lfs_mount *m, uint64_t id, uint64_t off, bool plus,
		   lfs_dirent_fn emit, void *ctx)
{
	struct lfs_onode *d = node(m, id);
	struct lfs_olist *l = NULL;
	int err;

	if (!d)
		return -ESTALE;
	err = lfs_ovl_dirlist(m->ovl, d, &l);
	if (err || emit_dots(m, d, off, plus, emit, ctx))
		goto out;
	for (uint32_t i = first_after(l, off); i < l->n; i++) {
		const struct lfs_odirent *e = &l->ents[i];
		struct stat st = { .st_ino = e->ino, .st_mode = e->type };
		int r;

		if (plus)
			r = emit_plus(m, d, e, emit, ctx);
		else
			r = emit(ctx, e->name, 0, &st, e->cookie);
		/* A name gone since the listing was made is skipped. */
		if (r == -ENOENT)
			continue;
		if (r < 0)
			err = r;
		if (r)
			break;
	}
out:
	lfs_olist_unref(l);
	lfs_ovl_put(m->ovl, d);
	return err;
}

/* ---- changes ---- */

int lfs_fs_make(struct lfs_mount *m, uint64_t parent, const char *name,
		const struct lfs_new_obj *obj, const struct lfs_caller *c,
		uint64_t *id, struct stat *st, struct lfs_file **f)
{
	struct lfs_new_obj o = *obj;
	struct lfs_caller owner = *c;
	struct lfs_onode *p, *n = NULL;
	int fd = -1, err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	p = node(m, parent);
	if (!p)
		return -ESTALE;
	o.flags = upper_flags(obj->flags);
	owner.uid = lfs_idmap_store(&m->uids, c->uid);
	owner.gid = lfs_idmap_store(&m->gids, c->gid);
	err = lfs_upper_create(m->upper, p, name, &o, &owner, &n, &fd);
	lfs_ovl_put(m->ovl, p);
	if (err)
		return err;
	err = entry_out(m, n, id, st);
	if (!err && f) {
		err = file_new(m, n, obj->flags, g_steal_fd(&fd), f);
		if (err)
			lfs_ovl_forget(m->ovl, n->id, 1);
	}
	if (fd >= 0)
		close(fd);
	lfs_ovl_put(m->ovl, n);
	return err;
}

int lfs_fs_link(struct lfs_mount *m, uint64_t ino, uint64_t parent,
		const char *name, uint64_t *id, struct stat *st)
{
	struct lfs_onode *n, *p;
	int err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	n = node(m, ino);
	p = node(m, parent);
	err = n && p ? lfs_upper_link(m->upper, n, p, name) : -ESTALE;
	if (!err)
		err = entry_out(m, n, id, st);
	lfs_ovl_put(m->ovl, n);
	lfs_ovl_put(m->ovl, p);
	return err;
}

static int remove_name(struct lfs_mount *m, uint64_t parent, const char *name,
		       bool dir)
{
	struct lfs_onode *p;
	int err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	p = node(m, parent);
	if (!p)
		return -ESTALE;
	err = lfs_upper_remove(m->upper, p, name, dir);
	lfs_ovl_put(m->ovl, p);
	return err;
}

int lfs_fs_unlink(struct lfs_mount *m, uint64_t parent, const char *name)
{
	return remove_name(m, parent, name, false);
}

int lfs_fs_rmdir(struct lfs_mount *m, uint64_t parent, const char *name)
{
	return remove_name(m, parent, name, true);
}

int lfs_fs_rename(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags)
{
	struct lfs_onode *p, *np;
	int err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	p = node(m, parent);
	np = node(m, newparent);
	err = p && np ? lfs_upper_rename(m->upper, p, name, np, newname, flags)
		      : -ESTALE;
	lfs_ovl_put(m->ovl, p);
	lfs_ovl_put(m->ovl, np);
	return err;
}

int lfs_fs_setattr(struct lfs_mount *m, uint64_t ino, struct lfs_setattr *a,
		   struct lfs_file *f, struct stat *st)
{
	struct lfs_onode *n;
	int err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	n = node(m, ino);
	if (!n)
		return -ESTALE;
	a->fd = -1;
	if (f && f->ufd >= 0 && (f->flags & O_ACCMODE) != O_RDONLY)
		a->fd = f->ufd;
	a->uid = lfs_idmap_store(&m->uids, a->uid);
	a->gid = lfs_idmap_store(&m->gids, a->gid);
	err = lfs_upper_setattr(m->upper, n, a);
	if (!err)
		err = lfs_ovl_stat(m->ovl, n, st);
	if (!err)
		lfs_fs_show(m, st);
	lfs_ovl_put(m->ovl, n);
	return err;
}

int lfs_fs_write_fd(struct lfs_mount *m, struct lfs_file *f)
{
	if (!lfs_fs_writable(m))
		return -EROFS;
	return f->ufd >= 0 && (f->flags & O_ACCMODE) != O_RDONLY ? f->ufd
								 : -EBADF;
}

ssize_t lfs_fs_write(struct lfs_mount *m, struct lfs_file *f,
		     const void *buf, size_t len, uint64_t off)
{
	int fd = lfs_fs_write_fd(m, f);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pwrite(fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

int lfs_fs_fsync(struct lfs_mount *m, struct lfs_file *f, bool datasync)
{
	if (!m->ovl || f->ufd < 0)
		return 0; /* nothing of ours was written */
	if ((datasync ? fdatasync(f->ufd) : fsync(f->ufd)) < 0)
		return -errno;
	return 0;
}

int lfs_fs_fsyncdir(struct lfs_mount *m, uint64_t ino, bool datasync)
{
	struct lfs_onode *n;
	lfs_autofd fd = -1;
	int dfd;

	if (!m->ovl)
		return 0;
	n = node(m, ino);
	if (!n)
		return -ESTALE;
	dfd = lfs_ovl_dirfd(m->ovl, n);
	if (dfd >= 0)
		fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	lfs_ovl_put(m->ovl, n);
	if (dfd == -ENOENT)
		return 0; /* no upper: nothing was written */
	if (fd < 0)
		return dfd < 0 ? dfd : -errno;
	return (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

int lfs_fs_fallocate(struct lfs_mount *m, struct lfs_file *f, int mode,
		     uint64_t off, uint64_t len)
{
	int fd = lfs_fs_write_fd(m, f);

	if (fd < 0)
		return fd;
	return fallocate(fd, mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

/* SEEK_DATA / SEEK_HOLE in a file still below: from the extents a
 * sparse entry records, the real file of a directory layer, or (plain
 * data) the whole file. */
static int64_t seek_lower(struct lfs_file *f, uint64_t off, int whence)
{
	const struct lfs_index *ix = f->layer->index;
	const struct lfs_index_entry *e = lfs_index_get(ix, f->entry);
	off_t r;

	if (off >= e->size)
		return -ENXIO;
	if (f->fd >= 0) {
		r = lseek(f->fd, (off_t)off, whence);
		return r < 0 ? -errno : r;
	}
	if (!(e->flags & LFS_E_SPARSE))
		return whence == SEEK_DATA ? (int64_t)off : (int64_t)e->size;
	for (uint32_t k = 0; k < e->u.ext.count; k++) {
		const struct lfs_index_extent *x =
			&ix->extents[e->u.ext.first + k];

		if (x->len == 0 || x->logical + x->len <= off)
			continue;
		if (whence == SEEK_DATA)
			return (int64_t)MAX(off, x->logical);
		if (x->logical > off)
			return (int64_t)off; /* in a hole already */
		off = x->logical + x->len; /* the hole after this run */
	}
	return whence == SEEK_DATA ? -ENXIO : (int64_t)MIN(off, e->size);
}

int64_t lfs_fs_lseek(struct lfs_mount *m, struct lfs_file *f, uint64_t off,
		     int whence)
{
	int fd;
	off_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	fd = m->ovl ? read_fd(m, f) : -1;
	if (fd < 0)
		return f->layer ? seek_lower(f, off, whence) : -EIO;
	r = lseek(fd, (off_t)off, whence);
	return r < 0 ? -errno : r;
}

/* Copy through a buffer: from below, or where the kernel cannot. */
static ssize_t copy_buffered(struct lfs_mount *m, struct lfs_file *in,
			     uint64_t off_in, int out, uint64_t off_out,
			     size_t len)
{
	g_autofree char *buf = g_malloc(MIN(len, (size_t)1 << 20));
	size_t done = 0;

	while (done < len) {
		size_t want = MIN(len - done, (size_t)1 << 20);
		ssize_t n = lfs_rw_read(m, in, buf, want, off_in + done);
		int err;

		if (n < 0)
			return done ? (ssize_t)done : n;
		if (n == 0)
			break;
		err = lfs_pwrite_full(out, buf, (size_t)n,
				      (off_t)(off_out + done));
		if (err)
			return done ? (ssize_t)done : err;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t lfs_fs_copy_range(struct lfs_mount *m, struct lfs_file *in,
			  uint64_t off_in, struct lfs_file *out,
			  uint64_t off_out, size_t len, int flags)
{
	int ofd = lfs_fs_write_fd(m, out);
	int ifd;

	if (ofd < 0)
		return ofd;
	if (flags)
		return -EINVAL;
	ifd = read_fd(m, in);
	if (ifd >= 0) {
		loff_t a = (loff_t)off_in, b = (loff_t)off_out;
		ssize_t n = copy_file_range(ifd, &a, ofd, &b, len, 0);

		if (n >= 0)
			return n;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
	}
	return copy_buffered(m, in, off_in, ofd, off_out, len);
}

static int xattr_change(struct lfs_mount *m, uint64_t ino, const char *name,
			const void *value, size_t size, int flags, bool set)
{
	struct lfs_onode *n;
	int err;

	if (!lfs_fs_writable(m))
		return -EROFS;
	if (m->noxattrs)
		return -EOPNOTSUPP;
	n = node(m, ino);
	if (!n)
		return -ESTALE;
	err = set ? lfs_upper_setxattr(m->upper, n, name, value, size, flags)
		  : lfs_upper_removexattr(m->upper, n, name);
	lfs_ovl_put(m->ovl, n);
	return err;
}

int lfs_fs_setxattr(struct lfs_mount *m, uint64_t ino, const char *name,
		    const void *value, size_t size, int flags)
{
	return xattr_change(m, ino, name, value, size, flags, true);
}

int lfs_fs_removexattr(struct lfs_mount *m, uint64_t ino, const char *name)
{
	return xattr_change(m, ino, name, NULL, 0, 0, false);
}

void lfs_fs_change_begin(struct lfs_mount *m)
{
	lfs_freeze_enter(&m->freeze);
}

void lfs_fs_change_end(struct lfs_mount *m)
{
	lfs_freeze_leave(&m->freeze);
}

int lfs_fs_freeze(struct lfs_mount *m, pid_t pid)
{
	if (!lfs_fs_writable(m))
		return -EROFS;
	return lfs_freeze(&m->freeze, pid);
}
