/* Errors with a human-readable reason, for set-up paths (image parsing, layer
 * indexing, mount set-up).  The GError code is always an errno value, so a
 * GError turns into a -errno reply in one step.  Hot paths return -errno. */
#ifndef LAYERFS_ERROR_H
#define LAYERFS_ERROR_H

#include <glib.h>

#define LFS_ERROR (lfs_error_quark())
GQuark lfs_error_quark(void);

/* Set *error (if error is not NULL) to an LFS_ERROR with code @errnum and
 * return FALSE, so callers can write `return lfs_fail(error, EINVAL, ...)`. */
gboolean lfs_fail(GError **error, int errnum, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* What kind of failure an error is, beyond its errno: the commands'
 * exit status says it (layerfs(1), EXIT STATUS).  Each cause is a GError
 * domain of its own whose codes are errno values too; LFS_ERROR is
 * LFS_CAUSE_OTHER. */
enum lfs_cause {
	LFS_CAUSE_OTHER,
	LFS_CAUSE_SOURCE,     /* the source is missing or not an image */
	LFS_CAUSE_INTEGRITY,  /* a digest or size differs from the source's */
	LFS_CAUSE_CORRUPT,    /* a layer's data cannot be read as a layer */
	LFS_CAUSE_MOUNTPOINT, /* the mountpoint cannot take the mount */
	LFS_CAUSE_FUSE,	      /* FUSE is not there or refuses */
	LFS_CAUSE_N,
};

/* lfs_fail() with a cause. */
gboolean lfs_fail_cause(GError **error, enum lfs_cause cause, int errnum,
			const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* Give *@error (when set, and of LFS_CAUSE_OTHER) cause @cause. */
void lfs_error_set_cause(GError **error, enum lfs_cause cause);
/* @err's cause (OTHER for other domains). */
enum lfs_cause lfs_error_cause(const GError *err);

/* The errno carried by @err: its code for LFS_ERROR and the causes' domains,
 * EIO for other domains. */
int lfs_error_errno(const GError *err);

#endif
