/* The writable layer: the upper and work directories, and every change a
 * writable mount makes to them, in kernel overlayfs's on-disk format
 * (docs/upper-format.md), so that `mount -t overlay` over the same lower
 * layers shows the same tree.
 *
 * Reading the upper is the namespace's job (overlay.h, live_dir.h); this
 * module only writes.  Every change that cannot be one system call is
 * prepared in the work directory (W/work, as overlayfs names it) and
 * renamed into place, so the upper never holds a half-made object: a
 * daemon killed at any moment leaves the upper as it was before or after
 * each change, and only leftovers in W/work, which the next mount
 * removes.
 *
 * Files here: upper.c (opening and checking the directories, the work
 * directory), copy_up.c (copy-up), dirops.c (create, mkdir, mknod,
 * symlink, link, unlink, rmdir), rename.c, attrs.c (setattr, xattrs). */
#ifndef LAYERFS_UPPER_H
#define LAYERFS_UPPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/copy.h"
#include "layerfs/live_dir.h"
#include "layerfs/log.h"
#include "layerfs/overlay.h"
#include "layerfs/stream.h"

struct lfs_upper_options {
	const char *upper;	/* the upper directory */
	const char *work;	/* the work directory (same file system) */
	const char *mountpoint; /* the upper may not lie inside it */
	bool userxattr;		/* user.overlay.* even as root */
	bool volatile_;		/* no fsync of copied-up data */
	bool metacopy;		/* metadata-only copy-up (default on) */
	/* xattr_permissions= (0, 1, 2): keep owner records (override.h) of
	 * what the mount chowns, chmods and creates. */
	unsigned int xattr_permissions;
	uint64_t stack_id;	/* identifies the lower stack (live_dir.h) */
	/* Only read the upper, as `layerfs diff` and `commit` do: no work
	 * directory (@work is ignored), no lock, nothing written. */
	bool readonly;
	const struct lfs_logger *lg;
};

struct lfs_upper_stats {
	uint64_t copy_ups;   /* objects copied up */
	uint64_t metacopies; /* ... of them with their metadata only */
	uint64_t data_copies; /* files whose data was copied */
	uint64_t copied;     /* bytes of data copied */
	uint64_t whiteouts;  /* whiteouts made */
};

/* Who asks for a change: new objects get this owner (uid/gid), as the
 * kernel gives the creating process. */
struct lfs_caller {
	uid_t uid;
	gid_t gid;
	mode_t umask;
};

struct lfs_upper {
	struct lfs_live live; /* the upper, as read (rootfd: the upper) */
	int workdir;	      /* W (locked: one mount at a time) */
	int workfd;	      /* W/work, where changes are prepared */
	bool fsync;	      /* flush copied-up data before it shows */
	bool metacopy;
	bool rename_whiteout; /* renameat2(RENAME_WHITEOUT) works here */
	bool record_owner;    /* write owner records (live.override's) */
	bool posix_acl;	      /* the kernel checks POSIX ACLs and leaves
			       * the umask to us (lfs_fs_posix_acl()) */
	bool readonly;	      /* opened to be read only: no work directory */
	const struct lfs_logger *lg;
	struct lfs_ovl *ov;	    /* set once the namespace exists */
	struct lfs_stream **streams; /* lower data (set by the mount) */
	struct lfs_layer **layers;
	uint32_t nlayers;
	guint64 tmp_seq;	    /* atomic: work directory names */
	struct lfs_upper_stats st;  /* atomic counters */
};

/* Check and open the directories: both exist, lie on one file system,
 * neither inside the other nor the upper inside the mountpoint; the upper
 * is writable, takes overlay xattrs and whiteouts; the work directory is
 * empty or overlayfs's or ours, and no other mount of ours uses it.  What
 * an earlier mount left in W/work is removed.  Errors name the directory
 * and the problem in one line.  With @o->readonly only the upper is
 * opened and checked to be a directory; nothing is written. */
gboolean lfs_upper_open(const struct lfs_upper_options *o,
			struct lfs_upper **out, GError **error);
/* The checks of lfs_upper_open() that need no layer: both directories
 * exist, on one file system, neither inside the other nor the upper
 * inside the mountpoint, and that file system holds overlay xattrs and
 * whiteouts (tried in the work directory under names of our own, so a
 * mount that holds it is not disturbed).  A mount makes them before it
 * indexes. */
gboolean lfs_upper_check(const struct lfs_upper_options *o, GError **error);
void lfs_upper_free(struct lfs_upper *u);

/* A fresh name for something prepared in the work directory (g_free). */
char *lfs_upper_tmpname(struct lfs_upper *u);
/* Remove @name from the work directory, recursively for a directory. */
int lfs_upper_work_remove(struct lfs_upper *u, const char *name);
/* Remove an orphan (see lfs_ovl_orphaned) from the work directory;
 * @ctx is the struct lfs_upper. */
void lfs_upper_drop_orphan(void *ctx, const char *name);
/* Keep the owner record of @name in @dirfd up to date with its owner
 * and mode, where the mount keeps records (xattr_permissions=). */
int lfs_upper_record_owner(struct lfs_upper *u, int dirfd, const char *name);
/* The full overlay xattr name for @key in the upper's namespace. */
const char *lfs_upper_xattr(const struct lfs_upper *u, enum lfs_ovl_xattr key);

/* ---- copy_up.c ---- */

/* Make sure @n has an upper, its parents first.  @data: a regular file
 * gets its data too (else metadata only, where metacopy is on); @size:
 * the bytes of data to copy (UINT64_MAX: all; a truncating open copies
 * none).  Two callers for one node copy it once.  Returns 0 or -errno;
 * on failure the upper is as it was. */
int lfs_upper_copy_up(struct lfs_upper *u, struct lfs_onode *n, bool data,
		      uint64_t size);

/* The lower object that holds @n's data (a metacopy file's, or a file's
 * that is only below); -EIO, logged, where the upper says it is below
 * and nothing is. */
int lfs_upper_lower_data(struct lfs_upper *u, struct lfs_onode *n,
			 struct lfs_obj *out);

/* A metacopy file about to get a name other than its lower one (a link)
 * records where its data is (overlay.redirect), as overlayfs does, so
 * that every name finds it. */
int lfs_upper_redirect_data(struct lfs_upper *u, struct lfs_onode *n);

/* A fresh upper (empty, never mounted by layerfs) takes the attributes
 * of the image's root, as a copy-up of the root: overlayfs shows the
 * upper directory's own as the root's, so without this the mount's root
 * would be whatever mkdir made. */
int lfs_upper_adopt_root(struct lfs_upper *u);

/* ---- dirops.c ---- */

/* What a new object is. */
struct lfs_new_obj {
	mode_t mode;	    /* S_IFMT and permission bits (the umask
			     * applied, unless upper->posix_acl) */
	dev_t rdev;	    /* CHR, BLK */
	const char *target; /* LNK */
	int flags;	    /* REG: open(2) flags for the returned fd */
};

/* Make @name in directory @parent.  On success *out is its node (with a
 * kernel count and a reference) and, for a regular file, *fd an open
 * descriptor (else -1).  -EEXIST if the merged view has it already. */
int lfs_upper_create(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, const struct lfs_new_obj *obj,
		     const struct lfs_caller *c, struct lfs_onode **out,
		     int *fd);
/* A new name @parent/@name for @n (not a directory). */
int lfs_upper_link(struct lfs_upper *u, struct lfs_onode *n,
		   struct lfs_onode *parent, const char *name);
/* If @parent/@name (resolved as @res; its node *node, or NULL) is a name
 * of a lower file with others, and is to go: the file goes up first (its
 * metadata), with all its names, so the names left keep one file and
 * count one link fewer; *node (referenced) and @res are then the copy's. */
int lfs_upper_lift_links(struct lfs_upper *u, struct lfs_onode *parent,
			 const char *name, struct lfs_ovl_res *res,
			 struct lfs_onode **node);
/* Remove @name from @parent: unlink (@dir false) or rmdir. */
int lfs_upper_remove(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, bool dir);

/* ---- rename.c ---- */

int lfs_upper_rename(struct lfs_upper *u, struct lfs_onode *parent,
		     const char *name, struct lfs_onode *newparent,
		     const char *newname, unsigned int flags);

/* ---- attrs.c ---- */

/* What setattr changes (LFS_SET_* bits) and the values. */
enum {
	LFS_SET_MODE = 1 << 0,
	LFS_SET_UID = 1 << 1,
	LFS_SET_GID = 1 << 2,
	LFS_SET_SIZE = 1 << 3,
	LFS_SET_ATIME = 1 << 4,
	LFS_SET_MTIME = 1 << 5,
	LFS_SET_ATIME_NOW = 1 << 6,
	LFS_SET_MTIME_NOW = 1 << 7,
	LFS_SET_CTIME = 1 << 8,
};

struct lfs_setattr {
	unsigned int what;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime;
	int fd; /* an open upper descriptor of the file, or -1 */
};

int lfs_upper_setattr(struct lfs_upper *u, struct lfs_onode *n,
		      const struct lfs_setattr *a);
int lfs_upper_setxattr(struct lfs_upper *u, struct lfs_onode *n,
		       const char *name, const void *value, size_t size,
		       int flags);
int lfs_upper_removexattr(struct lfs_upper *u, struct lfs_onode *n,
			  const char *name);

/* Open @n's upper (which it must have) with open(2) @flags. */
int lfs_upper_open_file(struct lfs_upper *u, struct lfs_onode *n, int flags);

#endif
