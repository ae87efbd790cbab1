/* The operations facade (see fsops.h): a read-only mount's calls here, a
 * writable mount's handed to fsops_rw.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fsops_internal.h"
#include "layerfs/path.h"
#include "layerfs/profile.h"
#include "layerfs/read.h"
#include "layerfs/stats.h"

bool lfs_fs_writable(const struct lfs_mount *m)
{
	return m->ovl && !m->upper->readonly;
}

bool lfs_fs_posix_acl(const struct lfs_mount *m)
{
	return m->ovl && !m->noxattrs && !m->uids.ranges && !m->uids.squash &&
	       !m->gids.ranges && !m->gids.squash &&
	       m->upper->live.override == LFS_OVERRIDE_NONE;
}

void lfs_fs_set_posix_acl(struct lfs_mount *m, bool on)
{
	if (m->upper)
		m->upper->posix_acl = on && lfs_fs_posix_acl(m);
}

void lfs_fs_show(const struct lfs_mount *m, struct stat *st)
{
	st->st_uid = lfs_idmap_show(&m->uids, st->st_uid);
	st->st_gid = lfs_idmap_show(&m->gids, st->st_gid);
	if (m->static_nlink && S_ISDIR(st->st_mode))
		st->st_nlink = 1;
}

int lfs_fs_lookup(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t *id, struct stat *st)
{
	struct lfs_obj o;
	int err;

	if (m->ovl)
		return lfs_rw_lookup(m, parent, name, id, st);
	err = lfs_tree_lookup(m->tree, parent, name, &o);
	if (err < 0)
		return err;
	lfs_tree_stat(m->tree, &o, st);
	lfs_fs_show(m, st);
	if (id)
		*id = st->st_ino;
	return 0;
}

void lfs_fs_forget(struct lfs_mount *m, uint64_t id, uint64_t n)
{
	/* Read-only node ids are names: nothing to count. */
	if (m->ovl)
		lfs_ovl_forget(m->ovl, id, n);
}

int lfs_fs_getattr(struct lfs_mount *m, uint64_t ino, struct stat *st)
{
	struct lfs_obj o;
	int err;

	if (m->ovl)
		return lfs_rw_getattr(m, ino, st);
	err = lfs_tree_obj(m->tree, ino, &o);
	if (err < 0)
		return err;
	lfs_tree_stat(m->tree, &o, st);
	lfs_fs_show(m, st);
	return 0;
}

int lfs_fs_readlink(struct lfs_mount *m, uint64_t ino, char **target)
{
	struct lfs_obj o;
	const char *t;
	int err;

	if (m->ovl)
		return lfs_rw_readlink(m, ino, target);
	err = lfs_tree_obj(m->tree, ino, &o);
	if (err < 0)
		return err;
	t = lfs_tree_readlink(m->tree, &o);
	if (!t)
		return -EINVAL;
	*target = g_strdup(t);
	return 0;
}

/* Why a file's data cannot be served, in one line naming it. */
static void log_unreadable(struct lfs_mount *m, const struct lfs_file *f,
			   uint64_t off, int err)
{
	g_autofree char *path = lfs_index_path(f->layer->index, f->entry);
	g_autofree char *why = lfs_read_why(f->layer, f->entry, err);

	lfs_err(&m->log, "%s: \"%s\": data at offset %llu unreadable: %s",
		f->layer->spec->name, path, (unsigned long long)off, why);
}

int lfs_file_set_lower(struct lfs_mount *m, struct lfs_file *f,
		       const struct lfs_obj *o)
{
	struct lfs_ref r = o->meta;
	int err;

	f->layer = m->layers[r.layer];
	f->stream = m->streams[r.layer];
	f->entry = r.entry;
	f->fd = -1;
	if (f->layer->dirfd < 0) {
		const struct lfs_index_entry *e =
			lfs_index_get(f->layer->index, r.entry);

		/* Its first open, in order, for the next mount (profile.h);
		 * a sparse file's data is in pieces, and not recorded. */
		if (m->profile && !(e->flags & LFS_E_SPARSE))
			lfs_profile_note(m->profile, r.layer, r.entry,
					 e->u.data, e->size);
		return 0;
	}
	f->fd = lfs_layer_open_file(f->layer, r.entry);
	if (f->fd >= 0)
		return 0;
	err = f->fd;
	log_unreadable(m, f, 0, err);
	f->layer = NULL;
	return lfs_read_errno(err);
}

void lfs_file_track(struct lfs_mount *m, struct lfs_file *f)
{
	g_mutex_lock(&m->files_lock);
	f->next = m->files;
	if (f->next)
		f->next->prev = f;
	m->files = f;
	m->nfiles++;
	g_mutex_unlock(&m->files_lock);
}

int lfs_fs_open(struct lfs_mount *m, uint64_t ino, int flags,
		struct lfs_file **out)
{
	struct lfs_obj o;
	struct lfs_file *f;
	int err;

	if (m->ovl)
		return lfs_rw_open(m, ino, flags, out);
	err = lfs_tree_obj(m->tree, ino, &o);
	if (err < 0)
		return err;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	if (o.type == S_IFDIR)
		return -EISDIR;
	if (o.type != S_IFREG)
		return -EINVAL;
	f = g_new0(struct lfs_file, 1);
	f->ufd = -1;
	g_mutex_init(&f->lock);
	err = lfs_file_set_lower(m, f, &o);
	if (err) {
		g_mutex_clear(&f->lock);
		g_free(f);
		return err;
	}
	lfs_file_track(m, f);
	*out = f;
	return 0;
}

/* A read failed: say why, once per open file (a reader retrying a bad
 * block would fill the log), and answer EIO for the layer's own troubles.
 * Nothing else is kept: the next read tries again. */
static int read_failed(struct lfs_mount *m, struct lfs_file *f, uint64_t off,
		       int err)
{
	if (!f->logged) {
		log_unreadable(m, f, off, err);
		f->logged = true;
	}
	return lfs_read_errno(err);
}

ssize_t lfs_file_read_lower(struct lfs_mount *m, struct lfs_file *f,
			    void *buf, size_t len, uint64_t off)
{
	ssize_t n = lfs_read_entry(f->stream, f->entry, f->fd, buf, len, off);

	if (n < 0)
		return read_failed(m, f, off, (int)n);
	__atomic_fetch_add(&m->reads_copied, 1, __ATOMIC_RELAXED);
	return n;
}

int lfs_file_map_lower(struct lfs_mount *m, struct lfs_file *f, size_t len,
		       uint64_t off, struct lfs_read_map *out)
{
	int err = lfs_read_map(f->stream, f->entry, f->fd, len, off, out);

	if (err == -EAGAIN)
		return err;
	if (err < 0)
		return read_failed(m, f, off, err);
	__atomic_fetch_add(&m->reads_spliced, 1, __ATOMIC_RELAXED);
	return 0;
}

ssize_t lfs_fs_read(struct lfs_mount *m, struct lfs_file *f, void *buf,
		    size_t len, uint64_t off)
{
	if (m->ovl)
		return lfs_rw_read(m, f, buf, len, off);
	return lfs_file_read_lower(m, f, buf, len, off);
}

int lfs_fs_read_map(struct lfs_mount *m, struct lfs_file *f, size_t len,
		    uint64_t off, struct lfs_read_map *out)
{
	if (m->ovl)
		return lfs_rw_read_map(m, f, len, off, out);
	return lfs_file_map_lower(m, f, len, off, out);
}

static void free_file(struct lfs_mount *m, struct lfs_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->ufd >= 0)
		close(f->ufd);
	if (f->node)
		lfs_ovl_put(m->ovl, f->node);
	g_mutex_clear(&f->lock);
	g_free(f);
}

void lfs_file_free(struct lfs_mount *m, struct lfs_file *f)
{
	free_file(m, f);
}

void lfs_fs_release(struct lfs_mount *m, struct lfs_file *f)
{
	g_mutex_lock(&m->files_lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		m->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	m->nfiles--;
	g_mutex_unlock(&m->files_lock);
	free_file(m, f);
}

void lfs_fs_release_all(struct lfs_mount *m)
{
	struct lfs_file *f = m->files, *next;

	if (f)
		lfs_debug(&m->log, "%llu files still open at unmount",
			  (unsigned long long)m->nfiles);
	for (; f; f = next) {
		next = f->next;
		free_file(m, f);
	}
	m->files = NULL;
	m->nfiles = 0;
}

/* "." and ".." come first: offsets 0 and 1; listing entry i is at i + 2. */
static int emit_dots(struct lfs_mount *m, uint64_t ino, uint64_t off,
		     bool plus, lfs_dirent_fn emit, void *ctx)
{
	struct stat st = { 0 };
	uint64_t parent;

	if (off == 0) {
		if (plus && lfs_fs_getattr(m, ino, &st) < 0)
			memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = S_IFDIR | (st.st_mode & 07777);
		if (emit(ctx, ".", ino, &st, 1))
			return 1;
	}
	if (off <= 1) {
		memset(&st, 0, sizeof(st));
		/* Unknowable only for a number that names nothing. */
		st.st_ino = lfs_tree_parent(m->tree, ino, &parent) == 0
				    ? parent
				    : ino;
		st.st_mode = S_IFDIR;
		if (emit(ctx, "..", st.st_ino, &st, 2))
			return 1;
	}
	return 0;
}

static int emit_plus(struct lfs_mount *m, uint64_t dir,
		     const struct lfs_mdirent *e, uint64_t next,
		     lfs_dirent_fn emit, void *ctx)
{
	g_autofree char *name = g_strndup(e->name, e->name_len);
	struct stat st;
	int err;

	/* A file is its number; a directory is looked up through this one,
	 * which gives its chain without resolving its path again. */
	if (e->type == S_IFDIR)
		err = lfs_fs_lookup(m, dir, name, NULL, &st);
	else
		err = lfs_fs_getattr(m, e->ino, &st);
	if (err < 0)
		return err;
	return emit(ctx, name, st.st_ino, &st, next);
}

int lfs_fs_readdir(struct lfs_mount *m, uint64_t ino, uint64_t off,
		   bool plus, lfs_dirent_fn emit, void *ctx)
{
	struct lfs_dirlist *list;
	int err;

	if (m->ovl)
		return lfs_rw_readdir(m, ino, off, plus, emit, ctx);
	err = lfs_tree_dirlist(m->tree, ino, &list);
	if (err < 0)
		return err;
	if (emit_dots(m, ino, off, plus, emit, ctx))
		goto out;
	for (uint64_t i = off < 2 ? 0 : off - 2; i < list->n; i++) {
		const struct lfs_mdirent *e = &list->ents[i];
		struct stat st = { .st_ino = e->ino, .st_mode = e->type };
		int r;

		if (plus) {
			r = emit_plus(m, ino, e, i + 3, emit, ctx);
			if (r < 0) {
				err = r;
				goto out;
			}
		} else {
			g_autofree char *name = g_strndup(e->name,
							  e->name_len);

			r = emit(ctx, name, e->ino, &st, i + 3);
		}
		if (r)
			break;
	}
out:
	lfs_dirlist_unref(list);
	return err;
}

/* The statistics, as the virtual xattrs on the root (stats.h). */
static ssize_t text_xattr(const char *text, void *buf, size_t size)
{
	size_t len = strlen(text);

	if (size == 0)
		return (ssize_t)len;
	if (size < len)
		return -ERANGE;
	memcpy(buf, text, len);
	return (ssize_t)len;
}

ssize_t lfs_fs_getxattr(struct lfs_mount *m, uint64_t ino, const char *name,
			void *buf, size_t size)
{
	struct lfs_obj o;
	int err;

	if (ino == LFS_ROOT_INO && strcmp(name, LFS_STATS_XATTR) == 0) {
		g_autofree char *text = lfs_mount_stats_text(m);

		return text_xattr(text, buf, size);
	}
	if (ino == LFS_ROOT_INO && strcmp(name, LFS_STATS_JSON_XATTR) == 0) {
		g_autofree char *text = lfs_mount_stats_json(m);

		return text_xattr(text, buf, size);
	}
	if (ino == LFS_ROOT_INO && m->described &&
	    strcmp(name, LFS_MOUNT_JSON_XATTR) == 0)
		return text_xattr(m->described, buf, size);
	if (m->noxattrs)
		return -EOPNOTSUPP;
	if (m->ovl)
		return lfs_rw_getxattr(m, ino, name, buf, size);
	err = lfs_tree_obj(m->tree, ino, &o);
	if (err < 0)
		return err;
	return lfs_tree_getxattr(m->tree, &o, name, buf, size);
}

ssize_t lfs_fs_listxattr(struct lfs_mount *m, uint64_t ino, char *buf,
			 size_t size)
{
	struct lfs_obj o;
	int err;

	if (m->noxattrs)
		return -EOPNOTSUPP;
	if (m->ovl)
		return lfs_rw_listxattr(m, ino, buf, size);
	err = lfs_tree_obj(m->tree, ino, &o);
	if (err < 0)
		return err;
	return lfs_tree_listxattr(m->tree, &o, buf, size);
}

int lfs_fs_statfs(struct lfs_mount *m, struct statvfs *st)
{
	if (m->ovl)
		return lfs_rw_statfs(m, st);
	memset(st, 0, sizeof(*st));
	st->f_bsize = LFS_BLOCK_SIZE;
	st->f_frsize = LFS_BLOCK_SIZE;
	st->f_blocks = (m->total_bytes + LFS_BLOCK_SIZE - 1) / LFS_BLOCK_SIZE;
	st->f_files = m->total_entries;
	st->f_namemax = LFS_NAME_MAX;
	st->f_flag = ST_RDONLY;
	return 0;
}

static bool in_groups(gid_t gid, gid_t want, const gid_t *groups, int n)
{
	if (gid == want)
		return true;
	for (int i = 0; i < n; i++) {
		if (groups[i] == want)
			return true;
	}
	return false;
}

int lfs_fs_access(struct lfs_mount *m, uint64_t ino, int mask, uid_t uid,
		  gid_t gid, const gid_t *groups, int ngroups)
{
	struct stat st;
	int err = lfs_fs_getattr(m, ino, &st);
	unsigned int bits;

	if (err < 0)
		return err;
	if ((mask & W_OK) && !lfs_fs_writable(m))
		return -EROFS;
	if (mask == F_OK)
		return 0;
	if (uid == 0) {
		/* root may execute only what somebody may execute. */
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) &&
		    !(st.st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (st.st_uid == uid)
		bits = (st.st_mode >> 6) & 7;
	else if (in_groups(gid, st.st_gid, groups, ngroups))
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return ((unsigned int)mask & ~bits) ? -EACCES : 0;
}
