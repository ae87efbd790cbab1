/* An upper's changes as a new image layer (commit.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/changes.h"
#include "layerfs/commit.h"
#include "layerfs/error.h"
#include "layerfs/fsops.h"
#include "layerfs/whiteout.h"

#define DATA_BUF (1u << 20)

struct commit {
	struct lfs_mount *m;
	const struct lfs_commit_options *o;
	struct archive *a;
	struct lfs_compress *out;
	int out_err;		/* the compressor's -errno */
	GHashTable *links;	/* st_ino -> first path written (g_free) */
	struct lfs_commit_stats *st;
	uint8_t *buf;
	char *why;		/* what failed, for the error */
};

/* Whether an object of @mode can be a hardlink in a tar (any but a
 * directory). */
static bool linkable(mode_t mode)
{
	return !S_ISDIR(mode);
}

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf,
			   size_t len)
{
	struct commit *c = ctx;
	int err = lfs_compress_write(c->out, buf, len);

	if (err) {
		c->out_err = err;
		archive_set_error(a, -err, "%s", g_strerror(-err));
		return -1;
	}
	__atomic_add_fetch(&c->st->bytes, len, __ATOMIC_RELAXED);
	return (la_ssize_t)len;
}

/* Fail change @path with -@err and a reason. */
static int failed(struct commit *c, const char *path, int err,
		  const char *what)
{
	g_free(c->why);
	c->why = g_strdup_printf("/%s: %s", path, what);
	return err;
}

static int archive_failed(struct commit *c, const char *path)
{
	if (c->out_err)
		return failed(c, path, c->out_err, g_strerror(-c->out_err));
	return failed(c, path, -EIO, archive_error_string(c->a));
}

static void set_time(struct commit *c, struct archive_entry *e,
		     const struct timespec *t)
{
	struct timespec v = *t;

	if (c->o->clamp && (v.tv_sec > c->o->clamp_time.tv_sec ||
			    (v.tv_sec == c->o->clamp_time.tv_sec &&
			     v.tv_nsec > c->o->clamp_time.tv_nsec)))
		v = c->o->clamp_time;
	archive_entry_set_mtime(e, v.tv_sec, v.tv_nsec);
}

/* Every xattr node @id shows, onto @e. */
static int add_xattrs(struct commit *c, uint64_t id, struct archive_entry *e,
		      const char *path)
{
	g_autofree char *names = NULL;
	ssize_t n = lfs_fs_listxattr(c->m, id, NULL, 0);

	if (n == -EOPNOTSUPP || n == 0)
		return 0;
	if (n < 0)
		return failed(c, path, (int)n, "cannot list its xattrs");
	names = g_malloc((size_t)n);
	n = lfs_fs_listxattr(c->m, id, names, (size_t)n);
	if (n < 0)
		return failed(c, path, (int)n, "cannot list its xattrs");
	for (const char *x = names; x < names + n; x += strlen(x) + 1) {
		g_autofree char *value = NULL;
		ssize_t len;

		/* A layer's overlay.* xattrs are overlayfs's bookkeeping to
		 * every reader (layerfs hides them, umoci drops them, and
		 * an overlay mount over an unpacked layer would obey them):
		 * one a user set cannot be kept. */
		if (lfs_ovl_private_xattr(x)) {
			c->st->xattrs_left++;
			continue;
		}
		len = lfs_fs_getxattr(c->m, id, x, NULL, 0);
		if (len >= 0) {
			value = g_malloc((size_t)len + 1);
			len = lfs_fs_getxattr(c->m, id, x, value, (size_t)len);
		}
		if (len == -ENODATA)
			continue; /* gone meanwhile */
		if (len < 0)
			return failed(c, path, (int)len,
				      "cannot read an xattr");
		archive_entry_xattr_add_entry(e, x, value, (size_t)len);
	}
	return 0;
}

/* The data of file node @id, @size bytes. */
static int add_data(struct commit *c, uint64_t id, uint64_t size,
		    const char *path)
{
	struct lfs_file *f = NULL;
	uint64_t off = 0;
	int err = lfs_fs_open(c->m, id, O_RDONLY, &f);

	if (err)
		return failed(c, path, err, "cannot open it");
	while (!err && off < size) {
		ssize_t n;

		if (c->o->stop && g_atomic_int_get(c->o->stop)) {
			err = failed(c, path, -ECANCELED, "interrupted");
			break;
		}
		n = lfs_fs_read(c->m, f, c->buf,
					MIN((uint64_t)DATA_BUF, size - off),
					off);

		if (n < 0)
			err = failed(c, path, (int)n, g_strerror((int)-n));
		else if (n == 0)
			err = failed(c, path, -EIO,
				     "shorter than its size: it changed "
				     "while it was read");
		else if (archive_write_data(c->a, c->buf, (size_t)n) != n)
			err = archive_failed(c, path);
		else
			off += (uint64_t)n;
	}
	lfs_fs_release(c->m, f);
	return err;
}

/* A whiteout of @ch's name: an empty ".wh.NAME" beside it. */
static int add_whiteout(struct commit *c, const struct lfs_change *ch)
{
	g_autofree char *dir = g_path_get_dirname(ch->path);
	g_autofree char *name = strcmp(dir, ".") == 0
		? g_strconcat(LFS_WH_PREFIX, ch->name, NULL)
		: g_strconcat(dir, "/", LFS_WH_PREFIX, ch->name, NULL);
	struct archive_entry *e = archive_entry_new();
	int err = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	if (archive_write_header(c->a, e) != ARCHIVE_OK)
		err = archive_failed(c, ch->path);
	archive_entry_free(e);
	return err;
}

static int add_object(struct commit *c, const struct lfs_change *ch)
{
	uint64_t id = ch->node->id;
	struct archive_entry *e;
	struct stat st;
	const char *first = NULL;
	char *target = NULL;
	int err = lfs_fs_getattr(c->m, id, &st);

	if (err)
		return failed(c, ch->path, err, g_strerror(-err));
	/* Another type over the image's object: it is deleted first, so
	 * that no extractor opens the old one (a FIFO) to write the new. */
	if (ch->kind == LFS_CHANGE_CHANGED && ch->path[0] &&
	    ch->old_type != (st.st_mode & S_IFMT)) {
		err = add_whiteout(c, ch);
		if (err)
			return err;
		__atomic_add_fetch(&c->st->entries, 1, __ATOMIC_RELAXED);
	}
	if (S_ISSOCK(st.st_mode)) {
		c->st->sockets++;
		return 0;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, ch->path[0] ? ch->path : ".");
	archive_entry_set_mode(e, st.st_mode);
	archive_entry_set_uid(e, st.st_uid);
	archive_entry_set_gid(e, st.st_gid);
	set_time(c, e, &st.st_mtim);
	if (linkable(st.st_mode) && st.st_nlink > 1) {
		uint64_t key = (uint64_t)st.st_ino;

		first = g_hash_table_lookup(c->links, &key);
		if (!first)
			g_hash_table_insert(c->links,
					    g_memdup2(&key, sizeof(key)),
					    g_strdup(ch->path));
	}
	if (first) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_size(e, st.st_size);
	} else if (S_ISLNK(st.st_mode)) {
		err = lfs_fs_readlink(c->m, id, &target);
		if (err)
			err = failed(c, ch->path, err, "cannot read the link");
		else
			archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(e, major(st.st_rdev));
		archive_entry_set_rdevminor(e, minor(st.st_rdev));
	}
	if (!err && !first)
		err = add_xattrs(c, id, e, ch->path);
	if (!err && archive_write_header(c->a, e) != ARCHIVE_OK)
		err = archive_failed(c, ch->path);
	if (!err && !first && S_ISREG(st.st_mode))
		err = add_data(c, id, (uint64_t)st.st_size, ch->path);
	if (!err)
		__atomic_add_fetch(&c->st->entries, 1, __ATOMIC_RELAXED);
	g_free(target);
	archive_entry_free(e);
	return err;
}

static int put_change(void *ctx, const struct lfs_change *ch)
{
	struct commit *c = ctx;
	const char *rest;

	if (c->o->stop && g_atomic_int_get(c->o->stop))
		return failed(c, ch->path, -ECANCELED, "interrupted");

	/* Every reader of a layer takes such a name for a whiteout (or
	 * aufs bookkeeping): the object cannot be written. */
	if (ch->kind != LFS_CHANGE_DELETED && ch->path[0] &&
	    lfs_whiteout_classify(ch->name, &rest) != LFS_WH_NONE)
		return failed(c, ch->path, -EINVAL,
			      "a name that starts with \".wh.\" cannot be "
			      "kept in an image layer (readers take it for a "
			      "whiteout); rename it");

	switch (ch->kind) {
	case LFS_CHANGE_ADDED:
		c->st->added++;
		break;
	case LFS_CHANGE_CHANGED:
		if (ch->path[0])
			c->st->changed++;
		break;
	case LFS_CHANGE_DELETED:
		c->st->deleted++;
		__atomic_add_fetch(&c->st->entries, 1, __ATOMIC_RELAXED);
		return add_whiteout(c, ch);
	case LFS_CHANGE_KEPT:
		break;
	}
	return add_object(c, ch);
}

gboolean lfs_commit_layer(struct lfs_mount *m,
			  const struct lfs_commit_options *o, int fd,
			  struct lfs_compress_result *res,
			  struct lfs_commit_stats *st, GError **error)
{
	struct commit c = { .m = m, .o = o, .st = st };
	gboolean ok = FALSE;
	int err;

	if (!m->ovl)
		return lfs_fail(error, EINVAL, "not a mount with an upper");
	err = lfs_compress_new(o->comp, o->level, 0, fd, &c.out);
	if (err)
		return lfs_fail(error, -err, "cannot compress: %s",
				g_strerror(-err));
	c.links = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
					g_free);
	c.buf = g_malloc(DATA_BUF);
	c.a = archive_write_new();
	/* pax where a member needs it (long names, xattrs, big numbers,
	 * sub-second times: the restricted variant would drop those), ustar
	 * otherwise; no padding after the end records. */
	if (archive_write_set_format_pax(c.a) != ARCHIVE_OK ||
	    /* xattrs as SCHILY.xattr records only: GNU tar warns about
	     * libarchive's own spelling of them. */
	    archive_write_set_format_option(c.a, "pax", "xattrheader",
					    "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c.a, 1) != ARCHIVE_OK ||
	    archive_write_open(c.a, &c, NULL, write_cb, NULL) != ARCHIVE_OK) {
		lfs_fail(error, EIO, "cannot start the layer's tar: %s",
			 archive_error_string(c.a));
		goto out;
	}
	err = lfs_changes_walk(m->ovl, put_change, &c);
	if (err) {
		lfs_fail(error, -err, "%s",
			 c.why ? c.why : g_strerror(-err));
		goto out;
	}
	if (archive_write_close(c.a) != ARCHIVE_OK) {
		lfs_fail(error, c.out_err ? -c.out_err : EIO,
			 "cannot end the layer's tar: %s",
			 archive_error_string(c.a));
		goto out;
	}
	err = lfs_compress_finish(c.out, res);
	if (err) {
		lfs_fail(error, -err, "cannot write the layer: %s",
			 g_strerror(-err));
		goto out;
	}
	ok = TRUE;
out:
	archive_write_free(c.a);
	lfs_compress_free(c.out);
	g_hash_table_unref(c.links);
	g_free(c.buf);
	g_free(c.why);
	return ok;
}
