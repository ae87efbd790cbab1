/* Declarations shared by src/core/fsops.c (the facade, read-only mounts)
 * and fsops_rw.c (writable mounts) only. */
#ifndef LAYERFS_FSOPS_INTERNAL_H
#define LAYERFS_FSOPS_INTERNAL_H

#include "layerfs/fsops.h"
#include "layerfs/overlay.h"

struct lfs_file {
	/* The data below: a layer's entry (the real file for a directory
	 * layer).  Unset (layer NULL) when the upper holds it. */
	struct lfs_layer *layer;
	struct lfs_stream *stream;
	uint32_t entry;
	int fd;	     /* directory layers: the real file; else -1 */
	bool logged; /* a read error was logged: once per open is enough */
	/* Writable mounts only. */
	struct lfs_onode *node; /* counted; NULL in a read-only mount */
	int flags;		/* open(2) flags */
	GMutex lock;		/* protects ufd */
	int ufd;		/* the upper file, -1 while the data is below */
	struct lfs_file *prev, *next; /* m->files */
};

/* What stat shows of @st (idmap.h, static_nlink). */
void lfs_fs_show(const struct lfs_mount *m, struct stat *st);

/* Point @f at the data of lower object @o (a regular file).  Returns 0 or
 * -errno (the directory layer's file is gone: logged). */
int lfs_file_set_lower(struct lfs_mount *m, struct lfs_file *f,
		       const struct lfs_obj *o);
/* Put @f on the mount's list of open files, and take it off. */
void lfs_file_track(struct lfs_mount *m, struct lfs_file *f);
void lfs_file_free(struct lfs_mount *m, struct lfs_file *f);
ssize_t lfs_file_read_lower(struct lfs_mount *m, struct lfs_file *f,
			    void *buf, size_t len, uint64_t off);
int lfs_file_map_lower(struct lfs_mount *m, struct lfs_file *f, size_t len,
		       uint64_t off, struct lfs_read_map *out);

/* ---- fsops_rw.c: the same calls for a writable mount ---- */

int lfs_rw_lookup(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t *id, struct stat *st);
int lfs_rw_getattr(struct lfs_mount *m, uint64_t id, struct stat *st);
int lfs_rw_readlink(struct lfs_mount *m, uint64_t id, char **target);
int lfs_rw_open(struct lfs_mount *m, uint64_t id, int flags,
		struct lfs_file **out);
ssize_t lfs_rw_read(struct lfs_mount *m, struct lfs_file *f, void *buf,
		    size_t len, uint64_t off);
int lfs_rw_read_map(struct lfs_mount *m, struct lfs_file *f, size_t len,
		    uint64_t off, struct lfs_read_map *out);
int lfs_rw_readdir(struct lfs_mount *m, uint64_t id, uint64_t off, bool plus,
		   lfs_dirent_fn emit, void *ctx);
ssize_t lfs_rw_getxattr(struct lfs_mount *m, uint64_t id, const char *name,
			void *buf, size_t size);
ssize_t lfs_rw_listxattr(struct lfs_mount *m, uint64_t id, char *buf,
			 size_t size);
int lfs_rw_statfs(struct lfs_mount *m, struct statvfs *st);

#endif
