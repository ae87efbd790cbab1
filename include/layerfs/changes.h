/* The changes an upper directory makes to the image below it: what
 * `layerfs diff` lists and `layerfs commit` turns into a layer.
 *
 * The walk compares two trees, the merged namespace (overlay.h: the upper
 * over the image) and the image alone (tree.h), and visits only where the
 * upper has a say: a directory the upper does not hold shows the image's
 * directory of that name, unchanged, unless a renamed ancestor (a
 * redirect) put another lower directory there, which is compared object
 * by object.  Within a directory:
 *  - a name the merged tree has and the image has not is ADDED, and so is
 *    everything below it;
 *  - a name the image has and the merged tree has not is DELETED (a
 *    whiteout, an opaque directory's hidden child, a renamed-away name);
 *  - a name both have is CHANGED when the merged tree's object is the
 *    upper's (a file, link or device copied up or replaced) or another
 *    lower object; a directory the upper holds is CHANGED when its type,
 *    mode, owner, mtime or xattrs differ from the image's, or it is opaque or
 *    renamed, and KEPT otherwise (the upper holds it only as the parent of
 *    a change).
 * Names are visited in byte order, a directory before what it holds, so
 * the output is the same on every run. */
#ifndef LAYERFS_CHANGES_H
#define LAYERFS_CHANGES_H

#include <stdint.h>

#include "layerfs/overlay.h"

enum lfs_change_kind {
	LFS_CHANGE_KEPT,   /* a directory the upper holds, as it was */
	LFS_CHANGE_ADDED,
	LFS_CHANGE_CHANGED,
	LFS_CHANGE_DELETED,
};

struct lfs_change {
	enum lfs_change_kind kind;
	const char *path;	/* relative to the root; "" is the root */
	const char *name;	/* the last component (inside @path) */
	uint32_t type;		/* S_IFMT bits: the new object's, or for
				 * DELETED the image's */
	uint32_t old_type;	/* the image's object's there (CHANGED,
				 * DELETED, KEPT), 0 for ADDED */
	/* The merged tree's object (ADDED, CHANGED, KEPT), referenced and
	 * counted for the call, so that it is in the namespace's table and
	 * calls by its id (fsops.h) reach it; NULL for DELETED. */
	struct lfs_onode *node;
};

/* Called once per change; a nonzero return (-errno) stops the walk and is
 * returned. */
typedef int (*lfs_change_fn)(void *ctx, const struct lfs_change *c);

/* Walk the changes @ov's upper makes to its lower tree, the root first
 * (path "", KEPT or CHANGED).  Returns 0 or -errno (a directory of the
 * upper that cannot be read: EIO and the like). */
int lfs_changes_walk(struct lfs_ovl *ov, lfs_change_fn fn, void *ctx);

/* The letter `layerfs diff` shows for @kind: 'A', 'C' or 'D' ('\0' for
 * KEPT, which it does not show). */
char lfs_change_letter(enum lfs_change_kind kind);

#endif
