/* `layerfs diff`: the changes a writable mount (or an upper directory it
 * left) makes to its image, one "A|C|D /path" line each as `podman diff`
 * prints them, or as JSON (schema layerfs.diff/1, docs/json.md). */
#include <stdio.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>

#include "cli.h"
#include "layerfs/changes.h"
#include "layerfs/error.h"

#define DIFF_JSON_SCHEMA "layerfs.diff/1"

const char *lfs_cli_type_name(uint32_t type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	}
	return "unknown";
}

struct diff_out {
	JsonBuilder *json; /* NULL: text, into @text */
	GString *text;
};

static int print_change(void *ctx, const struct lfs_change *c)
{
	struct diff_out *d = ctx;
	char letter = lfs_change_letter(c->kind);

	/* The root is never listed, as podman lists it not: what changed
	 * about it shows in what it holds. */
	if (!letter || !c->path[0])
		return 0;
	if (!d->json) {
		g_string_append_printf(d->text, "%c /%s\n", letter, c->path);
		return 0;
	}
	json_builder_begin_object(d->json);
	json_builder_set_member_name(d->json, "kind");
	json_builder_add_string_value(d->json, (char[]){ letter, '\0' });
	json_builder_set_member_name(d->json, "path");
	{
		g_autofree char *p = g_strconcat("/", c->path, NULL);

		json_builder_add_string_value(d->json, p);
	}
	json_builder_set_member_name(d->json, "type");
	json_builder_add_string_value(d->json, lfs_cli_type_name(c->type));
	json_builder_end_object(d->json);
	return 0;
}

static gboolean run(struct lfs_cli_view *v, struct lfs_options *o,
		    bool json, const struct lfs_logger *lg, GError **error)
{
	struct lfs_mount *m = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(JsonBuilder) b = json ? json_builder_new() : NULL;
	struct diff_out d = { NULL, text };
	int err;

	if (!lfs_cli_view_open(v, o, lg, &m, error))
		return FALSE;
	if (b) {
		g_autofree char *upper = lfs_image_abspath(o->upper);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "schema");
		json_builder_add_string_value(b, DIFF_JSON_SCHEMA);
		json_builder_set_member_name(b, "source");
		json_builder_add_string_value(b, m->image->source);
		json_builder_set_member_name(b, "upper");
		json_builder_add_string_value(b, upper);
		json_builder_set_member_name(b, "changes");
		json_builder_begin_array(b);
		d.json = b;
	}
	err = lfs_changes_walk(m->ovl, print_change, &d);
	if (err) {
		lfs_mount_close(m);
		return lfs_fail(error, -err, "upper directory %s: %s", o->upper,
				g_strerror(-err));
	}
	/* Whole, or nothing: a script never takes half a list. */
	if (b)
		lfs_cli_print_json(b);
	else
		fwrite(d.text->str, 1, d.text->len, stdout);
	lfs_mount_close(m);
	if (fflush(stdout) != 0)
		return lfs_fail(error, errno, "standard output: %s",
				g_strerror(errno));
	return TRUE;
}

int lfs_cmd_diff(int argc, char **argv)
{
	g_auto(GStrv) layers = NULL, opts = NULL;
	g_autofree char *upper = NULL, *from = NULL, *cache_dir = NULL;
	gboolean version = FALSE, json = FALSE, userxattr = FALSE;
	GOptionEntry entries[] = {
		{ "upper", 0, 0, G_OPTION_ARG_FILENAME, &upper,
		  "An upper directory (not mounted) to compare with its image",
		  "DIR" },
		{ "from", 0, 0, G_OPTION_ARG_FILENAME, &from,
		  "The image the upper directory was written over", "SOURCE" },
		{ "layer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &layers,
		  "... or its layers: tar, tar.gz, tar.zst or directory; "
		  "repeat, bottom first",
		  "PATH" },
		{ "userxattr", 0, 0, G_OPTION_ARG_NONE, &userxattr,
		  "The upper keeps user.overlay.* xattrs (as root too)", NULL },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "Cache directory (default: the mount's, else as for "
		  "layerfs index)",
		  "DIR" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "Print the changes as JSON (schema " DIFF_JSON_SCHEMA
		  ", docs/json.md)",
		  NULL },
		{ "options", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opts,
		  "Options, comma-separated, as for layerfs index",
		  "OPT[,OPT]" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("MOUNTPOINT | --upper DIR --from SOURCE");
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *o_help = lfs_options_help(LFS_OPTIONS_INDEX);
	struct lfs_cli_log sink = { false };
	struct lfs_logger lg = { lfs_cli_log_write, &sink, LFS_LOG_WARN };
	struct lfs_cli_view v = { 0 };
	const char *why = NULL;

	g_option_context_set_summary(
		ctx,
		"List what a writable layerfs mount, or an upper directory left "
		"by one (or by kernel overlayfs), changes in its image: A added, "
		"C changed, D deleted, one path a line.");
	g_option_context_set_description(ctx, o_help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs diff");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		why = error->message;
	} else if (version) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	} else if (upper) {
		if (argc != 1)
			why = "--upper takes no MOUNTPOINT";
		else if (!from == !layers)
			why = "--upper needs --from SOURCE or --layer PATH...";
	} else if (from || layers || userxattr) {
		why = "--from, --layer and --userxattr go with --upper";
	} else if (argc != 2) {
		why = "expected MOUNTPOINT, or --upper DIR --from SOURCE";
	}
	for (char **opt = opts; !why && opt && *opt; opt++) {
		if (!lfs_options_parse_for(o, *opt, LFS_OPTIONS_INDEX, &error))
			why = error->message;
	}
	if (why) {
		fprintf(stderr, "layerfs diff: %s (see layerfs diff --help)\n",
			why);
		return LFS_EXIT_USAGE;
	}
	o->cache_dir = g_steal_pointer(&cache_dir);
	if (upper) {
		v.upper = upper;
		v.userxattr = userxattr;
		o->source = g_strdup(from);
		for (char **l = layers; l && *l; l++)
			g_ptr_array_add(o->layers, g_strdup(*l));
	} else {
		v.mountpoint = argv[1];
	}
	if (!run(&v, o, json, &lg, &error))
		return lfs_cli_fail(error);
	return LFS_EXIT_OK;
}
