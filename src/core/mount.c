/* Opening a mount: source -> image -> indexed layers -> merged tree. */
#include <malloc.h>

#include "layerfs/error.h"
#include "layerfs/mount.h"
#include "layerfs/source.h"

gboolean lfs_mount_load_image(const struct lfs_options *o,
			      struct lfs_image **out, GError **error)
{
	if (o->source)
		return lfs_source_open(o->source, o->platform, out, error);
	return lfs_source_from_layers((const char *const *)o->layers->pdata,
				      o->layers->len, out, error);
}

static gboolean open_layers(struct lfs_mount *m, const struct lfs_options *o,
			    GError **error)
{
	struct lfs_layer_options lo = { .cache = m->cache, .lg = &m->log,
					.span = o->span };
	struct lfs_stream_options so = { .handles = o->handles };

	m->nlayers = m->image->layers->len;
	m->layers = g_new0(struct lfs_layer *, m->nlayers);
	m->streams = g_new0(struct lfs_stream *, m->nlayers);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		struct lfs_layer *l;

		if (!lfs_layer_open(m->image->layers->pdata[i], &lo,
				    &m->layers[i], error))
			return FALSE;
		l = m->layers[i];
		m->streams[i] = lfs_stream_new(l, &so);
		m->total_entries += l->index->nentries;
		m->total_bytes += l->tar_size;
		lfs_info(&m->log, "%s: %u entries, %llu bytes (%s)%s",
			 l->spec->name, l->index->nentries,
			 (unsigned long long)l->tar_size,
			 lfs_compression_name(l->comp),
			 l->loaded ? ", index from the cache" : "");
	}
	return TRUE;
}

/* The cache, or NULL (with a warning) when it cannot be used. */
static struct lfs_cache *open_cache(const struct lfs_options *o,
				    const struct lfs_logger *lg)
{
	g_autofree char *dir = o->cache_dir ? g_strdup(o->cache_dir)
					    : lfs_cache_default_dir();
	g_autoptr(GError) error = NULL;
	struct lfs_cache *c = NULL;

	if (!lfs_cache_open(dir, &c, &error))
		lfs_warn(lg, "%s; going on without a cache: every layer is "
			     "indexed now and nothing is kept",
			 error->message);
	return c;
}

gboolean lfs_mount_open(const struct lfs_options *o,
			const struct lfs_logger *lg, struct lfs_mount **out,
			GError **error)
{
	struct lfs_mount *m = g_new0(struct lfs_mount, 1);

	if (lg)
		m->log = *lg;
	if (!lfs_mount_load_image(o, &m->image, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	m->cache = open_cache(o, &m->log);
	if (!open_layers(m, o, error)) {
		lfs_mount_close(m);
		return FALSE;
	}
	/* Index builders freed a lot of small blocks: hand the memory back
	 * rather than keep it in the daemon for its whole life. */
	malloc_trim(0);
	m->tree = lfs_tree_new(m->layers, m->nlayers, &m->log,
			       &(struct lfs_tree_options){ o->meta_cache });
	*out = m;
	return TRUE;
}

void lfs_mount_close(struct lfs_mount *m)
{
	if (!m)
		return;
	lfs_tree_free(m->tree);
	for (uint32_t i = 0; i < m->nlayers; i++) {
		if (m->streams)
			lfs_stream_free(m->streams[i]);
		lfs_layer_free(m->layers[i]);
	}
	g_free(m->streams);
	g_free(m->layers);
	lfs_cache_free(m->cache);
	lfs_image_free(m->image);
	g_free(m);
}
