/* Session set-up and the multi-threaded loop (cf. libfuse's
 * example/passthrough_ll.c main()). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <fuse_log.h>
#include <stdarg.h>
#include <string.h>

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

/* The device numbers ("MAJ:MIN") of the mount at @mountpoint, from
 * /proc/self/mountinfo: the file system itself cannot be asked (a stat
 * would wait for the INIT this process has not answered yet). */
static char *mount_devnum(const char *mountpoint)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	char *found = NULL;

	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, " ", 6);

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; the last mount of
		 * that point is ours. */
		if (g_strv_length(f) >= 5 && strcmp(f[4], mountpoint) == 0) {
			g_free(found);
			found = g_strdup(f[2]);
		}
	}
	return found;
}

void lfs_fuse_raise_readahead(struct lfs_mount *m)
{
	g_autofree char *path = NULL;
	g_autofree char *kb = NULL;
	char *dev = g_atomic_pointer_exchange(&m->bdi, NULL);
	int fd;

	if (!dev)
		return;
	path = g_strdup_printf("/sys/class/bdi/%s/read_ahead_kb", dev);
	kb = g_strdup_printf("%llu", (unsigned long long)m->readahead >> 10);
	/* Not g_file_set_contents(): sysfs takes no temporary files. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, kb, strlen(kb)) != (ssize_t)strlen(kb))
		lfs_debug(&m->log, "readahead left at the default: %s: %s",
			  path, g_strerror(errno));
	else
		lfs_debug(&m->log, "readahead %s KiB", kb);
	if (fd >= 0)
		close(fd);
	g_free(dev);
}

/* The kernel's longest read: FUSE_MAX_MAX_PAGES (256) pages. */
static uint64_t longest_read(void)
{
	return 256 * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The longest read reply libfuse can splice.  It puts the reply (a
 * header and the data) in a pipe and wants three pages of slack, and
 * anything longer than the pipe goes through a buffer it maps and unmaps
 * for each reply, slower than no splice at all.  A pipe grows to
 * /proc/sys/fs/pipe-max-size (1 MiB by default), or past it only with
 * CAP_SYS_RESOURCE, so try what a full-size read needs. */
static uint64_t splice_limit(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t longest = longest_read();
	/* 16: struct fuse_out_header, not in libfuse's public headers. */
	uint64_t slack = 3 * page + 16;
	uint64_t want = longest + slack;
	g_autofree char *max_text = NULL;
	uint64_t max = 0;
	int p[2], got;

	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	got = fcntl(p[0], F_SETPIPE_SZ, (int)want);
	close(p[0]);
	close(p[1]);
	if (got >= 0 && (uint64_t)got >= want)
		return longest;
	if (g_file_get_contents("/proc/sys/fs/pipe-max-size", &max_text, NULL,
				NULL))
		max = g_ascii_strtoull(max_text, NULL, 10);
	if (max <= slack)
		return 0;
	/* Whole pages: the kernel asks for reads in pages. */
	return MIN(longest, (max - slack) / page * page);
}

/* The value of the max_read= option in @opts, or 0. */
static uint64_t max_read_option(const char *opts)
{
	const char *p = strstr(opts, "max_read=");

	if (!p || (p != opts && p[-1] != ','))
		return 0;
	return g_ascii_strtoull(p + strlen("max_read="), NULL, 10);
}

/* Where splicing needs shorter reads than the kernel would send, ask for
 * them (max_read), unless the user chose a size.  libfuse wants INIT to
 * repeat the option's value (op_init()), so it is kept in m->max_read. */
static char *with_max_read(struct lfs_mount *m, const char *opts)
{
	m->max_read = max_read_option(opts);
	if (!m->splice)
		return g_strdup(opts);
	m->splice_max = splice_limit();
	if (m->splice_max < 64 * 1024) {
		lfs_debug(&m->log, "no splice: pipes hold too little");
		m->splice = false;
		return g_strdup(opts);
	}
	if (m->splice_max >= longest_read() || m->max_read)
		return g_strdup(opts);
	lfs_debug(&m->log, "reads of at most %llu KiB, so they can be spliced",
		  (unsigned long long)m->splice_max >> 10);
	m->max_read = m->splice_max;
	return g_strdup_printf("%s,max_read=%llu", opts,
			       (unsigned long long)m->max_read);
}

int lfs_session_mount(struct lfs_mount *m, const char *mountpoint,
		      const char *opts, bool debug, struct lfs_session **out,
		      char **why)
{
	g_autofree char *all_opts = with_max_read(m, opts);
	char *argv[] = { (char *)"layerfs", (char *)"-o", all_opts,
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
	if (m->readahead)
		m->bdi = mount_devnum(mountpoint);
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
