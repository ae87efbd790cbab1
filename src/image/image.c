/* Image and layer-spec lifetimes, and the layer media types we understand. */
#include <stdlib.h>
#include <string.h>

#include "layerfs/image.h"

struct lfs_image *lfs_image_new(const char *source, const char *transport)
{
	struct lfs_image *img = g_new0(struct lfs_image, 1);

	img->source = g_strdup(source);
	img->transport = g_strdup(transport);
	img->layers = g_ptr_array_new_with_free_func(
		(GDestroyNotify)lfs_layer_spec_free);
	return img;
}

char *lfs_image_abspath(const char *path)
{
	char *real = realpath(path, NULL);
	char *out;

	if (!real)
		return g_canonicalize_filename(path, NULL);
	/* realpath()'s, malloc()ed; ours are g_free()d. */
	out = g_strdup(real);
	free(real);
	return out;
}

void lfs_image_free(struct lfs_image *img)
{
	if (!img)
		return;
	g_free(img->source);
	g_free(img->transport);
	g_free(img->manifest_digest);
	g_free(img->config_digest);
	g_free(img->platform);
	g_free(img->oci_dir);
	lfs_image_run_free(img->run);
	if (img->config)
		g_bytes_unref(img->config);
	g_ptr_array_unref(img->layers);
	g_free(img);
}

struct lfs_layer_spec *lfs_layer_spec_new(enum lfs_layer_kind kind,
					  const char *path, const char *name)
{
	struct lfs_layer_spec *spec = g_new0(struct lfs_layer_spec, 1);

	spec->kind = kind;
	spec->path = g_strdup(path);
	spec->name = g_strdup(name);
	spec->length = LFS_LENGTH_TO_EOF;
	spec->compression = LFS_COMP_DETECT;
	spec->size = -1;
	return spec;
}

void lfs_layer_spec_free(struct lfs_layer_spec *spec)
{
	if (!spec)
		return;
	g_free(spec->path);
	g_free(spec->name);
	g_free(spec->media_type);
	g_free(spec);
}

/* The OCI image spec's layer types, their "nondistributable" (foreign)
 * variants, and Docker's schema 2 names.  Docker's ".tar.gzip" types are
 * used by some tools for uncompressed data too, so those are detected from
 * the bytes rather than trusted. */
static const struct {
	const char *media_type;
	enum lfs_compression comp;
} layer_types[] = {
	{ "application/vnd.oci.image.layer.v1.tar", LFS_COMP_NONE },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", LFS_COMP_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", LFS_COMP_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar",
	  LFS_COMP_NONE },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	  LFS_COMP_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	  LFS_COMP_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar", LFS_COMP_NONE },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip",
	  LFS_COMP_DETECT },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	  LFS_COMP_DETECT },
	{ "application/vnd.docker.image.rootfs.diff.tar.zstd", LFS_COMP_ZSTD },
};

bool lfs_media_type_compression(const char *media_type,
				enum lfs_compression *out)
{
	if (!media_type) {
		*out = LFS_COMP_DETECT;
		return true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(layer_types); i++) {
		if (strcmp(media_type, layer_types[i].media_type) == 0) {
			*out = layer_types[i].comp;
			return true;
		}
	}
	return false;
}

const char *lfs_compression_name(enum lfs_compression c)
{
	switch (c) {
	case LFS_COMP_NONE:
		return "none";
	case LFS_COMP_GZIP:
		return "gzip";
	case LFS_COMP_ZSTD:
		return "zstd";
	case LFS_COMP_DETECT:
		break;
	}
	return "unknown";
}

void lfs_image_run_free(struct lfs_image_run *r)
{
	if (!r)
		return;
	g_strfreev(r->entrypoint);
	g_strfreev(r->cmd);
	g_strfreev(r->env);
	g_free(r->user);
	g_free(r->working_dir);
	g_free(r->stop_signal);
	g_free(r);
}
