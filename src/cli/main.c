/* layerfs: subcommand dispatch.  `layerfs SOURCE MOUNTPOINT -o OPTS` (no
 * subcommand) is the form mount.fuse3 uses, so `mount -t fuse.layerfs` and
 * fstab lines work. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage:\n"
	"  layerfs mount [OPTIONS] SOURCE MOUNTPOINT\n"
	"  layerfs mount [OPTIONS] --layer PATH [--layer PATH...] MOUNTPOINT\n"
	"  layerfs inspect [OPTIONS] SOURCE | --layer PATH...\n"
	"  layerfs index [OPTIONS] SOURCE | --layer PATH...\n"
	"  layerfs stats [OPTIONS] MOUNTPOINT\n"
	"  layerfs diff [OPTIONS] MOUNTPOINT\n"
	"  layerfs diff [OPTIONS] --upper DIR --from SOURCE | --layer PATH...\n"
	"  layerfs commit [OPTIONS] MOUNTPOINT oci:DIR:TAG\n"
	"  layerfs commit [OPTIONS] --upper DIR --from SOURCE oci:DIR:TAG\n"
	"  layerfs bundle [OPTIONS] SOURCE DIR [-- COMMAND...]\n"
	"  layerfs SOURCE MOUNTPOINT [-o OPTIONS]     (mount.fuse3 form)\n"
	"  layerfs -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR] MOUNTPOINT\n"
	"                                        (fuse-overlayfs form)\n"
	"  layerfs help | --help | --version\n"
	"\n"
	"SOURCE: oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG|:@N], an OCI\n"
	"layout directory, or a docker-archive file.\n"
	"'layerfs COMMAND --help' describes each command; see layerfs(1).\n";

int lfs_cli_parse_source(GOptionContext *ctx, const char *cmd, int argc,
			 char **argv, const gboolean *version,
			 char **const *layers, struct lfs_options *o)
{
	g_autoptr(GError) error = NULL;

	if (g_option_context_parse(ctx, &argc, &argv, &error) && *version) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	}
	if (error || (*layers ? argc != 1 : argc != 2)) {
		fprintf(stderr, "layerfs %s: %s (see layerfs %s --help)\n", cmd,
			error ? error->message : "expected one SOURCE, or --layer",
			cmd);
		return LFS_EXIT_USAGE;
	}
	o->source = *layers ? NULL : g_strdup(argv[1]);
	for (char **l = *layers; l && *l; l++)
		g_ptr_array_add(o->layers, g_strdup(*l));
	return -1;
}

/* GLib prints each command's --help through g_print(), which converts
 * UTF-8 to the locale's charset; layerfs runs in the C locale (it never
 * calls setlocale()), so "[OPTION\u2026]" would come out as "[OPTION?]".  A
 * print handler is given the text unconverted. */
static void print_utf8(const char *s)
{
	fputs(s, stdout);
}

/* Whether any argument is -o, or -oOPTS. */
static bool has_o(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-o", 2) == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	g_set_print_handler(print_utf8);
	if (!cmd) {
		fputs(usage, stderr);
		return LFS_EXIT_USAGE;
	}
	if (strcmp(cmd, "mount") == 0)
		return lfs_cmd_mount(argc - 1, argv + 1);
	if (strcmp(cmd, "inspect") == 0)
		return lfs_cmd_inspect(argc - 1, argv + 1);
	if (strcmp(cmd, "index") == 0)
		return lfs_cmd_index(argc - 1, argv + 1);
	if (strcmp(cmd, "stats") == 0)
		return lfs_cmd_stats(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return lfs_cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "commit") == 0)
		return lfs_cmd_commit(argc - 1, argv + 1);
	if (strcmp(cmd, "bundle") == 0)
		return lfs_cmd_bundle(argc - 1, argv + 1);
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return LFS_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	}
	/* A word that names no file and no source (no ':' or '/'), with no
	 * -o after it: a command misspelt, not the helper form's SOURCE
	 * (mount.fuse3 always passes -o, and with fuse-overlayfs's options
	 * the source is any word). */
	if (cmd[0] != '-' && !strpbrk(cmd, ":/") &&
	    !g_file_test(cmd, G_FILE_TEST_EXISTS) && !has_o(argc, argv)) {
		fprintf(stderr,
			"layerfs: unknown command \"%s\" (commands: mount, "
			"inspect, index, stats, diff, commit, bundle; see "
			"layerfs --help)\n",
			cmd);
		return LFS_EXIT_USAGE;
	}
	/* `layerfs SOURCE MNT -o ...` (mount.fuse3) and `layerfs -o
	 * lowerdir=...,upperdir=... MNT` (fuse-overlayfs's form, which
	 * podman and buildah use for a mount program). */
	if (cmd[0] != '-' || strncmp(cmd, "-o", 2) == 0)
		return lfs_cmd_mount(argc, argv);
	/* One line, as every command reports bad usage: the whole usage
	 * text would bury the mistake. */
	fprintf(stderr, "layerfs: unknown option %s (see layerfs --help)\n",
		cmd);
	return LFS_EXIT_USAGE;
}
