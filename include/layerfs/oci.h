/* OCI image layout (image-spec "image-layout.md"): index.json -> (nested
 * indexes) -> manifest -> config + ordered layers.  The parsers take bytes so
 * tests drive them without files; lfs_oci_open() does the file I/O and
 * verifies every JSON blob's size and digest before parsing it. */
#ifndef LAYERFS_OCI_H
#define LAYERFS_OCI_H

#include <stdint.h>

#include <time.h>

#include <glib.h>

#include "layerfs/digest.h"
#include "layerfs/image.h"

#define LFS_OCI_REF_NAME "org.opencontainers.image.ref.name"

/* Index and manifest documents are small; anything past this is hostile. */
#define LFS_OCI_JSON_MAX (16u << 20)

struct lfs_oci_descriptor {
	char *media_type; /* NULL when absent */
	struct lfs_digest digest;
	int64_t size;
	char *ref_name;	      /* the ref.name annotation, or NULL */
	char *os, *arch, *variant; /* platform, each NULL when absent */
};

struct lfs_oci_manifest {
	struct lfs_oci_descriptor *config;
	GPtrArray *layers; /* struct lfs_oci_descriptor * */
};

void lfs_oci_descriptor_free(struct lfs_oci_descriptor *d);
void lfs_oci_manifest_free(struct lfs_oci_manifest *m);

/* An image index (index.json, or a nested index blob): its "manifests". */
gboolean lfs_oci_parse_index(const char *json, size_t len, const char *what,
			     GPtrArray **out, GError **error);
gboolean lfs_oci_parse_manifest(const char *json, size_t len,
				const char *what, struct lfs_oci_manifest **out,
				GError **error);
/* Validate an image config; return its diff_ids (struct lfs_digest *) and
 * platform ("os/arch[/variant]", g_free). */
gboolean lfs_oci_parse_config(const char *json, size_t len, const char *what,
			      GPtrArray **diff_ids, char **platform,
			      GError **error);

/* The image config's "created" time (RFC 3339), into *out; false where it
 * has none, or one that does not parse or lies before 1970 (Go's zero
 * time stands for none).  @json was checked by lfs_oci_parse_config(). */
bool lfs_oci_config_created(const char *json, size_t len, struct timespec *out);

/* The run settings of config @json (checked by lfs_oci_parse_config());
 * members of the wrong type are errors naming @what. */
gboolean lfs_oci_config_run(const char *json, size_t len, const char *what,
			    struct lfs_image_run **out, GError **error);

/* The platform this machine runs, in OCI terms ("linux/amd64",
 * "linux/arm/v7"): lfs_oci_machine_platform() of uname(2)'s machine name.
 * g_free the results. */
char *lfs_oci_host_platform(void);
char *lfs_oci_machine_platform(const char *machine);

/* How well descriptor @d's platform suits @platform ("os/arch[/variant]",
 * asked for or the host's), after containerd's normalisation and matching
 * (docs/decisions/0017): 0 when it is that platform, 1, 2, ... for older
 * ones that run there, in order of preference, and -1 when it does not
 * run there or names no platform. */
int lfs_oci_platform_rank(const struct lfs_oci_descriptor *d,
			  const char *platform);

/* Read blob @desc of layout @dir (a JSON document: at most
 * LFS_OCI_JSON_MAX bytes), checked against the descriptor's digest and,
 * unless it is negative, its size.  @what names it in errors. */
gboolean lfs_oci_read_blob(const char *dir,
			   const struct lfs_oci_descriptor *desc,
			   const char *what, char **data, size_t *len,
			   GError **error);

/* Resolve layout directory @dir to an image.  @ref selects by the ref.name
 * annotation (NULL: the only image in the layout); @platform picks from
 * entries for several platforms, in index.json or a nested index (NULL: the
 * host's, and a lone image of another platform is still taken).  An explicit
 * @platform must also agree with the config of an image whose descriptors
 * name none. */
gboolean lfs_oci_open(const char *dir, const char *ref, const char *platform,
		      struct lfs_image **out, GError **error);

#endif
