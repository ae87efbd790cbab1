/* The cache directory (see cache.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerfs/cache.h"
#include "layerfs/error.h"

struct lfs_cache {
	char *path;
	int dirfd;
};

char *lfs_cache_default_dir(void)
{
	if (geteuid() == 0)
		return g_strdup("/var/cache/layerfs");
	return g_build_filename(g_get_user_cache_dir(), "layerfs", NULL);
}

gboolean lfs_cache_open(const char *path, struct lfs_cache **out,
			GError **error)
{
	struct lfs_cache *c;
	int fd;

	if (g_mkdir_with_parents(path, 0700) < 0)
		return lfs_fail(error, errno, "cache directory %s: %s", path,
				g_strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lfs_fail(error, errno, "cache directory %s: %s", path,
				g_strerror(errno));
	c = g_new0(struct lfs_cache, 1);
	c->path = g_strdup(path);
	c->dirfd = fd;
	*out = c;
	return TRUE;
}

void lfs_cache_free(struct lfs_cache *c)
{
	if (!c)
		return;
	close(c->dirfd);
	g_free(c->path);
	g_free(c);
}

const char *lfs_cache_path(const struct lfs_cache *c)
{
	return c->path;
}

int lfs_cache_tmpfile(struct lfs_cache *c)
{
	g_autofree char *tmpl = NULL;
	int fd = openat(c->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : -errno;
	/* File systems without O_TMPFILE: a named file, unlinked at once. */
	tmpl = g_build_filename(c->path, ".layerfs-XXXXXX", NULL);
	fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	unlink(tmpl);
	return fd;
}
