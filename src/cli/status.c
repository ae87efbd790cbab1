/* Exit statuses by cause, and Ctrl-C: what every command does when it
 * fails or is interrupted (layerfs(1), EXIT STATUS). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "layerfs/error.h"

int lfs_cli_status(const GError *e)
{
	int err = lfs_error_errno(e);

	if (lfs_cli_interrupted())
		return LFS_EXIT_INTERRUPTED;
	/* Not allowed is what the user must act on, whatever the step. */
	if (err == EACCES || err == EPERM)
		return LFS_EXIT_PERMISSION;
	switch (lfs_error_cause(e)) {
	case LFS_CAUSE_SOURCE:
		return LFS_EXIT_SOURCE;
	case LFS_CAUSE_INTEGRITY:
		return LFS_EXIT_INTEGRITY;
	case LFS_CAUSE_CORRUPT:
		return LFS_EXIT_CORRUPT;
	case LFS_CAUSE_MOUNTPOINT:
		return LFS_EXIT_MOUNTPOINT;
	case LFS_CAUSE_FUSE:
		return LFS_EXIT_FUSE;
	default:
		return LFS_EXIT_FAIL;
	}
}

int lfs_cli_fail(const GError *e)
{
	if (lfs_cli_interrupted())
		fputs("layerfs: interrupted\n", stderr);
	else
		fprintf(stderr, "layerfs: %s\n", e->message);
	return lfs_cli_status(e);
}

/* A signal handler can reach nothing else: the flag to set, and whether
 * it was set.  Process-wide, as signals are. */
static gint *stop_flag;
static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
	if (stop_flag)
		g_atomic_int_set(stop_flag, 1);
}

void lfs_cli_catch_interrupts(gint *stop)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	stop_flag = stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void lfs_cli_release_interrupts(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	stop_flag = NULL;
}

bool lfs_cli_interrupted(void)
{
	return caught != 0;
}
