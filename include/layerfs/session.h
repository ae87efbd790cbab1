/* A FUSE session serving one mount.  The API has no libfuse types, so the
 * CLI needs no FUSE headers; only src/fuse/ does. */
#ifndef LAYERFS_SESSION_H
#define LAYERFS_SESSION_H

#include <stdbool.h>

#include "layerfs/mount.h"
#include "layerfs/options.h"

struct lfs_session;

/* Create a session for @m with FUSE options @opts ("ro,allow_other,...")
 * and mount it at @mountpoint; how replies are made (splice=, readahead=)
 * comes from @o.  SIGINT, SIGTERM and SIGHUP end the
 * session, and from here on libfuse's own messages go to @m's logger,
 * except its warnings and errors until the mount is ready, which are kept
 * for the one-line reason of a failure (see lfs_session_run()).
 * Returns 0, or -errno with libfuse's reason in *why (g_free). */
int lfs_session_mount(struct lfs_mount *m, const struct lfs_options *o,
		      const char *mountpoint, const char *opts, bool debug,
		      struct lfs_session **out, char **why);

/* Whether libfuse takes the FUSE options @opts, checked before any work
 * (indexing can take minutes): 0, or -EINVAL with its reason in *why
 * (g_free), in our words for unknown options. */
int lfs_session_check_options(const char *opts, char **why);

/* See lfs_session_run(). */
typedef void (*lfs_session_ready_fn)(void *ctx);

/* Serve requests with up to @threads worker threads until the file system
 * is unmounted or a signal arrives.
 *
 * A mounted file system is not usable yet: the kernel first sends INIT,
 * which is answered inside the loop, and libfuse (or the kernel) may
 * reject it.  So a short-lived thread, started with the loop, stat(2)s
 * the mountpoint, which waits for INIT, and calls @ready(@ctx) from that
 * thread as soon as the root of this mount answers, while the loop goes
 * on.  If the mount never gets there (INIT rejected, or the session ended
 * first), the session ends, the mountpoint is unmounted, @ready is never
 * called, and this returns -errno with the reason in *why (g_free):
 * libfuse's own message if it gave one.  Otherwise *why stays NULL and
 * this returns 0, or -errno if the loop failed after the mount was ready.
 * The calling thread must be the one that gets SIGINT, SIGTERM and
 * SIGHUP (the main thread): they wake the loop there. */
int lfs_session_run(struct lfs_session *s, unsigned int threads,
		    lfs_session_ready_fn ready, void *ctx, char **why);

/* Unmount (if still mounted) and free. */
void lfs_session_destroy(struct lfs_session *s);

#endif
