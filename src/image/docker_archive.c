/* docker-archive tarballs (see docker_archive.h).
 *
 * Member names inside the outer tar are normalised like layer entries, and a
 * member that is a symlink or hardlink (docker save links a layer shared by
 * two images) is followed inside the archive only, never on the host. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "layerfs/cleanup.h"
#include "layerfs/docker_archive.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/json.h"
#include "layerfs/oci.h"
#include "layerfs/path.h"

#define MAX_LINK_HOPS 8

struct member {
	uint64_t offset; /* data offset in the outer tar */
	uint64_t size;
	char *link;	 /* a hardlink's target (archive-relative), or a
			  * symlink's (relative to the member's directory) */
	bool symlink;
};

void lfs_docker_image_free(struct lfs_docker_image *img)
{
	if (!img)
		return;
	g_free(img->config);
	g_strfreev(img->repo_tags);
	if (img->layers)
		g_ptr_array_unref(img->layers);
	g_free(img);
}

typedef struct lfs_docker_image lfs_docker_image;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_docker_image, lfs_docker_image_free)

static void member_free(struct member *m)
{
	g_free(m->link);
	g_free(m);
}

/* libarchive's reason for its last failure; some of its failures set
 * none, and the message must still say something. */
static const char *archive_why(struct archive *a)
{
	const char *why = archive_error_string(a);

	return why && *why ? why : "its headers cannot be read";
}

static gboolean parse_image(JsonObject *o, const char *what,
			    struct lfs_docker_image **out, GError **error)
{
	g_autoptr(lfs_docker_image) img = g_new0(struct lfs_docker_image, 1);
	g_autoptr(GStrvBuilder) tags = g_strv_builder_new();
	const char *config;
	JsonArray *layers, *repo_tags = NULL;

	if (!lfs_json_string(o, "Config", true, what, &config, error) ||
	    !lfs_json_array(o, "Layers", true, what, &layers, error) ||
	    !lfs_json_array(o, "RepoTags", false, what, &repo_tags, error))
		return FALSE;
	img->config = g_strdup(config);
	img->layers = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(layers); i++) {
		const char *s;

		if (!lfs_json_elem_string(layers, i, "Layers", &s, error))
			return g_prefix_error(error, "%s: ", what), FALSE;
		g_ptr_array_add(img->layers, g_strdup(s));
	}
	for (guint i = 0; repo_tags && i < json_array_get_length(repo_tags);
	     i++) {
		const char *s;

		if (!lfs_json_elem_string(repo_tags, i, "RepoTags", &s, error))
			return g_prefix_error(error, "%s: ", what), FALSE;
		g_strv_builder_add(tags, s);
	}
	img->repo_tags = g_strv_builder_end(tags);
	*out = g_steal_pointer(&img);
	return TRUE;
}

gboolean lfs_docker_parse_manifest(const char *json, size_t len,
				   const char *what, GPtrArray **out,
				   GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)lfs_docker_image_free);
	JsonArray *arr;

	if (!lfs_json_parse(json, len, what, true, &node, error))
		return FALSE;
	arr = json_node_get_array(node);
	if (json_array_get_length(arr) == 0)
		return lfs_fail(error, EINVAL, "%s: lists no images", what);
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		g_autofree char *ewhat = g_strdup_printf("%s[%u]", what, i);
		struct lfs_docker_image *img;
		JsonObject *o;

		if (!lfs_json_elem_object(arr, i, what, &o, error) ||
		    !parse_image(o, ewhat, &img, error))
			return FALSE;
		g_ptr_array_add(imgs, img);
	}
	*out = g_steal_pointer(&imgs);
	return TRUE;
}

/* One pass over the outer tar's headers: member name -> struct member. */
static gboolean scan_members(const char *file, GHashTable *members,
			     GError **error)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	gboolean ok = FALSE;
	int r;

	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, file, 64 * 1024) != ARCHIVE_OK) {
		lfs_fail(error, EINVAL, "%s: not a readable tar archive: %s",
			 file, archive_why(a));
		goto out;
	}
	/* ARCHIVE_WARN: e.g. a UTF-8 name in a non-UTF-8 locale; the raw
	 * name is there, as in tar_scan.c. */
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		struct member *m;
		const char *why, *target;
		char *name;

		if (lfs_path_normalize(archive_entry_pathname(e), &name,
				       &why) < 0)
			continue; /* never looked up, so harmless */
		m = g_new0(struct member, 1);
		m->offset = (uint64_t)archive_filter_bytes(a, 0);
		m->size = (uint64_t)archive_entry_size(e);
		target = archive_entry_hardlink(e);
		if (target) {
			m->link = g_strdup(target);
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			m->link = g_strdup(archive_entry_symlink(e));
			m->symlink = true;
		}
		g_hash_table_replace(members, name, m);
	}
	if (r != ARCHIVE_EOF) {
		lfs_fail(error, EINVAL, "%s: not a readable tar archive: %s",
			 file, archive_why(a));
		goto out;
	}
	ok = TRUE;
out:
	archive_read_free(a);
	return ok;
}

/* Resolve @target against directory @dir ("" = the archive root) the way
 * a file system would, but inside the archive: ".." pops a component and
 * may not climb above the root.  An absolute target points at the host,
 * not into the archive.  Returns NULL when it would leave the archive. */
static char *resolve_in_archive(const char *dir, const char *target)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) dirs = g_strsplit(dir, "/", -1);
	g_auto(GStrv) steps = g_strsplit(target, "/", -1);

	if (target[0] == '/')
		return NULL;
	for (char **d = dirs; *d; d++) {
		if (**d)
			g_ptr_array_add(parts, g_strdup(*d));
	}
	for (char **p = steps; *p; p++) {
		if (!**p || strcmp(*p, ".") == 0)
			continue;
		if (strcmp(*p, "..") != 0) {
			g_ptr_array_add(parts, g_strdup(*p));
			continue;
		}
		if (parts->len == 0)
			return NULL;
		g_ptr_array_remove_index(parts, parts->len - 1);
	}
	g_ptr_array_add(parts, NULL);
	return g_strjoinv("/", (char **)parts->pdata);
}

/* Find member @name, following links inside the archive. */
static gboolean find_member(GHashTable *members, const char *file,
			    const char *name, struct member **out,
			    GError **error)
{
	g_autofree char *cur = NULL;
	const char *why;

	if (lfs_path_normalize(name, &cur, &why) < 0)
		return lfs_fail(error, EINVAL, "%s: member \"%s\": %s", file,
				name, why);
	for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
		struct member *m = g_hash_table_lookup(members, cur);
		g_autofree char *dir = NULL;
		const char *base;
		char *next;

		if (!m)
			return lfs_fail(error, ENOENT,
					"%s: member \"%s\" is missing", file,
					cur);
		if (!m->link) {
			*out = m;
			return TRUE;
		}
		/* Hardlink targets name a member from the archive root;
		 * symlink targets are relative to the link's directory. */
		dir = m->symlink ? g_strndup(cur, lfs_path_split(cur, &base))
				 : g_strdup("");
		next = resolve_in_archive(dir, m->link);
		if (!next)
			return lfs_fail(error, EINVAL,
					"%s: member link \"%s\" -> \"%s\" "
					"leaves the archive",
					file, cur, m->link);
		g_free(cur);
		cur = next;
	}
	return lfs_fail(error, ELOOP, "%s: member \"%s\": too many links",
			file, name);
}

static gboolean read_member(int fd, const char *file, const struct member *m,
			    const char *name, char **data, size_t *len,
			    GError **error)
{
	g_autofree char *buf = NULL;
	ssize_t n;

	if (m->size > LFS_OCI_JSON_MAX)
		return lfs_fail(error, EFBIG,
				"%s: member \"%s\" is %llu bytes, larger than "
				"the %u allowed",
				file, name, (unsigned long long)m->size,
				LFS_OCI_JSON_MAX);
	buf = g_malloc(m->size + 1);
	n = lfs_pread_full(fd, buf, m->size, (off_t)m->offset);
	if (n < 0)
		return lfs_fail(error, (int)-n, "%s: %s", file,
				g_strerror((int)-n));
	if ((uint64_t)n != m->size)
		return lfs_fail(error, EIO, "%s: member \"%s\" is truncated",
				file, name);
	buf[n] = '\0';
	*data = g_steal_pointer(&buf);
	*len = (size_t)n;
	return TRUE;
}

/* A member named "blobs/sha256/<hex>" or "<hex>.json" carries its digest. */
static bool digest_from_name(const char *name, struct lfs_digest *d)
{
	g_autofree char *s = NULL;
	const char *base;

	if (g_str_has_prefix(name, "blobs/sha256/"))
		s = g_strconcat("sha256:", name + strlen("blobs/sha256/"),
				NULL);
	else if (g_str_has_suffix(name, ".json") &&
		 lfs_path_split(name, &base) == 0)
		s = g_strdup_printf("sha256:%.*s",
				    (int)(strlen(base) - strlen(".json")),
				    base);
	return s && lfs_digest_parse(s, d) == 0;
}

static gboolean verify_config(const char *file, const char *name,
			      const char *data, size_t len, GError **error)
{
	g_autoptr(lfs_hasher) h = NULL;
	struct lfs_digest want, got;

	if (!digest_from_name(name, &want))
		return TRUE;
	if (lfs_hasher_new(want.algo, &h) < 0)
		return lfs_fail(error, ENOMEM, "%s: config member \"%s\": out "
				"of memory",
				file, name);
	lfs_hasher_update(h, data, len);
	lfs_hasher_finish(h, &got);
	if (!lfs_digest_equal(&want, &got))
		return lfs_fail(error, EINVAL,
				"%s: config member \"%s\" does not match the "
				"digest in its name",
				file, name);
	return TRUE;
}

/* "busybox:latest", "docker.io/library/busybox:latest" and
 * "localhost/busybox:latest" name one image; compare without the
 * registry prefixes tools add or leave out. */
static const char *short_ref(const char *ref)
{
	static const char *const prefixes[] = { "docker.io/library/",
						"docker.io/", "localhost/" };

	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		if (g_str_has_prefix(ref, prefixes[i]))
			return ref + strlen(prefixes[i]);
	}
	return ref;
}

static bool tag_matches(const char *tag, const char *ref)
{
	return strcmp(short_ref(tag), short_ref(ref)) == 0;
}

static gboolean select_image(GPtrArray *imgs, const char *file,
			     const char *ref, struct lfs_docker_image **out,
			     GError **error)
{
	g_autoptr(GString) tags = g_string_new(NULL);

	if (!ref && imgs->len == 1) {
		*out = imgs->pdata[0];
		return TRUE;
	}
	if (ref && ref[0] == '@') {
		char *end;
		guint64 n = g_ascii_strtoull(ref + 1, &end, 10);

		if (*end || end == ref + 1 || n >= imgs->len)
			return lfs_fail(error, ENOENT,
					"%s: no image %s (the archive holds "
					"%u)",
					file, ref, imgs->len);
		*out = imgs->pdata[n];
		return TRUE;
	}
	for (guint i = 0; i < imgs->len; i++) {
		struct lfs_docker_image *img = imgs->pdata[i];

		for (char **t = img->repo_tags; *t; t++) {
			if (ref && tag_matches(*t, ref)) {
				*out = img;
				return TRUE;
			}
			g_string_append_printf(tags, "%s%s",
					       tags->len ? ", " : "", *t);
		}
	}
	if (!ref)
		return lfs_fail(error, EINVAL,
				"%s: holds %u images; name one as "
				"docker-archive:%s:NAME:TAG or :@N (tags: %s)",
				file, imgs->len, file,
				tags->len ? tags->str : "none");
	return lfs_fail(error, ENOENT, "%s: no image tagged \"%s\" (tags: %s)",
			file, ref, tags->len ? tags->str : "none");
}

static gboolean add_layers(struct lfs_image *out, GHashTable *members,
			   const char *file,
			   const struct lfs_docker_image *img,
			   GPtrArray *diff_ids, GError **error)
{
	guint n = img->layers->len;

	if (diff_ids->len != n)
		return lfs_fail(error, EINVAL,
				"%s: config lists %u diff_ids for %u layers",
				file, diff_ids->len, n);
	for (guint i = 0; i < n; i++) {
		const char *lname = img->layers->pdata[i];
		g_autofree char *name = g_strdup_printf(
			"%s layer %u/%u (%s)", file, i + 1, n, lname);
		struct lfs_layer_spec *spec;
		struct member *m;

		if (!find_member(members, file, lname, &m, error))
			return FALSE;
		spec = lfs_layer_spec_new(LFS_LAYER_TAR, file, name);
		spec->offset = m->offset;
		spec->length = m->size;
		spec->size = (int64_t)m->size;
		spec->has_diff_id = true;
		spec->diff_id = *(struct lfs_digest *)diff_ids->pdata[i];
		spec->has_digest = digest_from_name(lname, &spec->digest);
		g_ptr_array_add(out->layers, spec);
	}
	return TRUE;
}

static gboolean check_uncompressed(const char *file, GError **error)
{
	lfs_autofd fd = open(file, O_RDONLY | O_CLOEXEC);
	unsigned char magic[4] = { 0 };

	if (fd < 0)
		return lfs_fail(error, errno, "%s: %s", file,
				g_strerror(errno));
	if (lfs_pread_full(fd, magic, sizeof(magic), 0) < 0)
		return lfs_fail(error, errno, "%s: %s", file,
				g_strerror(errno));
	if ((magic[0] == 0x1f && magic[1] == 0x8b) ||
	    (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f))
		return lfs_fail(error, ENOTSUP,
				"%s: the archive itself is compressed; layers "
				"are read in place, so decompress it first",
				file);
	return TRUE;
}

gboolean lfs_docker_archive_open(const char *file, const char *ref,
				 struct lfs_image **out, GError **error)
{
	g_autoptr(GHashTable) members = g_hash_table_new_full(
		g_str_hash, g_str_equal, g_free, (GDestroyNotify)member_free);
	g_autoptr(GPtrArray) imgs = NULL, diff_ids = NULL;
	g_autofree char *mjson = NULL, *cjson = NULL, *platform = NULL;
	g_autofree char *mwhat = NULL, *cwhat = NULL, *source = NULL;
	g_autofree char *abs = NULL;
	g_autoptr(lfs_image) img = NULL;
	struct lfs_docker_image *dimg = NULL;
	struct member *m;
	lfs_autofd fd = -1;
	size_t len;

	if (!check_uncompressed(file, error) ||
	    !scan_members(file, members, error))
		return FALSE;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lfs_fail(error, errno, "%s: %s", file,
				g_strerror(errno));
	mwhat = g_strdup_printf("%s: manifest.json", file);
	if (!find_member(members, file, "manifest.json", &m, error) ||
	    !read_member(fd, file, m, "manifest.json", &mjson, &len, error) ||
	    !lfs_docker_parse_manifest(mjson, len, mwhat, &imgs, error) ||
	    !select_image(imgs, file, ref, &dimg, error))
		return FALSE;
	cwhat = g_strdup_printf("%s: %s", file, dimg->config);
	if (!find_member(members, file, dimg->config, &m, error) ||
	    !read_member(fd, file, m, dimg->config, &cjson, &len, error) ||
	    !verify_config(file, dimg->config, cjson, len, error) ||
	    !lfs_oci_parse_config(cjson, len, cwhat, &diff_ids, &platform,
				  error))
		return FALSE;

	abs = lfs_image_abspath(file);
	source = ref ? g_strdup_printf("docker-archive:%s:%s", abs, ref)
		     : g_strdup_printf("docker-archive:%s", abs);
	img = lfs_image_new(source, "docker-archive");
	img->has_created = lfs_oci_config_created(cjson, len, &img->created);
	if (!lfs_oci_config_run(cjson, len, cwhat, &img->run, error))
		return FALSE;
	img->config = g_bytes_new(cjson, len);
	img->platform = g_steal_pointer(&platform);
	{
		struct lfs_digest cd;

		if (digest_from_name(dimg->config, &cd))
			img->config_digest = lfs_digest_to_string(&cd);
	}
	if (!add_layers(img, members, file, dimg, diff_ids, error))
		return FALSE;
	*out = g_steal_pointer(&img);
	return TRUE;
}
