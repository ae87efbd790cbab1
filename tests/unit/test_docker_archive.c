/* Unit tests for image/docker_archive.c: manifest.json parsing, and
 * lfs_docker_archive_open() on outer tarballs built with the fixtures' tar
 * writer: layer specs must be the exact byte range of the layer member,
 * links between members (as `docker save` writes for shared layers) are
 * followed inside the archive only, images are picked by tag or position,
 * compressed layer members (gzip, zstd) are indexed and read in place and
 * checked against their diff_ids, and broken archives fail with a message
 * naming the file and problem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/docker_archive.h"
#include "layerfs/layer.h"
#include "layerfs/read.h"

#include "asserts.h"
#include "fixtures.h"

/* ---- manifest.json ----------------------------------------------------- */

static void test_parse_manifest_valid(void **state)
{
	static const char json[] =
	    "[{\"Config\": \"c1.json\", \"RepoTags\": [\"foo:1\", "
	    "\"foo:latest\"], \"Layers\": [\"a/layer.tar\", "
	    "\"b/layer.tar\"]},"
	    " {\"Config\": \"c2.json\", \"RepoTags\": null, \"Layers\": "
	    "[]}]";
	g_autoptr(GPtrArray) imgs = NULL;
	g_autoptr(GError) error = NULL;
	struct lfs_docker_image *i0, *i1;

	(void)state;
	assert_true(
	    lfs_docker_parse_manifest(json, strlen(json), "m", &imgs, &error));
	assert_int_equal(imgs->len, 2);
	i0 = imgs->pdata[0];
	assert_string_equal(i0->config, "c1.json");
	assert_int_equal(g_strv_length(i0->repo_tags), 2);
	assert_string_equal(i0->repo_tags[0], "foo:1");
	assert_string_equal(i0->repo_tags[1], "foo:latest");
	assert_int_equal(i0->layers->len, 2);
	assert_string_equal(i0->layers->pdata[0], "a/layer.tar");
	assert_string_equal(i0->layers->pdata[1], "b/layer.tar");
	/* An untagged image (RepoTags null) has an empty list. */
	i1 = imgs->pdata[1];
	assert_string_equal(i1->config, "c2.json");
	assert_non_null(i1->repo_tags);
	assert_int_equal(g_strv_length(i1->repo_tags), 0);
	assert_int_equal(i1->layers->len, 0);
}

struct bad_manifest {
	const char *json;
	const char *msg;
};

static const struct bad_manifest bad_manifests[] = {
    {"{}", "m: top level is not a JSON array"},
    {"[", "m: malformed JSON"},
    {"[]", "m: lists no images"},
    {"[1]", "m[0]: not an object"},
    {"[{\"Layers\": []}]", "m[0]: missing \"Config\""},
    {"[{\"Config\": 5, \"Layers\": []}]", "m[0].Config: not a string"},
    {"[{\"Config\": \"c\"}]", "m[0]: missing \"Layers\""},
    {"[{\"Config\": \"c\", \"Layers\": {}}]", "m[0].Layers: not an array"},
    {"[{\"Config\": \"c\", \"Layers\": [\"a\", 1]}]",
     "m[0]: Layers[1]: not a string"},
    {"[{\"Config\": \"c\", \"Layers\": [], \"RepoTags\": \"x:1\"}]",
     "m[0].RepoTags: not an array"},
    {"[{\"Config\": \"c\", \"Layers\": [], \"RepoTags\": [null]}]",
     "m[0]: RepoTags[0]: not a string"},
    {"[{\"Config\": \"c\", \"Layers\": []}, 2]", "m[1]: not an object"},
};

static void test_parse_manifest_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_manifests); i++) {
		g_autoptr(GPtrArray) imgs = NULL;
		g_autoptr(GError) error = NULL;

		print_message("# %s\n", bad_manifests[i].json);
		assert_false(lfs_docker_parse_manifest(
		    bad_manifests[i].json, strlen(bad_manifests[i].json), "m",
		    &imgs, &error));
		assert_null(imgs);
		assert_lfs_error(error, EINVAL, bad_manifests[i].msg);
	}
}

/* ---- archives on disk -------------------------------------------------- */

struct fx {
	char *dir;
	char *file;	 /* the archive */
	GBytes *layer_a; /* layer tars */
	GBytes *layer_b;
	char *diff_a, *diff_b;
	char *config;	   /* its JSON, listing diff_ids of a and b */
	char *config_name; /* "<sha256hex>.json" */
	struct lfs_image *img;
	GError *error;
};

static GBytes *layer_tar(const char *name, const char *content)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	fx_tar_file(t, name, content);
	return fx_tar_finish(t);
}

static char *config_json(const char *const *diff_ids, size_t n)
{
	GString *s = g_string_new("{\"architecture\": \"amd64\", \"os\": "
				  "\"linux\", \"rootfs\": {\"type\": "
				  "\"layers\", \"diff_ids\": [");

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%s\"%s\"", i ? ", " : "",
				       diff_ids[i]);
	g_string_append(s, "]}}");
	return g_string_free(s, FALSE);
}

/* "<sha256 hex of @json>.json", the name docker save gives a config. */
static char *config_name(const char *json)
{
	g_autoptr(GBytes) b = g_bytes_new(json, strlen(json));
	g_autofree char *d = fx_sha256(b);

	return g_strconcat(d + strlen("sha256:"), ".json", NULL);
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	f->file = g_build_filename(f->dir, "image.tar", NULL);
	f->layer_a = layer_tar("a", "alpha");
	f->layer_b = layer_tar("b", "bravo bravo");
	f->diff_a = fx_sha256(f->layer_a);
	f->diff_b = fx_sha256(f->layer_b);
	f->config = config_json((const char *const[]){f->diff_a, f->diff_b}, 2);
	f->config_name = config_name(f->config);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->file);
	g_bytes_unref(f->layer_a);
	g_bytes_unref(f->layer_b);
	g_free(f->diff_a);
	g_free(f->diff_b);
	g_free(f->config);
	g_free(f->config_name);
	lfs_image_free(f->img);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

static void add_bytes(struct fx_tar *t, const char *name, GBytes *b)
{
	gsize len;
	struct fx_entry e = {.path = name};

	e.data = g_bytes_get_data(b, &len);
	e.len = len;
	fx_tar_add(t, &e);
}

static void add_symlink(struct fx_tar *t, const char *name, const char *target)
{
	struct fx_entry e = {.path = name, .type = AE_IFLNK, .link = target};

	fx_tar_add(t, &e);
}

static void add_hardlink(struct fx_tar *t, const char *name, const char *target)
{
	struct fx_entry e = {.path = name, .hardlink = target};

	fx_tar_add(t, &e);
}

/* A manifest.json for one image with @layers (NULL-terminated). */
static char *manifest_one(const char *config, const char *tag,
			  const char *const *layers)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "[{\"Config\": \"%s\", \"RepoTags\": [",
			       config);
	if (tag)
		g_string_append_printf(s, "\"%s\"", tag);
	g_string_append(s, "], \"Layers\": [");
	for (size_t i = 0; layers[i]; i++)
		g_string_append_printf(s, "%s\"%s\"", i ? ", " : "", layers[i]);
	g_string_append(s, "]}]");
	return g_string_free(s, FALSE);
}

/* Start an archive holding manifest.json, the config and a/layer.tar. */
static struct fx_tar *start_archive(struct fx *f, const char *manifest)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	fx_tar_dir(t, "a");
	add_bytes(t, "a/layer.tar", f->layer_a);
	fx_tar_file(t, f->config_name, f->config);
	fx_tar_file(t, "manifest.json", manifest);
	return t;
}

static void finish_archive(struct fx *f, struct fx_tar *t)
{
	g_autoptr(GBytes) tar = fx_tar_finish(t);

	g_free(fx_write(f->dir, "image.tar", tar));
}

/* manifest.json for the usual image "foo:1": a/layer.tar, b/layer.tar. */
static char *standard_manifest(struct fx *f)
{
	return manifest_one(
	    f->config_name, "foo:1",
	    (const char *const[]){"a/layer.tar", "b/layer.tar", NULL});
}

/* The bytes [@off, @off + @len) of @path equal @want. */
static void assert_range_is(const char *path, uint64_t off, uint64_t len,
			    GBytes *want)
{
	int fd = open(path, O_RDONLY);
	g_autofree char *buf = g_malloc(len + 1);
	gsize wlen;
	const void *wdata = g_bytes_get_data(want, &wlen);

	assert_true(fd >= 0);
	assert_int_equal(len, wlen);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
	assert_memory_equal(buf, wdata, wlen);
}

static void check_spec(struct fx *f, const struct lfs_layer_spec *l,
		       GBytes *bytes, const char *diff_id, const char *pos)
{
	g_autofree char *got_diff = lfs_digest_to_string(&l->diff_id);

	assert_int_equal(l->kind, LFS_LAYER_TAR);
	assert_string_equal(l->path, f->file);
	assert_int_equal(l->offset % 512, 0);
	assert_int_equal(l->length, g_bytes_get_size(bytes));
	assert_int_equal(l->size, (int64_t)g_bytes_get_size(bytes));
	assert_range_is(f->file, l->offset, l->length, bytes);
	assert_true(l->has_diff_id);
	assert_string_equal(got_diff, diff_id);
	assert_false(l->has_digest);
	assert_int_equal(l->compression, LFS_COMP_DETECT);
	assert_str_contains(l->name, f->file);
	assert_str_contains(l->name, pos);
}

static void test_open_layer_ranges_are_member_bytes(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = standard_manifest(f);
	g_autofree char *source = NULL, *cdigest = NULL;
	struct fx_tar *t = start_archive(f, manifest);

	add_bytes(t, "b/layer.tar", f->layer_b);
	finish_archive(f, t);

	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	source = g_strdup_printf("docker-archive:%s", f->file);
	assert_string_equal(f->img->source, source);
	assert_string_equal(f->img->transport, "docker-archive");
	cdigest = g_strdup_printf("sha256:%.64s", f->config_name);
	assert_string_equal(f->img->config_digest, cdigest);
	assert_string_equal(f->img->platform, "linux/amd64");
	assert_int_equal(f->img->layers->len, 2);
	check_spec(f, f->img->layers->pdata[0], f->layer_a, f->diff_a,
		   "layer 1/2");
	check_spec(f, f->img->layers->pdata[1], f->layer_b, f->diff_b,
		   "layer 2/2");
}

/* docker save stores a layer shared by two images once and links the
 * second name to it: "b/layer.tar" -> "../a/layer.tar". */
static void test_open_symlinked_layer_member(void **state)
{
	struct fx *f = *state;
	const char *ids[] = {f->diff_a, f->diff_a};
	g_autofree char *config = config_json(ids, 2);
	g_autofree char *cname = config_name(config);
	g_autofree char *manifest = manifest_one(
	    cname, NULL,
	    (const char *const[]){"a/layer.tar", "b/layer.tar", NULL});
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_layer_spec *l0, *l1;

	add_bytes(t, "a/layer.tar", f->layer_a);
	fx_tar_dir(t, "b");
	add_symlink(t, "b/layer.tar", "../a/layer.tar");
	fx_tar_file(t, cname, config);
	fx_tar_file(t, "manifest.json", manifest);
	finish_archive(f, t);

	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	assert_int_equal(f->img->layers->len, 2);
	l0 = f->img->layers->pdata[0];
	l1 = f->img->layers->pdata[1];
	assert_int_equal(l1->offset, l0->offset);
	assert_int_equal(l1->length, l0->length);
	assert_range_is(f->file, l1->offset, l1->length, f->layer_a);
}

static void test_open_hardlinked_layer_member(void **state)
{
	struct fx *f = *state;
	const char *ids[] = {f->diff_a, f->diff_a};
	g_autofree char *config = config_json(ids, 2);
	g_autofree char *cname = config_name(config);
	g_autofree char *manifest = manifest_one(
	    cname, NULL,
	    (const char *const[]){"a/layer.tar", "b/layer.tar", NULL});
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_layer_spec *l1;

	add_bytes(t, "a/layer.tar", f->layer_a);
	add_hardlink(t, "b/layer.tar", "a/layer.tar");
	fx_tar_file(t, cname, config);
	fx_tar_file(t, "manifest.json", manifest);
	finish_archive(f, t);

	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	l1 = f->img->layers->pdata[1];
	assert_int_equal(l1->length, g_bytes_get_size(f->layer_a));
	assert_range_is(f->file, l1->offset, l1->length, f->layer_a);
}

/* A link that would resolve outside the archive is refused, never looked
 * up on the host. */
static void test_open_link_escaping_archive_refused(void **state)
{
	static const char *const targets[] = {"../../etc/passwd", "/etc/passwd",
					      "../../a/layer.tar"};
	struct fx *f = *state;
	g_autofree char *manifest = standard_manifest(f);

	for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
		g_autoptr(GError) error = NULL;
		struct lfs_image *img = NULL;
		struct fx_tar *t = start_archive(f, manifest);

		print_message("# -> %s\n", targets[i]);
		add_symlink(t, "b/layer.tar", targets[i]);
		finish_archive(f, t);
		assert_false(
		    lfs_docker_archive_open(f->file, NULL, &img, &error));
		assert_null(img);
		assert_lfs_error(error, EINVAL, f->file, "leaves the archive");
	}
}

static void test_open_link_loop(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = standard_manifest(f);
	struct fx_tar *t = start_archive(f, manifest);

	add_symlink(t, "b/layer.tar", "c.tar");
	add_symlink(t, "b/c.tar", "layer.tar");
	finish_archive(f, t);
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ELOOP, f->file, "b/layer.tar",
			 "too many links");
}

static void test_open_missing_layer_member(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = manifest_one(
	    f->config_name, NULL,
	    (const char *const[]){"a/layer.tar", "c/layer.tar", NULL});

	finish_archive(f, start_archive(f, manifest));
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->file,
			 "member \"c/layer.tar\" is missing");
}

static void test_open_missing_manifest_member(void **state)
{
	struct fx *f = *state;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	add_bytes(t, "a/layer.tar", f->layer_a);
	finish_archive(f, t);
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->file,
			 "member \"manifest.json\" is missing");
}

static void test_open_malformed_manifest_member(void **state)
{
	struct fx *f = *state;

	finish_archive(f, start_archive(f, "[{\"Config\": 1}]"));
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->file, "manifest.json",
			 "Config: not a string");
}

static void test_open_missing_config_member(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = manifest_one(
	    "nope.json", NULL, (const char *const[]){"a/layer.tar", NULL});

	finish_archive(f, start_archive(f, manifest));
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->file,
			 "member \"nope.json\" is missing");
}

/* The config lists two diff_ids, the manifest one layer. */
static void test_open_diff_ids_count_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = manifest_one(
	    f->config_name, NULL, (const char *const[]){"a/layer.tar", NULL});

	finish_archive(f, start_archive(f, manifest));
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->file,
			 "config lists 2 diff_ids for 1 layers");
}

/* Two images: "foo:1" (a, b) and "docker.io/library/bar:2" (a). */
static void two_images(struct fx *f)
{
	const char *ids[] = {f->diff_a};
	g_autofree char *config2 = config_json(ids, 1);
	g_autofree char *cname2 = config_name(config2);
	g_autofree char *manifest = g_strdup_printf(
	    "[{\"Config\": \"%s\", \"RepoTags\": [\"foo:1\"], \"Layers\": "
	    "[\"a/layer.tar\", \"b/layer.tar\"]},"
	    " {\"Config\": \"%s\", \"RepoTags\": "
	    "[\"docker.io/library/bar:2\"], \"Layers\": "
	    "[\"a/layer.tar\"]}]",
	    f->config_name, cname2);
	struct fx_tar *t = start_archive(f, manifest);

	add_bytes(t, "b/layer.tar", f->layer_b);
	fx_tar_file(t, cname2, config2);
	finish_archive(f, t);
}

struct select_case {
	const char *ref;
	guint nlayers; /* 2: the first image, 1: the second */
};

static const struct select_case selections[] = {
    {"foo:1", 2}, {"bar:2", 1}, {"docker.io/library/bar:2", 1},
    {"@0", 2},	  {"@1", 1},
};

static void test_open_selects_image(void **state)
{
	struct fx *f = *state;

	two_images(f);
	for (size_t i = 0; i < G_N_ELEMENTS(selections); i++) {
		g_autoptr(GError) error = NULL;
		struct lfs_image *img = NULL;
		g_autofree char *source = NULL;

		print_message("# %s\n", selections[i].ref);
		assert_lfs_ok(lfs_docker_archive_open(
				  f->file, selections[i].ref, &img, &error),
			      &error);
		assert_int_equal(img->layers->len, selections[i].nlayers);
		source = g_strdup_printf("docker-archive:%s:%s", f->file,
					 selections[i].ref);
		assert_string_equal(img->source, source);
		lfs_image_free(img);
	}
}

static void test_open_several_images_need_a_ref(void **state)
{
	struct fx *f = *state;

	two_images(f);
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->file, "holds 2 images",
			 "foo:1, docker.io/library/bar:2");
}

static const struct select_case bad_selections[] = {
    {"@2", 0},	  {"@", 0},	{"@x", 0},  {"@1x", 0},
    {"baz:3", 0}, {"foo:2", 0}, {"foo", 0},
};

static void test_open_bad_ref(void **state)
{
	struct fx *f = *state;

	two_images(f);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_selections); i++) {
		g_autoptr(GError) error = NULL;
		struct lfs_image *img = NULL;
		const char *ref = bad_selections[i].ref;

		print_message("# %s\n", ref);
		assert_false(
		    lfs_docker_archive_open(f->file, ref, &img, &error));
		assert_null(img);
		assert_lfs_error(error, ENOENT, f->file, ref);
	}
}

static void test_open_position_error_says_count(void **state)
{
	struct fx *f = *state;

	two_images(f);
	assert_false(
	    lfs_docker_archive_open(f->file, "@2", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, "no image @2 (the archive holds 2)");
}

static void test_open_compressed_archive_refused(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = standard_manifest(f);
	struct fx_tar *t = start_archive(f, manifest);
	g_autoptr(GBytes) tar = NULL, gz = NULL, zst = NULL;
	GBytes *variants[2];

	add_bytes(t, "b/layer.tar", f->layer_b);
	tar = fx_tar_finish(t);
	gz = fx_gzip(tar);
	zst = fx_zstd(tar);
	variants[0] = gz;
	variants[1] = zst;
	for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
		g_autoptr(GError) error = NULL;
		struct lfs_image *img = NULL;

		g_free(fx_write(f->dir, "image.tar", variants[i]));
		assert_false(
		    lfs_docker_archive_open(f->file, NULL, &img, &error));
		assert_lfs_error(error, ENOTSUP, f->file,
				 "the archive itself is compressed",
				 "decompress it first");
	}
}

/* A config named by a digest must have that digest. */
static void test_open_config_name_digest_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *other = config_name("{}");
	g_autofree char *manifest = manifest_one(
	    other, NULL,
	    (const char *const[]){"a/layer.tar", "b/layer.tar", NULL});
	struct fx_tar *t = start_archive(f, manifest);
	g_autofree char *want = g_strdup_printf(
	    "config member \"%s\" does not match the digest in its name",
	    other);

	/* The right config, under the name of another's digest. */
	fx_tar_file(t, other, f->config);
	add_bytes(t, "b/layer.tar", f->layer_b);
	finish_archive(f, t);
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->file, want);
}

/* Newer docker save writes an OCI-style tree: members named
 * blobs/sha256/<hex> carry their digest. */
static void test_open_blob_named_members_carry_digest(void **state)
{
	struct fx *f = *state;
	g_autofree char *la =
	    g_strconcat("blobs/sha256/", f->diff_a + strlen("sha256:"), NULL);
	g_autofree char *lb =
	    g_strconcat("blobs/sha256/", f->diff_b + strlen("sha256:"), NULL);
	g_autoptr(GBytes) cb = g_bytes_new(f->config, strlen(f->config));
	g_autofree char *cdigest = fx_sha256(cb);
	g_autofree char *cname =
	    g_strconcat("blobs/sha256/", cdigest + strlen("sha256:"), NULL);
	g_autofree char *manifest =
	    manifest_one(cname, "foo:1", (const char *const[]){la, lb, NULL});
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_layer_spec *l0, *l1;
	g_autofree char *d0 = NULL, *d1 = NULL;

	add_bytes(t, la, f->layer_a);
	add_bytes(t, lb, f->layer_b);
	fx_tar_file(t, cname, f->config);
	fx_tar_file(t, "manifest.json", manifest);
	finish_archive(f, t);

	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->config_digest, cdigest);
	l0 = f->img->layers->pdata[0];
	l1 = f->img->layers->pdata[1];
	assert_true(l0->has_digest);
	assert_true(l1->has_digest);
	d0 = lfs_digest_to_string(&l0->digest);
	d1 = lfs_digest_to_string(&l1->digest);
	assert_string_equal(d0, f->diff_a);
	assert_string_equal(d1, f->diff_b);
	assert_range_is(f->file, l1->offset, l1->length, f->layer_b);
}

/* Member names are compared in canonical form: "./a/layer.tar" in the
 * tar is "a/layer.tar" in manifest.json, and the other way round. */
static void test_open_dot_slash_member_names(void **state)
{
	struct fx *f = *state;
	g_autofree char *manifest = manifest_one(
	    f->config_name, NULL,
	    (const char *const[]){"a/layer.tar", "./b/layer.tar", NULL});
	g_autofree char *dot_config = g_strconcat("./", f->config_name, NULL);
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	const struct lfs_layer_spec *l0, *l1;

	add_bytes(t, "./a/layer.tar", f->layer_a);
	add_bytes(t, "b//layer.tar", f->layer_b);
	fx_tar_file(t, dot_config, f->config);
	fx_tar_file(t, "./manifest.json", manifest);
	finish_archive(f, t);

	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	l0 = f->img->layers->pdata[0];
	l1 = f->img->layers->pdata[1];
	assert_range_is(f->file, l0->offset, l0->length, f->layer_a);
	assert_range_is(f->file, l1->offset, l1->length, f->layer_b);
}

/* An archive whose layers are stored compressed, as docker with the
 * containerd image store writes them: "a" gzipped under its blob name
 * (blobs/sha256/<digest of the gzip>), "b" zstd under a legacy name.  The
 * config's diff_ids name the uncompressed tars: @diff_b for "b". */
static void compressed_archive(struct fx *f, const char *diff_b, char **la)
{
	g_autoptr(GBytes) gz = fx_gzip(f->layer_a);
	g_autoptr(GBytes) zst = fx_zstd(f->layer_b);
	g_autofree char *gz_digest = fx_sha256(gz);
	g_autofree char *config = config_json(
	    (const char *const[]){f->diff_a, diff_b}, 2);
	g_autofree char *cname = config_name(config);
	g_autofree char *manifest = NULL;
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	*la = g_strconcat("blobs/sha256/", gz_digest + strlen("sha256:"),
			  NULL);
	manifest = manifest_one(
	    cname, "foo:1", (const char *const[]){*la, "b/layer.tar", NULL});
	add_bytes(t, *la, gz);
	add_bytes(t, "b/layer.tar", zst);
	fx_tar_file(t, cname, config);
	fx_tar_file(t, "manifest.json", manifest);
	finish_archive(f, t);
}

/* Index layer @spec (no cache) and read its one file @name. */
static void assert_layer_holds(const struct lfs_layer_spec *spec,
			       enum lfs_compression comp, const char *name,
			       const char *content)
{
	g_autoptr(GError) error = NULL;
	struct lfs_layer_options opts = {0};
	struct lfs_layer *l = NULL;
	struct lfs_stream *s;
	char buf[64] = {0};
	uint32_t i;

	assert_lfs_ok(lfs_layer_open(spec, &opts, &l, &error), &error);
	assert_int_equal(l->comp, comp);
	i = lfs_index_lookup_path(l->index, name);
	assert_int_not_equal(i, LFS_INDEX_NONE);
	s = lfs_stream_new(l, NULL);
	assert_int_equal(lfs_read_entry(s, i, -1, buf, sizeof(buf), 0),
			 (ssize_t)strlen(content));
	assert_string_equal(buf, content);
	lfs_stream_free(s);
	lfs_layer_free(l);
}

static void test_open_compressed_layer_members(void **state)
{
	struct fx *f = *state;
	g_autofree char *la = NULL;
	const struct lfs_layer_spec *l0, *l1;
	g_autoptr(GBytes) gz = fx_gzip(f->layer_a);
	g_autofree char *gz_digest = fx_sha256(gz);
	g_autofree char *d0 = NULL;

	compressed_archive(f, f->diff_b, &la);
	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	assert_int_equal(f->img->layers->len, 2);
	l0 = f->img->layers->pdata[0];
	l1 = f->img->layers->pdata[1];
	/* The member's bytes as they are, compression found by content. */
	assert_range_is(f->file, l0->offset, l0->length, gz);
	assert_int_equal(l0->compression, LFS_COMP_DETECT);
	assert_int_equal(l1->compression, LFS_COMP_DETECT);
	assert_true(l0->has_digest);
	d0 = lfs_digest_to_string(&l0->digest);
	assert_string_equal(d0, gz_digest);
	assert_false(l1->has_digest);
	assert_layer_holds(l0, LFS_COMP_GZIP, "a", "alpha");
	assert_layer_holds(l1, LFS_COMP_ZSTD, "b", "bravo bravo");
}

/* A diff_id that is not the digest of the uncompressed stream: the
 * archive opens (the check needs the stream), and indexing the layer
 * fails naming it, the member and both digests. */
static void test_open_compressed_layer_wrong_diff_id(void **state)
{
	struct fx *f = *state;
	g_autofree char *la = NULL;
	g_autoptr(GBytes) zst = fx_zstd(f->layer_b);
	g_autofree char *zst_digest = fx_sha256(zst);
	g_autoptr(GError) error = NULL;
	struct lfs_layer_options opts = {0};
	struct lfs_layer *l = NULL;

	/* The digest of the compressed bytes, a mistake a writer makes. */
	compressed_archive(f, zst_digest, &la);
	assert_lfs_ok(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error),
	    &f->error);
	assert_layer_holds(f->img->layers->pdata[0], LFS_COMP_GZIP, "a",
			   "alpha");
	assert_false(
	    lfs_layer_open(f->img->layers->pdata[1], &opts, &l, &error));
	assert_null(l);
	assert_lfs_error(error, EINVAL, f->file, "layer 2/2", "b/layer.tar",
			 "diff_id mismatch", zst_digest, f->diff_b);
}

static void test_open_not_a_tar(void **state)
{
	struct fx *f = *state;
	g_autofree char *junk = g_strnfill(4096, 'j');

	g_free(fx_write_str(f->dir, "image.tar", junk));
	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->file);
}

static void test_open_missing_file(void **state)
{
	struct fx *f = *state;

	assert_false(
	    lfs_docker_archive_open(f->file, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->file);
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_manifest_valid),
	    cmocka_unit_test(test_parse_manifest_malformed),
	    FT(test_open_layer_ranges_are_member_bytes),
	    FT(test_open_symlinked_layer_member),
	    FT(test_open_hardlinked_layer_member),
	    FT(test_open_link_escaping_archive_refused),
	    FT(test_open_link_loop),
	    FT(test_open_missing_layer_member),
	    FT(test_open_missing_manifest_member),
	    FT(test_open_malformed_manifest_member),
	    FT(test_open_missing_config_member),
	    FT(test_open_diff_ids_count_mismatch),
	    FT(test_open_selects_image),
	    FT(test_open_several_images_need_a_ref),
	    FT(test_open_bad_ref),
	    FT(test_open_position_error_says_count),
	    FT(test_open_compressed_archive_refused),
	    FT(test_open_config_name_digest_mismatch),
	    FT(test_open_blob_named_members_carry_digest),
	    FT(test_open_dot_slash_member_names),
	    FT(test_open_compressed_layer_members),
	    FT(test_open_compressed_layer_wrong_diff_id),
	    FT(test_open_not_a_tar),
	    FT(test_open_missing_file),
	};

	return cmocka_run_group_tests_name("docker_archive", tests, NULL, NULL);
}
