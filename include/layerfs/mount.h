/* struct lfs_mount: the one context of a mounted image.  Everything a
 * request needs hangs off it; nothing lives in globals. */
#ifndef LAYERFS_MOUNT_H
#define LAYERFS_MOUNT_H

#include <glib.h>

struct lfs_upper;

#include "layerfs/cache.h"
#include "layerfs/dirplus.h"
#include "layerfs/freeze.h"
#include "layerfs/image.h"
#include "layerfs/layer.h"
#include "layerfs/log.h"
#include "layerfs/options.h"
#include "layerfs/overlay.h"
#include "layerfs/span_cache.h"
#include "layerfs/stream.h"
#include "layerfs/tree.h"
#include "layerfs/workers.h"

struct lfs_mount {
	struct lfs_logger log;
	struct lfs_image *image;
	struct lfs_cache *cache;
	struct lfs_workers *workers;
	struct lfs_layer **layers;   /* bottom to top */
	struct lfs_stream **streams; /* one per layer */
	struct lfs_span_cache *span_cache; /* shared by the streams; or NULL */
	uint32_t nlayers;
	struct lfs_tree *tree;	/* the lower stack, merged */
	/* A writable mount: the upper directory and the namespace over the
	 * tree; both NULL when read-only. */
	struct lfs_upper *upper;
	struct lfs_ovl *ovl;
	/* What stat shows (options.h): owners, directory links, xattrs. */
	struct lfs_idmap uids, gids;
	bool static_nlink;
	bool noxattrs;
	uint64_t meta_cache;	/* the directory cache's bound */
	/* Reads answered (fsops.c), atomic: by a descriptor to splice
	 * from, and by bytes copied into a buffer. */
	uint64_t reads_spliced, reads_copied;
	uint64_t total_entries; /* for statfs */
	uint64_t total_bytes;
	/* Files open through lfs_fs_open() (fsops.c): the kernel may send a
	 * last release after the unmount has ended the session, so the
	 * mount frees what is left when it closes. */
	GMutex files_lock;
	struct lfs_file *files;
	uint64_t nfiles;
	/* Which listings carry attributes (dirplus.h); the FUSE adapter
	 * asks it and tells it what it sent and what was looked up. */
	struct lfs_dirplus *dirplus;
	/* What this mount reads first, for the next mount of these layers,
	 * and what the last one read, read ahead at lfs_mount_prefetch()
	 * (profile.h); NULL without a cache or with profile=off.  The
	 * counts, atomic: ranges and bytes read ahead. */
	struct lfs_profile *profile;
	char *profile_name;
	GArray *replay;
	uint64_t replayed, replayed_bytes;
	/* How to open this mount's layers and upper again from another
	 * process (`layerfs diff MOUNTPOINT`, `commit`): JSON, schema
	 * LFS_MOUNT_JSON_SCHEMA (docs/json.md), made at open, when paths
	 * still resolve from the caller's directory. */
	char *described;
	/* Changes stop while a commit reads the upper (freeze.h). */
	struct lfs_freeze freeze;
};

/* Resolve the source in @o, get every layer's index (from the cache, or
 * by an indexing pass that verifies sizes and digests; the layers in
 * parallel on the workers) and build the merged tree.  Errors say which file and what.  A cache directory that
 * cannot be used only costs a warning: every layer is then indexed. */
gboolean lfs_mount_open(const struct lfs_options *o,
			const struct lfs_logger *lg, struct lfs_mount **out,
			GError **error);
void lfs_mount_close(struct lfs_mount *m);

/* Once the mount is up: start the background work @mode asks for. */
void lfs_mount_prefetch(struct lfs_mount *m, enum lfs_prefetch mode);

/* The id of the layer stack @m's upper was written over, as the mount's
 * description gives it (16 hex digits; g_free), or NULL without an
 * upper. */
char *lfs_mount_stack_name(const struct lfs_mount *m);

/* The image named by @o (a source string, or the --layer list). */
gboolean lfs_mount_load_image(const struct lfs_options *o,
			      struct lfs_image **out, GError **error);

#endif
