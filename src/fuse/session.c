/* Session set-up and the multi-threaded loop (cf. libfuse's
 * example/passthrough_ll.c main()). */
#include <errno.h>
#include <fuse_log.h>
#include <stdarg.h>

#include "fuse_internal.h"
#include "layerfs/session.h"

/* libfuse's log hook takes no context pointer, so its messages reach the
 * mount's logger through these two process-wide variables: the one piece
 * of global state in layerfs, forced by that API (one session per
 * process).  While mounting, messages are only collected, so a failure is
 * reported as one line with libfuse's reason in it. */
static const struct lfs_logger *fuse_logger;
static GString *mount_msgs;

static enum lfs_log_level map_level(enum fuse_log_level level)
{
	if (level <= FUSE_LOG_ERR)
		return LFS_LOG_ERR;
	if (level == FUSE_LOG_WARNING)
		return LFS_LOG_WARN;
	if (level == FUSE_LOG_DEBUG)
		return LFS_LOG_DEBUG;
	return LFS_LOG_INFO;
}

static void forward_log(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);

	g_strchomp(msg);
	if (!*msg)
		return;
	if (mount_msgs) {
		g_string_append_printf(mount_msgs, "%s%s",
				       mount_msgs->len ? "; " : "", msg);
		return;
	}
	lfs_log(fuse_logger, map_level(level), "%s", msg);
}

struct lfs_session {
	struct fuse_session *se;
	bool signals;
	bool mounted;
};

void lfs_session_destroy(struct lfs_session *s)
{
	if (!s)
		return;
	if (s->mounted)
		fuse_session_unmount(s->se);
	if (s->signals)
		fuse_remove_signal_handlers(s->se);
	if (s->se)
		fuse_session_destroy(s->se);
	g_free(s);
}

int lfs_session_mount(struct lfs_mount *m, const char *mountpoint,
		      const char *opts, bool debug, struct lfs_session **out,
		      char **why)
{
	char *argv[] = { (char *)"layerfs", (char *)"-o", (char *)opts,
			 (char *)"-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);
	struct lfs_session *s = g_new0(struct lfs_session, 1);
	int err = 0;

	fuse_logger = &m->log;
	mount_msgs = g_string_new(NULL);
	fuse_set_log_func(forward_log);
	s->se = fuse_session_new(&args, &lfs_fuse_ops, sizeof(lfs_fuse_ops),
				 m);
	if (!s->se) {
		err = -EINVAL;
		goto out;
	}
	if (fuse_set_signal_handlers(s->se) != 0) {
		err = -EIO;
		goto out;
	}
	s->signals = true;
	if (fuse_session_mount(s->se, mountpoint) != 0) {
		err = -EIO;
		goto out;
	}
	s->mounted = true;
out:
	fuse_opt_free_args(&args);
	*why = mount_msgs->len ? g_strdup(mount_msgs->str)
			       : g_strdup(g_strerror(-err));
	g_string_free(g_steal_pointer(&mount_msgs), TRUE);
	if (err < 0) {
		lfs_session_destroy(s);
		return err;
	}
	g_clear_pointer(why, g_free);
	*out = s;
	return 0;
}

int lfs_session_run(struct lfs_session *s, unsigned int threads)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int r;

	if (!cfg)
		return -ENOMEM;
	/* One /dev/fuse descriptor per thread: no contention on reads. */
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, threads);
	r = fuse_session_loop_mt(s->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r < 0 ? r : 0;
}
