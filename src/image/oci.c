/* OCI image layout: parse index.json, pick its entry by tag and platform,
 * follow nested indexes to the manifest for the wanted platform (the same
 * choice at every level, docs/decisions/0013), verify and parse the manifest
 * and config, and turn the layer descriptors into layer specs.  Every blob
 * read here is checked against its descriptor's size and digest before it is
 * parsed; layer blobs are only checked for presence and size (their digest
 * is verified while they are indexed, which reads every byte anyway). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/json.h"
#include "layerfs/oci.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"

/* Nested indexes deeper than this are a loop or an attack. */
#define MAX_INDEX_DEPTH 8

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

typedef struct lfs_oci_descriptor lfs_oci_descriptor;
typedef struct lfs_oci_manifest lfs_oci_manifest;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_oci_descriptor, lfs_oci_descriptor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_oci_manifest, lfs_oci_manifest_free)

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

char *lfs_oci_machine_platform(const char *machine)
{
	/* uname machine names -> the image spec's GOARCH names.  armv8l is
	 * a 32-bit userland on a 64-bit CPU: arm/v8 to containerd, which
	 * runs arm/v7 and older images there. */
	static const struct {
		const char *machine, *platform;
	} map[] = {
		{ "x86_64", "linux/amd64" },	 { "i386", "linux/386" },
		{ "i486", "linux/386" },	 { "i586", "linux/386" },
		{ "i686", "linux/386" },	 { "aarch64", "linux/arm64" },
		{ "armv8l", "linux/arm/v8" },	 { "armv7l", "linux/arm/v7" },
		{ "armv6l", "linux/arm/v6" },	 { "armv5tel", "linux/arm/v5" },
		{ "armv5tejl", "linux/arm/v5" }, { "ppc64le", "linux/ppc64le" },
		{ "ppc64", "linux/ppc64" },	 { "s390x", "linux/s390x" },
		{ "riscv64", "linux/riscv64" },	 { "mips64", "linux/mips64" },
		{ "loongarch64", "linux/loong64" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
		if (strcmp(machine, map[i].machine) == 0)
			return g_strdup(map[i].platform);
	}
	return g_strdup_printf("linux/%s", machine);
}

char *lfs_oci_host_platform(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return g_strdup("linux/amd64");
	return lfs_oci_machine_platform(u.machine);
}

/* A platform in containerd's canonical spelling (docs/decisions/0017). */
struct norm_platform {
	char *os, *arch;
	char *variant; /* "" when there is none */
};
typedef struct norm_platform norm_platform;

static void norm_platform_clear(struct norm_platform *p)
{
	g_free(p->os);
	g_free(p->arch);
	g_free(p->variant);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(norm_platform, norm_platform_clear)

static bool eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static void set(char **s, char *to)
{
	g_free(*s);
	*s = to;
}

/* containerd's normalisation (its normalizeArch): lower case; the names
 * uname(2) and Debian give architectures become GOARCH names; arm without
 * a variant is v7 (what "armhf" and Docker mean by arm), arm64's "", "8"
 * and "v8" are all v8. */
static void normalize(const char *os, const char *arch, const char *variant,
		      struct norm_platform *out)
{
	char *a = g_ascii_strdown(arch, -1);
	char *v = g_ascii_strdown(variant ? variant : "", -1);

	if (eq(a, "i386") || eq(a, "i686")) {
		set(&a, g_strdup("386"));
		set(&v, g_strdup(""));
	} else if (eq(a, "x86_64") || eq(a, "x86-64") || eq(a, "amd64")) {
		set(&a, g_strdup("amd64"));
		if (eq(v, "v1"))
			set(&v, g_strdup(""));
	} else if (eq(a, "aarch64") || eq(a, "arm64")) {
		set(&a, g_strdup("arm64"));
		if (!*v || eq(v, "8") || eq(v, "v8") || eq(v, "v8.0"))
			set(&v, g_strdup("v8"));
		else if (eq(v, "9") || eq(v, "9.0") || eq(v, "v9.0"))
			set(&v, g_strdup("v9"));
	} else if (eq(a, "armhf")) {
		set(&a, g_strdup("arm"));
		set(&v, g_strdup("v7"));
	} else if (eq(a, "armel")) {
		set(&a, g_strdup("arm"));
		set(&v, g_strdup("v6"));
	} else if (eq(a, "arm")) {
		if (!*v)
			set(&v, g_strdup("v7"));
		else if (eq(v, "5") || eq(v, "6") || eq(v, "7") || eq(v, "8"))
			set(&v, g_strconcat("v", v, NULL));
	}
	out->os = g_ascii_strdown(os, -1);
	out->arch = a;
	out->variant = v;
}

/* "vMAJOR[.MINOR]" -> its numbers; false for anything else. */
static bool variant_version(const char *v, int *major, int *minor)
{
	const char *p = v + 1;
	char *end;
	guint64 n;

	*major = *minor = 0;
	if (v[0] != 'v' || !g_ascii_isdigit(*p))
		return false;
	n = g_ascii_strtoull(p, &end, 10);
	if (n > 99)
		return false;
	*major = (int)n;
	if (*end == '\0')
		return true;
	if (*end != '.' || !g_ascii_isdigit(end[1]))
		return false;
	n = g_ascii_strtoull(end + 1, &end, 10);
	*minor = (int)MIN(n, 99);
	return *end == '\0';
}

static void add(GPtrArray *v, const char *arch, const char *variant)
{
	g_ptr_array_add(v, g_strdup_printf("%s/%s", arch, variant));
}

static void add_arm64(GPtrArray *v, int major, int minor)
{
	if (minor)
		g_ptr_array_add(v, g_strdup_printf("arm64/v%d.%d", major,
						   minor));
	else
		g_ptr_array_add(v, g_strdup_printf("arm64/v%d", major));
}

/* What runs on @p, best first, as "arch/variant": @p itself, then, as
 * containerd's platforms.Only() has it, older levels of the same
 * architecture (amd64/vN..v1, arm/vN..v5, arm64/v9.x..v9, v8.(x+5)..v8)
 * and the 32-bit architecture a 64-bit one runs (386, arm/v8..v5). */
static GPtrArray *runs_on(const struct norm_platform *p)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	int major = 0, minor = 0;
	bool level = variant_version(p->variant, &major, &minor);

	add(v, p->arch, p->variant);
	if (eq(p->arch, "amd64")) {
		for (int l = level && !minor ? major - 1 : 0; l >= 1; l--) {
			g_autofree char *lv = g_strdup_printf("v%d", l);

			add(v, "amd64", l == 1 ? "" : lv);
		}
		add(v, "386", "");
	} else if (eq(p->arch, "arm") && level && !minor) {
		for (int l = major - 1; l >= 5; l--) {
			g_autofree char *lv = g_strdup_printf("v%d", l);

			add(v, "arm", lv);
		}
	} else if (eq(p->arch, "arm64") && level &&
		   (major == 8 || major == 9)) {
		for (int m = minor - 1; m >= 0; m--)
			add_arm64(v, major, m);
		if (major == 9) {
			/* v9.x has everything of v8.(x+5) */
			for (int m = MIN(minor + 5, 9); m >= 0; m--)
				add_arm64(v, 8, m);
		}
		add(v, "arm", "v8");
		add(v, "arm", "v7");
		add(v, "arm", "v6");
		add(v, "arm", "v5");
	}
	return v;
}

int lfs_oci_platform_rank(const struct lfs_oci_descriptor *d,
			  const char *platform)
{
	g_auto(GStrv) w = g_strsplit(platform, "/", 3);
	g_auto(norm_platform) want = { 0 };
	g_auto(norm_platform) have = { 0 };
	g_autoptr(GPtrArray) ok = NULL;
	g_autofree char *key = NULL;

	if (!d->os || !d->arch || !w[0] || !w[1])
		return -1;
	normalize(w[0], w[1], w[2], &want);
	normalize(d->os, d->arch, d->variant, &have);
	if (!eq(want.os, have.os))
		return -1;
	ok = runs_on(&want);
	key = g_strdup_printf("%s/%s", have.arch, have.variant);
	for (guint i = 0; i < ok->len; i++) {
		if (eq(ok->pdata[i], key))
			return (int)i;
	}
	return -1;
}

static char *blob_path(const char *dir, const struct lfs_digest *d)
{
	g_autofree char *s = lfs_digest_to_string(d);
	g_autofree char *hex = lfs_digest_hex(d);
	char *colon = strchr(s, ':');

	*colon = '\0';
	return g_build_filename(dir, "blobs", s, hex, NULL);
}

/* Read a JSON blob and check it against its descriptor before parsing. */
static gboolean read_blob(const char *dir,
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

	if ((uint64_t)desc->size > LFS_OCI_JSON_MAX)
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
	if (n != (size_t)desc->size)
		return lfs_fail(error, EINVAL,
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

		return lfs_fail(error, EINVAL,
				"%s: digest mismatch: descriptor says %s, "
				"content is %s",
				path, digest, gots);
	}
	*data = g_steal_pointer(&buf);
	*len = n;
	return TRUE;
}

/* What to pick from an index, and what the pick found out. */
struct pick {
	const char *ref;      /* index.json only: ref.name wanted, or NULL */
	const char *platform; /* "os/arch[/variant]", asked for or the host's */
	bool explicit;	      /* the user asked for @platform */
	bool named;	      /* out: a descriptor taken named its platform */
};

/* The distinct ref.name values of @descs, or "none". */
static GString *list_refs(GPtrArray *descs)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (!d->ref_name || !g_hash_table_add(seen, d->ref_name))
			continue;
		g_string_append_printf(s, "%s%s", s->len ? ", " : "",
				       d->ref_name);
	}
	if (!s->len)
		g_string_append(s, "none");
	return s;
}

/* The platforms @descs name, in order, or "none". */
static GString *list_platforms(GPtrArray *descs)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (d->os && d->arch)
			g_string_append_printf(s, "%s%s/%s%s%s",
					       s->len ? ", " : "", d->os,
					       d->arch, d->variant ? "/" : "",
					       d->variant ? d->variant : "");
	}
	if (!s->len)
		g_string_append(s, "none");
	return s;
}

static bool any_platform(GPtrArray *descs)
{
	for (guint i = 0; i < descs->len; i++)
		if (((struct lfs_oci_descriptor *)descs->pdata[i])->os)
			return true;
	return false;
}

/* Whether @descs carry more than one ref.name (an untagged one counts as
 * a name of its own). */
static bool several_refs(GPtrArray *descs)
{
	for (guint i = 1; i < descs->len; i++) {
		struct lfs_oci_descriptor *a = descs->pdata[0],
					  *b = descs->pdata[i];

		if (g_strcmp0(a->ref_name, b->ref_name) != 0)
			return true;
	}
	return false;
}

static gboolean take(struct lfs_oci_descriptor *d, struct pick *p,
		     struct lfs_oci_descriptor **out)
{
	p->named = p->named || d->os;
	*out = d;
	return TRUE;
}

/* From an index's candidate descriptors, the one for @p's platform: the
 * best that runs on it, the first of those in index order
 * (docs/decisions/0013, 0017).  A lone candidate is the
 * image unless it names another platform than the one asked for; without
 * --platform it is taken even then, so a foreign image mounts for
 * inspection, as a single-manifest one does. */
static gboolean select_platform(GPtrArray *cands, const char *what,
				struct pick *p, struct lfs_oci_descriptor **out,
				GError **error)
{
	struct lfs_oci_descriptor *only = NULL, *best = NULL;
	g_autoptr(GString) avail = NULL;
	int best_rank = -1;

	for (guint i = 0; i < cands->len; i++) {
		struct lfs_oci_descriptor *d = cands->pdata[i];
		int r = lfs_oci_platform_rank(d, p->platform);

		if (r >= 0 && (best_rank < 0 || r < best_rank)) {
			best = d;
			best_rank = r;
		}
	}
	if (best)
		return take(best, p, out);
	if (cands->len == 1)
		only = cands->pdata[0];
	if (only && (!only->os || !p->explicit))
		return take(only, p, out);
	avail = list_platforms(cands);
	return lfs_fail(error, ENOENT,
			"%s: no manifest for %splatform %s (available: %s)%s",
			what, p->explicit ? "" : "this machine's ", p->platform,
			avail->str,
			p->explicit ? "" : "; choose one with --platform");
}

/* From index.json, the descriptor for @p: the entries tagged @p->ref (all
 * when NULL), then among them the one for the platform.  Entries with
 * different tags, or none naming a platform, are different images, and
 * only a tag tells them apart. */
static gboolean select_top(GPtrArray *descs, const char *dir, struct pick *p,
			   struct lfs_oci_descriptor **out, GError **error)
{
	g_autofree char *what = g_strdup_printf("%s/index.json", dir);
	g_autoptr(GPtrArray) cands = g_ptr_array_new();
	g_autoptr(GString) refs = list_refs(descs);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (!p->ref || g_strcmp0(d->ref_name, p->ref) == 0)
			g_ptr_array_add(cands, d);
	}
	if (p->ref && !cands->len)
		return lfs_fail(error, ENOENT,
				"%s: no image tagged \"%s\" (tags: %s)", what,
				p->ref, refs->str);
	if (!p->ref && cands->len != 1 &&
	    (several_refs(cands) || !any_platform(cands)))
		return lfs_fail(error, EINVAL,
				"%s: holds %u images; name one as oci:%s:TAG "
				"(tags: %s)",
				what, cands->len, dir, refs->str);
	return select_platform(cands, what, p, out, error);
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
				 struct pick *p, struct lfs_oci_manifest **out,
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

		if (!read_blob(dir, desc, "manifest", &data, &len, error))
			return FALSE;
		if (!blob_is_index(desc, data)) {
			*manifest_digest = desc->digest;
			return lfs_oci_parse_manifest(data, len, what, out,
						      error);
		}
		if (!lfs_oci_parse_index(data, len, what, &descs, error) ||
		    !select_platform(descs, what, p, &next, error))
			return FALSE;
		lfs_oci_descriptor_free(desc);
		desc = descriptor_copy(next);
	}
	return lfs_fail(error, ELOOP,
			"%s: image indexes nested deeper than %d", dir,
			MAX_INDEX_DEPTH);
}

/* With --platform, an image no descriptor named a platform for must say in
 * its config that it is for that platform.  A config without a variant does
 * not contradict the variant asked for: the field is optional there and
 * often left out. */
static gboolean check_config_platform(const char *what, const char *have,
				      const struct pick *p, GError **error)
{
	g_auto(GStrv) got = NULL, want = NULL;
	g_autofree char *os_arch = NULL;
	struct lfs_oci_descriptor d = {0};
	const char *platform = p->platform;

	if (!p->explicit || p->named || !have)
		return TRUE;
	got = g_strsplit(have, "/", 3);
	want = g_strsplit(p->platform, "/", 3);
	d.os = got[0];
	d.arch = got[1];
	d.variant = got[2];
	if (!d.variant && want[0] && want[1])
		platform = os_arch = g_strdup_printf("%s/%s", want[0], want[1]);
	if (lfs_oci_platform_rank(&d, platform) >= 0)
		return TRUE;
	return lfs_fail(error, ENOENT,
			"%s: the image is for platform %s, not %s", what, have,
			p->platform);
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
		return lfs_fail(error, EINVAL,
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
	struct pick pick = {.ref = ref,
			    .platform = platform ? platform : host,
			    .explicit = platform != NULL};
	g_autofree char *data = NULL, *config = NULL, *cwhat = NULL;
	g_autofree char *source = NULL, *cplatform = NULL, *cdigest = NULL;
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
	    !select_top(descs, dir, &pick, &top, error) ||
	    !resolve_manifest(dir, top, &pick, &m, &mdigest, error))
		return FALSE;

	cdigest = lfs_digest_to_string(&m->config->digest);
	cwhat = g_strdup_printf("%s: config %s", dir, cdigest);
	if (!read_blob(dir, m->config, "config", &config, &len, error) ||
	    !lfs_oci_parse_config(config, len, cwhat, &diff_ids, &cplatform,
				  error) ||
	    !check_config_platform(cwhat, cplatform, &pick, error))
		return FALSE;
	if (diff_ids->len && diff_ids->len != m->layers->len)
		return lfs_fail(error, EINVAL,
				"%s: lists %u diff_ids for %u layers", cwhat,
				diff_ids->len, m->layers->len);

	source = ref ? g_strdup_printf("oci:%s:%s", dir, ref)
		     : g_strdup_printf("oci:%s", dir);
	img = lfs_image_new(source, "oci");
	img->manifest_digest = lfs_digest_to_string(&mdigest);
	img->config_digest = g_steal_pointer(&cdigest);
	img->platform = g_steal_pointer(&cplatform);
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
