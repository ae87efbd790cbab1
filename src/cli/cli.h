/* Declarations shared by src/cli/ only.  Process-wide concerns (signals,
 * forking, where log lines go) live here and nowhere below. */
#ifndef LAYERFS_CLI_H
#define LAYERFS_CLI_H

#include <stdbool.h>

#include "layerfs/log.h"

/* Exit statuses: 0 success, 1 the operation failed, 2 bad usage. */
#define LFS_EXIT_OK 0
#define LFS_EXIT_FAIL 1
#define LFS_EXIT_USAGE 2

int lfs_cmd_mount(int argc, char **argv);
int lfs_cmd_inspect(int argc, char **argv);

/* Where log lines go: stderr until the daemon detaches, syslog after. */
struct lfs_cli_log {
	bool syslog;
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

#endif
