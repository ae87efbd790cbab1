/* The file system operations, shaped like FUSE's low-level API but with
 * plain C types, so they run (and are unit-tested) without a mount.  Each
 * returns 0 or a byte count, or -errno.  The FUSE adapters in src/fuse/
 * only decode requests, call these and reply.
 *
 * Node ids and lookup counts.  The kernel names objects by the node id a
 * lookup gave it, counts lookups and readdirplus entries and sends
 * forgets.  A read-only mount's ids are its inode numbers, names that
 * stay valid for the life of the mount whatever the kernel holds
 * (tree.h, docs/decisions/0010), so it needs no counts.  A writable
 * mount's objects change, so its ids are nodes with counts (overlay.h):
 * every call below that hands an object out (lookup, create, mknod,
 * mkdir, symlink, link, readdirplus) adds one, and lfs_fs_forget() takes
 * them back.
 *
 * Read-only as a policy: without an upper directory every call that
 * would change something answers -EROFS; so it does over an upper opened
 * only to be read (lfs_options.upper_readonly). */
#ifndef LAYERFS_FSOPS_H
#define LAYERFS_FSOPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "layerfs/mount.h"
#include "layerfs/read.h"
#include "layerfs/upper.h"

struct lfs_file;

/* Child @name of @parent: its node id in *id (may be NULL) and its
 * attributes. */
int lfs_fs_lookup(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t *id, struct stat *st);
/* The kernel drops @n counts on node @id. */
void lfs_fs_forget(struct lfs_mount *m, uint64_t id, uint64_t n);
/* Whether the mount takes writes (it has an upper directory, not opened
 * only to be read). */
bool lfs_fs_writable(const struct lfs_mount *m);
/* Whether the kernel should check POSIX ACLs (and leave the umask of a
 * new object to us, so that a default ACL can take its place), as
 * overlayfs does: a writable mount that shows xattrs and owners as they
 * are stored (an ACL names owners too).  @on: what INIT agreed. */
bool lfs_fs_posix_acl(const struct lfs_mount *m);
void lfs_fs_set_posix_acl(struct lfs_mount *m, bool on);
int lfs_fs_getattr(struct lfs_mount *m, uint64_t ino, struct stat *st);
/* The target in *target (g_free). */
int lfs_fs_readlink(struct lfs_mount *m, uint64_t ino, char **target);

/* Open file @ino with open(2) @flags: a lower file is copied up first
 * when opened for writing (with none of its data under O_TRUNC). */
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
 * st_mode are set; with it, @id is the entry's node id. */
typedef int (*lfs_dirent_fn)(void *ctx, const char *name, uint64_t id,
			     const struct stat *st, uint64_t next);

/* Directories need no open: @off, the "next" of an earlier entry, names
 * the same place in every later call, so the FUSE adapter declines
 * opendir and the kernel caches listings itself.  Read-only, a listing
 * is the same every time it is built (sorted, from immutable indexes)
 * and an offset is a position; writable, an offset is the entry's
 * cookie (overlay.h), which stays valid while entries come and go. */
int lfs_fs_readdir(struct lfs_mount *m, uint64_t ino, uint64_t off,
		   bool plus, lfs_dirent_fn emit, void *ctx);

ssize_t lfs_fs_getxattr(struct lfs_mount *m, uint64_t ino, const char *name,
			void *buf, size_t size);
ssize_t lfs_fs_listxattr(struct lfs_mount *m, uint64_t ino, char *buf,
			 size_t size);
int lfs_fs_statfs(struct lfs_mount *m, struct statvfs *st);

/* ---- writes (-EROFS without an upper, or with one only read) ---- */

/* Make @name in @parent (a regular file, directory, symlink with
 * @obj->target, device, FIFO or socket) for @c; the new node's id and
 * attributes as a lookup gives them.  create() (@f not NULL) also opens
 * a regular file with @obj->flags. */
int lfs_fs_make(struct lfs_mount *m, uint64_t parent, const char *name,
		const struct lfs_new_obj *obj, const struct lfs_caller *c,
		uint64_t *id, struct stat *st, struct lfs_file **f);
int lfs_fs_link(struct lfs_mount *m, uint64_t ino, uint64_t parent,
		const char *name, uint64_t *id, struct stat *st);
int lfs_fs_unlink(struct lfs_mount *m, uint64_t parent, const char *name);
int lfs_fs_rmdir(struct lfs_mount *m, uint64_t parent, const char *name);
int lfs_fs_rename(struct lfs_mount *m, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags);
/* setattr; @f (may be NULL) is the open file it came through.  The new
 * attributes in *st. */
int lfs_fs_setattr(struct lfs_mount *m, uint64_t ino, struct lfs_setattr *a,
		   struct lfs_file *f, struct stat *st);
ssize_t lfs_fs_write(struct lfs_mount *m, struct lfs_file *f,
		     const void *buf, size_t len, uint64_t off);
/* The descriptor writes of @f go to (the upper file), or -EBADF: for a
 * write that splices straight from the kernel's buffer. */
int lfs_fs_write_fd(struct lfs_mount *m, struct lfs_file *f);
int lfs_fs_fsync(struct lfs_mount *m, struct lfs_file *f, bool datasync);
int lfs_fs_fsyncdir(struct lfs_mount *m, uint64_t ino, bool datasync);
int lfs_fs_fallocate(struct lfs_mount *m, struct lfs_file *f, int mode,
		     uint64_t off, uint64_t len);
/* lseek(2) with SEEK_DATA or SEEK_HOLE: the offset, or -ENXIO. */
int64_t lfs_fs_lseek(struct lfs_mount *m, struct lfs_file *f, uint64_t off,
		     int whence);
ssize_t lfs_fs_copy_range(struct lfs_mount *m, struct lfs_file *in,
			  uint64_t off_in, struct lfs_file *out,
			  uint64_t off_out, size_t len, int flags);
int lfs_fs_setxattr(struct lfs_mount *m, uint64_t ino, const char *name,
		    const void *value, size_t size, int flags);
int lfs_fs_removexattr(struct lfs_mount *m, uint64_t ino, const char *name);

/* ---- quiescing changes (freeze.h) ---- */

/* The root's virtual xattr: set, the mount's changes stop until the
 * process that set it exits (`layerfs commit`).  Not removable: that
 * would take the root's lock, which a change waiting there holds. */
#define LFS_FREEZE_XATTR "user.layerfs.freeze"

/* Around every call above that changes the upper. */
void lfs_fs_change_begin(struct lfs_mount *m);
void lfs_fs_change_end(struct lfs_mount *m);
/* Freeze for process @pid: 0 once no change is in flight, or -errno
 * (-EBUSY, frozen by another; -EROFS, a read-only mount). */
int lfs_fs_freeze(struct lfs_mount *m, pid_t pid);

/* access(2) for a caller; only asked when the kernel does not check
 * permissions itself (no default_permissions). */
int lfs_fs_access(struct lfs_mount *m, uint64_t ino, int mask, uid_t uid,
		  gid_t gid, const gid_t *groups, int ngroups);

#endif
