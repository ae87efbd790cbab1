/* The FUSE low-level operations: thin adapters over fsops.h.  Each decodes
 * its request, calls one core function and replies; errors are -errno up
 * to reply_err(), the one place that negates them.  No lock is held across
 * a reply. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuse_internal.h"
#include "layerfs/fsops.h"

static struct lfs_fuse *fctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct lfs_mount *lfs_fuse_mnt(fuse_req_t req)
{
	return fctx(req)->m;
}

static struct lfs_mount *mnt(fuse_req_t req)
{
	return lfs_fuse_mnt(req);
}

void lfs_fuse_reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, -err);
}

static void reply_err(fuse_req_t req, int err)
{
	lfs_fuse_reply_err(req, err);
}

/* Long timeouts, read-only or not: every change to a writable mount goes
 * through the kernel, which updates what it caches itself (the upper
 * directory must not be changed behind the mount's back, as for kernel
 * overlayfs). */
void lfs_fuse_fill_entry(fuse_req_t req, uint64_t id, const struct stat *st,
			 struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = id;
	e->attr = *st;
	e->attr_timeout = fctx(req)->timeout;
	e->entry_timeout = fctx(req)->timeout;
}

double lfs_fuse_timeout(fuse_req_t req)
{
	return fctx(req)->timeout;
}

/* An entry reply hands the node out once more; the kernel only counts
 * it if the reply got through. */
void lfs_fuse_reply_entry(fuse_req_t req, uint64_t id, const struct stat *st)
{
	struct fuse_entry_param e;

	lfs_fuse_fill_entry(req, id, st, &e);
	if (fuse_reply_entry(req, &e) != 0)
		lfs_fs_forget(mnt(req), id, 1);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct lfs_fuse *f = userdata;

	/* Reads from plain files are answered with a descriptor, which
	 * libfuse splices through a pipe into /dev/fuse: the bytes never
	 * pass through our memory (see op_read()). */
	if (f->splice && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	else
		f->splice = false;
	/* libfuse checks that INIT repeats the max_read= mount option. */
	if (f->max_read)
		conn->max_read = (unsigned int)MIN(f->max_read, UINT_MAX);
	/* Symlink targets never change: let the kernel cache them. */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* POSIX ACLs are permissions too (overlayfs checks them); a new
	 * object's umask is then ours to apply, as a default ACL of its
	 * directory replaces it. */
	if (lfs_fs_posix_acl(f->m) && (conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK)) {
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
		lfs_fs_set_posix_acl(f->m, true);
	}
	/* File data changes only through the mount: no attribute check
	 * before cached reads (libfuse asks for it by default). */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* No writeback cache: a write is answered only once the upper took
	 * it (docs/decisions/0020). */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

/* The first request after INIT (see fuse_internal.h); the kernel sends
 * a lookup or a getattr before anything else. */
static void after_init(fuse_req_t req)
{
	if (g_atomic_pointer_get(&fctx(req)->bdi))
		lfs_fuse_raise_readahead(fctx(req));
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	after_init(req);
	struct fuse_entry_param e;
	struct stat st;
	uint64_t id;
	int err = lfs_fs_lookup(mnt(req), parent, name, &id, &st);

	if (err == -ENOENT) {
		/* ino 0: a negative entry the kernel may cache. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = lfs_fuse_timeout(req);
		fuse_reply_entry(req, &e);
		return;
	}
	if (err < 0) {
		reply_err(req, err);
		return;
	}
	/* A file looked up: what tells whether listings should carry
	 * attributes (dirplus.h). */
	if (!S_ISDIR(st.st_mode))
		lfs_dirplus_lookup(mnt(req)->dirplus, parent);
	lfs_fuse_reply_entry(req, id, &st);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	lfs_fs_forget(mnt(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		lfs_fs_forget(mnt(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	after_init(req);
	struct stat st;
	int err = lfs_fs_getattr(mnt(req), ino, &st);

	(void)fi;
	if (err < 0)
		reply_err(req, err);
	else
		fuse_reply_attr(req, &st, lfs_fuse_timeout(req));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	g_autofree char *target = NULL;
	int err = lfs_fs_readlink(mnt(req), ino, &target);

	if (err < 0)
		reply_err(req, err);
	else
		fuse_reply_readlink(req, target);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lfs_file *f;
	/* An open to write copies up, or truncates: a change. */
	bool change = (fi->flags & (O_ACCMODE | O_TRUNC)) != O_RDONLY;
	int err;

	if (change)
		lfs_fs_change_begin(mnt(req));
	err = lfs_fs_open(mnt(req), ino, fi->flags, &f);
	if (change)
		lfs_fs_change_end(mnt(req));

	if (err < 0) {
		reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)f;
	/* Contents change only through this mount, which the kernel's
	 * page cache follows. */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		lfs_fs_release(mnt(req), f);
}

/* A loop thread's own pipe, which a spliced reply's bytes go into before
 * libfuse sends them (see reply_spliced()). */
struct reply_pipe {
	int fd[2];
};

static void reply_pipe_free(void *data)
{
	struct reply_pipe *p = data;

	close(p->fd[0]);
	close(p->fd[1]);
	g_free(p);
}

int lfs_fuse_pipes_init(struct lfs_fuse *f)
{
	int err = pthread_key_create(&f->pipe_key, reply_pipe_free);

	f->pipe_key_made = err == 0;
	return -err;
}

void lfs_fuse_pipes_fini(struct lfs_fuse *f)
{
	/* The loop threads are gone, and took their pipes with them. */
	if (f->pipe_key_made)
		pthread_key_delete(f->pipe_key);
	f->pipe_key_made = false;
}

/* This thread's pipe, made on first use: room for the longest reply,
 * whose bytes may begin and end inside a page, hence two pages more.
 * NULL if there can be none. */
static struct reply_pipe *reply_pipe(struct lfs_fuse *f)
{
	struct reply_pipe *p = pthread_getspecific(f->pipe_key);
	int size = (int)(f->splice_max + 2 * (uint64_t)sysconf(_SC_PAGESIZE));

	if (p)
		return p;
	p = g_new(struct reply_pipe, 1);
	if (pipe2(p->fd, O_CLOEXEC | O_NONBLOCK) < 0) {
		g_free(p);
		return NULL;
	}
	if (fcntl(p->fd[0], F_SETPIPE_SZ, size) < 0 ||
	    pthread_setspecific(f->pipe_key, p) != 0) {
		reply_pipe_free(p);
		return NULL;
	}
	return p;
}

/* A pipe left holding bytes would send them with the next reply: close
 * it; the thread makes a new one when it needs one. */
static void reply_pipe_drop(struct lfs_fuse *f, struct reply_pipe *p)
{
	pthread_setspecific(f->pipe_key, NULL);
	reply_pipe_free(p);
}

/* Exactly @len bytes at @pos of @fd into @p: 0, or -errno (-ENODATA
 * when the file ends first). */
static int fill_pipe(struct reply_pipe *p, int fd, uint64_t pos, size_t len)
{
	loff_t off = (loff_t)pos;

	while (len > 0) {
		ssize_t n = splice(fd, &off, p->fd[1], NULL, len,
				   SPLICE_F_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		len -= (size_t)n;
	}
	return 0;
}

/* Bytes that lie in a plain file (an uncompressed layer, an unpacked
 * copy, a directory layer's file) go to the kernel by splice.
 *
 * Not straight from the file: libfuse would splice it into its pipe
 * itself, and when a read fails partway through (a bad block of the
 * disk), it sends the bytes before the failure as the whole reply.  The
 * kernel takes a short read for the end of the file: it shrinks the
 * file's size and the reader sees a shorter file, with no error, until
 * the mount ends.  So the bytes go into this thread's pipe first, and
 * libfuse moves the pipe's pages into its own and on to /dev/fuse: one
 * splice more per read, no copy.  If not all of them get into the pipe,
 * the read is answered by copy instead (false: op_read() goes on), which
 * tries the disk once more and, if it fails again, logs why and answers
 * EIO. */
static bool reply_spliced(fuse_req_t req, struct lfs_file *f, size_t size,
			  off_t off)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	struct lfs_read_map map;
	struct reply_pipe *p;
	int err = lfs_fs_read_map(mnt(req), f, size, (uint64_t)off, &map);
	int left = 0;

	if (err == -EAGAIN)
		return false;
	if (err < 0) {
		reply_err(req, err);
		return true;
	}
	if (map.len == 0) {
		fuse_reply_buf(req, NULL, 0);
		return true;
	}
	p = reply_pipe(fctx(req));
	if (!p)
		return false;
	if (fill_pipe(p, map.fd, map.pos, map.len) < 0) {
		reply_pipe_drop(fctx(req), p);
		return false;
	}
	bv.buf[0].size = map.len;
	bv.buf[0].flags = FUSE_BUF_IS_FD;
	bv.buf[0].fd = p->fd[0];
	fuse_reply_data(req, &bv, 0);
	if (ioctl(p->fd[0], FIONREAD, &left) < 0 || left > 0)
		reply_pipe_drop(fctx(req), p);
	return true;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct lfs_file *f = (struct lfs_file *)(uintptr_t)fi->fh;
	g_autofree char *buf = NULL;
	ssize_t n;

	(void)ino;
	if (fctx(req)->splice && size <= fctx(req)->splice_max &&
	    reply_spliced(req, f, size, off))
		return;
	buf = g_malloc(size);
	n = lfs_fs_read(mnt(req), f, buf, size, (uint64_t)off);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	lfs_fs_release(mnt(req), (struct lfs_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* No opendir: ENOSYS tells the kernel (FUSE_NO_OPENDIR_SUPPORT) to stop
 * sending opendir and releasedir, and to open every directory with
 * keep_cache and cache_readdir, so a walk over a cached tree makes no
 * round trip at all (see lfs_fs_readdir()). */
static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

/* Packs directory entries into one reply buffer. */
struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	bool plus;	/* a readdirplus reply */
	bool attrs;	/* its entries carry attributes */
	uint32_t files; /* entries taken that are not directories */
};

static int add_dirent(void *ctx, const char *name, uint64_t id,
		      const struct stat *st, uint64_t next)
{
	struct dirbuf *db = ctx;
	char *p = db->buf + db->used;
	size_t left = db->size - db->used, need;

	if (db->plus && db->attrs) {
		struct fuse_entry_param e;

		lfs_fuse_fill_entry(db->req, id, st, &e);
		need = fuse_add_direntry_plus(db->req, p, left, name, &e,
					      (off_t)next);
	} else if (db->plus) {
		/* Node id 0: the kernel takes the name and the type and
		 * makes no inode (fuse_direntplus_link()). */
		struct fuse_entry_param e = {
			.attr = { .st_ino = st->st_ino,
				  .st_mode = st->st_mode },
		};

		need = fuse_add_direntry_plus(db->req, p, left, name, &e,
					      (off_t)next);
	} else {
		need = fuse_add_direntry(db->req, p, left, name, st,
					 (off_t)next);
	}
	if (need > left)
		return 1;
	db->used += need;
	if (!S_ISDIR(st->st_mode))
		db->files++;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, bool plus)
{
	struct lfs_mount *m = mnt(req);
	g_autofree char *buf = g_malloc(size);
	struct dirbuf db = {
		.req = req,
		.buf = buf,
		.size = size,
		.plus = plus,
		.attrs = plus && lfs_dirplus_begin(m->dirplus, ino,
						   (uint64_t)off),
	};
	int err = lfs_fs_readdir(m, ino, (uint64_t)off, db.attrs, add_dirent,
				 &db);

	if (plus)
		lfs_dirplus_sent(m->dirplus, ino, db.attrs, db.files);

	/* An error after some entries: send those; the next call reports
	 * it. */
	if (err < 0 && db.used == 0)
		reply_err(req, err);
	else
		fuse_reply_buf(req, buf, db.used);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

/* xattr replies: a size probe (@size 0) gets the size, else the bytes. */
static void reply_xattr(fuse_req_t req, ssize_t n, const char *buf,
			size_t size)
{
	if (n < 0)
		reply_err(req, (int)n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	g_autofree char *buf = size ? g_malloc(size) : NULL;

	reply_xattr(req, lfs_fs_getxattr(mnt(req), ino, name, buf, size), buf,
		    size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	g_autofree char *buf = size ? g_malloc(size) : NULL;

	reply_xattr(req, lfs_fs_listxattr(mnt(req), ino, buf, size), buf,
		    size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;

	(void)ino;
	lfs_fs_statfs(mnt(req), &st);
	fuse_reply_statfs(req, &st);
}

/* Largest supplementary group list we pass on; the kernel's NGROUPS_MAX
 * is 65536, but access checks with more groups than this are not worth
 * an allocation per request. */
#define MAX_GROUPS 256

/* The kernel checks permissions itself under default_permissions, which
 * layerfs always sets, so this is only reached if that ever changes; it
 * then gives the same answers the kernel would. */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[MAX_GROUPS];
	int n = fuse_req_getgroups(req, MAX_GROUPS, groups);

	/* More than fit: the first MAX_GROUPS are still right. */
	if (n < 0)
		n = 0;
	n = MIN(n, MAX_GROUPS);
	reply_err(req, lfs_fs_access(mnt(req), ino, mask, ctx->uid, ctx->gid,
				     groups, n));
}

const struct fuse_lowlevel_ops lfs_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.access = op_access,
	/* Changes (fuse_write.c): -EROFS without an upper. */
	.setattr = lfs_fuse_setattr,
	.mknod = lfs_fuse_mknod,
	.mkdir = lfs_fuse_mkdir,
	.unlink = lfs_fuse_unlink,
	.rmdir = lfs_fuse_rmdir,
	.symlink = lfs_fuse_symlink,
	.rename = lfs_fuse_rename,
	.link = lfs_fuse_link,
	.write = lfs_fuse_write,
	.write_buf = lfs_fuse_write_buf,
	.create = lfs_fuse_create,
	/* No flush: nothing is held back to write at close(2), and the
	 * upper's file systems report nothing there (decision 0021); the
	 * kernel stops asking after the first ENOSYS. */
	.fsync = lfs_fuse_fsync,
	.fsyncdir = lfs_fuse_fsyncdir,
	.setxattr = lfs_fuse_setxattr,
	.removexattr = lfs_fuse_removexattr,
	.fallocate = lfs_fuse_fallocate,
	.lseek = lfs_fuse_lseek,
	.copy_file_range = lfs_fuse_copy_file_range,
};
