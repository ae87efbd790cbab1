/* Per-layer access to the uncompressed tar stream (see stream.h). */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "layerfs/stream.h"

struct lfs_stream {
	struct lfs_layer *layer;
	struct lfs_handle_pool *pool; /* compressed layers */
};

struct lfs_stream *lfs_stream_new(struct lfs_layer *l,
				  const struct lfs_stream_options *o)
{
	struct lfs_stream *s = g_new0(struct lfs_stream, 1);

	s->layer = l;
	if (l->stored && l->comp != LFS_COMP_NONE)
		s->pool = lfs_handle_pool_new(l->stored, l->comp, l->index,
					      o ? o->handles : 0);
	return s;
}

void lfs_stream_free(struct lfs_stream *s)
{
	if (!s)
		return;
	lfs_handle_pool_free(s->pool);
	g_free(s);
}

struct lfs_layer *lfs_stream_layer(const struct lfs_stream *s)
{
	return s->layer;
}

int lfs_stream_read(struct lfs_stream *s, void *buf, size_t len,
		    uint64_t off)
{
	ssize_t n;

	if (!s->layer->stored)
		return -ENODATA;
	if (s->pool)
		n = lfs_handle_pool_pread(s->pool, buf, len, off);
	else
		n = lfs_blob_pread(s->layer->stored, buf, len, off);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -ENODATA;
}

void lfs_stream_stats(struct lfs_stream *s, struct lfs_pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->pool)
		lfs_handle_pool_stats(s->pool, st);
}
