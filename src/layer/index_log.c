/* The member log (index_internal.h): what each member brings besides its
 * place in the tree, appended in member order to a file the builder reads
 * back once, when it writes the index.  In a file of the cache directory
 * the kernel can write these pages out and drop them under memory
 * pressure, where the same bytes in the daemon's heap could only grow it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layerfs/fdutil.h"

#include "index_internal.h"

/* Appends gather here before they go out in one write. */
#define LOG_BUF (256u << 10)

static int open_memfd(void)
{
	int fd = memfd_create("layerfs-index-log", MFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int lfs_mlog_open(struct mlog *log, int dirfd)
{
	static const uint8_t none[8]; /* so that no record is at 0 */
	int fd = -1;

	memset(log, 0, sizeof(*log));
	log->fd = -1;
	if (dirfd >= 0)
		fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	log->in_memory = fd < 0;
	if (fd < 0)
		fd = open_memfd();
	if (fd < 0)
		return fd;
	log->fd = fd;
	log->buf = g_malloc(LOG_BUF);
	memcpy(log->buf, none, sizeof(none));
	log->buf_len = sizeof(none);
	log->size = sizeof(none);
	return 0;
}

void lfs_mlog_close(struct mlog *log)
{
	lfs_mlog_unmap(log);
	if (log->fd >= 0)
		close(log->fd);
	g_free(log->buf);
	memset(log, 0, sizeof(*log));
	log->fd = -1;
}

/* The file's bytes so far, copied into a memfd that takes its place: the
 * cache's file system is full or failing, and indexing must not fail for
 * it (the index is then kept in memory, as without a cache). */
static int move_to_memory(struct mlog *log)
{
	uint64_t done = log->size - log->buf_len;
	g_autofree char *chunk = g_malloc(LOG_BUF);
	int fd = open_memfd();
	int err = 0;

	if (fd < 0)
		return fd;
	for (uint64_t at = 0; err == 0 && at < done;) {
		size_t want = (size_t)MIN((uint64_t)LOG_BUF, done - at);
		ssize_t n = pread(log->fd, chunk, want, (off_t)at);

		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			err = lfs_write_full(fd, chunk, (size_t)n);
		at += n > 0 ? (uint64_t)n : 0;
	}
	if (err < 0) {
		close(fd);
		return err;
	}
	close(log->fd);
	log->fd = fd;
	log->in_memory = true;
	return 0;
}

static int flush(struct mlog *log)
{
	int err;

	if (log->buf_len == 0)
		return 0;
	err = lfs_write_full(log->fd, log->buf, log->buf_len);
	if (err < 0 && !log->in_memory) {
		/* Whatever part went out is written again after the
		 * copy: the memfd gets the bytes before the buffer only. */
		err = move_to_memory(log);
		if (err == 0)
			err = lfs_write_full(log->fd, log->buf, log->buf_len);
	}
	if (err == 0)
		log->buf_len = 0;
	return err;
}

static int put(struct mlog *log, const void *p, size_t len)
{
	const char *s = p;

	while (len > 0) {
		size_t n = MIN(len, LOG_BUF - log->buf_len);
		int err;

		memcpy(log->buf + log->buf_len, s, n);
		log->buf_len += n;
		log->size += n;
		s += n;
		len -= n;
		if (log->buf_len == LOG_BUF) {
			err = flush(log);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

static uint64_t rec_len(const struct lfs_scan_entry *e)
{
	uint64_t n = sizeof(struct mlog_rec);

	for (size_t i = 0; i < e->nxattrs; i++)
		n += sizeof(struct mlog_xattr) + strlen(e->xattrs[i].name) +
		     e->xattrs[i].len;
	n += (e->sparse ? e->nextents : 0) * sizeof(struct lfs_index_extent);
	return (n + 7) & ~(uint64_t)7;
}

int lfs_mlog_add(struct mlog *log, const struct lfs_scan_entry *e,
		 uint32_t *at)
{
	static const uint8_t pad[8];
	uint64_t len = rec_len(e);
	struct mlog_rec r = {
		.mode = e->mode & 07777,
		.uid = e->uid,
		.gid = e->gid,
		.mtime_nsec = e->mtime_nsec,
		.mtime_sec = e->mtime_sec,
		.size = e->size,
		.data = e->data,
		.rdev = e->rdev,
		.nxattrs = (uint32_t)e->nxattrs,
		.nextents = e->sparse ? (uint32_t)e->nextents : 0,
		.sparse = e->sparse,
		.len = (uint32_t)len,
	};
	uint64_t start = log->size;
	int err;

	if (start + len > LFS_MLOG_MAX)
		return -E2BIG;
	err = put(log, &r, sizeof(r));
	for (size_t i = 0; err == 0 && i < e->nxattrs; i++) {
		const struct lfs_scan_xattr *x = &e->xattrs[i];
		struct mlog_xattr h = { (uint32_t)strlen(x->name),
					(uint32_t)x->len };

		err = put(log, &h, sizeof(h));
		if (err == 0)
			err = put(log, x->name, h.name_len);
		if (err == 0)
			err = put(log, x->value, x->len);
	}
	if (err == 0 && r.nextents)
		err = put(log, e->extents,
			  r.nextents * sizeof(struct lfs_index_extent));
	if (err == 0)
		err = put(log, pad, (size_t)(start + len - log->size));
	if (err < 0)
		return err;
	*at = (uint32_t)(start / 8);
	return 0;
}

void lfs_mlog_unmap(struct mlog *log)
{
	if (log->map)
		munmap((void *)log->map, log->map_len);
	log->map = NULL;
	log->map_len = 0;
}

int lfs_mlog_map(struct mlog *log)
{
	int err = flush(log);
	void *map;

	if (err < 0)
		return err;
	if (log->map)
		return 0;
	map = mmap(NULL, (size_t)log->size, PROT_READ, MAP_SHARED, log->fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	log->map = map;
	log->map_len = (size_t)log->size;
	return 0;
}
