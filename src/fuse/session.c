/* Session set-up and the multi-threaded loop (cf. libfuse's
 * example/passthrough_ll.c main()). */
#include <errno.h>

#include "fuse_internal.h"
#include "layerfs/session.h"

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
		      const char *opts, bool debug, struct lfs_session **out)
{
	char *argv[] = { (char *)"layerfs", (char *)"-o", (char *)opts,
			 (char *)"-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);
	struct lfs_session *s = g_new0(struct lfs_session, 1);
	int err = 0;

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
	if (err < 0) {
		lfs_session_destroy(s);
		return err;
	}
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
