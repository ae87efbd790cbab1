/* Opening and indexing a layer (see layer.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/decomp.h"
#include "layerfs/dir_scan.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/index_file.h"
#include "layerfs/layer.h"
#include "layerfs/readahead.h"
#include "layerfs/seek_index.h"
#include "layerfs/tar_scan.h"

/* Chunk size handed to libarchive, and chunks read ahead of it. */
#define SCAN_BUF_SIZE (1u << 20)
#define SCAN_BUFS 4

/* The indexing pass's plumbing: decompressor (recording access points)
 * -> digest of the tar stream, on a read-ahead thread, -> libarchive and
 * the index builder on the layer's worker. */
struct feed {
	struct lfs_decomp *d;
	struct lfs_index_builder *b; /* for the progress count */
	struct lfs_hasher *plain_hash; /* NULL unless a diff_id is checked */
	const struct lfs_layer_options *opts;
	const struct lfs_layer_spec *spec;
	struct lfs_readahead *ra;      /* runs produce() */
	uint64_t in_bytes;	       /* atomic: stored bytes read so far */
	uint64_t reported;	       /* stored bytes at the last progress */
	char *error;		       /* set by produce() before it fails */
	bool failed;		       /* feed_read() passed a failure on */
	/* A compressed layer's recorder: feed_read() gives it the stream
	 * for its chunk checksums (lfs_decomp_leave_sums()). */
	struct lfs_seek_recorder *rec;
};

/* On the read-ahead thread: the next chunk of the tar stream. */
static ssize_t produce(void *ctx, void *buf, size_t len)
{
	struct feed *f = ctx;
	ssize_t n;

	if (f->opts->stop && g_atomic_int_get(f->opts->stop)) {
		f->error = g_strdup("cancelled");
		return -ECANCELED;
	}
	/* A whole buffer: a decompressor may hand out far less per call
	 * (one input block's worth), and each chunk costs the consumer a
	 * wake-up.  Bytes read before a failure go out first; the failure
	 * repeats on the next call (a decompressor stays failed). */
	for (n = 0; (size_t)n < len;) {
		ssize_t got = lfs_decomp_read(f->d, (char *)buf + n,
					      len - (size_t)n);

		if (got < 0 && n > 0)
			break;
		if (got < 0) {
			f->error = g_strdup(lfs_decomp_error(f->d));
			return got;
		}
		if (got == 0)
			break;
		n += got;
	}
	if (f->plain_hash && n > 0)
		lfs_hasher_update(f->plain_hash, buf, (size_t)n);
	__atomic_store_n(&f->in_bytes, lfs_decomp_in_bytes(f->d),
			 __ATOMIC_RELAXED);
	return n;
}

static ssize_t feed_read(void *ctx, const void **buf)
{
	struct feed *f = ctx;
	ssize_t n = lfs_readahead_next(f->ra, buf);
	uint64_t in = __atomic_load_n(&f->in_bytes, __ATOMIC_RELAXED);

	if (n < 0) {
		f->failed = true;
		return n;
	}
	if (f->rec && n > 0)
		lfs_seek_recorder_data(f->rec, *buf, (size_t)n);
	if (f->opts->progress && in - f->reported >= SCAN_BUF_SIZE) {
		struct lfs_layer_progress p = {
			in,
			f->spec->size > 0 ? (uint64_t)f->spec->size : 0,
			f->b ? lfs_index_builder_members(f->b) : 0,
		};

		f->opts->progress(f->opts->progress_ctx, f->spec, &p);
		f->reported = in;
	}
	return n;
}

static const char *feed_error(void *ctx)
{
	struct feed *f = ctx;

	return f->error ? f->error : "read error";
}

static gboolean check_digest(const struct lfs_layer_spec *spec,
			     const struct lfs_digest *got,
			     const struct lfs_digest *want, const char *what,
			     GError **error)
{
	if (!lfs_digest_equal(got, want)) {
		g_autofree char *ws = lfs_digest_to_string(want);
		g_autofree char *gs = lfs_digest_to_string(got);

		return lfs_fail_cause(error, LFS_CAUSE_INTEGRITY, EINVAL,
				"%s: %s mismatch: expected %s, content is %s",
				spec->name, what, ws, gs);
	}
	return TRUE;
}

/* After the tar end marker: read the rest of the stream so every stored
 * byte is hashed and a corrupt tail is still caught. */
static gboolean drain(struct feed *f, const struct lfs_layer_spec *spec,
		      GError **error)
{
	const void *buf;
	ssize_t n;

	while ((n = feed_read(f, &buf)) > 0)
		;
	/* Cancelled because another layer failed: say so with the code
	 * the mount uses to report the layer that failed instead. */
	if (n == -ECANCELED)
		return lfs_fail(error, ECANCELED, "%s: indexing cancelled",
				spec->name);
	if (n < 0)
		return lfs_fail(error, EIO, "%s: %s", spec->name, f->error);
	return TRUE;
}

/* The stored bytes' digest is kept whether or not the source promised
 * one: `layerfs inspect` shows it for every tar layer. */
static gboolean verify(struct lfs_layer *l, struct feed *f,
		       struct lfs_hasher *stored_hash, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	struct lfs_digest plain;

	l->stored_size = lfs_decomp_in_bytes(f->d);
	l->tar_size = lfs_decomp_out_bytes(f->d);
	if (spec->size >= 0 && l->stored_size != (uint64_t)spec->size)
		return lfs_fail_cause(error, LFS_CAUSE_INTEGRITY, EINVAL,
				"%s: size mismatch: expected %lld bytes, blob "
				"has %llu",
				spec->name, (long long)spec->size,
				(unsigned long long)l->stored_size);
	lfs_hasher_finish(stored_hash, &l->digest);
	l->has_digest = true;
	if (spec->has_digest &&
	    !check_digest(spec, &l->digest, &spec->digest, "digest", error))
		return FALSE;
	if (!spec->has_diff_id)
		return TRUE;
	/* No hasher of its own: the stream is the stored bytes. */
	if (f->plain_hash)
		lfs_hasher_finish(f->plain_hash, &plain);
	else
		plain = l->digest;
	return check_digest(spec, &plain, &spec->diff_id, "diff_id", error);
}

/* Digests are computed beside the pass, on threads of their own. */
static int new_hasher(bool want, enum lfs_digest_algo algo,
		      struct lfs_hasher **out)
{
	*out = NULL;
	return want ? lfs_hasher_new_async(algo, out) : 0;
}

static gboolean start_feed(struct lfs_layer *l, struct feed *f,
			   struct lfs_hasher *stored, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	const char *why = NULL;
	int err;

	err = lfs_decomp_new(l->stored, spec->compression, stored, &f->d,
			     &why);
	if (err == -EINVAL || err == -ENOTSUP)
		return lfs_fail(error, -err, "%s: %s", spec->name, why);
	if (err < 0)
		return lfs_fail(error, -err, "%s: %s: %s", spec->name, why,
				g_strerror(-err));
	l->comp = lfs_decomp_compression(f->d);
	return TRUE;
}

/* Wait for the read-ahead thread to stop; after this, @f->d and the
 * hashers belong to this thread again. */
static void stop_feed(struct feed *f)
{
	g_clear_pointer(&f->ra, lfs_readahead_free);
}

/* A tar error in a compressed layer is often the symptom of damage the
 * decompressor has not reached yet (garbage inflates into garbage
 * headers).  Read on: if the stream itself is broken, that is the error
 * to report, naming the real cause and its offset. */
static void prefer_stream_error(struct feed *f,
				const struct lfs_layer_spec *spec,
				GError **error)
{
	GError *why = NULL;

	if (f->failed || drain(f, spec, &why))
		return;
	if (g_error_matches(why, LFS_ERROR, ECANCELED)) {
		g_error_free(why);
		return;
	}
	g_clear_error(error);
	g_propagate_error(error, why);
}

/* The indexing pass proper: scan the stream into @b, recording access
 * points into @rec, and check what the source promised. */
static gboolean scan_tar(struct lfs_layer *l,
			 const struct lfs_layer_options *opts,
			 struct lfs_index_builder *b,
			 struct lfs_seek_recorder *rec, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	/* The stored bytes are always hashed (verify()), with the algorithm
	 * of the digest the source promised, if any. */
	enum lfs_digest_algo algo = spec->has_digest ? spec->digest.algo
						     : LFS_DIGEST_SHA256;
	g_autoptr(lfs_hasher) stored = NULL, plain = NULL;
	struct feed f = { .b = b, .opts = opts, .spec = spec };
	struct lfs_tar_source src = { feed_read, feed_error, &f };
	gboolean ok = FALSE;

	if (new_hasher(true, algo, &stored) < 0 ||
	    new_hasher(spec->has_diff_id, spec->diff_id.algo, &plain) < 0) {
		lfs_fail(error, ENOMEM, "%s: out of memory", spec->name);
		goto out;
	}
	if (!start_feed(l, &f, stored, error))
		goto out;
	/* An uncompressed layer's diff_id is the digest of its stored
	 * bytes, which are hashed anyway: hashing them twice would only
	 * cost a core. */
	if (l->comp == LFS_COMP_NONE && plain && spec->diff_id.algo == algo)
		g_clear_pointer(&plain, lfs_hasher_free);
	f.plain_hash = plain;
	if (l->comp != LFS_COMP_NONE) {
		lfs_decomp_record(f.d, rec);
		lfs_decomp_leave_sums(f.d);
		f.rec = rec;
	}
	f.ra = lfs_readahead_new(produce, &f, SCAN_BUF_SIZE, SCAN_BUFS);
	ok = lfs_tar_scan(&src, b, opts->lg, spec->name, error);
	if (!ok && opts->stop && g_atomic_int_get(opts->stop)) {
		g_clear_error(error);
		lfs_fail(error, ECANCELED, "%s: indexing cancelled", spec->name);
		goto out;
	}
	if (!ok && l->comp != LFS_COMP_NONE)
		prefer_stream_error(&f, spec, error);
	ok = ok && drain(&f, spec, error);
	stop_feed(&f);
	ok = ok && verify(l, &f, stored, error);
	/* What the pass could not read as a layer (the digest checks have
	 * their own cause). */
	if (!ok)
		lfs_error_set_cause(error, LFS_CAUSE_CORRUPT);
out:
	stop_feed(&f);
	lfs_decomp_free(f.d);
	g_free(f.error);
	return ok;
}

/* Open the stored bytes and note which file they are in. */
/* A problem with the layer's file, naming it once: a --layer file's name
 * is its path. */
static gboolean stored_error(const struct lfs_layer_spec *spec, int err,
			     const char *why, GError **error)
{
	if (g_strcmp0(spec->name, spec->path) == 0)
		return lfs_fail(error, err, "%s: %s", spec->name, why);
	return lfs_fail(error, err, "%s: %s: %s", spec->name, spec->path, why);
}

/* Bytes hashed per read when a layer's digest is verified again. */
#define VERIFY_CHUNK (1u << 20)

static gboolean open_stored(struct lfs_layer *l, struct lfs_blob_id *id,
			    struct stat *st, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	int fd = open(spec->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int err;

	if (fd < 0 || fstat(fd, st) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return stored_error(spec, -err, g_strerror(-err), error);
	}
	lfs_blob_id_of(id, st, spec->offset, spec->length);
	err = lfs_blob_open_fd(fd, spec->offset, spec->length, &l->stored);
	if (err < 0)
		return stored_error(spec, -err,
				    err == -EINVAL ? "the file is shorter "
						     "than the layer"
						   : g_strerror(-err),
				    error);
	return TRUE;
}

/* Whether a persisted index is for these very bytes; *why says why not.
 * *moved: all fits but the file's identity (it was copied, linked,
 * touched or rewritten since), which only its digest can settle. */
static bool meta_fits(const struct lfs_layer *l,
		      const struct lfs_index_meta *m,
		      const struct lfs_blob_id *id, const char **why,
		      bool *moved)
{
	const struct lfs_layer_spec *spec = l->spec;

	*why = NULL;
	*moved = false;
	if (m->stored_size != l->stored->size)
		*why = "its size differs";
	else if (!m->has_digest)
		*why = "it records no digest of the stored bytes";
	else if (spec->has_digest &&
		 !lfs_digest_equal(&m->digest, &spec->digest))
		*why = "its digest differs";
	else if (spec->compression != LFS_COMP_DETECT &&
		 spec->compression != m->compression)
		*why = "its compression differs";
	else if (memcmp(&m->blob, id, sizeof(*id)) != 0) {
		*why = "the stored bytes' file changed since they were indexed";
		*moved = true;
	}
	return *why == NULL;
}

/* The index fits but for the file's identity: hash the stored bytes
 * again.  The same digest means the same bytes, so the index is kept (and
 * saved under the new identity, so the next mount is fast again); that
 * costs one read of the stored bytes where indexing again costs that and
 * the decompression and the scan. */
/* lfs_layer_verify_stored(), reporting progress to and stopping when
 * told by @opts (if not NULL): -ECANCELED. */
static int verify_stored(const struct lfs_layer *l,
			 const struct lfs_layer_options *opts)
{
	g_autoptr(lfs_hasher) h = NULL;
	g_autofree uint8_t *buf = NULL;
	struct lfs_digest got;
	uint64_t off = 0;
	int err;

	if (!l->stored || !l->has_digest)
		return -EINVAL;
	err = lfs_hasher_new(l->digest.algo, &h);
	if (err < 0)
		return err;
	buf = g_malloc(VERIFY_CHUNK);
	while (off < l->stored->size) {
		ssize_t n;

		if (opts && opts->stop && g_atomic_int_get(opts->stop))
			return -ECANCELED;
		n = lfs_blob_pread(l->stored, buf, VERIFY_CHUNK, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EBADMSG; /* shorter than it was */
		lfs_hasher_update(h, buf, (size_t)n);
		off += (uint64_t)n;
		if (opts && opts->progress) {
			struct lfs_layer_progress p = {
				.done = off, .total = l->stored->size,
				.verifying = true,
			};

			opts->progress(opts->progress_ctx, l->spec, &p);
		}
	}
	lfs_hasher_finish(h, &got);
	return lfs_digest_equal(&got, &l->digest) ? 0 : -EBADMSG;
}

static bool same_bytes_again(struct lfs_layer *l,
			     const struct lfs_layer_options *opts,
			     const char *name, struct lfs_index *ix,
			     struct lfs_index_meta *m,
			     const struct lfs_blob_id *id)
{
	int err;

	l->has_digest = true;
	l->digest = m->digest;
	err = verify_stored(l, opts);
	l->has_digest = false;
	if (err < 0)
		return false;
	lfs_info(opts->lg, "%s: its file changed since it was indexed; its "
			   "digest verified again: index kept",
		 l->spec->name);
	m->blob = *id;
	err = lfs_index_file_write(lfs_cache_index_dir(opts->cache), name, ix,
				   m);
	if (err < 0)
		lfs_info(opts->lg, "%s: cannot save its index in %s again: %s",
			 l->spec->name, lfs_cache_path(opts->cache),
			 g_strerror(-err));
	return true;
}

/* The persisted index of @l, if there is one that fits.  NULL if there
 * is none (*why NULL), or if the one there does not fit: *why says why,
 * for the caller to say, and *damaged whether the file is damaged, cut
 * short or not ours, rather than made by another version or for other
 * bytes. */
static struct lfs_index *map_cached(struct lfs_layer *l,
				    const struct lfs_layer_options *opts,
				    const struct lfs_blob_id *id,
				    const struct stat *written,
				    struct lfs_index_meta *m, const char **why,
				    bool *damaged)
{
	g_autofree char *name = g_strdup_printf("%s.idx", l->cache_key);
	struct lfs_index *ix = NULL;
	bool moved = false;
	int err = lfs_index_file_load_written(lfs_cache_index_dir(opts->cache),
					      name, written, &ix, m, why);

	*damaged = false;
	if (err == -ENOENT) {
		*why = NULL;
		return NULL;
	}
	if (err < 0 && err != -ESTALE) {
		*damaged = true;
		if (!*why)
			*why = g_strerror(-err);
		return NULL;
	}
	if (err == 0 && (meta_fits(l, m, id, why, &moved) ||
			 (moved && same_bytes_again(l, opts, name, ix, m, id))))
		return ix;
	if (moved)
		*why = "the stored bytes differ from those indexed";
	else if (!*why)
		*why = g_strerror(-err);
	if (err == 0)
		lfs_index_free(ix);
	return NULL;
}

static bool load_cached(struct lfs_layer *l,
			const struct lfs_layer_options *opts,
			const struct lfs_blob_id *id)
{
	struct lfs_index_meta m;
	const char *why;
	bool damaged;
	struct lfs_index *ix = map_cached(l, opts, id, NULL, &m, &why,
					  &damaged);

	/* Damaged, cut short, or not ours: worth a warning.  Made by
	 * another version, or for other bytes: routine. */
	if (!ix && why && damaged)
		lfs_warn(opts->lg, "%s: cached index %s/index/%s.idx not used "
				   "(%s); indexing again",
			 l->spec->name, lfs_cache_path(opts->cache),
			 l->cache_key, why);
	else if (!ix && why)
		lfs_info(opts->lg, "%s: cached index %s/index/%s.idx not used "
				   "(%s); indexing again",
			 l->spec->name, lfs_cache_path(opts->cache),
			 l->cache_key, why);
	if (!ix)
		return false;
	/* A span asked for is a wish for this layer's access points: an
	 * index made with another one is made again.  Without the option,
	 * whatever span an index was made with serves. */
	if (opts->span && m.compression == LFS_COMP_GZIP &&
	    m.span != opts->span) {
		lfs_info(opts->lg, "%s: cached index %s/index/%s.idx has "
				   "access points every %llu bytes, not the "
				   "%llu asked for; indexing again",
			 l->spec->name, lfs_cache_path(opts->cache),
			 l->cache_key, (unsigned long long)m.span,
			 (unsigned long long)opts->span);
		lfs_index_free(ix);
		return false;
	}
	l->index = ix;
	l->comp = m.compression;
	l->stored_size = m.stored_size;
	l->tar_size = m.tar_size;
	l->has_digest = true; /* meta_fits() saw to it */
	l->digest = m.digest;
	l->loaded = true;
	return true;
}

/* Write the index of @b straight into the cache and publish it, so that
 * the layer is served from the file (pages the kernel can drop and share
 * with other mounts of the image, not the daemon's heap), never from a
 * copy in memory.  *written: the file's inode.  Returns 0 or -errno. */
static int save_built(struct lfs_layer *l,
		      const struct lfs_layer_options *opts,
		      struct lfs_index_builder *b, const struct lfs_index *seek,
		      const struct lfs_index_meta *m, struct stat *written)
{
	g_autofree char *name = g_strdup_printf("%s.idx", l->cache_key);
	int dirfd = lfs_cache_index_dir(opts->cache);
	lfs_autofd fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			       0644);
	int err;

	if (fd < 0)
		return -errno;
	err = lfs_index_builder_write(b, opts->lg, l->spec->name, seek, m, fd);
	/* On disk before it has a name: a crash never leaves a named,
	 * half-written index. */
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	if (err == 0 && fstat(fd, written) < 0)
		err = -errno;
	if (err == 0)
		err = lfs_cache_publish(dirfd, fd, name);
	return err;
}

/* Serve from the saved file (@written), mapped and checked as any mount
 * maps it, but for its checksum, made from the same bytes a moment ago. */
static bool use_saved(struct lfs_layer *l,
		      const struct lfs_layer_options *opts,
		      const struct lfs_blob_id *id, const struct stat *written)
{
	struct lfs_index_meta m;
	const char *why;
	bool damaged;
	struct lfs_index *ix = map_cached(l, opts, id, written, &m, &why,
					  &damaged);

	/* Written a moment ago, so this is a fault of ours or of the file
	 * system, and every mount would build the index again: say so. */
	if (!ix) {
		l->unsaved = g_strdup_printf(
			"the file written in %s does not read back (%s)",
			lfs_cache_path(opts->cache), why ? why : "it is gone");
		lfs_warn(opts->lg, "%s: its index %s; it will be built again "
				   "next time",
			 l->spec->name, l->unsaved);
		return false;
	}
	l->index = ix;
	return true;
}

/* The index of @b, written where it is served from: the cache when there
 * is one, else (or when the cache cannot take it) memory. */
static gboolean write_index(struct lfs_layer *l,
			    const struct lfs_layer_options *opts,
			    struct lfs_index_builder *b,
			    const struct lfs_index *seek,
			    const struct lfs_blob_id *id, GError **error)
{
	struct lfs_index_meta m = {
		.blob = *id,
		.stored_size = l->stored_size,
		.tar_size = l->tar_size,
		.compression = l->comp,
		.has_digest = l->has_digest,
		.digest = l->digest,
		.span = opts->span ? opts->span : LFS_SEEK_SPAN_DEFAULT,
	};
	lfs_autofd fd = -1;
	int err;

	if (opts->cache) {
		struct stat written;

		err = save_built(l, opts, b, seek, &m, &written);
		if (err == 0 && use_saved(l, opts, id, &written))
			return TRUE;
		if (err < 0) {
			l->unsaved = g_strdup_printf(
				"cannot write it in %s: %s",
				lfs_cache_path(opts->cache), g_strerror(-err));
			lfs_warn(opts->lg, "%s: cannot save its index in %s: "
					   "%s; it will be built again next "
					   "time",
				 l->spec->name, lfs_cache_path(opts->cache),
				 g_strerror(-err));
		}
	}
	fd = memfd_create("layerfs-index", MFD_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (err == 0)
		err = lfs_index_builder_write(b, opts->lg, l->spec->name, seek,
					      &m, fd);
	if (err == 0)
		err = lfs_index_file_adopt(fd, &l->index);
	if (err < 0)
		return lfs_fail(error, -err, "%s: cannot lay out its index: %s",
				l->spec->name, g_strerror(-err));
	return TRUE;
}

static gboolean build_index(struct lfs_layer *l,
			    const struct lfs_layer_options *opts,
			    const struct lfs_blob_id *id, GError **error)
{
	uint64_t span = opts->span ? opts->span : LFS_SEEK_SPAN_DEFAULT;
	struct lfs_index_builder *b = lfs_index_builder_new();
	struct lfs_seek_recorder *rec = lfs_seek_recorder_new(span);
	struct lfs_index *seek = g_new0(struct lfs_index, 1);
	gboolean ok;

	/* The members' attributes wait in the cache's file system, not in
	 * memory, while the layer is scanned. */
	if (opts->cache)
		lfs_index_builder_set_spill(b,
					    lfs_cache_index_dir(opts->cache));
	ok = scan_tar(l, opts, b, rec, error);
	if (ok) {
		lfs_seek_recorder_finish(rec, seek);
		ok = write_index(l, opts, b, seek, id, error);
	}
	lfs_index_free(seek);
	lfs_seek_recorder_free(rec);
	lfs_index_builder_free(b);
	return ok;
}

static gboolean index_tar(struct lfs_layer *l,
			  const struct lfs_layer_options *opts,
			  GError **error)
{
	struct lfs_blob_id id;
	struct stat st;
	int lock = -1;
	gboolean ok;

	if (!open_stored(l, &id, &st, error))
		return FALSE;
	l->id = id;
	if (opts->cache) {
		l->cache_key = lfs_cache_key(l->spec, &st);
		if (load_cached(l, opts, &id))
			return TRUE;
		/* Another mount may be indexing it: wait for it, then look
		 * again, so the work is done once. */
		lock = lfs_cache_lock(opts->cache, l->cache_key);
		if (lock >= 0 && load_cached(l, opts, &id)) {
			lfs_cache_unlock(opts->cache, l->cache_key, lock);
			return TRUE;
		}
	}
	ok = build_index(l, opts, &id, error);
	if (opts->cache)
		lfs_cache_unlock(opts->cache, l->cache_key, lock);
	return ok;
}

static gboolean index_dir(struct lfs_layer *l,
			  const struct lfs_layer_options *opts,
			  GError **error)
{
	struct lfs_index_builder *b;
	gboolean ok;

	/* Directory layers are scanned on every mount: a directory can
	 * change anywhere below without its own mtime changing, so there
	 * is no cheap way to know a saved index is still right. */
	l->dirfd = open(l->spec->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return lfs_fail(error, errno, "%s: %s", l->spec->name,
				g_strerror(errno));
	b = lfs_index_builder_new();
	ok = lfs_dir_scan(l->dirfd, b, opts->lg, l->spec->name, error);
	if (ok) {
		l->index = lfs_index_builder_finish(b, opts->lg,
						    l->spec->name);
		if (!l->index)
			ok = lfs_fail(error, ENOMEM, "%s: cannot lay out its "
					  "index (see above)",
				      l->spec->name);
	}
	lfs_index_builder_free(b);
	return ok;
}

gboolean lfs_layer_open(const struct lfs_layer_spec *spec,
			const struct lfs_layer_options *opts,
			struct lfs_layer **out, GError **error)
{
	struct lfs_layer *l = g_new0(struct lfs_layer, 1);
	gboolean ok;

	l->spec = spec;
	l->dirfd = -1;
	ok = spec->kind == LFS_LAYER_DIR ? index_dir(l, opts, error)
					 : index_tar(l, opts, error);
	if (!ok) {
		lfs_layer_free(l);
		return FALSE;
	}
	*out = l;
	return TRUE;
}

void lfs_layer_free(struct lfs_layer *l)
{
	if (!l)
		return;
	lfs_index_free(l->index);
	lfs_blob_close(l->stored);
	if (l->dirfd >= 0)
		close(l->dirfd);
	g_free(l->cache_key);
	g_free(l->unsaved);
	g_free(l);
}

int lfs_layer_verify_stored(const struct lfs_layer *l)
{
	return verify_stored(l, NULL);
}

int lfs_layer_open_file(const struct lfs_layer *l, uint32_t i)
{
	g_autofree char *rel = lfs_index_path(l->index, i);
	lfs_autofd fd = -1;
	struct stat st;

	if (l->dirfd < 0)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO put in the file's place must not block us. */
	fd = lfs_open_beneath(l->dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	/* The directory may have changed since it was indexed: serve only a
	 * regular file, never a device or FIFO someone put in its place. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ESTALE;
	return g_steal_fd(&fd);
}
