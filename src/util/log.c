/* Message formatting in front of a caller-chosen sink (see log.h). */
#include <stdarg.h>

#include "layerfs/log.h"

void lfs_log(const struct lfs_logger *lg, enum lfs_log_level level,
	     const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (!lg || !lg->fn || level > lg->max_level)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	lg->fn(lg->ctx, level, msg);
}
