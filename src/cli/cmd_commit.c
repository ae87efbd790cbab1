/* `layerfs commit`: a writable mount's changes (or those of an upper
 * directory it left) as a new image in an OCI layout: the image it was
 * mounted from plus one layer, under a new tag, as `podman commit` and
 * `buildah commit` make one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "layerfs/cleanup.h"
#include "layerfs/commit.h"
#include "layerfs/error.h"
#include "layerfs/oci_write.h"

struct commit_args {
	struct lfs_cli_view view;
	char *dest_dir, *dest_tag;
	struct lfs_commit_options co;
	bool has_epoch;
	gint64 epoch;
	const char *message;
};

/* "oci:DIR:TAG" -> DIR and TAG; NULL or a reason. */
static const char *parse_dest(const char *dest, char **dir, char **tag)
{
	const char *colon;

	if (!g_str_has_prefix(dest, "oci:"))
		return "the new image goes to an OCI layout: oci:DIR:TAG";
	dest += 4;
	colon = strrchr(dest, ':');
	if (!colon || colon == dest || !colon[1])
		return "the new image needs a DIR and a TAG: oci:DIR:TAG";
	*dir = g_strndup(dest, (gsize)(colon - dest));
	*tag = g_strdup(colon + 1);
	return NULL;
}

static const char *parse_compression(const char *s, enum lfs_compression *c)
{
	if (!s || strcmp(s, "gzip") == 0)
		*c = LFS_COMP_GZIP;
	else if (strcmp(s, "zstd") == 0)
		*c = LFS_COMP_ZSTD;
	else if (strcmp(s, "none") == 0)
		*c = LFS_COMP_NONE;
	else
		return "--compression takes gzip, zstd or none";
	return NULL;
}

/* SOURCE_DATE_EPOCH's value, as buildah and BuildKit read it: decimal
 * seconds since 1970. */
static const char *parse_epoch(const char *s, gint64 *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return "the source date epoch is a number of seconds since "
		       "1970";
	*out = v;
	return NULL;
}

static char *rfc3339(gint64 secs, gint usecs)
{
	g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(secs);
	g_autofree char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");

	if (usecs)
		return g_strdup_printf("%s.%06dZ", base, usecs);
	return g_strdup_printf("%sZ", base);
}

static const char *media_type(enum lfs_compression c);

/* An image outside an OCI layout (a docker-archive): its config, and its
 * layers as the byte ranges they are, with the digests indexing took. */
static gboolean layer_ranges(struct lfs_mount *m, struct lfs_oci_append *a,
			     struct lfs_oci_layer_range **out, GError **error)
{
	struct lfs_oci_layer_range *r = g_new0(struct lfs_oci_layer_range,
					      m->nlayers);

	*out = r;
	for (uint32_t i = 0; i < m->nlayers; i++) {
		const struct lfs_layer *l = m->layers[i];

		if (l->spec->kind != LFS_LAYER_TAR || !l->has_digest)
			return lfs_fail(error, EINVAL,
					"%s: no digest for its blob",
					l->spec->name);
		r[i].path = l->spec->path;
		r[i].offset = l->spec->offset;
		r[i].length = l->stored_size;
		r[i].digest = l->digest;
		r[i].media_type = media_type(l->comp);
	}
	a->config = m->image->config;
	a->ranges = r;
	a->nranges = m->nlayers;
	return TRUE;
}

static const char *media_type(enum lfs_compression c)
{
	switch (c) {
	case LFS_COMP_GZIP:
		return LFS_OCI_MEDIA_LAYER "+gzip";
	case LFS_COMP_ZSTD:
		return LFS_OCI_MEDIA_LAYER "+zstd";
	default:
		return LFS_OCI_MEDIA_LAYER;
	}
}

/* The new image may not go into the mount it is taken from: its writes
 * would wait for the thaw, which waits for them. */
static gboolean outside(const char *mnt, const char *dest, GError **error)
{
	g_autofree char *dir = g_strdup(dest);
	struct stat ms, ds;

	if (stat(mnt, &ms) < 0)
		return lfs_fail(error, errno, "%s: %s", mnt, g_strerror(errno));
	/* The nearest part of @dest that exists. */
	while (stat(dir, &ds) < 0) {
		char *up = g_path_get_dirname(dir);

		if (strcmp(up, dir) == 0) {
			g_free(up);
			return TRUE;
		}
		g_free(dir);
		dir = up;
	}
	if (ds.st_dev == ms.st_dev)
		return lfs_fail(error, EINVAL,
				"%s: the new image cannot go inside the mount "
				"it is taken from (%s)",
				dest, mnt);
	return TRUE;
}

/* "committing: 1204 entries, 310.2 MiB". */
static char *commit_line(void *ctx)
{
	struct lfs_commit_stats *st = ctx;

	return g_strdup_printf(
		"committing: %" G_GUINT64_FORMAT " entries, %.1f MiB",
		__atomic_load_n(&st->entries, __ATOMIC_RELAXED),
		(double)__atomic_load_n(&st->bytes, __ATOMIC_RELAXED) /
			(1 << 20));
}

static gboolean run(struct commit_args *c, struct lfs_options *o,
		    const struct lfs_logger *lg, GError **error)
{
	struct lfs_mount *m = NULL;
	struct lfs_oci_out *w = NULL;
	struct lfs_compress_result res;
	struct lfs_commit_stats st;
	struct lfs_oci_append a = { .created_by = "layerfs commit",
				    .comment = c->message };
	g_autofree char *created = NULL, *manifest = NULL, *layer = NULL;
	g_autofree struct lfs_oci_layer_range *ranges = NULL;
	struct lfs_cli_ticker *ticker;
	lfs_autofd fd = -1;
	gboolean written, ok = FALSE;

	if (c->view.mountpoint && !outside(c->view.mountpoint, c->dest_dir,
					   error))
		return FALSE;
	if (!lfs_cli_view_open(&c->view, o, lg, &m, error))
		return FALSE;
	if (!m->image->config) {
		lfs_fail(error, EINVAL,
			 "%s: a list of layers has no image config to add a "
			 "layer to; commit needs an image (oci:DIR:TAG or "
			 "docker-archive:FILE)",
			 m->image->source);
		goto out;
	}
	if (!lfs_oci_out_open(c->dest_dir, &w, error))
		goto out;
	fd = lfs_oci_out_tmpfile(w);
	if (fd < 0) {
		lfs_fail(error, -fd, "%s: cannot make a blob: %s", c->dest_dir,
			 g_strerror(-fd));
		goto out;
	}
	memset(&st, 0, sizeof(st));
	ticker = lfs_cli_ticker_start(stderr, commit_line, &st);
	written = lfs_commit_layer(m, &c->co, fd, &res, &st, error);
	lfs_cli_ticker_stop(ticker);
	if (!written || !lfs_oci_out_publish(w, fd, &res.stored, error))
		goto out;
	if (c->has_epoch) {
		created = rfc3339(c->epoch, 0);
	} else {
		gint64 now = g_get_real_time();

		created = rfc3339(now / G_USEC_PER_SEC,
				  (gint)(now % G_USEC_PER_SEC));
	}
	if (m->image->oci_dir) {
		a.src_dir = m->image->oci_dir;
		a.manifest = m->image->manifest_digest;
	} else if (!layer_ranges(m, &a, &ranges, error)) {
		goto out;
	}
	a.tag = c->dest_tag;
	a.layer_media_type = media_type(c->co.comp);
	a.layer_digest = res.stored;
	a.layer_size = res.stored_size;
	a.diff_id = res.plain;
	a.created = created;
	if (!lfs_oci_out_append(w, &a, &manifest, error))
		goto out;
	layer = lfs_digest_to_string(&res.stored);
	printf("oci:%s:%s: manifest %s, layer %s (%" G_GUINT64_FORMAT
	       " bytes): %" G_GUINT64_FORMAT " added, %" G_GUINT64_FORMAT
	       " changed, %" G_GUINT64_FORMAT " deleted\n",
	       c->dest_dir, c->dest_tag, manifest, layer, res.stored_size,
	       st.added, st.changed, st.deleted);
	if (st.sockets)
		fprintf(stderr,
			"layerfs: %" G_GUINT64_FORMAT " socket(s) left out: "
			"a tar cannot hold them\n",
			st.sockets);
	if (st.xattrs_left)
		fprintf(stderr,
			"layerfs: %" G_GUINT64_FORMAT " overlay.* xattr(s) "
			"left out: layer readers take them for overlayfs's "
			"own\n",
			st.xattrs_left);
	ok = TRUE;
out:
	lfs_oci_out_free(w);
	lfs_mount_close(m);
	lfs_cli_view_thaw(&c->view);
	return ok;
}

int lfs_cmd_commit(int argc, char **argv)
{
	g_auto(GStrv) opts = NULL;
	g_autofree char *upper = NULL, *from = NULL, *cache_dir = NULL;
	g_autofree char *compression = NULL, *epoch = NULL, *message = NULL;
	gboolean version = FALSE, userxattr = FALSE, clamp = FALSE;
	gint level = 0;
	GOptionEntry entries[] = {
		{ "upper", 0, 0, G_OPTION_ARG_FILENAME, &upper,
		  "An upper directory (not mounted) to commit", "DIR" },
		{ "from", 0, 0, G_OPTION_ARG_FILENAME, &from,
		  "The image the upper directory was written over", "SOURCE" },
		{ "userxattr", 0, 0, G_OPTION_ARG_NONE, &userxattr,
		  "The upper keeps user.overlay.* xattrs (as root too)", NULL },
		{ "compression", 0, 0, G_OPTION_ARG_STRING, &compression,
		  "The new layer's compression (default gzip)",
		  "gzip|zstd|none" },
		{ "level", 0, 0, G_OPTION_ARG_INT, &level,
		  "Compression level (gzip 1-9, zstd 1-19; default 6 and 3)",
		  "N" },
		{ "source-date-epoch", 0, 0, G_OPTION_ARG_STRING, &epoch,
		  "The image's creation time, in seconds since 1970 (default: "
		  "$SOURCE_DATE_EPOCH, else now)",
		  "SECONDS" },
		{ "clamp-mtime", 0, 0, G_OPTION_ARG_NONE, &clamp,
		  "Write mtimes later than the source date epoch as it", NULL },
		{ "message", 'm', 0, G_OPTION_ARG_STRING, &message,
		  "The history entry's comment", "TEXT" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "Cache directory (default: the mount's, else as for "
		  "layerfs index)",
		  "DIR" },
		{ "options", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opts,
		  "Options, comma-separated, as for layerfs index",
		  "OPT[,OPT]" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("MOUNTPOINT oci:DIR:TAG | --upper DIR "
				     "--from SOURCE oci:DIR:TAG");
	g_autoptr(lfs_options) o = lfs_options_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *o_help = lfs_options_help(LFS_OPTIONS_INDEX);
	struct lfs_cli_log sink = { false };
	struct lfs_logger lg = { lfs_cli_log_write, &sink, LFS_LOG_WARN };
	struct commit_args c = { 0 };
	const char *why = NULL, *env = g_getenv("SOURCE_DATE_EPOCH");
	gint stop = 0;
	int want = 2;

	g_option_context_set_summary(
		ctx, "Add what a writable layerfs mount changed (or an upper "
		     "directory left by one, or by kernel overlayfs) to its "
		     "image as a new layer, and tag the new image in an OCI "
		     "layout: the image's own, or another.");
	g_option_context_set_description(ctx, o_help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("layerfs commit");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		why = error->message;
	} else if (version) {
		printf("layerfs %s\n", LFS_VERSION);
		return LFS_EXIT_OK;
	}
	if (!why && upper) {
		want = 1;
		if (!from)
			why = "--upper needs --from SOURCE";
	} else if (!why && (from || userxattr)) {
		why = "--from and --userxattr go with --upper";
	}
	if (!why && argc != want + 1)
		why = upper ? "expected oci:DIR:TAG after the options"
			    : "expected MOUNTPOINT oci:DIR:TAG";
	if (!why)
		why = parse_dest(argv[want], &c.dest_dir, &c.dest_tag);
	if (!why)
		why = parse_compression(compression, &c.co.comp);
	if (!why && (epoch || env)) {
		why = parse_epoch(epoch ? epoch : env, &c.epoch);
		c.has_epoch = !why;
	}
	if (!why && clamp && !c.has_epoch)
		why = "--clamp-mtime needs --source-date-epoch or "
		      "$SOURCE_DATE_EPOCH";
	for (char **opt = opts; !why && opt && *opt; opt++) {
		if (!lfs_options_parse_for(o, *opt, LFS_OPTIONS_INDEX, &error))
			why = error->message;
	}
	if (why) {
		fprintf(stderr,
			"layerfs commit: %s (see layerfs commit --help)\n",
			why);
		g_free(c.dest_dir);
		g_free(c.dest_tag);
		return LFS_EXIT_USAGE;
	}
	c.co.level = level;
	c.co.clamp = clamp;
	c.co.clamp_time.tv_sec = c.epoch;
	c.message = message;
	o->cache_dir = g_steal_pointer(&cache_dir);
	if (upper) {
		c.view.upper = upper;
		c.view.userxattr = userxattr;
		o->source = g_strdup(from);
	} else {
		c.view.mountpoint = argv[1];
		c.view.freeze = true;
	}
	o->stop = &stop;
	c.co.stop = &stop;
	lfs_cli_catch_interrupts(&stop);
	want = run(&c, o, &lg, &error) ? LFS_EXIT_OK : lfs_cli_fail(error);
	lfs_cli_release_interrupts();
	g_free(c.dest_dir);
	g_free(c.dest_tag);
	return want;
}
