/* Unit tests for image/oci.c and the media-type table in image/image.c.
 *
 * The index, manifest and config parsers are driven with JSON bytes, valid
 * and malformed.  lfs_oci_open() is driven with layouts written to a
 * temporary directory: a two-layer image, tag and platform selection,
 * nested indexes, and every way a layout can be broken (missing or altered
 * blobs, bad JSON, an unsupported layer type, diff_ids that do not fit).
 * Error messages must name the file (or blob) and the problem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>

#include "layerfs/oci.h"

#include "asserts.h"
#include "fixtures.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_TGZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_MANIFEST                                                     \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_TAR "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_TGZ "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define D_ABC                                                                  \
	"sha256:"                                                              \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D_EMPTY                                                                \
	"sha256:"                                                              \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- parsing bytes ----------------------------------------------------- */

static void test_parse_index_valid(void **state)
{
	static const char json[] =
	    "{\"schemaVersion\": 2, \"mediaType\": \"" MT_INDEX "\","
	    " \"manifests\": ["
	    "  {\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"" D_ABC
	    "\", \"size\": 123, \"annotations\": {\"" LFS_OCI_REF_NAME
	    "\": \"v1\"}},"
	    "  {\"digest\": \"" D_EMPTY "\", \"size\": 0, \"platform\": "
	    "{\"os\": \"linux\", \"architecture\": \"arm\", \"variant\": "
	    "\"v7\"}}]}";
	g_autoptr(GPtrArray) descs = NULL;
	g_autoptr(GError) error = NULL;
	struct lfs_oci_descriptor *d;
	g_autofree char *s0 = NULL, *s1 = NULL;

	(void)state;
	assert_true(
	    lfs_oci_parse_index(json, strlen(json), "idx", &descs, &error));
	assert_int_equal(descs->len, 2);
	d = descs->pdata[0];
	assert_string_equal(d->media_type, MT_MANIFEST);
	s0 = lfs_digest_to_string(&d->digest);
	assert_string_equal(s0, D_ABC);
	assert_int_equal(d->size, 123);
	assert_string_equal(d->ref_name, "v1");
	assert_null(d->os);
	assert_null(d->arch);
	assert_null(d->variant);
	d = descs->pdata[1];
	assert_null(d->media_type);
	s1 = lfs_digest_to_string(&d->digest);
	assert_string_equal(s1, D_EMPTY);
	assert_int_equal(d->size, 0);
	assert_null(d->ref_name);
	assert_string_equal(d->os, "linux");
	assert_string_equal(d->arch, "arm");
	assert_string_equal(d->variant, "v7");
}

struct bad_json {
	const char *json;
	int code;
	const char *msg;  /* substring, after "what" */
	const char *msg2; /* another, or NULL */
};

#define DESC_OK "{\"digest\": \"" D_ABC "\", \"size\": 1}"

static const struct bad_json bad_indexes[] = {
    {"[]", EINVAL, "idx: top level is not a JSON object", NULL},
    {"{\"manifests\": [", EINVAL, "idx: malformed JSON", NULL},
    {"{\"schemaVersion\": 1, \"manifests\": []}", ENOTSUP,
     "idx: schemaVersion 1 is not supported", NULL},
    {"{\"schemaVersion\": \"2\", \"manifests\": []}", EINVAL,
     "idx.schemaVersion: not an integer", NULL},
    {"{}", EINVAL, "idx: missing \"manifests\"", NULL},
    {"{\"manifests\": null}", EINVAL, "idx", "\"manifests\" is null"},
    {"{\"manifests\": {}}", EINVAL, "idx.manifests: not an array", NULL},
    {"{\"manifests\": [1]}", EINVAL, "idx: manifests[0]: not an object", NULL},
    {"{\"manifests\": [{\"digest\": 5, \"size\": 1}]}", EINVAL,
     "idx: manifests[0].digest: not a string", NULL},
    {"{\"manifests\": [{\"size\": 1}]}", EINVAL,
     "idx: manifests[0]: missing \"digest\"", NULL},
    {"{\"manifests\": [{\"digest\": \"sha256:abc\", \"size\": 1}]}", EINVAL,
     "idx: manifests[0].digest: \"sha256:abc\" is not a valid digest", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\"}]}", EINVAL,
     "idx: manifests[0]: missing \"size\"", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": -1}]}", EINVAL,
     "idx: manifests[0].size: negative", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": \"1\"}]}", EINVAL,
     "idx: manifests[0].size: not an integer", NULL},
    {"{\"manifests\": [" DESC_OK ", {\"digest\": \"" D_ABC
     "\", \"size\": 1.5}]}",
     EINVAL, "idx: manifests[1].size: not an integer", NULL},
    {"{\"manifests\": [{\"mediaType\": 7, \"digest\": \"" D_ABC
     "\", \"size\": 1}]}",
     EINVAL, "idx: manifests[0].mediaType: not a string", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": 1, "
     "\"annotations\": []}]}",
     EINVAL, "idx: manifests[0].annotations: not an object", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": 1, "
     "\"annotations\": {\"" LFS_OCI_REF_NAME "\": 3}}]}",
     EINVAL, "idx: manifests[0]", "not a string"},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": 1, "
     "\"platform\": {\"os\": \"linux\"}}]}",
     EINVAL, "idx: manifests[0].platform: missing \"architecture\"", NULL},
    {"{\"manifests\": [{\"digest\": \"" D_ABC "\", \"size\": 1, "
     "\"platform\": \"linux/amd64\"}]}",
     EINVAL, "idx: manifests[0].platform: not an object", NULL},
};

static void check_bad(const struct bad_json *c, const GError *error)
{
	assert_lfs_error(error, c->code, c->msg);
	if (c->msg2)
		assert_lfs_error(error, c->code, c->msg2);
}

static void test_parse_index_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_indexes); i++) {
		const struct bad_json *c = &bad_indexes[i];
		g_autoptr(GPtrArray) descs = NULL;
		g_autoptr(GError) error = NULL;

		print_message("# %s\n", c->json);
		assert_false(lfs_oci_parse_index(c->json, strlen(c->json),
						 "idx", &descs, &error));
		assert_null(descs);
		check_bad(c, error);
	}
}

#define CONFIG_DESC                                                            \
	"\"config\": {\"mediaType\": \"" MT_CONFIG                             \
	"\", \"digest\": \"" D_EMPTY "\", \"size\": 2}"

static void test_parse_manifest_valid(void **state)
{
	static const char *const mts[] = {MT_MANIFEST, MT_DOCKER_MANIFEST};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(mts); i++) {
		g_autofree char *json = g_strdup_printf(
		    "{\"schemaVersion\": 2, \"mediaType\": \"%s\", " CONFIG_DESC
		    ", \"layers\": ["
		    "{\"mediaType\": \"" MT_TAR "\", \"digest\": \"" D_ABC
		    "\", \"size\": 10},"
		    "{\"mediaType\": \"" MT_TGZ "\", \"digest\": \"" D_EMPTY
		    "\", \"size\": 20}]}",
		    mts[i]);
		g_autoptr(GError) error = NULL;
		struct lfs_oci_manifest *m = NULL;
		struct lfs_oci_descriptor *l0, *l1;
		g_autofree char *cd = NULL, *ld = NULL;

		assert_true(lfs_oci_parse_manifest(json, strlen(json), "man",
						   &m, &error));
		assert_string_equal(m->config->media_type, MT_CONFIG);
		cd = lfs_digest_to_string(&m->config->digest);
		assert_string_equal(cd, D_EMPTY);
		assert_int_equal(m->config->size, 2);
		assert_int_equal(m->layers->len, 2);
		l0 = m->layers->pdata[0];
		l1 = m->layers->pdata[1];
		assert_string_equal(l0->media_type, MT_TAR);
		ld = lfs_digest_to_string(&l0->digest);
		assert_string_equal(ld, D_ABC);
		assert_int_equal(l0->size, 10);
		assert_string_equal(l1->media_type, MT_TGZ);
		assert_int_equal(l1->size, 20);
		lfs_oci_manifest_free(m);
	}
}

/* mediaType may be left out (it is optional in the image spec). */
static void test_parse_manifest_without_media_type(void **state)
{
	static const char json[] =
	    "{\"schemaVersion\": 2, " CONFIG_DESC ", \"layers\": []}";
	g_autoptr(GError) error = NULL;
	struct lfs_oci_manifest *m = NULL;

	(void)state;
	assert_true(
	    lfs_oci_parse_manifest(json, strlen(json), "man", &m, &error));
	assert_int_equal(m->layers->len, 0);
	lfs_oci_manifest_free(m);
}

static const struct bad_json bad_manifests[] = {
    {"{\"schemaVersion\": 1, " CONFIG_DESC ", \"layers\": []}", ENOTSUP,
     "man: schemaVersion 1 is not supported", NULL},
    {"{\"mediaType\": \"" MT_INDEX "\", \"manifests\": []}", EINVAL,
     "man: mediaType \"" MT_INDEX "\" is not an image manifest", NULL},
    {"{\"mediaType\": \"" MT_DOCKER_LIST "\", \"manifests\": []}", EINVAL,
     "man: mediaType \"" MT_DOCKER_LIST "\" is not an image manifest", NULL},
    {"{\"mediaType\": \"" MT_CONFIG "\", " CONFIG_DESC ", \"layers\": []}",
     EINVAL, "is not an image manifest", NULL},
    {"{\"layers\": []}", EINVAL, "man: missing \"config\"", NULL},
    {"{\"config\": [], \"layers\": []}", EINVAL, "man.config: not an object",
     NULL},
    {"{\"config\": {\"digest\": \"sha256:"
     "00\", \"size\": 2}, "
     "\"layers\": []}",
     EINVAL, "man: config.digest: \"sha256:00\" is not a valid digest", NULL},
    {"{" CONFIG_DESC "}", EINVAL, "man: missing \"layers\"", NULL},
    {"{" CONFIG_DESC ", \"layers\": {}}", EINVAL, "man.layers: not an array",
     NULL},
    {"{" CONFIG_DESC ", \"layers\": [\"" D_ABC "\"]}", EINVAL,
     "man: layers[0]: not an object", NULL},
    {"{" CONFIG_DESC ", \"layers\": [" DESC_OK ", {\"digest\": \"" D_ABC
     "\", \"size\": -5}]}",
     EINVAL, "man: layers[1].size: negative", NULL},
    {"{" CONFIG_DESC ", \"layers\": [{\"digest\": \"SHA256:abc\", "
     "\"size\": 1}]}",
     EINVAL, "man: layers[0].digest: \"SHA256:abc\" is not a valid", NULL},
    {"[]", EINVAL, "man: top level is not a JSON object", NULL},
};

static void test_parse_manifest_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_manifests); i++) {
		const struct bad_json *c = &bad_manifests[i];
		g_autoptr(GError) error = NULL;
		struct lfs_oci_manifest *m = NULL;

		print_message("# %s\n", c->json);
		assert_false(lfs_oci_parse_manifest(c->json, strlen(c->json),
						    "man", &m, &error));
		assert_null(m);
		check_bad(c, error);
	}
}

static void test_parse_config_platform_and_diff_ids(void **state)
{
	static const char json[] =
	    "{\"architecture\": \"arm64\", \"os\": \"linux\", "
	    "\"variant\": \"v8\", \"config\": {\"Env\": []}, "
	    "\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D_ABC
	    "\", \"" D_EMPTY "\"]}}";
	g_autoptr(GPtrArray) ids = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *platform = NULL, *d0 = NULL, *d1 = NULL;

	(void)state;
	assert_true(lfs_oci_parse_config(json, strlen(json), "cfg", &ids,
					 &platform, &error));
	assert_string_equal(platform, "linux/arm64/v8");
	assert_int_equal(ids->len, 2);
	d0 = lfs_digest_to_string(ids->pdata[0]);
	d1 = lfs_digest_to_string(ids->pdata[1]);
	assert_string_equal(d0, D_ABC);
	assert_string_equal(d1, D_EMPTY);
}

static void test_parse_config_minimal(void **state)
{
	static const char with_arch[] =
	    "{\"architecture\": \"amd64\", \"os\": \"linux\"}";
	g_autoptr(GPtrArray) ids = NULL, ids2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *platform = NULL;
	char *none = (char *)"unset";

	(void)state;
	assert_true(lfs_oci_parse_config(with_arch, strlen(with_arch), "cfg",
					 &ids, &platform, &error));
	assert_string_equal(platform, "linux/amd64");
	assert_int_equal(ids->len, 0);
	/* Without os and architecture there is no platform. */
	assert_true(lfs_oci_parse_config("{}", 2, "cfg", &ids2, &none, &error));
	assert_null(none);
	assert_int_equal(ids2->len, 0);
}

/* "created": RFC 3339 in any zone, to the microsecond; none, one that
 * does not parse, one without a zone or Go's zero time: no time. */
static void test_config_created(void **state)
{
	static const struct {
		const char *json;
		bool ok;
		time_t sec;
		long nsec;
	} cases[] = {
		{ "{\"created\": \"2023-11-14T22:13:20Z\"}", true, 1700000000, 0 },
		{ "{\"created\": \"2021-05-06T09:08:09.25+02:00\"}", true,
		  1620284889, 250000000 },
		{ "{\"created\": \"1970-01-01T00:00:00Z\"}", true, 0, 0 },
		{ "{\"created\": \"0001-01-01T00:00:00Z\"}", false, 0, 0 },
		{ "{\"created\": \"2023-11-14T22:13:20\"}", false, 0, 0 },
		{ "{\"created\": \"yesterday\"}", false, 0, 0 },
		{ "{\"created\": 1700000000}", false, 0, 0 },
		{ "{}", false, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct timespec ts = { -1, -1 };
		bool ok = lfs_oci_config_created(cases[i].json,
						 strlen(cases[i].json), &ts);

		if (ok != cases[i].ok)
			fail_msg("%s: %s", cases[i].json, ok ? "a time" : "none");
		if (!ok)
			continue;
		assert_int_equal(ts.tv_sec, cases[i].sec);
		assert_int_equal(ts.tv_nsec, cases[i].nsec);
	}
}

static const struct bad_json bad_configs[] = {
    {"[]", EINVAL, "cfg: top level is not a JSON object", NULL},
    {"{\"os\": 1}", EINVAL, "cfg.os: not a string", NULL},
    {"{\"architecture\": []}", EINVAL, "cfg.architecture: not a string", NULL},
    {"{\"rootfs\": []}", EINVAL, "cfg.rootfs: not an object", NULL},
    {"{\"rootfs\": {\"diff_ids\": {}}}", EINVAL,
     "cfg: rootfs.diff_ids: not an array", NULL},
    {"{\"rootfs\": {\"diff_ids\": [\"" D_ABC "\", \"nope\"]}}", EINVAL,
     "cfg: rootfs.diff_ids[1]: \"nope\" is not a valid digest", NULL},
};

/* The run settings: as the config says, absent ones NULL (env empty),
 * wrong types refused with the member named. */
static void test_config_run(void **state)
{
	static const char full[] =
		"{\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
		"\"Cmd\":[\"echo hi\"],\"Env\":[\"A=1\",\"PATH=/bin\"],"
		"\"User\":\"nobody:nogroup\",\"WorkingDir\":\"/srv\","
		"\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{}}";
	static const char none[] = "{\"rootfs\":{}}";
	static const char nulls[] =
		"{\"config\":{\"Entrypoint\":null,\"Cmd\":null,\"User\":\"\"}}";
	static const char bad[] = "{\"config\":{\"Cmd\":\"echo hi\"}}";
	struct lfs_image_run *r = NULL;
	GError *error = NULL;

	(void)state;
	assert_true(lfs_oci_config_run(full, strlen(full), "c", &r, &error));
	assert_string_equal(r->entrypoint[0], "/bin/sh");
	assert_string_equal(r->entrypoint[1], "-c");
	assert_null(r->entrypoint[2]);
	assert_string_equal(r->cmd[0], "echo hi");
	assert_string_equal(r->env[1], "PATH=/bin");
	assert_string_equal(r->user, "nobody:nogroup");
	assert_string_equal(r->working_dir, "/srv");
	assert_string_equal(r->stop_signal, "SIGQUIT");
	lfs_image_run_free(r);
	for (int i = 0; i < 2; i++) {
		const char *j = i ? nulls : none;

		assert_true(lfs_oci_config_run(j, strlen(j), "c", &r, &error));
		assert_null(r->entrypoint);
		assert_null(r->cmd);
		assert_non_null(r->env);
		assert_null(r->env[0]);
		assert_null(r->user);
		lfs_image_run_free(r);
	}
	assert_false(lfs_oci_config_run(bad, strlen(bad), "c", &r, &error));
	assert_lfs_error(error, EINVAL, "config.Cmd", "not an array");
	g_clear_error(&error);
}

static void test_parse_config_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
		const struct bad_json *c = &bad_configs[i];
		g_autoptr(GPtrArray) ids = NULL;
		g_autoptr(GError) error = NULL;
		char *platform = NULL;

		print_message("# %s\n", c->json);
		assert_false(lfs_oci_parse_config(
		    c->json, strlen(c->json), "cfg", &ids, &platform, &error));
		assert_null(ids);
		check_bad(c, error);
		g_free(platform);
	}
}

/* json.h: every message names the document, also for a diff_id that is
 * not a string. */
static void test_parse_config_diff_id_not_a_string(void **state)
{
	static const char json[] =
	    "{\"rootfs\": {\"diff_ids\": [\"" D_ABC "\", 7]}}";
	g_autoptr(GPtrArray) ids = NULL;
	g_autoptr(GError) error = NULL;
	char *platform = NULL;

	(void)state;
	assert_false(lfs_oci_parse_config(json, strlen(json), "img: config",
					  &ids, &platform, &error));
	assert_lfs_error(error, EINVAL, "img: config",
			 "rootfs.diff_ids[1]: not a string");
}

/* ---- media types and platforms ----------------------------------------- */

struct mt_case {
	const char *media_type;
	bool ok;
	enum lfs_compression comp;
};

static const struct mt_case media_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", true, LFS_COMP_NONE},
    {"application/vnd.oci.image.layer.v1.tar+gzip", true, LFS_COMP_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", true, LFS_COMP_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", true,
     LFS_COMP_NONE},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", true,
     LFS_COMP_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", true,
     LFS_COMP_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", true, LFS_COMP_NONE},
    /* Some tools label plain tars with Docker's gzip type: detected. */
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", true,
     LFS_COMP_DETECT},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", true,
     LFS_COMP_DETECT},
    {"application/vnd.docker.image.rootfs.diff.tar.zstd", true, LFS_COMP_ZSTD},
    {NULL, true, LFS_COMP_DETECT},
    {"application/vnd.oci.image.layer.v1.tar+bzip2", false, 0},
    {"application/vnd.oci.image.layer.v1.tar+xz", false, 0},
    {"application/vnd.oci.image.config.v1+json", false, 0},
    {"application/vnd.oci.image.manifest.v1+json", false, 0},
    {"application/vnd.oci.image.layer.v1.tar ", false, 0},
    {"APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR", false, 0},
    {"", false, 0},
};

static void test_media_type_compression(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(media_types); i++) {
		const struct mt_case *c = &media_types[i];
		enum lfs_compression comp = (enum lfs_compression)99;

		print_message("# %s\n",
			      c->media_type ? c->media_type : "(null)");
		assert_int_equal(
		    lfs_media_type_compression(c->media_type, &comp), c->ok);
		if (c->ok)
			assert_int_equal(comp, c->comp);
	}
}

static void test_compression_name(void **state)
{
	(void)state;
	assert_string_equal(lfs_compression_name(LFS_COMP_NONE), "none");
	assert_string_equal(lfs_compression_name(LFS_COMP_GZIP), "gzip");
	assert_string_equal(lfs_compression_name(LFS_COMP_ZSTD), "zstd");
	assert_string_equal(lfs_compression_name(LFS_COMP_DETECT), "unknown");
}

/* lfs_oci_platform_rank(): containerd's normalisation on both sides,
 * then the place of the descriptor's platform among those the wanted one
 * runs (docs/decisions/0017). */
struct plat_case {
	const char *os, *arch, *variant; /* the descriptor */
	const char *want;
	int rank;
};

static const struct plat_case platforms[] = {
    {"linux", "amd64", NULL, "linux/amd64", 0},
    {"linux", "amd64", NULL, "linux/arm64", -1},
    {"linux", "amd64", NULL, "windows/amd64", -1},
    {"windows", "amd64", NULL, "linux/amd64", -1},
    /* Spelling: case, and the names uname(2) and Debian use. */
    {"Linux", "AMD64", NULL, "linux/amd64", 0},
    {"linux", "x86_64", NULL, "linux/amd64", 0},
    {"linux", "amd64", NULL, "linux/x86_64", 0},
    {"linux", "amd64", NULL, "linux/x86-64", 0},
    {"linux", "i386", NULL, "linux/386", 0},
    {"linux", "386", NULL, "linux/i686", 0},
    {"linux", "aarch64", NULL, "linux/arm64", 0},
    {"linux", "arm64", NULL, "linux/aarch64", 0},
    {"linux", "arm", "v7", "linux/armhf", 0},
    {"linux", "armhf", NULL, "linux/arm/v7", 0},
    {"linux", "arm", "v6", "linux/armel", 0},
    {"linux", "armel", NULL, "linux/arm/v6", 0},
    /* arm64 without a variant, "8" and "v8" are one platform. */
    {"linux", "arm64", NULL, "linux/arm64/v8", 0},
    {"linux", "arm64", "v8", "linux/arm64/v8", 0},
    {"linux", "arm64", "8", "linux/arm64", 0},
    {"linux", "arm64", "v8", "linux/arm64", 0},
    {"linux", "arm64", NULL, "linux/arm64/8", 0},
    {"linux", "arm64", "v9", "linux/arm64/v8", -1},
    /* arm without a variant is v7; "7" is v7. */
    {"linux", "arm", NULL, "linux/arm/v7", 0},
    {"linux", "arm", "v7", "linux/arm", 0},
    {"linux", "arm", "7", "linux/arm/v7", 0},
    {"linux", "arm", NULL, "linux/arm/v6", -1},
    {"linux", "arm", "v8", "linux/arm", -1},
    /* Older arm runs on newer: v8 takes v7, v6, v5, in that order. */
    {"linux", "arm", "v8", "linux/arm/v8", 0},
    {"linux", "arm", "v7", "linux/arm/v8", 1},
    {"linux", "arm", "v6", "linux/arm/v8", 2},
    {"linux", "arm", "5", "linux/arm/v8", 3},
    {"linux", "arm", "v4", "linux/arm/v8", -1},
    {"linux", "arm", "v6", "linux/arm/v7", 1},
    {"linux", "arm", "v5", "linux/arm", 2},
    {"linux", "arm", "v5", "linux/arm/v6", 1},
    {"linux", "arm", "v7", "linux/arm/v6", -1},
    {"linux", "arm", "v6", "linux/arm/v5", -1},
    /* arm64 runs 32-bit arm, after every arm64 level it takes. */
    {"linux", "arm", "v8", "linux/arm64", 1},
    {"linux", "arm", NULL, "linux/arm64", 2},
    {"linux", "arm", "v5", "linux/arm64/v8", 4},
    {"linux", "arm64", "v8.1", "linux/arm64/v8.2", 1},
    {"linux", "arm64", NULL, "linux/arm64/v8.2", 2},
    {"linux", "arm", "v8", "linux/arm64/v8.2", 3},
    {"linux", "arm64", "v8.3", "linux/arm64/v8.2", -1},
    {"linux", "arm64", "v9", "linux/arm64/v9.1", 1},
    {"linux", "arm64", "v8.6", "linux/arm64/v9.1", 2},
    {"linux", "arm64", "v8.7", "linux/arm64/v9.1", -1},
    {"linux", "arm64", "v8", "linux/arm64/v9.1", 8},
    {"linux", "arm", "v7", "linux/arm64/v9", 8},
    /* amd64 levels, then 386. */
    {"linux", "386", NULL, "linux/amd64", 1},
    {"linux", "amd64", "v1", "linux/amd64", 0},
    {"linux", "amd64", "v2", "linux/amd64", -1},
    {"linux", "amd64", "v2", "linux/amd64/v3", 1},
    {"linux", "amd64", NULL, "linux/amd64/v3", 2},
    {"linux", "386", NULL, "linux/amd64/v3", 3},
    {"linux", "amd64", NULL, "linux/386", -1},
    /* Elsewhere the variant must be the same. */
    {"linux", "ppc64le", NULL, "linux/ppc64le", 0},
    {"linux", "riscv64", "rva23", "linux/riscv64", -1},
    {"linux", "riscv64", NULL, "linux/riscv64/rva23", -1},
    {"linux", "s390x", NULL, "linux/amd64", -1},
    /* Missing pieces match nothing. */
    {NULL, "amd64", NULL, "linux/amd64", -1},
    {"linux", NULL, NULL, "linux/amd64", -1},
    {"linux", "amd64", NULL, "linux", -1},
    {"linux", "arm", "v7", "linux/arm/v7/x", -1},
};

static void test_platform_rank(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(platforms); i++) {
		const struct plat_case *c = &platforms[i];
		struct lfs_oci_descriptor d = {0};

		d.os = (char *)c->os;
		d.arch = (char *)c->arch;
		d.variant = (char *)c->variant;
		print_message("# %s/%s/%s for %s\n", c->os, c->arch,
			      c->variant, c->want);
		assert_int_equal(lfs_oci_platform_rank(&d, c->want), c->rank);
	}
}

/* uname(2) machine names -> the platform the host runs. */
static const struct {
	const char *machine, *platform;
} machines[] = {
    {"x86_64", "linux/amd64"},	{"i686", "linux/386"},
    {"i386", "linux/386"},	{"aarch64", "linux/arm64"},
    /* A 32-bit userland on a 64-bit arm CPU. */
    {"armv8l", "linux/arm/v8"}, {"armv7l", "linux/arm/v7"},
    {"armv6l", "linux/arm/v6"}, {"armv5tel", "linux/arm/v5"},
    {"ppc64le", "linux/ppc64le"}, {"s390x", "linux/s390x"},
    {"riscv64", "linux/riscv64"}, {"loongarch64", "linux/loong64"},
    {"sparc64", "linux/sparc64"},
};

static void test_machine_platform(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(machines); i++) {
		g_autofree char *p =
		    lfs_oci_machine_platform(machines[i].machine);

		print_message("# %s\n", machines[i].machine);
		assert_string_equal(p, machines[i].platform);
	}
}

/* What an armv8l host (arm/v8) takes from an index: arm/v7, then v6,
 * then v5, wherever they stand; an armv7l host takes v7 and v6. */
static void test_machine_platform_takes_older_arm(void **state)
{
	static const struct {
		const char *machine, *variant;
		int rank;
	} cases[] = {
	    {"armv8l", "v7", 1}, {"armv8l", "v6", 2}, {"armv8l", "v5", 3},
	    {"armv7l", "v7", 0}, {"armv7l", NULL, 0}, {"armv7l", "v6", 1},
	    {"armv7l", "v8", -1}, {"armv6l", "v7", -1}, {"armv5tel", "v5", 0},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *host =
		    lfs_oci_machine_platform(cases[i].machine);
		struct lfs_oci_descriptor d = {
		    .os = (char *)"linux",
		    .arch = (char *)"arm",
		    .variant = (char *)cases[i].variant,
		};

		print_message("# %s: arm/%s\n", cases[i].machine,
			      cases[i].variant);
		assert_int_equal(lfs_oci_platform_rank(&d, host),
				 cases[i].rank);
	}
}

static void test_host_platform(void **state)
{
	g_autofree char *p = lfs_oci_host_platform();
	struct utsname u;
	g_autofree char *want = NULL;

	(void)state;
	assert_int_equal(uname(&u), 0);
	want = lfs_oci_machine_platform(u.machine);
	assert_string_equal(p, want);
}

/* ---- layouts on disk --------------------------------------------------- */

struct image_spec {
	const char *content;	/* file content: tells images apart */
	const char *arch;	/* config architecture; NULL: amd64 */
	const char *top_mt;	/* top layer's media type; NULL: tar+gzip */
	int ndiff_ids;		/* diff_ids listed; 0: one per layer */
	bool bad_plain_diff_id; /* the bottom (plain) layer's is wrong */
	bool docker; /* Docker's media types (schema 2), not OCI's */
};

struct image {
	char *manifest; /* digest */
	gsize manifest_size;
	char *config;
	gsize config_size;
	char *layers[2];
	gsize layer_sizes[2];
};

static void image_clear(struct image *im)
{
	g_free(im->manifest);
	g_free(im->config);
	g_free(im->layers[0]);
	g_free(im->layers[1]);
}

static char *blob_path(const char *dir, const char *digest)
{
	return g_build_filename(dir, "blobs", "sha256",
				digest + strlen("sha256:"), NULL);
}

static GBytes *layer_tar(const char *name, const char *content)
{
	struct fx_tar *t = fx_tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	fx_tar_file(t, name, content);
	return fx_tar_finish(t);
}

/* An image of two layers, a plain tar at the bottom and a gzipped one on
 * top, with its config and manifest, stored in layout @dir. */
static void put_image(const char *dir, const struct image_spec *s,
		      struct image *im)
{
	g_autoptr(GBytes) bottom = layer_tar("bottom", s->content);
	g_autoptr(GBytes) top_plain = layer_tar("top", s->content);
	g_autoptr(GBytes) top = fx_gzip(top_plain);
	g_autofree char *top_diff = fx_sha256(top_plain);
	g_autofree char *config = NULL, *manifest = NULL;
	int nids = s->ndiff_ids ? s->ndiff_ids : 2;

	im->layers[0] = fx_oci_blob(dir, bottom);
	im->layer_sizes[0] = g_bytes_get_size(bottom);
	im->layers[1] = fx_oci_blob(dir, top);
	im->layer_sizes[1] = g_bytes_get_size(top);
	config = g_strdup_printf(
	    "{\"architecture\": \"%s\", \"os\": \"linux\", \"rootfs\": "
	    "{\"type\": \"layers\", \"diff_ids\": [\"%s\"%s%s%s]}}",
	    s->arch ? s->arch : "amd64",
	    s->bad_plain_diff_id ? D_ABC : im->layers[0],
	    nids > 1 ? ", \"" : "", nids > 1 ? top_diff : "",
	    nids > 1 ? "\"" : "");
	im->config = fx_oci_blob_str(dir, config);
	im->config_size = strlen(config);
	manifest = g_strdup_printf(
	    "{\"schemaVersion\": 2, \"mediaType\": \"%s\", "
	    "\"config\": {\"mediaType\": \"%s\", \"digest\": "
	    "\"%s\", \"size\": %zu}, \"layers\": ["
	    "{\"mediaType\": \"%s\", \"digest\": \"%s\", "
	    "\"size\": %zu}, "
	    "{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu}]}",
	    s->docker ? MT_DOCKER_MANIFEST : MT_MANIFEST,
	    s->docker ? MT_DOCKER_CONFIG : MT_CONFIG, im->config,
	    im->config_size, s->docker ? MT_DOCKER_TAR : MT_TAR, im->layers[0],
	    im->layer_sizes[0],
	    s->top_mt	 ? s->top_mt
	    : s->docker ? MT_DOCKER_TGZ
			: MT_TGZ,
	    im->layers[1], im->layer_sizes[1]);
	im->manifest = fx_oci_blob_str(dir, manifest);
	im->manifest_size = strlen(manifest);
}

/* A descriptor for manifest @digest, optionally tagged and with a
 * platform (@os and "arch[/variant]"). */
static char *desc_json(const char *mt, const char *digest, gsize size,
		       const char *tag, const char *os, const char *arch)
{
	g_autofree char *ann =
	    tag ? g_strdup_printf(", \"annotations\": {\"" LFS_OCI_REF_NAME
				  "\": \"%s\"}",
				  tag)
		: g_strdup("");
	g_auto(GStrv) av = arch ? g_strsplit(arch, "/", 2) : NULL;
	g_autofree char *variant =
	    av && av[1] ? g_strdup_printf(", \"variant\": \"%s\"", av[1])
			: g_strdup("");
	g_autofree char *plat =
	    os ? g_strdup_printf(", \"platform\": {\"os\": \"%s\", "
				 "\"architecture\": \"%s\"%s}",
				 os, av[0], variant)
	       : g_strdup("");
	g_autofree char *mtj =
	    mt ? g_strdup_printf("\"mediaType\": \"%s\", ", mt) : g_strdup("");

	return g_strdup_printf("{%s\"digest\": \"%s\", \"size\": %zu%s%s}", mtj,
			       digest, size, ann, plat);
}

static char *image_desc(const struct image *im, const char *tag)
{
	return desc_json(MT_MANIFEST, im->manifest, im->manifest_size, tag,
			 NULL, NULL);
}

/* An index document listing @n descriptors. */
static char *index_json(const char *const *descs, size_t n)
{
	GString *s =
	    g_string_new("{\"schemaVersion\": 2, \"mediaType\": \"" MT_INDEX
			 "\", \"manifests\": [");

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", descs[i]);
	g_string_append(s, "]}");
	return g_string_free(s, FALSE);
}

static void write_index(const char *dir, const char *const *descs, size_t n)
{
	g_autofree char *json = index_json(descs, n);

	g_free(fx_write_str(dir, "index.json", json));
}

static void write_layout_file(const char *dir)
{
	g_free(fx_write_str(dir, "oci-layout",
			    "{\"imageLayoutVersion\": \"1.0.0\"}"));
}

struct fx {
	char *dir;
	struct image im, im2;
	struct lfs_image *img;
	GError *error;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = fx_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rmtree(f->dir);
	g_free(f->dir);
	image_clear(&f->im);
	image_clear(&f->im2);
	lfs_image_free(f->img);
	g_clear_error(&f->error);
	g_free(f);
	return 0;
}

/* A layout holding one tagged image. */
static void one_image(struct fx *f, const struct image_spec *s, const char *tag)
{
	g_autofree char *d = NULL;

	put_image(f->dir, s, &f->im);
	d = image_desc(&f->im, tag);
	write_index(f->dir, (const char *const[]){d}, 1);
	write_layout_file(f->dir);
}

static const struct image_spec plain_spec = {.content = "one"};

static void check_layer(const struct lfs_layer_spec *l, const char *dir,
			const char *digest, gsize size, const char *mt,
			enum lfs_compression comp, const char *pos)
{
	g_autofree char *path = blob_path(dir, digest);
	g_autofree char *got = lfs_digest_to_string(&l->digest);

	assert_int_equal(l->kind, LFS_LAYER_TAR);
	assert_string_equal(l->path, path);
	assert_int_equal(l->offset, 0);
	assert_true(l->length == LFS_LENGTH_TO_EOF);
	assert_string_equal(l->media_type, mt);
	assert_int_equal(l->compression, comp);
	assert_true(l->has_digest);
	assert_string_equal(got, digest);
	assert_int_equal(l->size, (int64_t)size);
	assert_str_contains(l->name, dir);
	assert_str_contains(l->name, pos);
}

static void test_open_two_layers(void **state)
{
	struct fx *f = *state;
	g_autofree char *source = NULL;

	one_image(f, &plain_spec, "v1");
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error),
	    &f->error);
	source = g_strdup_printf("oci:%s", f->dir);
	assert_string_equal(f->img->source, source);
	assert_string_equal(f->img->transport, "oci");
	assert_string_equal(f->img->manifest_digest, f->im.manifest);
	assert_string_equal(f->img->config_digest, f->im.config);
	assert_string_equal(f->img->platform, "linux/amd64");
	assert_int_equal(f->img->layers->len, 2);
	check_layer(f->img->layers->pdata[0], f->dir, f->im.layers[0],
		    f->im.layer_sizes[0], MT_TAR, LFS_COMP_NONE, "layer 1/2");
	check_layer(f->img->layers->pdata[1], f->dir, f->im.layers[1],
		    f->im.layer_sizes[1], MT_TGZ, LFS_COMP_GZIP, "layer 2/2");
}

/* The oci-layout file is optional: index.json alone identifies a layout. */
static void test_open_without_layout_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *layout = NULL;

	one_image(f, &plain_spec, NULL);
	layout = g_build_filename(f->dir, "oci-layout", NULL);
	assert_int_equal(unlink(layout), 0);
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_int_equal(f->img->layers->len, 2);
}

/* Two images in one layout, tagged v1 and v2. */
static void two_images(struct fx *f)
{
	struct image_spec s2 = {.content = "two"};
	g_autofree char *d1 = NULL, *d2 = NULL;

	put_image(f->dir, &plain_spec, &f->im);
	put_image(f->dir, &s2, &f->im2);
	d1 = image_desc(&f->im, "v1");
	d2 = image_desc(&f->im2, "v2");
	write_index(f->dir, (const char *const[]){d1, d2}, 2);
	write_layout_file(f->dir);
}

static void test_open_selects_tag(void **state)
{
	struct fx *f = *state;
	g_autofree char *source = NULL;

	two_images(f);
	assert_lfs_ok(
	    lfs_oci_open(f->dir, "v2", "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im2.manifest);
	assert_string_equal(f->img->config_digest, f->im2.config);
	source = g_strdup_printf("oci:%s:v2", f->dir);
	assert_string_equal(f->img->source, source);
	lfs_image_free(g_steal_pointer(&f->img));
	assert_lfs_ok(
	    lfs_oci_open(f->dir, "v1", "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im.manifest);
}

static void test_open_unknown_tag(void **state)
{
	struct fx *f = *state;

	two_images(f);
	assert_false(
	    lfs_oci_open(f->dir, "v3", "linux/amd64", &f->img, &f->error));
	assert_null(f->img);
	assert_lfs_error(f->error, ENOENT, f->dir, "index.json",
			 "no image tagged \"v3\"", "tags: v1, v2");
}

static void test_open_several_images_need_a_tag(void **state)
{
	struct fx *f = *state;

	two_images(f);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->dir, "index.json",
			 "holds 2 images", "tags: v1, v2");
}

/* index.json -> an image index blob with one manifest per platform. */
static char *nested_index(struct fx *f, bool index_media_type)
{
	struct image_spec arm = {.content = "arm", .arch = "arm64"};
	g_autofree char *amd_d = NULL, *arm_d = NULL, *nested = NULL;
	g_autofree char *top = NULL;
	char *digest;

	put_image(f->dir, &plain_spec, &f->im);
	put_image(f->dir, &arm, &f->im2);
	amd_d = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size,
			  NULL, "linux", "amd64");
	arm_d = desc_json(MT_MANIFEST, f->im2.manifest, f->im2.manifest_size,
			  NULL, "linux", "arm64");
	nested = index_json((const char *const[]){amd_d, arm_d}, 2);
	digest = fx_oci_blob_str(f->dir, nested);
	top = desc_json(index_media_type ? MT_INDEX : NULL, digest,
			strlen(nested), "multi", NULL, NULL);
	write_index(f->dir, (const char *const[]){top}, 1);
	return digest;
}

/* lfs_oci_open(@ref, @platform) picks the image of manifest @manifest. */
static void assert_opens(struct fx *f, const char *ref, const char *platform,
			 const char *manifest)
{
	assert_lfs_ok(lfs_oci_open(f->dir, ref, platform, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->manifest_digest, manifest);
	lfs_image_free(g_steal_pointer(&f->img));
}

static void test_open_nested_index_by_platform(void **state)
{
	struct fx *f = *state;

	g_free(nested_index(f, true)); /* only the layout is wanted */
	assert_lfs_ok(
	    lfs_oci_open(f->dir, "multi", "linux/arm64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->platform, "linux/arm64");
	lfs_image_free(g_steal_pointer(&f->img));
	assert_opens(f, "multi", "linux/arm64", f->im2.manifest);
	/* arm64 without a variant in the index is v8. */
	assert_opens(f, NULL, "linux/arm64/v8", f->im2.manifest);
	assert_opens(f, NULL, "linux/amd64", f->im.manifest);
}

/* Without a platform the host's is used. */
static void test_open_nested_index_host_platform(void **state)
{
	struct fx *f = *state;
	g_autofree char *host = lfs_oci_host_platform();

	g_free(nested_index(f, true)); /* only the layout is wanted */
	if (strcmp(host, "linux/amd64") != 0 &&
	    strcmp(host, "linux/arm64") != 0)
		skip();
	assert_lfs_ok(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->manifest_digest,
			    strcmp(host, "linux/amd64") == 0 ? f->im.manifest
							     : f->im2.manifest);
}

/* A nested index whose descriptor has no mediaType is known by shape. */
static void test_open_nested_index_without_media_type(void **state)
{
	struct fx *f = *state;

	g_free(nested_index(f, false)); /* only the layout is wanted */
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/arm64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im2.manifest);
}

static void test_open_nested_index_no_platform(void **state)
{
	struct fx *f = *state;
	g_autofree char *nested = nested_index(f, true);

	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/s390x", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, nested,
			 "no manifest for platform linux/s390x",
			 "available: linux/amd64, linux/arm64");
}

/* What `docker push` of a multi-platform image leaves in a layout (and
 * skopeo copies as it is): index.json naming a Docker manifest list,
 * which lists Docker schema 2 manifests, whose config and layers carry
 * Docker's media types too. */
static void test_open_nested_docker_manifest_list(void **state)
{
	struct fx *f = *state;
	struct image_spec amd = {.content = "amd", .docker = true};
	struct image_spec arm = {
	    .content = "arm", .arch = "arm64", .docker = true};
	g_autofree char *amd_d = NULL, *arm_d = NULL, *list = NULL;
	g_autofree char *digest = NULL, *top = NULL;

	put_image(f->dir, &amd, &f->im);
	put_image(f->dir, &arm, &f->im2);
	amd_d = desc_json(MT_DOCKER_MANIFEST, f->im.manifest,
			  f->im.manifest_size, NULL, "linux", "amd64");
	arm_d = desc_json(MT_DOCKER_MANIFEST, f->im2.manifest,
			  f->im2.manifest_size, NULL, "linux", "arm64/v8");
	list = g_strdup_printf("{\"schemaVersion\": 2, \"mediaType\": "
			       "\"" MT_DOCKER_LIST "\", \"manifests\": "
			       "[%s, %s]}",
			       amd_d, arm_d);
	digest = fx_oci_blob_str(f->dir, list);
	top = desc_json(MT_DOCKER_LIST, digest, strlen(list), "multi", NULL,
			NULL);
	write_index(f->dir, (const char *const[]){top}, 1);
	write_layout_file(f->dir);

	assert_lfs_ok(
	    lfs_oci_open(f->dir, "multi", "linux/arm64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im2.manifest);
	assert_string_equal(f->img->config_digest, f->im2.config);
	assert_string_equal(f->img->platform, "linux/arm64");
	assert_int_equal(f->img->layers->len, 2);
	/* Docker's gzip type is taken by content (some tools put plain tars
	 * under it). */
	check_layer(f->img->layers->pdata[0], f->dir, f->im2.layers[0],
		    f->im2.layer_sizes[0], MT_DOCKER_TAR, LFS_COMP_NONE,
		    "layer 1/2");
	check_layer(f->img->layers->pdata[1], f->dir, f->im2.layers[1],
		    f->im2.layer_sizes[1], MT_DOCKER_TGZ, LFS_COMP_DETECT,
		    "layer 2/2");
	lfs_image_free(g_steal_pointer(&f->img));
	assert_opens(f, NULL, "linux/amd64", f->im.manifest);
	/* A platform the list lacks: the error names the list's blob. */
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/s390x", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, digest,
			 "no manifest for platform linux/s390x",
			 "available: linux/amd64, linux/arm64/v8");
}

/* @levels image indexes between index.json and the manifest. */
static void nest(struct fx *f, int levels)
{
	g_autofree char *cur = NULL;
	gsize size;
	const char *mt = MT_MANIFEST;

	put_image(f->dir, &plain_spec, &f->im);
	cur = g_strdup(f->im.manifest);
	size = f->im.manifest_size;
	for (int i = 0; i < levels; i++) {
		g_autofree char *d = desc_json(mt, cur, size, NULL, NULL, NULL);
		g_autofree char *json = index_json((const char *const[]){d}, 1);

		g_free(cur);
		cur = fx_oci_blob_str(f->dir, json);
		size = strlen(json);
		mt = MT_INDEX;
	}
	{
		g_autofree char *d = desc_json(mt, cur, size, NULL, NULL, NULL);

		write_index(f->dir, (const char *const[]){d}, 1);
	}
}

static void test_open_nested_index_depth_limit(void **state)
{
	struct fx *f = *state;

	nest(f, 7);
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im.manifest);
	lfs_image_free(g_steal_pointer(&f->img));
	image_clear(&f->im);
	memset(&f->im, 0, sizeof(f->im));

	nest(f, 8);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ELOOP, f->dir, "nested deeper than 8");
}

/* ---- platform choice in index.json ------------------------------------- */

/* index.json listing an amd64 image (f->im) and an @arch one (f->im2)
 * directly, one entry per platform, both tagged @tag (NULL: untagged), as
 * skopeo copy --all and buildx can write them. */
static void platform_entries(struct fx *f, const char *tag, const char *arch)
{
	struct image_spec other = {.content = "other", .arch = arch};
	g_autofree char *d1 = NULL, *d2 = NULL;

	put_image(f->dir, &plain_spec, &f->im);
	put_image(f->dir, &other, &f->im2);
	d1 = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size, tag,
		       "linux", "amd64");
	d2 = desc_json(MT_MANIFEST, f->im2.manifest, f->im2.manifest_size, tag,
		       "linux", arch);
	write_index(f->dir, (const char *const[]){d1, d2}, 2);
	write_layout_file(f->dir);
}

/* Untagged per-platform entries: without --platform, the host's. */
static void test_open_top_level_host_platform(void **state)
{
	struct fx *f = *state;
	g_autofree char *host = lfs_oci_host_platform();

	if (strcmp(host, "linux/amd64") != 0 &&
	    strcmp(host, "linux/arm64") != 0)
		skip();
	platform_entries(f, NULL, "arm64");
	assert_lfs_ok(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->manifest_digest,
			    strcmp(host, "linux/amd64") == 0 ? f->im.manifest
							     : f->im2.manifest);
	assert_string_equal(f->img->platform, host);
}

/* ... and with --platform, that one, with the same variant rules as in a
 * nested index. */
static void test_open_top_level_by_platform(void **state)
{
	struct fx *f = *state;

	platform_entries(f, NULL, "arm64");
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/arm64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->platform, "linux/arm64");
	lfs_image_free(g_steal_pointer(&f->img));
	assert_opens(f, NULL, "linux/arm64", f->im2.manifest);
	assert_opens(f, NULL, "linux/arm64/v8", f->im2.manifest);
	assert_opens(f, NULL, "linux/amd64", f->im.manifest);
}

/* One tag on an entry per platform: the tag narrows, the platform picks.
 * A first entry tagged "old" claims s390x too, so a pick that ignored the
 * tag would take it. */
static void test_open_same_tag_across_platforms(void **state)
{
	struct fx *f = *state;
	g_autofree char *old = NULL, *d1 = NULL, *d2 = NULL;

	platform_entries(f, "latest", "s390x");
	old = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size, "old",
			"linux", "s390x");
	d1 = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size,
		       "latest", "linux", "amd64");
	d2 = desc_json(MT_MANIFEST, f->im2.manifest, f->im2.manifest_size,
		       "latest", "linux", "s390x");
	write_index(f->dir, (const char *const[]){old, d1, d2}, 3);
	assert_lfs_ok(
	    lfs_oci_open(f->dir, "latest", "linux/s390x", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im2.manifest);
	assert_string_equal(f->img->platform, "linux/s390x");
	lfs_image_free(g_steal_pointer(&f->img));
	assert_lfs_ok(
	    lfs_oci_open(f->dir, "latest", "linux/amd64", &f->img, &f->error),
	    &f->error);
	assert_string_equal(f->img->manifest_digest, f->im.manifest);
	lfs_image_free(g_steal_pointer(&f->img));
	/* Two tags are two images: platforms do not choose between them. */
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/s390x", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->dir, "index.json",
			 "holds 3 images", "tags: old, latest");
}

static void test_open_top_level_no_platform_match(void **state)
{
	struct fx *f = *state;
	g_autofree char *index = NULL;

	platform_entries(f, "latest", "arm64");
	index = g_build_filename(f->dir, "index.json", NULL);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/riscv64", &f->img, &f->error));
	assert_null(f->img);
	assert_lfs_error(f->error, ENOENT, index,
			 "no manifest for platform linux/riscv64",
			 "(available: linux/amd64, linux/arm64)");
	g_clear_error(&f->error);
	/* arm64 runs 32-bit arm, not the other way round. */
	assert_false(lfs_oci_open(f->dir, "latest", "linux/arm/v7", &f->img,
				  &f->error));
	assert_lfs_error(f->error, ENOENT, index, "linux/arm/v7");
}

/* An index listing one image per platform in @archs ("arch[/variant]",
 * NULL-terminated), straight in index.json or (@nested) in an image index
 * it names; the manifest digests go to @manifests. */
static void platform_index(struct fx *f, const char *const *archs,
			   bool nested, GPtrArray *manifests)
{
	g_autoptr(GPtrArray) descs = g_ptr_array_new_with_free_func(g_free);

	for (size_t i = 0; archs[i]; i++) {
		g_auto(GStrv) av = g_strsplit(archs[i], "/", 2);
		struct image_spec s = {.content = archs[i], .arch = av[0]};
		struct image im = {0};

		put_image(f->dir, &s, &im);
		g_ptr_array_add(descs,
				desc_json(MT_MANIFEST, im.manifest,
					  im.manifest_size, NULL, "linux",
					  archs[i]));
		g_ptr_array_add(manifests, g_strdup(im.manifest));
		image_clear(&im);
	}
	if (nested) {
		g_autofree char *json =
		    index_json((const char *const *)descs->pdata, descs->len);
		g_autofree char *digest = fx_oci_blob_str(f->dir, json);
		g_autofree char *top = desc_json(MT_INDEX, digest, strlen(json),
						 NULL, NULL, NULL);

		write_index(f->dir, (const char *const[]){top}, 1);
	} else {
		write_index(f->dir, (const char *const *)descs->pdata,
			    descs->len);
	}
}

/* The platform asked for wins wherever it stands in the index; without it,
 * the newest older one that runs there (docs/decisions/0017). */
static void test_open_prefers_exact_then_newest(void **state)
{
	static const char *const with_v8[] = {"arm/v5", "arm/v6", "arm",
					      "arm/v8", NULL};
	static const char *const no_v8[] = {"arm/v5", "arm/v6", "arm", NULL};
	static const char *const x86[] = {"386", "amd64", NULL};
	static const char *const x86_only_386[] = {"arm64", "386", NULL};
	static const struct {
		const char *const *archs;
		const char *want;
		int pick; /* index into archs */
	} cases[] = {
	    {with_v8, "linux/arm/v8", 3},   {with_v8, "linux/arm/v7", 2},
	    {no_v8, "linux/arm/v8", 2},	    {no_v8, "linux/arm", 2},
	    {no_v8, "linux/armhf", 2},	    {no_v8, "linux/arm/v6", 1},
	    {no_v8, "linux/armel", 1},	    {no_v8, "linux/arm/v5", 0},
	    {no_v8, "linux/arm64", 2},	    {with_v8, "linux/aarch64", 3},
	    {x86, "linux/amd64", 1},	    {x86, "linux/x86_64", 1},
	    {x86, "linux/386", 0},	    {x86_only_386, "linux/amd64", 1},
	    {x86_only_386, "linux/arm64/v8", 0},
	};

	for (int nested = 0; nested <= 1; nested++) {
		for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
			struct fx *f = *state;
			g_autoptr(GPtrArray) m =
			    g_ptr_array_new_with_free_func(g_free);

			print_message("# %s%s\n", cases[i].want,
				      nested ? " (nested index)" : "");
			platform_index(f, cases[i].archs, nested, m);
			assert_opens(f, NULL, cases[i].want,
				     m->pdata[cases[i].pick]);
		}
	}
}

/* Nothing that runs there: arm/v6 takes no v7, and arm/v5 no v6. */
static void test_open_no_older_arm(void **state)
{
	static const char *const archs[] = {"arm/v7", "arm/v6", NULL};
	struct fx *f = *state;
	g_autoptr(GPtrArray) m = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *index = g_build_filename(f->dir, "index.json", NULL);

	platform_index(f, archs, false, m);
	assert_opens(f, NULL, "linux/arm/v6", m->pdata[1]);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/arm/v5", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, index,
			 "no manifest for platform linux/arm/v5",
			 "(available: linux/arm/v7, linux/arm/v6)");
}

/* Without --platform, nothing for this machine: say so, and how to pick. */
static void test_open_top_level_no_host_match(void **state)
{
	struct fx *f = *state;
	g_autofree char *host = lfs_oci_host_platform();
	struct image_spec a = {.content = "a", .arch = "ppc64le"};
	struct image_spec b = {.content = "b", .arch = "s390x"};
	g_autofree char *d1 = NULL, *d2 = NULL;

	if (g_str_has_prefix(host, "linux/ppc64le") ||
	    g_str_has_prefix(host, "linux/s390x"))
		skip();
	put_image(f->dir, &a, &f->im);
	put_image(f->dir, &b, &f->im2);
	d1 = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size, NULL,
		       "linux", "ppc64le");
	d2 = desc_json(MT_MANIFEST, f->im2.manifest, f->im2.manifest_size, NULL,
		       "linux", "s390x");
	write_index(f->dir, (const char *const[]){d1, d2}, 2);
	assert_false(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, "index.json",
			 "no manifest for this machine's platform", host,
			 "available: linux/ppc64le, linux/s390x",
			 "choose one with --platform");
}

/* A lone entry naming another platform: taken without --platform (a
 * foreign image is still worth looking at), refused with one. */
static void test_open_lone_entry_other_platform(void **state)
{
	struct fx *f = *state;
	struct image_spec s = {.content = "s", .arch = "s390x"};
	g_autofree char *d = NULL, *index = NULL;
	g_autofree char *host = lfs_oci_host_platform();

	if (g_str_has_prefix(host, "linux/s390x"))
		skip();
	put_image(f->dir, &s, &f->im);
	d = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size, "v1",
		      "linux", "s390x");
	write_index(f->dir, (const char *const[]){d}, 1);
	assert_lfs_ok(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->platform, "linux/s390x");
	lfs_image_free(g_steal_pointer(&f->img));
	index = g_build_filename(f->dir, "index.json", NULL);
	assert_false(
	    lfs_oci_open(f->dir, "v1", "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, index,
			 "no manifest for platform linux/amd64",
			 "available: linux/s390x");
}

/* The same holds for a nested index with one entry. */
static void test_open_nested_index_lone_other_platform(void **state)
{
	struct fx *f = *state;
	struct image_spec s = {.content = "s", .arch = "s390x"};
	g_autofree char *d = NULL, *nested = NULL, *digest = NULL;
	g_autofree char *top = NULL, *host = lfs_oci_host_platform();

	if (g_str_has_prefix(host, "linux/s390x"))
		skip();
	put_image(f->dir, &s, &f->im);
	d = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size, NULL,
		      "linux", "s390x");
	nested = index_json((const char *const[]){d}, 1);
	digest = fx_oci_blob_str(f->dir, nested);
	top = desc_json(MT_INDEX, digest, strlen(nested), NULL, NULL, NULL);
	write_index(f->dir, (const char *const[]){top}, 1);
	assert_lfs_ok(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->manifest_digest, f->im.manifest);
	lfs_image_free(g_steal_pointer(&f->img));
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, digest,
			 "no manifest for platform linux/amd64",
			 "available: linux/s390x");
}

/* No descriptor names the platform: an explicit --platform is checked
 * against the config, which names it. */
static void test_open_config_platform_mismatch(void **state)
{
	struct fx *f = *state;

	one_image(f, &plain_spec, NULL);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/s390x", &f->img, &f->error));
	assert_null(f->img);
	assert_lfs_error(f->error, ENOENT, f->dir, f->im.config,
			 "the image is for platform linux/amd64, not "
			 "linux/s390x");
	g_clear_error(&f->error);
	assert_false(lfs_oci_open(f->dir, NULL, "linux", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->im.config, "not linux");
	g_clear_error(&f->error);
	image_clear(&f->im);
	memset(&f->im, 0, sizeof(f->im));

	/* Through a nested index whose entry names no platform: the same. */
	nest(f, 1);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/s390x", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->im.config,
			 "for platform linux/amd64, not linux/s390x");
}

/* A config leaves out its variant more often than not; that does not
 * contradict the variant asked for.  Without --platform, a single image
 * of another architecture mounts. */
static void test_open_config_platform_lenient(void **state)
{
	struct fx *f = *state;
	struct image_spec arm = {.content = "arm", .arch = "arm64"};

	one_image(f, &arm, NULL);
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/arm64/v8", &f->img, &f->error),
	    &f->error);
	lfs_image_free(g_steal_pointer(&f->img));
	assert_lfs_ok(
	    lfs_oci_open(f->dir, NULL, "linux/arm64", &f->img, &f->error),
	    &f->error);
	lfs_image_free(g_steal_pointer(&f->img));
	assert_lfs_ok(lfs_oci_open(f->dir, NULL, NULL, &f->img, &f->error),
		      &f->error);
	assert_string_equal(f->img->platform, "linux/arm64");
}

static void test_open_missing_manifest_blob(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = NULL;

	one_image(f, &plain_spec, NULL);
	path = blob_path(f->dir, f->im.manifest);
	assert_int_equal(unlink(path), 0);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, path, f->im.manifest,
			 "blob is missing");
}

static void test_open_missing_layer_blob(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = NULL;

	one_image(f, &plain_spec, NULL);
	path = blob_path(f->dir, f->im.layers[1]);
	assert_int_equal(unlink(path), 0);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, path, "layer 2/2", "missing");
}

/* The manifest blob is one byte longer than its descriptor says. */
static void test_open_manifest_size_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *d = NULL, *path = NULL, *says = NULL;

	put_image(f->dir, &plain_spec, &f->im);
	d = desc_json(MT_MANIFEST, f->im.manifest, f->im.manifest_size - 1,
		      NULL, NULL, NULL);
	write_index(f->dir, (const char *const[]){d}, 1);
	path = blob_path(f->dir, f->im.manifest);
	says = g_strdup_printf("descriptor says %zu bytes, blob has %zu",
			       f->im.manifest_size - 1, f->im.manifest_size);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "size mismatch", says);
}

/* A JSON blob bigger than LFS_OCI_JSON_MAX is refused before it is read. */
static void test_open_manifest_too_big(void **state)
{
	struct fx *f = *state;
	g_autofree char *d = NULL;

	put_image(f->dir, &plain_spec, &f->im);
	d = desc_json(MT_MANIFEST, f->im.manifest, LFS_OCI_JSON_MAX + 1, NULL,
		      NULL, NULL);
	write_index(f->dir, (const char *const[]){d}, 1);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EFBIG, f->im.manifest, "larger than");
}

static void test_open_layer_size_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = NULL, *says = NULL;
	FILE *fp;

	one_image(f, &plain_spec, NULL);
	path = blob_path(f->dir, f->im.layers[0]);
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputc('x', fp);
	fclose(fp);
	says = g_strdup_printf("manifest says %zu bytes", f->im.layer_sizes[0]);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "layer 1/2", "size mismatch",
			 says);
}

/* Change one byte of a stored JSON blob, keeping its size. */
static void alter_blob(const char *dir, const char *digest)
{
	g_autofree char *path = blob_path(dir, digest);
	g_autofree char *data = NULL;
	gsize len;
	char *brace;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	/* "{\"x..." -> "{ x..." would break it; swap the first ": " for
	 * ":\t", which keeps it valid JSON of the same size. */
	brace = strstr(data, ": ");
	assert_non_null(brace);
	brace[1] = '\t';
	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void test_open_manifest_digest_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = NULL;

	one_image(f, &plain_spec, NULL);
	alter_blob(f->dir, f->im.manifest);
	path = blob_path(f->dir, f->im.manifest);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "digest mismatch",
			 f->im.manifest);
	/* Its own exit status (layerfs(1), EXIT STATUS). */
	assert_lfs_cause(f->error, LFS_CAUSE_INTEGRITY);
}

static void test_open_config_digest_mismatch(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = NULL;

	one_image(f, &plain_spec, NULL);
	alter_blob(f->dir, f->im.config);
	path = blob_path(f->dir, f->im.config);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "digest mismatch");
}

static void test_open_malformed_index_json(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "index.json", NULL);

	g_free(fx_write_str(f->dir, "index.json", "{\"manifests\": [}"));
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "malformed JSON");
}

static void test_open_index_json_wrong_type(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "index.json", NULL);

	g_free(fx_write_str(f->dir, "index.json",
			    "{\"schemaVersion\": 2, \"manifests\": {}}"));
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, path, "manifests: not an array");
}

static void test_open_missing_index_json(void **state)
{
	struct fx *f = *state;

	write_layout_file(f->dir);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, f->dir, "index.json");
}

static void test_open_no_such_directory(void **state)
{
	struct fx *f = *state;
	g_autofree char *dir = g_build_filename(f->dir, "nope", NULL);

	assert_false(
	    lfs_oci_open(dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOENT, dir, "no such directory");
}

struct layout_case {
	const char *content;
	const char *problem;
};

static const struct layout_case bad_layout_files[] = {
    {"not json", "malformed JSON"},
    {"[]", "not a JSON object"},
    {"{}", "missing \"imageLayoutVersion\""},
    {"{\"imageLayoutVersion\": 1}", "imageLayoutVersion: not a string"},
};

static void test_open_broken_layout_file(void **state)
{
	struct fx *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "oci-layout", NULL);

	one_image(f, &plain_spec, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_layout_files); i++) {
		g_autoptr(GError) error = NULL;
		struct lfs_image *img = NULL;

		print_message("# %s\n", bad_layout_files[i].content);
		g_free(fx_write_str(f->dir, "oci-layout",
				    bad_layout_files[i].content));
		assert_false(
		    lfs_oci_open(f->dir, NULL, "linux/amd64", &img, &error));
		assert_null(img);
		assert_lfs_error(error, EINVAL, path,
				 bad_layout_files[i].problem);
	}
}

static void test_open_unsupported_layer_media_type(void **state)
{
	struct fx *f = *state;
	struct image_spec s = {
	    .content = "x",
	    .top_mt = "application/vnd.oci.image.layer.v1.tar+bzip2",
	};

	one_image(f, &s, NULL);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, ENOTSUP, f->dir, "layer 2/2",
			 "\"application/vnd.oci.image.layer.v1.tar+bzip2\"",
			 "not a layer type");
}

static void test_open_diff_ids_count_mismatch(void **state)
{
	struct fx *f = *state;
	struct image_spec s = {.content = "x", .ndiff_ids = 1};

	one_image(f, &s, NULL);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->dir, ": config sha256:",
			 "lists 1 diff_ids for 2 layers");
}

/* An uncompressed layer's diff_id is its blob digest; they must agree. */
static void test_open_plain_layer_diff_id_mismatch(void **state)
{
	struct fx *f = *state;
	struct image_spec s = {.content = "x", .bad_plain_diff_id = true};

	one_image(f, &s, NULL);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, f->dir, "layer 1/2",
			 "diff_id does not match");
}

/* index.json points at a blob that is a config, not a manifest. */
static void test_open_manifest_of_wrong_type(void **state)
{
	struct fx *f = *state;
	g_autofree char *d = NULL, *json = NULL, *digest = NULL;

	json =
	    g_strdup_printf("{\"schemaVersion\": 2, \"mediaType\": \"" MT_CONFIG
			    "\", \"config\": {}, \"layers\": []}");
	digest = fx_oci_blob_str(f->dir, json);
	d = desc_json(MT_MANIFEST, digest, strlen(json), NULL, NULL, NULL);
	write_index(f->dir, (const char *const[]){d}, 1);
	assert_false(
	    lfs_oci_open(f->dir, NULL, "linux/amd64", &f->img, &f->error));
	assert_lfs_error(f->error, EINVAL, digest, "is not an image manifest");
}

#define FT(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_index_valid),
	    cmocka_unit_test(test_parse_index_malformed),
	    cmocka_unit_test(test_parse_manifest_valid),
	    cmocka_unit_test(test_config_created),
	    cmocka_unit_test(test_config_run),
	    cmocka_unit_test(test_parse_manifest_without_media_type),
	    cmocka_unit_test(test_parse_manifest_malformed),
	    cmocka_unit_test(test_parse_config_platform_and_diff_ids),
	    cmocka_unit_test(test_parse_config_minimal),
	    cmocka_unit_test(test_parse_config_malformed),
	    cmocka_unit_test(test_parse_config_diff_id_not_a_string),
	    cmocka_unit_test(test_media_type_compression),
	    cmocka_unit_test(test_compression_name),
	    cmocka_unit_test(test_platform_rank),
	    cmocka_unit_test(test_machine_platform),
	    cmocka_unit_test(test_machine_platform_takes_older_arm),
	    cmocka_unit_test(test_host_platform),
	    FT(test_open_two_layers),
	    FT(test_open_without_layout_file),
	    FT(test_open_selects_tag),
	    FT(test_open_unknown_tag),
	    FT(test_open_several_images_need_a_tag),
	    FT(test_open_nested_index_by_platform),
	    FT(test_open_nested_index_host_platform),
	    FT(test_open_nested_index_without_media_type),
	    FT(test_open_nested_index_no_platform),
	    FT(test_open_nested_docker_manifest_list),
	    FT(test_open_nested_index_depth_limit),
	    FT(test_open_top_level_host_platform),
	    FT(test_open_top_level_by_platform),
	    FT(test_open_same_tag_across_platforms),
	    FT(test_open_top_level_no_platform_match),
	    FT(test_open_prefers_exact_then_newest),
	    FT(test_open_no_older_arm),
	    FT(test_open_top_level_no_host_match),
	    FT(test_open_lone_entry_other_platform),
	    FT(test_open_nested_index_lone_other_platform),
	    FT(test_open_config_platform_mismatch),
	    FT(test_open_config_platform_lenient),
	    FT(test_open_missing_manifest_blob),
	    FT(test_open_missing_layer_blob),
	    FT(test_open_manifest_size_mismatch),
	    FT(test_open_manifest_too_big),
	    FT(test_open_layer_size_mismatch),
	    FT(test_open_manifest_digest_mismatch),
	    FT(test_open_config_digest_mismatch),
	    FT(test_open_malformed_index_json),
	    FT(test_open_index_json_wrong_type),
	    FT(test_open_missing_index_json),
	    FT(test_open_no_such_directory),
	    FT(test_open_broken_layout_file),
	    FT(test_open_unsupported_layer_media_type),
	    FT(test_open_diff_ids_count_mismatch),
	    FT(test_open_plain_layer_diff_id_mismatch),
	    FT(test_open_manifest_of_wrong_type),
	};

	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
