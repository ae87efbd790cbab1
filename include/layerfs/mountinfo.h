/* What is mounted where, from the kernel's mount table
 * (/proc/self/mountinfo, see proc(5)): which mount is on top at a path,
 * its file system type and its device numbers.  `layerfs mount` uses it
 * to know a dead layerfs mount at its mountpoint from any other mount;
 * the FUSE session, to find its own mount's device numbers. */
#ifndef LAYERFS_MOUNTINFO_H
#define LAYERFS_MOUNTINFO_H

#include <glib.h>

struct lfs_mountinfo {
	char *devnum; /* "MAJ:MIN" */
	char *fstype; /* e.g. "fuse.layerfs" */
	char *source; /* e.g. the image, for layerfs */
};

/* The mount on top at @path (absolute and canonical: no symlink, "." or
 * "..") in @text, a mount table in mountinfo's format: TRUE with @out
 * filled (free with lfs_mountinfo_clear()), FALSE when nothing is mounted
 * at @path.  Names are unescaped (mountinfo writes a space as \040). */
gboolean lfs_mountinfo_find(const char *text, const char *path,
			    struct lfs_mountinfo *out);

/* The same in this process's mount table. */
gboolean lfs_mountinfo_here(const char *path, struct lfs_mountinfo *out);

void lfs_mountinfo_clear(struct lfs_mountinfo *mi);

#endif
