/* Source strings -> images.  Accepted forms (the same splitting rule as
 * skopeo: the path ends at the first ':' after the transport, unless the
 * whole string names an existing file or directory):
 *
 *   oci:DIR[:TAG]               OCI image layout
 *   docker-archive:FILE[:REF]   docker save tarball; REF is NAME:TAG or @N
 *   DIR | FILE                  detected: a layout dir, or a docker-archive
 *
 * and an explicit bottom-to-top list of layers (tar, tar.gz, tar.zst files
 * or directories) with lfs_source_from_layers(). */
#ifndef LAYERFS_SOURCE_H
#define LAYERFS_SOURCE_H

#include <glib.h>

#include "layerfs/image.h"

/* @platform: "os/arch[/variant]" for multi-platform images; NULL = host. */
gboolean lfs_source_open(const char *source, const char *platform,
			 struct lfs_image **out, GError **error);

gboolean lfs_source_from_layers(const char *const *paths, guint n,
				struct lfs_image **out, GError **error);

#endif
