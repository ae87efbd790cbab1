/* Declarations shared by src/cli/ only.  Process-wide concerns (signals,
 * forking, where log lines go) live here and nowhere below. */
#ifndef LAYERFS_CLI_H
#define LAYERFS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "layerfs/log.h"
#include "layerfs/mount.h"
#include "layerfs/options.h"

/* Exit statuses, by cause (layerfs(1), EXIT STATUS); stable. */
#define LFS_EXIT_OK 0
#define LFS_EXIT_FAIL 1	       /* any other failure */
#define LFS_EXIT_USAGE 2       /* bad usage */
#define LFS_EXIT_SOURCE 3      /* the source is missing or not an image */
#define LFS_EXIT_INTEGRITY 4   /* a digest or size differs */
#define LFS_EXIT_CORRUPT 5     /* a layer cannot be read as one */
#define LFS_EXIT_MOUNTPOINT 6  /* the mountpoint cannot take the mount */
#define LFS_EXIT_PERMISSION 7  /* not allowed (EACCES, EPERM) */
#define LFS_EXIT_FUSE 8	       /* FUSE is not there or refuses */
#define LFS_EXIT_INTERRUPTED 130 /* Ctrl-C, SIGTERM, SIGHUP */

/* status.c: the exit status for failure @e (its cause, its errno, or an
 * interruption), and the same after saying it in one line on stderr
 * ("interrupted" when it was). */
int lfs_cli_status(const GError *e);
int lfs_cli_fail(const GError *e);
/* From now on SIGINT, SIGTERM and SIGHUP set *@stop (which the work
 * checks: lfs_options.stop) and are remembered; release: their default
 * actions again. */
void lfs_cli_catch_interrupts(gint *stop);
void lfs_cli_release_interrupts(void);
bool lfs_cli_interrupted(void);

int lfs_cmd_mount(int argc, char **argv);
int lfs_cmd_inspect(int argc, char **argv);
int lfs_cmd_index(int argc, char **argv);
int lfs_cmd_stats(int argc, char **argv);
int lfs_cmd_diff(int argc, char **argv);
int lfs_cmd_commit(int argc, char **argv);
int lfs_cmd_bundle(int argc, char **argv);

/* End @b's top-level array member and object (the documents of
 * docs/json.md end with their list) and print it, indented. */
void lfs_cli_print_json(JsonBuilder *b);

/* The command an image runs (entrypoint, then cmd), each word quoted as
 * a shell would need it (g_free), or NULL when it names none. */
char *lfs_cli_run_command(const struct lfs_image_run *r);

/* "file", "directory", "symlink", ... for S_IFMT bits @type, as the JSON
 * documents name types (docs/json.md). */
const char *lfs_cli_type_name(uint32_t type);

/* The value of xattr @name of @path (a virtual xattr of a mount's root,
 * which may grow while it is read): g_free, *@len its length; NULL with
 * errno set on failure. */
char *lfs_cli_read_xattr(const char *path, const char *name, size_t *len);

/* What `layerfs diff` and `commit` read (view.c): the upper of writable
 * mount @mountpoint over its image, or (@mountpoint NULL) upper directory
 * @upper over the image named in the options. */
struct lfs_cli_view {
	const char *mountpoint;
	const char *upper;
	bool userxattr;
	/* The mount's changes stop (LFS_FREEZE_XATTR) from before the upper
	 * is read until lfs_cli_view_thaw(), or this process exits; held by
	 * child process @freezer. */
	bool freeze;
	pid_t freezer;
};

/* Open @v in this process, read-only, into a struct lfs_mount whose ovl
 * is the merged tree; @o holds the image (unless from a mount) and the
 * indexing options.  Errors name the mount or directory. */
gboolean lfs_cli_view_open(struct lfs_cli_view *v, struct lfs_options *o,
			   const struct lfs_logger *lg, struct lfs_mount **out,
			   GError **error);
/* Let a frozen mount's changes go on (nothing if it was not frozen). */
void lfs_cli_view_thaw(struct lfs_cli_view *v);

/* The argument parsing `layerfs inspect` and `layerfs index` share: parse
 * @argv with @ctx (whose entries fill *@version and *@layers), print the
 * version or a usage error for "layerfs @cmd", and put the one SOURCE or
 * the --layer list into @o.  Returns -1 to go on, else the exit status. */
int lfs_cli_parse_source(GOptionContext *ctx, const char *cmd, int argc,
			 char **argv, const gboolean *version,
			 char **const *layers, struct lfs_options *o);

/* Where log lines go: stderr until the daemon detaches, syslog after.
 * The switch happens while the FUSE loop's threads may log, hence an
 * atomic (g_atomic_int_*), set once openlog() is done. */
struct lfs_cli_log {
	gint syslog; /* boolean */
};

void lfs_cli_log_write(void *ctx, enum lfs_log_level level, const char *msg);
void lfs_cli_log_to_syslog(struct lfs_cli_log *c);

/* Fork.  The parent waits until the child calls lfs_daemon_notify() and
 * exits with the status it sends (1 if the child dies first); only the
 * child returns.  Returns 0 with the notify descriptor, or -errno. */
int lfs_daemon_fork(int *notify_fd);
void lfs_daemon_notify(int fd, int status);
/* New session, cwd "/", stdio on /dev/null. */
int lfs_daemon_detach(void);

/* Indexing progress (progress.c): drawn on @tty if it is a terminal,
 * else only counted for the summary.  lfs_cli_progress_event() is an
 * lfs_mount_progress_fn. */
struct lfs_cli_progress {
	GMutex lock;
	FILE *tty;	  /* NULL: not a terminal, nothing drawn */
	gint64 start;	  /* monotonic µs */
	gint64 last_draw;
	uint32_t nlayers;
	struct slot *slots;
	unsigned int drawn; /* lines on the screen */
};

void lfs_cli_progress_init(struct lfs_cli_progress *pr, FILE *tty);
void lfs_cli_progress_event(void *ctx, const struct lfs_mount_progress *ev);
/* "N layers (B indexed now, C from the cache), E entries, S MiB, in T s"
 * (g_free). */
char *lfs_cli_progress_summary(struct lfs_cli_progress *pr);
void lfs_cli_progress_clear(struct lfs_cli_progress *pr);

/* One line for a long step, redrawn on @tty five times a second from
 * one second on, from what @line gives (g_free; called on the ticker's
 * thread), and wiped at stop; NULL (nothing drawn) when @tty is not a
 * terminal. */
struct lfs_cli_ticker;
struct lfs_cli_ticker *lfs_cli_ticker_start(FILE *tty,
					    char *(*line)(void *ctx),
					    void *ctx);
void lfs_cli_ticker_stop(struct lfs_cli_ticker *t);

#endif
