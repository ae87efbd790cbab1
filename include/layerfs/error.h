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

/* The errno carried by @err: its code for LFS_ERROR, EIO for other domains. */
int lfs_error_errno(const GError *err);

#endif
