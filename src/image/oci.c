/* OCI image layout I/O and lfs_oci_open(): oci-layout and index.json, the
 * walk through nested indexes to the manifest, and the layer specs.  Every
 * JSON blob is checked for size and digest before it is parsed; a layer
 * blob only for presence and size (indexing reads it and checks its digest). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/json.h"

#include "oci_internal.h"

/* Nested indexes deeper than this are a loop or an attack. */
#define MAX_INDEX_DEPTH 8

static char *blob_path(const char *dir, const struct lfs_digest *d)
{
	g_autofree char *s = lfs_digest_to_string(d);
	g_autofree char *hex = lfs_digest_hex(d);
	char *colon = strchr(s, ':');

	*colon = '\0';
	return g_build_filename(dir, "blobs", s, hex, NULL);
}

/* Read a JSON blob and check it against its descriptor before parsing. */
gboolean lfs_oci_read_blob(const char *dir,
			   const struct lfs_oci_descriptor *desc,
			   const char *what, char **data, size_t *len,
			   GError **error)
{
	g_autofree char *path = blob_path(dir, &desc->digest);
	g_autofree char *digest = lfs_digest_to_string(&desc->digest);
	g_autoptr(lfs_hasher) h = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *buf = NULL;
	struct lfs_digest got;
	size_t n;
	int err;

	if (desc->size >= 0 && (uint64_t)desc->size > LFS_OCI_JSON_MAX)
		return lfs_fail(error, EFBIG,
				"%s %s: %lld bytes, larger than the %u allowed",
				what, digest, (long long)desc->size,
				LFS_OCI_JSON_MAX);
	if (!lfs_file_read_small(path, LFS_OCI_JSON_MAX, &buf, &n, &local)) {
		if (g_error_matches(local, LFS_ERROR, ENOENT))
			return lfs_fail(error, ENOENT,
					"%s %s: blob is missing (%s)", what,
					digest, path);
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (desc->size >= 0 && n != (size_t)desc->size)
		return lfs_fail_cause(error, LFS_CAUSE_INTEGRITY, EINVAL,
				"%s: size mismatch: descriptor says %lld "
				"bytes, blob has %zu",
				path, (long long)desc->size, n);
	err = lfs_hasher_new(desc->digest.algo, &h);
	if (err < 0)
		return lfs_fail(error, -err, "%s: %s", path, g_strerror(-err));
	lfs_hasher_update(h, buf, n);
	lfs_hasher_finish(h, &got);
	if (!lfs_digest_equal(&got, &desc->digest)) {
		g_autofree char *gots = lfs_digest_to_string(&got);

		return lfs_fail_cause(error, LFS_CAUSE_INTEGRITY, EINVAL,
				"%s: digest mismatch: descriptor says %s, "
				"content is %s",
				path, digest, gots);
	}
	*data = g_steal_pointer(&buf);
	*len = n;
	return TRUE;
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 ||
		      strcmp(mt, MT_DOCKER_LIST) == 0);
}

static struct lfs_oci_descriptor *
descriptor_copy(const struct lfs_oci_descriptor *d)
{
	struct lfs_oci_descriptor *c = g_memdup2(d, sizeof(*d));

	c->media_type = g_strdup(d->media_type);
	c->ref_name = g_strdup(d->ref_name);
	c->os = g_strdup(d->os);
	c->arch = g_strdup(d->arch);
	c->variant = g_strdup(d->variant);
	return c;
}

/* Whether a blob fetched through @desc is an index.  Descriptors in
 * index.json may omit mediaType; the document then tells by its shape. */
static bool blob_is_index(const struct lfs_oci_descriptor *desc,
			  const char *data)
{
	if (desc->media_type)
		return is_index_type(desc->media_type);
	return strstr(data, "\"manifests\"") != NULL &&
	       strstr(data, "\"layers\"") == NULL;
}

/* Follow @top through nested indexes to a manifest and parse it. */
static gboolean resolve_manifest(const char *dir,
				 const struct lfs_oci_descriptor *top,
				 struct lfs_oci_pick *p,
				 struct lfs_oci_manifest **out,
				 struct lfs_digest *manifest_digest,
				 GError **error)
{
	g_autoptr(lfs_oci_descriptor) desc = descriptor_copy(top);

	for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
		g_autofree char *digest = lfs_digest_to_string(&desc->digest);
		g_autofree char *what = g_strdup_printf("%s: blob %s", dir,
							digest);
		g_autofree char *data = NULL;
		g_autoptr(GPtrArray) descs = NULL;
		struct lfs_oci_descriptor *next = NULL;
		size_t len;

		if (!lfs_oci_read_blob(dir, desc, "manifest", &data, &len, error))
			return FALSE;
		if (!blob_is_index(desc, data)) {
			*manifest_digest = desc->digest;
			return lfs_oci_parse_manifest(data, len, what, out,
						      error);
		}
		if (!lfs_oci_parse_index(data, len, what, &descs, error) ||
		    !lfs_oci_select_platform(descs, what, p, &next, error))
			return FALSE;
		lfs_oci_descriptor_free(desc);
		desc = descriptor_copy(next);
	}
	return lfs_fail(error, ELOOP,
			"%s: image indexes nested deeper than %d", dir,
			MAX_INDEX_DEPTH);
}

static gboolean check_layout_file(const char *dir, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "oci-layout", NULL);
	g_autofree char *data = NULL;
	g_autoptr(JsonNode) node = NULL;
	const char *version;
	size_t len;

	/* Some writers omit oci-layout; index.json alone identifies the
	 * layout.  A present but broken one is an error. */
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	return lfs_file_read_small(path, LFS_OCI_JSON_MAX, &data, &len,
				   error) &&
	       lfs_json_parse(data, len, path, false, &node, error) &&
	       lfs_json_string(json_node_get_object(node),
			       "imageLayoutVersion", true, path, &version,
			       error);
}

/* A layer descriptor -> a layer spec; the blob must exist with the size the
 * descriptor promises. */
static gboolean layer_spec(const char *dir, guint i, guint n,
			   const struct lfs_oci_descriptor *d,
			   const struct lfs_digest *diff_id,
			   struct lfs_layer_spec **out, GError **error)
{
	g_autofree char *path = blob_path(dir, &d->digest);
	g_autofree char *digest = lfs_digest_to_string(&d->digest);
	g_autofree char *name = g_strdup_printf("%s layer %u/%u (%.19s)", dir,
						i + 1, n, digest);
	struct lfs_layer_spec *spec = NULL;
	enum lfs_compression comp;
	struct stat st;

	if (!lfs_media_type_compression(d->media_type, &comp))
		return lfs_fail(error, ENOTSUP,
				"%s: media type \"%s\" is not a layer type "
				"layerfs can apply",
				name, d->media_type);
	if (stat(path, &st) < 0)
		return lfs_fail(error, errno, "%s: blob %s: %s (%s)", name,
				digest,
				errno == ENOENT ? "missing" : g_strerror(errno),
				path);
	if (!S_ISREG(st.st_mode))
		return lfs_fail(error, EINVAL, "%s: %s is not a regular file",
				name, path);
	if (st.st_size != d->size)
		return lfs_fail_cause(error, LFS_CAUSE_INTEGRITY, EINVAL,
				"%s: size mismatch: manifest says %lld bytes, "
				"blob %s has %lld",
				name, (long long)d->size, path,
				(long long)st.st_size);
	spec = lfs_layer_spec_new(LFS_LAYER_TAR, path, name);
	spec->media_type = g_strdup(d->media_type);
	spec->compression = comp;
	spec->has_digest = true;
	spec->digest = d->digest;
	spec->size = d->size;
	/* The blob digest already pins the uncompressed stream, so the
	 * config's diff_id is not hashed again (docs/decisions/0002).  For an
	 * uncompressed layer the two must simply agree. */
	if (diff_id && comp == LFS_COMP_NONE &&
	    !lfs_digest_equal(diff_id, &d->digest)) {
		lfs_layer_spec_free(spec);
		return lfs_fail(error, EINVAL,
				"%s: config diff_id does not match the digest "
				"of this uncompressed layer",
				name);
	}
	*out = spec;
	return TRUE;
}

gboolean lfs_oci_open(const char *dir, const char *ref, const char *platform,
		      struct lfs_image **out, GError **error)
{
	g_autofree char *index_path = g_build_filename(dir, "index.json", NULL);
	g_autofree char *host = lfs_oci_host_platform();
	struct lfs_oci_pick pick = {.ref = ref,
			    .platform = platform ? platform : host,
			    .explicit = platform != NULL};
	g_autofree char *data = NULL, *config = NULL, *cwhat = NULL;
	g_autofree char *source = NULL, *cplatform = NULL, *cdigest = NULL;
	g_autofree char *abs = NULL;
	g_autoptr(GPtrArray) descs = NULL, diff_ids = NULL;
	g_autoptr(lfs_oci_manifest) m = NULL;
	g_autoptr(lfs_image) img = NULL;
	struct lfs_oci_descriptor *top = NULL;
	struct lfs_digest mdigest;
	size_t len;

	if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
		return lfs_fail(error, ENOENT, "%s: no such directory", dir);
	if (!check_layout_file(dir, error) ||
	    !lfs_file_read_small(index_path, LFS_OCI_JSON_MAX, &data, &len,
				 error) ||
	    !lfs_oci_parse_index(data, len, index_path, &descs, error) ||
	    !lfs_oci_select_top(descs, dir, &pick, &top, error) ||
	    !resolve_manifest(dir, top, &pick, &m, &mdigest, error))
		return FALSE;

	cdigest = lfs_digest_to_string(&m->config->digest);
	cwhat = g_strdup_printf("%s: config %s", dir, cdigest);
	if (!lfs_oci_read_blob(dir, m->config, "config", &config, &len, error) ||
	    !lfs_oci_parse_config(config, len, cwhat, &diff_ids, &cplatform,
				  error) ||
	    !lfs_oci_check_config_platform(cwhat, cplatform, &pick, error))
		return FALSE;
	if (diff_ids->len && diff_ids->len != m->layers->len)
		return lfs_fail(error, EINVAL,
				"%s: lists %u diff_ids for %u layers", cwhat,
				diff_ids->len, m->layers->len);

	abs = lfs_image_abspath(dir);
	source = ref ? g_strdup_printf("oci:%s:%s", abs, ref)
		     : g_strdup_printf("oci:%s", abs);
	img = lfs_image_new(source, "oci");
	img->has_created = lfs_oci_config_created(config, len, &img->created);
	if (!lfs_oci_config_run(config, len, cwhat, &img->run, error))
		return FALSE;
	img->config = g_bytes_new(config, len);
	img->manifest_digest = lfs_digest_to_string(&mdigest);
	img->config_digest = g_steal_pointer(&cdigest);
	img->platform = g_steal_pointer(&cplatform);
	img->oci_dir = g_strdup(abs);
	for (guint i = 0; i < m->layers->len; i++) {
		struct lfs_layer_spec *spec = NULL;

		if (!layer_spec(dir, i, m->layers->len, m->layers->pdata[i],
				diff_ids->len ? diff_ids->pdata[i] : NULL,
				&spec, error))
			return FALSE;
		g_ptr_array_add(img->layers, spec);
	}
	*out = g_steal_pointer(&img);
	return TRUE;
}
