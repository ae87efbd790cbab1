/* `layerfs stats MOUNTPOINT`: a mounted image's counters, read from the
 * virtual xattr on its root (stats.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/xattr.h>

#include "cli.h"
#include "layerfs/stats.h"

char *lfs_cli_read_xattr(const char *path, const char *name, size_t *len)
{
	char *buf = NULL;
	ssize_t n = -1;

	/* The value may grow between the size probe and the read. */
	for (int tries = 0; tries < 5; tries++) {
		n = getxattr(path, name, NULL, 0);
		if (n < 0)
			break;
		g_free(buf);
		buf = g_malloc((size_t)n + 4096);
		n = getxattr(path, name, buf, (size_t)n + 4096);
		if (n >= 0 || errno != ERANGE)
			break;
	}
	if (n < 0) {
		int err = errno;

		g_free(buf);
		errno = err;
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

int lfs_cmd_stats(int argc, char **argv)
{
	gboolean version = FALSE, json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "Print the counters as JSON (schema layerfs.stats/1, "
		  "docs/json.md)",
		  NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	const char *xattr;
	g_autoptr(GOptionContext) ctx = g_option_context_new("MOUNTPOINT");
	g_autoptr(GError) error = NULL;
	g_autofree char *buf = NULL;
	size_t n = 0;

	g_option_context_set_summary(
		ctx, "Print a layerfs mount's counters: caches, handle pool, "
		     "bytes inflated, layers indexed and unpacked, memory.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs stats");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "layerfs stats: %s (see layerfs stats --help)\n",
			error->message);
		return LFS_EXIT_USAGE;
	}
	if (version) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "layerfs stats: expected MOUNTPOINT (see "
				"layerfs stats --help)\n");
		return LFS_EXIT_USAGE;
	}
	xattr = json ? LFS_STATS_JSON_XATTR : LFS_STATS_XATTR;
	buf = lfs_cli_read_xattr(argv[1], xattr, &n);
	if (!buf) {
		fprintf(stderr, "layerfs: %s: %s\n", argv[1],
			errno == ENODATA || errno == ENOTSUP
				? "not a layerfs mount"
				: g_strerror(errno));
		return LFS_EXIT_FAIL;
	}
	fwrite(buf, 1, n, stdout);
	if (json)
		putchar('\n');
	return LFS_EXIT_OK;
}
