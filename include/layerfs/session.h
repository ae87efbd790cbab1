/* A FUSE session serving one mount.  The API has no libfuse types, so the
 * CLI needs no FUSE headers; only src/fuse/ does. */
#ifndef LAYERFS_SESSION_H
#define LAYERFS_SESSION_H

#include <stdbool.h>

#include "layerfs/mount.h"

struct lfs_session;

/* Create a session for @m with FUSE options @opts ("ro,allow_other,...")
 * and mount it at @mountpoint.  SIGINT, SIGTERM and SIGHUP end the
 * session, and from here on libfuse's own messages go to @m's logger.
 * Returns 0, or -errno with libfuse's reason in *why (g_free). */
int lfs_session_mount(struct lfs_mount *m, const char *mountpoint,
		      const char *opts, bool debug, struct lfs_session **out,
		      char **why);

/* Serve requests with up to @threads worker threads until the file system
 * is unmounted or a signal arrives.  Returns 0 or -errno. */
int lfs_session_run(struct lfs_session *s, unsigned int threads);

/* Unmount (if still mounted) and free. */
void lfs_session_destroy(struct lfs_session *s);

#endif
