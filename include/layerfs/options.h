/* Mount options, parsed without FUSE types so they can be unit-tested.
 *
 * `-o` strings mix our own keys with FUSE mount options (and, from fstab,
 * mount(8)'s bookkeeping words).  lfs_options_parse_o() takes ours out,
 * drops the bookkeeping, and keeps the rest for the FUSE mount, which
 * rejects what it does not know. */
#ifndef LAYERFS_OPTIONS_H
#define LAYERFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "layerfs/idmap.h"
#include "layerfs/layer.h"

/* How far indexing has got, for a progress display. */
enum lfs_progress_state {
	LFS_PROGRESS_RUNNING, /* @p says where the pass is */
	LFS_PROGRESS_BUILT,   /* indexed now; @p is final */
	LFS_PROGRESS_CACHED,  /* the index came from the cache */
	LFS_PROGRESS_FAILED,
};

struct lfs_mount_progress {
	uint32_t layer, nlayers; /* bottom is 0 */
	const struct lfs_layer_spec *spec;
	enum lfs_progress_state state;
	struct lfs_layer_progress p;
};

/* Called from the workers, concurrently for different layers. */
typedef void (*lfs_mount_progress_fn)(void *ctx,
				      const struct lfs_mount_progress *ev);

/* What workers do in the background once the mount is up. */
enum lfs_prefetch {
	LFS_PREFETCH_NONE,
	LFS_PREFETCH_INDEX,  /* read the layer indexes into the page cache */
	LFS_PREFETCH_UNPACK, /* that, and unpack compressed layers */
	LFS_PREFETCH_AUTO,   /* INDEX, and unpack a compressed layer once its
			      * reads are scattered (stream.h) */
};

/* Kernel readahead unless told otherwise: a FUSE request can carry at
 * most 1 MiB, and a compressed layer reads fastest in runs that long
 * (docs/benchmarks.md). */
#define LFS_READAHEAD_DEFAULT (1u << 20)

struct lfs_options {
	char *source;	    /* NULL when layers are listed */
	GPtrArray *layers;  /* char *, bottom to top */
	char *platform;	    /* NULL: the host's */
	char *cache_dir;    /* NULL: lfs_cache_default_dir() */
	bool allow_other;   /* default: when run as root */
	uint64_t span;	    /* span=: gzip access point distance; 0: default */
	unsigned int handles; /* handles=: decompressors per layer; 0: default */
	uint64_t meta_cache;  /* meta_cache=: bytes of cached directories */
	uint64_t span_cache;  /* span_cache=: bytes of inflated chunks kept
			       * for later reads (span_cache.h) */
	unsigned int threads; /* threads=: workers; 0: one per processor */
	uint64_t readahead;   /* readahead=: kernel readahead; default 1 MiB */
	enum lfs_prefetch prefetch; /* prefetch=; default AUTO */
	bool splice;	      /* nosplice: copy every read; default on */
	bool profile;	      /* profile=on|off: record first reads and
			       * read ahead in their order; default on */
	/* A writable mount: upper=/upperdir= and work=/workdir= (both or
	 * neither).  lowerdir=A:B:C (overlayfs's and fuse-overlayfs's
	 * spelling, the leftmost on top) fills @layers. */
	char *upper;
	char *work;
	bool lowerdir;	      /* the layers came from lowerdir= */
	bool userxattr;	      /* user.overlay.* xattrs even as root */
	bool volatile_;	      /* volatile: no fsync of copied-up data */
	bool metacopy;	      /* metacopy=on|off; default on */
	/* Not an -o key: `layerfs diff` and `commit` read an upper over the
	 * image in process, with no work directory, writing nothing. */
	bool upper_readonly;
	char *mountpoint;     /* set by the caller: the upper may not be in it */
	char *fsname;	      /* set by the caller: the mount's name, or NULL
			       * for the source's */
	/* fuse-overlayfs's options: owners as shown (uidmapping=,
	 * gidmapping=, squash_to_uid=, squash_to_gid=, squash_to_root),
	 * static_nlink, noxattrs=1, timeout=. */
	struct lfs_idmap uids, gids;
	bool static_nlink;
	bool noxattrs;
	unsigned int xattr_permissions; /* 0, 1 or 2 (override.h) */
	double timeout;	      /* entry and attribute timeouts; 0: a year */
	/* Not options: how the caller follows indexing, and stops it (set
	 * *@stop, atomically, from anywhere: the indexing passes end with
	 * ECANCELED); NULL: only a failed layer stops the others. */
	lfs_mount_progress_fn progress;
	void *progress_ctx;
	gint *stop;
	GPtrArray *fuse_opts; /* char *, passed to the FUSE mount */
};

struct lfs_options *lfs_options_new(void);
void lfs_options_free(struct lfs_options *o);

/* Who takes -o options: a mount takes them all, handing what is not
 * layerfs's own to FUSE; `layerfs index` only those that mean something
 * without a mount (cache_dir=, platform=, threads=, span=), and refuses
 * the rest, so that a mount option given to it is not silently lost. */
enum lfs_options_use {
	LFS_OPTIONS_MOUNT,
	LFS_OPTIONS_INDEX,
};

/* Parse one comma-separated -o argument ("\," escapes a comma) for @use.
 * Fails with EINVAL and a one-line reason on a bad value, a value given
 * to a flag, and (INDEX) an option that only applies to a mount. */
gboolean lfs_options_parse_for(struct lfs_options *o, const char *arg,
			       enum lfs_options_use use, GError **error);
/* The same, for a mount. */
gboolean lfs_options_parse_o(struct lfs_options *o, const char *arg,
			     GError **error);

/* What -o takes for @use, one option a line with a word on each, for
 * --help (g_free).  Made from the table the parser uses. */
char *lfs_options_help(enum lfs_options_use use);

/* The full FUSE option string for @o: read-only, default_permissions,
 * allow_other when wanted, fsname and subtype, then the user's options. */
char *lfs_options_fuse_string(const struct lfs_options *o,
			      const char *fsname);

typedef struct lfs_options lfs_options;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_options, lfs_options_free)

#endif
