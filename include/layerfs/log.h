/* Logging for the core: every message goes to a sink the caller chose (the
 * CLI prints to stderr, the daemon to syslog, tests capture).  The core never
 * writes to stdout or stderr itself. */
#ifndef LAYERFS_LOG_H
#define LAYERFS_LOG_H

#include <glib.h>

/* Same values as syslog(3) priorities, so a sink can pass them through. */
enum lfs_log_level {
	LFS_LOG_ERR = 3,
	LFS_LOG_WARN = 4,
	LFS_LOG_INFO = 6,
	LFS_LOG_DEBUG = 7,
};

typedef void (*lfs_log_fn)(void *ctx, enum lfs_log_level level,
			   const char *msg);

struct lfs_logger {
	lfs_log_fn fn;		     /* NULL: messages are dropped */
	void *ctx;
	enum lfs_log_level max_level; /* messages above this are dropped */
};

/* Format and hand one message to the sink.  @lg may be NULL. Thread-safe as
 * long as the sink is. */
void lfs_log(const struct lfs_logger *lg, enum lfs_log_level level,
	     const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#define lfs_err(lg, ...) lfs_log(lg, LFS_LOG_ERR, __VA_ARGS__)
#define lfs_warn(lg, ...) lfs_log(lg, LFS_LOG_WARN, __VA_ARGS__)
#define lfs_info(lg, ...) lfs_log(lg, LFS_LOG_INFO, __VA_ARGS__)
#define lfs_debug(lg, ...) lfs_log(lg, LFS_LOG_DEBUG, __VA_ARGS__)

#endif
