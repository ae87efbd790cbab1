/* The cache directory: persisted layer indexes, and unpacked copies of
 * compressed layers.
 *
 *   DIR/index/KEY.idx       a layer's index (index_file.h)
 *   DIR/index/KEY.lock      held (flock) while KEY is being indexed
 *   DIR/unpacked/KEY.tar    a layer's uncompressed tar stream
 *
 * KEY names the stored bytes: "sha256-<hex>" when they have a digest (so a
 * layer shared by two images is indexed once), else "local-<hash>" of the
 * file's path, device, inode, size, mtime and the layer's byte range in
 * it.  Files appear under their name only when complete (written to an
 * unnamed file, then linked and renamed), so a crash or kill -9 never
 * leaves one that a later mount would trust. */
#ifndef LAYERFS_CACHE_H
#define LAYERFS_CACHE_H

#include <sys/stat.h>

#include <glib.h>

#include "layerfs/image.h"

struct lfs_cache;

/* The default: /var/cache/layerfs for root, else $XDG_CACHE_HOME/layerfs
 * (g_free). */
char *lfs_cache_default_dir(void);

/* Create @path and its subdirectories (mode 0700) as needed and open them.
 * Fails with a reason when it cannot (read-only, no space, no access). */
gboolean lfs_cache_open(const char *path, struct lfs_cache **out,
			GError **error);
void lfs_cache_free(struct lfs_cache *c);

const char *lfs_cache_path(const struct lfs_cache *c);
int lfs_cache_index_dir(const struct lfs_cache *c);
int lfs_cache_unpacked_dir(const struct lfs_cache *c);
/* profile/ (profile.h), or -1 when it could not be made. */
int lfs_cache_profile_dir(const struct lfs_cache *c);

/* The key of @spec's stored bytes; @st is the stat of its file (g_free). */
char *lfs_cache_key(const struct lfs_layer_spec *spec, const struct stat *st);

/* Take the lock of @key (waits while another process or thread holds it):
 * index/KEY.lock, locked with flock().  Returns a descriptor or -errno. */
int lfs_cache_lock(struct lfs_cache *c, const char *key);
/* Release it, removing the file (so that locks do not pile up in the
 * cache); a waiter then takes a new one.  @fd < 0: nothing to do. */
void lfs_cache_unlock(struct lfs_cache *c, const char *key, int fd);

/* A new anonymous read-write file in the unpacked directory, to be given
 * a name with lfs_cache_publish() once complete.  Returns an fd or
 * -errno. */
int lfs_cache_tmpfile(struct lfs_cache *c);
/* Name the anonymous file @fd @name in directory @dirfd (replacing any
 * file there).  Returns 0 or -errno. */
int lfs_cache_publish(int dirfd, int fd, const char *name);

#endif
