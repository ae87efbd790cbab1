/* Scope cleanup helpers GLib 2.74 lacks (g_autofd arrived in 2.76).
 *
 * Never close() an lfs_autofd variable by hand: the destructor would close
 * the number again, possibly after it was reused.  Hand ownership on with
 * g_steal_fd() instead. */
#ifndef LAYERFS_CLEANUP_H
#define LAYERFS_CLEANUP_H

#include <errno.h>
#include <unistd.h>

static inline void lfs_closep(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

#define lfs_autofd __attribute__((cleanup(lfs_closep))) int

#endif
