/* `layerfs inspect`: what an image is made of, layer by layer.  Every layer
 * is indexed (and its digest verified) but nothing is mounted; nothing is
 * written unless --cache-dir names a cache, whose indexes are then used
 * and kept as a mount would (docs/decisions/0016). */
#include <errno.h>
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "cli.h"
#include "layerfs/error.h"
#include "layerfs/mount.h"

static void print_header(GString *out, const struct lfs_image *img)
{
	g_string_append_printf(out, "source:    %s\n", img->source);
	if (img->manifest_digest)
		g_string_append_printf(out, "manifest:  %s\n",
				       img->manifest_digest);
	if (img->config_digest)
		g_string_append_printf(out, "config:    %s\n",
				       img->config_digest);
	if (img->platform)
		g_string_append_printf(out, "platform:  %s\n", img->platform);
	if (img->run) {
		g_autofree char *cmd = lfs_cli_run_command(img->run);

		if (cmd)
			g_string_append_printf(out, "command:   %s\n", cmd);
		if (img->run->user)
			g_string_append_printf(out, "user:      %s\n",
					       img->run->user);
		if (img->run->working_dir)
			g_string_append_printf(out, "workdir:   %s\n",
					       img->run->working_dir);
	}
	g_string_append_printf(out, "layers:    %u\n\n", img->layers->len);
	g_string_append_printf(out,
			       "%3s  %-11s  %14s  %14s  %9s  %9s  %-71s  %s\n",
			       "#", "COMPRESSION", "STORED", "UNCOMPRESSED",
			       "ENTRIES", "WHITEOUTS", "DIGEST", "MEDIA TYPE");
}

/* DIGEST is the stored bytes' digest, which every tar layer has (checked
 * against the source's, or computed by the indexing pass); MEDIA TYPE is
 * only ever what the source declares, and what layerfs found out itself
 * is in COMPRESSION (docs/decisions/0016). */
static void print_layer(GString *out, guint i, const struct lfs_layer *l)
{
	const struct lfs_layer_spec *spec = l->spec;
	g_autofree char *digest = l->has_digest
					  ? lfs_digest_to_string(&l->digest)
					  : g_strdup("-");
	const char *comp = spec->kind == LFS_LAYER_DIR
				   ? "directory"
				   : lfs_compression_name(l->comp);

	g_string_append_printf(
		out, "%3u  %-11s  %14llu  %14llu  %9llu  %9llu  %-71s  %s\n",
		i + 1, comp, (unsigned long long)l->stored_size,
		(unsigned long long)l->tar_size,
		(unsigned long long)l->index->stat_entries,
		(unsigned long long)l->index->stat_whiteouts, digest,
		spec->media_type ? spec->media_type : "-");
}

/* --json: the schema docs/json.md describes, "layerfs.inspect/1". */
#define INSPECT_SCHEMA "layerfs.inspect/1"

static void json_string_or_null(JsonBuilder *b, const char *member,
				const char *value)
{
	json_builder_set_member_name(b, member);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void json_strv_or_null(JsonBuilder *b, const char *member,
			      char *const *v)
{
	json_builder_set_member_name(b, member);
	if (!v) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_array(b);
	for (; *v; v++)
		json_builder_add_string_value(b, *v);
	json_builder_end_array(b);
}

/* "run": how the image says to run it, for a wrapper that starts it. */
static void json_run(JsonBuilder *b, const struct lfs_image_run *r)
{
	json_builder_set_member_name(b, "run");
	if (!r) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	json_strv_or_null(b, "entrypoint", r->entrypoint);
	json_strv_or_null(b, "cmd", r->cmd);
	json_strv_or_null(b, "env", r->env);
	json_string_or_null(b, "user", r->user);
	json_string_or_null(b, "working_dir", r->working_dir);
	json_string_or_null(b, "stop_signal", r->stop_signal);
	json_builder_end_object(b);
}

static void json_header(JsonBuilder *b, const struct lfs_image *img)
{
	g_autofree char *created = NULL;

	/* RFC 3339 in UTC, to the microsecond where it has a fraction. */
	if (img->has_created) {
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(
			(gint64)img->created.tv_sec);
		g_autofree char *sec =
			dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S") : NULL;
		long usec = img->created.tv_nsec / 1000;

		if (sec)
			created = usec ? g_strdup_printf("%s.%06ldZ", sec, usec)
				       : g_strdup_printf("%sZ", sec);
	}
	json_builder_begin_object(b);
	json_string_or_null(b, "schema", INSPECT_SCHEMA);
	json_string_or_null(b, "source", img->source);
	json_string_or_null(b, "transport", img->transport);
	json_string_or_null(b, "manifest", img->manifest_digest);
	json_string_or_null(b, "config", img->config_digest);
	json_string_or_null(b, "platform", img->platform);
	json_string_or_null(b, "created", created);
	json_run(b, img->run);
	json_builder_set_member_name(b, "layers");
	json_builder_begin_array(b);
}

static void json_layer(JsonBuilder *b, guint i, const struct lfs_layer *l)
{
	const struct lfs_layer_spec *spec = l->spec;
	g_autofree char *digest =
		l->has_digest ? lfs_digest_to_string(&l->digest) : NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "number");
	json_builder_add_int_value(b, i + 1);
	json_string_or_null(b, "compression",
			    spec->kind == LFS_LAYER_DIR
				    ? "directory"
				    : lfs_compression_name(l->comp));
	json_builder_set_member_name(b, "stored_size");
	json_builder_add_int_value(b, (gint64)l->stored_size);
	json_builder_set_member_name(b, "uncompressed_size");
	json_builder_add_int_value(b, (gint64)l->tar_size);
	json_builder_set_member_name(b, "entries");
	json_builder_add_int_value(b, (gint64)l->index->stat_entries);
	json_builder_set_member_name(b, "whiteouts");
	json_builder_add_int_value(b, (gint64)l->index->stat_whiteouts);
	json_string_or_null(b, "digest", digest);
	json_string_or_null(b, "media_type", spec->media_type);
	json_builder_end_object(b);
}

void lfs_cli_print_json(JsonBuilder *b)
{
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;

	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	printf("%s\n", text);
}

/* The report is built whole and printed only once every layer has been
 * read: a failure prints its reason on stderr and nothing on stdout, so a
 * script never takes half a report for an answer. */
static gboolean inspect(struct lfs_options *o, const struct lfs_logger *lg,
			bool json, GError **error)
{
	g_autoptr(lfs_image) img = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(JsonBuilder) b = json ? json_builder_new() : NULL;
	struct lfs_layer_options lo = { NULL, lg };
	gboolean ok = FALSE;
	gint stop = 0;

	if (!lfs_mount_load_image(o, &img, error))
		return FALSE;
	/* As with a mount, a cache that cannot be used costs a warning:
	 * the report is the same without it. */
	if (o->cache_dir) {
		g_autoptr(GError) why = NULL;

		if (!lfs_cache_open(o->cache_dir, &lo.cache, &why))
			lfs_warn(lg, "%s; going on without a cache",
				 why->message);
	}
	lo.stop = &stop;
	lfs_cli_catch_interrupts(&stop);
	if (b)
		json_header(b, img);
	else
		print_header(out, img);
	for (guint i = 0; i < img->layers->len; i++) {
		struct lfs_layer *l;

		if (!lfs_layer_open(img->layers->pdata[i], &lo, &l, error))
			goto out;
		if (b)
			json_layer(b, i, l);
		else
			print_layer(out, i, l);
		lfs_layer_free(l);
	}
	if (b)
		lfs_cli_print_json(b);
	else
		fwrite(out->str, 1, out->len, stdout);
	ok = TRUE;
out:
	lfs_cli_release_interrupts();
	lfs_cache_free(lo.cache);
	return ok;
}

int lfs_cmd_inspect(int argc, char **argv)
{
	g_auto(GStrv) layers = NULL;
	g_autofree char *platform = NULL, *cache_dir = NULL;
	gboolean version = FALSE, json = FALSE;
	int status;
	GOptionEntry entries[] = {
		{ "layer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &layers,
		  "A layer: tar, tar.gz, tar.zst or directory; repeat, bottom "
		  "first",
		  "PATH" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "Use the indexes kept in DIR, and keep the ones built (by "
		  "default nothing is read from or written to a cache)",
		  "DIR" },
		{ "platform", 0, 0, G_OPTION_ARG_STRING, &platform,
		  "Platform to pick from a multi-platform image",
		  "OS/ARCH[/VARIANT]" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "Print the report as JSON (schema layerfs.inspect/1, "
		  "docs/json.md)",
		  NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[SOURCE]");
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	struct lfs_cli_log sink = { false };
	struct lfs_logger lg = { lfs_cli_log_write, &sink, LFS_LOG_WARN };

	g_option_context_set_summary(
		ctx, "Show the layers of an image: digest, media type, stored "
		     "and uncompressed size, entry and whiteout counts.  Each "
		     "layer is read once and its digest verified (with "
		     "--cache-dir, not again once its index is kept there).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs inspect");
	status = lfs_cli_parse_source(ctx, "inspect", argc, argv, &version,
				      &layers, o);
	if (status >= 0)
		return status;
	o->platform = g_steal_pointer(&platform);
	o->cache_dir = g_steal_pointer(&cache_dir);
	if (!inspect(o, &lg, json, &error))
		return lfs_cli_fail(error);
	return LFS_EXIT_OK;
}
