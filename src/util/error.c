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

int lfs_error_errno(const GError *err)
{
	if (err && err->domain == LFS_ERROR && err->code > 0)
		return err->code;
	return EIO;
}
