/* Writing into an OCI image layout (image-spec "image-layout.md"), as
 * `layerfs commit` does: blobs published under their digest, then a new
 * image (config and manifest) that is an existing one plus a layer, then
 * the tag in index.json.
 *
 * Nothing a reader could see is ever half written: a blob is written to
 * an unnamed file, flushed, and linked under its digest (a blob already
 * there is content-addressed, so it is kept); index.json is written
 * beside itself, flushed and renamed over the old one, last, so a reader
 * finds the old tag or the new image whole.  The layout directory is
 * locked (flock) while open, so two commits into one layout take turns. */
#ifndef LAYERFS_OCI_WRITE_H
#define LAYERFS_OCI_WRITE_H

#include <stdint.h>

#include <glib.h>

#include "layerfs/digest.h"
#include "layerfs/oci.h"

#define LFS_OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define LFS_OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define LFS_OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define LFS_OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"

struct lfs_oci_out;

/* Open layout @dir to write into, making it (its parent must exist) with
 * an oci-layout file and blobs/sha256 where missing, and lock it.  Errors
 * name @dir. */
gboolean lfs_oci_out_open(const char *dir, struct lfs_oci_out **out,
			  GError **error);
void lfs_oci_out_free(struct lfs_oci_out *w);

/* A new unnamed file among the blobs, for a blob being written
 * (read-write); -errno. */
int lfs_oci_out_tmpfile(struct lfs_oci_out *w);
/* Flush unnamed file @fd and name it blob @d. */
gboolean lfs_oci_out_publish(struct lfs_oci_out *w, int fd,
			     const struct lfs_digest *d, GError **error);
/* Blob @desc of layout @src_dir, copied in unless there (checked against
 * its digest and size on the way). */
gboolean lfs_oci_out_copy_blob(struct lfs_oci_out *w, const char *src_dir,
			       const struct lfs_oci_descriptor *desc,
			       GError **error);

/* A layer of an image that is not in an OCI layout (a docker-archive):
 * @length bytes at @offset in @path, whose digest is @digest. */
struct lfs_oci_layer_range {
	const char *path;
	uint64_t offset, length;
	struct lfs_digest digest;
	const char *media_type;
};

/* An image made of an existing one plus a layer. */
struct lfs_oci_append {
	/* The existing image: in an OCI layout (@src_dir, @manifest), or
	 * (@src_dir NULL) a config document and its layers' bytes, from
	 * which a manifest is made. */
	const char *src_dir;  /* the existing image's layout */
	const char *manifest; /* its manifest's digest */
	GBytes *config;
	const struct lfs_oci_layer_range *ranges;
	unsigned int nranges;
	const char *tag;      /* the new image's ref.name */
	/* The new layer, already a blob of the layout written to. */
	const char *layer_media_type;
	struct lfs_digest layer_digest;
	uint64_t layer_size;
	struct lfs_digest diff_id;
	const char *created;	/* RFC 3339: the config's and the history
				 * entry's time */
	const char *created_by; /* the history entry's */
	const char *comment;	/* the history entry's, or NULL */
};

/* Write the new image into @w: the existing image's layer blobs copied in
 * when @w is another layout (or from their ranges); its config with the
 * layer's diff_id added to
 * rootfs.diff_ids, a history entry added (where it keeps a history) and
 * "created" set; its manifest with the new config and the layer added
 * (every other member kept); then index.json with @a->tag naming it (an
 * entry of that tag before is replaced).  *@digest: the new manifest's
 * (g_free). */
gboolean lfs_oci_out_append(struct lfs_oci_out *w,
			    const struct lfs_oci_append *a, char **digest,
			    GError **error);

#endif
