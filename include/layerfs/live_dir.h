/* A live directory layer: the upper directory of a writable mount, read as
 * it is now, one entry at a time, in kernel overlayfs's on-disk format
 * (docs/upper-format.md).  Unlike a packed layer it has no index: every
 * question is answered by the directory itself, with *at() calls relative
 * to a directory descriptor that the caller holds, so a path is never
 * resolved through a symlink the container made.
 *
 * What an entry means:
 *  - a character device 0/0 is a whiteout (so is an empty regular file
 *    with the overlay.whiteout xattr, overlayfs's other spelling);
 *  - a directory with overlay.opaque "y" hides what lies below it;
 *    overlay.redirect says where its lower part is, when it was renamed;
 *  - a regular file with overlay.metacopy holds metadata only: its data is
 *    the lower file's (at overlay.redirect if it was renamed);
 *  - layerfs's own overlay.layerfs.origin records the inode number an
 *    object had below before it was copied up, so the number survives a
 *    remount (kernel overlayfs ignores and hides it, as every overlay.*
 *    name). */
#ifndef LAYERFS_LIVE_DIR_H
#define LAYERFS_LIVE_DIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib.h>

#include "layerfs/override.h"
#include "layerfs/whiteout.h"

struct lfs_live {
	int rootfd;		/* the upper directory (O_PATH) */
	enum lfs_ovl_ns ns;	/* trusted.overlay.* or user.overlay.* */
	/* Identifies the lower stack: an origin recorded over another
	 * stack names nothing here and is ignored. */
	uint64_t stack_id;
	/* Owner records that apply (override.h), from the root's xattrs. */
	enum lfs_override override;
};

enum lfs_live_kind {
	LFS_LIVE_ABSENT,
	LFS_LIVE_WHITEOUT,
	LFS_LIVE_DIR,
	LFS_LIVE_OTHER, /* any non-directory */
};

struct lfs_live_ent {
	enum lfs_live_kind kind;
	struct stat st;
	bool opaque;	 /* DIR: hides the lower directory */
	bool metacopy;	 /* REG: the data is the lower file's */
	char *redirect;	 /* DIR, metacopy REG: where the lower part is
			  * ("/abs/path" or a name in the same parent);
			  * NULL: the same name (g_free) */
	uint64_t origin; /* the number recorded at copy-up, 0: none */
};

void lfs_live_ent_clear(struct lfs_live_ent *e);

/* What @name in directory @dirfd is.  Absent is not an error.  Returns 0
 * or -errno (EIO for an entry whose overlay xattrs cannot be read). */
int lfs_live_stat(const struct lfs_live *lv, int dirfd, const char *name,
		  struct lfs_live_ent *out);

/* One entry of a live directory listing. */
struct lfs_live_dirent {
	char *name;	/* g_free */
	uint8_t d_type; /* DT_* (whiteouts are DT_CHR) */
	uint64_t d_ino;
};

/* Every entry of directory @dirfd but "." and "..", in the order the file
 * system gives them (struct lfs_live_dirent; free with
 * g_array_unref).  Returns 0 or -errno. */
int lfs_live_list(int dirfd, GArray **out);

/* Extended attributes of @name in @dirfd (symlinks not followed), never
 * the overlay.* ones nor the owner records: as getxattr(2)/listxattr(2),
 * -errno. */
ssize_t lfs_live_getxattr(const struct lfs_live *lv, int dirfd,
			  const char *name, const char *xname, void *buf,
			  size_t size);
ssize_t lfs_live_listxattr(const struct lfs_live *lv, int dirfd,
			   const char *name, char *buf, size_t size);
/* Apply @name's owner record, if there is one, to @st. */
void lfs_live_apply_override(const struct lfs_live *lv, int dirfd,
			     const char *name, struct stat *st);

/* Symlink target of @name in @dirfd (g_free), or NULL with *err set. */
char *lfs_live_readlink(int dirfd, const char *name, int *err);

/* The value the origin xattr takes for @ino under @lv (g_free). */
char *lfs_live_origin_value(const struct lfs_live *lv, uint64_t ino);

/* The path "/proc/self/fd/@dirfd/@name", through which the *xattr(2)
 * calls reach an entry without following a symlink at @name. */
char *lfs_live_proc_path(int dirfd, const char *name);

#endif
