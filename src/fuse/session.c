/* Session set-up and the multi-threaded loop (cf. libfuse's
 * example/passthrough_ll.c main()). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <fuse_log.h>

#include "fuse_internal.h"
#include "layerfs/mountinfo.h"
#include "layerfs/session.h"

/* libfuse's log hook takes no context pointer, so its messages reach the
 * mount's logger through these process-wide variables: the one piece of
 * global state in layerfs, forced by that API (one session per process).
 * From the mount until the mount is ready, libfuse's warnings and errors
 * are only held, so that a failure is reported as one line with libfuse's
 * reason in it.  Loop threads log while the readiness check reads the
 * held messages, hence the lock. */
static const struct lfs_logger *fuse_logger;
static GMutex held_lock;
static GString *held_msgs; /* NULL: not holding */

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

/* libfuse writes some lines in pieces (one call per option it did not
 * know, then the newline): pieces wait here for the end of their line. */
static GString *partial_line;

/* The whole line @piece ends, or NULL while it does not end one. */
static char *whole_line(const char *piece)
{
	char *line = NULL;

	g_mutex_lock(&held_lock);
	if (!partial_line)
		partial_line = g_string_new(NULL);
	g_string_append(partial_line, piece);
	if (g_str_has_suffix(piece, "\n")) {
		line = g_strdup(partial_line->str);
		g_string_truncate(partial_line, 0);
	}
	g_mutex_unlock(&held_lock);
	return line;
}

/* libfuse's format and arguments, passed on: the attribute tells the
 * compiler so (clang's -Wformat-nonliteral asks). */
static void forward_log(enum fuse_log_level level, const char *fmt,
			va_list ap) G_GNUC_PRINTF(2, 0);

static void forward_log(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	g_autofree char *piece = g_strdup_vprintf(fmt, ap);
	g_autofree char *msg = whole_line(piece);
	bool held = false;

	if (!msg)
		return;
	g_strchomp(msg);
	if (!*msg)
		return;
	/* Only what could explain a failure is held: -d's request trace
	 * (debug) goes straight through, as the user asked to see it. */
	if (level <= FUSE_LOG_WARNING) {
		g_mutex_lock(&held_lock);
		if (held_msgs) {
			g_string_append_printf(held_msgs, "%s%s",
					       held_msgs->len ? "; " : "", msg);
			held = true;
		}
		g_mutex_unlock(&held_lock);
	}
	if (!held)
		lfs_log(fuse_logger, map_level(level), "%s", msg);
}

static void hold_msgs(void)
{
	g_mutex_lock(&held_lock);
	if (!held_msgs)
		held_msgs = g_string_new(NULL);
	g_mutex_unlock(&held_lock);
}

/* A copy of the held messages ("a; b"), or NULL if there are none;
 * holding goes on. */
static char *held_copy(void)
{
	char *copy = NULL;

	g_mutex_lock(&held_lock);
	if (held_msgs && held_msgs->len)
		copy = g_strdup(held_msgs->str);
	g_mutex_unlock(&held_lock);
	return copy;
}

/* Stop holding; returns what was held, or NULL. */
static char *release_msgs(void)
{
	GString *msgs;

	g_mutex_lock(&held_lock);
	msgs = g_steal_pointer(&held_msgs);
	g_mutex_unlock(&held_lock);
	if (msgs && msgs->len)
		return g_string_free(msgs, FALSE);
	if (msgs)
		g_string_free(msgs, TRUE);
	return NULL;
}

struct lfs_session {
	struct lfs_fuse fuse; /* the session's userdata */
	struct fuse_session *se;
	char *mountpoint;
	bool signals;
	bool mounted;
	/* The readiness check (see lfs_session_run()). */
	pthread_t loop_thread;
	lfs_session_ready_fn ready;
	void *ready_ctx;
	int ready_err; /* the check's result: written by it, read after it */
};

/* Unmounting also closes the session's /dev/fuse descriptor; with the
 * loop's own (clone_fd) descriptors closed when the loop ends, the kernel
 * then aborts the connection, failing any request still waiting. */
static void unmount(struct lfs_session *s)
{
	if (s->mounted)
		fuse_session_unmount(s->se);
	s->mounted = false;
}

void lfs_session_destroy(struct lfs_session *s)
{
	if (!s)
		return;
	unmount(s);
	if (s->signals)
		fuse_remove_signal_handlers(s->se);
	if (s->se)
		fuse_session_destroy(s->se);
	lfs_fuse_pipes_fini(&s->fuse);
	g_free(s->mountpoint);
	g_free(s->fuse.bdi);
	g_free(s);
	/* A failed mount's messages are in its reason already. */
	g_free(release_msgs());
}

/* The device numbers ("MAJ:MIN") of the mount at @mountpoint, from
 * /proc/self/mountinfo: the file system itself cannot be asked (a stat
 * would wait for the INIT this process has not answered yet). */
static char *mount_devnum(const char *mountpoint)
{
	struct lfs_mountinfo mi;
	char *devnum;

	if (!lfs_mountinfo_here(mountpoint, &mi))
		return NULL;
	devnum = g_steal_pointer(&mi.devnum);
	lfs_mountinfo_clear(&mi);
	return devnum;
}

void lfs_fuse_raise_readahead(struct lfs_fuse *f)
{
	g_autofree char *path = NULL;
	g_autofree char *kb = NULL;
	char *dev = g_atomic_pointer_exchange(&f->bdi, NULL);
	int fd;

	if (!dev)
		return;
	path = g_strdup_printf("/sys/class/bdi/%s/read_ahead_kb", dev);
	kb = g_strdup_printf("%llu", (unsigned long long)f->readahead >> 10);
	/* Not g_file_set_contents(): sysfs takes no temporary files. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, kb, strlen(kb)) != (ssize_t)strlen(kb))
		lfs_debug(&f->m->log, "readahead left at the default: %s: %s",
			  path, g_strerror(errno));
	else
		lfs_debug(&f->m->log, "readahead %s KiB", kb);
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

/* The value of the max_read= option in @opts, or 0, read as libfuse
 * reads it (its INIT check compares the two): the last one counts, and
 * the value is what sscanf's %u makes of it. */
static uint64_t max_read_option(const char *opts)
{
	const char *key = "max_read=";
	const char *last = NULL;
	unsigned int v = 0;

	for (const char *p = opts; (p = strstr(p, key)); p++)
		if (p == opts || p[-1] == ',')
			last = p + strlen(key);
	if (!last || sscanf(last, "%u", &v) != 1)
		return 0;
	return v;
}

/* Where splicing needs shorter reads than the kernel would send, ask for
 * them (max_read), unless the user chose a size.  libfuse wants INIT to
 * repeat the option's value (op_init()), so it is kept in f->max_read. */
static char *with_max_read(struct lfs_fuse *f, const char *opts)
{
	f->max_read = max_read_option(opts);
	if (!f->splice)
		return g_strdup(opts);
	f->splice_max = splice_limit();
	if (f->splice_max < 64 * 1024) {
		lfs_debug(&f->m->log, "no splice: pipes hold too little");
		f->splice = false;
		return g_strdup(opts);
	}
	if (f->splice_max >= longest_read() || f->max_read)
		return g_strdup(opts);
	lfs_debug(&f->m->log,
		  "reads of at most %llu KiB, so they can be spliced",
		  (unsigned long long)f->splice_max >> 10);
	f->max_read = f->splice_max;
	return g_strdup_printf("%s,max_read=%llu", opts,
			       (unsigned long long)f->max_read);
}

/* libfuse's "fuse: unknown option(s): `-o a,b'" in our words: "unknown
 * options a,b"; other reasons without the "fuse: ". */
static char *plain_reason(char *why)
{
	const char *key = "unknown option(s): `";
	const char *at = why ? strstr(why, key) : NULL;
	const char *end;
	char *plain;

	if (!at && why && g_str_has_prefix(why, "fuse: ")) {
		plain = g_strdup(why + strlen("fuse: "));
		g_free(why);
		return plain;
	}
	if (!at)
		return why;
	at += strlen(key);
	if (g_str_has_prefix(at, "-o "))
		at += 3;
	end = strchr(at, '\'');
	plain = g_strdup_printf("unknown option%s %.*s",
				end && memchr(at, ',', (size_t)(end - at))
					? "s"
					: "",
				end ? (int)(end - at) : (int)strlen(at), at);
	g_free(why);
	return plain;
}

/* No log but the held messages: nothing is mounted yet. */
static void drop_log(void *ctx, enum lfs_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

int lfs_session_check_options(const char *opts, char **why)
{
	static const struct lfs_logger quiet = { drop_log, NULL,
						 LFS_LOG_ERR };
	char *argv[] = { (char *)"layerfs", (char *)"-o", (char *)opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se;

	if (!fuse_logger)
		fuse_logger = &quiet;
	hold_msgs();
	fuse_set_log_func(forward_log);
	/* Parses the options as the mount will; nothing is opened. */
	se = fuse_session_new(&args, &lfs_fuse_ops, sizeof(lfs_fuse_ops),
			      NULL);
	fuse_opt_free_args(&args);
	if (se) {
		fuse_session_destroy(se);
		g_free(release_msgs());
		return 0;
	}
	*why = plain_reason(release_msgs());
	if (!*why)
		*why = g_strdup("libfuse refused the options");
	return -EINVAL;
}

int lfs_session_mount(struct lfs_mount *m, const struct lfs_options *o,
		      const char *mountpoint, const char *opts, bool debug,
		      struct lfs_session **out, char **why)
{
	struct lfs_session *s = g_new0(struct lfs_session, 1);
	g_autofree char *all_opts = NULL;
	char *argv[] = { (char *)"layerfs", (char *)"-o", NULL, (char *)"-d",
			 NULL };
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);
	int err = 0;

	s->fuse.m = m;
	s->fuse.splice = o->splice;
	s->fuse.readahead = o->readahead;
	s->fuse.timeout = o->timeout > 0 ? o->timeout : LFS_TIMEOUT_IMMUTABLE;
	all_opts = with_max_read(&s->fuse, opts);
	argv[2] = all_opts;
	err = lfs_fuse_pipes_init(&s->fuse);
	if (err < 0)
		goto out;

	fuse_logger = &m->log;
	hold_msgs();
	fuse_set_log_func(forward_log);
	s->mountpoint = g_strdup(mountpoint);
	s->se = fuse_session_new(&args, &lfs_fuse_ops, sizeof(lfs_fuse_ops),
				 &s->fuse);
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
	if (s->fuse.readahead)
		s->fuse.bdi = mount_devnum(mountpoint);
out:
	fuse_opt_free_args(&args);
	if (err < 0) {
		*why = release_msgs();
		if (!*why)
			*why = g_strdup(g_strerror(-err));
		lfs_session_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

/* Whether @mountpoint is the root of a FUSE mount that answers.  statfs(2)
 * is a request like any other: the kernel holds it until INIT is done,
 * then fails it with ECONNREFUSED if INIT failed, or ENOTCONN once the
 * connection is gone.  If the mount is gone already, the stats see the
 * directory underneath, hence the checks after them. */
static int stat_root(const char *mountpoint)
{
	struct statfs sfs;
	struct statx stx;

	if (statfs(mountpoint, &sfs) < 0)
		return -errno;
	if (statx(AT_FDCWD, mountpoint, 0, STATX_INO, &stx) < 0)
		return -errno;
	if (sfs.f_type != FUSE_SUPER_MAGIC || stx.stx_ino != FUSE_ROOT_ID)
		return -ENOTCONN;
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT &&
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return -ENOTCONN;
	return 0;
}

/* The readiness check's thread.  The stat also makes the first request
 * after INIT (a getattr), which raises the readahead (after_init()). */
static void *check_ready(void *arg)
{
	struct lfs_session *s = arg;
	g_autofree char *held = NULL;

	s->ready_err = stat_root(s->mountpoint);
	if (s->ready_err < 0) {
		/* If libfuse rejected INIT, the loop is ending already; if
		 * the kernel did, nothing else would end it.  libfuse's
		 * SIGTERM handler (installed until lfs_session_destroy())
		 * wakes the loop thread, which then sees the session
		 * exited; a stray one after the loop is harmless. */
		if (!fuse_session_exited(s->se)) {
			fuse_session_exit(s->se);
			pthread_kill(s->loop_thread, SIGTERM);
		}
		return NULL;
	}
	/* Ready: anything libfuse said on the way was only a warning. */
	held = release_msgs();
	if (held)
		lfs_log(fuse_logger, LFS_LOG_WARN, "%s", held);
	s->ready(s->ready_ctx);
	return NULL;
}

/* Start the readiness check.  Its thread must not take the signals that
 * end the session: only the loop thread wakes on them (libfuse's workers
 * block them too), so they are blocked while it is created. */
static int start_check(struct lfs_session *s, pthread_t *thread)
{
	sigset_t ends, old;
	int err;

	sigemptyset(&ends);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &ends, &old);
	err = pthread_create(thread, NULL, check_ready, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

int lfs_session_run(struct lfs_session *s, unsigned int threads,
		    lfs_session_ready_fn ready, void *ctx, char **why)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	pthread_t check;
	int r;

	*why = NULL;
	if (!cfg) {
		r = -ENOMEM;
		goto not_ready;
	}
	s->loop_thread = pthread_self();
	s->ready = ready;
	s->ready_ctx = ctx;
	s->ready_err = 0;
	r = start_check(s, &check);
	if (r < 0) {
		fuse_loop_cfg_destroy(cfg);
		goto not_ready;
	}
	/* One /dev/fuse descriptor per thread: no contention on reads. */
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, threads);
	r = fuse_session_loop_mt(s->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	/* Unmount now, not in lfs_session_destroy(): the check may still
	 * wait for an INIT nobody will answer, and gives up only once the
	 * connection is gone; and a mount that failed must be gone before
	 * the failure is reported. */
	unmount(s);
	pthread_join(check, NULL);
	if (s->ready_err == 0)
		return r < 0 ? r : 0;
	*why = held_copy();
	if (!*why)
		*why = g_strdup_printf("the file system never answered: %s",
				       g_strerror(-s->ready_err));
	return s->ready_err;
not_ready:
	unmount(s);
	*why = g_strdup(g_strerror(-r));
	return r;
}
