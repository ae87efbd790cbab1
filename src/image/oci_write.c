/* Writing into an OCI image layout (oci_write.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/json.h"
#include "layerfs/oci_write.h"
#include "oci_internal.h"

#define INDEX_TMP "index.json.layerfs-tmp"
#define COPY_BUF (1u << 20)

struct lfs_oci_out {
	char *dir;
	int dirfd; /* locked */
};

static gboolean fail_errno(GError **error, int err, const char *dir,
			   const char *what)
{
	return lfs_fail(error, err, "%s: %s: %s", dir, what, g_strerror(err));
}

/* Directory @name in @dirfd, made if missing. */
static int make_dir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_file_at(int dirfd, const char *name, const void *data,
			 size_t len)
{
	lfs_autofd fd = openat(dirfd, name,
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
				       O_NOFOLLOW,
			       0644);
	int err;

	if (fd < 0)
		return -errno;
	err = lfs_write_full(fd, data, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	return err;
}

gboolean lfs_oci_out_open(const char *dir, struct lfs_oci_out **out,
			  GError **error)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct lfs_oci_out *w = g_new0(struct lfs_oci_out, 1);
	int err;

	w->dir = g_strdup(dir);
	w->dirfd = -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fail_errno(error, errno, dir, "cannot make the layout");
		goto fail;
	}
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		fail_errno(error, errno, dir, "cannot open the layout");
		goto fail;
	}
	/* Canonical, as an image's source names its layout: the same
	 * layout needs no blob copied. */
	g_free(w->dir);
	w->dir = lfs_image_abspath(dir);
	if (flock(w->dirfd, LOCK_EX) < 0) {
		fail_errno(error, errno, dir, "cannot lock it");
		goto fail;
	}
	err = make_dir(w->dirfd, "blobs");
	if (!err)
		err = make_dir(w->dirfd, "blobs/sha256");
	if (err) {
		fail_errno(error, -err, dir, "cannot make blobs/sha256");
		goto fail;
	}
	if (faccessat(w->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		err = write_file_at(w->dirfd, "oci-layout", layout,
				    strlen(layout));
		if (err) {
			fail_errno(error, -err, dir, "cannot write oci-layout");
			goto fail;
		}
	}
	*out = w;
	return TRUE;
fail:
	lfs_oci_out_free(w);
	return FALSE;
}

void lfs_oci_out_free(struct lfs_oci_out *w)
{
	if (!w)
		return;
	if (w->dirfd >= 0)
		close(w->dirfd); /* and the lock with it */
	g_free(w->dir);
	g_free(w);
}

int lfs_oci_out_tmpfile(struct lfs_oci_out *w)
{
	int fd = openat(w->dirfd, "blobs/sha256",
			O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);

	return fd < 0 ? -errno : fd;
}

/* "blobs/ALGO" and "blobs/ALGO/HEX" of @d (g_free). */
static void blob_names(const struct lfs_digest *d, char **dir, char **name)
{
	g_autofree char *s = lfs_digest_to_string(d);
	g_autofree char *hex = lfs_digest_hex(d);

	*strchr(s, ':') = '\0';
	*dir = g_strconcat("blobs/", s, NULL);
	*name = g_strconcat("blobs/", s, "/", hex, NULL);
}

gboolean lfs_oci_out_publish(struct lfs_oci_out *w, int fd,
			     const struct lfs_digest *d, GError **error)
{
	g_autofree char *dir = NULL, *name = NULL;
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
	lfs_autofd dfd = -1;
	int err;

	blob_names(d, &dir, &name);
	if (fsync(fd) < 0)
		return fail_errno(error, errno, w->dir, "cannot flush a blob");
	err = make_dir(w->dirfd, dir);
	if (err)
		return fail_errno(error, -err, w->dir, dir);
	/* A blob already there holds these bytes: its name says so. */
	if (linkat(AT_FDCWD, proc, w->dirfd, name, AT_SYMLINK_FOLLOW) < 0 &&
	    errno != EEXIST)
		return fail_errno(error, errno, w->dir, name);
	dfd = openat(w->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return fail_errno(error, errno, w->dir, dir);
	return TRUE;
}

/* @data as a blob; its digest in *@d. */
static gboolean put_blob(struct lfs_oci_out *w, const char *data, size_t len,
			 struct lfs_digest *d, GError **error)
{
	g_autoptr(lfs_hasher) h = NULL;
	lfs_autofd fd = lfs_oci_out_tmpfile(w);
	int err;

	if (fd < 0)
		return fail_errno(error, -fd, w->dir, "cannot make a blob");
	err = lfs_hasher_new(LFS_DIGEST_SHA256, &h);
	if (!err)
		err = lfs_write_full(fd, data, len);
	if (err)
		return fail_errno(error, -err, w->dir, "cannot write a blob");
	lfs_hasher_update(h, data, len);
	lfs_hasher_finish(h, d);
	return lfs_oci_out_publish(w, fd, d, error);
}

/* @size bytes at @offset of file @src as blob @d, unless the layout has
 * it; checked against @d (and @size) on the way. */
static gboolean copy_in(struct lfs_oci_out *w, const char *src,
			uint64_t offset, uint64_t size,
			const struct lfs_digest *d, GError **error)
{
	g_autofree char *dir = NULL, *name = NULL;
	g_autofree char *digest = lfs_digest_to_string(d);
	g_autofree uint8_t *buf = NULL;
	g_autoptr(lfs_hasher) h = NULL;
	lfs_autofd in = -1, fd = -1;
	struct lfs_digest got;
	struct stat st;
	uint64_t done = 0;
	int err;

	blob_names(d, &dir, &name);
	if (fstatat(w->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
		return TRUE;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lfs_fail(error, errno, "%s: %s", src, g_strerror(errno));
	fd = lfs_oci_out_tmpfile(w);
	if (fd < 0)
		return fail_errno(error, -fd, w->dir, "cannot make a blob");
	err = lfs_hasher_new(d->algo, &h);
	if (err)
		return lfs_fail(error, -err, "%s: %s", src, g_strerror(-err));
	buf = g_malloc(COPY_BUF);
	while (done < size) {
		ssize_t n = lfs_pread_full(in, buf, MIN(size - done, COPY_BUF),
					   (off_t)(offset + done));

		if (n < 0)
			return lfs_fail(error, (int)-n, "%s: %s", src,
					g_strerror((int)-n));
		if (n == 0)
			break;
		lfs_hasher_update(h, buf, (size_t)n);
		done += (uint64_t)n;
		err = lfs_write_full(fd, buf, (size_t)n);
		if (err)
			return fail_errno(error, -err, w->dir, name);
	}
	lfs_hasher_finish(h, &got);
	if (done != size || !lfs_digest_equal(&got, d))
		return lfs_fail(error, EINVAL,
				"%s: not the blob %s of %llu bytes the image "
				"names (changed since?)",
				src, digest, (unsigned long long)size);
	return lfs_oci_out_publish(w, fd, d, error);
}

gboolean lfs_oci_out_copy_blob(struct lfs_oci_out *w, const char *src_dir,
			       const struct lfs_oci_descriptor *desc,
			       GError **error)
{
	g_autofree char *dir = NULL, *name = NULL, *src = NULL;

	blob_names(&desc->digest, &dir, &name);
	src = g_build_filename(src_dir, name, NULL);
	return copy_in(w, src, 0, (uint64_t)desc->size, &desc->digest, error);
}

static char *to_json(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();

	json_generator_set_root(gen, node);
	return json_generator_to_data(gen, NULL);
}

static JsonObject *descriptor(const char *media_type,
			      const struct lfs_digest *d, uint64_t size)
{
	JsonObject *o = json_object_new();
	g_autofree char *ds = lfs_digest_to_string(d);

	json_object_set_string_member(o, "mediaType", media_type);
	json_object_set_string_member(o, "digest", ds);
	json_object_set_int_member(o, "size", (gint64)size);
	return o;
}

/* @o's member @name as an object or array of a parsed document, made
 * when missing; NULL (with @error) when it is something else. */
static JsonObject *object_member(JsonObject *o, const char *name,
				 const char *what, GError **error)
{
	JsonObject *m = NULL;

	if (!lfs_json_object(o, name, false, what, &m, error))
		return NULL;
	if (!m) {
		m = json_object_new();
		json_object_set_object_member(o, name, m);
	}
	return m;
}

static JsonArray *array_member(JsonObject *o, const char *name,
			       const char *what, GError **error)
{
	JsonArray *a = NULL;

	if (!lfs_json_array(o, name, false, what, &a, error))
		return NULL;
	if (!a) {
		a = json_array_new();
		json_object_set_array_member(o, name, a);
	}
	return a;
}

/* The new config, from the old one (@root). */
static gboolean new_config(JsonNode *root, const struct lfs_oci_append *a,
			   const char *what, GError **error)
{
	JsonObject *c = json_node_get_object(root);
	JsonObject *rootfs = object_member(c, "rootfs", what, error);
	g_autofree char *diff_id = lfs_digest_to_string(&a->diff_id);
	JsonArray *ids, *history = NULL;

	if (!rootfs || !(ids = array_member(rootfs, "diff_ids", what, error)))
		return FALSE;
	json_object_set_string_member(rootfs, "type", "layers");
	json_array_add_string_element(ids, diff_id);
	json_object_set_string_member(c, "created", a->created);
	/* A history lists every layer (and empty steps), or is left out; one
	 * entry added to none would pair with the bottom layer. */
	if (!lfs_json_array(c, "history", false, what, &history, error))
		return FALSE;
	if (history) {
		JsonObject *h = json_object_new();

		json_object_set_string_member(h, "created", a->created);
		json_object_set_string_member(h, "created_by", a->created_by);
		if (a->comment)
			json_object_set_string_member(h, "comment", a->comment);
		json_array_add_object_element(history, h);
	}
	return TRUE;
}

/* index.json of @w with @tag naming @desc (borrowed; it gains the
 * ref.name annotation). */
static gboolean write_index(struct lfs_oci_out *w, const char *tag,
			    JsonObject *desc, GError **error)
{
	g_autofree char *path = g_build_filename(w->dir, "index.json", NULL);
	g_autofree char *data = NULL, *text = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonArray) kept = json_array_new();
	JsonObject *index, *ann;
	JsonArray *manifests;
	size_t len;
	int err;

	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		if (!lfs_file_read_small(path, LFS_OCI_JSON_MAX, &data, &len,
					 error) ||
		    !lfs_json_parse(data, len, path, false, &root, error))
			return FALSE;
	} else {
		root = json_node_init_object(json_node_alloc(),
					     json_object_new());
	}
	index = json_node_get_object(root);
	if (!(manifests = array_member(index, "manifests", path, error)))
		return FALSE;
	/* Every entry but the one the tag named before. */
	for (guint i = 0; i < json_array_get_length(manifests); i++) {
		JsonObject *e = NULL, *an = NULL;
		const char *ref = NULL;
		g_autofree char *ewhat = g_strdup_printf("%s: manifests[%u]",
							 path, i);

		if (!lfs_json_elem_object(manifests, i, path, &e, error) ||
		    !lfs_json_object(e, "annotations", false, ewhat, &an,
				     error) ||
		    (an && !lfs_json_string(an, LFS_OCI_REF_NAME, false, ewhat,
					    &ref, error)))
			return FALSE;
		if (g_strcmp0(ref, tag) != 0)
			json_array_add_element(
				kept, json_node_copy(json_array_get_element(
					      manifests, i)));
	}
	ann = json_object_new();
	json_object_set_string_member(ann, LFS_OCI_REF_NAME, tag);
	json_object_set_object_member(desc, "annotations", ann);
	json_array_add_object_element(kept, json_object_ref(desc));
	json_object_set_array_member(index, "manifests",
				     json_array_ref(kept));
	json_object_set_int_member(index, "schemaVersion", 2);
	if (!json_object_has_member(index, "mediaType"))
		json_object_set_string_member(index, "mediaType",
					      LFS_OCI_MEDIA_INDEX);
	text = to_json(root);
	err = write_file_at(w->dirfd, INDEX_TMP, text, strlen(text));
	if (!err && renameat(w->dirfd, INDEX_TMP, w->dirfd, "index.json") < 0)
		err = -errno;
	if (!err && fsync(w->dirfd) < 0)
		err = -errno;
	if (err) {
		unlinkat(w->dirfd, INDEX_TMP, 0);
		return fail_errno(error, -err, w->dir,
				  "cannot write index.json");
	}
	return TRUE;
}

/* The platform of @config for the index entry, when it names one. */
static JsonObject *platform_of(JsonObject *config)
{
	const char *os = json_object_get_string_member_with_default(config,
								    "os", NULL);
	const char *arch = json_object_get_string_member_with_default(
		config, "architecture", NULL);
	const char *variant = json_object_get_string_member_with_default(
		config, "variant", NULL);
	JsonObject *p;

	if (!os || !arch)
		return NULL;
	p = json_object_new();
	json_object_set_string_member(p, "architecture", arch);
	json_object_set_string_member(p, "os", os);
	if (variant)
		json_object_set_string_member(p, "variant", variant);
	return p;
}

/* The existing image of @a as documents to extend: from its layout
 * (its layer blobs copied into @w when that is another), or made from
 * its config and layer ranges (the ranges copied in as blobs). */
static gboolean base_image(struct lfs_oci_out *w,
			   const struct lfs_oci_append *a, JsonNode **mroot,
			   JsonNode **croot, char **config_type, char **what,
			   GError **error)
{
	struct lfs_oci_descriptor mdesc = { .size = -1 };
	g_autoptr(lfs_oci_manifest) m = NULL;
	g_autofree char *mdata = NULL, *cdata = NULL, *cdigest = NULL;
	g_autofree char *cwhat = NULL;
	size_t mlen, clen;
	JsonObject *mo;
	JsonArray *layers;

	if (!a->src_dir) {
		const char *data = g_bytes_get_data(a->config, &clen);

		*what = g_strdup("config");
		if (!lfs_json_parse(data, clen, "config", false, croot, error))
			return FALSE;
		mo = json_object_new();
		json_object_set_int_member(mo, "schemaVersion", 2);
		json_object_set_string_member(mo, "mediaType",
					      LFS_OCI_MEDIA_MANIFEST);
		layers = json_array_new();
		for (unsigned int i = 0; i < a->nranges; i++) {
			const struct lfs_oci_layer_range *r = &a->ranges[i];

			if (!copy_in(w, r->path, r->offset, r->length,
				     &r->digest, error)) {
				json_array_unref(layers);
				json_object_unref(mo);
				return FALSE;
			}
			json_array_add_object_element(
				layers,
				descriptor(r->media_type, &r->digest,
					   r->length));
		}
		json_object_set_array_member(mo, "layers", layers);
		*mroot = json_node_init_object(json_node_alloc(), mo);
		json_object_unref(mo);
		*config_type = g_strdup(LFS_OCI_MEDIA_CONFIG);
		return TRUE;
	}
	if (lfs_digest_parse(a->manifest, &mdesc.digest) < 0)
		return lfs_fail(error, EINVAL, "%s: manifest %s: not a digest",
				a->src_dir, a->manifest);
	*what = g_strdup_printf("%s: manifest %s", a->src_dir, a->manifest);
	if (!lfs_oci_read_blob(a->src_dir, &mdesc, "manifest", &mdata, &mlen,
			       error) ||
	    !lfs_oci_parse_manifest(mdata, mlen, *what, &m, error) ||
	    !lfs_json_parse(mdata, mlen, *what, false, mroot, error))
		return FALSE;
	cdigest = lfs_digest_to_string(&m->config->digest);
	cwhat = g_strdup_printf("%s: config %s", a->src_dir, cdigest);
	if (!lfs_oci_read_blob(a->src_dir, m->config, "config", &cdata, &clen,
			       error) ||
	    !lfs_json_parse(cdata, clen, cwhat, false, croot, error))
		return FALSE;
	/* The layers below, where this is another layout. */
	for (guint i = 0; strcmp(a->src_dir, w->dir) != 0 &&
			  i < m->layers->len;
	     i++) {
		if (!lfs_oci_out_copy_blob(w, a->src_dir, m->layers->pdata[i],
					   error))
			return FALSE;
	}
	*config_type = g_strdup(m->config->media_type ? m->config->media_type
						      : LFS_OCI_MEDIA_CONFIG);
	return TRUE;
}

gboolean lfs_oci_out_append(struct lfs_oci_out *w,
			    const struct lfs_oci_append *a, char **digest,
			    GError **error)
{
	g_autoptr(JsonNode) mroot = NULL, croot = NULL;
	g_autofree char *mwhat = NULL, *config_type = NULL;
	g_autofree char *ctext = NULL, *mtext = NULL;
	const char *media_type = NULL;
	struct lfs_digest cd, md;
	JsonObject *manifest, *platform, *desc;
	JsonArray *layers;
	gboolean ok;

	if (!base_image(w, a, &mroot, &croot, &config_type, &mwhat, error) ||
	    !new_config(croot, a, mwhat, error))
		return FALSE;
	ctext = to_json(croot);
	if (!put_blob(w, ctext, strlen(ctext), &cd, error))
		return FALSE;

	manifest = json_node_get_object(mroot);
	if (!lfs_json_string(manifest, "mediaType", false, mwhat, &media_type,
			     error))
		return FALSE;
	media_type = media_type ? media_type : LFS_OCI_MEDIA_MANIFEST;
	if (!(layers = array_member(manifest, "layers", mwhat, error)))
		return FALSE;
	json_array_add_object_element(
		layers, descriptor(a->layer_media_type, &a->layer_digest,
				   a->layer_size));
	desc = descriptor(config_type, &cd, strlen(ctext));
	json_object_set_object_member(manifest, "config", desc);
	mtext = to_json(mroot);
	if (!put_blob(w, mtext, strlen(mtext), &md, error))
		return FALSE;

	desc = descriptor(media_type, &md, strlen(mtext));
	platform = platform_of(json_node_get_object(croot));
	if (platform)
		json_object_set_object_member(desc, "platform", platform);
	ok = write_index(w, a->tag, desc, error);
	json_object_unref(desc);
	if (ok)
		*digest = lfs_digest_to_string(&md);
	return ok;
}
