/* Whole-buffer I/O loops (see fdutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"

ssize_t lfs_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t lfs_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int lfs_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int lfs_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

gboolean lfs_file_read_small(const char *path, size_t max, char **data,
			     size_t *len, GError **error)
{
	lfs_autofd fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	g_autofree char *buf = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return lfs_fail(error, errno, "%s: %s", path,
				g_strerror(errno));
	if (fstat(fd, &st) < 0)
		return lfs_fail(error, errno, "%s: %s", path,
				g_strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lfs_fail(error, EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return lfs_fail(error, EFBIG,
				"%s: %lld bytes, larger than the %zu allowed",
				path, (long long)st.st_size, max);
	buf = g_malloc((size_t)st.st_size + 1);
	n = lfs_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return lfs_fail(error, (int)-n, "%s: %s", path,
				g_strerror((int)-n));
	buf[n] = '\0';
	*len = (size_t)n;
	*data = g_steal_pointer(&buf);
	return TRUE;
}

/* One component at a time, refusing symlinks at each step. */
static int open_beneath_slow(int dirfd, const char *rel, int flags)
{
	g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
	lfs_autofd cur = -1;
	int fd = dirfd;

	for (char **p = parts; *p; p++) {
		bool last = p[1] == NULL;
		int next = openat(fd, *p,
				  (last ? flags : O_PATH | O_DIRECTORY) |
					  O_NOFOLLOW | O_CLOEXEC);

		if (next < 0)
			return errno == ELOOP ? -EXDEV : -errno;
		lfs_closep(&cur);
		cur = fd = next;
	}
	return g_steal_fd(&cur);
}

int lfs_open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!*rel)
		rel = ".";
	/* openat2 has no glibc wrapper in Debian 12. */
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return open_beneath_slow(dirfd, rel, flags);
	return fd < 0 ? -errno : (int)fd;
}
