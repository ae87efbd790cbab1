/* Unpacked copies of compressed layers (see unpack.h).  Lock order:
 * u->lock only; never held across I/O or decompression. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "layerfs/decomp.h"
#include "layerfs/seek_index.h"
#include "layerfs/unpack.h"

/* Bytes decompressed and written per step; readers waiting for bytes are
 * woken after every step. */
#define STEP (1u << 20)

struct lfs_unpack {
	struct lfs_layer *layer;
	struct lfs_cache *cache;
	struct lfs_workers *workers;
	const struct lfs_logger *lg;
	char *name;		 /* KEY.tar */
	/* The job's own state, kept here so it can resume on another
	 * thread after a hurry: */
	struct lfs_decomp *d;
	struct lfs_sum_check *check; /* NULL: the index has no checksums */
	unsigned char *buf;
	GMutex lock;
	GCond grew;
	/* Protected by lock: */
	enum lfs_unpack_state state;
	int fd;			 /* the copy; -1 before it starts */
	uint64_t have;		 /* bytes written from the start */
	struct lfs_job *job;
	unsigned int readers;	 /* preads of fd under way */
	gint read_warned;	 /* atomic: a read of the copy failed */
};

/* A complete copy left by an earlier mount: the right name and size. */
static int open_published(struct lfs_unpack *u)
{
	int fd = openat(lfs_cache_unpacked_dir(u->cache), u->name,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != u->layer->tar_size) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

struct lfs_unpack *lfs_unpack_new(struct lfs_layer *l, struct lfs_cache *c,
				  struct lfs_workers *w,
				  const struct lfs_logger *lg)
{
	struct lfs_unpack *u;

	if (!c || !l->stored || !l->cache_key || l->comp == LFS_COMP_NONE)
		return NULL;
	u = g_new0(struct lfs_unpack, 1);
	u->layer = l;
	u->cache = c;
	u->workers = w;
	u->lg = lg;
	u->name = g_strdup_printf("%s.tar", l->cache_key);
	u->fd = open_published(u);
	if (u->fd >= 0) {
		u->state = LFS_UNPACK_DONE;
		u->have = l->tar_size;
	}
	g_mutex_init(&u->lock);
	g_cond_init(&u->grew);
	return u;
}

void lfs_unpack_free(struct lfs_unpack *u)
{
	if (!u)
		return;
	if (u->job) {
		lfs_job_cancel(u->job);
		lfs_job_wait(u->job);
		lfs_job_unref(u->job);
	}
	lfs_decomp_free(u->d);
	lfs_sum_check_free(u->check);
	g_free(u->buf);
	if (u->fd >= 0)
		close(u->fd);
	g_cond_clear(&u->grew);
	g_mutex_clear(&u->lock);
	g_free(u->name);
	g_free(u);
}

/* End the unpack: DONE, or FAILED with the copy dropped (an unnamed file
 * vanishes, and gives its space back, with its last descriptor). */
static void finish(struct lfs_unpack *u, bool ok)
{
	int fd = -1;

	g_mutex_lock(&u->lock);
	u->state = ok ? LFS_UNPACK_DONE : LFS_UNPACK_FAILED;
	g_cond_broadcast(&u->grew);
	if (!ok) {
		/* FAILED lets no new reader at the descriptor; wait out
		 * those under way, so the number is not reused under them. */
		while (u->readers)
			g_cond_wait(&u->grew, &u->lock);
		fd = u->fd;
		u->fd = -1;
	}
	g_mutex_unlock(&u->lock);
	if (fd >= 0)
		close(fd);
	lfs_decomp_free(u->d);
	u->d = NULL;
	g_clear_pointer(&u->check, lfs_sum_check_free);
	g_clear_pointer(&u->buf, g_free);
}

/* Why a copy is dropped when its bytes differ from the checksums. */
#define CHANGED                                                          \
	"its bytes differ from the checksums recorded when it was indexed " \
	"(it changed since, or the disk returned other bytes)"

static void fail(struct lfs_unpack *u, const char *what, int err)
{
	lfs_warn(u->lg, "%s: cannot unpack it into %s: %s%s%s; reads go on "
			"from the compressed layer",
		 u->layer->spec->name, lfs_cache_path(u->cache), what,
		 err ? ": " : "", err ? g_strerror(err) : "");
	finish(u, false);
}

/* Room for the copy and the reserve on the cache's file system? */
static bool room(struct lfs_unpack *u)
{
	struct statvfs sv;
	uint64_t need = u->layer->tar_size + LFS_UNPACK_RESERVE;

	if (fstatvfs(lfs_cache_unpacked_dir(u->cache), &sv) < 0)
		return true; /* cannot tell: writes will say */
	if ((uint64_t)sv.f_bavail * sv.f_frsize >= need)
		return true;
	lfs_warn(u->lg, "%s: not unpacked into %s: it needs %llu MiB and "
			"only %llu MiB are free (%u MiB are kept free); reads "
			"go on from the compressed layer",
		 u->layer->spec->name, lfs_cache_path(u->cache),
		 (unsigned long long)(u->layer->tar_size >> 20),
		 (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >>
				      20),
		 LFS_UNPACK_RESERVE >> 20);
	finish(u, false);
	return false;
}

/* The first step: the decompressor and the unnamed file. */
static bool begin(struct lfs_unpack *u)
{
	const char *why = NULL;
	int fd, err;

	if (!room(u))
		return false;
	err = lfs_decomp_new(u->layer->stored, u->layer->comp, NULL, &u->d,
			     &why);
	if (err < 0) {
		fail(u, why ? why : "decompressor", -err);
		return false;
	}
	fd = lfs_cache_tmpfile(u->cache);
	if (fd < 0) {
		fail(u, "temporary file", -fd);
		return false;
	}
	u->check = lfs_sum_check_new(u->layer->index);
	u->buf = g_malloc(STEP);
	g_mutex_lock(&u->lock);
	u->fd = fd;
	g_mutex_unlock(&u->lock);
	return true;
}

static int write_all(int fd, const unsigned char *buf, size_t len,
		     uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* One step: decompress and append.  Returns 1 to go on, 0 at the end of
 * the stream, -1 after a failure (logged). */
static int step(struct lfs_unpack *u)
{
	ssize_t n = lfs_decomp_read(u->d, u->buf, STEP);
	uint64_t at = lfs_decomp_out_bytes(u->d) - (n > 0 ? (uint64_t)n : 0);
	int err;

	if (n < 0) {
		fail(u, lfs_decomp_error(u->d), 0);
		return -1;
	}
	if (n == 0)
		return 0;
	if (at + (uint64_t)n > u->layer->tar_size) {
		fail(u, "the layer holds more than when it was indexed", 0);
		return -1;
	}
	err = write_all(u->fd, u->buf, (size_t)n, at);
	if (err < 0) {
		fail(u, "write", -err);
		return -1;
	}
	if (u->check && lfs_sum_check_feed(u->check, u->buf, (size_t)n) < 0) {
		fail(u, CHANGED, 0);
		return -1;
	}
	g_mutex_lock(&u->lock);
	/* Readers get only checked bytes: whole chunks, all of them at
	 * the end. */
	u->have = u->check ? lfs_sum_check_verified(u->check)
			   : at + (uint64_t)n;
	g_cond_broadcast(&u->grew);
	g_mutex_unlock(&u->lock);
	return 1;
}

/* The end: every byte there, on disk, then named for later mounts. */
static void complete(struct lfs_unpack *u)
{
	int err;

	if (lfs_decomp_out_bytes(u->d) != u->layer->tar_size) {
		fail(u, "the layer holds less than when it was indexed", 0);
		return;
	}
	if (u->check && lfs_sum_check_end(u->check) < 0) {
		fail(u, CHANGED, 0);
		return;
	}
	g_mutex_lock(&u->lock);
	u->have = u->layer->tar_size;
	g_mutex_unlock(&u->lock);
	if (fdatasync(u->fd) < 0) {
		fail(u, "flush", errno);
		return;
	}
	err = lfs_cache_publish(lfs_cache_unpacked_dir(u->cache), u->fd,
				u->name);
	/* Unnamed, the copy still serves this mount. */
	if (err < 0)
		lfs_warn(u->lg, "%s: cannot keep its unpacked copy in %s: %s",
			 u->layer->spec->name, lfs_cache_path(u->cache),
			 g_strerror(-err));
	/* Said before it is DONE: whoever waits for DONE sees the line
	 * in the log already, never after. */
	lfs_info(u->lg, "%s: unpacked into %s", u->layer->spec->name,
		 lfs_cache_path(u->cache));
	finish(u, true);
}

static enum lfs_job_result unpack_job(struct lfs_job *job, void *arg)
{
	struct lfs_unpack *u = arg;
	int r = 1;

	if (!u->d && !lfs_job_cancelled(job) && !begin(u))
		return LFS_JOB_DONE;
	while (r > 0) {
		if (lfs_job_cancelled(job)) {
			finish(u, false);
			return LFS_JOB_DONE;
		}
		if (lfs_job_should_hurry(job))
			return LFS_JOB_HURRY;
		r = step(u);
	}
	if (r == 0)
		complete(u);
	return LFS_JOB_DONE;
}

void lfs_unpack_start(struct lfs_unpack *u, enum lfs_work_prio prio)
{
	g_mutex_lock(&u->lock);
	if (u->state == LFS_UNPACK_NONE) {
		u->state = LFS_UNPACK_RUNNING;
		u->job = lfs_workers_submit(u->workers, prio, unpack_job, u,
					    NULL);
	} else if (u->state == LFS_UNPACK_RUNNING &&
		   prio == LFS_WORK_URGENT) {
		lfs_job_hurry(u->job);
	}
	g_mutex_unlock(&u->lock);
}

/* Whether the copy holds [off, off + len) (lock held). */
static bool holds(const struct lfs_unpack *u, size_t len, uint64_t off)
{
	return u->fd >= 0 &&
	       (u->state == LFS_UNPACK_DONE ||
		u->state == LFS_UNPACK_RUNNING) &&
	       off <= u->have && len <= u->have - off;
}

ssize_t lfs_unpack_pread(struct lfs_unpack *u, void *buf, size_t len,
			 uint64_t off, bool wait)
{
	int fd = -1;
	ssize_t n;

	if (wait)
		lfs_unpack_start(u, LFS_WORK_URGENT);
	g_mutex_lock(&u->lock);
	while (wait && u->state == LFS_UNPACK_RUNNING && !holds(u, len, off))
		g_cond_wait(&u->grew, &u->lock);
	if (holds(u, len, off)) {
		fd = u->fd;
		u->readers++;
	}
	g_mutex_unlock(&u->lock);
	if (fd < 0)
		return -EAGAIN;
	n = pread(fd, buf, len, (off_t)off);
	if (n < 0)
		n = -errno;
	else if ((size_t)n != len)
		n = -EIO;
	/* The cache's disk failing (a bad block in the copy): the caller
	 * reads the compressed layer instead, so no read fails for it, but
	 * the disk is worth a word, once.  The copy stays in use: its other
	 * blocks may read, and these may again. */
	if (n < 0 && g_atomic_int_compare_and_exchange(&u->read_warned, 0, 1))
		lfs_warn(u->lg, "%s: reading its unpacked copy in %s: %s; "
				"such reads go on from the compressed layer",
			 u->layer->spec->name, lfs_cache_path(u->cache),
			 g_strerror((int)-n));
	g_mutex_lock(&u->lock);
	if (--u->readers == 0)
		g_cond_broadcast(&u->grew);
	g_mutex_unlock(&u->lock);
	return n;
}

int lfs_unpack_map(struct lfs_unpack *u, size_t len, uint64_t off, int *fd,
		   uint64_t *pos)
{
	int err = -EAGAIN;

	g_mutex_lock(&u->lock);
	if (u->state == LFS_UNPACK_DONE && holds(u, len, off)) {
		*fd = u->fd;
		*pos = off;
		err = 0;
	}
	g_mutex_unlock(&u->lock);
	return err;
}

enum lfs_unpack_state lfs_unpack_wait(struct lfs_unpack *u)
{
	enum lfs_unpack_state st;

	g_mutex_lock(&u->lock);
	while (u->state == LFS_UNPACK_RUNNING)
		g_cond_wait(&u->grew, &u->lock);
	st = u->state;
	g_mutex_unlock(&u->lock);
	return st;
}

enum lfs_unpack_state lfs_unpack_state(struct lfs_unpack *u, uint64_t *have)
{
	enum lfs_unpack_state st;

	g_mutex_lock(&u->lock);
	st = u->state;
	if (have)
		*have = u->have;
	g_mutex_unlock(&u->lock);
	return st;
}
