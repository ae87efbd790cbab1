/* The merged namespace (tree.h): overlayfs/OCI merge rules across real
 * layers built from in-memory tars, hardlink groups and st_nlink, inode
 * numbers, and the directory cache: its bound, eviction, directories
 * rebuilt from their numbers alone, listings held across eviction, and
 * threads racing on a cache too small to hold anything. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fixtures.h"
#include "layerfs/read.h"
#include "layerfs/tree.h"

#define MAX_LAYERS 4

/* A stack of layers written to a temp dir, and the tree over them. */
struct stack {
	char *dir;
	struct fx_log log;
	struct lfs_cache *cache;
	struct lfs_image *img;
	struct lfs_layer *layers[MAX_LAYERS];
	uint32_t n;
	struct lfs_tree *tree;
	uint64_t cache_bytes; /* for the tree; 0: the default */
	uint32_t link_steps;  /* for the tree; 0: the default */
	struct lfs_obj objs[8]; /* what must() returned lately */
	unsigned int nobjs;
};

static void stack_add(struct stack *s, GBytes *tar)
{
	g_autofree char *name = g_strdup_printf("layer%u.tar", s->n);
	g_autofree char *path = fx_write(s->dir, name, tar);
	struct lfs_layer_spec *spec = lfs_layer_spec_new(LFS_LAYER_TAR, path,
							 name);
	struct lfs_layer_options lo = { s->cache, &s->log.lg };
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(s->img->layers, spec);
	assert_true(lfs_layer_open(spec, &lo, &s->layers[s->n], &error));
	s->n++;
	g_bytes_unref(tar);
}

static void stack_init(struct stack *s)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = NULL;

	memset(s, 0, sizeof(*s));
	s->dir = fx_tmpdir();
	cache = g_build_filename(s->dir, "cache", NULL);
	fx_log_init(&s->log);
	assert_true(lfs_cache_open(cache, &s->cache, &error));
	s->img = lfs_image_new("test", "layers");
}

static void stack_build(struct stack *s)
{
	struct lfs_tree_options o = { s->cache_bytes, s->link_steps };

	s->tree = lfs_tree_new(s->layers, s->n, &s->log.lg, &o);
}

static void stack_free(struct stack *s)
{
	lfs_tree_free(s->tree);
	for (uint32_t i = 0; i < s->n; i++)
		lfs_layer_free(s->layers[i]);
	lfs_image_free(s->img);
	lfs_cache_free(s->cache);
	fx_log_clear(&s->log);
	fx_rmtree(s->dir);
	g_free(s->dir);
}

/* Resolve @path from the root, one lookup per component, as the kernel
 * does. */
static int walk(struct stack *s, const char *path, struct lfs_obj *out)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	int err = lfs_tree_obj(s->tree, LFS_ROOT_INO, out);

	for (char **p = parts; *p && err == 0; p++)
		err = lfs_tree_lookup(s->tree, out->ino, *p, out);
	return err;
}

/* The object at @path, which must exist; valid for a few more calls. */
static const struct lfs_obj *must(struct stack *s, const char *path)
{
	struct lfs_obj *o = &s->objs[s->nobjs++ % G_N_ELEMENTS(s->objs)];

	assert_int_equal(walk(s, *path ? path : "", o), 0);
	return o;
}

static void assert_absent(struct stack *s, const char *path)
{
	struct lfs_obj o;

	assert_int_equal(walk(s, path, &o), -ENOENT);
}

static char *contents(struct stack *s, const char *path)
{
	struct lfs_ref r = must(s, path)->meta;
	char buf[256] = { 0 };
	struct lfs_stream *stream = lfs_stream_new(s->layers[r.layer], NULL);
	ssize_t got = lfs_read_entry(stream, r.entry, -1, buf,
				     sizeof(buf) - 1, 0);

	lfs_stream_free(stream);
	assert_true(got >= 0);
	return g_strndup(buf, (gsize)got);
}

static void assert_contents(struct stack *s, const char *path,
			    const char *want)
{
	g_autofree char *got = contents(s, path);

	assert_string_equal(got, want);
}

static struct stat stat_of(struct stack *s, const char *path)
{
	struct stat st;

	lfs_tree_stat(s->tree, must(s, path), &st);
	return st;
}

/* The listing of @path as "name,name,..." */
static char *listing(struct stack *s, const char *path)
{
	struct lfs_dirlist *list;
	GString *out = g_string_new(NULL);

	assert_int_equal(lfs_tree_dirlist(s->tree, must(s, path)->ino, &list),
			 0);
	for (uint32_t i = 0; i < list->n; i++)
		g_string_append_printf(out, "%s%.*s", i ? "," : "",
				       (int)list->ents[i].name_len,
				       list->ents[i].name);
	lfs_dirlist_unref(list);
	return g_string_free(out, FALSE);
}

static void assert_listing(struct stack *s, const char *path,
			   const char *want)
{
	g_autofree char *got = listing(s, path);

	assert_string_equal(got, want);
}

static GBytes *tar_of(const struct fx_entry *entries, size_t n)
{
	/* pax interchange: sub-second mtimes are written too. */
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);

	for (size_t i = 0; i < n; i++)
		fx_tar_add(t, &entries[i]);
	return fx_tar_finish(t);
}

#define TAR(...)                                                   \
	tar_of((const struct fx_entry[]){ __VA_ARGS__ },           \
	       sizeof((const struct fx_entry[]){ __VA_ARGS__ }) / \
		       sizeof(struct fx_entry))
#define DIR(p) { .path = (p), .type = AE_IFDIR }
#define FILE_(p, d) { .path = (p), .data = (d) }

static void test_upper_file_replaces_lower(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("etc"), FILE_("etc/a", "lower"),
			  FILE_("etc/b", "kept")));
	stack_add(&s, TAR(DIR("etc"), FILE_("etc/a", "upper")));
	stack_build(&s);
	assert_contents(&s, "etc/a", "upper");
	assert_contents(&s, "etc/b", "kept");
	assert_listing(&s, "etc", "a,b");
	stack_free(&s);
}

static void test_whiteouts(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("d"), FILE_("d/f", "x"), DIR("d/sub"),
			  FILE_("d/sub/deep", "y"), FILE_("top", "t")));
	stack_add(&s, TAR(DIR("d"), FILE_("d/.wh.f", ""),
			  FILE_("d/.wh.sub", ""), FILE_(".wh.top", "")));
	stack_build(&s);
	assert_absent(&s, "d/f");
	assert_absent(&s, "d/sub");
	assert_absent(&s, "top");
	assert_listing(&s, "d", "");
	assert_listing(&s, "", "d");
	assert_int_equal(stat_of(&s, "d").st_nlink, 2);
	stack_free(&s);
}

/* A name deleted in layer 2 and created again in layer 3 is the new one
 * only: nothing of layer 1's directory comes back. */
static void test_deleted_then_recreated(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("d"), FILE_("d/old", "1")));
	stack_add(&s, TAR(FILE_(".wh.d", "")));
	stack_add(&s, TAR(DIR("d"), FILE_("d/new", "3")));
	stack_build(&s);
	assert_listing(&s, "d", "new");
	assert_absent(&s, "d/old");
	stack_free(&s);
}

static void test_opaque_directory(void **state)
{
	struct fx_entry lower_d = { .path = "d", .type = AE_IFDIR,
				    .mode = 0710, .uid = 7 };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(lower_d, FILE_("d/a", "1"), DIR("d/sub"),
			  FILE_("d/sub/x", "2")));
	/* d is only implicit in the upper layer: opaque hides its children
	 * but d keeps the lower layer's attributes, as umoci leaves it. */
	stack_add(&s, TAR(FILE_("d/.wh..wh..opq", ""), FILE_("d/b", "new")));
	stack_build(&s);
	assert_listing(&s, "d", "b");
	assert_absent(&s, "d/a");
	assert_absent(&s, "d/sub");
	assert_int_equal(stat_of(&s, "d").st_mode, S_IFDIR | 0710);
	assert_int_equal(stat_of(&s, "d").st_uid, 7);
	stack_free(&s);
}

static void test_opaque_root(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("a", "1"), DIR("dir")));
	stack_add(&s, TAR(FILE_(".wh..wh..opq", ""), FILE_("b", "2")));
	stack_build(&s);
	assert_listing(&s, "", "b");
	assert_absent(&s, "a");
	stack_free(&s);
}

/* ".wh.d" beside "d/" in one layer: the lower d goes entirely. */
static void test_whiteout_beside_directory(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("d"), FILE_("d/lower", "1")));
	stack_add(&s, TAR(FILE_(".wh.d", ""), DIR("d"), FILE_("d/upper", "2")));
	stack_build(&s);
	assert_listing(&s, "d", "upper");
	stack_free(&s);
}

static void test_type_changes(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("was_dir"), FILE_("was_dir/child", "1"),
			  FILE_("was_file", "2")));
	stack_add(&s, TAR(FILE_("was_dir", "now a file"), DIR("was_file"),
			  FILE_("was_file/inside", "3")));
	stack_build(&s);

	assert_true(S_ISREG(stat_of(&s, "was_dir").st_mode));
	assert_contents(&s, "was_dir", "now a file");
	assert_int_equal(walk(&s, "was_dir/child", &(struct lfs_obj){ 0 }),
			 -ENOTDIR);
	assert_true(S_ISDIR(stat_of(&s, "was_file").st_mode));
	assert_listing(&s, "was_file", "inside");
	stack_free(&s);
}

/* A directory over a lower file, under a directory over a lower file:
 * the lower file must not join the chain. */
static void test_dir_over_file_chain(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("x"), FILE_("x/in1", "1")));
	stack_add(&s, TAR(FILE_("x", "file")));
	stack_add(&s, TAR(DIR("x"), FILE_("x/in3", "3")));
	stack_build(&s);
	assert_listing(&s, "x", "in3");
	stack_free(&s);
}

static void test_directory_attributes(void **state)
{
	struct fx_entry low = { .path = "d", .type = AE_IFDIR, .mode = 0700,
				.uid = 5, .gid = 6, .mtime = 1000 };
	struct fx_entry up = { .path = "e", .type = AE_IFDIR, .mode = 0750,
			       .mtime = 2000, .mtime_nsec = 500 };
	struct stat st;
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(low, FILE_("d/a", "1"), DIR("e")));
	stack_add(&s, TAR(FILE_("d/b", "2"), up, FILE_("syn/thesised", "3")));
	stack_build(&s);
	/* Implicit in the upper layer: the lower entry's attributes. */
	st = stat_of(&s, "d");
	assert_int_equal(st.st_mode, S_IFDIR | 0700);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(st.st_mtim.tv_sec, 1000);
	/* Listed in the upper layer: its attributes win. */
	st = stat_of(&s, "e");
	assert_int_equal(st.st_mode, S_IFDIR | 0750);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 500);
	/* Never listed anywhere: synthesised. */
	st = stat_of(&s, "syn");
	assert_int_equal(st.st_mode, S_IFDIR | 0755);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mtim.tv_sec, 0);
	assert_listing(&s, "d", "a,b");
	stack_free(&s);
}

static void test_listing_and_nlink(void **state)
{
	struct stack s;
	struct lfs_dirlist *list;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("m"), DIR("m/d1"), FILE_("m/f1", "1"),
			  DIR("m/d2"), FILE_("m/zz", "z")));
	stack_add(&s, TAR(DIR("m"), DIR("m/d3"), FILE_("m/f0", "0"),
			  FILE_("m/.wh.d2", ""), FILE_("m/d1", "file now")));
	stack_build(&s);
	assert_listing(&s, "m", "d1,d3,f0,f1,zz");
	/* d1 became a file, d2 is gone: one subdirectory left (d3). */
	assert_int_equal(stat_of(&s, "m").st_nlink, 3);
	assert_int_equal(lfs_tree_dirlist(s.tree, must(&s, "m")->ino, &list),
			 0);
	assert_int_equal(list->ents[0].type, S_IFREG);
	assert_int_equal(list->ents[0].ino, must(&s, "m/d1")->ino);
	assert_int_equal(list->ents[1].type, S_IFDIR);
	assert_int_equal(list->ents[1].ino, must(&s, "m/d3")->ino);
	lfs_dirlist_unref(list);
	/* Single-layer directories are counted from the index. */
	assert_int_equal(stat_of(&s, "m/d3").st_nlink, 2);
	stack_free(&s);
}

static void test_hardlink_group(void **state)
{
	struct fx_entry t = { .path = "t", .data = "shared", .mode = 0640,
			      .uid = 3 };
	struct fx_entry h1 = { .path = "h1", .hardlink = "t" };
	struct fx_entry h2 = { .path = "d/h2", .hardlink = "t" };
	struct stat st;
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(t, h1, DIR("d"), h2));
	stack_build(&s);
	st = stat_of(&s, "h1");
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_uid, 3);
	assert_int_equal(st.st_ino, stat_of(&s, "t").st_ino);
	assert_int_equal(st.st_ino, stat_of(&s, "d/h2").st_ino);
	assert_memory_equal(&must(&s, "h1")->meta, &must(&s, "t")->meta,
			    sizeof(struct lfs_ref));
	assert_contents(&s, "d/h2", "shared");
	stack_free(&s);
}

/* Upper layers delete or replace some names of a group: st_nlink counts
 * only the names still showing that file. */
static void test_hardlink_count_after_changes(void **state)
{
	struct fx_entry h1 = { .path = "h1", .hardlink = "t" };
	struct fx_entry h2 = { .path = "h2", .hardlink = "t" };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("t", "shared"), h1, h2));
	stack_add(&s, TAR(FILE_(".wh.h1", ""), FILE_("h2", "replaced")));
	stack_build(&s);
	assert_int_equal(stat_of(&s, "t").st_nlink, 1);
	assert_int_equal(stat_of(&s, "h2").st_nlink, 1);
	assert_int_not_equal(stat_of(&s, "h2").st_ino,
			     stat_of(&s, "t").st_ino);
	assert_contents(&s, "h2", "replaced");
	stack_free(&s);
}

static void test_hardlink_into_lower_layer(void **state)
{
	struct fx_entry link = { .path = "bin/alias", .hardlink = "bin/tool" };
	struct fx_entry dead = { .path = "dead", .hardlink = "nowhere" };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("bin"), FILE_("bin/tool", "#!tool")));
	stack_add(&s, TAR(DIR("bin"), link, dead));
	stack_build(&s);
	assert_int_equal(stat_of(&s, "bin/alias").st_ino,
			 stat_of(&s, "bin/tool").st_ino);
	assert_int_equal(stat_of(&s, "bin/alias").st_nlink, 2);
	assert_contents(&s, "bin/alias", "#!tool");
	assert_absent(&s, "dead");
	assert_listing(&s, "", "bin");
	assert_true(fx_log_has(&s.log, "hardlink \"dead\" to \"nowhere\" left "
				       "out"));
	stack_free(&s);
}

static void test_symlinks_devices_xattrs(void **state)
{
	struct fx_entry lnk = { .path = "l", .type = AE_IFLNK,
				.link = "../../abs" };
	/* Python's tarfile and some image builders write a symlink's mode
	 * as 0644; on Linux (and after umoci unpack) every one is 0777. */
	struct fx_entry lnk644 = { .path = "l644", .type = AE_IFLNK,
				   .link = "x", .mode = 0644 };
	struct fx_entry dev = { .path = "dev", .type = AE_IFCHR, .rmajor = 1,
				.rminor = 3, .mode = 0666 };
	struct fx_entry fifo = { .path = "fifo", .type = AE_IFIFO };
	struct fx_entry x = { .path = "x", .data = "x",
			      .xattr = "user.key", .xattr_value = "val" };
	char buf[16];
	struct stat st;
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(lnk, lnk644, dev, fifo, x));
	stack_build(&s);
	assert_string_equal(lfs_tree_readlink(s.tree, must(&s, "l")),
			    "../../abs");
	assert_int_equal(stat_of(&s, "l").st_size, 9);
	assert_int_equal(stat_of(&s, "l").st_mode, S_IFLNK | 0777);
	assert_int_equal(stat_of(&s, "l644").st_mode, S_IFLNK | 0777);
	assert_null(lfs_tree_readlink(s.tree, must(&s, "x")));
	st = stat_of(&s, "dev");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_true(S_ISFIFO(stat_of(&s, "fifo").st_mode));
	assert_int_equal(lfs_tree_getxattr(s.tree, must(&s, "x"), "user.key",
					   NULL, 0),
			 3);
	assert_int_equal(lfs_tree_getxattr(s.tree, must(&s, "x"), "user.key",
					   buf, 2),
			 -ERANGE);
	assert_int_equal(lfs_tree_getxattr(s.tree, must(&s, "x"), "user.key",
					   buf, sizeof(buf)),
			 3);
	assert_memory_equal(buf, "val", 3);
	assert_int_equal(lfs_tree_getxattr(s.tree, must(&s, "x"), "user.no",
					   buf, sizeof(buf)),
			 -ENODATA);
	assert_int_equal(lfs_tree_listxattr(s.tree, must(&s, "x"), NULL, 0),
			 9);
	assert_int_equal(lfs_tree_listxattr(s.tree, must(&s, "x"), buf,
					    sizeof(buf)),
			 9);
	assert_string_equal(buf, "user.key");
	assert_int_equal(lfs_tree_listxattr(s.tree, must(&s, "l"), NULL, 0),
			 0);
	stack_free(&s);
}

static void test_lookup_errors(void **state)
{
	char longname[300];
	struct lfs_obj n;
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("f", "1")));
	stack_build(&s);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(lfs_tree_lookup(s.tree, LFS_ROOT_INO, longname, &n),
			 -ENAMETOOLONG);
	assert_int_equal(lfs_tree_lookup(s.tree, must(&s, "f")->ino, "x", &n),
			 -ENOTDIR);
	assert_int_equal(lfs_tree_lookup(s.tree, 12345, "x", &n), -ESTALE);
	assert_int_equal(lfs_tree_dirlist(s.tree, must(&s, "f")->ino,
					  &(struct lfs_dirlist *){ NULL }),
			 -ENOTDIR);
	assert_int_equal(lfs_tree_lookup(s.tree, LFS_ROOT_INO, "missing", &n),
			 -ENOENT);
	stack_free(&s);
}

static void test_inode_numbers_stable(void **state)
{
	uint64_t first[3];
	static const char *const paths[] = { "d", "d/f", "d/g" };

	(void)state;
	for (int round = 0; round < 2; round++) {
		struct stack s;

		stack_init(&s);
		stack_add(&s, TAR(DIR("d"), FILE_("d/f", "1")));
		stack_add(&s, TAR(DIR("d"), FILE_("d/g", "2")));
		stack_build(&s);
		for (int i = 0; i < 3; i++) {
			uint64_t ino = stat_of(&s, paths[i]).st_ino;

			if (round == 0)
				first[i] = ino;
			else
				assert_int_equal(ino, first[i]);
			assert_int_not_equal(ino, LFS_ROOT_INO);
		}
		assert_int_equal(stat_of(&s, "d").st_ino,
				 (uint64_t)2 << 32 | 1);
		stack_free(&s);
	}
}

/* Markers in a directory a layer never lists apply to a lower directory of
 * that name and create nothing (umoci unpack: the reviewer's cases). */
static void test_marker_only_directories(void **state)
{
	struct fx_entry low = { .path = "d", .type = AE_IFDIR, .mode = 0711 };
	struct stack s;
	struct lfs_dirlist *list;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("a", "a file"), low, FILE_("d/x", "x"),
			  FILE_("d/y", "y")));
	stack_add(&s, TAR(FILE_("a/.wh.b", ""), FILE_("z/.wh.q", ""),
			  FILE_("q/.wh..wh..opq", ""), FILE_("d/.wh.x", "")));
	stack_build(&s);
	/* A lower file stays a file. */
	assert_true(S_ISREG(stat_of(&s, "a").st_mode));
	assert_contents(&s, "a", "a file");
	/* Nothing below: nothing made. */
	assert_absent(&s, "z");
	assert_absent(&s, "q");
	assert_listing(&s, "", "a,d");
	/* A lower directory gets the markers and keeps its attributes. */
	assert_listing(&s, "d", "y");
	assert_int_equal(stat_of(&s, "d").st_mode, S_IFDIR | 0711);
	/* Its number is the same in the listing and in stat. */
	assert_int_equal(lfs_tree_dirlist(s.tree, LFS_ROOT_INO, &list), 0);
	assert_int_equal(list->ents[1].ino, stat_of(&s, "d").st_ino);
	lfs_dirlist_unref(list);
	assert_int_equal(stat_of(&s, "").st_nlink, 3);
	stack_free(&s);
}

#define LINK(p, to) { .path = (p), .type = AE_IFLNK, .link = (to) }

/* A layer holding members below a lower layer's symlink, without entries
 * for their directories: they land where the symlink leads, and the
 * symlink stays, as umoci unpack leaves them (decision 0018). */
static void test_members_below_lower_symlinks(void **state)
{
	struct fx_entry deep_dir = { .path = "u2/lib/sub", .type = AE_IFDIR,
				     .mode = 0700 };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("usr"), DIR("usr/lib"), FILE_("usr/lib/a", "a"),
			  FILE_("usr/lib/b", "b"), LINK("lib", "usr/lib"),
			  LINK("x", "/abs/y"), LINK("up", "../../../usr"),
			  LINK("u2", "usr")));
	stack_add(&s, TAR(FILE_("lib/foo", "foo"), FILE_("lib/.wh.a", ""),
			  FILE_("x/f", "xf"), FILE_("up/lib/upf", "upf"),
			  deep_dir, FILE_("u2/lib/sub/deep", "deep")));
	stack_build(&s);
	assert_true(S_ISLNK(stat_of(&s, "lib").st_mode));
	assert_true(S_ISLNK(stat_of(&s, "x").st_mode));
	assert_true(S_ISLNK(stat_of(&s, "up").st_mode));
	assert_true(S_ISLNK(stat_of(&s, "u2").st_mode));
	assert_listing(&s, "", "abs,lib,u2,up,usr,x");
	assert_listing(&s, "usr/lib", "b,foo,sub,upf");
	assert_contents(&s, "usr/lib/foo", "foo");
	assert_contents(&s, "usr/lib/upf", "upf");
	assert_contents(&s, "usr/lib/sub/deep", "deep");
	assert_int_equal(stat_of(&s, "usr/lib/sub").st_mode, S_IFDIR | 0700);
	assert_contents(&s, "abs/y/f", "xf");
	/* A directory made only to hold what came through the symlink is
	 * synthesised, as any directory no layer lists. */
	assert_int_equal(stat_of(&s, "abs/y").st_mode, S_IFDIR | 0755);
	assert_int_equal(stat_of(&s, "usr/lib").st_nlink, 3);
	assert_false(fx_log_has(&s.log, "left out"));
	stack_free(&s);
}

/* An opaque marker, and a hardlink, through a lower symlink; an entry for
 * the directory itself replaces the symlink instead; below a lower regular
 * file, the layer's directory stands, as it always has. */
static void test_lower_symlinks_markers_and_links(void **state)
{
	struct fx_entry h = { .path = "h", .hardlink = "lib/b" };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("usr"), DIR("usr/lib"), FILE_("usr/lib/a", "a"),
			  FILE_("usr/lib/b", "b"), LINK("lib", "usr/lib"),
			  LINK("own", "usr"), FILE_("file", "f")));
	stack_add(&s, TAR(FILE_("lib/.wh..wh..opq", ""), FILE_("lib/n", "n"),
			  h, DIR("own"), FILE_("own/o", "o"),
			  FILE_("file/inner", "i")));
	stack_build(&s);
	assert_listing(&s, "usr/lib", "n");
	assert_true(S_ISLNK(stat_of(&s, "lib").st_mode));
	assert_true(S_ISDIR(stat_of(&s, "own").st_mode));
	assert_listing(&s, "own", "o");
	assert_true(S_ISDIR(stat_of(&s, "file").st_mode));
	assert_contents(&s, "file/inner", "i");
	/* h links the lower usr/lib/b, which the opaque marker then hid. */
	assert_contents(&s, "h", "b");
	assert_int_equal(stat_of(&s, "h").st_nlink, 1);
	stack_free(&s);
}

/* Symlinks that loop cannot be followed: what is below is left out with
 * a warning naming the layer and the path; the rest of the layer stays.
 * Chains through layers are followed, each layer moved on the layers
 * below as they are after their own moves. */
static void test_lower_symlink_loops_and_chains(void **state)
{
	struct lfs_obj o;
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(LINK("l1", "l2"), LINK("l2", "/l1"), DIR("real"),
			  LINK("hop", "real")));
	stack_add(&s, TAR(FILE_("l1/f", "lost"), FILE_("kept", "k"),
			  LINK("hop2", "hop/in"), FILE_("hop/in/x", "x")));
	stack_add(&s, TAR(FILE_("hop2/y", "y")));
	stack_build(&s);
	assert_true(fx_log_has(&s.log, "layer1.tar: entries under \"l1\" left "
				       "out: too many levels of symbolic "
				       "links"));
	assert_true(S_ISLNK(stat_of(&s, "l1").st_mode));
	assert_int_equal(walk(&s, "l1/f", &o), -ENOTDIR);
	assert_contents(&s, "kept", "k");
	assert_listing(&s, "real/in", "x,y");
	assert_contents(&s, "real/in/y", "y");
	stack_free(&s);
}

/* Resolving a layer's directories through the symlinks below is
 * budgeted per layer: past the budget, what is below is left out with a
 * warning instead of keeping the mount busy. */
static void test_lower_symlink_step_budget(void **state)
{
	struct stack s;

	(void)state;
	stack_init(&s);
	s.link_steps = 6;
	stack_add(&s, TAR(LINK("l", "a/b/c")));
	/* l: 1 + 3 steps, to a/b/c; a/b/c/d: 4 more, past the budget. */
	stack_add(&s, TAR(FILE_("l/one", "1"), FILE_("l/d/two", "2")));
	stack_build(&s);
	assert_contents(&s, "a/b/c/one", "1");
	assert_true(fx_log_has(&s.log, "layer1.tar: entries under \"l/d\" "
				       "left out: the layer's symbolic links "
				       "take too long to resolve"));
	assert_listing(&s, "a/b/c", "one");
	stack_free(&s);
}

/* A link to a link whose target is in a lower layer: all three names are
 * one file. */
static void test_link_chain_across_layers(void **state)
{
	struct fx_entry b = { .path = "b", .hardlink = "x" };
	struct fx_entry c = { .path = "c", .hardlink = "b" };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("x", "data")));
	stack_add(&s, TAR(b, c));
	stack_build(&s);
	assert_int_equal(stat_of(&s, "c").st_ino, stat_of(&s, "x").st_ino);
	assert_int_equal(stat_of(&s, "b").st_ino, stat_of(&s, "x").st_ino);
	assert_int_equal(stat_of(&s, "x").st_nlink, 3);
	assert_contents(&s, "c", "data");
	stack_free(&s);
}

/* A link that cannot be made, beside a whiteout of its name: the lower
 * file stays deleted. */
static void test_failed_link_keeps_whiteout(void **state)
{
	struct fx_entry loop = { .path = "x", .hardlink = "x" };
	struct fx_entry dead = { .path = "g", .hardlink = "nowhere" };
	struct stack s;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(FILE_("x", "lower x"), FILE_("g", "lower g")));
	stack_add(&s, TAR(FILE_(".wh.x", ""), loop, FILE_(".wh.g", ""), dead));
	stack_build(&s);
	assert_absent(&s, "x");
	assert_absent(&s, "g");
	assert_listing(&s, "", "");
	stack_free(&s);
}

/* ---- the directory cache ------------------------------------------- */

/* Two layers of @ndirs directories with a few files each, some of them
 * merged, some deleted, in an opaque one, so rebuilding a directory has
 * real chains to get right. */
static void stack_many_dirs(struct stack *s, int ndirs)
{
	struct fx_tar *lo = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	struct fx_tar *hi = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	for (int i = 0; i < ndirs; i++) {
		g_autofree char *d = g_strdup_printf("top/d%03d", i);
		g_autofree char *sub = g_strdup_printf("%s/sub", d);

		fx_tar_dir(lo, d);
		fx_tar_dir(lo, sub);
		for (int j = 0; j < 4; j++) {
			g_autofree char *f = g_strdup_printf("%s/f%d", d, j);
			g_autofree char *g = g_strdup_printf("%s/g%d", sub, j);

			fx_tar_file(lo, f, "lower");
			fx_tar_file(lo, g, "lower");
		}
		if (i % 3 == 0) {
			g_autofree char *wh = g_strdup_printf("%s/.wh.f1", d);
			g_autofree char *up = g_strdup_printf("%s/u", d);

			fx_tar_file(hi, wh, "");
			fx_tar_file(hi, up, "upper");
		} else if (i % 3 == 1) {
			g_autofree char *opq =
			    g_strdup_printf("%s/.wh..wh..opq", sub);

			fx_tar_file(hi, opq, "");
		}
	}
	stack_add(s, fx_tar_finish(lo));
	stack_add(s, fx_tar_finish(hi));
	stack_build(s);
}

/* One line about directory @ino: number, link count, parent, listing. */
static void describe_dir(struct stack *s, uint64_t ino, GString *out)
{
	struct lfs_dirlist *list;
	struct lfs_obj o;
	struct stat st;
	uint64_t parent;

	assert_int_equal(lfs_tree_obj(s->tree, ino, &o), 0);
	lfs_tree_stat(s->tree, &o, &st);
	assert_int_equal(lfs_tree_parent(s->tree, ino, &parent), 0);
	assert_int_equal(lfs_tree_dirlist(s->tree, ino, &list), 0);
	g_string_append_printf(out, "%llx %u %llx [",
			       (unsigned long long)st.st_ino,
			       (unsigned)st.st_nlink,
			       (unsigned long long)parent);
	for (uint32_t i = 0; i < list->n; i++)
		g_string_append_printf(out, "%.*s %llx,",
				       (int)list->ents[i].name_len,
				       list->ents[i].name,
				       (unsigned long long)list->ents[i].ino);
	g_string_append(out, "]\n");
	lfs_dirlist_unref(list);
}

/* Everything the tree says about the directories of stack_many_dirs(),
 * found by path; their numbers go to @inos. */
static char *describe(struct stack *s, int ndirs, GArray *inos)
{
	GString *out = g_string_new(NULL);

	for (int i = 0; i < ndirs; i++) {
		g_autofree char *d = g_strdup_printf("top/d%03d", i);
		g_autofree char *sub = g_strdup_printf("%s/sub", d);
		const char *const paths[] = { d, sub };

		for (size_t k = 0; k < G_N_ELEMENTS(paths); k++) {
			uint64_t ino = must(s, paths[k])->ino;

			describe_dir(s, ino, out);
			if (inos)
				g_array_append_val(inos, ino);
		}
	}
	return g_string_free(out, FALSE);
}

/* The same, by number only: directories evicted since are rebuilt from
 * their numbers. */
static char *describe_numbers(struct stack *s, GArray *inos)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < inos->len; i++)
		describe_dir(s, g_array_index(inos, uint64_t, i), out);
	return g_string_free(out, FALSE);
}

/* A number names its object for good: another tree over the same layers
 * (a remount) answers for it without a lookup, the root's parent is the
 * root, and numbers that name nothing (or a whiteout) are stale. */
static void test_numbers_are_names(void **state)
{
	struct stack s;
	struct lfs_tree *other;
	struct lfs_obj o;
	uint64_t d_ino, f_ino, parent;
	struct stat st;

	(void)state;
	stack_init(&s);
	stack_add(&s, TAR(DIR("a"), DIR("a/b"), FILE_("a/b/f", "f"),
			  FILE_("gone", "g")));
	stack_add(&s, TAR(DIR("a"), FILE_(".wh.gone", "")));
	stack_build(&s);
	d_ino = must(&s, "a/b")->ino;
	f_ino = must(&s, "a/b/f")->ino;

	other = lfs_tree_new(s.layers, s.n, &s.log.lg, NULL);
	assert_int_equal(lfs_tree_obj(other, d_ino, &o), 0);
	assert_int_equal(o.type, S_IFDIR);
	assert_int_equal(lfs_tree_parent(other, d_ino, &parent), 0);
	assert_int_equal(parent, must(&s, "a")->ino);
	assert_int_equal(lfs_tree_lookup(other, d_ino, "f", &o), 0);
	assert_int_equal(o.ino, f_ino);
	assert_int_equal(lfs_tree_obj(other, f_ino, &o), 0);
	lfs_tree_stat(other, &o, &st);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 1);
	lfs_tree_free(other);

	assert_int_equal(lfs_tree_parent(s.tree, LFS_ROOT_INO, &parent), 0);
	assert_int_equal(parent, LFS_ROOT_INO);
	assert_int_equal(lfs_tree_obj(s.tree, 0, &o), -ESTALE);
	assert_int_equal(lfs_tree_obj(s.tree, (uint64_t)3 << 32, &o), -ESTALE);
	assert_int_equal(lfs_tree_obj(s.tree, (uint64_t)1 << 32 | 999, &o),
			 -ESTALE);
	/* Layer 1's whiteout entry for "gone". */
	assert_int_equal(lfs_tree_obj(s.tree,
				      (uint64_t)2 << 32 |
					  lfs_index_lookup_path(
					      s.layers[1]->index, "gone"),
				      &o),
			 -ESTALE);
	/* Layer 1's "a" is the directory's number, layer 0's is not. */
	assert_int_equal(lfs_tree_obj(s.tree, must(&s, "a")->ino, &o), 0);
	assert_int_equal(lfs_tree_obj(s.tree,
				      (uint64_t)1 << 32 |
					  lfs_index_lookup_path(
					      s.layers[0]->index, "a"),
				      &o),
			 -ESTALE);
	stack_free(&s);
}

/* A cache far too small for the tree: it stays within its bound (give or
 * take the directory in use), evicts, and every answer is the same as
 * with a cache that holds everything, whether a directory is found by
 * path or rebuilt from its number. */
static void test_cache_bound_and_rebuild(void **state)
{
	enum { NDIRS = 120 };
	g_autofree char *want = NULL, *got = NULL, *again = NULL;
	g_autoptr(GArray) inos = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	struct lfs_tree_stats st;
	struct stack big, small;
	uint64_t misses;

	(void)state;
	stack_init(&big);
	stack_many_dirs(&big, NDIRS);
	want = describe(&big, NDIRS, inos);
	lfs_tree_stats(big.tree, &st);
	assert_int_equal(st.evictions, 0);
	assert_true(st.dirs >= 2 * NDIRS);

	stack_init(&small);
	small.cache_bytes = 4096;
	stack_many_dirs(&small, NDIRS);
	got = describe(&small, NDIRS, NULL);
	assert_string_equal(got, want);
	lfs_tree_stats(small.tree, &st);
	assert_true(st.evictions > NDIRS);
	assert_true(st.bytes <= 4096 + 2048);
	assert_true(st.dirs < 20);
	misses = st.misses;

	/* By number: each directory was evicted, so each is rebuilt. */
	again = describe_numbers(&small, inos);
	assert_string_equal(again, want);
	lfs_tree_stats(small.tree, &st);
	assert_true(st.misses >= misses + 2 * NDIRS);
	stack_free(&small);
	stack_free(&big);
}

/* A listing held by an open directory survives its directory's eviction. */
static void test_listing_outlives_eviction(void **state)
{
	struct lfs_dirlist *list;
	struct lfs_tree_stats st;
	struct stack s;

	(void)state;
	stack_init(&s);
	s.cache_bytes = 1024;
	stack_many_dirs(&s, 30);
	assert_int_equal(lfs_tree_dirlist(s.tree, must(&s, "top/d003")->ino,
					  &list),
			 0);
	g_free(describe(&s, 30, NULL));
	lfs_tree_stats(s.tree, &st);
	assert_true(st.evictions > 0);
	assert_int_equal(list->n, 5);
	assert_memory_equal(list->ents[4].name, "u", 1);
	lfs_dirlist_unref(list);
	stack_free(&s);
}

struct racer {
	struct stack *s;
	const char *want;
	int ndirs;
	bool ok;
};

static gpointer race(gpointer data)
{
	struct racer *r = data;
	GString *out = g_string_new(NULL);

	/* describe() with asserts would not be thread safe; this is its
	 * assert-free core. */
	for (int i = 0; i < r->ndirs; i++) {
		g_autofree char *p = g_strdup_printf("top/d%03d/sub", i);
		struct lfs_obj o;
		struct lfs_dirlist *list;
		uint64_t parent = 0;
		g_auto(GStrv) parts = g_strsplit(p, "/", -1);
		int err = lfs_tree_obj(r->s->tree, LFS_ROOT_INO, &o);

		for (char **c = parts; *c && err == 0; c++)
			err = lfs_tree_lookup(r->s->tree, o.ino, *c, &o);
		if (err == 0)
			err = lfs_tree_parent(r->s->tree, o.ino, &parent);
		if (err == 0)
			err = lfs_tree_dirlist(r->s->tree, o.ino, &list);
		if (err < 0)
			break;
		g_string_append_printf(out, "%llx %llx %u\n",
				       (unsigned long long)o.ino,
				       (unsigned long long)parent, list->n);
		lfs_dirlist_unref(list);
	}
	r->ok = strcmp(out->str, r->want) == 0;
	g_string_free(out, TRUE);
	return NULL;
}

/* Eight threads walking, listing and asking for parents through a cache
 * that can hold almost nothing: every answer right, nothing freed under
 * anybody (the sanitizer build checks that). */
static void test_racing_on_a_tiny_cache(void **state)
{
	enum { NDIRS = 40, NTHREADS = 8 };
	struct racer r[NTHREADS];
	GThread *t[NTHREADS];
	GString *want = g_string_new(NULL);
	struct stack s;

	(void)state;
	stack_init(&s);
	s.cache_bytes = 512;
	stack_many_dirs(&s, NDIRS);
	for (int i = 0; i < NDIRS; i++) {
		g_autofree char *p = g_strdup_printf("top/d%03d/sub", i);
		g_autofree char *parent = g_strdup_printf("top/d%03d", i);
		uint64_t ino = must(&s, p)->ino;
		struct lfs_dirlist *list;

		assert_int_equal(lfs_tree_dirlist(s.tree, ino, &list), 0);
		g_string_append_printf(
		    want, "%llx %llx %u\n", (unsigned long long)ino,
		    (unsigned long long)must(&s, parent)->ino, list->n);
		lfs_dirlist_unref(list);
	}
	for (int i = 0; i < NTHREADS; i++) {
		r[i] = (struct racer){ &s, want->str, NDIRS, false };
		t[i] = g_thread_new("racer", race, &r[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		g_thread_join(t[i]);
		assert_true(r[i].ok);
	}
	g_string_free(want, TRUE);
	stack_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upper_file_replaces_lower),
		cmocka_unit_test(test_whiteouts),
		cmocka_unit_test(test_deleted_then_recreated),
		cmocka_unit_test(test_opaque_directory),
		cmocka_unit_test(test_opaque_root),
		cmocka_unit_test(test_whiteout_beside_directory),
		cmocka_unit_test(test_type_changes),
		cmocka_unit_test(test_dir_over_file_chain),
		cmocka_unit_test(test_directory_attributes),
		cmocka_unit_test(test_listing_and_nlink),
		cmocka_unit_test(test_hardlink_group),
		cmocka_unit_test(test_hardlink_count_after_changes),
		cmocka_unit_test(test_hardlink_into_lower_layer),
		cmocka_unit_test(test_symlinks_devices_xattrs),
		cmocka_unit_test(test_lookup_errors),
		cmocka_unit_test(test_numbers_are_names),
		cmocka_unit_test(test_cache_bound_and_rebuild),
		cmocka_unit_test(test_listing_outlives_eviction),
		cmocka_unit_test(test_racing_on_a_tiny_cache),
		cmocka_unit_test(test_inode_numbers_stable),
		cmocka_unit_test(test_marker_only_directories),
		cmocka_unit_test(test_members_below_lower_symlinks),
		cmocka_unit_test(test_lower_symlinks_markers_and_links),
		cmocka_unit_test(test_lower_symlink_loops_and_chains),
		cmocka_unit_test(test_lower_symlink_step_budget),
		cmocka_unit_test(test_link_chain_across_layers),
		cmocka_unit_test(test_failed_link_keeps_whiteout),
	};

	return cmocka_run_group_tests_name("tree", tests, NULL, NULL);
}
