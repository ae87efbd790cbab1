/* Writable mounts in-process: lfs_mount_open() with an upper and a work
 * directory over a real tar layer, then the lfs_fs_* calls a FUSE adapter
 * makes, checked against the upper's on-disk format (overlayfs's) as
 * well as the merged view: copy-up, metadata-only copy-up, whiteouts,
 * opaque directories, redirects, exchange, links, xattrs, listings that
 * change while they are read, and the checks lfs_upper_open() makes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "asserts.h"
#include <glib/gstdio.h>

#include "fixtures.h"
#include "layerfs/fsops.h"
#include "layerfs/stats.h"

#define BIG_SIZE (3u << 20)
/* A file whose copy-up takes a while (decompressed from gzip). */
#define SLOW_SIZE (32u << 20)

struct env {
	char *dir, *upper, *work, *tar;
	struct fx_log log;
	struct lfs_mount *m;
	struct lfs_caller c;
};

static GBytes *lower_layer(void)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) big = fx_noise(BIG_SIZE, 7, 0);
	struct fx_entry bige = { .path = "data/big",
				 .data = g_bytes_get_data(big, NULL),
				 .len = BIG_SIZE, .uid = 5, .gid = 6 };
	struct fx_entry x = { .path = "etc/x", .data = "x",
			      .xattr = "user.a", .xattr_value = "1" };
	struct fx_entry h2 = { .path = "data/h2", .hardlink = "data/h1" };
	struct fx_entry lnk = { .path = "lnk", .type = AE_IFLNK,
				.link = "etc/hostname" };

	fx_tar_dir(t, "etc");
	fx_tar_file(t, "etc/hostname", "lower\n");
	fx_tar_add(t, &x);
	fx_tar_dir(t, "a");
	fx_tar_file(t, "a/x", "ax");
	fx_tar_file(t, "a/y", "ay");
	fx_tar_dir(t, "a/sub");
	fx_tar_file(t, "a/sub/z", "az");
	fx_tar_dir(t, "data");
	fx_tar_add(t, &bige);
	fx_tar_file(t, "data/h1", "linked");
	fx_tar_add(t, &h2);
	fx_tar_add(t, &lnk);
	fx_tar_dir(t, "many");
	for (int i = 0; i < 40; i++) {
		g_autofree char *p = g_strdup_printf("many/f%02d", i);

		fx_tar_file(t, p, "m");
	}
	return fx_tar_finish(t);
}

static gboolean mount_rw(struct env *e, GError **error)
{
	g_autoptr(lfs_options) o = lfs_options_new();

	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	return lfs_mount_open(o, &e->log.lg, &e->m, error);
}

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	g_autoptr(GBytes) tar = lower_layer();
	g_autoptr(GError) error = NULL;

	e->dir = fx_tmpdir();
	e->tar = fx_write(e->dir, "lower.tar", tar);
	e->upper = g_build_filename(e->dir, "upper", NULL);
	e->work = g_build_filename(e->dir, "work", NULL);
	g_mkdir(e->upper, 0755);
	g_mkdir(e->work, 0755);
	e->c.uid = 1000;
	e->c.gid = 1001;
	fx_log_init(&e->log);
	assert_true(mount_rw(e, &error));
	*state = e;
	return 0;
}

static void unmount(struct env *e)
{
	lfs_mount_close(e->m);
	e->m = NULL;
}

static int teardown(void **state)
{
	struct env *e = *state;

	unmount(e);
	fx_log_clear(&e->log);
	fx_rmtree(e->dir);
	g_free(e->dir);
	g_free(e->upper);
	g_free(e->work);
	g_free(e->tar);
	g_free(e);
	return 0;
}

/* Node id of @path ("" the root), or -errno. */
static int64_t walk(struct env *e, const char *path, struct stat *st)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	uint64_t id = LFS_ROOT_INO;
	struct stat tmp;

	if (!st)
		st = &tmp;
	if (!*path)
		return lfs_fs_getattr(e->m, id, st) ?: (int64_t)id;
	for (char **p = parts; *p; p++) {
		int err = lfs_fs_lookup(e->m, id, *p, &id, st);

		if (err)
			return err;
	}
	return (int64_t)id;
}

static uint64_t must(struct env *e, const char *path)
{
	int64_t id = walk(e, path, NULL);

	if (id < 0)
		fail_msg("%s: %s", path, g_strerror((int)-id));
	return (uint64_t)id;
}

static char *upper_path(struct env *e, const char *rel)
{
	return g_build_filename(e->upper, rel, NULL);
}

static char *read_file(struct env *e, const char *path)
{
	struct lfs_file *f;
	struct stat st;
	uint64_t id = (uint64_t)walk(e, path, &st);
	char *buf = g_malloc0((size_t)st.st_size + 1);

	assert_int_equal(lfs_fs_open(e->m, id, O_RDONLY, &f), 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, (size_t)st.st_size, 0),
			 st.st_size);
	lfs_fs_release(e->m, f);
	return buf;
}

static void write_file(struct env *e, const char *path, int flags,
		       const char *data, uint64_t off)
{
	struct lfs_file *f;

	assert_int_equal(lfs_fs_open(e->m, must(e, path), flags, &f), 0);
	assert_int_equal(lfs_fs_write(e->m, f, data, strlen(data), off),
			 (ssize_t)strlen(data));
	lfs_fs_release(e->m, f);
}

static int make(struct env *e, const char *dir, const char *name,
		mode_t mode)
{
	struct lfs_new_obj o = { .mode = mode, .target = "t" };
	struct stat st;
	uint64_t id;

	return lfs_fs_make(e->m, must(e, dir), name, &o, &e->c, &id, &st,
			   NULL);
}

/* The names of directory @path, sorted, comma-separated (g_free). */
struct names {
	GPtrArray *v;
};

static int add_name(void *ctx, const char *name, uint64_t id,
		    const struct stat *st, uint64_t next)
{
	struct names *n = ctx;

	(void)id, (void)st, (void)next;
	if (strcmp(name, ".") && strcmp(name, ".."))
		g_ptr_array_add(n->v, g_strdup(name));
	return 0;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *list(struct env *e, const char *path)
{
	struct names n = { g_ptr_array_new_with_free_func(g_free) };
	char *s;

	assert_int_equal(lfs_fs_readdir(e->m, must(e, path), 0, false,
					add_name, &n),
			 0);
	g_ptr_array_sort(n.v, by_name);
	g_ptr_array_add(n.v, NULL);
	s = g_strjoinv(",", (char **)n.v->pdata);
	g_ptr_array_unref(n.v);
	return s;
}

static bool is_whiteout(struct env *e, const char *rel)
{
	g_autofree char *p = upper_path(e, rel);
	struct stat st;

	return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

static char *xattr_of(struct env *e, const char *rel, const char *name)
{
	g_autofree char *p = upper_path(e, rel);
	char buf[512];
	ssize_t n = lgetxattr(p, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return g_strdup(buf);
}

static void set_upper_xattr(struct env *e, const char *rel, const char *name,
			    const char *value)
{
	g_autofree char *p = upper_path(e, rel);

	assert_int_equal(lsetxattr(p, name, value, strlen(value), 0), 0);
}

static void test_create_and_read(void **state)
{
	struct env *e = *state;
	struct lfs_new_obj o = { .mode = S_IFREG | 0640, .flags = O_RDWR };
	g_autofree char *names = NULL, *back = NULL, *up = NULL;
	struct lfs_file *f;
	struct stat st, ust;
	uint64_t id;

	assert_int_equal(lfs_fs_make(e->m, must(e, "etc"), "new", &o, &e->c,
				     &id, &st, &f),
			 0);
	assert_int_equal(lfs_fs_write(e->m, f, "hello", 5, 0), 5);
	lfs_fs_release(e->m, f);
	back = read_file(e, "etc/new");
	assert_string_equal(back, "hello");
	/* The owner is the caller; the mode is exactly as asked. */
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mode & 07777, 0640);
	up = upper_path(e, "etc/new");
	assert_int_equal(lstat(up, &ust), 0);
	assert_int_equal(ust.st_size, 5);
	names = list(e, "etc");
	assert_string_equal(names, "hostname,new,x");
	/* It exists now: a second create fails. */
	assert_int_equal(make(e, "etc", "new", S_IFREG | 0644), -EEXIST);
	assert_int_equal(make(e, "etc", "hostname", S_IFREG | 0644), -EEXIST);
}

/* Writing a lower file copies it up whole, with its metadata, before the
 * first write; its inode number does not change. */
static void test_copy_up_on_write(void **state)
{
	struct env *e = *state;
	g_autofree char *back = NULL, *origin = NULL;
	g_autofree char *up = upper_path(e, "etc/hostname");
	struct stat before, after, ust;

	walk(e, "etc/hostname", &before);
	write_file(e, "etc/hostname", O_WRONLY, "UPPER", 0);
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "UPPER\n");
	walk(e, "etc/hostname", &after);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(lstat(up, &ust), 0);
	assert_int_equal(ust.st_mtime == before.st_mtime, 0);
	/* The parent was copied up too, with the lower one's attributes. */
	origin = xattr_of(e, "etc/hostname", "trusted.overlay.layerfs.origin");
	assert_non_null(origin);
	assert_null(xattr_of(e, "etc/hostname", "trusted.overlay.metacopy"));
	/* layerfs stats says what was copied. */
	{
		char text[4096];
		ssize_t n = lfs_fs_getxattr(e->m, LFS_ROOT_INO,
					    LFS_STATS_XATTR, text,
					    sizeof(text) - 1);

		assert_true(n > 0);
		text[n] = '\0';
		assert_non_null(strstr(text, "copy-up: 2 objects (regular "
					     "files: 1 with their data, 0 "
					     "metadata only)"));
	}
	/* Nothing left in the work directory. */
	{
		g_autofree char *w = g_build_filename(e->work, "work", NULL);
		GDir *d = g_dir_open(w, 0, NULL);

		assert_non_null(d);
		assert_null(g_dir_read_name(d));
		g_dir_close(d);
	}
}

static void test_open_trunc_copies_nothing(void **state)
{
	struct env *e = *state;
	g_autofree char *back = NULL;
	struct lfs_file *f;

	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"),
				     O_WRONLY | O_TRUNC, &f),
			 0);
	lfs_fs_release(e->m, f);
	back = read_file(e, "data/big");
	assert_string_equal(back, "");
	assert_int_equal(e->m->upper->st.copied, 0);
}

/* chmod of a big lower file copies its metadata only: the upper holds
 * an empty file of the same size marked metacopy, reads come from
 * below; the data follows on the first write. */
static void test_metacopy(void **state)
{
	struct env *e = *state;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	g_autofree char *up = upper_path(e, "data/big");
	g_autofree char *mark = NULL;
	g_autoptr(GBytes) want = fx_noise(BIG_SIZE, 7, 0);
	g_autofree char *buf = g_malloc(BIG_SIZE);
	struct lfs_file *f;
	struct stat st, ust;

	assert_int_equal(lfs_fs_setattr(e->m, must(e, "data/big"), &a, NULL,
					&st),
			 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(lstat(up, &ust), 0);
	assert_int_equal(ust.st_size, BIG_SIZE);
	assert_true(ust.st_blocks < 16); /* no data */
	mark = xattr_of(e, "data/big", "trusted.overlay.metacopy");
	assert_non_null(mark);
	assert_int_equal(e->m->upper->st.metacopies, 1);
	/* Reads still see the data (from below), and st_blocks is its. */
	assert_true(st.st_blocks >= BIG_SIZE / 512);
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_RDONLY, &f),
			 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, BIG_SIZE, 0), BIG_SIZE);
	assert_memory_equal(buf, g_bytes_get_data(want, NULL), BIG_SIZE);
	lfs_fs_release(e->m, f);
	/* A write brings the data up, and the mark goes. */
	write_file(e, "data/big", O_RDWR, "Z", 0);
	assert_null(xattr_of(e, "data/big", "trusted.overlay.metacopy"));
	assert_int_equal(lstat(up, &ust), 0);
	assert_true(ust.st_blocks >= BIG_SIZE / 512);
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_RDONLY, &f),
			 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, BIG_SIZE, 0), BIG_SIZE);
	assert_int_equal(buf[0], 'Z');
	assert_memory_equal(buf + 1, (const char *)g_bytes_get_data(want, NULL) + 1,
			    BIG_SIZE - 1);
	lfs_fs_release(e->m, f);
}

static void test_unlink_whiteout_recreate(void **state)
{
	struct env *e = *state;
	g_autofree char *names = NULL, *after = NULL, *back = NULL;

	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "x"), 0);
	assert_true(is_whiteout(e, "a/x"));
	assert_int_equal(walk(e, "a/x", NULL), -ENOENT);
	names = list(e, "a");
	assert_string_equal(names, "sub,y");
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "x"), -ENOENT);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "sub"), -EISDIR);
	/* A new file takes the whiteout's place. */
	assert_int_equal(make(e, "a", "x", S_IFREG | 0644), 0);
	assert_false(is_whiteout(e, "a/x"));
	write_file(e, "a/x", O_WRONLY, "new", 0);
	back = read_file(e, "a/x");
	assert_string_equal(back, "new");
	after = list(e, "a");
	assert_string_equal(after, "sub,x,y");
	/* An upper-only file goes without a trace. */
	assert_int_equal(make(e, "a", "tmp", S_IFREG | 0644), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "tmp"), 0);
	{
		g_autofree char *p = upper_path(e, "a/tmp");

		assert_int_equal(access(p, F_OK), -1);
	}
}

/* rmdir of a lower directory: ENOTEMPTY while the merged view has
 * anything; then a whiteout; mkdir over it is opaque. */
static void test_rmdir_then_opaque_mkdir(void **state)
{
	struct env *e = *state;
	g_autofree char *opq = NULL, *names = NULL;

	assert_int_equal(lfs_fs_rmdir(e->m, LFS_ROOT_INO, "a"), -ENOTEMPTY);
	assert_int_equal(lfs_fs_rmdir(e->m, must(e, "a"), "x"), -ENOTDIR);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a/sub"), "z"), 0);
	assert_int_equal(lfs_fs_rmdir(e->m, must(e, "a"), "sub"), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "x"), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a"), "y"), 0);
	assert_int_equal(lfs_fs_rmdir(e->m, LFS_ROOT_INO, "a"), 0);
	assert_true(is_whiteout(e, "a"));
	assert_int_equal(walk(e, "a", NULL), -ENOENT);
	assert_int_equal(make(e, "", "a", S_IFDIR | 0700), 0);
	opq = xattr_of(e, "a", "trusted.overlay.opaque");
	assert_non_null(opq);
	assert_string_equal(opq, "y");
	names = list(e, "a");
	assert_string_equal(names, "");
	assert_int_equal(walk(e, "a/x", NULL), -ENOENT);
}

/* A directory with lower content is renamed, never copied: the upper
 * gets the directory alone with a redirect, and a whiteout at the old
 * name; its lower children are found through the redirect. */
static void test_rename_dir_redirect(void **state)
{
	struct env *e = *state;
	g_autofree char *redirect = NULL, *names = NULL, *back = NULL;
	struct stat before, after;

	walk(e, "a", &before);
	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "a",
				       must(e, "etc"), "moved", 0),
			 0);
	assert_int_equal(walk(e, "a", NULL), -ENOENT);
	assert_true(is_whiteout(e, "a"));
	redirect = xattr_of(e, "etc/moved", "trusted.overlay.redirect");
	assert_non_null(redirect);
	assert_string_equal(redirect, "/a");
	names = list(e, "etc/moved");
	assert_string_equal(names, "sub,x,y");
	back = read_file(e, "etc/moved/sub/z");
	assert_string_equal(back, "az");
	walk(e, "etc/moved", &after);
	assert_int_equal(after.st_ino, before.st_ino);
	/* Again, and a new file inside. */
	assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"), "moved",
				       LFS_ROOT_INO, "b", 0),
			 0);
	assert_int_equal(make(e, "b", "new", S_IFREG | 0644), 0);
	g_free(names);
	names = list(e, "b");
	assert_string_equal(names, "new,sub,x,y");
	g_free(redirect);
	redirect = xattr_of(e, "b", "trusted.overlay.redirect");
	assert_string_equal(redirect, "/a");
}

static void test_rename_flags(void **state)
{
	struct env *e = *state;
	g_autofree char *a = NULL, *b = NULL;

	assert_int_equal(make(e, "etc", "up", S_IFREG | 0644), 0);
	write_file(e, "etc/up", O_WRONLY, "upper", 0);
	assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"), "up",
				       must(e, "etc"), "hostname",
				       RENAME_NOREPLACE),
			 -EEXIST);
	assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"), "up",
				       must(e, "etc"), "hostname",
				       RENAME_EXCHANGE),
			 0);
	a = read_file(e, "etc/up");
	b = read_file(e, "etc/hostname");
	assert_string_equal(a, "lower\n");
	assert_string_equal(b, "upper");
	/* A plain rename over a lower file replaces it, and leaves no
	 * whiteout where nothing is below. */
	assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"), "up",
				       must(e, "etc"), "x", 0),
			 0);
	g_free(a);
	a = read_file(e, "etc/x");
	assert_string_equal(a, "lower\n");
	assert_int_equal(walk(e, "etc/up", NULL), -ENOENT);
	assert_false(is_whiteout(e, "etc/up"));
	assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"), "nope",
				       must(e, "etc"), "x", RENAME_EXCHANGE),
			 -ENOENT);
}

/* Names of one object share one node; a link to a lower file writes
 * through to every name. */
static void test_links(void **state)
{
	struct env *e = *state;
	g_autofree char *back = NULL;
	struct stat st, st2;
	uint64_t id;

	assert_int_equal(walk(e, "data/h1", &st), walk(e, "data/h2", &st2));
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(lfs_fs_link(e->m, must(e, "etc/hostname"),
				     must(e, "data"), "hn", &id, &st),
			 0);
	assert_int_equal(id, must(e, "etc/hostname"));
	write_file(e, "data/hn", O_WRONLY, "LINK", 0);
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "LINKr\n");
	walk(e, "etc/hostname", &st);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(lfs_fs_link(e->m, must(e, "etc"), must(e, "data"),
				     "d", &id, &st),
			 -EPERM);
}

/* Writing one name of a lower hardlink copies the file up once, and the
 * other name becomes a link of the copy: it stays one file after a
 * remount too. */
static void test_lower_hardlink_copy_up(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *u1 = upper_path(e, "data/h1");
	g_autofree char *u2 = upper_path(e, "data/h2");
	g_autofree char *back = NULL;
	struct stat s1, s2;

	write_file(e, "data/h1", O_WRONLY, "LINKED", 0);
	assert_int_equal(lstat(u1, &s1), 0);
	assert_int_equal(lstat(u2, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(s1.st_nlink, 2);
	unmount(e);
	assert_true(mount_rw(e, &error));
	back = read_file(e, "data/h2");
	assert_string_equal(back, "LINKED");
	walk(e, "data/h2", &s2);
	walk(e, "data/h1", &s1);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(s1.st_nlink, 2);
}

static void test_xattrs(void **state)
{
	struct env *e = *state;
	char buf[256];
	ssize_t n;

	assert_int_equal(lfs_fs_setxattr(e->m, must(e, "etc/x"), "user.b", "2",
					 1, 0),
			 0);
	n = lfs_fs_listxattr(e->m, must(e, "etc/x"), buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof("user.a\0user.b"));
	assert_int_equal(lfs_fs_removexattr(e->m, must(e, "etc/x"), "user.a"),
			 0);
	assert_int_equal(lfs_fs_getxattr(e->m, must(e, "etc/x"), "user.a", buf,
					 sizeof(buf)),
			 -ENODATA);
	n = lfs_fs_listxattr(e->m, must(e, "etc/x"), buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof("user.b"));
	assert_string_equal(buf, "user.b");
	/* A user's own overlay.* name is stored escaped, as overlayfs does
	 * since Linux 6.7: a directory does not become opaque by it, and
	 * the upper's real marks stay hidden. */
	assert_int_equal(lfs_fs_setxattr(e->m, must(e, "a"),
					 "trusted.overlay.opaque", "y", 1, 0),
			 0);
	{
		g_autofree char *esc = xattr_of(e, "a",
						"trusted.overlay.overlay.opaque");
		g_autofree char *names = list(e, "a");

		assert_non_null(esc);
		assert_null(xattr_of(e, "a", "trusted.overlay.opaque"));
		assert_string_equal(names, "sub,x,y");
	}
	n = lfs_fs_listxattr(e->m, must(e, "a"), buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof("trusted.overlay.opaque"));
	assert_string_equal(buf, "trusted.overlay.opaque");
	assert_int_equal(lfs_fs_getxattr(e->m, must(e, "a"),
					 "trusted.overlay.opaque", buf,
					 sizeof(buf)),
			 1);
	assert_int_equal(lfs_fs_removexattr(e->m, must(e, "a"),
					    "trusted.overlay.opaque"),
			 0);
	assert_int_equal(lfs_fs_listxattr(e->m, must(e, "a"), buf, sizeof(buf)),
			 0);
}

/* Read a listing a few entries at a time while names come and go: every
 * name there throughout is seen exactly once. */
struct chunk {
	GHashTable *seen; /* name -> count */
	guint room;
	uint64_t last;
};

static int take(void *ctx, const char *name, uint64_t id,
		const struct stat *st, uint64_t next)
{
	struct chunk *c = ctx;
	guint n;

	(void)id, (void)st;
	if (!c->room)
		return 1;
	c->room--;
	c->last = next;
	n = GPOINTER_TO_UINT(g_hash_table_lookup(c->seen, name));
	g_hash_table_insert(c->seen, g_strdup(name), GUINT_TO_POINTER(n + 1));
	return 0;
}

static void test_listing_stable_offsets(void **state)
{
	struct env *e = *state;
	struct chunk c = { g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL),
			   0, 0 };
	uint64_t dir = must(e, "many");
	int round = 0;

	do {
		g_autofree char *add = g_strdup_printf("new%02d", round);
		g_autofree char *del = g_strdup_printf("f%02d", 39 - round);

		c.room = 3;
		assert_int_equal(lfs_fs_readdir(e->m, dir, c.last, false, take,
						&c),
				 0);
		/* Between two reads: one name added, one removed (from the
		 * end of the sorted names, which the hash order spreads
		 * anywhere). */
		assert_int_equal(make(e, "many", add, S_IFREG | 0644), 0);
		assert_int_equal(lfs_fs_unlink(e->m, dir, del), 0);
		round++;
	} while (c.room == 0);
	for (int i = 0; i < 40 - round; i++) {
		g_autofree char *name = g_strdup_printf("f%02d", i);

		assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(c.seen,
								      name)),
				 1);
	}
	assert_int_equal(GPOINTER_TO_UINT(g_hash_table_lookup(c.seen, ".")), 1);
	g_hash_table_unref(c.seen);
}

static void test_devices_and_symlinks(void **state)
{
	struct env *e = *state;
	struct lfs_new_obj o = { .mode = S_IFCHR | 0600,
				 .rdev = makedev(1, 3) };
	struct stat st;
	uint64_t id;
	g_autofree char *t = NULL;

	assert_int_equal(lfs_fs_make(e->m, LFS_ROOT_INO, "null", &o, &e->c,
				     &id, &st, NULL),
			 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	assert_int_equal(make(e, "", "fifo", S_IFIFO | 0644), 0);
	assert_int_equal(make(e, "", "sym", S_IFLNK | 0777), 0);
	assert_int_equal(lfs_fs_readlink(e->m, must(e, "sym"), &t), 0);
	assert_string_equal(t, "t");
	walk(e, "sym", &st);
	assert_int_equal(st.st_uid, 1000);
}

/* Everything survives a remount, with the same inode numbers; what a
 * dead mount left in the work directory is cleared. */
static void test_remount(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *back = NULL, *junk = NULL;
	struct stat before, after;

	write_file(e, "etc/hostname", O_WRONLY, "KEPT", 0);
	walk(e, "etc/hostname", &before);
	assert_int_equal(lfs_fs_unlink(e->m, LFS_ROOT_INO, "lnk"), 0);
	unmount(e);
	junk = g_build_filename(e->work, "work", "#lfs.1.1", NULL);
	g_free(fx_write_str(e->work, "work/#lfs.1.1/partial", "x"));
	assert_true(mount_rw(e, &error));
	assert_false(g_file_test(junk, G_FILE_TEST_EXISTS));
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "KEPTr\n");
	walk(e, "etc/hostname", &after);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(walk(e, "lnk", NULL), -ENOENT);
}

/* A lower hardlink pair in a renamed directory: writing one name links
 * the other where the directory is now.  Where that directory is not in
 * the table (the kernel forgot it), the other name is not found and is
 * left as it is below: after a remount it shows the lower file, and the
 * copy shows the data written, whichever name is looked up first (the
 * copy's ino is the lower one's, its origin, but it is another object). */
static void test_hardlink_renamed_dir(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *u1 = upper_path(e, "d2/h1");
	g_autofree char *u2 = upper_path(e, "d2/h2");
	g_autofree char *a = NULL, *b = NULL;
	struct lfs_file *f;
	struct stat s1, s2;
	uint64_t d2, h1;

	assert_int_equal(
	    lfs_fs_rename(e->m, LFS_ROOT_INO, "data", LFS_ROOT_INO, "d2", 0),
	    0);
	write_file(e, "d2/h1", O_WRONLY, "LINKED", 0);
	assert_int_equal(lstat(u1, &s1), 0);
	assert_int_equal(lstat(u2, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	unmount(e);
	fx_rmtree(e->upper);
	g_mkdir(e->upper, 0755);
	assert_true(mount_rw(e, &error));

	assert_int_equal(
	    lfs_fs_rename(e->m, LFS_ROOT_INO, "data", LFS_ROOT_INO, "d2", 0),
	    0);
	h1 = must(e, "d2/h1");
	d2 = must(e, "d2");
	lfs_fs_forget(e->m, d2, 2);
	assert_int_equal(lfs_fs_open(e->m, h1, O_WRONLY, &f), 0);
	assert_int_equal(lfs_fs_write(e->m, f, "LINKED", 6, 0), 6);
	lfs_fs_release(e->m, f);
	lfs_fs_forget(e->m, h1, 1);
	assert_false(g_file_test(u2, G_FILE_TEST_EXISTS));
	unmount(e);
	assert_true(mount_rw(e, &error));
	b = read_file(e, "d2/h2");
	a = read_file(e, "d2/h1");
	assert_string_equal(b, "linked");
	assert_string_equal(a, "LINKED");
	walk(e, "d2/h1", &s1);
	walk(e, "d2/h2", &s2);
	assert_int_equal(s1.st_nlink, 1);
	assert_int_equal(s2.st_nlink, 2);
}

/* How many entries directory @path holds. */
static guint entries(const char *path)
{
	g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
	guint n = 0;

	assert_non_null(d);
	while (g_dir_read_name(d))
		n++;
	return n;
}

/* An open file whose last name goes keeps its upper in the work directory
 * (nlink 0) until it is closed and forgotten; so does a directory the
 * kernel holds. */
static void test_removed_while_open(void **state)
{
	struct env *e = *state;
	g_autofree char *work = g_build_filename(e->work, "work", NULL);
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	struct lfs_file *f;
	struct stat st;
	uint64_t id, dir;
	char buf[8];

	id = must(e, "etc/hostname");
	assert_int_equal(lfs_fs_open(e->m, id, O_RDWR, &f), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "etc"), "hostname"), 0);
	assert_true(is_whiteout(e, "etc/hostname"));
	assert_int_equal(lfs_fs_getattr(e->m, id, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(lfs_fs_write(e->m, f, "L", 1, 0), 1);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "Lower\n", 6);
	assert_int_equal(lfs_fs_setattr(e->m, id, &a, NULL, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(entries(work), 1);
	lfs_fs_release(e->m, f);
	lfs_fs_forget(e->m, id, 1);
	assert_int_equal(entries(work), 0);

	assert_int_equal(make(e, "", "d", S_IFDIR | 0755), 0);
	dir = must(e, "d");
	assert_int_equal(lfs_fs_rmdir(e->m, LFS_ROOT_INO, "d"), 0);
	assert_int_equal(lfs_fs_getattr(e->m, dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_nlink, 0);
	lfs_fs_forget(e->m, dir, 2);
	assert_int_equal(entries(work), 0);
}

/* A file open while its last name goes (unlink, or a rename over it):
 * what is done through the open file still works (fstat, ftruncate,
 * fchmod, reads, xattrs), it shows no links, and once the kernel forgets
 * it nothing of it is left. */
static void test_open_unlinked(void **state)
{
	struct env *e = *state;
	struct lfs_new_obj o = { .mode = S_IFREG | 0644, .flags = O_RDWR };
	struct lfs_setattr tr = { .what = LFS_SET_SIZE, .size = 1 };
	struct lfs_setattr ch = { .what = LFS_SET_MODE, .mode = 0600 };
	const char *names[] = { "new", "hostname", "over" };
	g_autofree char *work = g_build_filename(e->work, "work", NULL);
	char buf[16];

	for (int i = 0; i < 3; i++) {
		struct lfs_file *f;
		struct stat st;
		uint64_t id;

		if (i == 0) {
			assert_int_equal(lfs_fs_make(e->m, must(e, "etc"), "new",
						     &o, &e->c, &id, &st, &f),
					 0);
		} else {
			id = must(e, i == 1 ? "etc/hostname" : "etc/x");
			assert_int_equal(lfs_fs_open(e->m, id, O_RDWR, &f), 0);
		}
		assert_int_equal(lfs_fs_write(e->m, f, "abc", 3, 0), 3);
		if (i < 2) {
			assert_int_equal(lfs_fs_unlink(e->m, must(e, "etc"),
						       names[i]),
					 0);
		} else {
			assert_int_equal(make(e, "etc", "over", S_IFREG | 0644),
					 0);
			assert_int_equal(lfs_fs_rename(e->m, must(e, "etc"),
						       "over", must(e, "etc"),
						       "x", 0),
					 0);
		}
		assert_int_equal(lfs_fs_getattr(e->m, id, &st), 0);
		assert_int_equal(st.st_nlink, 0);
		assert_int_equal(lfs_fs_setattr(e->m, id, &tr, f, &st), 0);
		assert_int_equal(st.st_size, 1);
		assert_int_equal(lfs_fs_setattr(e->m, id, &ch, NULL, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(lfs_fs_setxattr(e->m, id, "user.k", "v", 1, 0),
				 0);
		assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 0), 1);
		assert_int_equal(buf[0], 'a');
		lfs_fs_release(e->m, f);
		lfs_fs_forget(e->m, id, 1000);
		assert_int_equal(entries(work), 0);
	}
}

/* A directory removed while the kernel holds it (a process's working
 * directory, an open descriptor): its attributes still answer, with no
 * links, and a chmod through the descriptor works. */
static void test_open_removed_dir(void **state)
{
	struct env *e = *state;
	struct lfs_setattr ch = { .what = LFS_SET_MODE, .mode = 0700 };
	const char *dirs[] = { "a/new", "a/sub", "a/over" };

	assert_int_equal(make(e, "a", "new", S_IFDIR | 0755), 0);
	assert_int_equal(make(e, "a", "over", S_IFDIR | 0755), 0);
	assert_int_equal(make(e, "a", "src", S_IFDIR | 0755), 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a/sub"), "z"), 0);
	for (int i = 0; i < 3; i++) {
		uint64_t id = must(e, dirs[i]);
		struct stat st;

		if (i < 2)
			assert_int_equal(lfs_fs_rmdir(e->m, must(e, "a"),
						      dirs[i] + 2),
					 0);
		else
			assert_int_equal(lfs_fs_rename(e->m, must(e, "a"),
						       "src", must(e, "a"),
						       "over", 0),
					 0);
		assert_int_equal(lfs_fs_getattr(e->m, id, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_nlink, 0);
		assert_int_equal(lfs_fs_setattr(e->m, id, &ch, NULL, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
		lfs_fs_forget(e->m, id, 1000);
	}
}

/* Removing one name of a lower hardlink: the other name is one file with
 * one link, now and after a remount. */
static void test_unlink_lower_hardlink(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *back = NULL;
	struct stat st;

	assert_int_equal(lfs_fs_unlink(e->m, must(e, "data"), "h2"), 0);
	walk(e, "data/h1", &st);
	assert_int_equal(st.st_nlink, 1);
	unmount(e);
	assert_true(mount_rw(e, &error));
	walk(e, "data/h1", &st);
	assert_int_equal(st.st_nlink, 1);
	back = read_file(e, "data/h1");
	assert_string_equal(back, "linked");
	assert_int_equal(walk(e, "data/h2", NULL), -ENOENT);
}

/* A link to a metacopy file: the copy records where its data is, so the
 * new name (which has no lower file of its own) reads it, after a
 * remount too; and nobody may make a whiteout by mknod. */
static void test_link_metacopy(void **state)
{
	struct env *e = *state;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) want = fx_noise(BIG_SIZE, 7, 0);
	g_autofree char *redirect = NULL, *back = NULL;
	struct stat st;
	uint64_t id;

	assert_int_equal(lfs_fs_setattr(e->m, must(e, "data/big"), &a, NULL,
					&st),
			 0);
	assert_int_equal(lfs_fs_link(e->m, must(e, "data/big"), must(e, "etc"),
				     "bigl", &id, &st),
			 0);
	redirect = xattr_of(e, "etc/bigl", "trusted.overlay.redirect");
	assert_non_null(redirect);
	assert_string_equal(redirect, "/data/big");
	unmount(e);
	assert_true(mount_rw(e, &error));
	back = read_file(e, "etc/bigl");
	assert_memory_equal(back, g_bytes_get_data(want, NULL), BIG_SIZE);
	assert_int_equal(make(e, "", "wh", S_IFCHR | 0600), -EPERM);
}

/* A metacopy file with no data below (its lower file is gone, or is no
 * regular file): reading it and opening it for writing are EIO, said in
 * the log; its metadata still answers. */
static void test_metacopy_without_data(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	struct lfs_setattr a = { .what = LFS_SET_SIZE, .size = 1 };
	struct lfs_file *f;
	struct stat st;

	assert_int_equal(make(e, "etc", "gone", S_IFREG | 0644), 0);
	write_file(e, "etc/gone", O_WRONLY, "data", 0);
	unmount(e);
	set_upper_xattr(e, "etc/gone", "trusted.overlay.metacopy", "");
	assert_true(mount_rw(e, &error));
	walk(e, "etc/gone", &st);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(lfs_fs_open(e->m, must(e, "etc/gone"), O_RDONLY, &f),
			 -EIO);
	assert_int_equal(lfs_fs_open(e->m, must(e, "etc/gone"), O_WRONLY, &f),
			 -EIO);
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "etc/gone"), &a, NULL,
					&st),
			 -EIO);
	assert_true(fx_log_has(&e->log, "has no data in the lower layers"));
}

/* With metacopy=off a chmod copies the data, all of it. */
static void test_metacopy_off(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	g_autofree char *back = NULL;
	struct stat st;

	unmount(e);
	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	o->metacopy = false;
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "etc/hostname"), &a,
					NULL, &st),
			 0);
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "lower\n");
	assert_int_equal(lfs_fs_rename(e->m, must(e, "data"), "big",
				       LFS_ROOT_INO, "big2", 0),
			 0);
	assert_true(is_whiteout(e, "data/big"));
	walk(e, "big2", &st);
	assert_int_equal(st.st_size, BIG_SIZE);
	assert_null(xattr_of(e, "big2", "trusted.overlay.metacopy"));
}

/* A lower hardlink whose directory was renamed, and then forgotten by the
 * kernel before one name was written: the copy-up cannot find the other
 * name.  That name shows the lower file: another object, in this mount
 * (it moves: as the copy's node, it did not, ENOENT) as after a remount,
 * whichever name is looked up first. */
static void test_renamed_hardlink(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
	g_autofree char *b5 = NULL;
	struct lfs_file *f;
	uint64_t h1;

	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "data",
				       LFS_ROOT_INO, "d2", 0),
			 0);
	h1 = must(e, "d2/h1");
	lfs_fs_forget(e->m, must(e, "d2"), 2);
	assert_int_equal(lfs_fs_open(e->m, h1, O_WRONLY, &f), 0);
	assert_int_equal(lfs_fs_write(e->m, f, "NEW", 3, 0), 3);
	lfs_fs_release(e->m, f);
	b1 = read_file(e, "d2/h2");
	assert_string_equal(b1, "linked");
	assert_int_equal(lfs_fs_rename(e->m, must(e, "d2"), "h2",
				       must(e, "d2"), "h9", 0),
			 0);
	assert_int_equal(lfs_fs_rename(e->m, must(e, "d2"), "h9",
				       must(e, "d2"), "h2", 0),
			 0);
	unmount(e);
	assert_true(mount_rw(e, &error));
	must(e, "d2/h2"); /* the other name first */
	b2 = read_file(e, "d2/h1");
	assert_string_equal(b2, "NEWked");
	b3 = read_file(e, "d2/h2");
	assert_string_equal(b3, "linked");
	unmount(e);
	assert_true(mount_rw(e, &error));
	must(e, "d2/h1"); /* the written name first */
	b4 = read_file(e, "d2/h2");
	assert_string_equal(b4, "linked");
	b5 = read_file(e, "d2/h1");
	assert_string_equal(b5, "NEWked");
}

/* The same, with both names known to the mount before the write: they
 * are one file, so the write goes to both, and renaming one name away
 * and removing it leaves the data at the other. */
static void test_renamed_hardlink_known(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *b1 = NULL, *b2 = NULL, *b3 = NULL;
	struct stat st;

	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "data",
				       LFS_ROOT_INO, "d2", 0),
			 0);
	must(e, "d2/h2");
	write_file(e, "d2/h1", O_WRONLY, "NEW", 0);
	b1 = read_file(e, "d2/h2");
	assert_string_equal(b1, "NEWked");
	assert_int_equal(lfs_fs_rename(e->m, must(e, "d2"), "h2",
				       must(e, "d2"), "h3", 0),
			 0);
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "d2"), "h3"), 0);
	b2 = read_file(e, "d2/h1");
	assert_string_equal(b2, "NEWked");
	walk(e, "d2/h1", &st);
	assert_int_equal(st.st_nlink, 1);
	unmount(e);
	assert_true(mount_rw(e, &error));
	b3 = read_file(e, "d2/h1");
	assert_string_equal(b3, "NEWked");
	assert_int_equal(walk(e, "d2/h2", NULL), -ENOENT);
}

/* Two objects that show one st_ino (a lower hardlink's names that the
 * upper holds apart since a renamed directory, forgotten, hid one from
 * the copy-up): a rename of one over the other replaces it, as between
 * any two files; only two names of one object make rename(2) do
 * nothing. */
static void test_rename_same_ino(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *back = NULL;
	struct lfs_file *f;
	struct stat s1, s2;
	uint64_t h1;

	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "data",
				       LFS_ROOT_INO, "d2", 0),
			 0);
	h1 = must(e, "d2/h1");
	lfs_fs_forget(e->m, must(e, "d2"), 2);
	assert_int_equal(lfs_fs_open(e->m, h1, O_WRONLY, &f), 0);
	assert_int_equal(lfs_fs_write(e->m, f, "NEW", 3, 0), 3);
	lfs_fs_release(e->m, f);
	unmount(e);
	assert_true(mount_rw(e, &error));
	walk(e, "d2/h1", &s1);
	walk(e, "d2/h2", &s2);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(lfs_fs_rename(e->m, must(e, "d2"), "h1",
				       must(e, "d2"), "h2", 0),
			 0);
	assert_int_equal(walk(e, "d2/h1", NULL), -ENOENT);
	back = read_file(e, "d2/h2");
	assert_string_equal(back, "NEWked");
}

/* An upper that lies: an origin naming another file, redirects to the
 * root and to the directory's own parent.  Each name stays its own
 * object (as overlayfs keeps them), and every change lands in its own
 * upper. */
static void test_upper_lies(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	g_autofree char *origin = NULL, *lie = NULL, *f1 = NULL;
	g_autofree char *up_f1 = NULL, *host = NULL, *names = NULL;
	g_autofree char *up = NULL, *sub = NULL;
	struct stat st, hst;

	/* A copy-up tells the origin's form (the stack's id). */
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "etc/x"), &a, NULL,
					&st),
			 0);
	origin = xattr_of(e, "etc/x", "trusted.overlay.layerfs.origin");
	assert_non_null(origin);
	walk(e, "etc/hostname", &hst);
	*strrchr(origin, ':') = '\0';
	lie = g_strdup_printf("%s:%llx", origin,
			      (unsigned long long)hst.st_ino);
	assert_int_equal(make(e, "etc", "f1", S_IFREG | 0644), 0);
	write_file(e, "etc/f1", O_WRONLY, "mine", 0);
	assert_int_equal(make(e, "", "x", S_IFDIR | 0755), 0);
	assert_int_equal(make(e, "a", "sub2", S_IFDIR | 0755), 0);
	unmount(e);
	set_upper_xattr(e, "etc/f1", "trusted.overlay.layerfs.origin", lie);
	set_upper_xattr(e, "x", "trusted.overlay.redirect", "/");
	set_upper_xattr(e, "a/sub2", "trusted.overlay.redirect", "/a");
	assert_true(mount_rw(e, &error));

	host = read_file(e, "etc/hostname");
	assert_string_equal(host, "lower\n");
	f1 = read_file(e, "etc/f1");
	assert_string_equal(f1, "mine");
	write_file(e, "etc/f1", O_WRONLY, "MINE", 0);
	up_f1 = upper_path(e, "etc/hostname");
	assert_int_equal(access(up_f1, F_OK), -1);
	g_free(host);
	host = read_file(e, "etc/hostname");
	assert_string_equal(host, "lower\n");

	/* x shows the root's lower part, but is not the root. */
	assert_true(must(e, "x") != LFS_ROOT_INO);
	assert_int_equal(make(e, "x", "newf", S_IFREG | 0644), 0);
	up = upper_path(e, "x/newf");
	assert_int_equal(access(up, F_OK), 0);
	g_free(up);
	up = upper_path(e, "newf");
	assert_int_equal(access(up, F_OK), -1);
	assert_int_equal(walk(e, "newf", NULL), -ENOENT);

	/* a/sub2 shows a's lower part, and is not a. */
	names = list(e, "a/sub2");
	assert_string_equal(names, "sub,x,y");
	assert_int_equal(make(e, "a/sub2", "q", S_IFREG | 0644), 0);
	sub = upper_path(e, "a/sub2/q");
	assert_int_equal(access(sub, F_OK), 0);
	assert_int_equal(walk(e, "a/q", NULL), -ENOENT);
	assert_int_equal(lfs_fs_rename(e->m, LFS_ROOT_INO, "a", LFS_ROOT_INO,
				       "b", 0),
			 0);
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "b"), &a, NULL, &st),
			 0);
	walk(e, "b/sub2", &st);
	assert_int_equal(st.st_mode & 07777, 0755);
	g_free(names);
	names = list(e, "b");
	assert_string_equal(names, "sub,sub2,x,y");
}

/* An opaque mark on the upper's root hides nothing: overlayfs never
 * reads it there. */
static void test_opaque_root(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autofree char *names = NULL, *back = NULL;

	unmount(e);
	assert_int_equal(lsetxattr(e->upper, "trusted.overlay.opaque", "y", 1,
				   0),
			 0);
	assert_true(mount_rw(e, &error));
	names = list(e, "");
	assert_string_equal(names, "a,data,etc,lnk,many");
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "lower\n");
}

/* Marks of odd sizes.  A metacopy mark longer than any overlayfs writes
 * cannot be read: looking the file up is EIO, said in the log, and the
 * directory around it still lists, with the entry in it (as overlayfs
 * lists it), and everything else there works.  An opaque mark longer
 * than "y" is no mark (overlayfs reads one byte of it), and an origin
 * that is not layerfs's numbers nothing: neither hides an object. */
static void test_odd_marks(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	char big[301];
	g_autofree char *names = NULL, *back = NULL, *subs = NULL;

	assert_int_equal(make(e, "etc", "bad", S_IFREG | 0644), 0);
	assert_int_equal(make(e, "a", "f", S_IFREG | 0644), 0);
	write_file(e, "a/f", O_WRONLY, "af", 0);
	unmount(e);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set_upper_xattr(e, "etc/bad", "trusted.overlay.metacopy", big);
	set_upper_xattr(e, "a", "trusted.overlay.opaque", big);
	set_upper_xattr(e, "a/f", "trusted.overlay.layerfs.origin", big);
	assert_true(mount_rw(e, &error));
	assert_int_equal(walk(e, "etc/bad", NULL), -EIO);
	assert_true(fx_log_has(&e->log, "\"bad\""));
	names = list(e, "etc");
	assert_string_equal(names, "bad,hostname,x");
	back = read_file(e, "etc/hostname");
	assert_string_equal(back, "lower\n");
	assert_int_equal(make(e, "etc", "new", S_IFREG | 0644), 0);
	subs = list(e, "a");
	assert_string_equal(subs, "f,sub,x,y");
	g_free(back);
	back = read_file(e, "a/f");
	assert_string_equal(back, "af");
}

/* Many writers of one lower file at once: it is copied up once, and
 * every writer writes the copy. */
struct racer {
	struct env *e;
	uint64_t id;
	int n;
};

static gpointer race(gpointer arg)
{
	struct racer *r = arg;
	struct lfs_file *f;
	char c = (char)('A' + r->n);

	if (lfs_fs_open(r->e->m, r->id, O_WRONLY, &f) != 0)
		return GINT_TO_POINTER(1);
	if (lfs_fs_write(r->e->m, f, &c, 1, (uint64_t)r->n) != 1)
		return GINT_TO_POINTER(2);
	lfs_fs_release(r->e->m, f);
	return NULL;
}

static void test_concurrent_copy_up(void **state)
{
	struct env *e = *state;
	struct racer r[8];
	GThread *th[8];
	g_autofree char *back = NULL;
	g_autoptr(GBytes) want = fx_noise(BIG_SIZE, 7, 0);

	for (int i = 0; i < 8; i++) {
		r[i] = (struct racer){ e, must(e, "data/big"), i };
		th[i] = g_thread_new("racer", race, &r[i]);
	}
	for (int i = 0; i < 8; i++)
		assert_null(g_thread_join(th[i]));
	assert_int_equal(e->m->upper->st.copy_ups, 2); /* data, and data/big */
	assert_int_equal(e->m->upper->st.data_copies, 1);
	back = read_file(e, "data/big");
	assert_memory_equal(back, "ABCDEFGH", 8);
	assert_memory_equal(back + 8, (const char *)g_bytes_get_data(want, NULL) + 8,
			    BIG_SIZE - 8);
}

/* Whether W/work holds anything (a copy-up under way). */
static bool work_busy(struct env *e)
{
	g_autofree char *w = g_build_filename(e->work, "work", NULL);
	GDir *d = g_dir_open(w, 0, NULL);
	bool busy = d && g_dir_read_name(d) != NULL;

	if (d)
		g_dir_close(d);
	return busy;
}

struct writer {
	struct env *e;
	uint64_t id;
};

static gpointer open_for_writing(gpointer arg)
{
	struct writer *w = arg;
	struct lfs_file *f;
	int err = lfs_fs_open(w->e->m, w->id, O_WRONLY, &f);

	if (!err)
		lfs_fs_release(w->e->m, f);
	return GINT_TO_POINTER(err);
}

/* A copy-up of a big file holds up nobody but the writers that need it:
 * while its data is copied, the file's attributes, its lookup and reads
 * through a descriptor opened before (which read below) all answer. */
static void test_copy_up_blocks_nobody(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) data = fx_noise(SLOW_SIZE, 3, 4);
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry big = { .path = "slow/big",
				.data = g_bytes_get_data(data, NULL),
				.len = SLOW_SIZE };
	g_autoptr(GBytes) tar = NULL, gz = NULL;
	g_autofree char *layer = NULL;
	struct writer w;
	struct lfs_file *f;
	struct stat st;
	char buf[4096];
	GThread *th;
	bool busy;
	int tries;

	fx_tar_add(t, &big);
	tar = fx_tar_finish(t);
	gz = fx_gzip(tar);
	layer = fx_write(e->dir, "slow.tar.gz", gz);
	unmount(e);
	g_ptr_array_add(o->layers, g_strdup(e->tar));
	g_ptr_array_add(o->layers, g_strdup(layer));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	w = (struct writer){ e, must(e, "slow/big") };
	assert_int_equal(lfs_fs_open(e->m, w.id, O_RDONLY, &f), 0);
	th = g_thread_new("writer", open_for_writing, &w);
	for (tries = 0; tries < 10000 && !work_busy(e); tries++)
		g_usleep(1000);
	assert_true(work_busy(e));
	assert_int_equal(lfs_fs_getattr(e->m, w.id, &st), 0);
	assert_int_equal(st.st_size, SLOW_SIZE);
	assert_int_equal(walk(e, "slow/big", NULL), (int64_t)w.id);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 4096),
			 sizeof(buf));
	/* Still copying: none of the above waited for it. */
	busy = work_busy(e);
	assert_null(g_thread_join(th));
	assert_memory_equal(buf, (const char *)g_bytes_get_data(data, NULL) + 4096,
			    sizeof(buf));
	lfs_fs_release(e->m, f);
	assert_true(busy);
}

/* With userxattr the marks are user.overlay.*, as overlayfs's option. */
static void test_userxattr(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *opq = NULL, *origin = NULL;

	unmount(e);
	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	o->userxattr = true;
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a/sub"), "z"), 0);
	assert_int_equal(lfs_fs_rmdir(e->m, must(e, "a"), "sub"), 0);
	assert_int_equal(make(e, "a", "sub", S_IFDIR | 0755), 0);
	opq = xattr_of(e, "a/sub", "user.overlay.opaque");
	assert_non_null(opq);
	assert_null(xattr_of(e, "a/sub", "trusted.overlay.opaque"));
	assert_int_equal(walk(e, "a/sub/z", NULL), -ENOENT);
	origin = xattr_of(e, "a", "user.overlay.layerfs.origin");
	assert_non_null(origin);
}

/* Owner records (xattr_permissions=): a directory layer whose root
 * carries one shows its files' owners from their records; the upper
 * keeps records of what the mount changes; neither is ever listed. */
static void test_owner_records(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *dl = g_build_filename(e->dir, "dl", NULL);
	g_autofree char *f = NULL, *rec = NULL;
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0604 };
	struct stat st;
	char buf[256];

	unmount(e);
	g_free(fx_write_str(dl, "file", "d"));
	f = g_build_filename(dl, "file", NULL);
	assert_int_equal(lsetxattr(dl, "user.containers.override_stat",
				   "0:0:0755", 8, 0),
			 0);
	assert_int_equal(lsetxattr(f, "user.containers.override_stat",
				   "10:20:0640", 10, 0),
			 0);
	g_ptr_array_add(o->layers, g_strdup(e->tar));
	g_ptr_array_add(o->layers, g_strdup(dl));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	o->xattr_permissions = 2;
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	walk(e, "file", &st);
	assert_int_equal(st.st_uid, 10);
	assert_int_equal(st.st_gid, 20);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(lfs_fs_listxattr(e->m, must(e, "file"), buf,
					  sizeof(buf)),
			 0);
	/* A chmod through the mount is kept in the upper's record too. */
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "etc/hostname"), &a,
					NULL, &st),
			 0);
	rec = xattr_of(e, "etc/hostname", "user.fuseoverlayfs.override_stat");
	assert_non_null(rec);
	assert_string_equal(rec, "0:0:604");
	assert_int_equal(lfs_fs_getxattr(e->m, must(e, "etc/hostname"),
					 "user.fuseoverlayfs.override_stat",
					 buf, sizeof(buf)),
			 -ENODATA);
	/* The record wins over the upper's own owner. */
	{
		g_autofree char *p = upper_path(e, "etc/hostname");

		assert_int_equal(lsetxattr(p, "user.fuseoverlayfs.override_stat",
					   "7:8:700", 7, 0),
				 0);
	}
	walk(e, "etc/hostname", &st);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_mode & 07777, 0700);
}

/* Lookups of a lower file while it is copied up: each finds the node
 * the copy-up is for, before, during and after (never a second node for
 * the same file, which the kernel would cache apart from the first). */
struct look_target {
	char name[8];
	uint64_t id; /* the node the name must give */
};

struct looker {
	struct env *e;
	uint64_t dir;
	struct look_target *volatile t; /* NULL: stop */
	gint wrong;
};

static gpointer look(gpointer arg)
{
	struct looker *l = arg;
	struct look_target *t;

	while ((t = l->t) != NULL) {
		uint64_t id;
		struct stat st;

		if (lfs_fs_lookup(l->e->m, l->dir, t->name, &id, &st) != 0)
			continue;
		if (id != t->id)
			g_atomic_int_inc(&l->wrong);
		lfs_fs_forget(l->e->m, id, 1);
	}
	return NULL;
}

static void test_lookup_during_copy_up(void **state)
{
	struct env *e = *state;
	struct looker l = { e, must(e, "many"), NULL, 0 };
	struct look_target t[40];
	GThread *th[3];

	for (int i = 0; i < 40; i++) {
		g_autofree char *path = g_strdup_printf("many/f%02d", i);
		struct lfs_file *f;

		g_strlcpy(t[i].name, path + strlen("many/"), sizeof(t[i].name));
		t[i].id = must(e, path);
		l.t = &t[i];
		if (i == 0) {
			for (int k = 0; k < 3; k++)
				th[k] = g_thread_new("look", look, &l);
		}
		g_usleep(100);
		assert_int_equal(lfs_fs_open(e->m, t[i].id, O_WRONLY, &f), 0);
		lfs_fs_release(e->m, f);
		g_usleep(100);
	}
	l.t = NULL;
	for (int k = 0; k < 3; k++)
		g_thread_join(th[k]);
	assert_int_equal(l.wrong, 0);
}


/* The checks made before anything is written. */
static void test_bad_dirs(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(lfs_options) o = lfs_options_new();
	struct lfs_mount *m2 = NULL;
	g_autofree char *inner = g_build_filename(e->upper, "w", NULL);
	g_autofree char *foreign = g_build_filename(e->dir, "foreign", NULL);

	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	/* In use by the mount the fixture holds. */
	o->upper = g_strdup(e->upper);
	o->work = g_strdup(e->work);
	assert_false(lfs_mount_open(o, &e->log.lg, &m2, &error));
	assert_lfs_error(error, EBUSY, "in use by another layerfs mount");
	g_clear_error(&error);
	/* Nested. */
	g_mkdir(inner, 0755);
	g_free(o->work);
	o->work = g_strdup(inner);
	assert_false(lfs_mount_open(o, &e->log.lg, &m2, &error));
	assert_lfs_error(error, EINVAL, "must be apart");
	g_clear_error(&error);
	/* Another tool's files in the work directory. */
	g_free(fx_write_str(foreign, "theirs", "x"));
	g_free(o->work);
	o->work = g_strdup(foreign);
	assert_false(lfs_mount_open(o, &e->log.lg, &m2, &error));
	assert_lfs_error(error, ENOTEMPTY, "holds \"theirs\"");
	g_clear_error(&error);
	/* Missing, and half given. */
	g_free(o->work);
	o->work = g_build_filename(e->dir, "nope", NULL);
	assert_false(lfs_mount_open(o, &e->log.lg, &m2, &error));
	assert_lfs_error(error, ENOENT, "work directory", "does not exist");
	g_clear_error(&error);
	g_clear_pointer(&o->work, g_free);
	assert_false(lfs_mount_open(o, &e->log.lg, &m2, &error));
	assert_lfs_error(error, EINVAL, "needs both upper= and work=");
}

static void test_read_only_refuses(void **state)
{
	struct env *e = *state;
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	struct lfs_mount *ro = NULL;
	struct lfs_new_obj n = { .mode = S_IFREG | 0644 };
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0 };
	struct lfs_file *f;
	struct stat st;
	uint64_t id;

	(void)e;
	g_ptr_array_add(o->layers, g_strdup(e->tar));
	o->cache_dir = g_build_filename(e->dir, "cache2", NULL);
	assert_true(lfs_mount_open(o, &e->log.lg, &ro, &error));
	assert_false(lfs_fs_writable(ro));
	assert_int_equal(lfs_fs_make(ro, LFS_ROOT_INO, "x", &n, &e->c, &id,
				     &st, NULL),
			 -EROFS);
	assert_int_equal(lfs_fs_unlink(ro, LFS_ROOT_INO, "lnk"), -EROFS);
	assert_int_equal(lfs_fs_rmdir(ro, LFS_ROOT_INO, "a"), -EROFS);
	assert_int_equal(lfs_fs_rename(ro, LFS_ROOT_INO, "a", LFS_ROOT_INO,
				       "b", 0),
			 -EROFS);
	assert_int_equal(lfs_fs_setattr(ro, LFS_ROOT_INO, &a, NULL, &st),
			 -EROFS);
	assert_int_equal(lfs_fs_setxattr(ro, LFS_ROOT_INO, "user.x", "", 0, 0),
			 -EROFS);
	assert_int_equal(lfs_fs_open(ro, LFS_ROOT_INO, O_WRONLY, &f), -EROFS);
	lfs_mount_close(ro);
}

static gpointer close_later(gpointer m)
{
	g_usleep(300 * 1000);
	lfs_mount_close(m);
	return NULL;
}

/* A mount waits a moment for a work directory that a mount going away
 * still holds (its daemon exits a moment after the unmount). */
static void test_work_lock_waits(void **state)
{
	struct env *e = *state;
	g_autoptr(GError) error = NULL;
	GThread *t = g_thread_new("close", close_later, e->m);

	e->m = NULL;
	assert_true(mount_rw(e, &error));
	g_thread_join(t);
	assert_int_equal(make(e, "", "after", S_IFREG | 0644), 0);
}

/* @path's owner and mode, in the merged view and in the upper alike. */
static void assert_owned(struct env *e, const char *path, uid_t uid, gid_t gid,
			 mode_t mode)
{
	g_autofree char *up = upper_path(e, path);
	struct stat st, ust;

	assert_true(walk(e, path, &st) > 0);
	assert_int_equal(lstat(up, &ust), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(ust.st_uid, uid);
	assert_int_equal(ust.st_gid, gid);
	assert_int_equal(ust.st_mode & 07777, mode);
}

/* A new object is the caller's, with exactly the mode asked (whatever
 * the daemon's umask); in a setgid directory it takes the directory's
 * group, and a new directory the setgid bit too, as a local file system
 * gives them.  A caller with the daemon's own ids gets setuid kept. */
static void test_create_owner(void **state)
{
	struct env *e = *state;
	struct lfs_setattr a = { .what = LFS_SET_GID, .gid = 77 };
	struct stat st;
	mode_t old = umask(027);

	assert_int_equal(make(e, "a", "f", S_IFREG | 0666), 0);
	assert_owned(e, "a/f", 1000, 1001, 0666);
	assert_int_equal(make(e, "a", "d", S_IFDIR | 0777), 0);
	assert_owned(e, "a/d", 1000, 1001, 0777);
	/* a/sub made setgid, group 77. */
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "a/sub"), &a, NULL, &st),
			 0);
	a.what = LFS_SET_MODE;
	a.mode = S_IFDIR | 02755;
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "a/sub"), &a, NULL, &st),
			 0);
	assert_int_equal(make(e, "a/sub", "g", S_IFREG | 0640), 0);
	assert_owned(e, "a/sub/g", 1000, 77, 0640);
	assert_int_equal(make(e, "a/sub", "sd", S_IFDIR | 0750), 0);
	assert_owned(e, "a/sub/sd", 1000, 77, 02750);
	assert_int_equal(make(e, "a/sub/sd", "deeper", S_IFIFO | 0600), 0);
	assert_owned(e, "a/sub/sd/deeper", 1000, 77, 0600);
	e->c.uid = 0;
	e->c.gid = 0;
	assert_int_equal(make(e, "a", "suid", S_IFREG | 04755), 0);
	assert_owned(e, "a/suid", 0, 0, 04755);
	assert_int_equal(make(e, "a/sub", "sgid", S_IFREG | 02755), 0);
	assert_owned(e, "a/sub/sgid", 0, 77, 02755);
	/* Over a whiteout the object is made in the work directory, which
	 * is not setgid: still the directory's group. */
	assert_int_equal(lfs_fs_unlink(e->m, must(e, "a/sub"), "z"), 0);
	assert_int_equal(make(e, "a/sub", "z", S_IFREG | 0644), 0);
	assert_owned(e, "a/sub/z", 0, 77, 0644);
	umask(old);
}

/* statfs tells the upper's space and limits, not the image's totals, and
 * the mount is not read-only. */
static void test_statfs(void **state)
{
	struct env *e = *state;
	struct statvfs st, up;

	assert_int_equal(lfs_fs_statfs(e->m, &st), 0);
	assert_int_equal(statvfs(e->upper, &up), 0);
	assert_int_equal(st.f_bsize, up.f_bsize);
	assert_int_equal(st.f_frsize, up.f_frsize);
	assert_int_equal(st.f_blocks, up.f_blocks);
	assert_int_equal(st.f_files, up.f_files);
	assert_int_equal(st.f_namemax, up.f_namemax);
	assert_int_equal(st.f_flag & ST_RDONLY, 0);
}

static bool work_empty(struct env *e)
{
	g_autofree char *w = g_build_filename(e->work, "work", NULL);
	GDir *d = g_dir_open(w, 0, NULL);
	bool empty;

	assert_non_null(d);
	empty = g_dir_read_name(d) == NULL;
	g_dir_close(d);
	return empty;
}

/* A lower file whose layer cannot be read (EIO from the disk under it,
 * as from a bad block) is not copied up: the writer gets EIO, the log
 * names the layer, the file and the blob, and neither the upper nor
 * W/work holds any of it; reads still see the lower file where the disk
 * answers.  A chmod needs no data (metadata only) and works meanwhile.
 * Once the disk answers again, so does the copy-up, and whole. */
static void test_copy_up_disk_error(void **state)
{
	struct env *e = *state;
	struct lfs_layer *l = e->m->layers[0];
	const struct lfs_index_entry *big = lfs_index_get(
		l->index, lfs_index_lookup_path(l->index, "data/big"));
	struct fx_fault fault = { .off = big->u.data + (1u << 20), .len = 1 };
	struct lfs_setattr a = { .what = LFS_SET_MODE, .mode = 0600 };
	g_autofree char *up = upper_path(e, "data/big");
	g_autofree char *mark = NULL;
	g_autofree char *want = g_strdup_printf(
		"\"data/big\": cannot copy it up: data at offset 1048576 "
		"unreadable: reading %s: Input/output error",
		e->tar);
	g_autoptr(GBytes) data = fx_noise(BIG_SIZE, 7, 0);
	g_autofree char *buf = g_malloc(BIG_SIZE);
	struct lfs_file *f;
	struct stat st;

	l->stored = fx_fault_blob(l->stored, &fault);
	g_atomic_int_set(&fault.on, 1);
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_WRONLY, &f),
			 -EIO);
	assert_true(fx_log_has(&e->log, want));
	assert_int_equal(lstat(up, &st), -1);
	assert_true(work_empty(e));
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_RDONLY, &f),
			 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, 4096, 0), 4096);
	assert_memory_equal(buf, g_bytes_get_data(data, NULL), 4096);
	lfs_fs_release(e->m, f);
	/* A metadata-only copy reads no data; its data stays below. */
	assert_int_equal(lfs_fs_setattr(e->m, must(e, "data/big"), &a, NULL,
					&st),
			 0);
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_RDWR, &f),
			 -EIO);
	mark = xattr_of(e, "data/big", "trusted.overlay.metacopy");
	assert_non_null(mark);
	assert_true(work_empty(e));
	g_atomic_int_set(&fault.on, 0);
	write_file(e, "data/big", O_RDWR, "Z", 0);
	assert_null(xattr_of(e, "data/big", "trusted.overlay.metacopy"));
	assert_int_equal(lfs_fs_open(e->m, must(e, "data/big"), O_RDONLY, &f),
			 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, BIG_SIZE, 0), BIG_SIZE);
	assert_int_equal(buf[0], 'Z');
	assert_memory_equal(buf + 1,
			    (const char *)g_bytes_get_data(data, NULL) + 1,
			    BIG_SIZE - 1);
	lfs_fs_release(e->m, f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_and_read),
		T(test_copy_up_on_write),
		T(test_open_trunc_copies_nothing),
		T(test_metacopy),
		T(test_copy_up_disk_error),
		T(test_unlink_whiteout_recreate),
		T(test_rmdir_then_opaque_mkdir),
		T(test_rename_dir_redirect),
		T(test_rename_flags),
		T(test_links),
		T(test_lower_hardlink_copy_up),
		T(test_unlink_lower_hardlink),
		T(test_hardlink_renamed_dir),
		T(test_removed_while_open),
		T(test_open_unlinked),
		T(test_open_removed_dir),
		T(test_link_metacopy),
		T(test_metacopy_without_data),
		T(test_metacopy_off),
		T(test_renamed_hardlink),
		T(test_renamed_hardlink_known),
		T(test_rename_same_ino),
		T(test_upper_lies),
		T(test_odd_marks),
		T(test_opaque_root),
		T(test_concurrent_copy_up),
		T(test_copy_up_blocks_nobody),
		T(test_userxattr),
		T(test_xattrs),
		T(test_listing_stable_offsets),
		T(test_devices_and_symlinks),
		T(test_remount),
		T(test_owner_records),
		T(test_lookup_during_copy_up),
		T(test_bad_dirs),
		T(test_read_only_refuses),
		T(test_statfs),
		T(test_create_owner),
		T(test_work_lock_waits),
	};

	return cmocka_run_group_tests_name("upper", tests, NULL, NULL);
}
