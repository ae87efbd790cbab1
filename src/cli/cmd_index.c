/* `layerfs index`: build and check the cache for an image ahead of time,
 * as CI or an image-pull hook would, so the first mount is a warm one.
 * Progress on a terminal, a one-line summary on stdout. */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "layerfs/error.h"
#include "layerfs/mount.h"

/* Every tar layer's index is in the cache now (a directory layer's is
 * never kept: it is scanned on every mount). */
static gboolean check_saved(struct lfs_mount *m, GError **error)
{
	if (!m->cache)
		return lfs_fail(error, EIO, "no usable cache directory; "
				"nothing was kept (see above)");
	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];

		if (l->stored && l->unsaved)
			return lfs_fail(error, EIO,
					"%s: its index could not be saved: %s",
					l->spec->name,
					l->unsaved ? l->unsaved
						   : "no reason recorded");
	}
	return TRUE;
}

/* "unpacking: 120.5 of 800.0 MiB", over every layer. */
static char *unpack_line(void *ctx)
{
	struct lfs_mount *m = ctx;
	uint64_t done = 0, total = 0;

	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];
		struct lfs_stream_stats st;

		if (l->spec->kind != LFS_LAYER_TAR || l->comp == LFS_COMP_NONE)
			continue;
		lfs_stream_stats(m->streams[i], &st);
		done += st.unpacked;
		total += l->tar_size;
	}
	return g_strdup_printf("unpacking: %.1f of %.1f MiB",
			       (double)done / (1 << 20),
			       (double)total / (1 << 20));
}

static gboolean unpack_all(struct lfs_mount *m, GError **error)
{
	struct lfs_cli_ticker *t = lfs_cli_ticker_start(stderr, unpack_line,
							m);
	gboolean ok = TRUE;

	for (uint32_t i = 0; ok && i < m->nlayers; i++) {
		if (lfs_stream_unpack(m->streams[i]) < 0)
			ok = lfs_fail(error, EIO,
				      "%s: could not be unpacked (see above)",
				      m->layers[i]->spec->name);
	}
	lfs_cli_ticker_stop(t);
	return ok;
}

static gboolean run(struct lfs_options *o, bool unpack,
		    const struct lfs_logger *lg, GError **error)
{
	struct lfs_cli_progress pr;
	struct lfs_mount *m = NULL;
	g_autofree char *summary = NULL;
	gboolean ok;
	gint stop = 0;

	lfs_cli_progress_init(&pr, stderr);
	o->progress = lfs_cli_progress_event;
	o->progress_ctx = &pr;
	o->stop = &stop;
	lfs_cli_catch_interrupts(&stop);
	ok = lfs_mount_open(o, lg, &m, error) && check_saved(m, error) &&
	     (!unpack || unpack_all(m, error));
	if (ok) {
		summary = lfs_cli_progress_summary(&pr);
		printf("%s: %s%s\n", m->image->source, summary,
		       unpack ? ", compressed layers unpacked" : "");
	}
	lfs_mount_close(m);
	lfs_cli_progress_clear(&pr);
	lfs_cli_release_interrupts();
	o->stop = NULL;
	return ok;
}

int lfs_cmd_index(int argc, char **argv)
{
	g_auto(GStrv) layers = NULL, opts = NULL;
	g_autofree char *platform = NULL, *cache_dir = NULL;
	gboolean version = FALSE, unpack = FALSE;
	int status;
	GOptionEntry entries[] = {
		{ "layer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &layers,
		  "A layer: tar, tar.gz, tar.zst or directory; repeat, bottom "
		  "first",
		  "PATH" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "Cache directory (default /var/cache/layerfs for root, else "
		  "$XDG_CACHE_HOME/layerfs)",
		  "DIR" },
		{ "platform", 0, 0, G_OPTION_ARG_STRING, &platform,
		  "Platform to pick from a multi-platform image",
		  "OS/ARCH[/VARIANT]" },
		{ "options", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opts,
		  "Options, comma-separated (see below)", "OPT[,OPT]" },
		{ "unpack", 0, 0, G_OPTION_ARG_NONE, &unpack,
		  "Also unpack compressed layers into the cache", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[SOURCE]");
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *o_help = lfs_options_help(LFS_OPTIONS_INDEX);
	struct lfs_cli_log sink = { false };
	struct lfs_logger lg = { lfs_cli_log_write, &sink, LFS_LOG_WARN };

	g_option_context_set_summary(
		ctx, "Index every layer of an image into the cache (checking "
		     "sizes and digests), so that mounting it is fast.  "
		     "Indexes already there are checked and kept.");
	g_option_context_set_description(ctx, o_help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs index");
	status = lfs_cli_parse_source(ctx, "index", argc, argv, &version,
				      &layers, o);
	if (status >= 0)
		return status;
	o->platform = g_steal_pointer(&platform);
	o->cache_dir = g_steal_pointer(&cache_dir);
	for (char **opt = opts; opt && *opt; opt++) {
		if (!lfs_options_parse_for(o, *opt, LFS_OPTIONS_INDEX,
					   &error)) {
			fprintf(stderr, "layerfs index: %s (see layerfs index "
					"--help)\n",
				error->message);
			return LFS_EXIT_USAGE;
		}
	}
	if (!run(o, unpack, &lg, &error))
		return lfs_cli_fail(error);
	return LFS_EXIT_OK;
}
