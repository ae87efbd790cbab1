/* Helpers the fuzz targets share (see fuzz.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "layerfs/layer.h"
#include "layerfs/tree.h"

static char *tmp_dir;
static int tmp_dirfd = -1;

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void fz_note(const char *fmt, ...)
{
	va_list ap;

	if (!getenv("FUZZ_VERBOSE"))
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0 && remove(path) < 0)
		fz_fail("cannot remove %s: %s", path, g_strerror(errno));
	return 0;
}

void fz_clean(void)
{
	if (tmp_dir)
		nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_dir(void)
{
	fz_clean();
	if (tmp_dirfd >= 0)
		close(tmp_dirfd);
	if (tmp_dir)
		rmdir(tmp_dir);
	g_free(tmp_dir);
	tmp_dir = NULL;
}

void fz_init(void)
{
	g_autoptr(GError) error = NULL;

	if (tmp_dir)
		return;
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
	tmp_dir = g_dir_make_tmp("layerfs-fuzz-XXXXXX", &error);
	if (!tmp_dir)
		fz_fail("cannot make a temporary directory: %s",
			error->message);
	tmp_dirfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp_dirfd < 0)
		fz_fail("cannot open %s: %s", tmp_dir, g_strerror(errno));
	atexit(remove_dir);
}

const char *fz_dir(void)
{
	return tmp_dir;
}

int fz_dirfd(void)
{
	return tmp_dirfd;
}

char *fz_write(const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(tmp_dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;

	if (g_mkdir_with_parents(parent, 0700) < 0)
		fz_fail("cannot make %s: %s", parent, g_strerror(errno));
	if (!g_file_set_contents(path, data, (gssize)len, &error))
		fz_fail("cannot write %s: %s", path, error->message);
	return path;
}

/* ---- a blob in memory ------------------------------------------------- */

struct mem_blob {
	struct lfs_blob base;
	const uint8_t *data;
};

static ssize_t mem_pread(struct lfs_blob *b, void *buf, size_t len,
			 uint64_t off)
{
	struct mem_blob *mb = (struct mem_blob *)b;

	if (off >= b->size)
		return 0;
	if (len > b->size - off)
		len = (size_t)(b->size - off);
	memcpy(buf, mb->data + off, len);
	return (ssize_t)len;
}

static void mem_close(struct lfs_blob *b)
{
	g_free(b);
}

static const struct lfs_blob_ops mem_ops = {
	.pread = mem_pread,
	.close = mem_close,
};

struct lfs_blob *fz_mem_blob(const void *data, size_t len)
{
	struct mem_blob *mb = g_new0(struct mem_blob, 1);

	mb->base.ops = &mem_ops;
	mb->base.size = len;
	mb->data = data;
	return &mb->base;
}

/* ---- logging ------------------------------------------------------------ */

static void drop(void *ctx, enum lfs_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	/* Touch every byte, so a message built from freed or unterminated
	 * memory shows under a sanitizer. */
	if (strlen(msg) == (size_t)-1)
		abort();
}

const struct lfs_logger fz_logger = { drop, NULL, LFS_LOG_DEBUG };

/* ---- checks on an index --------------------------------------------------- */

void fz_check_paths(const struct lfs_index *ix)
{
	for (uint32_t i = 0; i < ix->nentries; i++) {
		const struct lfs_index_entry *e = lfs_index_get(ix, i);
		g_autofree char *path = lfs_index_path(ix, i);
		uint32_t found = lfs_index_lookup_path(ix, path);

		if (found != i)
			fz_fail("entry %u at \"%s\" looks up to %d", i, path,
				(int)found);
		if (i == LFS_INDEX_ROOT)
			continue;
		found = lfs_index_find(ix, e->parent,
				       lfs_index_str(ix, e->name), e->name_len);
		if (found != i)
			fz_fail("entry %u is not found in its directory", i);
	}
}

/* ---- a tree over two indexes ---------------------------------------------- */

/* Objects a walk visits at most: enough to reach every kind of entry of a
 * small input, few enough that a wide tree stays fast. */
#define WALK_MAX 2000

static void visit(struct lfs_tree *t, const struct lfs_obj *o)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	GPtrArray *paths;

	lfs_tree_stat(t, o, &st);
	if ((st.st_mode & S_IFMT) != o->type)
		fz_fail("object %llu: stat says type %o, lookup %o",
			(unsigned long long)o->ino, st.st_mode & S_IFMT,
			o->type);
	if (st.st_mtim.tv_nsec < 0 || st.st_mtim.tv_nsec >= 1000000000)
		fz_fail("object %llu: mtime nanoseconds %ld",
			(unsigned long long)o->ino, st.st_mtim.tv_nsec);
	if (o->type == S_IFLNK && !lfs_tree_readlink(t, o))
		fz_fail("symlink %llu has no target",
			(unsigned long long)o->ino);
	n = lfs_tree_listxattr(t, o, NULL, 0);
	if (n > 0 && (size_t)n <= sizeof(buf)) {
		n = lfs_tree_listxattr(t, o, buf, sizeof(buf));
		for (ssize_t at = 0; n > 0 && at < n;
		     at += (ssize_t)strlen(buf + at) + 1)
			lfs_tree_getxattr(t, o, buf + at, NULL, 0);
	}
	paths = lfs_tree_link_paths(t, o);
	if (paths)
		g_ptr_array_unref(paths);
}

static void walk(struct lfs_tree *t)
{
	g_autoptr(GQueue) dirs = g_queue_new();
	unsigned int seen = 0;
	struct lfs_obj root;

	if (lfs_tree_obj(t, LFS_ROOT_INO, &root) != 0)
		fz_fail("the root is missing");
	g_queue_push_tail(dirs, g_memdup2(&root.ino, sizeof(root.ino)));
	while (!g_queue_is_empty(dirs)) {
		g_autofree uint64_t *ino = g_queue_pop_head(dirs);
		struct lfs_dirlist *list;
		uint64_t parent;

		if (lfs_tree_dirlist(t, *ino, &list) != 0)
			continue;
		lfs_tree_parent(t, *ino, &parent);
		for (uint32_t i = 0; i < list->n && seen < WALK_MAX; i++) {
			const struct lfs_mdirent *de = &list->ents[i];
			g_autofree char *name =
				g_strndup(de->name, de->name_len);
			struct lfs_obj o;
			int err;

			seen++;
			err = lfs_tree_lookup(t, *ino, name, &o);
			if (err != 0)
				fz_fail("\"%s\" is listed but lookup fails "
					"(%d)",
					name, err);
			if (o.ino != de->ino)
				fz_fail("\"%s\" is listed as %llu, looks up "
					"as %llu",
					name, (unsigned long long)de->ino,
					(unsigned long long)o.ino);
			visit(t, &o);
			if (o.type == S_IFDIR)
				g_queue_push_tail(dirs, g_memdup2(&o.ino,
								  sizeof(o.ino)));
		}
		lfs_dirlist_unref(list);
	}
	while (!g_queue_is_empty(dirs))
		g_free(g_queue_pop_head(dirs));
}

void fz_walk_tree(struct lfs_index *a, struct lfs_index *b)
{
	struct lfs_layer_spec spec[2] = {
		{ .kind = LFS_LAYER_TAR, .name = (char *)"lower" },
		{ .kind = LFS_LAYER_TAR, .name = (char *)"upper" },
	};
	struct lfs_layer l[2] = {
		{ .spec = &spec[0], .index = a, .dirfd = -1 },
		{ .spec = &spec[1], .index = b, .dirfd = -1 },
	};
	struct lfs_layer *layers[2] = { &l[0], &l[1] };
	struct lfs_tree_options o = { 0 };
	struct lfs_tree *t = lfs_tree_new(layers, 2, &fz_logger, &o);

	walk(t);
	lfs_tree_free(t);
	/* A layer the tree relocated holds a new index. */
	lfs_index_free(l[0].index);
	lfs_index_free(l[1].index);
}

/* ---- reading the input ------------------------------------------------------ */

static uint64_t take(struct fz_in *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t b = in->len ? *in->p : 0;

		if (in->len) {
			in->p++;
			in->len--;
		}
		v |= b << (8 * i);
	}
	return v;
}

uint8_t fz_u8(struct fz_in *in)
{
	return (uint8_t)take(in, 1);
}

uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)take(in, 2);
}

uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)take(in, 4);
}

uint64_t fz_u64(struct fz_in *in)
{
	return take(in, 8);
}

guint fz_split(const uint8_t *data, size_t size, const char *sep,
	       guint max, char **parts, size_t *lens)
{
	size_t seplen = strlen(sep);
	guint n = 0;

	while (n < max) {
		const uint8_t *at = n + 1 < max
					    ? memmem(data, size, sep, seplen)
					    : NULL;
		size_t len = at ? (size_t)(at - data) : size;

		parts[n] = g_malloc(len + 1);
		memcpy(parts[n], data, len);
		parts[n][len] = '\0';
		lens[n++] = len;
		if (!at)
			break;
		data = at + seplen;
		size -= len + seplen;
	}
	return n;
}
