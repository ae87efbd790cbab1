/* The cache directory (see cache.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "layerfs/cache.h"
#include "layerfs/cleanup.h"
#include "layerfs/error.h"

struct lfs_cache {
	char *path;
	int dirfd;
	int index_dirfd;
	int unpacked_dirfd;
	int profile_dirfd; /* -1 when it could not be made: no profiles */
};

char *lfs_cache_default_dir(void)
{
	if (geteuid() == 0)
		return g_strdup("/var/cache/layerfs");
	return g_build_filename(g_get_user_cache_dir(), "layerfs", NULL);
}

/* Make (if needed) and open subdirectory @name of @dirfd.  Returns an fd
 * or -errno. */
static int open_subdir(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int open_dirs(struct lfs_cache *c)
{
	if (g_mkdir_with_parents(c->path, 0700) < 0)
		return -errno;
	c->dirfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		return -errno;
	c->index_dirfd = open_subdir(c->dirfd, "index");
	if (c->index_dirfd < 0)
		return c->index_dirfd;
	c->unpacked_dirfd = open_subdir(c->dirfd, "unpacked");
	if (c->unpacked_dirfd < 0)
		return c->unpacked_dirfd;
	/* Profiles only save work: a cache without them still serves. */
	c->profile_dirfd = open_subdir(c->dirfd, "profile");
	return 0;
}

gboolean lfs_cache_open(const char *path, struct lfs_cache **out,
			GError **error)
{
	struct lfs_cache *c = g_new0(struct lfs_cache, 1);
	int err;

	c->dirfd = c->index_dirfd = c->unpacked_dirfd = -1;
	c->profile_dirfd = -1;
	c->path = g_strdup(path);
	err = open_dirs(c);
	if (err < 0) {
		lfs_cache_free(c);
		return lfs_fail(error, -err, "cache directory %s: %s", path,
				g_strerror(-err));
	}
	*out = c;
	return TRUE;
}

void lfs_cache_free(struct lfs_cache *c)
{
	if (!c)
		return;
	lfs_closep(&c->dirfd);
	lfs_closep(&c->index_dirfd);
	lfs_closep(&c->unpacked_dirfd);
	lfs_closep(&c->profile_dirfd);
	g_free(c->path);
	g_free(c);
}

const char *lfs_cache_path(const struct lfs_cache *c)
{
	return c->path;
}

int lfs_cache_index_dir(const struct lfs_cache *c)
{
	return c->index_dirfd;
}

int lfs_cache_unpacked_dir(const struct lfs_cache *c)
{
	return c->unpacked_dirfd;
}

int lfs_cache_profile_dir(const struct lfs_cache *c)
{
	return c->profile_dirfd;
}

char *lfs_cache_key(const struct lfs_layer_spec *spec, const struct stat *st)
{
	g_autofree char *real = NULL;
	g_autoptr(GString) id = NULL;

	if (spec->has_digest) {
		g_autofree char *s = lfs_digest_to_string(&spec->digest);

		*strchr(s, ':') = '-';
		return g_steal_pointer(&s);
	}
	/* No content address: name the bytes by where they are, as they
	 * are now.  A changed file gets a new key (and the mount also
	 * checks the identity the index records). */
	real = realpath(spec->path, NULL);
	id = g_string_new(real ? real : spec->path);
	g_string_append_printf(id, "|%llu|%llu|%lld|%lld.%09ld|%llu|%llu",
			       (unsigned long long)st->st_dev,
			       (unsigned long long)st->st_ino,
			       (long long)st->st_size,
			       (long long)st->st_mtim.tv_sec,
			       st->st_mtim.tv_nsec,
			       (unsigned long long)spec->offset,
			       (unsigned long long)spec->length);
	return g_strdup_printf("local-%016llx",
			       (unsigned long long)XXH3_64bits(id->str,
							       id->len));
}

int lfs_cache_lock(struct lfs_cache *c, const char *key)
{
	g_autofree char *name = g_strdup_printf("%s.lock", key);

	for (;;) {
		struct stat held, named;
		int fd = openat(c->index_dirfd, name,
				O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				0600);
		int err;

		if (fd < 0)
			return -errno;
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				err = -errno;
				close(fd);
				return err;
			}
		}
		/* The holder before us removes the file before it lets go
		 * (lfs_cache_unlock()): a lock on a file no longer under
		 * the name guards nothing, as a newcomer makes a new one.
		 * Only the lock on the named file counts. */
		if (fstat(fd, &held) == 0 &&
		    fstatat(c->index_dirfd, name, &named,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
}

void lfs_cache_unlock(struct lfs_cache *c, const char *key, int fd)
{
	g_autofree char *name = g_strdup_printf("%s.lock", key);

	if (fd < 0)
		return;
	/* Still holding it: nobody else holds the named file now. */
	unlinkat(c->index_dirfd, name, 0);
	close(fd);
}

int lfs_cache_tmpfile(struct lfs_cache *c)
{
	int fd = openat(c->unpacked_dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			0600);

	return fd < 0 ? -errno : fd;
}

int lfs_cache_publish(int dirfd, int fd, const char *name)
{
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
	/* Per thread, so concurrent publishers of one name (two mounts of
	 * one image) never take each other's temporary name. */
	g_autofree char *tmp = g_strdup_printf(".tmp.%d.%s", (int)gettid(),
					       name);

	unlinkat(dirfd, tmp, 0); /* left by a crash, if any */
	if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int err = -errno;

		unlinkat(dirfd, tmp, 0);
		return err;
	}
	return 0;
}
