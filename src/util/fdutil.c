/* Whole-buffer I/O loops (see fdutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
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
