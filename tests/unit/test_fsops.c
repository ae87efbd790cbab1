/* The operations facade end to end, in-process: lfs_mount_open() over real
 * layer files, then every lfs_fs_* call a FUSE adapter makes, including
 * readdirplus attributes, the statistics xattr and EIO on a damaged
 * layer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "layerfs/fsops.h"
#include "layerfs/stats.h"

struct env {
	char *dir;
	char *tar_path; /* the bottom layer, a plain tar read in place */
	struct fx_log log;
	struct lfs_mount *m;
};

static GBytes *bottom_layer(void)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_entry secret = { .path = "etc/secret", .data = "s",
				   .mode = 0600, .uid = 10, .gid = 20 };
	struct fx_entry lnk = { .path = "etc/link", .type = AE_IFLNK,
				.link = "hostname" };
	struct fx_entry x = { .path = "etc/x", .data = "x",
			      .xattr = "user.a", .xattr_value = "1" };
	g_autofree char *big = g_strnfill(10000, 'B');

	fx_tar_dir(t, "etc");
	fx_tar_file(t, "etc/hostname", "box\n");
	fx_tar_add(t, &secret);
	fx_tar_add(t, &lnk);
	fx_tar_add(t, &x);
	fx_tar_file(t, "big", big);
	fx_tar_dir(t, "many");
	for (int i = 0; i < 50; i++) {
		g_autofree char *p = g_strdup_printf("many/f%02d", i);

		fx_tar_file(t, p, "m");
	}
	return fx_tar_finish(t);
}

static int setup(void **state)
{
	struct env *e = g_new0(struct env, 1);
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GBytes) tar = bottom_layer();
	g_autoptr(GBytes) gz = NULL, upper_tar = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *upper = NULL, *dirlayer = NULL;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	e->dir = fx_tmpdir();
	e->tar_path = fx_write(e->dir, "bottom.tar", tar);
	fx_tar_file(t, "etc/.wh.x", "");
	fx_tar_file(t, "etc/added", "from gzip");
	upper_tar = fx_tar_finish(t);
	gz = fx_gzip(upper_tar);
	upper = fx_write(e->dir, "upper.tar.gz", gz);
	g_free(fx_write_str(e->dir, "dirlayer/etc/fromdir", "dir layer\n"));
	dirlayer = g_build_filename(e->dir, "dirlayer", NULL);

	g_ptr_array_add(o->layers, g_strdup(e->tar_path));
	g_ptr_array_add(o->layers, g_strdup(upper));
	g_ptr_array_add(o->layers, g_strdup(dirlayer));
	o->cache_dir = g_build_filename(e->dir, "cache", NULL);
	fx_log_init(&e->log);
	assert_true(lfs_mount_open(o, &e->log.lg, &e->m, &error));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	lfs_mount_close(e->m);
	fx_log_clear(&e->log);
	fx_rmtree(e->dir);
	g_free(e->dir);
	g_free(e->tar_path);
	g_free(e);
	return 0;
}

static uint64_t lookup(struct env *e, uint64_t parent, const char *name)
{
	struct stat st;

	assert_int_equal(lfs_fs_lookup(e->m, parent, name, NULL, &st), 0);
	return st.st_ino;
}

static uint64_t lookup_path(struct env *e, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	uint64_t ino = LFS_ROOT_INO;

	for (char **p = parts; *p; p++)
		ino = lookup(e, ino, *p);
	return ino;
}

static char *read_all(struct env *e, const char *path, uint64_t off,
		      size_t len)
{
	struct lfs_file *f;
	char *buf = g_malloc0(len + 1);
	ssize_t n;

	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, path), O_RDONLY, &f),
			 0);
	n = lfs_fs_read(e->m, f, buf, len, off);
	assert_true(n >= 0);
	buf[n] = '\0';
	lfs_fs_release(e->m, f);
	return buf;
}

static void test_lookup_getattr(void **state)
{
	struct env *e = *state;
	struct stat st;
	uint64_t ino = lookup_path(e, "etc/secret");

	assert_int_equal(lfs_fs_getattr(e->m, ino, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0600);
	assert_int_equal(st.st_uid, 10);
	assert_int_equal(st.st_gid, 20);
	assert_int_equal(st.st_size, 1);
	assert_int_equal(lfs_fs_lookup(e->m, LFS_ROOT_INO, "nope", NULL, &st),
			 -ENOENT);
	assert_int_equal(lfs_fs_lookup(e->m, lookup_path(e, "etc"), "x", NULL,
				       &st),
			 -ENOENT);
	assert_int_equal(lfs_fs_getattr(e->m, 999999, &st), -ESTALE);
}

static void test_read_paths(void **state)
{
	struct env *e = *state;
	g_autofree char *plain = read_all(e, "etc/hostname", 0, 100);
	g_autofree char *gz = read_all(e, "etc/added", 5, 100);
	g_autofree char *dir = read_all(e, "etc/fromdir", 0, 100);
	g_autofree char *tail = read_all(e, "big", 9990, 100);
	g_autofree char *past = read_all(e, "big", 20000, 100);

	assert_string_equal(plain, "box\n");
	assert_string_equal(gz, "gzip");
	assert_string_equal(dir, "dir layer\n");
	assert_string_equal(tail, "BBBBBBBBBB");
	assert_string_equal(past, "");
}

/* The bytes of a read, placed in a plain file where they lie in one. */
static char *map_all(struct env *e, const char *path, uint64_t off,
		     size_t len, int want)
{
	struct lfs_file *f;
	struct lfs_read_map map;
	char *buf = g_malloc0(len + 1);

	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, path), O_RDONLY, &f),
			 0);
	assert_int_equal(lfs_fs_read_map(e->m, f, len, off, &map), want);
	if (want == 0 && map.len > 0)
		assert_int_equal(pread(map.fd, buf, map.len, (off_t)map.pos),
				 (ssize_t)map.len);
	lfs_fs_release(e->m, f);
	return buf;
}

static void test_read_map_paths(void **state)
{
	struct env *e = *state;
	uint64_t copied = e->m->reads_copied;
	g_autofree char *plain = map_all(e, "etc/hostname", 0, 100, 0);
	g_autofree char *gz = map_all(e, "etc/added", 5, 100, -EAGAIN);
	g_autofree char *dir = map_all(e, "etc/fromdir", 4, 100, 0);
	g_autofree char *past = map_all(e, "etc/fromdir", 200, 100, 0);

	assert_string_equal(plain, "box\n");
	assert_string_equal(gz, "");
	assert_string_equal(dir, "layer\n");
	assert_string_equal(past, "");
	/* Counted for `layerfs stats`: three placed, none copied. */
	assert_int_equal(e->m->reads_spliced, 3);
	assert_int_equal(e->m->reads_copied, copied);
}

static void test_open_refuses_writes(void **state)
{
	struct env *e = *state;
	uint64_t f = lookup_path(e, "etc/hostname");
	struct lfs_file *fh;

	assert_int_equal(lfs_fs_open(e->m, f, O_WRONLY, &fh), -EROFS);
	assert_int_equal(lfs_fs_open(e->m, f, O_RDWR, &fh), -EROFS);
	assert_int_equal(lfs_fs_open(e->m, f, O_RDONLY | O_TRUNC, &fh),
			 -EROFS);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "etc"), O_RDONLY,
				     &fh),
			 -EISDIR);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "etc/link"),
				     O_RDONLY, &fh),
			 -EINVAL);
}

static void test_readlink(void **state)
{
	struct env *e = *state;
	g_autofree char *target = NULL;
	char *none = NULL;

	assert_int_equal(lfs_fs_readlink(e->m, lookup_path(e, "etc/link"),
					 &target),
			 0);
	assert_string_equal(target, "hostname");
	assert_int_equal(lfs_fs_readlink(e->m, lookup_path(e, "etc"), &none),
			 -EINVAL);
	assert_null(none);
}

/* Collects names; says "full" after @limit entries. */
struct collect {
	GPtrArray *names;
	GArray *inos;
	GArray *nexts;
	guint limit;
};

static int collect_one(void *ctx, const char *name, uint64_t id,
		       const struct stat *st, uint64_t next)
{
	struct collect *c = ctx;

	(void)id;
	if (c->names->len >= c->limit)
		return 1;
	g_ptr_array_add(c->names, g_strdup(name));
	g_array_append_val(c->inos, st->st_ino);
	g_array_append_val(c->nexts, next);
	return 0;
}

static void collect_init(struct collect *c, guint limit)
{
	c->names = g_ptr_array_new_with_free_func(g_free);
	c->inos = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	c->nexts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	c->limit = limit;
}

static void collect_clear(struct collect *c)
{
	g_ptr_array_unref(c->names);
	g_array_unref(c->inos);
	g_array_unref(c->nexts);
}

static void test_readdir_offsets(void **state)
{
	struct env *e = *state;
	uint64_t etc = lookup_path(e, "etc");
	static const char *const want[] = { ".",      "..",     "added",
					    "fromdir", "hostname", "link",
					    "secret" };
	struct collect all;

	collect_init(&all, 100);
	assert_int_equal(lfs_fs_readdir(e->m, etc, 0, false, collect_one, &all),
			 0);
	assert_int_equal(all.names->len, G_N_ELEMENTS(want));
	for (guint i = 0; i < all.names->len; i++)
		assert_string_equal(all.names->pdata[i], want[i]);
	assert_int_equal(g_array_index(all.inos, uint64_t, 0), etc);
	assert_int_equal(g_array_index(all.inos, uint64_t, 1), LFS_ROOT_INO);
	/* Resuming at any entry's "next" gives exactly the rest. */
	for (guint i = 0; i < all.names->len; i++) {
		struct collect rest;
		uint64_t next = g_array_index(all.nexts, uint64_t, i);

		collect_init(&rest, 100);
		lfs_fs_readdir(e->m, etc, next, false, collect_one, &rest);
		assert_int_equal(rest.names->len, all.names->len - i - 1);
		if (rest.names->len)
			assert_string_equal(rest.names->pdata[0],
					    all.names->pdata[i + 1]);
		collect_clear(&rest);
	}
	collect_clear(&all);
	/* A file is not a directory; a number that names nothing is stale. */
	collect_init(&all, 100);
	assert_int_equal(lfs_fs_readdir(e->m, lookup_path(e, "etc/hostname"),
					0, false, collect_one, &all),
			 -ENOTDIR);
	assert_int_equal(lfs_fs_readdir(e->m, 12345, 0, false, collect_one,
					&all),
			 -ESTALE);
	collect_clear(&all);
}

/* readdirplus carries each entry's full attributes, the same getattr
 * gives, and stops where the reply is full; the numbers it gave out stay
 * good without any lookup (nothing counts them, see fsops.h). */
static void test_readdirplus_attrs(void **state)
{
	struct env *e = *state;
	uint64_t many = lookup_path(e, "many");
	struct collect c;
	struct stat st, want;

	collect_init(&c, 5); /* ".", "..", f00, f01, f02 */
	assert_int_equal(lfs_fs_readdir(e->m, many, 0, true, collect_one, &c),
			 0);
	assert_int_equal(c.names->len, 5);
	assert_string_equal(c.names->pdata[4], "f02");
	for (guint i = 2; i < c.names->len; i++) {
		uint64_t ino = g_array_index(c.inos, uint64_t, i);

		assert_int_equal(lfs_fs_lookup(e->m, many, c.names->pdata[i],
					       NULL, &want),
				 0);
		assert_int_equal(lfs_fs_getattr(e->m, ino, &st), 0);
		assert_int_equal(st.st_ino, want.st_ino);
		assert_int_equal(st.st_mode, want.st_mode);
		assert_int_equal(st.st_size, want.st_size);
		assert_int_equal(st.st_mtim.tv_sec, want.st_mtim.tv_sec);
	}
	collect_clear(&c);
}

static void test_xattrs(void **state)
{
	struct env *e = *state;
	char buf[32];

	assert_int_equal(lfs_fs_getxattr(e->m, lookup_path(e, "etc/secret"),
					 "user.a", buf, sizeof(buf)),
			 -ENODATA);
	assert_int_equal(lfs_fs_listxattr(e->m, lookup_path(e, "etc/secret"),
					  buf, sizeof(buf)),
			 0);
}

/* The statistics are a virtual xattr of the root only, never listed. */
static void test_stats_xattr(void **state)
{
	struct env *e = *state;
	ssize_t n = lfs_fs_getxattr(e->m, LFS_ROOT_INO, LFS_STATS_XATTR, NULL,
				    0);
	g_autofree char *text = NULL;
	char small[8], list[64];

	assert_true(n > 100);
	text = g_malloc0((size_t)n + 1);
	assert_int_equal(lfs_fs_getxattr(e->m, LFS_ROOT_INO, LFS_STATS_XATTR,
					 text, (size_t)n),
			 n);
	assert_true(g_str_has_prefix(text, "source: "));
	assert_non_null(strstr(text, "\nlayers: 3 ("));
	assert_int_equal(lfs_fs_getxattr(e->m, LFS_ROOT_INO, LFS_STATS_XATTR,
					 small, sizeof(small)),
			 -ERANGE);
	assert_int_equal(lfs_fs_listxattr(e->m, LFS_ROOT_INO, list,
					  sizeof(list)),
			 0);
	assert_int_equal(lfs_fs_getxattr(e->m, lookup_path(e, "etc"),
					 LFS_STATS_XATTR, NULL, 0),
			 -ENODATA);
}

static char *stats_text(struct env *e)
{
	ssize_t n = lfs_fs_getxattr(e->m, LFS_ROOT_INO, LFS_STATS_XATTR, NULL,
				    0);
	char *text;

	assert_true(n > 0);
	text = g_malloc0((size_t)n + 1);
	assert_int_equal(lfs_fs_getxattr(e->m, LFS_ROOT_INO, LFS_STATS_XATTR,
					 text, (size_t)n),
			 n);
	return text;
}

/* Open files are counted; the ones the kernel never released (its last
 * release may come after the session ended) are freed when the mount
 * closes: the sanitizer build sees no leak and no open descriptor stays
 * behind (etc/fromdir holds the directory layer's real file). */
static void test_files_left_open(void **state)
{
	struct env *e = *state;
	struct lfs_file *a, *b, *c;
	g_autofree char *t0 = NULL, *t1 = NULL;

	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "etc/hostname"),
				     O_RDONLY, &a),
			 0);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "etc/fromdir"),
				     O_RDONLY, &b),
			 0);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "big"), O_RDONLY,
				     &c),
			 0);
	t0 = stats_text(e);
	assert_non_null(strstr(t0, "\nopen files: 3\n"));
	lfs_fs_release(e->m, c);
	lfs_fs_release(e->m, a);
	t1 = stats_text(e);
	assert_non_null(strstr(t1, "\nopen files: 1\n"));
	/* b stays open: teardown's lfs_mount_close() frees it. */
}

static void test_statfs(void **state)
{
	struct env *e = *state;
	struct statvfs st;

	assert_int_equal(lfs_fs_statfs(e->m, &st), 0);
	assert_int_equal(st.f_bsize, 4096);
	assert_int_equal(st.f_namemax, 255);
	assert_true(st.f_flag & ST_RDONLY);
	assert_true(st.f_files >= 60);
	assert_true(st.f_blocks >= 3);
}

static void test_access(void **state)
{
	struct env *e = *state;
	uint64_t secret = lookup_path(e, "etc/secret");
	uint64_t host = lookup_path(e, "etc/hostname");
	gid_t other = 30;

	assert_int_equal(lfs_fs_access(e->m, secret, W_OK, 0, 0, NULL, 0),
			 -EROFS);
	assert_int_equal(lfs_fs_access(e->m, secret, R_OK, 10, 99, NULL, 0),
			 0);
	assert_int_equal(lfs_fs_access(e->m, secret, R_OK, 11, 20, NULL, 0),
			 -EACCES);
	assert_int_equal(lfs_fs_access(e->m, secret, R_OK, 0, 0, NULL, 0), 0);
	assert_int_equal(lfs_fs_access(e->m, secret, X_OK, 0, 0, NULL, 0),
			 -EACCES);
	assert_int_equal(lfs_fs_access(e->m, host, R_OK, 500, 500, &other, 1),
			 0);
	assert_int_equal(lfs_fs_access(e->m, host, F_OK, 500, 500, NULL, 0),
			 0);
	assert_int_equal(lfs_fs_access(e->m, lookup_path(e, "etc"), X_OK, 500,
				       500, NULL, 0),
			 0);
}

/* A plain tar layer is read in place; if it is cut short after indexing,
 * its reads fail with EIO and say why. */
static void test_damaged_layer_eio(void **state)
{
	struct env *e = *state;
	struct lfs_file *f;
	char buf[100];

	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "many/f49"),
				     O_RDONLY, &f),
			 0);
	assert_int_equal(truncate(e->tar_path, 1024), 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 0), -EIO);
	assert_true(fx_log_has(&e->log, "\"many/f49\": data at offset 0 "
					"unreadable: the layer's file changed "
					"since it was indexed"));
	/* Logged once per open file, not once per request. */
	fx_log_clear(&e->log);
	fx_log_init(&e->log);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 0), -EIO);
	assert_int_equal(e->log.msgs->len, 0);
	lfs_fs_release(e->m, f);
}

/* A disk error under a layer (EIO from reads of the blob's bytes, as
 * from a bad block) is EIO for the read that needs those bytes, logged
 * once, naming the layer, the file and the blob; the layer's other files
 * read meanwhile, and the same open file reads right once the disk
 * answers again: nothing of the failure is kept. */
static void test_disk_error_eio(void **state)
{
	struct env *e = *state;
	struct lfs_layer *l = e->m->layers[0];
	const struct lfs_index_entry *big =
		lfs_index_get(l->index, lfs_index_lookup_path(l->index, "big"));
	struct fx_fault fault = { .off = big->u.data + 5000, .len = 1 };
	g_autofree char *want = g_strdup_printf(
		"\"big\": data at offset 4096 unreadable: reading %s: "
		"Input/output error", e->tar_path);
	g_autofree char *host = NULL;
	struct lfs_blob *disk = fx_fault_blob(l->stored, &fault);
	struct lfs_file *f;
	char buf[4096];

	l->stored = disk;
	fx_log_clear(&e->log);
	fx_log_init(&e->log);
	g_atomic_int_set(&fault.on, 1);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "big"), O_RDONLY,
				     &f),
			 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 0), 4096);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 4096), -EIO);
	assert_true(fx_log_has(&e->log, want));
	host = read_all(e, "etc/hostname", 0, 100);
	assert_string_equal(host, "box\n");
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 4096), -EIO);
	g_atomic_int_set(&fault.on, 0);
	assert_int_equal(lfs_fs_read(e->m, f, buf, sizeof(buf), 4096), 4096);
	assert_int_equal(buf[0], 'B');
	assert_int_equal(buf[4095], 'B');
	lfs_fs_release(e->m, f);
	assert_int_equal(e->log.msgs->len, 1);
}

/* A directory layer's file replaced by a FIFO after indexing is refused
 * with EIO, and the log says it is no longer a regular file (not a disk
 * error). */
static void test_dir_layer_file_replaced(void **state)
{
	struct env *e = *state;
	struct lfs_file *f;
	g_autofree char *p = g_build_filename(e->dir, "dirlayer", "etc",
					      "fromdir", NULL);

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_int_equal(lfs_fs_open(e->m, lookup_path(e, "etc/fromdir"),
				     O_RDONLY, &f),
			 -EIO);
	assert_true(fx_log_has(&e->log, "\"etc/fromdir\": data at offset 0 "
					"unreadable: it is no longer a "
					"regular file in the layer "
					"directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_getattr, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_paths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_map_paths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_offsets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readdirplus_attrs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_left_open, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_xattr, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_statfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_layer_eio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_error_eio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dir_layer_file_replaced,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("fsops", tests, NULL, NULL);
}
