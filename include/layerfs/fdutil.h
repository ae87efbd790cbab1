/* Whole-buffer I/O loops (retry on EINTR and short transfers), and reading
 * small files with a size cap. */
#ifndef LAYERFS_FDUTIL_H
#define LAYERFS_FDUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include <glib.h>

/* Read up to @len bytes at @off.  Returns the bytes read (less than @len only
 * at end of file) or -errno. */
ssize_t lfs_pread_full(int fd, void *buf, size_t len, off_t off);

/* Read up to @len bytes from the current position; as above. */
ssize_t lfs_read_full(int fd, void *buf, size_t len);

/* Write all @len bytes.  Returns 0 or -errno. */
int lfs_write_full(int fd, const void *buf, size_t len);

/* Write all @len bytes at @off.  Returns 0 or -errno. */
int lfs_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/* Open @rel beneath directory @dirfd with @flags (O_CLOEXEC and O_NOFOLLOW
 * are added), refusing any path that would leave it or pass through a
 * symlink (-EXDEV, -ELOOP): openat2 with RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS, or one component at a time where openat2 is missing
 * (kernels before 5.6, valgrind, some seccomp filters).  @rel holds no
 * "." or ".." components.  Returns an fd or -errno. */
int lfs_open_beneath(int dirfd, const char *rel, int flags);

/* Read a whole regular file of at most @max bytes (JSON documents; the cap
 * stops a hostile multi-gigabyte "index.json").  The buffer is
 * NUL-terminated; free with g_free.  Errors name @path. */
gboolean lfs_file_read_small(const char *path, size_t max, char **data,
			     size_t *len, GError **error);

#endif
