/* Indexing a directory layer (see dir_scan.h).  The walk is iterative (a
 * queue of directories), so a hostile tree thousands of levels deep cannot
 * overflow the stack. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/dir_scan.h"
#include "layerfs/error.h"
#include "layerfs/path.h"
#include "layerfs/tar_scan.h"

struct walk {
	int dirfd;
	const char *root;
	struct lfs_index_builder *b;
	const struct lfs_logger *lg;
	const char *layer;
	GQueue dirs;	    /* relative paths still to read (char *) */
	GHashTable *inodes; /* "dev:ino" -> first path, for hardlinks */
};

static bool overlay_private(const char *name)
{
	return g_str_has_prefix(name, "trusted.overlay.") ||
	       g_str_has_prefix(name, "user.overlay.");
}

static char *full_path(struct walk *w, const char *rel)
{
	return g_build_filename(w->root, rel, NULL);
}

/* The xattrs of @rel (not following a final symlink).  Values are kept in
 * @store so the returned records can point into it. */
static GArray *read_xattrs(struct walk *w, const char *rel, GPtrArray *store)
{
	GArray *xs = g_array_new(FALSE, FALSE, sizeof(struct lfs_scan_xattr));
	g_autofree char *path = full_path(w, rel);
	g_autofree char *names = NULL;
	ssize_t len = llistxattr(path, NULL, 0);

	if (len <= 0)
		return xs;
	names = g_malloc((size_t)len);
	len = llistxattr(path, names, (size_t)len);
	for (ssize_t off = 0; len > 0 && off < len;
	     off += (ssize_t)strlen(names + off) + 1) {
		const char *name = names + off;
		char *value = g_malloc(LFS_XATTR_VALUE_MAX);
		ssize_t vlen;
		struct lfs_scan_xattr x;

		g_ptr_array_add(store, value);
		if (overlay_private(name))
			continue;
		vlen = lgetxattr(path, name, value, LFS_XATTR_VALUE_MAX);
		if (vlen < 0)
			continue;
		g_ptr_array_add(store, g_strdup(name));
		x.name = store->pdata[store->len - 1];
		x.value = value;
		x.len = (size_t)vlen;
		g_array_append_val(xs, x);
	}
	return xs;
}

/* overlayfs marks an opaque directory with this xattr set to "y". */
static bool overlay_opaque(struct walk *w, const char *rel)
{
	static const char *const names[] = { "trusted.overlay.opaque",
					     "user.overlay.opaque" };
	g_autofree char *path = full_path(w, rel);

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char v[2];

		if (lgetxattr(path, names[i], v, sizeof(v)) == 1 && v[0] == 'y')
			return true;
	}
	return false;
}

/* A whiteout in either form?  Returns true when handled. */
static bool handle_whiteout(struct walk *w, const char *rel,
			    const char *name, const struct stat *st, int *err)
{
	const char *target = NULL;
	const char *base;
	size_t plen = lfs_path_split(rel, &base);
	g_autofree char *parent = g_strndup(rel, plen);
	g_autofree char *deleted = NULL;

	*err = 0;
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) {
		*err = lfs_index_builder_whiteout(w->b, rel);
		return true;
	}
	switch (lfs_whiteout_classify(name, &target)) {
	case LFS_WH_NONE:
		return false;
	case LFS_WH_OPAQUE:
		*err = lfs_index_builder_opaque(w->b, parent);
		return true;
	case LFS_WH_META:
		return true;
	case LFS_WH_INVALID:
		lfs_warn(w->lg, "%s: \"%s\" skipped: whiteout of an invalid "
				"name",
			 w->layer, rel);
		return true;
	case LFS_WH_DELETE:
		break;
	}
	deleted = plen ? g_strdup_printf("%s/%s", parent, target)
		       : g_strdup(target);
	*err = lfs_index_builder_whiteout(w->b, deleted);
	return true;
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

static int add_entry(struct walk *w, int dfd, const char *rel,
		     const char *name, const struct stat *st)
{
	g_autoptr(GPtrArray) store = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) xattrs = NULL;
	g_autofree char *link = NULL;
	struct lfs_scan_entry se = { 0 };
	const char *first;

	if (!stat_type(st, &se.type)) {
		lfs_warn(w->lg, "%s: \"%s\" skipped: sockets cannot be part "
				"of a layer",
			 w->layer, rel);
		return 0;
	}
	first = hardlink_of(w, rel, st);
	if (first) {
		se.type = LFS_T_HARDLINK;
		se.target = first;
		return lfs_index_builder_add(w->b, rel, &se);
	}
	se.mode = st->st_mode & 07777;
	se.uid = st->st_uid;
	se.gid = st->st_gid;
	se.mtime_sec = st->st_mtim.tv_sec;
	se.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	se.size = (uint64_t)st->st_size;
	se.rdev = st->st_rdev;
	if (se.type == LFS_T_LNK) {
		link = g_malloc0((size_t)st->st_size + 1);
		if (readlinkat(dfd, name, link, (size_t)st->st_size) < 0)
			return -errno;
		se.target = link;
	}
	xattrs = read_xattrs(w, rel, store);
	se.xattrs = (struct lfs_scan_xattr *)xattrs->data;
	se.nxattrs = xattrs->len;
	return lfs_index_builder_add(w->b, rel, &se);
}

static gboolean read_dir(struct walk *w, const char *rel, GError **error)
{
	lfs_autofd dfd = openat(w->dirfd, *rel ? rel : ".",
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (dfd < 0)
		return lfs_fail(error, errno, "%s: %s: %s", w->layer,
				*rel ? rel : ".", g_strerror(errno));
	d = fdopendir(dup(dfd));
	if (!d)
		return lfs_fail(error, errno, "%s: %s: %s", w->layer, rel,
				g_strerror(errno));
	while (err == 0 && (de = readdir(d)) != NULL) {
		g_autofree char *child = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		child = *rel ? g_strdup_printf("%s/%s", rel, de->d_name)
			     : g_strdup(de->d_name);
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = -errno;
			break;
		}
		if (handle_whiteout(w, child, de->d_name, &st, &err))
			continue;
		err = add_entry(w, dfd, child, de->d_name, &st);
		if (err == 0 && S_ISDIR(st.st_mode)) {
			if (overlay_opaque(w, child))
				err = lfs_index_builder_opaque(w->b, child);
			g_queue_push_tail(&w->dirs, g_steal_pointer(&child));
		}
	}
	closedir(d);
	if (err < 0)
		return lfs_fail(error, -err, "%s: %s: %s", w->layer,
				*rel ? rel : ".", g_strerror(-err));
	return TRUE;
}

gboolean lfs_dir_scan(int dirfd, const char *root,
		      struct lfs_index_builder *b, const struct lfs_logger *lg,
		      const char *layer, GError **error)
{
	struct walk w = { dirfd, root, b, lg, layer, G_QUEUE_INIT, NULL };
	gboolean ok = TRUE;
	struct stat st;
	int err;

	w.inodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 g_free);
	/* The layer directory's own attributes become the root's. */
	err = fstat(dirfd, &st) < 0 ? -errno
				    : add_entry(&w, dirfd, "", ".", &st);
	if (err < 0) {
		ok = lfs_fail(error, -err, "%s: %s", layer, g_strerror(-err));
		goto out;
	}
	if (overlay_opaque(&w, ""))
		lfs_index_builder_opaque(b, "");
	g_queue_push_tail(&w.dirs, g_strdup(""));
	while (ok && !g_queue_is_empty(&w.dirs)) {
		g_autofree char *rel = g_queue_pop_head(&w.dirs);

		ok = read_dir(&w, rel, error);
	}
out:
	g_queue_clear_full(&w.dirs, g_free);
	g_hash_table_unref(w.inodes);
	return ok;
}
