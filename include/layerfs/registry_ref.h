/* Image references in a registry, as skopeo spells them after
 * "docker://": [HOST[:PORT]/]REPO[:TAG][@DIGEST], normalised as the
 * distribution project's reference package does:
 *  - the first component is the registry host when it holds a '.' or a
 *    ':' or is "localhost"; otherwise the host is docker.io, and a
 *    one-component repository there is under "library/";
 *  - repository components are lower-case letters and digits, joined by
 *    '.', '_', "__" or runs of '-'; the name is at most 255 bytes;
 *  - a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; with neither a tag nor a
 *    digest the tag is "latest"; with a digest, the digest decides;
 *  - docker.io's API lives at registry-1.docker.io.
 * Parsing only: nothing here touches the network. */
#ifndef LAYERFS_REGISTRY_REF_H
#define LAYERFS_REGISTRY_REF_H

#include <stdbool.h>

#include <glib.h>

#include "layerfs/digest.h"

#define LFS_REGISTRY_PREFIX "docker://"

struct lfs_registry_ref {
	char *host;	/* as named, or "docker.io" ("localhost:5000") */
	char *api_host; /* where its API answers ("registry-1.docker.io") */
	char *repo;	/* "library/debian" */
	char *tag;	/* "latest" when neither a tag nor a digest is given;
			 * NULL with a digest and no tag */
	bool has_digest;
	struct lfs_digest digest;
};

/* Parse @s, the part after "docker://".  Errors (EINVAL) name the
 * reference and what is wrong with it, in one line. */
gboolean lfs_registry_ref_parse(const char *s, struct lfs_registry_ref **out,
				GError **error);
/* "docker://HOST/REPO:TAG", "...@DIGEST" or "...:TAG@DIGEST", normalised
 * (g_free). */
char *lfs_registry_ref_string(const struct lfs_registry_ref *r);
/* The manifest reference the API takes: the digest if there is one, else
 * the tag. */
char *lfs_registry_ref_manifest(const struct lfs_registry_ref *r);
void lfs_registry_ref_free(struct lfs_registry_ref *r);

typedef struct lfs_registry_ref lfs_registry_ref;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_registry_ref, lfs_registry_ref_free)

#endif
