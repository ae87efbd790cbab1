/* Reading a live directory layer (see live_dir.h).  Every call works from
 * a directory descriptor and one name; xattrs go through
 * /proc/self/fd/N/NAME with the l*xattr() calls, which reach the entry
 * itself, never what a symlink there points to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/live_dir.h"

/* The longest overlay.redirect value we read: a path. */
#define REDIRECT_MAX 4096

void lfs_live_ent_clear(struct lfs_live_ent *e)
{
	g_clear_pointer(&e->redirect, g_free);
}

char *lfs_live_proc_path(int dirfd, const char *name)
{
	return g_strdup_printf("/proc/self/fd/%d/%s", dirfd, name);
}

char *lfs_live_origin_value(const struct lfs_live *lv, uint64_t ino)
{
	return g_strdup_printf("layerfs1:%016llx:%llx",
			       (unsigned long long)lv->stack_id,
			       (unsigned long long)ino);
}

/* Read overlay xattr @key of @path into a new NUL-terminated string of at
 * most @max bytes.  NULL with *err 0 when it is not set, or when it is
 * longer and @longer_unset: no value of that length means anything (an
 * opaque mark that is not "y", overlayfs reads one byte of it; an origin
 * that is not ours, which only numbers the object). */
static char *read_ovl(const struct lfs_live *lv, const char *path,
		      enum lfs_ovl_xattr key, size_t max, bool longer_unset,
		      int *err)
{
	const char *xname = lfs_ovl_xattr_name(lv->ns, key);
	g_autofree char *buf = g_malloc(max + 1);
	ssize_t n = lgetxattr(path, xname, buf, max);

	*err = 0;
	if (n < 0) {
		if (errno == ERANGE && !longer_unset)
			*err = -EIO;
		else if (errno != ENODATA && errno != ENOTSUP &&
			 errno != ERANGE)
			*err = -errno;
		return NULL;
	}
	buf[n] = '\0';
	return g_steal_pointer(&buf);
}

static uint64_t parse_origin(const struct lfs_live *lv, const char *v)
{
	unsigned long long stack, ino;
	char tail;

	if (!v || sscanf(v, "layerfs1:%16llx:%llx%c", &stack, &ino, &tail) != 2)
		return 0;
	return stack == lv->stack_id ? ino : 0;
}

/* The overlay xattrs that matter for @e, whose kind and stat are set. */
static int read_marks(const struct lfs_live *lv, const char *path,
		      struct lfs_live_ent *e)
{
	g_autofree char *opaque = NULL, *meta = NULL, *origin = NULL;
	int err = 0;

	if (e->kind == LFS_LIVE_DIR) {
		opaque = read_ovl(lv, path, LFS_OVL_OPAQUE, 8, true, &err);
		if (err)
			return err;
		e->opaque = opaque && strcmp(opaque, LFS_OVL_OPAQUE_YES) == 0;
	}
	if (S_ISREG(e->st.st_mode)) {
		meta = read_ovl(lv, path, LFS_OVL_METACOPY, 256, false, &err);
		if (err)
			return err;
		e->metacopy = meta != NULL;
	}
	if (e->kind == LFS_LIVE_DIR || e->metacopy) {
		e->redirect = read_ovl(lv, path, LFS_OVL_REDIRECT,
				       REDIRECT_MAX, false, &err);
		if (err)
			return err;
		if (e->redirect && !*e->redirect)
			g_clear_pointer(&e->redirect, g_free);
	}
	origin = read_ovl(lv, path, LFS_OVL_LAYERFS_ORIGIN, 64, true, &err);
	if (err)
		return err;
	e->origin = parse_origin(lv, origin);
	return 0;
}

/* overlayfs's second whiteout spelling: an empty regular file with the
 * overlay.whiteout xattr. */
static bool xattr_whiteout(const struct lfs_live *lv, const char *path)
{
	const char *xname = lfs_ovl_xattr_name(lv->ns, LFS_OVL_WHITEOUT);

	return lgetxattr(path, xname, NULL, 0) >= 0;
}

int lfs_live_stat(const struct lfs_live *lv, int dirfd, const char *name,
		  struct lfs_live_ent *out)
{
	g_autofree char *path = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (fstatat(dirfd, name, &out->st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0; /* LFS_LIVE_ABSENT */
		return -errno;
	}
	if (lfs_ovl_is_whiteout(out->st.st_mode, out->st.st_rdev)) {
		out->kind = LFS_LIVE_WHITEOUT;
		return 0;
	}
	path = lfs_live_proc_path(dirfd, name);
	if (S_ISREG(out->st.st_mode) && out->st.st_size == 0 &&
	    xattr_whiteout(lv, path)) {
		out->kind = LFS_LIVE_WHITEOUT;
		return 0;
	}
	out->kind = S_ISDIR(out->st.st_mode) ? LFS_LIVE_DIR : LFS_LIVE_OTHER;
	err = read_marks(lv, path, out);
	if (err)
		lfs_live_ent_clear(out);
	return err;
}

static void dirent_clear(struct lfs_live_dirent *d)
{
	g_free(d->name);
}

int lfs_live_list(int dirfd, GArray **out)
{
	g_autoptr(GArray) ents = g_array_new(FALSE, FALSE,
					     sizeof(struct lfs_live_dirent));
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	g_array_set_clear_func(ents, (GDestroyNotify)dirent_clear);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int err = -errno;

		close(fd);
		return err;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		struct lfs_live_dirent e;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		e.name = g_strdup(de->d_name);
		e.d_type = de->d_type;
		e.d_ino = de->d_ino;
		g_array_append_val(ents, e);
		errno = 0;
	}
	if (errno) {
		int err = -errno;

		closedir(d);
		return err;
	}
	closedir(d);
	*out = g_steal_pointer(&ents);
	return 0;
}

/* Owner records are never shown where they are in use. */
static bool record(const struct lfs_live *lv, const char *xname)
{
	return lv->override != LFS_OVERRIDE_NONE && lfs_override_name(xname);
}

void lfs_live_apply_override(const struct lfs_live *lv, int dirfd,
			     const char *name, struct stat *st)
{
	g_autofree char *path = NULL;
	char buf[64];
	ssize_t n;
	mode_t mode;

	if (lv->override == LFS_OVERRIDE_NONE ||
	    !(S_ISDIR(st->st_mode) || S_ISREG(st->st_mode)))
		return;
	path = lfs_live_proc_path(dirfd, name);
	n = lgetxattr(path, lfs_override_xattr(lv->override), buf, sizeof(buf));
	if (n > 0 && lfs_override_parse(buf, (size_t)n, &st->st_uid,
					&st->st_gid, &mode))
		st->st_mode = (st->st_mode & S_IFMT) | mode;
}

ssize_t lfs_live_getxattr(const struct lfs_live *lv, int dirfd,
			  const char *name, const char *xname, void *buf,
			  size_t size)
{
	g_autofree char *path = NULL;
	g_autofree char *stored = NULL;
	ssize_t n;

	if (record(lv, xname))
		return -ENODATA;
	stored = lfs_ovl_escape(lv->ns, xname);
	path = lfs_live_proc_path(dirfd, name);
	n = lgetxattr(path, stored, buf, size);
	return n < 0 ? -errno : n;
}

ssize_t lfs_live_listxattr(const struct lfs_live *lv, int dirfd,
			   const char *name, char *buf, size_t size)
{
	g_autofree char *path = lfs_live_proc_path(dirfd, name);
	g_autofree char *all = NULL;
	ssize_t len, total = 0;

	/* The list changes between the size probe and the read only if
	 * someone writes the upper behind our back: then try again. */
	for (int tries = 0; tries < 4; tries++) {
		len = llistxattr(path, NULL, 0);
		if (len < 0)
			return -errno;
		g_free(all);
		all = g_malloc((size_t)len + 1);
		len = llistxattr(path, all, (size_t)len);
		if (len >= 0 || errno != ERANGE)
			break;
	}
	if (len < 0)
		return -errno;
	for (ssize_t off = 0; off < len;) {
		const char *x = all + off;
		g_autofree char *shown = NULL;
		size_t n;

		off += (ssize_t)strnlen(x, (size_t)(len - off)) + 1;
		shown = lfs_ovl_unescape(lv->ns, x);
		if (!shown || record(lv, shown))
			continue;
		n = strlen(shown) + 1;
		if (size) {
			if ((size_t)total + n > size)
				return -ERANGE;
			memcpy(buf + total, shown, n);
		}
		total += (ssize_t)n;
	}
	return total;
}

char *lfs_live_readlink(int dirfd, const char *name, int *err)
{
	g_autofree char *buf = g_malloc(PATH_MAX + 1);
	ssize_t n = readlinkat(dirfd, name, buf, PATH_MAX);

	if (n < 0) {
		*err = -errno;
		return NULL;
	}
	buf[n] = '\0';
	*err = 0;
	return g_steal_pointer(&buf);
}
