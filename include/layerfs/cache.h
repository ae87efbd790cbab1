/* The cache directory: where decompressed copies of compressed layers live
 * while a mount uses them.
 *
 * Today (docs/decisions/0003) each copy is an unnamed O_TMPFILE in the cache
 * directory: it is never visible under a name, so a crash or kill -9 leaves
 * nothing behind and two mounts never race on a name.  The persisted,
 * shareable per-digest index comes with the lazy read path. */
#ifndef LAYERFS_CACHE_H
#define LAYERFS_CACHE_H

#include <glib.h>

struct lfs_cache;

/* The default: /var/cache/layerfs for root, else $XDG_CACHE_HOME/layerfs
 * (g_free). */
char *lfs_cache_default_dir(void);

/* Create @path (mode 0700, parents as needed) and open it. */
gboolean lfs_cache_open(const char *path, struct lfs_cache **out,
			GError **error);
void lfs_cache_free(struct lfs_cache *c);

const char *lfs_cache_path(const struct lfs_cache *c);

/* A new anonymous read-write file in the cache.  Returns an fd or -errno. */
int lfs_cache_tmpfile(struct lfs_cache *c);

#endif
