/* Indexing a directory layer (see dir_scan.h).
 *
 * The walk is iterative (a queue of directories), so a tree thousands of
 * levels deep cannot overflow the stack.  Each directory is opened beneath
 * the layer with no symlink allowed on the way (lfs_open_beneath), and each
 * entry's xattrs are read through an O_PATH descriptor of that very entry
 * (/proc/self/fd/N), so a symlink swapped in during the walk can neither
 * redirect it nor make us read another file's xattrs.  The limits of the
 * tar scan apply here too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/dir_scan.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/path.h"
#include "layerfs/tar_scan.h"
#include "layerfs/whiteout.h"

/* As in tar_scan.c: per-layer warnings shown; the rest are counted. */
#define MAX_WARNINGS 100

struct walk {
	int dirfd;
	struct lfs_index_builder *b;
	const struct lfs_logger *lg;
	const char *layer;
	GQueue dirs;	    /* relative paths still to read (char *) */
	GHashTable *inodes; /* "dev:ino" -> first path, for hardlinks */
	unsigned long warnings;
};

static void walk_warn(struct walk *w, const char *rel, const char *why)
{
	if (++w->warnings > MAX_WARNINGS)
		return;
	lfs_warn(w->lg, "%s: \"%s\" skipped: %s", w->layer, *rel ? rel : ".",
		 why);
}

/* One xattr's value, probed for its size first.  NULL if it is gone, or
 * too big (then *why says so). */
static GBytes *xattr_value(const char *proc, const char *name,
			   const char **why)
{
	g_autofree char *buf = NULL;
	ssize_t len = getxattr(proc, name, NULL, 0);

	*why = NULL;
	if (len < 0)
		return NULL;
	if (len > LFS_XATTR_VALUE_MAX) {
		*why = "value over 64 KiB";
		return NULL;
	}
	buf = g_malloc((size_t)len + 1);
	len = getxattr(proc, name, buf, (size_t)len);
	if (len < 0)
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&buf), (size_t)len);
}

/* The xattrs read from one entry: records pointing into @names and
 * @values, which they keep alive. */
struct xattr_set {
	GArray *recs;	   /* struct lfs_scan_xattr */
	char *names;	   /* listxattr()'s list */
	GPtrArray *values; /* GBytes */
};

static void xattr_set_clear(struct xattr_set *x)
{
	g_clear_pointer(&x->recs, g_array_unref);
	g_clear_pointer(&x->names, g_free);
	g_clear_pointer(&x->values, g_ptr_array_unref);
}

/* Read the xattrs of the entry @fd (O_PATH) names into @x. */
static void read_xattrs(struct walk *w, int fd, const char *rel,
			struct xattr_set *x)
{
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
	ssize_t len = listxattr(proc, NULL, 0);

	x->recs = g_array_new(FALSE, FALSE, sizeof(struct lfs_scan_xattr));
	x->values = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);
	if (len <= 0)
		return;
	x->names = g_malloc((size_t)len);
	len = listxattr(proc, x->names, (size_t)len);
	for (ssize_t off = 0; len > 0 && off < len;
	     off += (ssize_t)strlen(x->names + off) + 1) {
		const char *name = x->names + off, *why = NULL;
		struct lfs_scan_xattr rec = { name, NULL, 0 };
		GBytes *value;

		if (lfs_ovl_private_xattr(name))
			continue;
		if (x->recs->len >= LFS_XATTR_COUNT_MAX)
			why = "more than 128 xattrs";
		value = why ? NULL : xattr_value(proc, name, &why);
		if (why) {
			g_autofree char *msg = g_strdup_printf(
				"xattr \"%s\" left out: %s", name, why);

			walk_warn(w, rel, msg);
			continue;
		}
		/* Gone since listed, or empty (tar layers drop those). */
		if (!value || g_bytes_get_size(value) == 0) {
			g_clear_pointer(&value, g_bytes_unref);
			continue;
		}
		g_ptr_array_add(x->values, value);
		rec.value = g_bytes_get_data(value, &rec.len);
		g_array_append_val(x->recs, rec);
	}
}

/* overlayfs marks an opaque directory with its opaque xattr set to "y";
 * an upper directory may have been written in either namespace. */
static bool overlay_opaque(int fd)
{
	static const enum lfs_ovl_ns spaces[] = { LFS_OVL_NS_TRUSTED,
						  LFS_OVL_NS_USER };
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);

	for (size_t i = 0; i < G_N_ELEMENTS(spaces); i++) {
		const char *name = lfs_ovl_xattr_name(spaces[i],
						      LFS_OVL_OPAQUE);
		/* One byte more than "y", so a longer value is no match. */
		char v[sizeof(LFS_OVL_OPAQUE_YES)];
		ssize_t len = getxattr(proc, name, v, sizeof(v));

		if (len == (ssize_t)sizeof(v) - 1 &&
		    memcmp(v, LFS_OVL_OPAQUE_YES, sizeof(v) - 1) == 0)
			return true;
	}
	return false;
}

/* A whiteout in either form?  Returns true when @name was one. */
static bool handle_whiteout(struct walk *w, const char *rel,
			    const struct stat *st, int *err)
{
	enum lfs_wh_kind kind;

	if (lfs_ovl_is_whiteout(st->st_mode, st->st_rdev)) {
		*err = lfs_index_builder_whiteout(w->b, rel);
		return true;
	}
	*err = lfs_index_builder_marker(w->b, rel, &kind);
	if (kind == LFS_WH_INVALID)
		walk_warn(w, rel, "whiteout of an invalid name");
	return kind != LFS_WH_NONE;
}

static bool stat_type(const struct stat *st, enum lfs_etype *type)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		*type = LFS_T_REG;
		return true;
	case S_IFDIR:
		*type = LFS_T_DIR;
		return true;
	case S_IFLNK:
		*type = LFS_T_LNK;
		return true;
	case S_IFCHR:
		*type = LFS_T_CHR;
		return true;
	case S_IFBLK:
		*type = LFS_T_BLK;
		return true;
	case S_IFIFO:
		*type = LFS_T_FIFO;
		return true;
	default:
		return false;
	}
}

/* The second and later names of a multiply-linked file become hardlinks
 * to the first. */
static const char *hardlink_of(struct walk *w, const char *rel,
			       const struct stat *st)
{
	g_autofree char *key = NULL;
	const char *first;

	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return NULL;
	key = g_strdup_printf("%llu:%llu", (unsigned long long)st->st_dev,
			      (unsigned long long)st->st_ino);
	first = g_hash_table_lookup(w->inodes, key);
	if (first)
		return first;
	g_hash_table_insert(w->inodes, g_steal_pointer(&key), g_strdup(rel));
	return NULL;
}

static void fill_attrs(struct lfs_scan_entry *se, const struct stat *st)
{
	se->mode = st->st_mode & 07777;
	se->uid = st->st_uid;
	se->gid = st->st_gid;
	se->mtime_sec = st->st_mtim.tv_sec;
	se->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	se->size = (uint64_t)st->st_size;
	se->rdev = st->st_rdev;
}

/* Index entry @name of directory @dfd (at @rel in the layer), whose
 * O_PATH descriptor is @fd.  Returns 0 or -errno. */
static int add_entry(struct walk *w, int dfd, int fd, const char *rel,
		     const char *name, const struct stat *st)
{
	struct xattr_set xs = { 0 };
	g_autofree char *link = NULL;
	struct lfs_scan_entry se = { 0 };
	const char *first;
	int err;

	if (!stat_type(st, &se.type)) {
		walk_warn(w, rel, "sockets cannot be part of a layer");
		return 0;
	}
	first = hardlink_of(w, rel, st);
	if (first) {
		se.type = LFS_T_HARDLINK;
		se.target = first;
		return lfs_index_builder_add(w->b, rel, &se);
	}
	fill_attrs(&se, st);
	if (se.type == LFS_T_LNK) {
		if (st->st_size > LFS_PATH_MAX) {
			walk_warn(w, rel, "symlink target longer than 4095 "
					  "bytes");
			return 0;
		}
		link = g_malloc0((size_t)st->st_size + 1);
		if (readlinkat(dfd, name, link, (size_t)st->st_size) < 0)
			return -errno;
		se.target = link;
	}
	read_xattrs(w, fd, rel, &xs);
	se.xattrs = (struct lfs_scan_xattr *)xs.recs->data;
	se.nxattrs = xs.recs->len;
	err = lfs_index_builder_add(w->b, rel, &se);
	xattr_set_clear(&xs);
	return err;
}

/* Index child @name of directory @dfd (at @rel).  A subdirectory is
 * queued.  Returns 0 or -errno. */
static int scan_child(struct walk *w, int dfd, const char *rel,
		      const char *name)
{
	g_autofree char *child = *rel ? g_strdup_printf("%s/%s", rel, name)
				      : g_strdup(name);
	lfs_autofd fd = -1;
	struct stat st;
	int err = 0;

	if (strlen(child) > LFS_PATH_MAX) {
		walk_warn(w, child, "path longer than 4095 bytes");
		return 0;
	}
	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (handle_whiteout(w, child, &st, &err))
		return err;
	err = add_entry(w, dfd, fd, child, name, &st);
	if (err < 0 || !S_ISDIR(st.st_mode))
		return err;
	if (overlay_opaque(fd))
		err = lfs_index_builder_opaque(w->b, child);
	g_queue_push_tail(&w->dirs, g_steal_pointer(&child));
	return err;
}

static gboolean scan_error(struct walk *w, const char *rel, int err,
			   GError **error)
{
	if (err == -E2BIG)
		return lfs_fail(error, E2BIG, "%s: %s; refusing the layer",
				w->layer, lfs_index_builder_error(w->b));
	return lfs_fail(error, -err, "%s: \"%s\": %s", w->layer,
			*rel ? rel : ".", g_strerror(-err));
}

static gboolean read_dir(struct walk *w, const char *rel, GError **error)
{
	int dfd = lfs_open_beneath(w->dirfd, rel, O_RDONLY | O_DIRECTORY);
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (dfd < 0)
		return scan_error(w, rel, dfd, error);
	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		return scan_error(w, rel, err, error);
	}
	for (;;) {
		/* NULL is the end, or an error (a bad block of the
		 * directory): only errno tells, so it is cleared first. */
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		err = scan_child(w, dirfd(d), rel, de->d_name);
		if (err < 0) {
			g_autofree char *child = *rel ? g_strdup_printf(
							       "%s/%s", rel,
							       de->d_name)
						      : g_strdup(de->d_name);

			closedir(d);
			return scan_error(w, child, err, error);
		}
	}
	err = -errno;
	closedir(d);
	if (err < 0)
		return scan_error(w, rel, err, error);
	return TRUE;
}

gboolean lfs_dir_scan(int dirfd, struct lfs_index_builder *b,
		      const struct lfs_logger *lg, const char *layer,
		      GError **error)
{
	struct walk w = { dirfd, b, lg, layer, G_QUEUE_INIT, NULL, 0 };
	gboolean ok = TRUE;
	struct stat st;
	int err;

	w.inodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 g_free);
	/* The layer directory's own attributes become the root's. */
	if (fstat(dirfd, &st) < 0)
		err = -errno;
	else if (!S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	else
		err = add_entry(&w, dirfd, dirfd, "", ".", &st);
	if (err == 0 && overlay_opaque(dirfd))
		err = lfs_index_builder_opaque(b, "");
	if (err < 0)
		ok = scan_error(&w, "", err, error);
	g_queue_push_tail(&w.dirs, g_strdup(""));
	while (ok && !g_queue_is_empty(&w.dirs)) {
		g_autofree char *rel = g_queue_pop_head(&w.dirs);

		ok = read_dir(&w, rel, error);
	}
	if (w.warnings > MAX_WARNINGS)
		lfs_warn(lg, "%s: %lu more warnings not shown", layer,
			 w.warnings - MAX_WARNINGS);
	g_queue_clear_full(&w.dirs, g_free);
	g_hash_table_unref(w.inodes);
	return ok;
}
