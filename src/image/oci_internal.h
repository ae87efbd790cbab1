/* Declarations shared by the OCI layout files of src/image/ only: the
 * media types, cleanup functions for the public descriptor types, and the
 * choice of an index's entry (oci_platform.c) that lfs_oci_open() (oci.c)
 * makes at every level. */
#ifndef LAYERFS_OCI_INTERNAL_H
#define LAYERFS_OCI_INTERNAL_H

#include <stdbool.h>

#include <glib.h>

#include "layerfs/oci.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"

typedef struct lfs_oci_descriptor lfs_oci_descriptor;
typedef struct lfs_oci_manifest lfs_oci_manifest;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_oci_descriptor, lfs_oci_descriptor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_oci_manifest, lfs_oci_manifest_free)

/* ---- oci_platform.c ---- */

/* What to pick from an index, and what the pick found out. */
struct lfs_oci_pick {
	const char *ref;      /* index.json only: ref.name wanted, or NULL */
	const char *platform; /* "os/arch[/variant]", asked for or the host's */
	bool explicit;	      /* the user asked for @platform */
	bool named;	      /* out: a descriptor taken named its platform */
};

/* From index.json's descriptors @descs (of layout @dir), the one for @p:
 * the entries tagged @p->ref (all when NULL), then among them the one for
 * the platform.  Entries with different tags, or none naming a platform,
 * are different images, and only a tag tells them apart. */
gboolean lfs_oci_select_top(GPtrArray *descs, const char *dir,
			    struct lfs_oci_pick *p,
			    struct lfs_oci_descriptor **out, GError **error);

/* From an index's candidate descriptors, the one for @p's platform: the
 * best that runs on it, the first of those in index order
 * (docs/decisions/0013, 0017).  A lone candidate is the
 * image unless it names another platform than the one asked for; without
 * --platform it is taken even then, so a foreign image mounts for
 * inspection, as a single-manifest one does. */
gboolean lfs_oci_select_platform(GPtrArray *cands, const char *what,
				 struct lfs_oci_pick *p,
				 struct lfs_oci_descriptor **out,
				 GError **error);

/* With --platform, an image no descriptor named a platform for must say in
 * its config (@have, "os/arch[/variant]" or NULL) that it is for that
 * platform.  A config without a variant does not contradict the variant
 * asked for: the field is optional there and often left out. */
gboolean lfs_oci_check_config_platform(const char *what, const char *have,
				       const struct lfs_oci_pick *p,
				       GError **error);

#endif
