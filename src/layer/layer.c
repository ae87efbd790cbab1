/* Opening and indexing a layer (see layer.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerfs/cleanup.h"
#include "layerfs/decomp.h"
#include "layerfs/dir_scan.h"
#include "layerfs/error.h"
#include "layerfs/fdutil.h"
#include "layerfs/layer.h"
#include "layerfs/tar_scan.h"

/* Chunk size handed to libarchive. */
#define SCAN_BUF_SIZE (1u << 20)

/* The indexing pass's plumbing: decompressor -> (digest of the tar stream,
 * cache copy) -> libarchive. */
struct feed {
	struct lfs_decomp *d;
	struct lfs_hasher *plain_hash; /* NULL unless a diff_id is checked */
	int tee_fd;		       /* cache copy, or -1 */
	uint64_t tee_stop;	       /* copy no stream bytes from here on */
	uint64_t tee_len;	       /* bytes in the cache copy */
	const char *cache_path;
	unsigned char *buf;
	char *error;
};

static int copy_to_cache(struct feed *f, uint64_t start, size_t n)
{
	size_t len;
	int err;

	if (f->tee_fd < 0 || start >= f->tee_stop)
		return 0;
	len = (size_t)MIN((uint64_t)n, f->tee_stop - start);
	err = lfs_write_full(f->tee_fd, f->buf, len);
	if (err < 0) {
		f->error = g_strdup_printf(
			"cache %s: writing the decompressed copy: %s",
			f->cache_path, g_strerror(-err));
		return err;
	}
	f->tee_len += len;
	return 0;
}

static ssize_t feed_read(void *ctx, const void **buf)
{
	struct feed *f = ctx;
	uint64_t start = lfs_decomp_out_bytes(f->d);
	ssize_t n = lfs_decomp_read(f->d, f->buf, SCAN_BUF_SIZE);
	int err;

	if (n < 0) {
		f->error = g_strdup(lfs_decomp_error(f->d));
		return n;
	}
	if (f->plain_hash && n > 0)
		lfs_hasher_update(f->plain_hash, f->buf, (size_t)n);
	err = copy_to_cache(f, start, (size_t)n);
	if (err < 0)
		return err;
	*buf = f->buf;
	return n;
}

static const char *feed_error(void *ctx)
{
	struct feed *f = ctx;

	return f->error ? f->error : "read error";
}

static gboolean check_digest(const struct lfs_layer_spec *spec,
			     struct lfs_hasher *h, const struct lfs_digest *want,
			     const char *what, GError **error)
{
	struct lfs_digest got;

	lfs_hasher_finish(h, &got);
	if (!lfs_digest_equal(&got, want)) {
		g_autofree char *ws = lfs_digest_to_string(want);
		g_autofree char *gs = lfs_digest_to_string(&got);

		return lfs_fail(error, EINVAL,
				"%s: %s mismatch: expected %s, content is %s",
				spec->name, what, ws, gs);
	}
	return TRUE;
}

/* After the tar end marker: read the rest of the stream so every stored
 * byte is hashed and a corrupt tail is still caught.  No entry's data lies
 * there, so the cache copy stops with the chunk that held the marker (at
 * most one scan buffer past it): a bomb of zeros appended after it costs
 * CPU time, not disk. */
static gboolean drain(struct feed *f, const struct lfs_layer_spec *spec,
		      GError **error)
{
	const void *buf;
	ssize_t n;

	f->tee_stop = lfs_decomp_out_bytes(f->d);
	while ((n = feed_read(f, &buf)) > 0)
		;
	if (n < 0)
		return lfs_fail(error, EIO, "%s: %s", spec->name, f->error);
	return TRUE;
}

static gboolean verify(struct lfs_layer *l, struct feed *f,
		       struct lfs_hasher *stored_hash, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;

	l->stored_size = lfs_decomp_in_bytes(f->d);
	l->tar_size = lfs_decomp_out_bytes(f->d);
	if (spec->size >= 0 && l->stored_size != (uint64_t)spec->size)
		return lfs_fail(error, EINVAL,
				"%s: size mismatch: expected %lld bytes, blob "
				"has %llu",
				spec->name, (long long)spec->size,
				(unsigned long long)l->stored_size);
	if (stored_hash && !check_digest(spec, stored_hash, &spec->digest,
					 "digest", error))
		return FALSE;
	if (f->plain_hash && !check_digest(spec, f->plain_hash,
					   &spec->diff_id, "diff_id", error))
		return FALSE;
	return TRUE;
}

static int new_hasher(bool want, enum lfs_digest_algo algo,
		      struct lfs_hasher **out)
{
	*out = NULL;
	return want ? lfs_hasher_new(algo, out) : 0;
}

static gboolean start_feed(struct lfs_layer *l, struct feed *f,
			   struct lfs_blob *blob, struct lfs_hasher *stored,
			   const struct lfs_layer_options *opts,
			   GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	const char *why = NULL;
	int err;

	err = lfs_decomp_new(blob, spec->compression, stored, &f->d, &why);
	if (err == -EINVAL || err == -ENOTSUP)
		return lfs_fail(error, -err, "%s: %s", spec->name, why);
	if (err < 0)
		return lfs_fail(error, -err, "%s: %s: %s", spec->name, why,
				g_strerror(-err));
	l->comp = lfs_decomp_compression(f->d);
	if (l->comp != LFS_COMP_NONE && opts->cache) {
		f->tee_fd = lfs_cache_tmpfile(opts->cache);
		f->cache_path = lfs_cache_path(opts->cache);
		if (f->tee_fd < 0)
			return lfs_fail(error, -f->tee_fd,
					"%s: cache %s: %s", spec->name,
					f->cache_path, g_strerror(-f->tee_fd));
	}
	f->buf = g_malloc(SCAN_BUF_SIZE);
	return TRUE;
}

/* Where reads find the tar stream: the blob itself when uncompressed, the
 * cache copy otherwise. */
static gboolean attach_data(struct lfs_layer *l, struct feed *f,
			    struct lfs_blob **blob, GError **error)
{
	int err;

	if (l->comp == LFS_COMP_NONE) {
		l->data = g_steal_pointer(blob);
		return TRUE;
	}
	if (f->tee_fd < 0)
		return TRUE;
	err = lfs_blob_open_fd(g_steal_fd(&f->tee_fd), 0, f->tee_len,
			       &l->data);
	if (err < 0)
		return lfs_fail(error, -err, "%s: cache copy: %s",
				l->spec->name, g_strerror(-err));
	return TRUE;
}

static gboolean index_tar(struct lfs_layer *l,
			  const struct lfs_layer_options *opts,
			  struct lfs_index_builder *b, GError **error)
{
	const struct lfs_layer_spec *spec = l->spec;
	g_autoptr(lfs_hasher) stored = NULL, plain = NULL;
	struct lfs_blob *blob = NULL;
	struct feed f = { .tee_fd = -1, .tee_stop = UINT64_MAX };
	struct lfs_tar_source src = { feed_read, feed_error, &f };
	gboolean ok = FALSE;
	int err;

	err = lfs_blob_open_file(spec->path, spec->offset, spec->length,
				 &blob);
	if (err < 0) {
		lfs_fail(error, -err, "%s: %s: %s", spec->name, spec->path,
			 err == -EINVAL ? "the file is shorter than the layer"
					: g_strerror(-err));
		goto out;
	}
	if (new_hasher(spec->has_digest, spec->digest.algo, &stored) < 0 ||
	    new_hasher(spec->has_diff_id, spec->diff_id.algo, &plain) < 0) {
		lfs_fail(error, ENOMEM, "%s: out of memory", spec->name);
		goto out;
	}
	f.plain_hash = plain;
	ok = start_feed(l, &f, blob, stored, opts, error) &&
	     lfs_tar_scan(&src, b, opts->lg, spec->name, error) &&
	     drain(&f, spec, error) && verify(l, &f, stored, error) &&
	     attach_data(l, &f, &blob, error);
out:
	lfs_blob_close(blob);
	lfs_decomp_free(f.d);
	lfs_closep(&f.tee_fd);
	g_free(f.buf);
	g_free(f.error);
	return ok;
}

static gboolean index_dir(struct lfs_layer *l,
			  const struct lfs_layer_options *opts,
			  struct lfs_index_builder *b, GError **error)
{
	l->dirfd = open(l->spec->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return lfs_fail(error, errno, "%s: %s", l->spec->name,
				g_strerror(errno));
	return lfs_dir_scan(l->dirfd, b, opts->lg, l->spec->name, error);
}

gboolean lfs_layer_open(const struct lfs_layer_spec *spec,
			const struct lfs_layer_options *opts,
			struct lfs_layer **out, GError **error)
{
	struct lfs_layer *l = g_new0(struct lfs_layer, 1);
	struct lfs_index_builder *b = lfs_index_builder_new();
	gboolean ok;

	l->spec = spec;
	l->dirfd = -1;
	ok = spec->kind == LFS_LAYER_DIR ? index_dir(l, opts, b, error)
					 : index_tar(l, opts, b, error);
	if (ok)
		l->index = lfs_index_builder_finish(b, opts->lg, spec->name);
	lfs_index_builder_free(b);
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
	lfs_blob_close(l->data);
	if (l->dirfd >= 0)
		close(l->dirfd);
	g_free(l);
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
		return -EIO;
	return g_steal_fd(&fd);
}
