/* Per-layer access to the uncompressed tar stream (see stream.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <glib.h>

#include "layerfs/seek_index.h"
#include "layerfs/stream.h"

struct lfs_stream {
	struct lfs_layer *layer;
	struct lfs_handle_pool *pool; /* compressed layers */
	struct lfs_unpack *unpack;    /* compressed layers, with a cache */
	bool seekable;		      /* the pool can start anywhere */
	gint copy_reads;	      /* atomic; statistics */
	gint when_scattered;	      /* atomic: unpack once reads scatter */
	uint64_t scatter_waste;	      /* how much waste tells them so */
	const struct lfs_logger *lg;
	/* A layer read in place: its file as last checked. */
	GMutex id_lock;
	struct lfs_blob_id id; /* protected by id_lock */
	bool changed;	       /* its bytes differ from the digest; id_lock */
};

struct lfs_stream *lfs_stream_new(struct lfs_layer *l,
				  const struct lfs_stream_options *o)
{
	struct lfs_stream *s = g_new0(struct lfs_stream, 1);

	s->layer = l;
	s->lg = o ? o->lg : NULL;
	g_mutex_init(&s->id_lock);
	s->id = l->id;
	if (!l->stored || l->comp == LFS_COMP_NONE)
		return s;
	s->pool = lfs_handle_pool_new(l->stored, l->comp, l->index,
				      l->tar_size, o ? o->handles : 0,
				      o ? o->span_cache : NULL);
	s->seekable = lfs_seek_possible(l->index, l->comp);
	if (o && o->cache && o->workers)
		s->unpack = lfs_unpack_new(l, o->cache, o->workers, o->lg);
	return s;
}

void lfs_stream_free(struct lfs_stream *s)
{
	if (!s)
		return;
	lfs_unpack_free(s->unpack);
	lfs_handle_pool_free(s->pool);
	g_mutex_clear(&s->id_lock);
	g_free(s);
}

struct lfs_layer *lfs_stream_layer(const struct lfs_stream *s)
{
	return s->layer;
}

/* The file changed identity (id_lock held): the same bytes only if they
 * still hash to the layer's digest.  A file merely linked, renamed,
 * chmod-ed or touched keeps serving; one rewritten never serves again. */
static int reverify(struct lfs_stream *s, const struct stat *st)
{
	const struct lfs_layer *l = s->layer;
	int err = (uint64_t)st->st_size == s->id.size
			  ? lfs_layer_verify_stored(l)
			  : -EBADMSG;

	if (err == 0) {
		/* A warning: a whole layer was hashed again, which someone
		 * who wonders why a read was slow should find. */
		lfs_warn(s->lg, "%s: its file changed (ctime or mtime) since "
				"it was indexed; its digest verified again: the "
				"same bytes",
			 l->spec->name);
		lfs_blob_id_of(&s->id, st, s->id.offset, s->id.length);
		return 0;
	}
	if (err == -EBADMSG) {
		lfs_warn(s->lg, "%s: its file was rewritten since it was "
				"indexed and no longer matches its digest; its "
				"files read as I/O errors until it is mounted "
				"again",
			 l->spec->name);
		s->changed = true;
		return -ESTALE;
	}
	return err; /* could not read it: try again next time */
}

/* A layer read in place: is its file still the one indexed?  Nothing
 * else would notice it rewritten (docs/integrity.md).  One fstat(2). */
static int check_in_place(struct lfs_stream *s)
{
	struct stat st;
	int err = lfs_blob_stat(s->layer->stored, &st);

	if (err == -EOPNOTSUPP)
		return 0;
	if (err < 0)
		return err;
	g_mutex_lock(&s->id_lock);
	if (s->changed)
		err = -ESTALE;
	else if (!lfs_blob_id_same_file(&s->id, &st))
		err = reverify(s, &st);
	g_mutex_unlock(&s->id_lock);
	return err;
}

/* The reads have inflated too much for what they returned: unpack the
 * layer, once.  At the foreground's priority: these reads are waiting
 * for it, not a prefetch that may yield to them. */
static void unpack_if_scattered(struct lfs_stream *s)
{
	struct lfs_pool_stats st;

	lfs_handle_pool_stats(s->pool, &st);
	if (st.inflated - MIN(st.inflated, st.served) < s->scatter_waste ||
	    !g_atomic_int_compare_and_exchange(&s->when_scattered, 1, 0))
		return;
	lfs_info(s->lg, "%s: its reads are scattered (%llu MiB inflated for "
			"%llu MiB read); unpacking it",
		 s->layer->spec->name,
		 (unsigned long long)(st.inflated >> 20),
		 (unsigned long long)(st.served >> 20));
	lfs_unpack_start(s->unpack, LFS_WORK_MOUNT);
}

int lfs_stream_read(struct lfs_stream *s, void *buf, size_t len,
		    uint64_t off)
{
	ssize_t n;

	/* Past the end: the index promised more than the layer holds. */
	if (!s->layer->stored || off > s->layer->tar_size ||
	    len > s->layer->tar_size - off)
		return -ENODATA;
	/* The copy, where it holds the bytes; a layer without access
	 * points waits for it.  Any trouble with the copy (it failed, the
	 * cache disk gave an error) leaves the compressed layer. */
	if (s->unpack) {
		n = lfs_unpack_pread(s->unpack, buf, len, off, !s->seekable);
		if (n >= 0) {
			g_atomic_int_inc(&s->copy_reads);
			return 0;
		}
	}
	if (s->pool) {
		n = lfs_handle_pool_pread(s->pool, buf, len, off);
		if (n > 0 && g_atomic_int_get(&s->when_scattered))
			unpack_if_scattered(s);
	} else {
		/* Read in place: only the file's identity can tell that it
		 * was rewritten since it was indexed.  Looked at after the
		 * read, so that a change before it or during it shows. */
		n = lfs_blob_pread(s->layer->stored, buf, len, off);
		if (n >= 0) {
			int err = check_in_place(s);

			if (err < 0)
				return err;
		}
	}
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -ENODATA;
}

int lfs_stream_map(struct lfs_stream *s, size_t len, uint64_t off, int *fd,
		   uint64_t *pos)
{
	int err;

	if (!s->layer->stored || off > s->layer->tar_size ||
	    len > s->layer->tar_size - off)
		return -ENODATA;
	if (s->unpack && lfs_unpack_map(s->unpack, len, off, fd, pos) == 0) {
		g_atomic_int_inc(&s->copy_reads);
		return 0;
	}
	if (s->layer->comp != LFS_COMP_NONE)
		return -EAGAIN;
	/* The kernel will read the bytes after this returns; the check
	 * cannot follow it there, so a change made from now until the
	 * splice goes unseen (docs/integrity.md). */
	err = check_in_place(s);
	if (err < 0)
		return err;
	switch (lfs_blob_map(s->layer->stored, off, len, fd, pos)) {
	case 0:
		return 0;
	case -ENODATA:
		return -ENODATA;
	default:
		return -EAGAIN;
	}
}

/* Ask the kernel to read [@pos, @pos + @len) of @fd ahead. */
static int64_t advise(int fd, uint64_t pos, uint64_t len)
{
	int err = posix_fadvise(fd, (off_t)pos, (off_t)len,
				POSIX_FADV_WILLNEED);

	return err ? -err : (int64_t)len;
}

int64_t lfs_stream_willneed(struct lfs_stream *s, uint64_t off, uint64_t len)
{
	const struct lfs_layer *l = s->layer;
	uint64_t from, to, pos;
	int fd;

	if (!l->stored || off > l->tar_size || len > l->tar_size - off)
		return -ENODATA;
	if (s->unpack && lfs_unpack_map(s->unpack, len, off, &fd, &pos) == 0)
		return advise(fd, pos, len);
	if (l->comp == LFS_COMP_NONE) {
		from = off;
		to = off + len;
	} else if (s->seekable) {
		lfs_seek_stored_range(l->index, l->comp, off, len,
				      l->stored_size, &from, &to);
	} else {
		return -EOPNOTSUPP;
	}
	if (to <= from || lfs_blob_map(l->stored, from, to - from, &fd,
				       &pos) < 0)
		return -EOPNOTSUPP;
	return advise(fd, pos, to - from);
}

void lfs_stream_prefetch(struct lfs_stream *s)
{
	if (s->unpack)
		lfs_unpack_start(s->unpack, LFS_WORK_BACKGROUND);
}

void lfs_stream_unpack_when_scattered(struct lfs_stream *s, uint64_t waste)
{
	/* Only a layer with access points reads scattered: one without
	 * waits for its copy from the first read anyway.  Set before the
	 * flag that publishes it. */
	if (!s->unpack || !s->seekable)
		return;
	s->scatter_waste = waste;
	g_atomic_int_set(&s->when_scattered, 1);
}

int lfs_stream_unpack(struct lfs_stream *s)
{
	if (!s->layer->stored || s->layer->comp == LFS_COMP_NONE)
		return 0;
	if (!s->unpack)
		return -ENOENT;
	lfs_unpack_start(s->unpack, LFS_WORK_MOUNT);
	return lfs_unpack_wait(s->unpack) == LFS_UNPACK_DONE ? 0 : -EIO;
}

void lfs_stream_stats(struct lfs_stream *s, struct lfs_stream_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->pool)
		lfs_handle_pool_stats(s->pool, &st->pool);
	st->copy_reads = (uint64_t)g_atomic_int_get(&s->copy_reads);
	if (s->unpack)
		st->unpack = lfs_unpack_state(s->unpack, &st->unpacked);
}
