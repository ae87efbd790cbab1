/* Daemonising.  We fork first and do all the work (indexing, mounting) in
 * the child, which tells the waiting parent when the mount is ready or why
 * it failed.  So `layerfs mount` returns only once the tree is usable, its
 * exit status says whether it worked, error messages reach the user's
 * terminal, and worker threads are only ever started after the fork. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int lfs_daemon_fork(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char status;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[0]);
		*notify_fd = p[1];
		return 0;
	}
	close(p[1]);
	/* Ctrl-C reaches the child too, which stops, says so and sends
	 * the status; this process only relays it. */
	signal(SIGINT, SIG_IGN);
	if (read(p[0], &status, 1) == 1)
		_exit((unsigned char)status);
	/* The child died without a word. */
	waitpid(pid, NULL, 0);
	fprintf(stderr, "layerfs: the mount process died before the mount "
			"was ready\n");
	_exit(LFS_EXIT_FAIL);
}

void lfs_daemon_notify(int fd, int status)
{
	char c = (char)status;

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		perror("layerfs: notifying the parent");
	close(fd);
}

int lfs_daemon_detach(void)
{
	int fd;

	if (setsid() < 0 || chdir("/") < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}
