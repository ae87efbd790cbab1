/* opscript: run a script of file system operations below a root directory
 * and print what each one answered, so two file systems (layerfs's writable
 * mount and kernel overlayfs over the same lower tree) compare with diff
 * (t-write-differential).
 *
 *   opscript ROOT < SCRIPT
 *
 * One op per line, words separated by blanks; empty lines and lines that
 * start with '#' are skipped.  A word may hold \s (space), \t, \n, \\ and
 * \xHH.  Each op prints one line: the line as read, " => ", then "0" or the
 * errno's name (ENOENT, EXDEV, ...), and for an op that reads something,
 * what it read, with blanks, bytes outside printable ASCII and '\' as
 * \xHH, so it stays one word.  Paths are relative to ROOT and may not hold
 * "..": every one is resolved with openat2(RESOLVE_IN_ROOT) from an O_PATH
 * fd of ROOT, so a symlink on the way (data/lnk-dir -> ../bin) resolves as
 * it would in a container and never leads outside ROOT.  Ops that act on a
 * name (mkdir, unlink, rename, chown, utimens, xattrs, ...) resolve its
 * parent that way and act on the last component itself, never following
 * it; ops that open (read, write, truncate, chmod, ls, ...) follow a final
 * symlink, inside ROOT.
 *
 * The ops:
 *   create PATH MODE            open O_CREAT|O_EXCL|O_WRONLY
 *   open_creat PATH MODE        open O_CREAT|O_WRONLY: an existing file is
 *                               opened, a final symlink followed (a
 *                               dangling one's target is made)
 *   write PATH OFF TEXT         pwrite
 *   append PATH TEXT            open O_APPEND, write
 *   truncate PATH SIZE          truncate(2) by path, no open file
 *   open_trunc PATH             open O_WRONLY|O_TRUNC
 *   read PATH                   size=N, then data=BYTES (up to 48) or
 *                               sha256=HEX (its first 16 digits)
 *   mkdir PATH MODE, rmdir PATH, unlink PATH
 *   symlink TARGET PATH, link OLD NEW, readlink PATH
 *   rename OLD NEW, rename_noreplace OLD NEW, rename_exchange A B
 *   chmod PATH MODE             (follows a final symlink, as chmod(2))
 *   chown PATH UID GID          lchown; -1 keeps one
 *   utimens PATH ASEC ANSEC MSEC MNSEC
 *                               no-follow; "now" or "omit" in either word
 *                               of a time is UTIME_NOW or UTIME_OMIT
 *   times PATH                  atime= mtime=, "now" for a time within ten
 *                               minutes of the clock (so runs compare)
 *   setxattr PATH NAME VALUE [create|replace], removexattr PATH NAME
 *   getxattr PATH NAME          the value, escaped
 *   listxattr PATH              the names, sorted
 *   mknod PATH fifo|sock|chr|blk MODE [MAJ MIN]
 *   stat PATH                   TYPE MODE UID:GID, and size= and nlink=
 *                               for all but directories (overlayfs gives a
 *                               merged directory nlink 1), rdev= for
 *                               devices; no inode numbers or times
 *   ls PATH                     the names, sorted bytewise
 *   ls_churn PATH BYTES unlink|rename|create
 *                               reads the directory with getdents64(2) in
 *                               buffers of BYTES and, after each, changes
 *                               every name it just read: unlinks it (rmdir
 *                               for a directory), renames it to NAME~, or
 *                               creates new-NAME beside it.  The names read
 *                               but for those it made (a name made or
 *                               removed after the open may or may not be
 *                               listed, POSIX says), sorted, a duplicate
 *                               twice, each change that failed as
 *                               NAME:ERRNO
 *   fallocate PATH OFF LEN [keep|punch]
 *   seek_data PATH OFF, seek_hole PATH OFF
 *   copy_range SRC DST LEN [SOFF DOFF]  copy_file_range; the bytes copied
 *   open SLOT PATH FLAGS [MODE] keeps a descriptor in SLOT (0 to 9) for the
 *                               f* ops; FLAGS: r, w or rw, then any of
 *                               creat, excl, trunc, append, dir, nofollow,
 *                               comma separated; MODE (for creat) 0644
 *   close SLOT
 *   fread SLOT OFF              as read, from OFF
 *   fwrite SLOT OFF TEXT        pwrite
 *   fstat SLOT                  as stat
 *   ftruncate SLOT SIZE, fchmod SLOT MODE, fchown SLOT UID GID, fsync SLOT
 *   fls SLOT                    as ls, from the start (a rewinddir: what
 *                               the directory holds now)
 *   umask MODE                  the umask for the ops that follow (0 at the
 *                               start: a script's modes are the modes
 *                               wanted)
 *   as UID GID                  the ops that follow run with these effective
 *                               ids and no supplementary groups (as 0 0
 *                               goes back to root: the saved id stays 0)
 *   mmap_write PATH OFF TEXT    MAP_SHARED store and msync; the range must
 *                               lie inside the file (EINVAL otherwise:
 *                               storing past the end would be SIGBUS)
 *
 * Exit status: 0 when every line was run (an op's failure is output, not
 * an error), 2 for a line that is not an op, 1 when ROOT cannot be opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define OS_MAX_WORDS 8
#define OS_SHOW_BYTES 48 /* read prints data up to this size */

/* What one op prints after " => 0", grown as needed. */
struct os_out {
	char *buf;
	size_t len, cap;
};

static int os_rootfd;
static int os_slots[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static unsigned long os_lineno;

static void os_put(struct os_out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf) {
			fprintf(stderr, "opscript: out of memory\n");
			exit(1);
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
os_printf(struct os_out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	os_put(o, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The script's own escapes, so any result stays one word on one line. */
static void os_put_escaped(struct os_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			os_printf(o, "\\x%02x", c);
		else
			os_put(o, (const char *)&c, 1);
	}
}

static void __attribute__((noreturn, format(printf, 1, 2)))
os_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "opscript: line %lu: ", os_lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Names, not strerror text: the text depends on the C library's locale and
 * version, the name is what a test means. */
#define OS_E(e)                                                                \
	{                                                                      \
		e, #e                                                          \
	}
static const char *os_errname(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
	    OS_E(EPERM),     OS_E(ENOENT),     OS_E(EIO),    OS_E(ENXIO),
	    OS_E(E2BIG),     OS_E(EBADF),      OS_E(ENOMEM), OS_E(EACCES),
	    OS_E(EFAULT),    OS_E(EBUSY),      OS_E(EEXIST), OS_E(EXDEV),
	    OS_E(ENODEV),    OS_E(ENOTDIR),    OS_E(EISDIR), OS_E(EINVAL),
	    OS_E(ETXTBSY),   OS_E(EFBIG),      OS_E(ENOSPC), OS_E(ESPIPE),
	    OS_E(EROFS),     OS_E(EMLINK),     OS_E(ERANGE), OS_E(ENAMETOOLONG),
	    OS_E(ENOSYS),    OS_E(ENOTEMPTY),  OS_E(ELOOP),  OS_E(ENODATA),
	    OS_E(EOVERFLOW), OS_E(EOPNOTSUPP), OS_E(ESTALE), OS_E(EDQUOT),
	};
	static char other[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", err);
	return other;
}

/* In place: a word's escapes to its bytes; returns the length (a value may
 * hold a NUL). */
static size_t os_unescape(char *w)
{
	char *in = w, *out = w;

	while (*in) {
		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 's':
			*out++ = ' ';
			break;
		case 't':
			*out++ = '\t';
			break;
		case 'n':
			*out++ = '\n';
			break;
		case '\\':
			*out++ = '\\';
			break;
		case 'x': {
			char hex[3] = {0};
			char *end;

			if (!in[1] || !in[2])
				os_die("short \\x escape");
			hex[0] = in[1];
			hex[1] = in[2];
			*out++ = (char)strtoul(hex, &end, 16);
			if (*end)
				os_die("bad \\x escape");
			in += 2;
			break;
		}
		default:
			os_die("unknown escape \\%c", *in ? *in : '0');
		}
		in++;
	}
	*out = '\0';
	return out - w;
}

static long long os_num(const char *w, int base)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(w, &end, base);
	if (errno || !*w || *end)
		os_die("bad number %s", w);
	return v;
}

/* Relative, no "..": the script may not name anything outside ROOT even
 * before RESOLVE_IN_ROOT would clamp it, so a typo cannot look like a
 * result. */
static void os_check_path(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/')
		os_die("path %s: want a relative path", p);
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			os_die("path %s: no .. allowed", p);
		c += n;
		if (*c == '/')
			c++;
	}
	if (p[strlen(p) - 1] == '/')
		os_die("path %s: no trailing slash", p);
}

static int os_resolve(const char *path, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, os_rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* The parent of @path as an O_PATH fd, and its last component in @base
 * (pointing into @path), for the ops that act on a name. */
static int os_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (!slash) {
		*base = path;
		return os_resolve(".", O_PATH | O_DIRECTORY, 0);
	}
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	*base = slash + 1;
	return os_resolve(dir, O_PATH | O_DIRECTORY, 0);
}

/* A path the kernel resolves to exactly the file @fd holds (an O_PATH fd
 * may be a symlink, which the *xattr and truncate calls then act on),
 * plus an optional last component below it. */
static void os_proc_path(char *buf, size_t size, int fd, const char *base)
{
	if (base)
		snprintf(buf, size, "/proc/self/fd/%d/%s", fd, base);
	else
		snprintf(buf, size, "/proc/self/fd/%d", fd);
}

static int os_close_err(int fd, int err)
{
	if (fd >= 0)
		close(fd);
	return err;
}

static int os_write_all(int fd, const char *buf, size_t n, off_t off,
			bool positioned)
{
	while (n) {
		ssize_t w =
		    positioned ? pwrite(fd, buf, n, off) : write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		buf += w;
		n -= w;
		off += w;
	}
	return 0;
}

typedef int os_fn(char **w, size_t *len, struct os_out *o);

static int op_create(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_CREAT | O_EXCL | O_WRONLY, os_num(w[2], 8));

	(void)len, (void)o;
	return fd < 0 ? fd : os_close_err(fd, 0);
}

static int op_open_creat(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_CREAT | O_WRONLY, os_num(w[2], 8));

	(void)len, (void)o;
	return fd < 0 ? fd : os_close_err(fd, 0);
}

static int op_write(char **w, size_t *len, struct os_out *o)
{
	off_t off = os_num(w[2], 0);
	int fd = os_resolve(w[1], O_WRONLY, 0);

	(void)o;
	if (fd < 0)
		return fd;
	return os_close_err(fd, os_write_all(fd, w[3], len[3], off, true));
}

static int op_append(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_WRONLY | O_APPEND, 0);

	(void)o;
	if (fd < 0)
		return fd;
	return os_close_err(fd, os_write_all(fd, w[2], len[2], 0, false));
}

/* By path, not ftruncate: a setattr with no open file, which has to copy
 * the file up by itself. */
static int op_truncate(char **w, size_t *len, struct os_out *o)
{
	off_t size = os_num(w[2], 0);
	int fd = os_resolve(w[1], O_PATH, 0);
	char p[64];

	(void)len, (void)o;
	if (fd < 0)
		return fd;
	os_proc_path(p, sizeof(p), fd, NULL);
	return os_close_err(fd, truncate(p, size) < 0 ? -errno : 0);
}

static int op_open_trunc(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_WRONLY | O_TRUNC, 0);

	(void)len, (void)o;
	return fd < 0 ? fd : os_close_err(fd, 0);
}

/* What @fd holds from @off to its end, as read prints it. */
static int os_read_fd(int fd, off_t off, struct os_out *o)
{
	static char buf[1 << 16];
	char head[OS_SHOW_BYTES];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t total = 0;
	int err = 0;

	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off + total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (total < sizeof(head))
			memcpy(head + total, buf,
			       (size_t)n < sizeof(head) - total
				   ? (size_t)n
				   : sizeof(head) - total);
		EVP_DigestUpdate(ctx, buf, n);
		total += n;
	}
	if (!err && !EVP_DigestFinal_ex(ctx, md, &mdlen))
		err = -EIO;
	EVP_MD_CTX_free(ctx);
	if (err)
		return err;
	os_printf(o, "size=%zu ", total);
	if (total <= sizeof(head)) {
		os_put(o, "data=", 5);
		os_put_escaped(o, head, total);
	} else {
		os_put(o, "sha256=", 7);
		for (unsigned int i = 0; i < 8 && i < mdlen; i++)
			os_printf(o, "%02x", md[i]);
	}
	return 0;
}

static int op_read(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_RDONLY, 0);

	(void)len;
	if (fd < 0)
		return fd;
	return os_close_err(fd, os_read_fd(fd, 0, o));
}

static int op_mkdir(char **w, size_t *len, struct os_out *o)
{
	const char *base;
	mode_t mode = os_num(w[2], 8);
	int pfd = os_parent(w[1], &base);

	(void)len, (void)o;
	if (pfd < 0)
		return pfd;
	return os_close_err(pfd, mkdirat(pfd, base, mode) < 0 ? -errno : 0);
}

static int os_unlink(const char *path, int flags)
{
	const char *base;
	int pfd = os_parent(path, &base);

	if (pfd < 0)
		return pfd;
	return os_close_err(pfd, unlinkat(pfd, base, flags) < 0 ? -errno : 0);
}

static int op_rmdir(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_unlink(w[1], AT_REMOVEDIR);
}

static int op_unlink(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_unlink(w[1], 0);
}

static int op_symlink(char **w, size_t *len, struct os_out *o)
{
	const char *base;
	int pfd = os_parent(w[2], &base);

	(void)len, (void)o;
	if (pfd < 0)
		return pfd;
	return os_close_err(pfd, symlinkat(w[1], pfd, base) < 0 ? -errno : 0);
}

/* Two names, each by its parent: link and the renames. */
static int os_two(const char *a, const char *b, unsigned int flags,
		  bool is_link)
{
	const char *ba, *bb;
	int pa, pb, r;

	pa = os_parent(a, &ba);
	if (pa < 0)
		return pa;
	pb = os_parent(b, &bb);
	if (pb < 0)
		return os_close_err(pa, pb);
	if (is_link)
		r = linkat(pa, ba, pb, bb, 0);
	else
		r = renameat2(pa, ba, pb, bb, flags);
	r = r < 0 ? -errno : 0;
	close(pb);
	return os_close_err(pa, r);
}

static int op_link(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_two(w[1], w[2], 0, true);
}

static int op_rename(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_two(w[1], w[2], 0, false);
}

static int op_rename_noreplace(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_two(w[1], w[2], RENAME_NOREPLACE, false);
}

static int op_rename_exchange(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return os_two(w[1], w[2], RENAME_EXCHANGE, false);
}

static int op_readlink(char **w, size_t *len, struct os_out *o)
{
	char buf[PATH_MAX];
	const char *base;
	int pfd = os_parent(w[1], &base);
	ssize_t n;

	(void)len;
	if (pfd < 0)
		return pfd;
	n = readlinkat(pfd, base, buf, sizeof(buf));
	if (n < 0)
		return os_close_err(pfd, -errno);
	os_put_escaped(o, buf, n);
	return os_close_err(pfd, 0);
}

/* chmod(2) follows a final symlink (Linux has no lchmod); the O_PATH fd
 * holds what it leads to inside ROOT. */
static int op_chmod(char **w, size_t *len, struct os_out *o)
{
	mode_t mode = os_num(w[2], 8);
	int fd = os_resolve(w[1], O_PATH, 0);
	char p[64];

	(void)len, (void)o;
	if (fd < 0)
		return fd;
	os_proc_path(p, sizeof(p), fd, NULL);
	return os_close_err(fd, chmod(p, mode) < 0 ? -errno : 0);
}

static int op_chown(char **w, size_t *len, struct os_out *o)
{
	uid_t uid = os_num(w[2], 10);
	gid_t gid = os_num(w[3], 10);
	const char *base;
	int pfd = os_parent(w[1], &base);

	(void)len, (void)o;
	if (pfd < 0)
		return pfd;
	return os_close_err(
	    pfd, fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
									: 0);
}

static void os_time(const char *sec, const char *nsec, struct timespec *ts)
{
	if (!strcmp(sec, "now") || !strcmp(nsec, "now")) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
	} else if (!strcmp(sec, "omit") || !strcmp(nsec, "omit")) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
	} else {
		ts->tv_sec = os_num(sec, 10);
		ts->tv_nsec = os_num(nsec, 10);
	}
}

static int op_utimens(char **w, size_t *len, struct os_out *o)
{
	struct timespec ts[2];
	const char *base;
	int pfd;

	(void)len, (void)o;
	os_time(w[2], w[3], &ts[0]);
	os_time(w[4], w[5], &ts[1]);
	pfd = os_parent(w[1], &base);
	if (pfd < 0)
		return pfd;
	return os_close_err(
	    pfd,
	    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0);
}

static void os_put_time(struct os_out *o, const char *what,
			const struct timespec *ts, time_t now)
{
	if (ts->tv_sec > now - 600 && ts->tv_sec < now + 600)
		os_printf(o, "%s=now", what);
	else
		os_printf(o, "%s=%lld.%09ld", what, (long long)ts->tv_sec,
			  ts->tv_nsec);
}

static int op_times(char **w, size_t *len, struct os_out *o)
{
	const char *base;
	struct stat st;
	int pfd = os_parent(w[1], &base);

	(void)len;
	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return os_close_err(pfd, -errno);
	os_put_time(o, "atime", &st.st_atim, time(NULL));
	os_put(o, " ", 1);
	os_put_time(o, "mtime", &st.st_mtim, time(NULL));
	return os_close_err(pfd, 0);
}

static const char *os_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "reg";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "lnk";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	}
	return "unknown";
}

static void os_put_stat(struct os_out *o, const struct stat *st)
{
	os_printf(o, "%s %04o %u:%u", os_type(st->st_mode), st->st_mode & 07777,
		  st->st_uid, st->st_gid);
	/* A directory's size is the backing file system's business, and
	 * overlayfs reports nlink 1 for a merged one. */
	if (!S_ISDIR(st->st_mode))
		os_printf(o, " size=%lld nlink=%lu", (long long)st->st_size,
			  (unsigned long)st->st_nlink);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		os_printf(o, " rdev=%u:%u", major(st->st_rdev),
			  minor(st->st_rdev));
}

static int op_stat(char **w, size_t *len, struct os_out *o)
{
	const char *base;
	struct stat st;
	int pfd = os_parent(w[1], &base);

	(void)len;
	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return os_close_err(pfd, -errno);
	os_put_stat(o, &st);
	return os_close_err(pfd, 0);
}

/* A /proc/self/fd/PARENT/BASE path, for the l*xattr calls: the kernel has
 * no *at() xattr calls we can count on, and this path resolves the parent
 * exactly as os_parent() did. */
static int os_xattr_path(const char *path, char *p, size_t size)
{
	const char *base;
	int pfd = os_parent(path, &base);

	if (pfd < 0)
		return pfd;
	os_proc_path(p, size, pfd, base);
	return pfd;
}

static int op_setxattr(char **w, size_t *len, struct os_out *o)
{
	char p[PATH_MAX + 64];
	int flags = 0, pfd;

	(void)o;
	if (w[4] && !strcmp(w[4], "create"))
		flags = XATTR_CREATE;
	else if (w[4] && !strcmp(w[4], "replace"))
		flags = XATTR_REPLACE;
	else if (w[4])
		os_die("setxattr: want create or replace, not %s", w[4]);
	pfd = os_xattr_path(w[1], p, sizeof(p));
	if (pfd < 0)
		return pfd;
	return os_close_err(
	    pfd, lsetxattr(p, w[2], w[3], len[3], flags) < 0 ? -errno : 0);
}

static int op_removexattr(char **w, size_t *len, struct os_out *o)
{
	char p[PATH_MAX + 64];
	int pfd = os_xattr_path(w[1], p, sizeof(p));

	(void)len, (void)o;
	if (pfd < 0)
		return pfd;
	return os_close_err(pfd, lremovexattr(p, w[2]) < 0 ? -errno : 0);
}

static int op_getxattr(char **w, size_t *len, struct os_out *o)
{
	static char val[XATTR_SIZE_MAX];
	char p[PATH_MAX + 64];
	int pfd = os_xattr_path(w[1], p, sizeof(p));
	ssize_t n;

	(void)len;
	if (pfd < 0)
		return pfd;
	n = lgetxattr(p, w[2], val, sizeof(val));
	if (n < 0)
		return os_close_err(pfd, -errno);
	os_put_escaped(o, val, n);
	return os_close_err(pfd, 0);
}

static int os_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names, space separated: readdir and listxattr orders are the
 * file system's own. */
static void os_put_names(struct os_out *o, char **names, size_t n)
{
	if (!n)
		return; /* names may be NULL then, which qsort may not take */
	qsort(names, n, sizeof(*names), os_strcmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			os_put(o, " ", 1);
		os_put_escaped(o, names[i], strlen(names[i]));
	}
}

static int op_listxattr(char **w, size_t *len, struct os_out *o)
{
	static char list[XATTR_LIST_MAX];
	static char *names[XATTR_LIST_MAX / 2];
	char p[PATH_MAX + 64];
	int pfd = os_xattr_path(w[1], p, sizeof(p));
	size_t n = 0;
	ssize_t got;

	(void)len;
	if (pfd < 0)
		return pfd;
	got = llistxattr(p, list, sizeof(list));
	if (got < 0)
		return os_close_err(pfd, -errno);
	for (ssize_t i = 0; i < got; i += strlen(list + i) + 1)
		names[n++] = list + i;
	os_put_names(o, names, n);
	return os_close_err(pfd, 0);
}

static int op_mknod(char **w, size_t *len, struct os_out *o)
{
	mode_t mode = os_num(w[3], 8);
	dev_t dev = 0;
	const char *base;
	int pfd;

	(void)len, (void)o;
	if (!strcmp(w[2], "fifo"))
		mode |= S_IFIFO;
	else if (!strcmp(w[2], "sock"))
		mode |= S_IFSOCK;
	else if (!strcmp(w[2], "chr"))
		mode |= S_IFCHR;
	else if (!strcmp(w[2], "blk"))
		mode |= S_IFBLK;
	else
		os_die("mknod: want fifo, sock, chr or blk, not %s", w[2]);
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		if (!w[4] || !w[5])
			os_die("mknod: a device needs MAJ MIN");
		dev = makedev(os_num(w[4], 10), os_num(w[5], 10));
	}
	pfd = os_parent(w[1], &base);
	if (pfd < 0)
		return pfd;
	return os_close_err(pfd,
			    mknodat(pfd, base, mode, dev) < 0 ? -errno : 0);
}

/* The names in directory @fd from its offset on; @fd is closed. */
static int os_list(int fd, struct os_out *o)
{
	size_t n = 0, cap = 0;
	char **names = NULL;
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = fdopendir(fd);
	if (!d)
		return os_close_err(fd, -errno);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				fprintf(stderr, "opscript: out of memory\n");
				exit(1);
			}
		}
		names[n++] = strdup(de->d_name);
	}
	if (errno)
		err = -errno;
	closedir(d);
	if (!err)
		os_put_names(o, names, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

static int op_ls(char **w, size_t *len, struct os_out *o)
{
	int fd = os_resolve(w[1], O_RDONLY | O_DIRECTORY, 0);

	(void)len;
	return fd < 0 ? fd : os_list(fd, o);
}

/* One name read by ls_churn, changed as @act says and added to @names
 * (with the errno of a change that failed); a name ls_churn made itself
 * is left out. */
static void os_churn_one(int dfd, const char *name, unsigned char type,
			 const char *act, char ***names, size_t *n, size_t *cap)
{
	char made[NAME_MAX + 8];
	struct os_out e = {0};
	int r = 0, fd, err;

	if (!strcmp(act, "rename") && name[strlen(name) - 1] == '~')
		return;
	if (!strcmp(act, "create") && !strncmp(name, "new-", 4))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*names = realloc(*names, *cap * sizeof(**names));
		if (!*names) {
			fprintf(stderr, "opscript: out of memory\n");
			exit(1);
		}
	}
	if (!strcmp(act, "unlink")) {
		r = unlinkat(dfd, name, type == DT_DIR ? AT_REMOVEDIR : 0);
	} else if (!strcmp(act, "rename")) {
		snprintf(made, sizeof(made), "%s~", name);
		r = renameat(dfd, name, dfd, made);
	} else {
		snprintf(made, sizeof(made), "new-%s", name);
		fd = openat(dfd, made, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			    0644);
		r = fd < 0 ? -1 : close(fd);
	}
	err = r < 0 ? errno : 0;
	os_put_escaped(&e, name, strlen(name));
	if (err)
		os_printf(&e, ":%s", os_errname(err));
	(*names)[(*n)++] = e.buf;
}

static int op_ls_churn(char **w, size_t *len, struct os_out *o)
{
	size_t bytes = os_num(w[2], 10), n = 0, cap = 0;
	char **names = NULL;
	char *buf;
	int fd, err = 0;

	(void)len;
	if (bytes < 64 || bytes > (1u << 20))
		os_die("ls_churn: BYTES from 64 to 1 MiB");
	if (strcmp(w[3], "unlink") && strcmp(w[3], "rename") &&
	    strcmp(w[3], "create"))
		os_die("ls_churn: want unlink, rename or create, not %s", w[3]);
	fd = os_resolve(w[1], O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	buf = malloc(bytes);
	if (!buf) {
		fprintf(stderr, "opscript: out of memory\n");
		exit(1);
	}
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, bytes);

		if (got < 0) {
			err = -errno;
			break;
		}
		if (got == 0)
			break;
		/* All of this buffer read before any change: the next
		 * getdents64 goes on from the offset after it. */
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				os_churn_one(fd, d->d_name, d->d_type, w[3],
					     &names, &n, &cap);
		}
	}
	free(buf);
	if (!err) {
		/* Already escaped: each is one word. */
		if (n)
			qsort(names, n, sizeof(*names), os_strcmp);
		for (size_t i = 0; i < n; i++) {
			if (i)
				os_put(o, " ", 1);
			os_put(o, names[i], strlen(names[i]));
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return os_close_err(fd, err);
}

static int op_fallocate(char **w, size_t *len, struct os_out *o)
{
	off_t off = os_num(w[2], 0), flen = os_num(w[3], 0);
	int mode = 0, fd;

	(void)len, (void)o;
	if (w[4] && !strcmp(w[4], "keep"))
		mode = FALLOC_FL_KEEP_SIZE;
	else if (w[4] && !strcmp(w[4], "punch"))
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else if (w[4])
		os_die("fallocate: want keep or punch, not %s", w[4]);
	fd = os_resolve(w[1], O_WRONLY, 0);
	if (fd < 0)
		return fd;
	return os_close_err(fd,
			    fallocate(fd, mode, off, flen) < 0 ? -errno : 0);
}

static int os_seek(char **w, struct os_out *o, int whence)
{
	off_t off = os_num(w[2], 0), r;
	int fd = os_resolve(w[1], O_RDONLY, 0);

	if (fd < 0)
		return fd;
	r = lseek(fd, off, whence);
	if (r < 0)
		return os_close_err(fd, -errno);
	os_printf(o, "%lld", (long long)r);
	return os_close_err(fd, 0);
}

static int op_seek_data(char **w, size_t *len, struct os_out *o)
{
	(void)len;
	return os_seek(w, o, SEEK_DATA);
}

static int op_seek_hole(char **w, size_t *len, struct os_out *o)
{
	(void)len;
	return os_seek(w, o, SEEK_HOLE);
}

static int op_copy_range(char **w, size_t *len, struct os_out *o)
{
	size_t want = os_num(w[3], 0), done = 0;
	loff_t soff = w[4] ? os_num(w[4], 0) : 0;
	loff_t doff = w[5] ? os_num(w[5], 0) : 0;
	int sfd, dfd, err = 0;

	(void)len;
	if (w[4] && !w[5])
		os_die("copy_range: SOFF needs DOFF");
	sfd = os_resolve(w[1], O_RDONLY, 0);
	if (sfd < 0)
		return sfd;
	dfd = os_resolve(w[2], O_WRONLY, 0);
	if (dfd < 0)
		return os_close_err(sfd, dfd);
	while (done < want) {
		ssize_t n =
		    copy_file_range(sfd, &soff, dfd, &doff, want - done, 0);

		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		done += n;
	}
	close(dfd);
	if (!err)
		os_printf(o, "%zu", done);
	return os_close_err(sfd, err);
}

static int op_mmap_write(char **w, size_t *len, struct os_out *o)
{
	off_t off = os_num(w[2], 0), start;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	size_t maplen;
	char *map;
	int fd, err = 0;

	(void)o;
	fd = os_resolve(w[1], O_RDWR, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return os_close_err(fd, -errno);
	if (off < 0 || len[3] == 0 || off + (off_t)len[3] > st.st_size)
		return os_close_err(fd, -EINVAL);
	start = off & ~(off_t)(page - 1);
	maplen = off - start + len[3];
	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, start);
	if (map == MAP_FAILED)
		return os_close_err(fd, -errno);
	memcpy(map + (off - start), w[3], len[3]);
	if (msync(map, maplen, MS_SYNC) < 0)
		err = -errno;
	munmap(map, maplen);
	return os_close_err(fd, err);
}

static int os_slot_num(const char *w)
{
	long long n = os_num(w, 10);

	if (n < 0 || n >= (long long)(sizeof(os_slots) / sizeof(os_slots[0])))
		os_die("slot %s: want 0 to 9", w);
	return (int)n;
}

/* The descriptor in slot @w; a slot with none is a script error. */
static int os_slot(const char *w)
{
	int fd = os_slots[os_slot_num(w)];

	if (fd < 0)
		os_die("slot %s is not open", w);
	return fd;
}

static int op_open(char **w, size_t *len, struct os_out *o)
{
	static const struct {
		const char *name;
		int flag;
	} fl[] = {
	    {"r", O_RDONLY},	      {"w", O_WRONLY},
	    {"rw", O_RDWR},	      {"creat", O_CREAT},
	    {"excl", O_EXCL},	      {"trunc", O_TRUNC},
	    {"append", O_APPEND},     {"dir", O_DIRECTORY},
	    {"nofollow", O_NOFOLLOW},
	};
	int slot = os_slot_num(w[1]), flags = 0, fd;
	char *save, *f;

	(void)len, (void)o;
	if (os_slots[slot] >= 0)
		os_die("slot %d is open", slot);
	for (f = strtok_r(w[3], ",", &save); f;
	     f = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
			if (!strcmp(f, fl[i].name))
				break;
		if (i == sizeof(fl) / sizeof(fl[0]))
			os_die("open: unknown flag %s", f);
		flags |= fl[i].flag;
	}
	fd = os_resolve(w[2], flags, w[4] ? os_num(w[4], 8) : 0644);
	if (fd < 0)
		return fd;
	os_slots[slot] = fd;
	return 0;
}

static int op_close(char **w, size_t *len, struct os_out *o)
{
	int fd = os_slot(w[1]);

	(void)len, (void)o;
	os_slots[os_slot_num(w[1])] = -1;
	return close(fd) < 0 ? -errno : 0;
}

static int op_fread(char **w, size_t *len, struct os_out *o)
{
	(void)len;
	return os_read_fd(os_slot(w[1]), os_num(w[2], 0), o);
}

static int op_fwrite(char **w, size_t *len, struct os_out *o)
{
	(void)o;
	return os_write_all(os_slot(w[1]), w[3], len[3], os_num(w[2], 0), true);
}

static int op_fstat(char **w, size_t *len, struct os_out *o)
{
	struct stat st;

	(void)len;
	if (fstat(os_slot(w[1]), &st) < 0)
		return -errno;
	os_put_stat(o, &st);
	return 0;
}

static int op_ftruncate(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return ftruncate(os_slot(w[1]), os_num(w[2], 0)) < 0 ? -errno : 0;
}

static int op_fchmod(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return fchmod(os_slot(w[1]), os_num(w[2], 8)) < 0 ? -errno : 0;
}

static int op_fchown(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return fchown(os_slot(w[1]), os_num(w[2], 10), os_num(w[3], 10)) < 0
		   ? -errno
		   : 0;
}

static int op_fsync(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	return fsync(os_slot(w[1])) < 0 ? -errno : 0;
}

/* From the start, on a duplicate (the slot stays open): a rewinddir. */
static int op_fls(char **w, size_t *len, struct os_out *o)
{
	int fd = fcntl(os_slot(w[1]), F_DUPFD_CLOEXEC, 0);

	(void)len;
	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return os_close_err(fd, -errno);
	return os_list(fd, o);
}

static int op_umask(char **w, size_t *len, struct os_out *o)
{
	(void)len, (void)o;
	umask(os_num(w[1], 8));
	return 0;
}

/* The effective ids only: the saved set-user-ID stays root's, so "as 0 0"
 * can go back, and root's capabilities with it. */
static int op_as(char **w, size_t *len, struct os_out *o)
{
	uid_t uid = os_num(w[1], 10);
	gid_t gid = os_num(w[2], 10);

	(void)len, (void)o;
	if (seteuid(0) < 0)
		return -errno;
	if (setgroups(0, NULL) < 0 || setegid(gid) < 0 || seteuid(uid) < 0)
		return -errno;
	return 0;
}

static const struct os_op {
	const char *name;
	int min, max;	    /* how many words may follow the op's name */
	unsigned int paths; /* bit i set: word i (from 1) is a path */
	os_fn *fn;
} os_ops[] = {
    {"create", 2, 2, 1u << 1, op_create},
    {"open_creat", 2, 2, 1u << 1, op_open_creat},
    {"write", 3, 3, 1u << 1, op_write},
    {"append", 2, 2, 1u << 1, op_append},
    {"truncate", 2, 2, 1u << 1, op_truncate},
    {"open_trunc", 1, 1, 1u << 1, op_open_trunc},
    {"read", 1, 1, 1u << 1, op_read},
    {"mkdir", 2, 2, 1u << 1, op_mkdir},
    {"rmdir", 1, 1, 1u << 1, op_rmdir},
    {"unlink", 1, 1, 1u << 1, op_unlink},
    {"symlink", 2, 2, 1u << 2, op_symlink},
    {"link", 2, 2, 3u << 1, op_link},
    {"rename", 2, 2, 3u << 1, op_rename},
    {"rename_noreplace", 2, 2, 3u << 1, op_rename_noreplace},
    {"rename_exchange", 2, 2, 3u << 1, op_rename_exchange},
    {"readlink", 1, 1, 1u << 1, op_readlink},
    {"chmod", 2, 2, 1u << 1, op_chmod},
    {"chown", 3, 3, 1u << 1, op_chown},
    {"utimens", 5, 5, 1u << 1, op_utimens},
    {"times", 1, 1, 1u << 1, op_times},
    {"setxattr", 3, 4, 1u << 1, op_setxattr},
    {"removexattr", 2, 2, 1u << 1, op_removexattr},
    {"getxattr", 2, 2, 1u << 1, op_getxattr},
    {"listxattr", 1, 1, 1u << 1, op_listxattr},
    {"mknod", 3, 5, 1u << 1, op_mknod},
    {"stat", 1, 1, 1u << 1, op_stat},
    {"ls", 1, 1, 1u << 1, op_ls},
    {"ls_churn", 3, 3, 1u << 1, op_ls_churn},
    {"fallocate", 3, 4, 1u << 1, op_fallocate},
    {"seek_data", 2, 2, 1u << 1, op_seek_data},
    {"seek_hole", 2, 2, 1u << 1, op_seek_hole},
    {"copy_range", 3, 5, 3u << 1, op_copy_range},
    {"mmap_write", 3, 3, 1u << 1, op_mmap_write},
    {"open", 3, 4, 1u << 2, op_open},
    {"close", 1, 1, 0, op_close},
    {"fread", 2, 2, 0, op_fread},
    {"fwrite", 3, 3, 0, op_fwrite},
    {"fstat", 1, 1, 0, op_fstat},
    {"ftruncate", 2, 2, 0, op_ftruncate},
    {"fchmod", 2, 2, 0, op_fchmod},
    {"fchown", 3, 3, 0, op_fchown},
    {"fsync", 1, 1, 0, op_fsync},
    {"fls", 1, 1, 0, op_fls},
    {"umask", 1, 1, 0, op_umask},
    {"as", 2, 2, 0, op_as},
};

static void os_run_line(char *line)
{
	char *w[OS_MAX_WORDS + 2] = {0};
	size_t len[OS_MAX_WORDS + 2] = {0};
	const struct os_op *op = NULL;
	struct os_out out = {0};
	char *copy, *save, *tok;
	int n = 0, r;

	line[strcspn(line, "\n")] = '\0';
	while (*line && strchr(" \t", line[strlen(line) - 1]))
		line[strlen(line) - 1] = '\0';
	tok = line + strspn(line, " \t");
	if (!*tok || *tok == '#')
		return;
	copy = strdup(line);
	if (!copy) {
		fprintf(stderr, "opscript: out of memory\n");
		exit(1);
	}
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (n > OS_MAX_WORDS)
			os_die("too many words");
		w[n++] = tok;
	}
	for (size_t i = 0; i < sizeof(os_ops) / sizeof(os_ops[0]); i++)
		if (!strcmp(w[0], os_ops[i].name))
			op = &os_ops[i];
	if (!op)
		os_die("unknown op %s", w[0]);
	if (n - 1 < op->min || n - 1 > op->max)
		os_die("%s takes %d to %d words", op->name, op->min, op->max);
	for (int i = 1; i < n; i++) {
		len[i] = os_unescape(w[i]);
		if (op->paths & (1u << i)) {
			if (strlen(w[i]) != len[i])
				os_die("NUL in a path");
			os_check_path(w[i]);
		}
	}
	r = op->fn(w, len, &out);
	if (r)
		printf("%s => %s\n", line, os_errname(-r));
	else if (out.len)
		printf("%s => 0 %s\n", line, out.buf);
	else
		printf("%s => 0\n", line);
	free(out.buf);
	free(copy);
}

int main(int argc, char **argv)
{
	size_t cap = 0;
	char *line = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: opscript ROOT < SCRIPT\n");
		return 2;
	}
	os_rootfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (os_rootfd < 0) {
		fprintf(stderr, "opscript: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* The script's modes are the modes wanted, whatever the caller's. */
	umask(0);
	/* Line by line, so a crash (of the file system or of us) still shows
	 * how far the script got. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &cap, stdin) >= 0) {
		os_lineno++;
		os_run_line(line);
	}
	free(line);
	return 0;
}
