/* The LFS_ERROR domain: GError codes are errno values (see error.h). */
#include <errno.h>
#include <stdarg.h>

#include "layerfs/error.h"

G_DEFINE_QUARK(layerfs-error-quark, lfs_error)

gboolean lfs_fail(GError **error, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!error)
		return FALSE;
	va_start(ap, fmt);
	*error = g_error_new_valist(LFS_ERROR, errnum, fmt, ap);
	va_end(ap);
	return FALSE;
}

static GQuark cause_quark(enum lfs_cause cause)
{
	static const char *const names[LFS_CAUSE_N] = {
		[LFS_CAUSE_SOURCE] = "layerfs-source-error",
		[LFS_CAUSE_INTEGRITY] = "layerfs-integrity-error",
		[LFS_CAUSE_CORRUPT] = "layerfs-corrupt-error",
		[LFS_CAUSE_MOUNTPOINT] = "layerfs-mountpoint-error",
		[LFS_CAUSE_FUSE] = "layerfs-fuse-error",
	};

	if (cause <= LFS_CAUSE_OTHER || cause >= LFS_CAUSE_N)
		return LFS_ERROR;
	return g_quark_from_static_string(names[cause]);
}

gboolean lfs_fail_cause(GError **error, enum lfs_cause cause, int errnum,
			const char *fmt, ...)
{
	va_list ap;

	if (!error)
		return FALSE;
	va_start(ap, fmt);
	*error = g_error_new_valist(cause_quark(cause), errnum, fmt, ap);
	va_end(ap);
	return FALSE;
}

void lfs_error_set_cause(GError **error, enum lfs_cause cause)
{
	if (error && *error && (*error)->domain == LFS_ERROR)
		(*error)->domain = cause_quark(cause);
}

enum lfs_cause lfs_error_cause(const GError *err)
{
	for (int c = LFS_CAUSE_OTHER + 1; err && c < LFS_CAUSE_N; c++) {
		if (err->domain == cause_quark(c))
			return c;
	}
	return LFS_CAUSE_OTHER;
}

int lfs_error_errno(const GError *err)
{
	if (err && err->code > 0 &&
	    (err->domain == LFS_ERROR ||
	     lfs_error_cause(err) != LFS_CAUSE_OTHER))
		return err->code;
	return EIO;
}
