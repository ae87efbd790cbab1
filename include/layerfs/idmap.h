/* Owner mapping between the files on disk and what the mount shows, as
 * fuse-overlayfs's uidmapping=, gidmapping= and squash_to_* options give
 * it: a container id C in a range C:H:L is host id H + (C - C0) on disk.
 * Ids outside every range show as the overflow id 65534, as a user
 * namespace shows unmapped ids; squash options show one owner for all. */
#ifndef LAYERFS_IDMAP_H
#define LAYERFS_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#define LFS_IDMAP_OVERFLOW 65534u

struct lfs_idrange {
	uint32_t inside, outside, count;
};

struct lfs_idmap {
	GArray *ranges;	   /* struct lfs_idrange; NULL: the identity */
	bool squash;	   /* every id shows as @squash_to */
	uint32_t squash_to;
};

/* Parse "C:H:L[:C:H:L...]" into @m (appending); FALSE with a one-line
 * reason on a bad value or overlapping ranges. */
gboolean lfs_idmap_parse(struct lfs_idmap *m, const char *key,
			 const char *value, GError **error);
void lfs_idmap_clear(struct lfs_idmap *m);
/* What the mount shows for host id @id. */
uint32_t lfs_idmap_show(const struct lfs_idmap *m, uint32_t id);
/* The host id to store for container id @id. */
uint32_t lfs_idmap_store(const struct lfs_idmap *m, uint32_t id);

#endif
