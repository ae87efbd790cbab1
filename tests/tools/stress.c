/* stress: random reads and writes on files of a writable mount, every byte
 * checked against an in-memory model of what the file must hold
 * (t-write-stress); and, with --readers, many readers of a mount checked
 * against a reference tree (t-stress, scripts/stress).
 *
 *   stress [OPTIONS] MNT FILE...
 *	PROCS processes (fork) share out the FILEs (paths under MNT), each
 *	file owned by one of them, and make OPS random operations in all:
 *	pwrite/pwritev at random offsets and lengths (up to 256 KiB),
 *	ftruncate and truncate (shrink and grow), chmod (a file still below
 *	is then copied up with its metadata only; half the files below
 *	start so), pread checked against the model (through the read-write
 *	descriptor, a read-only one opened before the first write, and a
 *	fresh one), MAP_SHARED stores (with msync MS_SYNC, MS_ASYNC, or
 *	none) and mapped reads, fsync/fdatasync, close and reopen
 *	(sometimes O_TRUNC), O_APPEND writes, and now and then the whole
 *	file checked (half the time with its cached pages dropped first, so
 *	the daemon answers).  A FILE that exists starts from what the mount shows
 *	(read before the first write, through a read-only descriptor opened
 *	then and kept); one that does not is created.  At the end each file
 *	is checked whole through the old read-only descriptor and a fresh
 *	one.
 *
 *   stress --shared [OPTIONS] MNT FILE
 *	FILE exists below and has not been copied up: two writers write
 *	disjoint chunks of it (even and odd 128 KiB chunks) while two
 *	readers read it through descriptors opened read-only before either
 *	writer opened it (one buffered, whose pages are now and then
 *	dropped, one O_DIRECT).  A per-chunk sequence count (a seqlock in
 *	shared memory) tells a reader when no write to a chunk ran while it
 *	read it: then it must see every write that had returned, never the
 *	stale data from below.
 *
 *   stress --renames --stop FILE [--count FILE] MNT DIR OBJ...
 *	PROCS renamers, process N moving each OBJ between MNT/DIR/pN/A/OBJ
 *	and MNT/DIR/pN/B/OBJ.r (where it is now, at the start), by rename(2)
 *	or renameat2(RENAME_NOREPLACE), as fast as they can, until one
 *	fails: once FILE exists that is the end (t-write-crash makes it,
 *	then kills the daemon in the middle of the storm), before then a
 *	failure.  Every 100 ms the number of renames so far goes to the
 *	--count file.
 *
 *   stress --readers --ref REF --list FILE [--seconds S] [--progress S] MNT
 *	PROCS readers (fork) for S seconds (60), each taking random paths of
 *	FILE (one a line, relative to MNT and REF, as `find REF -printf
 *	'%P\n'` writes them) and doing one of: lstat (40%); open, fstat,
 *	perhaps POSIX_FADV_DONTNEED (so the daemon answers, not the page
 *	cache), and a pread of a random range or of the whole file, one
 *	byte past its end included (50%; a listing for a directory); a
 *	listing of the path's directory (10%).  Every answer is compared
 *	with REF's (mode, owner, nlink, mtime, a file's size, the bytes,
 *	the sorted names).  A failure is counted and the first five of each
 *	reader described; the run goes on.  Every --progress seconds a line
 *	of counts goes to stderr; at the end one line to stdout:
 *	"readers N seconds S ops N stats N reads N lists N bytes N errors N
 *	wrong_bytes N".  Exit status 1 if any error or wrong byte.
 *
 *   stress --verify STATE MNT
 *	Check every file STATE lists (as --state wrote it) on MNT: size and
 *	sha256; with --model-dir, a mismatch names its first offset.
 *
 * Options: --seed N (printed; random without), --procs N (4), --ops N
 * (100000, all processes together; --shared: writes per writer, 10000),
 * --state FILE (append "SHA256 SIZE PATH" for each file at the end),
 * --model-dir DIR (write each model there too, named by the path with
 * '/' as '%'), --max-size BYTES (4 MiB: files stay below it).
 *
 * A mismatch prints the seed, process, op number, file, offset, the
 * expected and the read bytes, and the process's last operations, and
 * the exit status is 1.  The same seed, PROCS, OPS and FILEs replay the
 * same operations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define MAX_LEN (256u * KIB)   /* the longest single write or read */
#define SHARED_CHUNK (128u * KIB)
#define NRING 24	       /* operations remembered for a report */

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- options and the process's identity ---- */

static uint64_t g_seed;
static int g_procs = 4;
static long g_ops = -1;
static size_t g_max = 4 * MIB;
static const char *g_mnt;
static const char *g_state;
static const char *g_model_dir;
static int g_me = -1;	 /* process number, -1 in the parent */
static long g_op;	 /* this process's operation number */
static char g_ring[NRING][200];
static unsigned g_ring_n;

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_ring[g_ring_n % NRING], sizeof(g_ring[0]), fmt, ap);
	va_end(ap);
	g_ring_n++;
}

static void dump_ring(void)
{
	unsigned first = g_ring_n > NRING ? g_ring_n - NRING : 0;

	fprintf(stderr, "stress: proc %d: its last operations:\n", g_me);
	for (unsigned i = first; i < g_ring_n; i++)
		fprintf(stderr, "stress:   %s\n", g_ring[i % NRING]);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt,
								  ...)
{
	va_list ap;

	fprintf(stderr, "stress: FAIL (seed %" PRIu64 ", proc %d, op %ld): ",
		g_seed, g_me, g_op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (g_me >= 0)
		dump_ring();
	exit(1);
}

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_init(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, n) (n > 0). */
static uint64_t below(struct rng *r, uint64_t n)
{
	return rnd(r) % n;
}

static void fill(struct rng *r, unsigned char *buf, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = rnd(r);

		memcpy(buf + i, &v, 8);
	}
	if (i < len) {
		uint64_t v = rnd(r);

		memcpy(buf + i, &v, len - i);
	}
}

/* A length: mostly small, sometimes up to MAX_LEN. */
static size_t rand_len(struct rng *r)
{
	uint64_t p = below(r, 100);

	if (p < 60)
		return 1 + below(r, 4 * KIB);
	if (p < 90)
		return 1 + below(r, 64 * KIB);
	return 1 + below(r, MAX_LEN);
}

/* ---- small I/O helpers ---- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = xmalloc(n);

	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* pread until @len bytes or the end of the file; -1 with errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void sha256_hex(const unsigned char *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, buf, len) || !EVP_DigestFinal_ex(c, md, &mdlen))
		die("sha256 failed");
	EVP_MD_CTX_free(c);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* A whole file into memory; -1 with errno. */
static int slurp(const char *path, int fd, unsigned char **out, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -1;
	buf = xmalloc((size_t)st.st_size + 1);
	n = pread_full(fd, buf, (size_t)st.st_size + 1, 0);
	if (n < 0) {
		free(buf);
		return -1;
	}
	if ((size_t)n != (size_t)st.st_size) {
		fprintf(stderr, "stress: %s: read %zd bytes, its size is %jd\n",
			path, n, (intmax_t)st.st_size);
		free(buf);
		errno = EIO;
		return -1;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* Hex of up to 16 bytes at @p, for a report. */
static void hex16(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && i < 16 && k + 3 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%02x", p[i]);
}

/* ---- the model ---- */

struct file {
	const char *path;	/* relative to the mount */
	char *full;		/* the path through the mount */
	unsigned char *model;	/* what the file must hold (g_max bytes) */
	size_t size;
	unsigned char *orig;	/* what it held at the start */
	size_t orig_size;
	int fd;			/* the O_RDWR descriptor, or -1 */
	int rofd;		/* O_RDONLY, opened before the first write */
	bool existed;		/* it was there at the start */
};

/* The bytes read at @off (@got, @n of them; @want_len wanted) against the
 * model.  @f->model is @f->size bytes long; @model may stand in for it
 * (the shared mode's copy). */
static void check_bytes(const struct file *f, const unsigned char *model,
			size_t size, uint64_t off, const unsigned char *got,
			size_t n, size_t want_len, const char *how)
{
	size_t expect = off >= size ? 0 : (size_t)min_sz(want_len, size - off);
	char eh[40], gh[40];

	for (size_t i = 0; i < n && i < expect; i++) {
		if (got[i] == model[off + i])
			continue;
		hex16(model + off + i, expect - i, eh, sizeof(eh));
		hex16(got + i, n - i, gh, sizeof(gh));
		if (f->orig && off + i < f->orig_size &&
		    memcmp(got + i, f->orig + off + i,
			   min_sz(min_sz(n, expect) - i,
				  f->orig_size - off - i)) == 0)
			fprintf(stderr, "stress: (the bytes read there are what "
					"the file held at the start)\n");
		die("%s: mismatch at offset %" PRIu64 " (%s, read of %zu at "
		    "%" PRIu64 "; file size %zu): expected %02x got %02x; "
		    "expected %s... got %s...",
		    f->path, off + i, how, want_len, off, size,
		    model[off + i], got[i], eh, gh);
	}
	if (n != expect)
		die("%s: %s of %zu at %" PRIu64 " returned %zu bytes, expected "
		    "%zu (file size %zu)",
		    f->path, how, want_len, off, n, expect, size);
}

static void fstat_size(const struct file *f, int fd, const char *how)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("%s: fstat (%s): %s", f->path, how, strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		die("%s: size %jd (fstat, %s), expected %zu", f->path,
		    (intmax_t)st.st_size, how, f->size);
}

/* Read [off, off + len) through @fd and check it. */
static void read_check(const struct file *f, int fd, uint64_t off, size_t len,
		       const char *how, unsigned char *buf)
{
	ssize_t n = pread_full(fd, buf, len, (off_t)off);

	if (n < 0)
		die("%s: pread (%s) of %zu at %" PRIu64 ": %s", f->path, how,
		    len, off, strerror(errno));
	check_bytes(f, f->model, f->size, off, buf, (size_t)n, len, how);
}

/* The whole file through @fd, its cached pages dropped first if @drop
 * (so the daemon answers, not the kernel's page cache). */
static void verify_whole(const struct file *f, int fd, bool drop,
			 const char *how, unsigned char *buf)
{
	if (drop)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	fstat_size(f, fd, how);
	for (uint64_t off = 0; off <= f->size; off += MAX_LEN)
		read_check(f, fd, off, MAX_LEN, how, buf);
}

/* A write of @len bytes at @off has returned: the model follows. */
static void apply(struct file *f, uint64_t off, const unsigned char *buf,
		  size_t len)
{
	if (off > f->size)
		memset(f->model + f->size, 0, off - f->size);
	memcpy(f->model + off, buf, len);
	if (off + len > f->size)
		f->size = off + len;
}

static void resize(struct file *f, size_t size)
{
	if (size > f->size)
		memset(f->model + f->size, 0, size - f->size);
	f->size = size;
}

static int rw_fd(struct file *f)
{
	if (f->fd < 0) {
		f->fd = open(f->full, O_RDWR | O_CLOEXEC);
		if (f->fd < 0)
			die("%s: open O_RDWR: %s", f->path, strerror(errno));
	}
	return f->fd;
}

/* An offset for a write of @len: anywhere in the file or a little past
 * its end, below g_max. */
static uint64_t rand_off(struct rng *r, const struct file *f, size_t len)
{
	size_t lim = min_sz(f->size + 64 * KIB, g_max - len);

	return below(r, lim + 1);
}

static void op_pwrite(struct rng *r, struct file *f, unsigned char *buf)
{
	size_t len = rand_len(r);
	uint64_t off = rand_off(r, f, len);
	int fd = rw_fd(f);
	ssize_t n;

	fill(r, buf, len);
	note("op %ld %s: pwrite %zu at %" PRIu64 " (size %zu)", g_op,
	     f->path, len, off, f->size);
	n = pwrite(fd, buf, len, (off_t)off);
	if (n != (ssize_t)len)
		die("%s: pwrite of %zu at %" PRIu64 " returned %zd: %s",
		    f->path, len, off, n, n < 0 ? strerror(errno) : "short");
	apply(f, off, buf, len);
}

static void op_pwritev(struct rng *r, struct file *f, unsigned char *buf)
{
	size_t len = rand_len(r);
	uint64_t off = rand_off(r, f, len);
	struct iovec iov[4];
	int k = 0, fd = rw_fd(f);
	size_t at = 0;
	ssize_t n;

	fill(r, buf, len);
	while (at < len && k < 4) {
		size_t l = k == 3 ? len - at : 1 + below(r, len - at);

		iov[k].iov_base = buf + at;
		iov[k].iov_len = l;
		at += l;
		k++;
	}
	note("op %ld %s: pwritev %zu in %d at %" PRIu64 " (size %zu)", g_op,
	     f->path, len, k, off, f->size);
	n = pwritev(fd, iov, k, (off_t)off);
	if (n != (ssize_t)len)
		die("%s: pwritev of %zu at %" PRIu64 " returned %zd: %s",
		    f->path, len, off, n, n < 0 ? strerror(errno) : "short");
	apply(f, off, buf, len);
}

static void op_truncate(struct rng *r, struct file *f, bool path)
{
	size_t size;

	if (below(r, 2) || f->size >= g_max - MAX_LEN)
		size = below(r, f->size + 1);
	else
		size = f->size + below(r, min_sz(512 * KIB,
						 g_max - MAX_LEN - f->size));
	if (path) {
		/* By name: a SETATTR with no open file. */
		note("op %ld %s: truncate(2) %zu (size %zu)", g_op, f->path,
		     size, f->size);
		if (truncate(f->full, (off_t)size) < 0)
			die("%s: truncate %zu: %s", f->path, size,
			    strerror(errno));
	} else {
		note("op %ld %s: ftruncate %zu (size %zu)", g_op, f->path,
		     size, f->size);
		if (ftruncate(rw_fd(f), (off_t)size) < 0)
			die("%s: ftruncate %zu: %s", f->path, size,
			    strerror(errno));
	}
	resize(f, size);
	if (below(r, 4) == 0)
		fstat_size(f, f->rofd, "after truncate");
}

/* A mode change: the copy-up of a file still below copies its metadata
 * only (metacopy=on); its data follows on the first write. */
static void op_chmod(struct rng *r, struct file *f)
{
	mode_t mode = below(r, 2) ? 0600 : 0644;

	note("op %ld %s: chmod %o", g_op, f->path, (unsigned)mode);
	if (chmod(f->full, mode) < 0)
		die("%s: chmod %o: %s", f->path, (unsigned)mode,
		    strerror(errno));
}

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* A MAP_SHARED window of the file: checked as mapped, then written. */
static void op_mmap(struct rng *r, struct file *f, unsigned char *buf,
		    bool write)
{
	size_t pg = page_size(), off, len, a, l;
	unsigned char *map;
	int fd = rw_fd(f), how;

	if (f->size == 0) {
		op_pwrite(r, f, buf);
		return;
	}
	off = below(r, f->size) / pg * pg;
	len = min_sz(f->size - off, rand_len(r));
	map = mmap(NULL, len, write ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, write ? fd : f->rofd, (off_t)off);
	if (map == MAP_FAILED)
		die("%s: mmap %zu at %zu: %s", f->path, len, off,
		    strerror(errno));
	note("op %ld %s: mmap %s %zu at %zu (size %zu)", g_op, f->path,
	     write ? "rw" : "ro", len, off, f->size);
	check_bytes(f, f->model, f->size, off, map, len, len, "mapped read");
	if (write) {
		a = below(r, len);
		l = 1 + below(r, len - a);
		fill(r, buf, l);
		how = (int)below(r, 10);
		note("op %ld %s:   store %zu at %zu, %s", g_op, f->path, l,
		     off + a,
		     how < 8 ? "msync MS_SYNC"
			     : how < 9 ? "msync MS_ASYNC" : "no msync");
		memcpy(map + a, buf, l);
		apply(f, off + a, buf, l);
		if (how < 9 && msync(map, len, how < 8 ? MS_SYNC : MS_ASYNC) < 0)
			die("%s: msync: %s", f->path, strerror(errno));
	}
	if (munmap(map, len) < 0)
		die("%s: munmap: %s", f->path, strerror(errno));
}

static void op_fsync(struct rng *r, struct file *f)
{
	bool data = below(r, 2);
	int fd = rw_fd(f);

	note("op %ld %s: %s", g_op, f->path, data ? "fdatasync" : "fsync");
	if ((data ? fdatasync(fd) : fsync(fd)) < 0)
		die("%s: %s: %s", f->path, data ? "fdatasync" : "fsync",
		    strerror(errno));
}

static void op_reopen(struct rng *r, struct file *f)
{
	bool trunc = below(r, 10) < 3;

	note("op %ld %s: close and open O_RDWR%s", g_op, f->path,
	     trunc ? "|O_TRUNC" : "");
	if (f->fd >= 0 && close(f->fd) < 0)
		die("%s: close: %s", f->path, strerror(errno));
	f->fd = open(f->full, O_RDWR | O_CLOEXEC | (trunc ? O_TRUNC : 0));
	if (f->fd < 0)
		die("%s: open O_RDWR%s: %s", f->path, trunc ? "|O_TRUNC" : "",
		    strerror(errno));
	if (trunc)
		resize(f, 0);
	fstat_size(f, f->fd, "after open");
}

static void op_append(struct rng *r, struct file *f, unsigned char *buf)
{
	int k = 1 + (int)below(r, 3);
	bool rdwr = below(r, 2);
	int fd = open(f->full, (rdwr ? O_RDWR : O_WRONLY) | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		die("%s: open O_APPEND: %s", f->path, strerror(errno));
	for (int i = 0; i < k; i++) {
		size_t len = rand_len(r);
		ssize_t n;

		if (f->size + len > g_max)
			break;
		fill(r, buf, len);
		note("op %ld %s: O_APPEND%s write %zu (size %zu)", g_op,
		     f->path, rdwr ? "|O_RDWR" : "", len, f->size);
		n = write(fd, buf, len);
		if (n != (ssize_t)len)
			die("%s: O_APPEND write of %zu returned %zd: %s",
			    f->path, len, n, n < 0 ? strerror(errno) : "short");
		apply(f, f->size, buf, len);
	}
	if (close(fd) < 0)
		die("%s: close (O_APPEND): %s", f->path, strerror(errno));
	if (f->fd >= 0)
		fstat_size(f, f->fd, "after O_APPEND writes");
}

/* A read of a random range: through the read-write descriptor (0), the
 * read-only one opened at the start (1), or a fresh one (2). */
static void op_read(struct rng *r, struct file *f, unsigned char *buf,
		    int which)
{
	static const char *const how[] = { "pread O_RDWR fd",
					   "pread fd opened at start",
					   "pread fresh O_RDONLY fd" };
	size_t len = rand_len(r);
	uint64_t off = below(r, f->size + 4 * KIB + 1);
	int fd = which == 0 ? rw_fd(f) : which == 1 ? f->rofd : -1;

	if (which == 2) {
		fd = open(f->full, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: open O_RDONLY: %s", f->path, strerror(errno));
	}
	note("op %ld %s: %s %zu at %" PRIu64 " (size %zu)", g_op, f->path,
	     how[which], len, off, f->size);
	read_check(f, fd, off, len, how[which], buf);
	if (which == 2 && close(fd) < 0)
		die("%s: close: %s", f->path, strerror(errno));
}

static void op_verify(struct rng *r, struct file *f, unsigned char *buf)
{
	bool drop = below(r, 2);
	int which = (int)below(r, 3);
	int fd = which == 0 ? rw_fd(f) : which == 1 ? f->rofd : -1;

	if (which == 2) {
		fd = open(f->full, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: open O_RDONLY: %s", f->path, strerror(errno));
	}
	note("op %ld %s: whole file via %s%s (size %zu)", g_op, f->path,
	     which == 0 ? "O_RDWR fd" : which == 1 ? "fd opened at start"
						    : "fresh fd",
	     drop ? ", pages dropped" : "", f->size);
	verify_whole(f, fd, drop, "whole-file check", buf);
	if (which == 2 && close(fd) < 0)
		die("%s: close: %s", f->path, strerror(errno));
}

/* ---- the end: state lines and model copies ---- */

static void save_model(const char *path, const unsigned char *buf,
		       size_t len)
{
	char line[4200], hex[65];
	int fd;

	if (g_state) {
		sha256_hex(buf, len, hex);
		snprintf(line, sizeof(line), "%s %zu %s\n", hex, len, path);
		fd = open(g_state, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0644);
		if (fd < 0 || write(fd, line, strlen(line)) !=
				      (ssize_t)strlen(line) ||
		    close(fd) < 0)
			die("%s: %s", g_state, strerror(errno));
	}
	if (g_model_dir) {
		char *name = strdup(path), *mp;

		if (!name)
			die("out of memory");
		for (char *p = name; *p; p++)
			if (*p == '/')
				*p = '%';
		mp = join(g_model_dir, name);
		fd = open(mp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
		    close(fd) < 0)
			die("%s: %s", mp, strerror(errno));
		free(mp);
		free(name);
	}
}

/* ---- one process of the random mode ---- */

static void file_start(struct file *f)
{
	size_t len;

	f->full = join(g_mnt, f->path);
	f->model = xmalloc(g_max);
	f->fd = -1;
	f->rofd = open(f->full, O_RDONLY | O_CLOEXEC);
	if (f->rofd >= 0) {
		/* Below (or already up): its content, before any write. */
		f->existed = true;
		if (slurp(f->full, f->rofd, &f->orig, &len) < 0)
			die("%s: reading it: %s", f->path, strerror(errno));
		if (len > g_max - MAX_LEN)
			die("%s: %zu bytes, more than --max-size allows",
			    f->path, len);
		f->orig_size = len;
		memcpy(f->model, f->orig, len);
		f->size = len;
		return;
	}
	if (errno != ENOENT)
		die("%s: open O_RDONLY: %s", f->path, strerror(errno));
	f->fd = open(f->full, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f->fd < 0)
		die("%s: create: %s", f->path, strerror(errno));
	f->rofd = open(f->full, O_RDONLY | O_CLOEXEC);
	if (f->rofd < 0)
		die("%s: open O_RDONLY: %s", f->path, strerror(errno));
	f->size = 0;
}

static int run_proc(struct file **own, int n, long ops)
{
	unsigned char *buf = xmalloc(MAX_LEN + 4 * KIB);
	struct rng r;

	rng_init(&r, g_seed, (uint64_t)g_me + 1);
	for (int i = 0; i < n; i++) {
		file_start(own[i]);
		/* Half the files below start with a metadata-only copy-up. */
		if (own[i]->existed && below(&r, 2))
			op_chmod(&r, own[i]);
	}
	for (g_op = 1; g_op <= ops; g_op++) {
		struct file *f = own[below(&r, (uint64_t)n)];
		uint64_t p = below(&r, 1000);

		if (p < 250)
			op_pwrite(&r, f, buf);
		else if (p < 300)
			op_pwritev(&r, f, buf);
		else if (p < 420)
			op_read(&r, f, buf, 0);
		else if (p < 500)
			op_read(&r, f, buf, 1);
		else if (p < 540)
			op_read(&r, f, buf, 2);
		else if (p < 590)
			op_truncate(&r, f, false);
		else if (p < 600)
			op_truncate(&r, f, true);
		else if (p < 680)
			op_mmap(&r, f, buf, true);
		else if (p < 700)
			op_mmap(&r, f, buf, false);
		else if (p < 710)
			op_fsync(&r, f);
		else if (p < 770)
			op_reopen(&r, f);
		else if (p < 850)
			op_append(&r, f, buf);
		else if (p < 860)
			op_verify(&r, f, buf);
		else if (p < 865)
			op_chmod(&r, f);
		else
			op_pwrite(&r, f, buf);
	}
	g_op = -1; /* the end */
	for (int i = 0; i < n; i++) {
		struct file *f = own[i];
		int fd;

		note("end %s: close, check whole file (size %zu)", f->path,
		     f->size);
		if (f->fd >= 0 && close(f->fd) < 0)
			die("%s: close: %s", f->path, strerror(errno));
		f->fd = -1;
		verify_whole(f, f->rofd, false, "final check, fd opened at start",
			     buf);
		fd = open(f->full, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: open O_RDONLY: %s", f->path, strerror(errno));
		verify_whole(f, fd, true, "final check, fresh fd, pages dropped",
			     buf);
		close(fd);
		verify_whole(f, f->rofd, true,
			     "final check, fd opened at start, pages dropped",
			     buf);
		close(f->rofd);
		save_model(f->path, f->model, f->size);
	}
	return 0;
}

/* ---- processes ---- */

/* Wait for every child; on the first failure, kill the rest.  Returns
 * how many failed. */
static int reap(pid_t *pids, int n)
{
	int failed = 0, left = n;

	while (left > 0) {
		int st;
		pid_t p = waitpid(-1, &st, 0);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (pids[i] != p)
				continue;
			pids[i] = 0;
			left--;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				break;
			failed++;
			if (WIFSIGNALED(st))
				fprintf(stderr, "stress: proc %d killed by "
						"signal %d\n",
					i, WTERMSIG(st));
			for (int j = 0; j < n; j++)
				if (pids[j] > 0)
					kill(pids[j], SIGKILL);
			break;
		}
	}
	return failed;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_random(char **paths, int nf)
{
	struct file *files = calloc((size_t)nf, sizeof(*files));
	int procs = g_procs < nf ? g_procs : nf;
	pid_t *pids = calloc((size_t)procs, sizeof(pid_t));
	long ops = g_ops < 0 ? 100000 : g_ops;
	double t0 = now();
	int failed;

	if (!files || !pids)
		die("out of memory");
	fprintf(stderr, "stress: seed %" PRIu64 ", %d processes, %ld "
			"operations, %d files\n",
		g_seed, procs, ops, nf);
	for (int i = 0; i < nf; i++)
		files[i].path = paths[i];
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			struct file *own[64];
			int n = 0;

			g_me = p;
			for (int i = p; i < nf && n < 64; i += procs)
				own[n++] = &files[i];
			/* _exit: a child shares the parent's memory, and a
			 * sanitizer build's leak check at exit() would count
			 * it as the child's. */
			_exit(run_proc(own, n,
				       ops / procs + (p < ops % procs ? 1 : 0)));
		}
	}
	failed = reap(pids, procs);
	free(pids);
	free(files);
	if (failed) {
		fprintf(stderr, "stress: FAILED (seed %" PRIu64 "): %d of %d "
				"processes\n",
			g_seed, failed, procs);
		return 1;
	}
	fprintf(stderr, "stress: %ld operations in %.1f s, every check "
			"passed\n",
		ops, now() - t0);
	return 0;
}

/* ---- the shared mode ---- */

struct shared {
	int go;		    /* readers that have read the file once */
	int writers_done;
	uint64_t writes;    /* writes returned */
	uint64_t checked;   /* reads checked against the model */
	uint64_t checked_up; /* ... of them after a write had returned */
	uint64_t retried;   /* reads a write overlapped: not checked */
	uint64_t seq[];	    /* per chunk: odd while a write runs */
};

static struct shared *g_sh;
static unsigned char *g_shmodel; /* the model, in shared memory */
static size_t g_nchunks;

static void chunk_range(size_t c, size_t size, size_t *start, size_t *len)
{
	*start = c * SHARED_CHUNK;
	*len = min_sz(SHARED_CHUNK, size - *start);
}

static void shared_writer(struct file *f, long writes)
{
	unsigned char *buf = xmalloc(SHARED_CHUNK);
	size_t pg = page_size();
	struct rng r;
	int fd;

	rng_init(&r, g_seed, 100 + (uint64_t)g_me);
	while (__atomic_load_n(&g_sh->go, __ATOMIC_SEQ_CST) < 2)
		usleep(1000);
	/* The first writer's open copies the file up. */
	fd = open(f->full, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("%s: open O_RDWR: %s", f->path, strerror(errno));
	for (g_op = 1; g_op <= writes; g_op++) {
		size_t mine = (g_nchunks - (size_t)g_me + 1) / 2;
		size_t c = (size_t)g_me + 2 * below(&r, mine), cs, cl, len, off;
		int kind = (int)below(&r, 100);
		ssize_t n;

		chunk_range(c, f->size, &cs, &cl);
		len = 1 + below(&r, min_sz(cl, rand_len(&r)));
		off = cs + below(&r, cl - len + 1);
		fill(&r, buf, len);
		note("op %ld %s: %s %zu at %zu (chunk %zu)", g_op, f->path,
		     kind < 85 ? "pwrite" : kind < 95 ? "mmap store+MS_SYNC"
						      : "pwrite+fdatasync",
		     len, off, c);
		__atomic_add_fetch(&g_sh->seq[c], 1, __ATOMIC_SEQ_CST);
		if (kind < 85 || kind >= 95) {
			n = pwrite(fd, buf, len, (off_t)off);
			if (n != (ssize_t)len)
				die("%s: pwrite of %zu at %zu returned %zd: %s",
				    f->path, len, off, n,
				    n < 0 ? strerror(errno) : "short");
			if (kind >= 95 && fdatasync(fd) < 0)
				die("%s: fdatasync: %s", f->path,
				    strerror(errno));
		} else {
			size_t moff = off / pg * pg, mlen = off + len - moff;
			unsigned char *map = mmap(NULL, mlen,
						  PROT_READ | PROT_WRITE,
						  MAP_SHARED, fd, (off_t)moff);

			if (map == MAP_FAILED)
				die("%s: mmap %zu at %zu: %s", f->path, mlen,
				    moff, strerror(errno));
			memcpy(map + (off - moff), buf, len);
			if (msync(map, mlen, MS_SYNC) < 0)
				die("%s: msync: %s", f->path, strerror(errno));
			munmap(map, mlen);
		}
		memcpy(g_shmodel + off, buf, len);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		__atomic_add_fetch(&g_sh->seq[c], 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&g_sh->writes, 1, __ATOMIC_SEQ_CST);
	}
	if (close(fd) < 0)
		die("%s: close: %s", f->path, strerror(errno));
	__atomic_add_fetch(&g_sh->writers_done, 1, __ATOMIC_SEQ_CST);
}

/* A reader through @fd, opened read-only before any writer opened the
 * file; @drop: drop its cached pages now and then. */
static void shared_reader(struct file *f, int fd, bool drop, const char *how)
{
	unsigned char *buf, *expect = xmalloc(f->size + 1);
	struct rng r;

	if (posix_memalign((void **)&buf, 4096, SHARED_CHUNK + 4096))
		die("out of memory");
	rng_init(&r, g_seed, 200 + (uint64_t)g_me);
	/* Once through, before the writers start: pages of the data below
	 * in the kernel's cache, and the daemon's descriptor below. */
	for (size_t off = 0; off <= f->size; off += SHARED_CHUNK) {
		ssize_t n = pread_full(fd, buf, SHARED_CHUNK, (off_t)off);

		if (n < 0)
			die("%s: pread (%s): %s", f->path, how, strerror(errno));
		check_bytes(f, f->orig, f->size, off, buf, (size_t)n,
			    SHARED_CHUNK, how);
	}
	__atomic_add_fetch(&g_sh->go, 1, __ATOMIC_SEQ_CST);
	for (g_op = 1;
	     __atomic_load_n(&g_sh->writers_done, __ATOMIC_SEQ_CST) < 2;
	     g_op++) {
		size_t c = below(&r, g_nchunks), cs, cl, off, len;
		uint64_t s1, s2, w;
		ssize_t n;

		chunk_range(c, f->size, &cs, &cl);
		if (below(&r, 2)) {
			off = cs;
			len = cl;
		} else {
			off = cs + below(&r, cl);
			len = 1 + below(&r, cs + cl - off);
		}
		s1 = __atomic_load_n(&g_sh->seq[c], __ATOMIC_SEQ_CST);
		if (s1 & 1) {
			__atomic_add_fetch(&g_sh->retried, 1, __ATOMIC_RELAXED);
			continue;
		}
		w = __atomic_load_n(&g_sh->writes, __ATOMIC_SEQ_CST);
		if (drop && below(&r, 4) == 0)
			posix_fadvise(fd, (off_t)off, (off_t)len,
				      POSIX_FADV_DONTNEED);
		note("op %ld %s: %s %zu at %zu (chunk %zu, seq %" PRIu64
		     ", %" PRIu64 " writes returned)",
		     g_op, f->path, how, len, off, c, s1, w);
		n = pread_full(fd, buf, len, (off_t)off);
		if (n < 0)
			die("%s: pread (%s) of %zu at %zu: %s", f->path, how,
			    len, off, strerror(errno));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		memcpy(expect + off, g_shmodel + off, len);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		s2 = __atomic_load_n(&g_sh->seq[c], __ATOMIC_SEQ_CST);
		if (s2 != s1) {
			__atomic_add_fetch(&g_sh->retried, 1, __ATOMIC_RELAXED);
			continue;
		}
		check_bytes(f, expect, f->size, off, buf, (size_t)n, len, how);
		__atomic_add_fetch(&g_sh->checked, 1, __ATOMIC_RELAXED);
		if (w)
			__atomic_add_fetch(&g_sh->checked_up, 1,
					   __ATOMIC_RELAXED);
	}
	/* The writers are done: the whole file, as the model has it. */
	g_op = -1;
	memcpy(expect, g_shmodel, f->size);
	for (int pass = 0; pass < 2; pass++) {
		if (pass && drop)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		for (size_t off = 0; off <= f->size; off += SHARED_CHUNK) {
			ssize_t n = pread_full(fd, buf, SHARED_CHUNK, (off_t)off);

			if (n < 0)
				die("%s: pread (%s): %s", f->path, how,
				    strerror(errno));
			check_bytes(f, expect, f->size, off, buf, (size_t)n,
				    SHARED_CHUNK, pass ? "final check, pages dropped"
						       : "final check");
		}
	}
}

static int run_shared(const char *path)
{
	struct file f = { .path = path };
	long writes = g_ops < 0 ? 10000 : g_ops;
	pid_t pids[4];
	unsigned char *buf;
	size_t shlen;
	int rofd, dfd, failed;
	double t0 = now();

	f.full = join(g_mnt, path);
	/* Both readers' descriptors, before any writer opens the file. */
	rofd = open(f.full, O_RDONLY | O_CLOEXEC);
	if (rofd < 0)
		die("%s: open O_RDONLY: %s", path, strerror(errno));
	dfd = open(f.full, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		fprintf(stderr, "stress: %s: no O_DIRECT (%s): both readers "
				"buffered\n",
			path, strerror(errno));
	if (slurp(path, rofd, &f.orig, &f.orig_size) < 0)
		die("%s: reading it: %s", path, strerror(errno));
	f.size = f.orig_size;
	f.fd = -1;
	if (f.size < 2 * SHARED_CHUNK)
		die("%s: %zu bytes; --shared needs at least %u", path, f.size,
		    2 * SHARED_CHUNK);
	g_nchunks = (f.size + SHARED_CHUNK - 1) / SHARED_CHUNK;
	shlen = sizeof(struct shared) + g_nchunks * sizeof(uint64_t) + f.size;
	g_sh = mmap(NULL, shlen, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	g_shmodel = (unsigned char *)&g_sh->seq[g_nchunks];
	memcpy(g_shmodel, f.orig, f.size);
	fprintf(stderr, "stress: seed %" PRIu64 ", shared %s (%zu bytes, %zu "
			"chunks): 2 writers x %ld writes, 2 readers\n",
		g_seed, path, f.size, g_nchunks, writes);
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] > 0)
			continue;
		g_me = p;
		if (p < 2)
			shared_writer(&f, writes);
		else if (p == 2)
			shared_reader(&f, rofd, true,
				      "pread, fd opened before copy-up");
		else
			shared_reader(&f, dfd >= 0 ? dfd : rofd, false,
				      dfd >= 0 ? "O_DIRECT pread, fd opened "
						 "before copy-up"
					       : "pread, fd opened before "
						 "copy-up");
		_exit(0); /* as in run_random() */
	}
	failed = reap(pids, 4);
	if (failed) {
		fprintf(stderr, "stress: FAILED (seed %" PRIu64 "): %d of 4 "
				"processes\n",
			g_seed, failed);
		free(f.orig);
		free(f.full);
		return 1;
	}
	/* A fresh descriptor, nothing cached. */
	{
		struct file v = f;
		int fd = open(f.full, O_RDONLY | O_CLOEXEC);

		v.model = g_shmodel;
		buf = xmalloc(MAX_LEN);
		if (fd < 0)
			die("%s: open O_RDONLY: %s", path, strerror(errno));
		verify_whole(&v, fd, true, "final check, fresh fd", buf);
		close(fd);
	}
	fprintf(stderr, "stress: %" PRIu64 " writes, %" PRIu64 " reads checked "
			"(%" PRIu64 " after a write had returned), %" PRIu64
			" overlapped a write, in %.1f s\n",
		g_sh->writes, g_sh->checked, g_sh->checked_up, g_sh->retried,
		now() - t0);
	if (g_sh->checked_up == 0)
		die("no read was checked after a write: the test proved "
		    "nothing");
	save_model(path, g_shmodel, f.size);
	free(buf);
	free(f.orig);
	free(f.full);
	return 0;
}

/* ---- --renames ---- */

/* Process g_me moves its objects (@objs, @nobj of them) between
 * DIR/pN/A/OBJ and DIR/pN/B/OBJ.r, with rename(2) or
 * renameat2(RENAME_NOREPLACE), until a rename fails: the end once @stop
 * exists (the daemon is being killed), else a failure.  *count: its
 * renames so far (shared memory). */
static void renamer(const char *dir, char **objs, int nobj, const char *stop,
		    uint64_t *count)
{
	char base[4096], a[4096], b[4096];
	bool *in_b = calloc((size_t)nobj, sizeof(bool));
	struct rng r;
	struct stat st;

	if (!in_b)
		die("out of memory");
	rng_init(&r, g_seed, 300 + (uint64_t)g_me);
	if ((size_t)snprintf(base, sizeof(base), "%s/%s/p%d", g_mnt, dir,
			     g_me) >= sizeof(base))
		die("path too long");
	for (int i = 0; i < nobj; i++) {
		if ((size_t)snprintf(a, sizeof(a), "%s/A/%s", base, objs[i]) >=
		    sizeof(a))
			die("path too long");
		in_b[i] = lstat(a, &st) < 0;
	}
	for (g_op = 1;; g_op++) {
		int i = (int)below(&r, (uint64_t)nobj);
		bool noreplace = below(&r, 2);
		int rc;

		if ((size_t)snprintf(a, sizeof(a), "%s/A/%s", base, objs[i]) >=
			    sizeof(a) ||
		    (size_t)snprintf(b, sizeof(b), "%s/B/%s.r", base,
				     objs[i]) >= sizeof(b))
			die("path too long");
		note("op %ld: rename%s %s -> %s", g_op,
		     noreplace ? "at2 NOREPLACE" : "", in_b[i] ? b : a,
		     in_b[i] ? a : b);
		if (noreplace)
			rc = renameat2(AT_FDCWD, in_b[i] ? b : a, AT_FDCWD,
				       in_b[i] ? a : b, RENAME_NOREPLACE);
		else
			rc = rename(in_b[i] ? b : a, in_b[i] ? a : b);
		if (rc < 0) {
			int err = errno;

			if (access(stop, F_OK) == 0)
				break; /* the daemon was killed */
			die("rename %s -> %s: %s", in_b[i] ? b : a,
			    in_b[i] ? a : b, strerror(err));
		}
		in_b[i] = !in_b[i];
		__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	}
}

/* stress --renames --stop FILE [--count FILE] MNT DIR OBJ...: PROCS
 * renamers; every 100 ms the total so far goes to the count file. */
static int run_renames(const char *stop, const char *countf, char *dir,
		       char **objs, int nobj)
{
	uint64_t *counts = mmap(NULL, 64 * sizeof(uint64_t),
				PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[64];
	int failed;

	if (counts == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	fprintf(stderr, "stress: seed %" PRIu64 ", %d renamers, %d objects "
			"each\n",
		g_seed, g_procs, nobj);
	for (int p = 0; p < g_procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			g_me = p;
			renamer(dir, objs, nobj, stop, &counts[p]);
			_exit(0); /* as in run_random() */
		}
	}
	if (countf) {
		/* Until the renamers end (the stop file, or a failure). */
		for (;;) {
			char tmp[4200], line[32];
			uint64_t sum = 0;
			int fd, alive = 0;

			for (int p = 0; p < g_procs; p++) {
				sum += __atomic_load_n(&counts[p],
						       __ATOMIC_RELAXED);
				alive += waitpid(pids[p], NULL, WNOHANG) == 0;
			}
			if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp",
					     countf) >= sizeof(tmp))
				die("path too long");
			snprintf(line, sizeof(line), "%" PRIu64 "\n", sum);
			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				  0644);
			if (fd < 0 || write(fd, line, strlen(line)) < 0 ||
			    close(fd) < 0 || rename(tmp, countf) < 0)
				die("%s: %s", countf, strerror(errno));
			if (alive < g_procs)
				break;
			usleep(100 * 1000);
		}
	}
	failed = reap(pids, g_procs);
	if (failed) {
		fprintf(stderr, "stress: FAILED (seed %" PRIu64 "): %d of %d "
				"renamers\n",
			g_seed, failed, g_procs);
		return 1;
	}
	{
		uint64_t sum = 0;

		for (int p = 0; p < g_procs; p++)
			sum += counts[p];
		fprintf(stderr, "stress: %" PRIu64 " renames\n", sum);
	}
	return 0;
}

/* ---- --readers ---- */

/* What one reader did, in memory shared with the parent, which adds them
 * up for the report.  Only the reader writes its own. */
struct rcount {
	uint64_t ops, stats, reads, lists, bytes, errors, wrong;
};

#define REPORT_MAX 5 /* failures a reader describes; the rest it counts */

static struct rcount *g_rc; /* one per reader */
static char **g_paths;	    /* the --list, relative to MNT and REF */
static size_t g_npaths;
static unsigned char *g_list; /* the text g_paths point into */
static const char *g_ref;

static void count(uint64_t *v, uint64_t n)
{
	__atomic_add_fetch(v, n, __ATOMIC_RELAXED);
}

static int g_described; /* failures this reader has described */

__attribute__((format(printf, 1, 0))) static void describe(const char *fmt,
							   va_list ap)
{
	if (++g_described > REPORT_MAX)
		return;
	fprintf(stderr, "stress: reader %d: ", g_me);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A call that failed or an answer that differs from the reference's:
 * counted, and described while they are few. */
__attribute__((format(printf, 2, 3))) static void rfail(struct rcount *c,
							const char *fmt, ...)
{
	va_list ap;

	count(&c->errors, 1);
	va_start(ap, fmt);
	describe(fmt, ap);
	va_end(ap);
}

/* Bytes read that differ from the reference's: counted, the read
 * described while they are few. */
__attribute__((format(printf, 3, 4))) static void
rwrong(struct rcount *c, uint64_t n, const char *fmt, ...)
{
	va_list ap;

	count(&c->wrong, n);
	va_start(ap, fmt);
	describe(fmt, ap);
	va_end(ap);
}

/* The list of paths, one a line, into g_paths (read once, before the
 * readers fork, so they share it). */
static void load_list(const char *list)
{
	int fd = open(list, O_RDONLY | O_CLOEXEC);
	unsigned char *buf;
	size_t len, n = 0;
	char *p, *end;

	if (fd < 0 || slurp(list, fd, &buf, &len) < 0)
		die("%s: %s", list, strerror(errno));
	close(fd);
	g_list = buf;
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	g_paths = xmalloc((n + 1) * sizeof(*g_paths));
	for (p = (char *)buf; *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if (end > p)
			g_paths[g_npaths++] = p;
		if (!*end)
			break;
		*end = '\0';
	}
	if (g_npaths == 0)
		die("%s: no paths", list);
}

/* Attributes the mount must show as the reference has them.  A
 * directory's size is its file system's own business. */
static void check_attrs(struct rcount *c, const char *p, const struct stat *a,
			const struct stat *b, const char *how)
{
	if (a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	    a->st_gid == b->st_gid && a->st_nlink == b->st_nlink &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    (S_ISDIR(b->st_mode) || a->st_size == b->st_size))
		return;
	rfail(c,
	      "%s: %s: mode %o uid %u gid %u nlink %ju size %jd mtime "
	      "%jd.%09ld; the reference: mode %o uid %u gid %u nlink %ju "
	      "size %jd mtime %jd.%09ld",
	      p, how, a->st_mode, a->st_uid, a->st_gid, (uintmax_t)a->st_nlink,
	      (intmax_t)a->st_size, (intmax_t)a->st_mtim.tv_sec,
	      a->st_mtim.tv_nsec, b->st_mode, b->st_uid, b->st_gid,
	      (uintmax_t)b->st_nlink, (intmax_t)b->st_size,
	      (intmax_t)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
}

static void reader_stat(struct rcount *c, const char *p, const char *m,
			const struct stat *ref)
{
	struct stat st;

	count(&c->stats, 1);
	if (lstat(m, &st) < 0)
		rfail(c, "%s: lstat: %s", p, strerror(errno));
	else
		check_attrs(c, p, &st, ref, "lstat");
}

/* Open, fstat, perhaps drop the file's cached pages (so the daemon
 * answers), and read a random range, or all of it, against the same
 * range of the reference. */
static void reader_read(struct rng *r, struct rcount *c, const char *p,
			const char *m, const char *ref, unsigned char *buf,
			unsigned char *want)
{
	uint64_t size, off, diff = 0, first = 0;
	size_t len;
	ssize_t n, w;
	struct stat st, rst;
	int fd, rfd;

	rfd = open(ref, O_RDONLY | O_CLOEXEC);
	if (rfd < 0 || fstat(rfd, &rst) < 0)
		die("reference %s: %s", ref, strerror(errno));
	count(&c->reads, 1);
	fd = open(m, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rfail(c, "%s: open: %s", p, strerror(errno));
		close(rfd);
		return;
	}
	if (fstat(fd, &st) < 0)
		rfail(c, "%s: fstat: %s", p, strerror(errno));
	else
		check_attrs(c, p, &st, &rst, "fstat");
	if (below(r, 2))
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	/* One byte past the end too: the read must stop there. */
	size = (uint64_t)rst.st_size;
	if (size < MAX_LEN || below(r, 4) == 0) {
		off = size < MAX_LEN ? 0 : below(r, size - MAX_LEN + 2);
		len = MAX_LEN;
	} else {
		off = below(r, size + 1);
		len = rand_len(r);
	}
	n = pread_full(fd, buf, len, (off_t)off);
	w = pread_full(rfd, want, len, (off_t)off);
	if (w < 0)
		die("reference %s: pread: %s", ref, strerror(errno));
	if (n < 0) {
		rfail(c, "%s: pread of %zu at %ju: %s", p, len, (uintmax_t)off,
		      strerror(errno));
		goto out;
	}
	count(&c->bytes, (uint64_t)n);
	for (ssize_t i = 0; i < n && i < w; i++) {
		if (buf[i] != want[i] && diff++ == 0)
			first = (uint64_t)i;
	}
	if (n != w)
		rfail(c,
		      "%s: pread of %zu at %ju: %zd bytes, the reference "
		      "%zd",
		      p, len, (uintmax_t)off, n, w);
	if (diff) {
		char got[40], exp[40];

		hex16(buf + first, (size_t)(n - (ssize_t)first), got,
		      sizeof(got));
		hex16(want + first, (size_t)(w - (ssize_t)first), exp,
		      sizeof(exp));
		rwrong(c, diff,
		       "%s: pread of %zu at %ju: %ju wrong bytes, the first "
		       "at %ju: %s, the reference %s",
		       p, len, (uintmax_t)off, (uintmax_t)diff,
		       (uintmax_t)(off + first), got, exp);
	}
out:
	close(fd);
	close(rfd);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's names, sorted, as one string ("a/b/c/"); NULL with
 * errno. */
static char *listing(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, *out;
	size_t n = 0, cap = 0, len = 1;

	if (!d)
		return NULL;
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				die("out of memory");
		}
		names[n] = strdup(e->d_name);
		if (!names[n])
			die("out of memory");
		len += strlen(names[n++]) + 1;
	}
	if (errno) {
		int err = errno;

		closedir(d);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		errno = err;
		return NULL;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	out = xmalloc(len);
	len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(names[i]);

		memcpy(out + len, names[i], k);
		out[len + k] = '/';
		len += k + 1;
		free(names[i]);
	}
	out[len] = '\0';
	free(names);
	return out;
}

static void reader_list(struct rcount *c, const char *p, const char *m,
			const char *ref)
{
	char *got, *want = listing(ref);

	if (!want)
		die("reference %s: %s", ref, strerror(errno));
	count(&c->lists, 1);
	got = listing(m);
	if (!got)
		rfail(c, "%s: listing: %s", p, strerror(errno));
	else if (strcmp(got, want) != 0)
		rfail(c, "%s: listed %zu bytes of names, the reference %zu", p,
		      strlen(got), strlen(want));
	free(got);
	free(want);
}

/* One reader until @deadline: 40% lstat, 50% reads (listings of
 * directories), 10% listings of the path's directory. */
static int run_reader(double deadline)
{
	struct rcount *c = &g_rc[g_me];
	unsigned char *buf = xmalloc(MAX_LEN), *want = xmalloc(MAX_LEN);
	struct rng r;

	rng_init(&r, g_seed, 300 + (uint64_t)g_me);
	for (g_op = 1; now() < deadline; g_op++) {
		const char *p = g_paths[below(&r, g_npaths)];
		char *m = join(g_mnt, p), *ref = join(g_ref, p);
		uint64_t kind = below(&r, 100);
		struct stat rst;

		if (lstat(ref, &rst) < 0)
			die("reference %s: %s", ref, strerror(errno));
		if (kind >= 90 && !S_ISDIR(rst.st_mode)) {
			/* The directory it is in. */
			char *slash = strrchr(m, '/');

			*strrchr(ref, '/') = '\0';
			if (slash)
				*slash = '\0';
		}
		if (kind < 40)
			reader_stat(c, p, m, &rst);
		else if (kind >= 90 || S_ISDIR(rst.st_mode))
			reader_list(c, p, m, ref);
		else if (S_ISREG(rst.st_mode))
			reader_read(&r, c, p, m, ref, buf, want);
		else
			reader_stat(c, p, m, &rst);
		count(&c->ops, 1);
		free(m);
		free(ref);
	}
	free(buf);
	free(want);
	/* The parent judges by the counts: a reader fails only by dying. */
	return 0;
}

static void sum_counts(int procs, struct rcount *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < procs; i++) {
		const struct rcount *c = &g_rc[i];

		t->ops += __atomic_load_n(&c->ops, __ATOMIC_RELAXED);
		t->stats += __atomic_load_n(&c->stats, __ATOMIC_RELAXED);
		t->reads += __atomic_load_n(&c->reads, __ATOMIC_RELAXED);
		t->lists += __atomic_load_n(&c->lists, __ATOMIC_RELAXED);
		t->bytes += __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
		t->errors += __atomic_load_n(&c->errors, __ATOMIC_RELAXED);
		t->wrong += __atomic_load_n(&c->wrong, __ATOMIC_RELAXED);
	}
}

/* stress --readers: PROCS readers for @seconds over every path of
 * @list, each checked against REF; a progress line every @every
 * seconds (0: none); the totals on standard output. */
static int run_readers(const char *list, double seconds, double every)
{
	pid_t *pids = calloc((size_t)g_procs, sizeof(pid_t));
	size_t shlen = (size_t)g_procs * sizeof(struct rcount);
	double t0 = now(), deadline = t0 + seconds, next = t0 + every;
	struct rcount t;
	int failed;

	if (!pids)
		die("out of memory");
	load_list(list);
	g_rc = mmap(NULL, shlen, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_rc == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	fprintf(stderr,
		"stress: seed %" PRIu64 ", %d readers, %.0f s, %zu "
		"paths\n",
		g_seed, g_procs, seconds, g_npaths);
	for (int p = 0; p < g_procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			g_me = p;
			_exit(run_reader(deadline));
		}
	}
	while (every > 0 && now() + every < deadline) {
		while (now() < next)
			usleep(100000);
		next += every;
		sum_counts(g_procs, &t);
		fprintf(stderr,
			"stress: %.0f s: %" PRIu64 " operations, %" PRIu64
			" errors, %" PRIu64 " wrong bytes\n",
			now() - t0, t.ops, t.errors, t.wrong);
	}
	/* reap(): a reader that died stops the others. */
	failed = reap(pids, g_procs);
	sum_counts(g_procs, &t);
	printf("readers %d seconds %.1f ops %" PRIu64 " stats %" PRIu64
	       " reads %" PRIu64 " lists %" PRIu64 " bytes %" PRIu64
	       " errors %" PRIu64 " wrong_bytes %" PRIu64 "\n",
	       g_procs, now() - t0, t.ops, t.stats, t.reads, t.lists, t.bytes,
	       t.errors, t.wrong);
	fflush(stdout);
	munmap(g_rc, shlen);
	free(pids);
	free(g_paths);
	free(g_list);
	if (failed || t.errors || t.wrong) {
		fprintf(stderr,
			"stress: readers FAILED (seed %" PRIu64 "): %" PRIu64
			" errors, %" PRIu64 " wrong bytes, %d readers "
			"failed\n",
			g_seed, t.errors, t.wrong, failed);
		return 1;
	}
	return 0;
}

/* ---- --verify ---- */

static int run_verify(const char *state)
{
	FILE *in = fopen(state, "re");
	char line[4200];
	int bad = 0, n = 0;

	if (!in)
		die("%s: %s", state, strerror(errno));
	while (fgets(line, sizeof(line), in)) {
		char want[65], got[65], *path, *full;
		size_t size, len;
		unsigned char *data;
		int pos = 0, fd;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%64s %zu %n", want, &size, &pos) != 2 || !pos)
			die("%s: bad line: %s", state, line);
		path = line + pos;
		full = join(g_mnt, path);
		n++;
		fd = open(full, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || slurp(path, fd, &data, &len) < 0) {
			fprintf(stderr, "stress: verify: %s: %s\n", path,
				strerror(errno));
			bad++;
			if (fd >= 0)
				close(fd);
			free(full);
			continue;
		}
		close(fd);
		sha256_hex(data, len, got);
		if (len != size || strcmp(got, want) != 0) {
			fprintf(stderr, "stress: verify: %s: size %zu sha256 %s, "
					"expected size %zu sha256 %s\n",
				path, len, got, size, want);
			bad++;
			if (g_model_dir) {
				char *name = strdup(path), *mp;
				unsigned char *model;
				size_t mlen, i;
				int mfd;

				for (char *p = name; p && *p; p++)
					if (*p == '/')
						*p = '%';
				mp = join(g_model_dir, name ? name : "");
				mfd = open(mp, O_RDONLY | O_CLOEXEC);
				if (mfd >= 0 &&
				    slurp(mp, mfd, &model, &mlen) == 0) {
					for (i = 0; i < len && i < mlen &&
						    data[i] == model[i];
					     i++)
						;
					fprintf(stderr, "stress: verify: %s: "
							"first difference at "
							"offset %zu: expected "
							"%02x got %02x\n",
						path, i,
						i < mlen ? model[i] : 0,
						i < len ? data[i] : 0);
					free(model);
				}
				if (mfd >= 0)
					close(mfd);
				free(mp);
				free(name);
			}
		}
		free(data);
		free(full);
	}
	fclose(in);
	if (bad) {
		fprintf(stderr, "stress: verify: %d of %d files wrong\n", bad,
			n);
		return 1;
	}
	fprintf(stderr, "stress: verify: %d files as the model has them\n", n);
	return 0;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: stress [--seed N] [--procs N] [--ops N] [--state FILE] "
		"[--model-dir DIR] [--max-size BYTES] MNT FILE...\n"
		"       stress --shared [--seed N] [--ops N] [--state FILE] MNT "
		"FILE\n"
		"       stress --verify STATE [--model-dir DIR] MNT\n"
		"       stress --renames --stop FILE [--count FILE] [--procs N] "
		"[--seed N] MNT DIR OBJ...\n"
		"       stress --readers --ref REF --list FILE [--procs N] "
		"[--seconds S] [--progress S] [--seed N] MNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "procs", required_argument, NULL, 'p' },
		{ "ops", required_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 'S' },
		{ "model-dir", required_argument, NULL, 'm' },
		{ "max-size", required_argument, NULL, 'M' },
		{ "shared", no_argument, NULL, 'h' },
		{ "verify", required_argument, NULL, 'v' },
		{ "renames", no_argument, NULL, 'r' },
		{ "stop", required_argument, NULL, 'x' },
		{ "count", required_argument, NULL, 'c' },
		{ "readers", no_argument, NULL, 'R' },
		{ "ref", required_argument, NULL, 'f' },
		{ "list", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 't' },
		{ "progress", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verify = NULL, *stop = NULL, *countf = NULL, *list = NULL;
	bool shared = false, seeded = false, renames = false, readers = false;
	double seconds = 60, every = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			g_seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'p':
			g_procs = atoi(optarg);
			break;
		case 'n':
			g_ops = atol(optarg);
			break;
		case 'S':
			g_state = optarg;
			break;
		case 'm':
			g_model_dir = optarg;
			break;
		case 'M':
			g_max = (size_t)strtoull(optarg, NULL, 0);
			break;
		case 'h':
			shared = true;
			break;
		case 'v':
			verify = optarg;
			break;
		case 'r':
			renames = true;
			break;
		case 'x':
			stop = optarg;
			break;
		case 'c':
			countf = optarg;
			break;
		case 'R':
			readers = true;
			break;
		case 'f':
			g_ref = optarg;
			break;
		case 'l':
			list = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'P':
			every = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || g_procs < 1 || g_procs > 64 ||
	    g_max < 4 * MAX_LEN)
		usage();
	g_mnt = argv[optind++];
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (verify) {
		if (optind != argc)
			usage();
		return run_verify(verify);
	}
	if (!seeded) {
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

		g_seed = splitmix(&x) % 1000000000u;
	}
	if (g_model_dir && mkdir(g_model_dir, 0755) < 0 && errno != EEXIST)
		die("%s: %s", g_model_dir, strerror(errno));
	if (readers) {
		if (!g_ref || !list || optind != argc || seconds <= 0)
			usage();
		return run_readers(list, seconds, every);
	}
	if (renames) {
		if (!stop || optind + 2 > argc)
			usage();
		return run_renames(stop, countf, argv[optind],
				   argv + optind + 1, argc - optind - 1);
	}
	if (shared) {
		if (optind + 1 != argc)
			usage();
		return run_shared(argv[optind]);
	}
	if (optind >= argc)
		usage();
	return run_random(argv + optind, argc - optind);
}
