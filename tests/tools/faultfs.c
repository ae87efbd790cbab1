/* faultfs: a disk image whose reads fail with EIO where a test says, the
 * part device-mapper's `error` target would play (t-faults), for kernels
 * built without device-mapper.
 *
 *   faultfs IMAGE CONTROL MOUNTPOINT
 *	Mounts a FUSE file system whose root is one regular file, IMAGE's
 *	bytes, over MOUNTPOINT (a regular file), and serves it until it is
 *	unmounted.  A read that touches a byte range listed in CONTROL fails
 *	with EIO; writes always go through.  CONTROL holds lines of
 *	"OFFSET LENGTH" (bytes in IMAGE) and is read again for every read,
 *	so a test switches faults on and off by rewriting it.
 *	FAULTFS_DELAY_US=N makes every read wait N µs first, served by up to
 *	32 threads: a disk with latency and a queue (scripts/bench).
 *
 * The test puts a loop device on MOUNTPOINT and an ext4 file system on
 * that, and lists the extents (filefrag) of the file it wants broken: ext4
 * then sees I/O errors from its block device on exactly those blocks, as
 * from a failing disk, and the files above them give EIO to read(2),
 * splice(2) and copy_file_range(2) alike.  Every open gets direct_io, so
 * the loop driver's reads reach this daemon rather than a page cache. */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct faultfs {
	int fd;		     /* IMAGE */
	const char *control; /* CONTROL's path */
	unsigned int delay_us; /* FAULTFS_DELAY_US: each read's latency */
};

static struct faultfs *image_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Whether [@off, @off + @len) touches a range CONTROL lists now. */
static int faulty(const char *control, uint64_t off, uint64_t len)
{
	unsigned long long from, n;
	FILE *f = fopen(control, "re");
	int hit = 0;

	if (!f)
		return 0;
	while (!hit && fscanf(f, "%llu %llu", &from, &n) == 2)
		hit = off < from + n && from < off + len;
	fclose(f);
	return hit;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID || fstat(image_of(req)->fd, &st) < 0) {
		fuse_reply_err(req, ino != FUSE_ROOT_ID ? ENOENT : errno);
		return;
	}
	st.st_ino = FUSE_ROOT_ID;
	fuse_reply_attr(req, &st, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf;
	ssize_t n;

	(void)ino, (void)fi;
	if (faulty(image_of(req)->control, (uint64_t)off, size)) {
		fuse_reply_err(req, EIO);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (image_of(req)->delay_us)
		usleep(image_of(req)->delay_us);
	n = pread(image_of(req)->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pwrite(image_of(req)->fd, buf, size, off);

	(void)ino, (void)fi;
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, fdatasync(image_of(req)->fd) < 0 ? errno : 0);
}

static const struct fuse_lowlevel_ops ops = {
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.fsync = op_fsync,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], (char *)"-o",
			  (char *)"fsname=faultfs,allow_other", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct faultfs f;
	struct fuse_session *se;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: faultfs IMAGE CONTROL MOUNTPOINT\n");
		return 2;
	}
	f.fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (f.fd < 0) {
		perror(argv[1]);
		return 1;
	}
	f.control = argv[2];
	f.delay_us = getenv("FAULTFS_DELAY_US")
			     ? (unsigned int)strtoul(getenv("FAULTFS_DELAY_US"),
						     NULL, 10)
			     : 0;
	se = fuse_session_new(&args, &ops, sizeof(ops), &f);
	if (!se) {
		fuse_opt_free_args(&args);
		return 1;
	}
	if (fuse_set_signal_handlers(se) == 0 &&
	    fuse_session_mount(se, argv[3]) == 0) {
		/* With a latency, reads are served in parallel, as a disk
		 * with a queue serves them. */
		if (f.delay_us) {
			struct fuse_loop_config *cfg = fuse_loop_cfg_create();

			fuse_loop_cfg_set_max_threads(cfg, 32);
			rc = fuse_session_loop_mt(se, cfg) ? 1 : 0;
			fuse_loop_cfg_destroy(cfg);
		} else {
			rc = fuse_session_loop(se) ? 1 : 0;
		}
		fuse_session_unmount(se);
	}
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	/* fuse_session_new() may have copied the arguments to change them. */
	fuse_opt_free_args(&args);
	close(f.fd);
	return rc;
}
