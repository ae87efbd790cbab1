/* Unit tests for layer/dir_scan.c: a directory layer built in a temporary
 * directory (files, directories, symlinks, a fifo, devices, hardlinks,
 * both whiteout forms, both opaque forms, xattrs) is scanned into an index
 * builder, and the finished struct lfs_index is checked entry by entry.
 * Runs as root: mknod and trusted.* xattrs need it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layerfs/dir_scan.h"
#include "layerfs/tar_scan.h"

#include "asserts.h"
#include "fixtures.h"

#define LAYER "test layer"
#define MTIME_SEC 1600000000
#define MTIME_NSEC 123456789

struct fx {
	char *dir;
	struct lfs_index *ix;
	struct fx_log log;
	GError *error;
};

static char *at(struct fx *f, const char *rel)
{
	return g_build_filename(f->dir, rel, NULL);
}

static void mkfile(struct fx *f, const char *rel, const char *data, mode_t mode)
{
	g_autofree char *p = fx_write_str(f->dir, rel, data);

	assert_int_equal(chmod(p, mode), 0);
}

static void mkdir_at(struct fx *f, const char *rel, mode_t mode)
{
	g_autofree char *p = at(f, rel);

	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void mknod_at(struct fx *f, const char *rel, mode_t type,
		     unsigned int maj, unsigned int min)
{
	g_autofree char *p = at(f, rel);

	assert_int_equal(mknod(p, type | 0644, makedev(maj, min)), 0);
}

static void symlink_at(struct fx *f, const char *rel, const char *target)
{
	g_autofree char *p = at(f, rel);

	assert_int_equal(symlink(target, p), 0);
}

static void xattr_at(struct fx *f, const char *rel, const char *name,
		     const char *value)
{
	g_autofree char *p = at(f, rel);

	assert_int_equal(lsetxattr(p, name, value, strlen(value), 0), 0);
}

static void bind_socket(struct fx *f, const char *rel)
{
	g_autofree char *p = at(f, rel);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_true(strlen(p) < sizeof(sa.sun_path));
	g_strlcpy(sa.sun_path, p, sizeof(sa.sun_path));
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
}

/* The layer directory every test scans (see the top of the file). */
static void build_tree(struct fx *f)
{
	g_autofree char *file = at(f, "file");
	g_autofree char *a_hard = at(f, "a_hard");
	g_autofree char *b_hard = at(f, "dir/b_hard");
	struct timespec ts[2] = {{MTIME_SEC, MTIME_NSEC},
				 {MTIME_SEC, MTIME_NSEC}};

	assert_int_equal(chmod(f->dir, 0751), 0);
	mkfile(f, "file", "hello", 0640);
	assert_int_equal(chown(file, 1000, 2000), 0);
	xattr_at(f, "file", "user.foo", "bar");
	xattr_at(f, "file", "trusted.overlay.origin", "hidden");
	xattr_at(f, "file", "user.overlay.redirect", "hidden too");
	assert_int_equal(utimensat(AT_FDCWD, file, ts, 0), 0);
	mkdir_at(f, "dir", 0750);
	mkfile(f, "dir/sub.txt", "sub", 0644);
	mkfile(f, "a_hard", "shared", 0600);
	/* BFS: the root's names are read before dir/'s, so a_hard is the
	 * first name of the pair. */
	assert_int_equal(link(a_hard, b_hard), 0);
	symlink_at(f, "link", "file");
	symlink_at(f, "dlink", "dir");
	symlink_at(f, "esc", "/etc");
	{
		g_autofree char *fifo = at(f, "fifo");

		assert_int_equal(mkfifo(fifo, 0620), 0);
		assert_int_equal(chmod(fifo, 0620), 0);
	}
	mknod_at(f, "null", S_IFCHR, 1, 3);
	mknod_at(f, "loop", S_IFBLK, 7, 0);
	mkfile(f, ".wh.gone", "", 0644);
	mkdir_at(f, "opq", 0755);
	mkfile(f, "opq/.wh..wh..opq", "", 0644);
	mkfile(f, "opq/keep", "kept", 0644);
	mknod_at(f, "chr-wh", S_IFCHR, 0, 0);
	mkdir_at(f, "ovl-opq", 0755);
	xattr_at(f, "ovl-opq", "trusted.overlay.opaque", "y");
	mkfile(f, "ovl-opq/x", "x", 0644);
	mkdir_at(f, "not-opq", 0755);
	xattr_at(f, "not-opq", "trusted.overlay.opaque", "n");
	mkfile(f, ".wh..wh.plnk", "", 0644);
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	fx_log_init(&f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lfs_index_free(f->ix);
	fx_log_clear(&f->log);
	fx_rmtree(f->dir);
	g_free(f->dir);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

/* Scan f->dir and finish the index into f->ix. */
static gboolean scan(struct fx *f)
{
	struct lfs_index_builder *b = lfs_index_builder_new();
	int dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	gboolean ok;

	assert_true(dirfd >= 0);
	ok = lfs_dir_scan(dirfd, b, &f->log.lg, LAYER, &f->error);
	close(dirfd);
	if (ok)
		f->ix = lfs_index_builder_finish(b, &f->log.lg, LAYER);
	lfs_index_builder_free(b);
	return ok;
}

static void scan_ok(struct fx *f)
{
	assert_lfs_ok(scan(f), &f->error);
}

static const struct lfs_index_entry *entry(struct fx *f, const char *path)
{
	uint32_t i = lfs_index_lookup_path(f->ix, path);

	if (i == LFS_INDEX_NONE)
		fail_msg("no entry \"%s\" in the index", path);
	return lfs_index_get(f->ix, i);
}

static bool has(struct fx *f, const char *path)
{
	return lfs_index_lookup_path(f->ix, path) != LFS_INDEX_NONE;
}

static void test_root_has_layer_dir_attributes(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "");
	assert_int_equal(e->type, LFS_T_DIR);
	assert_int_equal(e->mode, 0751);
	assert_int_equal(e->flags & LFS_E_IMPLICIT, 0);
	assert_int_equal(e->flags & LFS_E_OPAQUE, 0);
}

static void test_regular_file(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "file");
	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->mode, 0640);
	assert_int_equal(e->uid, 1000);
	assert_int_equal(e->gid, 2000);
	assert_int_equal(e->size, 5);
	assert_true(e->mtime_sec == MTIME_SEC);
	assert_int_equal(e->mtime_nsec, MTIME_NSEC);
	e = entry(f, "dir/sub.txt");
	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->size, 3);
}

static void test_directories(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "dir");
	assert_int_equal(e->type, LFS_T_DIR);
	assert_int_equal(e->mode, 0750);
	assert_int_equal(e->u.dir.count, 2); /* sub.txt, b_hard */
	assert_int_equal(e->flags & (LFS_E_IMPLICIT | LFS_E_OPAQUE), 0);
}

static void test_symlinks_recorded_not_followed(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *path, *target;
	} links[] = {{"link", "file"}, {"dlink", "dir"}, {"esc", "/etc"}};

	build_tree(f);
	scan_ok(f);
	for (size_t i = 0; i < G_N_ELEMENTS(links); i++) {
		const struct lfs_index_entry *e = entry(f, links[i].path);

		assert_int_equal(e->type, LFS_T_LNK);
		assert_string_equal(lfs_index_str(f->ix, e->u.target),
				    links[i].target);
		assert_int_equal(e->size, strlen(links[i].target));
	}
	assert_false(has(f, "dlink/sub.txt"));
	assert_false(has(f, "esc/passwd"));
}

static void test_fifo_and_devices(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "fifo");
	assert_int_equal(e->type, LFS_T_FIFO);
	assert_int_equal(e->mode, 0620);
	e = entry(f, "null");
	assert_int_equal(e->type, LFS_T_CHR);
	assert_true(e->u.rdev == makedev(1, 3));
	e = entry(f, "loop");
	assert_int_equal(e->type, LFS_T_BLK);
	assert_true(e->u.rdev == makedev(7, 0));
}

/* The second name of a file becomes a hardlink to the first. */
static void test_hardlinks(void **state)
{
	struct fx *f = *state;
	uint32_t first;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	first = lfs_index_lookup_path(f->ix, "a_hard");
	assert_true(first != LFS_INDEX_NONE);
	e = lfs_index_get(f->ix, first);
	assert_int_equal(e->type, LFS_T_REG);
	assert_int_equal(e->size, 6);
	e = entry(f, "dir/b_hard");
	assert_int_equal(e->type, LFS_T_HARDLINK);
	assert_int_equal(e->flags & LFS_E_XLINK, 0);
	assert_int_equal(e->u.target, first);
	assert_int_equal(f->ix->nhardlinks, 1);
	assert_int_equal(f->ix->hardlinks[0],
			 lfs_index_lookup_path(f->ix, "dir/b_hard"));
}

/* ".wh.NAME" and a 0/0 character device are whiteouts of NAME. */
static void test_whiteouts(void **state)
{
	struct fx *f = *state;

	build_tree(f);
	scan_ok(f);
	assert_int_equal(entry(f, "gone")->type, LFS_T_WHITEOUT);
	assert_false(has(f, ".wh.gone"));
	assert_int_equal(entry(f, "chr-wh")->type, LFS_T_WHITEOUT);
	/* aufs bookkeeping is not shown at all. */
	assert_false(has(f, ".wh..wh.plnk"));
	assert_false(has(f, "plnk"));
}

/* ".wh..wh..opq" and trusted.overlay.opaque=y make a directory opaque. */
static void test_opaque_dirs(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "opq");
	assert_int_equal(e->type, LFS_T_DIR);
	assert_int_equal(e->flags & LFS_E_OPAQUE, LFS_E_OPAQUE);
	assert_int_equal(e->u.dir.count, 1);
	assert_int_equal(entry(f, "opq/keep")->type, LFS_T_REG);
	assert_false(has(f, "opq/.wh..wh..opq"));
	e = entry(f, "ovl-opq");
	assert_int_equal(e->flags & LFS_E_OPAQUE, LFS_E_OPAQUE);
	assert_int_equal(entry(f, "ovl-opq/x")->type, LFS_T_REG);
	/* Any other value is not the marker. */
	assert_int_equal(entry(f, "not-opq")->flags & LFS_E_OPAQUE, 0);
	assert_int_equal(entry(f, "dir")->flags & LFS_E_OPAQUE, 0);
}

/* user.overlay.opaque=y is overlayfs's marker in userxattr mode. */
static void test_user_overlay_opaque(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "u", 0755);
	xattr_at(f, "u", "user.overlay.opaque", "y");
	scan_ok(f);
	assert_int_equal(entry(f, "u")->flags & LFS_E_OPAQUE, LFS_E_OPAQUE);
	assert_int_equal(entry(f, "u")->xattr_count, 0);
}

/* The value of xattr @name of @e, or NULL. */
static const char *xattr_of(struct fx *f, const struct lfs_index_entry *e,
			    const char *name, uint32_t *len)
{
	for (uint32_t k = 0; k < e->xattr_count; k++) {
		const struct lfs_index_xattr *x =
		    &f->ix->xattrs[e->xattr_first + k];

		if (strcmp(lfs_index_str(f->ix, x->name), name) == 0) {
			*len = x->value_len;
			return lfs_index_str(f->ix, x->value);
		}
	}
	return NULL;
}

/* user.* xattrs are recorded; overlayfs's private ones are not. */
static void test_xattrs(void **state)
{
	struct fx *f = *state;
	const struct lfs_index_entry *e;
	const char *v;
	uint32_t len = 0;

	build_tree(f);
	scan_ok(f);
	e = entry(f, "file");
	assert_int_equal(e->xattr_count, 1);
	v = xattr_of(f, e, "user.foo", &len);
	assert_non_null(v);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "bar", 3);
	assert_null(xattr_of(f, e, "trusted.overlay.origin", &len));
	assert_null(xattr_of(f, e, "user.overlay.redirect", &len));
	assert_int_equal(entry(f, "ovl-opq")->xattr_count, 0);
}

/* Binary xattr values (with NULs) keep their exact bytes and length. */
static void test_binary_xattr_value(void **state)
{
	static const char value[] = {'a', 0, 'b', 0, 0};
	struct fx *f = *state;
	g_autofree char *p = NULL;
	const char *v;
	uint32_t len = 0;

	mkfile(f, "bin", "", 0644);
	p = at(f, "bin");
	assert_int_equal(lsetxattr(p, "user.bin", value, sizeof(value), 0), 0);
	scan_ok(f);
	v = xattr_of(f, entry(f, "bin"), "user.bin", &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(value));
	assert_memory_equal(v, value, sizeof(value));
}

/* Sockets cannot be part of a layer: skipped with a warning naming it. */
static void test_socket_skipped_with_warning(void **state)
{
	struct fx *f = *state;

	bind_socket(f, "sock");
	mkfile(f, "after", "a", 0644);
	scan_ok(f);
	assert_false(has(f, "sock"));
	assert_true(has(f, "after"));
	assert_true(fx_log_has(&f->log, LAYER));
	assert_true(fx_log_has(&f->log, "\"sock\" skipped"));
}

/* ".wh.." would whiteout "."; it is skipped with a warning. */
static void test_invalid_whiteout_skipped(void **state)
{
	struct fx *f = *state;

	mkfile(f, ".wh..", "", 0644);
	scan_ok(f);
	assert_false(has(f, ".wh.."));
	assert_int_equal(f->ix->nentries, 1);
	assert_true(fx_log_has(&f->log, "whiteout of an invalid name"));
	assert_true(fx_log_has(&f->log, LAYER));
}

/* What the scan saw, for `layerfs inspect`. */
static void test_stats(void **state)
{
	struct fx *f = *state;

	mkfile(f, "a", "1", 0644);
	mkfile(f, ".wh.b", "", 0644);
	mkdir_at(f, "d", 0755);
	mkfile(f, "d/.wh..wh..opq", "", 0644);
	mknod_at(f, "c", S_IFCHR, 0, 0);
	scan_ok(f);
	/* root, a, d */
	assert_int_equal(f->ix->stat_entries, 3);
	/* .wh.b, the opaque marker, the 0/0 device */
	assert_int_equal(f->ix->stat_whiteouts, 3);
	assert_int_equal(f->ix->nentries, 5); /* root, a, b, c, d */
}

/* Scanning a descriptor that is not a directory fails naming the layer. */
static void test_not_a_directory(void **state)
{
	struct fx *f = *state;
	g_autofree char *file = fx_write_str(f->dir, "plain", "x");
	struct lfs_index_builder *b = lfs_index_builder_new();
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_false(lfs_dir_scan(fd, b, &f->log.lg, LAYER, &f->error));
	close(fd);
	lfs_index_builder_free(b);
	assert_lfs_error(f->error, ENOTDIR, LAYER);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

/* The tar scan's limits hold here too: a path over LFS_PATH_MAX is left
 * out with a warning, and an entry keeps at most LFS_XATTR_COUNT_MAX
 * xattrs. */
static void test_limits(void **state)
{
	struct fx *f = *state;
	g_autofree char *comp = g_strnfill(200, 'd');
	g_autofree char *many = fx_write_str(f->dir, "many", "m");
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	int set = 0;

	/* 21 levels of 200-byte names: past 4095 bytes at the last one. */
	assert_true(fd >= 0);
	for (int i = 0; i < 21; i++) {
		int next;

		assert_int_equal(mkdirat(fd, comp, 0755), 0);
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	close(fd);
	for (int i = 0; i < LFS_XATTR_COUNT_MAX + 5; i++) {
		g_autofree char *name = g_strdup_printf("user.x%03d", i);

		if (setxattr(many, name, "v", 1, 0) == 0)
			set++;
	}
	scan_ok(f);
	assert_true(fx_log_has(&f->log, "path longer than 4095 bytes"));
	assert_int_not_equal(lfs_index_lookup_path(f->ix, "many"),
			     LFS_INDEX_NONE);
	if (set <= LFS_XATTR_COUNT_MAX)
		skip(); /* this file system holds fewer xattrs per file */
	assert_int_equal(entry(f, "many")->xattr_count, LFS_XATTR_COUNT_MAX);
	assert_true(fx_log_has(&f->log, "more than 128 xattrs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_root_has_layer_dir_attributes),
	    FT(test_regular_file),
	    FT(test_directories),
	    FT(test_symlinks_recorded_not_followed),
	    FT(test_fifo_and_devices),
	    FT(test_hardlinks),
	    FT(test_whiteouts),
	    FT(test_opaque_dirs),
	    FT(test_user_overlay_opaque),
	    FT(test_xattrs),
	    FT(test_binary_xattr_value),
	    FT(test_socket_skipped_with_warning),
	    FT(test_invalid_whiteout_skipped),
	    FT(test_stats),
	    FT(test_not_a_directory),
	    FT(test_limits),
	};

	return cmocka_run_group_tests_name("dir_scan", tests, NULL, NULL);
}
