/* Unit tests for image/source.c: splitting "oci:DIR[:TAG]" and
 * "docker-archive:FILE[:REF]" (the path ends at the first ':' after the
 * transport), detecting a bare directory (OCI layout) or file
 * (docker-archive), and lfs_source_from_layers() for explicit layer
 * lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>

#include "layerfs/source.h"

#include "asserts.h"
#include "fixtures.h"

struct fx {
	char *dir;
	char *layout;  /* an OCI layout: images tagged v1 (1 layer), v2 (2) */
	char *archive; /* a docker-archive: foo:1 (1 layer), bar:2 (2) */
	struct lfs_image *img;
	GError *error;
};

static GBytes *layer_tar(const char *content)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	fx_tar_file(t, "f", content);
	return fx_tar_finish(t);
}

/* An image of @n plain layers in @layout; returns its descriptor. */
static char *oci_image(const char *layout, int n, const char *tag)
{
	g_autoptr(GString) ids = g_string_new(NULL);
	g_autoptr(GString) layers = g_string_new(NULL);
	g_autofree char *config = NULL, *cdigest = NULL, *manifest = NULL;
	g_autofree char *mdigest = NULL;

	for (int i = 0; i < n; i++) {
		g_autofree char *content = g_strdup_printf("%s-%d", tag, i);
		g_autoptr(GBytes) tar = layer_tar(content);
		g_autofree char *d = fx_oci_blob(layout, tar);

		g_string_append_printf(ids, "%s\"%s\"", i ? ", " : "", d);
		g_string_append_printf(
		    layers,
		    "%s{\"mediaType\": "
		    "\"application/vnd.oci.image.layer.v1.tar\", "
		    "\"digest\": \"%s\", \"size\": %zu}",
		    i ? ", " : "", d, g_bytes_get_size(tar));
	}
	config = g_strdup_printf("{\"architecture\": \"amd64\", \"os\": "
				 "\"linux\", \"rootfs\": {\"type\": "
				 "\"layers\", \"diff_ids\": [%s]}}",
				 ids->str);
	cdigest = fx_oci_blob_str(layout, config);
	manifest = g_strdup_printf(
	    "{\"schemaVersion\": 2, \"config\": {\"digest\": \"%s\", "
	    "\"size\": %zu}, \"layers\": [%s]}",
	    cdigest, strlen(config), layers->str);
	mdigest = fx_oci_blob_str(layout, manifest);
	return g_strdup_printf(
	    "{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", "
	    "\"digest\": \"%s\", \"size\": %zu, \"annotations\": "
	    "{\"org.opencontainers.image.ref.name\": \"%s\"}}",
	    mdigest, strlen(manifest), tag);
}

static void write_layout(const char *layout, int nimages)
{
	g_autofree char *d1 = oci_image(layout, 1, "v1");
	g_autofree char *d2 = nimages > 1 ? oci_image(layout, 2, "v2") : NULL;
	g_autofree char *index =
	    g_strdup_printf("{\"schemaVersion\": 2, \"manifests\": [%s%s%s]}",
			    d1, d2 ? ", " : "", d2 ? d2 : "");

	g_free(fx_write_str(layout, "index.json", index));
	g_free(fx_write_str(layout, "oci-layout",
			    "{\"imageLayoutVersion\": \"1.0.0\"}"));
}

static void add_member(struct fx_tar *t, const char *name, GBytes *b)
{
	gsize len;
	struct fx_entry e = {.path = name};

	e.data = g_bytes_get_data(b, &len);
	e.len = len;
	fx_tar_add(t, &e);
}

/* A docker-archive with images "foo:1" (layer a) and "bar:2" (a, b); with
 * @single only the first. */
static void write_archive(const char *path, bool single)
{
	g_autoptr(GBytes) a = layer_tar("a"), b = layer_tar("b");
	g_autofree char *da = fx_sha256(a), *db = fx_sha256(b);
	g_autofree char *c1 =
	    g_strdup_printf("{\"rootfs\": {\"diff_ids\": [\"%s\"]}}", da);
	g_autofree char *c2 = g_strdup_printf(
	    "{\"rootfs\": {\"diff_ids\": [\"%s\", \"%s\"]}}", da, db);
	g_autofree char *manifest = g_strdup_printf(
	    "[{\"Config\": \"c1.json\", \"RepoTags\": [\"foo:1\"], "
	    "\"Layers\": [\"a.tar\"]}%s]",
	    single ? ""
		   : ", {\"Config\": \"c2.json\", \"RepoTags\": "
		     "[\"bar:2\"], \"Layers\": [\"a.tar\", "
		     "\"b.tar\"]}");
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	g_autoptr(GBytes) tar = NULL;
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);

	add_member(t, "a.tar", a);
	add_member(t, "b.tar", b);
	fx_tar_file(t, "c1.json", c1);
	fx_tar_file(t, "c2.json", c2);
	fx_tar_file(t, "manifest.json", manifest);
	tar = fx_tar_finish(t);
	g_free(fx_write(dir, base, tar));
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	f->layout = g_build_filename(f->dir, "layout", NULL);
	f->archive = g_build_filename(f->dir, "image.tar", NULL);
	write_layout(f->layout, 2);
	write_archive(f->archive, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->layout);
	g_free(f->archive);
	lfs_image_free(f->img);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

/* Open @source; it must succeed as @transport with @nlayers layers. */
static void open_ok(struct fx *f, const char *source, const char *transport,
		    guint nlayers)
{
	lfs_image_free(g_steal_pointer(&f->img));
	assert_lfs_ok(
	    lfs_source_open(source, "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->transport, transport);
	assert_int_equal(f->img->layers->len, nlayers);
}

static void test_oci_dir_and_tag(void **state)
{
	struct fx *f = *state;
	g_autofree char *s1 = g_strdup_printf("oci:%s:v1", f->layout);
	g_autofree char *s2 = g_strdup_printf("oci:%s:v2", f->layout);

	open_ok(f, s1, "oci", 1);
	assert_string_equal(f->img->source, s1);
	open_ok(f, s2, "oci", 2);
	assert_string_equal(f->img->source, s2);
}

static void test_oci_unknown_tag(void **state)
{
	struct fx *f = *state;
	g_autofree char *s = g_strdup_printf("oci:%s:v9", f->layout);

	assert_false(lfs_source_open(s, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->layout, "\"v9\"");
}

/* "oci:DIR" and "oci:DIR:" name the only image of a layout. */
static void test_oci_without_tag(void **state)
{
	struct fx *f = *state;
	g_autofree char *single = g_build_filename(f->dir, "single", NULL);
	g_autofree char *s = g_strdup_printf("oci:%s", single);
	g_autofree char *s_colon = g_strdup_printf("oci:%s:", single);

	write_layout(single, 1);
	open_ok(f, s, "oci", 1);
	open_ok(f, s_colon, "oci", 1);
}

/* The path ends at the first ':': the rest, colons and all, is the ref. */
static void test_docker_archive_name_tag(void **state)
{
	struct fx *f = *state;
	g_autofree char *s_foo =
	    g_strdup_printf("docker-archive:%s:foo:1", f->archive);
	g_autofree char *s_bar =
	    g_strdup_printf("docker-archive:%s:bar:2", f->archive);
	g_autofree char *s_pos =
	    g_strdup_printf("docker-archive:%s:@1", f->archive);

	open_ok(f, s_foo, "docker-archive", 1);
	assert_string_equal(f->img->source, s_foo);
	open_ok(f, s_bar, "docker-archive", 2);
	assert_string_equal(
	    ((struct lfs_layer_spec *)f->img->layers->pdata[0])->path,
	    f->archive);
	open_ok(f, s_pos, "docker-archive", 2);
}

static void test_docker_archive_unknown_ref(void **state)
{
	struct fx *f = *state;
	g_autofree char *s =
	    g_strdup_printf("docker-archive:%s:baz:3", f->archive);

	assert_false(lfs_source_open(s, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->archive, "\"baz:3\"");
}

static void test_docker_archive_without_ref(void **state)
{
	struct fx *f = *state;
	g_autofree char *single = g_build_filename(f->dir, "one.tar", NULL);
	g_autofree char *s = g_strdup_printf("docker-archive:%s", single);

	write_archive(single, true);
	open_ok(f, s, "docker-archive", 1);
	assert_string_equal(f->img->source, s);
}

/* A bare directory with index.json is an OCI layout, a bare file a
 * docker-archive. */
static void test_bare_paths_detected(void **state)
{
	struct fx *f = *state;
	g_autofree char *single = g_build_filename(f->dir, "single", NULL);
	g_autofree char *one = g_build_filename(f->dir, "one.tar", NULL);

	write_layout(single, 1);
	write_archive(one, true);
	open_ok(f, single, "oci", 1);
	open_ok(f, one, "docker-archive", 1);
}

/* A bare path names one image: several are an error, as with oci:DIR. */
static void test_bare_path_with_several_images(void **state)
{
	struct fx *f = *state;

	assert_false(lfs_source_open(f->layout, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->layout, "holds 2 images");
}

static void test_bare_dir_not_a_layout(void **state)
{
	struct fx *f = *state;
	g_autofree char *plain = g_build_filename(f->dir, "plain", NULL);

	g_free(fx_write_str(plain, "etc/hostname", "box\n"));
	assert_false(lfs_source_open(plain, NULL, &f->img, &f->error));
	assert_null(f->img);
	assert_lfs_error(f->error, EINVAL, plain,
			 "not an OCI image layout (no index.json)", "--layer");
}

static void test_missing_and_empty_sources(void **state)
{
	struct fx *f = *state;
	g_autofree char *nope = g_build_filename(f->dir, "nope", NULL);
	g_autoptr(GError) e1 = NULL, e2 = NULL;

	assert_false(lfs_source_open(nope, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, nope);
	assert_false(lfs_source_open("", NULL, &f->img, &e1));
	assert_lfs_error(e1, EINVAL, "no image source given");
	assert_false(lfs_source_open(NULL, NULL, &f->img, &e2));
	assert_lfs_error(e2, EINVAL, "no image source given");
}

/* The transport prefix decides, not the file: "oci:" on an archive file
 * fails as a layout would. */
static void test_transport_prefix_decides(void **state)
{
	struct fx *f = *state;
	g_autofree char *s = g_strdup_printf("oci:%s", f->archive);

	assert_false(lfs_source_open(s, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->archive);
}

/* ---- explicit layer lists ---------------------------------------------- */

static void test_from_layers_kinds(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) tar = layer_tar("x");
	g_autoptr(GBytes) gz = fx_gzip(tar);
	g_autofree char *t1 = fx_write(f->dir, "l1.tar", tar);
	g_autofree char *t2 = fx_write(f->dir, "l2.tar.gz", gz);
	g_autofree char *d = g_build_filename(f->dir, "l3", NULL);
	g_autofree char *want_source = NULL;
	const char *paths[3];
	const struct lfs_layer_spec *l;

	g_free(fx_write_str(d, "file", "x"));
	paths[0] = t1;
	paths[1] = d;
	paths[2] = t2;
	assert_lfs_ok(lfs_source_from_layers(paths, 3, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->transport, "layers");
	want_source = g_strdup_printf("%s,%s,%s", t1, d, t2);
	assert_string_equal(f->img->source, want_source);
	assert_null(f->img->manifest_digest);
	assert_int_equal(f->img->layers->len, 3);
	for (guint i = 0; i < 3; i++) {
		l = f->img->layers->pdata[i];
		assert_int_equal(l->kind,
				 i == 1 ? LFS_LAYER_DIR : LFS_LAYER_TAR);
		assert_string_equal(l->path, paths[i]);
		assert_string_equal(l->name, paths[i]);
		assert_int_equal(l->offset, 0);
		assert_true(l->length == LFS_LENGTH_TO_EOF);
		assert_int_equal(l->compression, LFS_COMP_DETECT);
		assert_false(l->has_digest);
		assert_false(l->has_diff_id);
		assert_int_equal(l->size, -1);
	}
}

static void test_from_layers_missing_path(void **state)
{
	struct fx *f = *state;
	g_autoptr(GBytes) tar = layer_tar("x");
	g_autofree char *t1 = fx_write(f->dir, "l1.tar", tar);
	g_autofree char *nope = g_build_filename(f->dir, "nope.tar", NULL);
	const char *paths[] = {t1, nope};

	assert_false(lfs_source_from_layers(paths, 2, &f->img, &f->error));
	assert_null(f->img);
	assert_lfs_error(f->error, ENOENT, "layer", nope, g_strerror(ENOENT));
}

static void test_from_layers_special_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *fifo = g_build_filename(f->dir, "fifo", NULL);
	const char *paths[] = {fifo};

	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_false(lfs_source_from_layers(paths, 1, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, fifo,
			 "neither a file nor a directory");
}

static void test_from_layers_none(void **state)
{
	struct fx *f = *state;

	assert_false(lfs_source_from_layers(NULL, 0, &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, "no layers given");
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FT(test_oci_dir_and_tag),
	    FT(test_oci_unknown_tag),
	    FT(test_oci_without_tag),
	    FT(test_docker_archive_name_tag),
	    FT(test_docker_archive_unknown_ref),
	    FT(test_docker_archive_without_ref),
	    FT(test_bare_paths_detected),
	    FT(test_bare_path_with_several_images),
	    FT(test_bare_dir_not_a_layout),
	    FT(test_missing_and_empty_sources),
	    FT(test_transport_prefix_decides),
	    FT(test_from_layers_kinds),
	    FT(test_from_layers_missing_path),
	    FT(test_from_layers_special_file),
	    FT(test_from_layers_none),
	};

	return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
