/* The file system operations, shaped like FUSE's low-level API but with
 * plain C types, so they run (and are unit-tested) without a mount.  Each
 * returns 0 or a byte count, or -errno.  The FUSE adapters in src/fuse/
 * only decode requests, call these and reply.
 *
 * Lookup counts: the kernel counts lookups and readdirplus entries and
 * sends forgets; nothing here needs them, node numbers being names that
 * stay valid for the life of the mount (tree.h, docs/decisions/0010). */
#ifndef LAYERFS_FSOPS_H
#define LAYERFS_FSOPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "layerfs/mount.h"
#include "layerfs/read.h"

struct lfs_file;

int lfs_fs_lookup(struct lfs_mount *m, uint64_t parent, const char *name,
		  struct stat *st);
int lfs_fs_getattr(struct lfs_mount *m, uint64_t ino, struct stat *st);
/* *target stays valid for the life of the mount. */
int lfs_fs_readlink(struct lfs_mount *m, uint64_t ino, const char **target);

/* Read-only: any request to write answers -EROFS. */
int lfs_fs_open(struct lfs_mount *m, uint64_t ino, int flags,
		struct lfs_file **out);
ssize_t lfs_fs_read(struct lfs_mount *m, struct lfs_file *f, void *buf,
		    size_t len, uint64_t off);
/* The same read as a place in a plain file, for a reply that splices
 * from it (read.h, lfs_read_map()): 0 with @out filled, -EAGAIN when
 * only lfs_fs_read() can answer, or the -errno lfs_fs_read() would give.
 * The descriptor stays open until @f is released. */
int lfs_fs_read_map(struct lfs_mount *m, struct lfs_file *f, size_t len,
		    uint64_t off, struct lfs_read_map *out);
void lfs_fs_release(struct lfs_mount *m, struct lfs_file *f);
/* Release every file still open (the mount is closing). */
void lfs_fs_release_all(struct lfs_mount *m);

/* Called per entry; returns 0 when the entry was taken, 1 when the reply is
 * full (the entry was not taken and listing stops).  @next is the offset to
 * resume after this entry.  Without @plus only st_ino and the type bits of
 * st_mode are set. */
typedef int (*lfs_dirent_fn)(void *ctx, const char *name,
			     const struct stat *st, uint64_t next);

/* Directories need no open: a listing is the same every time it is built
 * (sorted, from immutable indexes), so @off, the "next" of an earlier
 * entry, stays meaningful across calls, evictions and opens; the FUSE
 * adapter declines opendir, and the kernel then caches listings itself. */
int lfs_fs_readdir(struct lfs_mount *m, uint64_t ino, uint64_t off,
		   bool plus, lfs_dirent_fn emit, void *ctx);

ssize_t lfs_fs_getxattr(struct lfs_mount *m, uint64_t ino, const char *name,
			void *buf, size_t size);
ssize_t lfs_fs_listxattr(struct lfs_mount *m, uint64_t ino, char *buf,
			 size_t size);
int lfs_fs_statfs(struct lfs_mount *m, struct statvfs *st);

/* access(2) for a caller; only asked when the kernel does not check
 * permissions itself (no default_permissions). */
int lfs_fs_access(struct lfs_mount *m, uint64_t ino, int mask, uid_t uid,
		  gid_t gid, const gid_t *groups, int ngroups);

#endif
