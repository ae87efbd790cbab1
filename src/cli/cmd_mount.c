/* `layerfs mount`: check the mountpoint, index the image, mount it, and
 * serve it (in the background unless -f). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli.h"
#include "layerfs/error.h"
#include "layerfs/mount.h"
#include "layerfs/mountinfo.h"
#include "layerfs/session.h"

/* FUSE worker threads: libfuse's own default. */
#define FUSE_THREADS 10

struct mount_args {
	gboolean foreground, debug, version;
	GStrv opts, layers;
	char *cache_dir, *platform;
	char *source, *mountpoint;
	char *label; /* with lowerdir=: the mount's name, if given */
};

static void mount_args_clear(struct mount_args *a)
{
	g_strfreev(a->opts);
	g_strfreev(a->layers);
	g_free(a->cache_dir);
	g_free(a->platform);
	g_free(a->source);
	g_free(a->mountpoint);
	g_free(a->label);
}

static const char summary[] =
	"Mount a container image as a merged tree: read-only, or writable\n"
	"with -o upper=DIR,work=DIR.\n\n"
	"SOURCE is oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG|:@N], an OCI\n"
	"layout directory or a docker-archive file; or give the layers with\n"
	"--layer, bottom first, and only MOUNTPOINT.  Unmount with\n"
	"fusermount3 -u MOUNTPOINT.  See layerfs(1).";

/* Whether an -o argument sets lowerdir= (before the full parse: it
 * decides what the other arguments are). */
static bool lowerdir_given(char **opts)
{
	for (char **o = opts; o && *o; o++) {
		g_auto(GStrv) parts = g_strsplit(*o, ",", -1);

		for (char **p = parts; *p; p++) {
			if (g_str_has_prefix(*p, "lowerdir="))
				return true;
		}
	}
	return false;
}

static gboolean parse_args(int argc, char **argv, struct mount_args *a,
			   GError **error)
{
	GOptionEntry entries[] = {
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &a->foreground,
		  "Stay in the foreground", NULL },
		{ "debug", 'd', 0, G_OPTION_ARG_NONE, &a->debug,
		  "Print every request (implies -f)", NULL },
		{ "options", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &a->opts,
		  "Mount options, comma-separated (see below)", "OPT[,OPT]" },
		{ "layer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &a->layers,
		  "A layer: tar, tar.gz, tar.zst or directory; repeat, bottom "
		  "first",
		  "PATH" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &a->cache_dir,
		  "Cache directory (default /var/cache/layerfs for root, else "
		  "$XDG_CACHE_HOME/layerfs)",
		  "DIR" },
		{ "platform", 0, 0, G_OPTION_ARG_STRING, &a->platform,
		  "Platform to pick from a multi-platform image (default: "
		  "this machine's)",
		  "OS/ARCH[/VARIANT]" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &a->version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
		"SOURCE MOUNTPOINT");
	g_autofree char *o_help = lfs_options_help(LFS_OPTIONS_MOUNT);
	guint want;

	g_option_context_set_summary(ctx, summary);
	g_option_context_set_description(ctx, o_help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs mount");
	if (!g_option_context_parse(ctx, &argc, &argv, error))
		return FALSE;
	if (a->version)
		return TRUE;
	/* With lowerdir= (overlayfs's form) the layers come from -o, and a
	 * SOURCE, if given, only names the mount, as overlayfs's device
	 * name does: `PROG -o lowerdir=... TARGET` is how podman runs a
	 * mount program. */
	if (lowerdir_given(a->opts)) {
		if (argc != 2 && argc != 3)
			return lfs_fail(error, EINVAL,
					"expected [NAME] MOUNTPOINT (the "
					"layers come from lowerdir=)");
		a->mountpoint = g_strdup(argv[argc - 1]);
		a->label = argc == 3 ? g_strdup(argv[1]) : NULL;
		return TRUE;
	}
	want = a->layers ? 2 : 3;
	if ((guint)argc != want)
		return lfs_fail(error, EINVAL,
				a->layers ? "expected MOUNTPOINT (the layers "
					    "come from --layer)"
					  : "expected SOURCE and MOUNTPOINT");
	a->mountpoint = g_strdup(argv[want - 1]);
	a->source = a->layers ? NULL : g_strdup(argv[1]);
	return TRUE;
}

/* A FUSE connection's end: ENOTCONN, or ECONNABORTED for a request the
 * kernel had sent when it ended. */
static bool gone(int err)
{
	return err == ENOTCONN || err == ECONNABORTED;
}

/* @path made absolute and canonical.  A dead mount answers nothing, not
 * even a lookup of its own root once the kernel has let go of its
 * attributes: then its parent is resolved and its name put back. */
static char *absolute(const char *path)
{
	g_autofree char *dir = NULL, *base = NULL, *real_dir = NULL;
	char *abs = realpath(path, NULL);

	if (abs || !gone(errno))
		return abs;
	dir = g_path_get_dirname(path);
	base = g_path_get_basename(path);
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    strcmp(base, "/") == 0) {
		errno = ENOTCONN;
		return NULL;
	}
	real_dir = realpath(dir, NULL);
	return real_dir ? g_build_filename(real_dir, base, NULL) : NULL;
}

/* Whether the mount on top at @abs is a layerfs mount whose daemon is
 * gone (killed): the kernel keeps such a mount, answering ENOTCONN to
 * everything, until it is unmounted.  statfs(2) always reaches the
 * daemon, where a stat may be answered from the kernel's cache. */
static bool dead_layerfs(const char *abs)
{
	struct lfs_mountinfo mi;
	struct statfs sfs;
	bool ours;

	if (!lfs_mountinfo_here(abs, &mi))
		return false;
	ours = strcmp(mi.fstype, "fuse.layerfs") == 0;
	lfs_mountinfo_clear(&mi);
	return ours && statfs(abs, &sfs) < 0 && gone(errno);
}

/* A dead layerfs mount at @path is ours to clear: nothing can be lost
 * (its daemon, which held whatever there was, is gone), and the next
 * mount there would fail on it.  Root unmounts it (lazily: processes
 * still in it keep their ENOTCONN) and goes on; other users are told how.
 * A dead mount of another file system is left alone. */
static gboolean clear_dead_mount(const char *path, GError **error)
{
	g_autofree char *abs = absolute(path);

	if (!abs)
		return lfs_fail(error, errno, "mountpoint %s: %s", path,
				g_strerror(errno));
	if (!dead_layerfs(abs))
		return lfs_fail(error, ENOTCONN,
				"mountpoint %s: a FUSE file system there has "
				"lost its daemon (%s); unmount it with "
				"fusermount3 -u %s",
				path, g_strerror(ENOTCONN), abs);
	if (umount2(abs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return lfs_fail(error, errno,
				"mountpoint %s: a layerfs mount there has "
				"lost its daemon and cannot be unmounted (%s); "
				"unmount it with fusermount3 -u %s",
				path, g_strerror(errno), abs);
	fprintf(stderr, "layerfs: mountpoint %s: a layerfs mount there had "
			"lost its daemon; unmounted it\n",
		path);
	return TRUE;
}

/* Fail early, and clearly, on a mountpoint the kernel would refuse; clear
 * a dead layerfs mount there first. */
static gboolean check_mountpoint(const char *path, char **abs,
				 GError **error)
{
	struct statx stx;
	g_autofree char *real = NULL;

	if (statx(AT_FDCWD, path, 0, STATX_TYPE, &stx) < 0) {
		if (gone(errno))
			return clear_dead_mount(path, error) &&
			       check_mountpoint(path, abs, error);
		return lfs_fail(error, errno, "mountpoint %s: %s", path,
				errno == ENOENT ? "does not exist"
						: g_strerror(errno));
	}
	if (!S_ISDIR(stx.stx_mode))
		return lfs_fail(error, ENOTDIR,
				"mountpoint %s: not a directory", path);
	real = realpath(path, NULL);
	if (!real)
		return lfs_fail(error, errno, "mountpoint %s: %s", path,
				g_strerror(errno));
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT &&
	    stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
		if (dead_layerfs(real))
			return clear_dead_mount(path, error) &&
			       check_mountpoint(path, abs, error);
		return lfs_fail(error, EBUSY,
				"mountpoint %s: busy (something is already "
				"mounted there; unmount it first)",
				path);
	}
	/* fusermount3 mounts for other users only where they may write,
	 * which it says after the image is indexed. */
	if (geteuid() != 0 && access(real, W_OK) < 0)
		return lfs_fail(error, errno,
				"mountpoint %s: %s (fusermount3 mounts only "
				"where you may write)",
				path, g_strerror(errno));
	*abs = g_steal_pointer(&real);
	return TRUE;
}

/* Fails only on a bad -o option: bad usage. */
static gboolean build_options(struct mount_args *a, struct lfs_options *o,
			      GError **error)
{
	o->source = g_strdup(a->source);
	o->fsname = g_strdup(a->label);
	o->cache_dir = g_strdup(a->cache_dir);
	o->platform = g_strdup(a->platform);
	for (char **l = a->layers; l && *l; l++)
		g_ptr_array_add(o->layers, g_strdup(*l));
	for (char **opt = a->opts; opt && *opt; opt++) {
		if (!lfs_options_parse_o(o, *opt, error))
			return FALSE;
	}
	if (o->lowerdir && a->layers)
		return lfs_fail(error, EINVAL,
				"give the layers with --layer or lowerdir=, "
				"not both");
	return TRUE;
}

/* What the mount's readiness report needs (see on_ready()). */
struct ready_ctx {
	int notify_fd; /* -1: none (foreground), or already told */
	struct lfs_cli_log *sink;
	char *line;    /* said on a terminal once ready, or NULL */
};

/* Tell the waiting parent, if any, the outcome, and leave its terminal:
 * once the parent has exited, what the daemon says goes to syslog.  The
 * sink switches before the parent is told, so no line lands on a terminal
 * after `layerfs mount` has returned. */
static void report(struct ready_ctx *r, int status)
{
	if (r->notify_fd < 0)
		return;
	lfs_cli_log_to_syslog(r->sink);
	lfs_daemon_notify(r->notify_fd, status);
	r->notify_fd = -1;
	lfs_daemon_detach();
}

/* An lfs_session_ready_fn: the tree answers.  Runs on the session's
 * check thread while the loop serves requests. */
static void on_ready(void *ctx)
{
	struct ready_ctx *r = ctx;

	if (r->line && isatty(STDERR_FILENO))
		fprintf(stderr, "%s\n", r->line);
	g_clear_pointer(&r->line, g_free);
	report(r, LFS_EXIT_OK);
}

/* @n with a comma between each group of three digits. */
static char *grouped(uint64_t n)
{
	g_autofree char *digits = g_strdup_printf("%" G_GUINT64_FORMAT, n);
	GString *s = g_string_new(NULL);
	size_t len = strlen(digits);

	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			g_string_append_c(s, ',');
		g_string_append_c(s, digits[i]);
	}
	return g_string_free(s, FALSE);
}

/* "mounted SOURCE at MNT (3 layers, 41,203 entries, 0.8 s)". */
static char *closing_line(const struct lfs_mount *m, const char *mountpoint,
			  gint64 start)
{
	g_autofree char *entries = grouped(m->total_entries);
	double secs = (double)(g_get_monotonic_time() - start) / 1e6;

	return g_strdup_printf("mounted %s at %s (%u layer%s, %s entries, "
			       "%.1f s)%s",
			       m->image->source, mountpoint, m->nlayers,
			       m->nlayers == 1 ? "" : "s", entries, secs,
			       m->ovl ? ", writable" : "");
}

/* A writable mount keeps a descriptor open for every upper directory
 * the kernel holds (docs/decisions/0019): take all the descriptors the
 * hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* Index, mount and serve; in the child when daemonising. */
static int run(struct lfs_options *o, const char *mountpoint, bool debug,
	       int notify_fd)
{
	struct lfs_cli_log sink = { false };
	struct lfs_logger lg = { lfs_cli_log_write, &sink,
				 debug ? LFS_LOG_DEBUG : LFS_LOG_WARN };
	struct ready_ctx ready = { notify_fd, &sink, NULL };
	gint64 start = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_autofree char *fuse_opts = NULL, *why = NULL;
	struct lfs_session *s = NULL;
	struct lfs_mount *m = NULL;
	struct lfs_cli_progress pr;
	gboolean ok;
	gint stop = 0;
	int err;

	/* On a terminal, indexing shows its progress; elsewhere it is
	 * quiet, as a mount should be. */
	lfs_cli_progress_init(&pr, stderr);
	if (pr.tty) {
		o->progress = lfs_cli_progress_event;
		o->progress_ctx = &pr;
	}
	if (o->upper)
		raise_fd_limit();
	/* Ctrl-C while indexing: said, and exit 130, not a half-made
	 * mount. */
	o->stop = &stop;
	lfs_cli_catch_interrupts(&stop);
	ok = lfs_mount_open(o, &lg, &m, &error);
	lfs_cli_release_interrupts();
	o->stop = NULL;
	o->progress = NULL;
	lfs_cli_progress_clear(&pr);
	if (!ok) {
		int status = lfs_cli_fail(error);

		lfs_daemon_notify(notify_fd, status);
		return status;
	}
	fuse_opts = lfs_options_fuse_string(o, o->fsname ? o->fsname
							 : m->image->source);
	err = lfs_session_mount(m, o, mountpoint, fuse_opts, debug, &s,
				&why);
	if (err < 0) {
		/* EINVAL: libfuse refused the options (one it does not know,
		 * a bad value), which only it can tell: bad usage too. */
		int status = err == -EINVAL ? LFS_EXIT_USAGE : LFS_EXIT_FUSE;

		fprintf(stderr, "layerfs: cannot mount %s at %s: %s\n",
			m->image->source, mountpoint, why);
		lfs_mount_close(m);
		lfs_daemon_notify(notify_fd, status);
		return status;
	}
	lfs_mount_prefetch(m, o->prefetch);
	ready.line = closing_line(m, mountpoint, start);
	/* Mounted is not usable yet: the kernel's INIT is answered in the
	 * loop, and may be rejected.  The parent hears "ready" from
	 * on_ready() once the tree answers, or the reason from here once
	 * the loop has ended without that (and nothing is mounted). */
	err = lfs_session_run(s, FUSE_THREADS, on_ready, &ready, &why);
	if (why) {
		fprintf(stderr, "layerfs: cannot mount %s at %s: %s\n",
			m->image->source, mountpoint, why);
		report(&ready, LFS_EXIT_FUSE);
	}
	g_free(ready.line);
	lfs_session_destroy(s);
	lfs_mount_close(m);
	if (why)
		return LFS_EXIT_FUSE; /* never answered: nothing mounted */
	return err < 0 ? LFS_EXIT_FAIL : LFS_EXIT_OK;
}

/* libfuse takes the FUSE options (one line naming the ones it does not
 * know), and /dev/fuse opens: LFS_EXIT_OK, or, having said why,
 * LFS_EXIT_USAGE (the options) or LFS_EXIT_FAIL. */
static int check_fuse(const struct lfs_options *o)
{
	g_autofree char *opts = lfs_options_fuse_string(o, "layerfs");
	g_autofree char *why = NULL;
	int fd;

	if (lfs_session_check_options(opts, &why) < 0) {
		fprintf(stderr, "layerfs mount: %s (see layerfs mount --help)\n",
			why);
		return LFS_EXIT_USAGE;
	}
	/* Other users mount through fusermount3, which opens it as root:
	 * for them it only has to be there. */
	if (geteuid() != 0) {
		struct stat st;

		if (stat("/dev/fuse", &st) == 0 && S_ISCHR(st.st_mode))
			return LFS_EXIT_OK;
		fprintf(stderr, "layerfs: /dev/fuse: %s\n",
			errno == 0 || errno == ENOENT
				? "no such device (is the fuse module loaded?)"
				: g_strerror(errno));
		return LFS_EXIT_FUSE;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "layerfs: cannot open /dev/fuse: %s\n",
			g_strerror(errno));
		return LFS_EXIT_FUSE;
	}
	close(fd);
	return LFS_EXIT_OK;
}

int lfs_cmd_mount(int argc, char **argv)
{
	struct mount_args a = { 0 };
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *mountpoint = NULL;
	int notify_fd = -1, status, err;

	if (!parse_args(argc, argv, &a, &error)) {
		fprintf(stderr, "layerfs mount: %s (see layerfs mount "
				"--help)\n",
			error->message);
		mount_args_clear(&a);
		return LFS_EXIT_USAGE;
	}
	if (a.version) {
		printf("layerfs %s\n", LFS_VERSION);
		mount_args_clear(&a);
		return LFS_EXIT_OK;
	}
	if (!build_options(&a, o, &error)) {
		fprintf(stderr, "layerfs mount: %s (see layerfs mount "
				"--help)\n",
			error->message);
		mount_args_clear(&a);
		return LFS_EXIT_USAGE;
	}
	if (!check_mountpoint(a.mountpoint, &mountpoint, &error)) {
		lfs_error_set_cause(&error, LFS_CAUSE_MOUNTPOINT);
		mount_args_clear(&a);
		return lfs_cli_fail(error);
	}
	/* The options libfuse takes, and /dev/fuse, before the image is
	 * indexed, which can take minutes. */
	status = check_fuse(o);
	if (status != LFS_EXIT_OK) {
		mount_args_clear(&a);
		return status;
	}
	o->mountpoint = g_strdup(mountpoint);
	if (!a.foreground && !a.debug) {
		err = lfs_daemon_fork(&notify_fd);
		if (err < 0) {
			fprintf(stderr, "layerfs: fork: %s\n",
				g_strerror(-err));
			mount_args_clear(&a);
			return LFS_EXIT_FAIL;
		}
	}
	status = run(o, mountpoint, a.debug, notify_fd);
	mount_args_clear(&a);
	return status;
}
