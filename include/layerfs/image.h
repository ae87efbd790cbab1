/* An image resolved to what layerfs mounts: an ordered list of layers, bottom
 * to top, each a byte range of a file (a blob, or a member inside a
 * docker-archive tarball) or a directory.  Produced by oci.c,
 * docker_archive.c and source.c; consumed by layer/. */
#ifndef LAYERFS_IMAGE_H
#define LAYERFS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <glib.h>

#include "layerfs/digest.h"

enum lfs_compression {
	LFS_COMP_DETECT, /* unknown: decide from the first bytes */
	LFS_COMP_NONE,
	LFS_COMP_GZIP,
	LFS_COMP_ZSTD,
};

enum lfs_layer_kind {
	LFS_LAYER_TAR, /* a tar stream, maybe compressed, in a byte range */
	LFS_LAYER_DIR, /* a directory holding the layer's files */
};

/* A byte range that runs to the end of the file. */
#define LFS_LENGTH_TO_EOF UINT64_MAX

struct lfs_layer_spec {
	enum lfs_layer_kind kind;
	char *path;	 /* the file or directory */
	uint64_t offset; /* TAR: where the stream starts in @path */
	uint64_t length; /* TAR: its length, or LFS_LENGTH_TO_EOF */
	char *name;	 /* how messages name this layer */
	char *media_type; /* NULL when the source has none */
	enum lfs_compression compression;
	bool has_digest;	  /* @digest is of the stored bytes */
	struct lfs_digest digest;
	int64_t size;	  /* stored size the source promises, or -1 */
	bool has_diff_id; /* @diff_id is of the uncompressed tar */
	struct lfs_digest diff_id;
};

/* How the image says to run it: its config's "config" object (OCI
 * image-spec config.md; docker's has the same members). */
struct lfs_image_run {
	char **entrypoint; /* NULL when unset (g_strfreev) */
	char **cmd;	   /* NULL when unset */
	char **env;	   /* "NAME=value"; never NULL */
	char *user;	   /* "user[:group]" by name or number, or NULL */
	char *working_dir; /* or NULL */
	char *stop_signal; /* or NULL */
};

void lfs_image_run_free(struct lfs_image_run *r);

struct lfs_image {
	char *source;	      /* the source as the user named it */
	char *transport;      /* "oci", "docker-archive" or "layers" */
	char *manifest_digest; /* NULL when the source has none */
	char *config_digest;   /* NULL when the source has none */
	char *platform;	      /* "os/arch[/variant]" of the config, or NULL */
	/* The config's "created" time (lfs_oci_config_created()), when
	 * @has_created. */
	bool has_created;
	struct timespec created;
	GPtrArray *layers;    /* struct lfs_layer_spec *, bottom to top */
	char *oci_dir;	      /* an OCI layout's directory, absolute; NULL
			       * for other transports */
	struct lfs_image_run *run; /* NULL: no config (a layer list) */
	GBytes *config;	      /* the config document as stored, or NULL */
};

struct lfs_image *lfs_image_new(const char *source, const char *transport);
/* @path absolute and canonical (symlinks resolved; where it cannot be
 * resolved, made absolute as written), for an image's source, which the
 * mount table and reports show (g_free). */
char *lfs_image_abspath(const char *path);
void lfs_image_free(struct lfs_image *img);
struct lfs_layer_spec *lfs_layer_spec_new(enum lfs_layer_kind kind,
					  const char *path, const char *name);
void lfs_layer_spec_free(struct lfs_layer_spec *spec);

/* Compression named by a layer media type.  Returns false for media types
 * that are not image layers layerfs can apply (e.g. "+bzip2" or an
 * artifact type).  A NULL media type means DETECT. */
bool lfs_media_type_compression(const char *media_type,
				enum lfs_compression *out);

const char *lfs_compression_name(enum lfs_compression c);

typedef struct lfs_image lfs_image;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lfs_image, lfs_image_free)

#endif
