/* OCI JSON documents: an image index (index.json or a nested index), an
 * image manifest and an image config, each parsed from bytes (never a
 * path) and checked member by member; errors name the document and the
 * member.  Reading and verifying the blobs is oci.c's job. */
#include <errno.h>
#include <string.h>

#include "layerfs/error.h"
#include "layerfs/json.h"

#include "oci_internal.h"

void lfs_oci_descriptor_free(struct lfs_oci_descriptor *d)
{
	if (!d)
		return;
	g_free(d->media_type);
	g_free(d->ref_name);
	g_free(d->os);
	g_free(d->arch);
	g_free(d->variant);
	g_free(d);
}

void lfs_oci_manifest_free(struct lfs_oci_manifest *m)
{
	if (!m)
		return;
	lfs_oci_descriptor_free(m->config);
	if (m->layers)
		g_ptr_array_unref(m->layers);
	g_free(m);
}

static gboolean parse_platform(JsonObject *o, const char *what,
			       struct lfs_oci_descriptor *d, GError **error)
{
	g_autofree char *pwhat = g_strdup_printf("%s.platform", what);
	JsonObject *p = NULL;
	const char *os = NULL, *arch = NULL, *variant = NULL;

	if (!lfs_json_object(o, "platform", false, what, &p, error))
		return FALSE;
	if (!p)
		return TRUE;
	if (!lfs_json_string(p, "os", true, pwhat, &os, error) ||
	    !lfs_json_string(p, "architecture", true, pwhat, &arch, error) ||
	    !lfs_json_string(p, "variant", false, pwhat, &variant, error))
		return FALSE;
	d->os = g_strdup(os);
	d->arch = g_strdup(arch);
	d->variant = g_strdup(variant);
	return TRUE;
}

static gboolean parse_descriptor(JsonObject *o, const char *what,
				 struct lfs_oci_descriptor **out,
				 GError **error)
{
	g_autoptr(lfs_oci_descriptor) d = g_new0(struct lfs_oci_descriptor, 1);
	const char *mt = NULL, *digest = NULL, *ref = NULL;
	JsonObject *ann = NULL;

	if (!lfs_json_string(o, "mediaType", false, what, &mt, error) ||
	    !lfs_json_string(o, "digest", true, what, &digest, error) ||
	    !lfs_json_int(o, "size", true, what, &d->size, error) ||
	    !lfs_json_object(o, "annotations", false, what, &ann, error))
		return FALSE;
	if (lfs_digest_parse(digest, &d->digest) < 0)
		return lfs_fail(error, EINVAL,
				"%s.digest: \"%s\" is not a valid digest", what,
				digest);
	if (d->size < 0)
		return lfs_fail(error, EINVAL, "%s.size: negative", what);
	if (ann && !lfs_json_string(ann, LFS_OCI_REF_NAME, false, what, &ref,
				    error))
		return FALSE;
	if (!parse_platform(o, what, d, error))
		return FALSE;
	d->media_type = g_strdup(mt);
	d->ref_name = g_strdup(ref);
	*out = g_steal_pointer(&d);
	return TRUE;
}

static gboolean check_schema_version(JsonObject *root, const char *what,
				     GError **error)
{
	int64_t v = 2;

	if (!lfs_json_int(root, "schemaVersion", false, what, &v, error))
		return FALSE;
	if (v != 2)
		return lfs_fail(error, ENOTSUP,
				"%s: schemaVersion %lld is not supported "
				"(only 2)",
				what, (long long)v);
	return TRUE;
}

static gboolean parse_descriptor_array(JsonArray *arr, const char *what,
				       GPtrArray **out, GError **error)
{
	g_autoptr(GPtrArray) descs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)lfs_oci_descriptor_free);

	for (guint i = 0; i < json_array_get_length(arr); i++) {
		g_autofree char *ewhat = g_strdup_printf("%s[%u]", what, i);
		struct lfs_oci_descriptor *d;
		JsonObject *o;

		if (!lfs_json_elem_object(arr, i, what, &o, error) ||
		    !parse_descriptor(o, ewhat, &d, error))
			return FALSE;
		g_ptr_array_add(descs, d);
	}
	*out = g_steal_pointer(&descs);
	return TRUE;
}

gboolean lfs_oci_parse_index(const char *json, size_t len, const char *what,
			     GPtrArray **out, GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	g_autofree char *mwhat = g_strdup_printf("%s: manifests", what);
	JsonObject *root;
	JsonArray *arr;

	if (!lfs_json_parse(json, len, what, false, &node, error))
		return FALSE;
	root = json_node_get_object(node);
	if (!check_schema_version(root, what, error) ||
	    !lfs_json_array(root, "manifests", true, what, &arr, error))
		return FALSE;
	return parse_descriptor_array(arr, mwhat, out, error);
}

gboolean lfs_oci_parse_manifest(const char *json, size_t len,
				const char *what, struct lfs_oci_manifest **out,
				GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(lfs_oci_manifest) m = g_new0(struct lfs_oci_manifest, 1);
	g_autofree char *cwhat = g_strdup_printf("%s: config", what);
	g_autofree char *lwhat = g_strdup_printf("%s: layers", what);
	const char *mt = NULL;
	JsonObject *root, *config;
	JsonArray *layers;

	if (!lfs_json_parse(json, len, what, false, &node, error))
		return FALSE;
	root = json_node_get_object(node);
	if (!check_schema_version(root, what, error) ||
	    !lfs_json_string(root, "mediaType", false, what, &mt, error))
		return FALSE;
	if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 &&
	    strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return lfs_fail(error, EINVAL,
				"%s: mediaType \"%s\" is not an image manifest",
				what, mt);
	if (!lfs_json_object(root, "config", true, what, &config, error) ||
	    !parse_descriptor(config, cwhat, &m->config, error) ||
	    !lfs_json_array(root, "layers", true, what, &layers, error) ||
	    !parse_descriptor_array(layers, lwhat, &m->layers, error))
		return FALSE;
	*out = g_steal_pointer(&m);
	return TRUE;
}

static gboolean parse_diff_ids(JsonObject *root, const char *what,
			       GPtrArray *out, GError **error)
{
	g_autofree char *rootfs_what = g_strdup_printf("%s: rootfs", what);
	g_autofree char *ids_what = g_strdup_printf("%s: rootfs.diff_ids",
						    what);
	JsonObject *rootfs = NULL;
	JsonArray *ids = NULL;

	if (!lfs_json_object(root, "rootfs", false, what, &rootfs, error))
		return FALSE;
	if (!rootfs)
		return TRUE;
	if (!lfs_json_array(rootfs, "diff_ids", false, rootfs_what, &ids,
			    error))
		return FALSE;
	for (guint i = 0; ids && i < json_array_get_length(ids); i++) {
		struct lfs_digest *d = g_new0(struct lfs_digest, 1);
		const char *s;

		g_ptr_array_add(out, d);
		if (!lfs_json_elem_string(ids, i, ids_what, &s, error))
			return FALSE;
		if (lfs_digest_parse(s, d) < 0)
			return lfs_fail(error, EINVAL,
					"%s: rootfs.diff_ids[%u]: \"%s\" is "
					"not a valid digest",
					what, i, s);
	}
	return TRUE;
}

gboolean lfs_oci_parse_config(const char *json, size_t len, const char *what,
			      GPtrArray **diff_ids, char **platform,
			      GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	const char *os = NULL, *arch = NULL, *variant = NULL;
	JsonObject *root;

	if (!lfs_json_parse(json, len, what, false, &node, error))
		return FALSE;
	root = json_node_get_object(node);
	if (!lfs_json_string(root, "os", false, what, &os, error) ||
	    !lfs_json_string(root, "architecture", false, what, &arch,
			     error) ||
	    !lfs_json_string(root, "variant", false, what, &variant, error) ||
	    !parse_diff_ids(root, what, ids, error))
		return FALSE;
	*platform = NULL;
	if (os && arch)
		*platform = variant ? g_strdup_printf("%s/%s/%s", os, arch,
						      variant)
				    : g_strdup_printf("%s/%s", os, arch);
	*diff_ids = g_steal_pointer(&ids);
	return TRUE;
}

bool lfs_oci_config_created(const char *json, size_t len, struct timespec *out)
{
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GDateTime) dt = NULL;
	const char *created = NULL;
	gint64 sec;

	if (!lfs_json_parse(json, len, "config", false, &node, NULL) ||
	    !lfs_json_string(json_node_get_object(node), "created", false,
			     "config", &created, NULL) ||
	    !created)
		return false;
	/* RFC 3339: a time zone is required, so none is assumed. */
	dt = g_date_time_new_from_iso8601(created, NULL);
	if (!dt)
		return false;
	sec = g_date_time_to_unix(dt);
	/* Go's zero time (year 1), which some builders write for "none". */
	if (sec < 0)
		return false;
	out->tv_sec = (time_t)sec;
	out->tv_nsec = (long)g_date_time_get_microsecond(dt) * 1000;
	return true;
}

/* Member @name of @o as a string array: NULL when absent or null. */
static gboolean string_array(JsonObject *o, const char *name,
			     const char *what, char ***out, GError **error)
{
	JsonNode *n = json_object_get_member(o, name);
	JsonArray *a;
	GPtrArray *v;

	*out = NULL;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return lfs_fail(error, EINVAL, "%s: config.%s: not an array",
				what, name);
	a = json_node_get_array(n);
	v = g_ptr_array_new();
	for (guint i = 0; i < json_array_get_length(a); i++) {
		const char *str;

		if (!lfs_json_elem_string(a, i, what, &str, error)) {
			g_ptr_array_free(v, TRUE);
			return FALSE;
		}
		g_ptr_array_add(v, g_strdup(str));
	}
	g_ptr_array_add(v, NULL);
	*out = (char **)g_ptr_array_free(v, FALSE);
	return TRUE;
}

gboolean lfs_oci_config_run(const char *json, size_t len, const char *what,
			    struct lfs_image_run **out, GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	g_autofree char *cwhat = g_strdup_printf("%s: config", what);
	struct lfs_image_run *r;
	JsonObject *c = NULL;
	const char *user = NULL, *wd = NULL, *sig = NULL;

	if (!lfs_json_parse(json, len, what, false, &node, error) ||
	    !lfs_json_object(json_node_get_object(node), "config", false,
			     what, &c, error))
		return FALSE;
	r = g_new0(struct lfs_image_run, 1);
	if (c && (!string_array(c, "Entrypoint", what, &r->entrypoint,
				error) ||
		  !string_array(c, "Cmd", what, &r->cmd, error) ||
		  !string_array(c, "Env", what, &r->env, error) ||
		  !lfs_json_string(c, "User", false, cwhat, &user, error) ||
		  !lfs_json_string(c, "WorkingDir", false, cwhat, &wd,
				   error) ||
		  !lfs_json_string(c, "StopSignal", false, cwhat, &sig,
				   error))) {
		lfs_image_run_free(r);
		return FALSE;
	}
	if (!r->env)
		r->env = g_new0(char *, 1);
	r->user = user && *user ? g_strdup(user) : NULL;
	r->working_dir = wd && *wd ? g_strdup(wd) : NULL;
	r->stop_signal = sig && *sig ? g_strdup(sig) : NULL;
	*out = r;
	return TRUE;
}
