/* An LD_PRELOAD shim for t-mount-ready: statfs(2) of the path named by
 * $LFS_FAULT_STATFS fails with ECONNREFUSED, the answer the kernel gives
 * when it has refused a mount's INIT.  layerfs's readiness check must
 * then fail the mount with a one-line reason and leave nothing mounted,
 * a path no real option can reach once layerfs answers INIT correctly. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

/* Built without _FILE_OFFSET_BITS (tests/tools/meson.build), so both
 * names a caller may link to, statfs and statfs64, can be defined. */
static bool refused(const char *path)
{
	const char *bad = getenv("LFS_FAULT_STATFS");

	if (!bad || strcmp(path, bad) != 0)
		return false;
	errno = ECONNREFUSED;
	return true;
}

static void *real(const char *sym)
{
	void *fn = dlsym(RTLD_NEXT, sym);

	if (!fn)
		errno = ENOSYS;
	return fn;
}

int statfs(const char *path, struct statfs *buf)
{
	int (*fn)(const char *, struct statfs *);

	if (refused(path))
		return -1;
	fn = (int (*)(const char *, struct statfs *))real("statfs");
	return fn ? fn(path, buf) : -1;
}

int statfs64(const char *path, struct statfs64 *buf)
{
	int (*fn)(const char *, struct statfs64 *);

	if (refused(path))
		return -1;
	fn = (int (*)(const char *, struct statfs64 *))real("statfs64");
	return fn ? fn(path, buf) : -1;
}
