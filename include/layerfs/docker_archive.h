/* docker-archive: the tarball `docker save`, `podman save` and `skopeo copy
 * ... docker-archive:` write.  manifest.json lists, per image, a config
 * member and the layer members bottom to top.  Layers are read in place: a
 * layer spec is the member's byte range inside the outer tar, found by one
 * pass over the tar headers (member data is skipped with lseek). */
#ifndef LAYERFS_DOCKER_ARCHIVE_H
#define LAYERFS_DOCKER_ARCHIVE_H

#include <glib.h>

#include "layerfs/image.h"

struct lfs_docker_image {
	char *config;	  /* member name of the config JSON */
	GStrv repo_tags;  /* may be empty */
	GPtrArray *layers; /* member names (char *), bottom to top */
};

void lfs_docker_image_free(struct lfs_docker_image *img);

/* Parse manifest.json into struct lfs_docker_image * entries. */
gboolean lfs_docker_parse_manifest(const char *json, size_t len,
				   const char *what, GPtrArray **out,
				   GError **error);

/* Resolve tarball @file to an image.  @ref picks an image by repo tag
 * ("name:tag") or by position ("@N"); NULL means the only image. */
gboolean lfs_docker_archive_open(const char *file, const char *ref,
				 struct lfs_image **out, GError **error);

#endif
