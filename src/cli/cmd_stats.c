/* `layerfs stats MOUNTPOINT`: a mounted image's counters, read from the
 * virtual xattr on its root (stats.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/xattr.h>

#include "cli.h"
#include "layerfs/stats.h"

int lfs_cmd_stats(int argc, char **argv)
{
	g_autofree char *buf = NULL;
	ssize_t n = 0;

	if (argc == 2 && (g_str_equal(argv[1], "--help") ||
			  g_str_equal(argv[1], "-h"))) {
		printf("Usage: layerfs stats MOUNTPOINT\n\n"
		       "Print a layerfs mount's counters: caches, handle "
		       "pool, bytes inflated, layers indexed and unpacked, "
		       "memory.\n");
		return LFS_EXIT_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "layerfs stats: expected MOUNTPOINT\n");
		return LFS_EXIT_USAGE;
	}
	/* The text may grow between the size probe and the read. */
	for (int tries = 0; tries < 5; tries++) {
		n = getxattr(argv[1], LFS_STATS_XATTR, NULL, 0);
		if (n < 0)
			break;
		g_free(buf);
		buf = g_malloc((size_t)n + 4096);
		n = getxattr(argv[1], LFS_STATS_XATTR, buf, (size_t)n + 4096);
		if (n >= 0 || errno != ERANGE)
			break;
	}
	if (n < 0) {
		fprintf(stderr, "layerfs: %s: %s\n", argv[1],
			errno == ENODATA || errno == ENOTSUP
				? "not a layerfs mount"
				: g_strerror(errno));
		return LFS_EXIT_FAIL;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	return LFS_EXIT_OK;
}
